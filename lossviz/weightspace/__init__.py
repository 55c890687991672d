"""Weight space: the network's own loss landscape (and, beside it, its curvature).

Directions and filter normalisation (``directions``), the slice engine (``slices``), the training
path and its PCA plane (``path``), reading a run's weights and snapshots (``load``), the probe
process that computes a slice into the run directory (``probe``) and its figures (``figures``).
Pages import from here only. This package imports lossviz.training's face, never the other way round.

Example:
    >>> params = SliceParams(grid=9, images=16)
    >>> landscape_command("runs/r", params, "runs/r/probes/landscape-x")[:2]
    ['landscape', 'runs/r']
"""

from __future__ import annotations

from lossviz.weightspace.directions import (
    COARSE_GRID,
    DEFAULT_GRID,
    DEFAULT_IMAGES,
    DEFAULT_SPAN,
    MAX_GRID,
    MAX_IMAGES,
    MAX_SPAN,
    MIN_GRID,
    MIN_IMAGES,
    check_grid,
    check_images,
    check_seed,
    check_span,
    filter_normalize,
    grid_axis,
    random_directions,
    refinement_levels,
)
from lossviz.weightspace.figures import (
    axis_titles,
    make_weight_contour_figure,
    make_weight_line_figure,
    make_weight_surface_figure,
)
from lossviz.weightspace.load import (
    MAX_SNAPSHOTS,
    Landscape,
    RunWeights,
    evaluation_images,
    load_run,
    load_snapshots,
    plan,
)
from lossviz.weightspace.path import PathProjection, pca_directions, project_path, why_random_plane_note
from lossviz.weightspace.probe import (
    PROBES_DIR,
    ProbeState,
    SliceParams,
    landscape_command,
    meta_notes,
    probe_dir,
    probe_key,
    probe_message,
    read_probe,
)
from lossviz.weightspace.slices import Evaluator, LineResult, SliceResult, compute_slice, interpolate_line

__all__ = [
    "COARSE_GRID",
    "DEFAULT_GRID",
    "DEFAULT_IMAGES",
    "DEFAULT_SPAN",
    "MAX_GRID",
    "MAX_IMAGES",
    "MAX_SNAPSHOTS",
    "MAX_SPAN",
    "MIN_GRID",
    "MIN_IMAGES",
    "PROBES_DIR",
    "Evaluator",
    "Landscape",
    "LineResult",
    "PathProjection",
    "ProbeState",
    "RunWeights",
    "SliceParams",
    "SliceResult",
    "axis_titles",
    "check_grid",
    "check_images",
    "check_seed",
    "check_span",
    "compute_slice",
    "evaluation_images",
    "filter_normalize",
    "grid_axis",
    "interpolate_line",
    "landscape_command",
    "load_run",
    "load_snapshots",
    "make_weight_contour_figure",
    "make_weight_line_figure",
    "make_weight_surface_figure",
    "meta_notes",
    "pca_directions",
    "plan",
    "probe_dir",
    "probe_message",
    "probe_key",
    "project_path",
    "random_directions",
    "read_probe",
    "refinement_levels",
    "why_random_plane_note",
]
