"""Prediction space: elements, the batched engine, surfaces, curves, descent paths and their figures."""

from __future__ import annotations

from lossviz.landscape import surfaces
from lossviz.landscape.figures import (
    MAX_FRAMES,
    make_contour_figure,
    make_curve_figure,
    make_descent_animation_figure,
    make_descent_loss_figure,
    make_surface3d_figure,
)

__all__ = [
    "MAX_FRAMES",
    "make_contour_figure",
    "make_curve_figure",
    "make_descent_animation_figure",
    "make_descent_loss_figure",
    "make_surface3d_figure",
    "surfaces",
]
