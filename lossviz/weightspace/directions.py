"""Directions in weight space and the grid a slice is computed on.

Following Li et al., "Visualizing the Loss Landscape of Neural Nets" (NeurIPS 2018): two random
directions, **filter-normalised**: each filter (a conv output channel, a row of a linear layer) of a
Gaussian direction is rescaled to the norm of the same filter of the weights, so the slice's scale
follows the network's own; biases and other 1-D parameters get a zero direction (the paper's default
``--xignore biasbn``). The grid is computed coarse to fine (a 9×9 picture first).

Example:
    >>> dx, dy = random_directions({"w": torch.ones(2, 3)}, seed=0)
    >>> [round(float(v), 4) for v in dx["w"].norm(dim=1)]
    [1.7321, 1.7321]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import msg

Params = dict[str, torch.Tensor]

MIN_GRID, MAX_GRID, DEFAULT_GRID = 3, 41, 21
COARSE_GRID = 9
MIN_IMAGES, MAX_IMAGES, DEFAULT_IMAGES = 1, 2048, 128
DEFAULT_SPAN = 1.0
MAX_SPAN = 100.0
LINE_ALPHAS = (-0.5, 1.5)
LINE_POINTS = 41
DEFAULT_CHUNK = 8
METHODS = ("loop", "vmap")


# ----------------------------------------------------------------------------- input checks


def check_grid(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not MIN_GRID <= n <= MAX_GRID:
        raise LossvizInputError(
            msg(
                "grid={n} is out of range: give a whole number of points per side from {low} to {high}",
                n=repr(n),
                low=MIN_GRID,
                high=MAX_GRID,
            )
        )
    return n


def check_images(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not MIN_IMAGES <= n <= MAX_IMAGES:
        raise LossvizInputError(
            msg(
                "images={n} is out of range: give a whole number of test images from {low} to {high}",
                n=repr(n),
                low=MIN_IMAGES,
                high=MAX_IMAGES,
            )
        )
    return n


def check_span(r: Any) -> float:
    if isinstance(r, bool) or not isinstance(r, int | float) or not math.isfinite(r) or not 0 < r <= MAX_SPAN:
        raise LossvizInputError(
            msg(
                "span={r} is out of range: give a number greater than 0 and at most {high}",
                r=repr(r),
                high=f"{MAX_SPAN:g}",
            )
        )
    return float(r)


def check_seed(s: Any) -> int:
    if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2**63:
        raise LossvizInputError(
            msg("seed={s} is out of range: give a whole number from 0 upwards", s=repr(s))
        )
    return s


# ----------------------------------------------------------------------------- directions


def is_filtered(t: torch.Tensor) -> bool:
    """True for parameters with filters (conv kernels, linear weights); 1-D ones (biases) are not."""
    return t.dim() > 1


def filter_normalize(direction: Mapping[str, torch.Tensor], weights: Mapping[str, torch.Tensor]) -> Params:
    """``direction`` rescaled filter by filter to the norm of the weights' filters (Li et al. 2018).

    Filter ``i`` of a parameter is its slice ``[i]`` (an output channel of a conv kernel, an output
    row of a linear weight). 1-D parameters (biases) get a zero direction.
    """
    out: Params = {}
    for name, w in weights.items():
        d = direction[name]
        if not is_filtered(w):
            out[name] = torch.zeros_like(w)
            continue
        dn = d.flatten(1).norm(dim=1)
        wn = w.flatten(1).norm(dim=1)
        scale = (wn / dn.clamp_min(1e-12)).view(-1, *([1] * (w.dim() - 1)))
        out[name] = d * scale
    return out


def random_directions(weights: Mapping[str, torch.Tensor], seed: int = 0) -> tuple[Params, Params]:
    """Two filter-normalised Gaussian directions drawn from ``seed`` (same seed, same directions)."""
    gen = torch.Generator().manual_seed(int(seed))
    raw = [
        {k: torch.randn(v.shape, generator=gen, dtype=torch.float32).to(v.dtype) for k, v in weights.items()}
        for _ in range(2)
    ]
    return filter_normalize(raw[0], weights), filter_normalize(raw[1], weights)


def flatten(params: Mapping[str, torch.Tensor], names: Sequence[str]) -> torch.Tensor:
    return torch.cat([params[n].reshape(-1).to(torch.float64) for n in names])


def unflatten(vector: torch.Tensor, like: Mapping[str, torch.Tensor]) -> Params:
    out: Params = {}
    i = 0
    for name, t in like.items():
        n = t.numel()
        out[name] = vector[i : i + n].reshape(t.shape).to(t.dtype)
        i += n
    return out


# ----------------------------------------------------------------------------- grid and levels


def grid_axis(n: int, span: float) -> np.ndarray:
    """``n`` evenly spaced coordinates from ``-span`` to ``span`` (0 in the middle when ``n`` is odd)."""
    check_grid(n)
    axis = np.linspace(-span, span, n)
    if n % 2:
        axis[n // 2] = 0.0
    return axis


def refinement_levels(n: int, coarse: int = COARSE_GRID) -> list[np.ndarray]:
    """Index subsets of an ``n``-point axis, coarse to fine; the last one is every index.

    Level 0 is ~``coarse`` evenly spread indices (always both ends and, for odd ``n``, the middle),
    each next level roughly doubles the resolution, so a coarse picture comes first and no point is
    computed twice.

    Example:
        >>> [len(l) for l in refinement_levels(41)]
        [9, 17, 33, 41]
    """
    levels: list[np.ndarray] = []
    size = coarse
    while size < n:
        idx = np.unique(np.round(np.linspace(0, n - 1, size)).astype(int))
        if not levels or len(idx) > len(levels[-1]):
            levels.append(idx)
        size = 2 * size - 1
    levels.append(np.arange(n))
    return levels


def point_order(
    n_alpha: int, n_beta: int
) -> list[tuple[list[tuple[int, int]], tuple[np.ndarray, np.ndarray]]]:
    """Grid points ``(row i over betas, column j over alphas)`` grouped by refinement level.

    Each level lists only its new points, with the index sets that make its complete sub-grid.
    """
    la, lb = refinement_levels(n_alpha), refinement_levels(n_beta)
    depth = max(len(la), len(lb))
    la += [la[-1]] * (depth - len(la))
    lb += [lb[-1]] * (depth - len(lb))
    seen = np.zeros((n_beta, n_alpha), dtype=bool)
    out = []
    for ia, ib in zip(la, lb, strict=True):
        pts = [(int(i), int(j)) for i in ib for j in ia if not seen[i, j]]
        for i, j in pts:
            seen[i, j] = True
        out.append((pts, (ia, ib)))
    return out


