"""Figures of a network's weight-space loss landscape (see weight_landscape.py).

* :func:`make_weight_contour_figure`: the loss over the slice as filled contours, the current weights
  as a star at the origin, the training path as a line from the initial weights (circle) to the star;
* :func:`make_weight_surface_figure`: the same slice as a 3-D surface;
* :func:`make_weight_line_figure`: the loss (and accuracy) along the straight line from the initial
  weights (α = 0) to the current ones (α = 1) and beyond.

Text on the figures comes in through ``labels`` (the page passes translated strings); English by default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from lossviz.errors import LossvizInputError
from lossviz.i18n import msg
from lossviz.theme import HIGHLIGHT, LOSS_SCALE, PALETTE, legend_below

LABELS_EN: dict[str, str] = {
    "contour_title": "Loss over a 2-D slice of weight space",
    "surface_title": "The same slice as a surface",
    "line_title": "Loss on the straight line from the initial to the current weights",
    "x": "x direction (a)",
    "y": "y direction (b)",
    "alpha": "α (0 = initial weights, 1 = current weights)",
    "loss": "loss",
    "accuracy": "accuracy",
    "current": "current weights",
    "initial": "initial weights",
    "path": "training path",
    "step": "step",
}
COLORSCALE = LOSS_SCALE
PATH_COLOR = PALETTE[5]  # vermillion: stands out on every height of the loss scale
CURRENT_COLOR = HIGHLIGHT
_LEGEND = legend_below(-0.14)


def _labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    return {**LABELS_EN, **(labels or {})}


def _check_grid(
    alphas: Sequence[float], betas: Sequence[float], loss: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.asarray(alphas, dtype=np.float64)
    b = np.asarray(betas, dtype=np.float64)
    z = np.asarray(loss, dtype=np.float64)
    if a.ndim != 1 or b.ndim != 1 or z.shape != (b.size, a.size):
        raise LossvizInputError(
            msg(
                "loss must have one row per beta and one column per alpha: got {shape} for {rows}×{cols}",
                shape=str(z.shape),
                rows=b.size,
                cols=a.size,
            )
        )
    if a.size < 2 or b.size < 2:
        raise LossvizInputError(msg("a slice needs at least 2 points per side"))
    return a, b, z


def _color_range(z: np.ndarray) -> tuple[float, float] | None:
    """Colour limits that keep the basin readable when the far corners explode (5th–95th pct. ×1.5)."""
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        return None
    lo, hi = float(finite.min()), float(np.percentile(finite, 95))
    top = min(float(finite.max()), lo + 1.5 * (hi - lo)) if hi > lo else float(finite.max())
    return (lo, top) if top > lo else None


def make_weight_contour_figure(
    alphas: Sequence[float],
    betas: Sequence[float],
    loss: np.ndarray,
    *,
    path_x: Sequence[float] | None = None,
    path_y: Sequence[float] | None = None,
    path_steps: Sequence[int] | None = None,
    labels: Mapping[str, str] | None = None,
    subtitle: str = "",
    height: int = 560,
) -> go.Figure:
    """Filled contours of ``loss[i][j]`` at ``(alphas[j], betas[i])``, the current weights at the origin
    and, if given, the training path (first point: the initial weights)."""
    a, b, z = _check_grid(alphas, betas, loss)
    t = _labels(labels)
    rng = _color_range(z)
    fig = go.Figure()
    fig.add_trace(
        go.Contour(
            x=a,
            y=b,
            z=np.where(np.isfinite(z), z, np.nan),
            colorscale=COLORSCALE,
            ncontours=24,
            contours=dict(coloring="heatmap", showlines=True),
            line=dict(width=0.6, color="rgba(255,255,255,0.5)"),
            colorbar=dict(title=dict(text=t["loss"]), thickness=14),
            zmin=rng[0] if rng else None,
            zmax=rng[1] if rng else None,
            hovertemplate=f"a = %{{x:.3g}}<br>b = %{{y:.3g}}<br>{t['loss']} = %{{z:.4f}}<extra></extra>",
            name=t["loss"],
            showlegend=False,
        )
    )
    if path_x is not None and path_y is not None:
        px = np.asarray(path_x, dtype=np.float64)
        py = np.asarray(path_y, dtype=np.float64)
        if px.shape != py.shape or px.ndim != 1:
            raise LossvizInputError(msg("the path needs as many y coordinates as x coordinates"))
        steps = np.asarray(path_steps if path_steps is not None else np.arange(px.size))
        fig.add_trace(
            go.Scatter(
                x=px,
                y=py,
                mode="lines",
                line=dict(color="black", width=5),
                hoverinfo="skip",
                showlegend=False,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=px,
                y=py,
                mode="lines+markers",
                line=dict(color=PATH_COLOR, width=2.5),
                marker=dict(size=5, color=PATH_COLOR, line=dict(color="black", width=0.5)),
                customdata=steps,
                hovertemplate=f"{t['step']} %{{customdata}}<br>a = %{{x:.3g}}<br>b = %{{y:.3g}}<extra>{t['path']}</extra>",
                name=t["path"],
            )
        )
        if px.size:
            fig.add_trace(
                go.Scatter(
                    x=px[:1],
                    y=py[:1],
                    mode="markers",
                    marker=dict(size=12, color="white", line=dict(color="black", width=2), symbol="circle"),
                    name=t["initial"],
                    hovertemplate=f"{t['initial']}<extra></extra>",
                )
            )
    fig.add_trace(
        go.Scatter(
            x=[0.0],
            y=[0.0],
            mode="markers",
            marker=dict(size=18, color=CURRENT_COLOR, symbol="star", line=dict(color="black", width=1.5)),
            name=t["current"],
            hovertemplate=f"{t['current']}<extra></extra>",
        )
    )
    title = t["contour_title"] + (f"<br><sup>{subtitle}</sup>" if subtitle else "")
    fig.update_layout(
        title=dict(text=title),
        height=height,
        margin=dict(l=60, r=10, t=70, b=10),
        legend=_LEGEND,
        hovermode="closest",
        font=dict(size=14),
        xaxis=dict(title=dict(text=t["x"]), range=[a.min(), a.max()]),
        yaxis=dict(title=dict(text=t["y"]), range=[b.min(), b.max()]),
    )
    return fig


def make_weight_surface_figure(
    alphas: Sequence[float],
    betas: Sequence[float],
    loss: np.ndarray,
    *,
    labels: Mapping[str, str] | None = None,
    height: int = 560,
) -> go.Figure:
    """The slice as a 3-D surface, the current weights marked at the origin."""
    a, b, z = _check_grid(alphas, betas, loss)
    t = _labels(labels)
    rng = _color_range(z)
    zc = np.where(np.isfinite(z), z, np.nan)
    if rng:
        zc = np.minimum(zc, rng[1])  # clip the far corners so the basin keeps its depth on screen
    centre = np.nan
    ia, ib = np.argmin(np.abs(a)), np.argmin(np.abs(b))
    if abs(a[ia]) < 1e-12 and abs(b[ib]) < 1e-12:
        centre = float(zc[ib, ia])
    fig = go.Figure(
        go.Surface(
            x=a,
            y=b,
            z=zc,
            colorscale=COLORSCALE,
            colorbar=dict(title=dict(text=t["loss"]), thickness=14),
            hovertemplate=f"a = %{{x:.3g}}<br>b = %{{y:.3g}}<br>{t['loss']} = %{{z:.4f}}<extra></extra>",
            name=t["loss"],
        )
    )
    if np.isfinite(centre):
        fig.add_trace(
            go.Scatter3d(
                x=[0.0],
                y=[0.0],
                z=[centre],
                mode="markers",
                marker=dict(size=6, color=CURRENT_COLOR, line=dict(color="black", width=2)),
                name=t["current"],
            )
        )
    fig.update_layout(
        title=dict(text=t["surface_title"]),
        height=height,
        margin=dict(l=0, r=0, t=50, b=30),
        legend=_LEGEND,
        font=dict(size=13),
        scene=dict(
            xaxis=dict(title=dict(text=t["x"])),
            yaxis=dict(title=dict(text=t["y"])),
            zaxis=dict(title=dict(text=t["loss"])),
            camera=dict(eye=dict(x=1.5, y=-1.5, z=1.0)),
        ),
    )
    return fig


def make_weight_line_figure(
    alphas: Sequence[float],
    loss: Sequence[float],
    accuracy: Sequence[float] | None = None,
    *,
    labels: Mapping[str, str] | None = None,
    height: int = 420,
) -> go.Figure:
    """Loss (left axis) and accuracy (right axis) along α; α = 0 and α = 1 marked."""
    a = np.asarray(alphas, dtype=np.float64)
    lo = np.asarray(loss, dtype=np.float64)
    if a.ndim != 1 or lo.shape != a.shape or a.size < 2:
        raise LossvizInputError(msg("give one loss per α, at least two points"))
    t = _labels(labels)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=a,
            y=np.where(np.isfinite(lo), lo, np.nan),
            mode="lines+markers",
            name=t["loss"],
            line=dict(color=PALETTE[0], width=3),
            marker=dict(size=4),
            hovertemplate=f"α = %{{x:.3g}}<br>{t['loss']} = %{{y:.4f}}<extra></extra>",
        )
    )
    if accuracy is not None:
        acc = np.asarray(accuracy, dtype=np.float64)
        if acc.shape != a.shape:
            raise LossvizInputError(msg("give one accuracy per α"))
        fig.add_trace(
            go.Scatter(
                x=a,
                y=acc,
                mode="lines",
                name=t["accuracy"],
                yaxis="y2",
                line=dict(color=PALETTE[2], width=2, dash="dash"),
                hovertemplate=f"α = %{{x:.3g}}<br>{t['accuracy']} = %{{y:.1%}}<extra></extra>",
            )
        )
    for x0, name in ((0.0, t["initial"]), (1.0, t["current"])):
        if a.min() <= x0 <= a.max():
            fig.add_vline(x=x0, line=dict(color="gray", dash="dot", width=1.5), annotation_text=name)
    fig.update_layout(
        title=dict(text=t["line_title"]),
        height=height,
        margin=dict(l=60, r=60, t=60, b=10),
        legend=_LEGEND,
        hovermode="x unified",
        font=dict(size=14),
        xaxis=dict(title=dict(text=t["alpha"])),
        yaxis=dict(title=dict(text=t["loss"])),
        yaxis2=dict(
            title=dict(text=t["accuracy"]),
            overlaying="y",
            side="right",
            range=[0, 1],
            tickvals=[0, 0.25, 0.5, 0.75, 1],
            tickformat=".0%",
            showgrid=False,
        ),
    )
    return fig
