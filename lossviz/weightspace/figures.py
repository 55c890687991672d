"""Figures of a network's weight-space loss landscape (see :mod:`lossviz.weightspace.slices`).

* :func:`make_weight_contour_figure`: the loss over the slice as filled contours, the current weights
  as a star at the origin, the training path as a line from the initial weights (circle) to the star;
* :func:`make_weight_surface_figure`: the same slice as a 3-D surface;
* :func:`make_weight_line_figure`: the loss (and accuracy) along the straight line from the initial
  weights (α = 0) to the current ones (α = 1) and beyond.

The contour map, the colour cap, the path over its dark underlay and the star come from
:mod:`lossviz.plots` (shared with the prediction-space figures). Every text is a message id rendered in
``lang``; the axis titles of a PCA plane come in as Messages (:func:`axis_titles`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg, render
from lossviz.plots import color_cap, colorbar, contour_trace, path_traces, star_trace
from lossviz.theme import HIGHLIGHT, LOSS_SCALE, PALETTE, legend_below

CONTOUR_TITLE = N_("Loss over a 2-D slice of weight space")
SURFACE_TITLE = N_("The same slice as a surface")
LINE_TITLE = N_("Loss on the straight line from the initial to the current weights")
AXIS_X = N_("x direction (a)")
AXIS_Y = N_("y direction (b)")
AXIS_PC1 = N_("PC 1 ({pct} of the path's variance)")
AXIS_PC2 = N_("PC 2 ({pct})")
AXIS_ALPHA = N_("α (0 = initial weights, 1 = current weights)")
LOSS = N_("loss")
LOSS_CAPPED = N_("loss (capped)")
ACCURACY = N_("accuracy")
CURRENT = N_("current weights")
INITIAL = N_("initial weights")
PATH = N_("training path")
STEP = N_("step")

COLORSCALE = LOSS_SCALE
PATH_COLOR = PALETTE[5]  # vermillion: stands out on every height of the loss scale
CURRENT_COLOR = HIGHLIGHT
_LEGEND = legend_below(-0.14)

Title = str | Message


def axis_titles(explained: tuple[float, float] | None = None) -> tuple[Message, Message]:
    """The x and y axis titles of a slice: the random directions, or the PCA directions with their
    shares of the path's variance."""
    if explained is None:
        return Message(AXIS_X), Message(AXIS_Y)
    return (
        Message(AXIS_PC1, {"pct": f"{100 * explained[0]:.0f}%"}),
        Message(AXIS_PC2, {"pct": f"{100 * explained[1]:.0f}%"}),
    )


def _short(title: str) -> str:
    """An axis title without its parenthesis (a 3-D scene clips long ones)."""
    return title.split(" (")[0].split("（")[0]


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


def make_weight_contour_figure(
    alphas: Sequence[float],
    betas: Sequence[float],
    loss: np.ndarray,
    *,
    path_x: Sequence[float] | None = None,
    path_y: Sequence[float] | None = None,
    path_steps: Sequence[int] | None = None,
    x_title: Title | None = None,
    y_title: Title | None = None,
    lang: str = "en",
    height: int = 560,
) -> go.Figure:
    """Filled contours of ``loss[i][j]`` at ``(alphas[j], betas[i])``, the current weights at the origin
    and, if given, the training path (first point: the initial weights)."""
    a, b, z = _check_grid(alphas, betas, loss)
    xt, yt = (render(t, lang) for t in (x_title or Message(AXIS_X), y_title or Message(AXIS_Y)))
    loss_name = render(LOSS, lang)
    cap = color_cap(z)
    fig = go.Figure()
    fig.add_trace(
        contour_trace(
            a,
            b,
            z,
            name=loss_name,
            colorbar_title=render(LOSS_CAPPED if cap is not None else LOSS, lang),
            hovertemplate=f"a = %{{x:.3g}}<br>b = %{{y:.3g}}<br>{loss_name} = %{{z:.4f}}<extra></extra>",
            cap=cap,
            line_color="rgba(255,255,255,0.5)",
        )
    )
    if path_x is not None and path_y is not None:
        px = np.asarray(path_x, dtype=np.float64)
        py = np.asarray(path_y, dtype=np.float64)
        if px.shape != py.shape or px.ndim != 1:
            raise LossvizInputError(msg("the path needs as many y coordinates as x coordinates"))
        steps = np.asarray(path_steps if path_steps is not None else np.arange(px.size))
        path_name, step = render(PATH, lang), render(STEP, lang)
        fig.add_traces(
            path_traces(
                px,
                py,
                name=path_name,
                color=PATH_COLOR,
                width=2.5,
                marker_size=5,
                customdata=steps,
                hovertemplate=f"{step} %{{customdata}}<br>a = %{{x:.3g}}<br>b = %{{y:.3g}}<extra>{path_name}</extra>",
            )
        )
        if px.size:
            initial = render(INITIAL, lang)
            fig.add_trace(
                go.Scatter(
                    x=px[:1],
                    y=py[:1],
                    mode="markers",
                    marker=dict(size=12, color="white", line=dict(color="black", width=2), symbol="circle"),
                    name=initial,
                    hovertemplate=f"{initial}<extra></extra>",
                )
            )
    fig.add_trace(star_trace(0.0, 0.0, name=render(CURRENT, lang), color=CURRENT_COLOR))
    fig.update_layout(
        title=dict(text=render(CONTOUR_TITLE, lang)),
        height=height,
        margin=dict(l=60, r=10, t=60, b=10),
        legend=_LEGEND,
        hovermode="closest",
        font=dict(size=14),
        xaxis=dict(title=dict(text=xt), range=[a.min(), a.max()]),
        yaxis=dict(title=dict(text=yt), range=[b.min(), b.max()]),
    )
    return fig


def make_weight_surface_figure(
    alphas: Sequence[float],
    betas: Sequence[float],
    loss: np.ndarray,
    *,
    x_title: Title | None = None,
    y_title: Title | None = None,
    lang: str = "en",
    height: int = 560,
) -> go.Figure:
    """The slice as a 3-D surface, the current weights marked at the origin; heights above the colour
    cap (:func:`lossviz.plots.color_cap`) are drawn flat at the cap so the basin keeps its depth."""
    a, b, z = _check_grid(alphas, betas, loss)
    xt, yt = (_short(render(t, lang)) for t in (x_title or Message(AXIS_X), y_title or Message(AXIS_Y)))
    loss_name = render(LOSS, lang)
    cap = color_cap(z)
    zc = np.where(np.isfinite(z), z, np.nan)
    if cap is not None:
        zc = np.minimum(zc, cap)
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
            colorbar=colorbar(render(LOSS_CAPPED if cap is not None else LOSS, lang), thickness=14),
            hovertemplate=f"a = %{{x:.3g}}<br>b = %{{y:.3g}}<br>{loss_name} = %{{z:.4f}}<extra></extra>",
            name=loss_name,
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
                name=render(CURRENT, lang),
            )
        )
    fig.update_layout(
        title=dict(text=render(SURFACE_TITLE, lang)),
        height=height,
        margin=dict(l=0, r=0, t=50, b=30),
        legend=_LEGEND,
        font=dict(size=13),
        scene=dict(
            xaxis=dict(title=dict(text=xt)),
            yaxis=dict(title=dict(text=yt)),
            zaxis=dict(title=dict(text=loss_name)),
            camera=dict(eye=dict(x=1.5, y=-1.5, z=1.0)),
        ),
    )
    return fig


def make_weight_line_figure(
    alphas: Sequence[float],
    loss: Sequence[float],
    accuracy: Sequence[float] | None = None,
    *,
    lang: str = "en",
    height: int = 420,
) -> go.Figure:
    """Loss (left axis) and accuracy (right axis) along α; α = 0 and α = 1 marked."""
    a = np.asarray(alphas, dtype=np.float64)
    lo = np.asarray(loss, dtype=np.float64)
    if a.ndim != 1 or lo.shape != a.shape or a.size < 2:
        raise LossvizInputError(msg("give one loss per α, at least two points"))
    loss_name, acc_name = render(LOSS, lang), render(ACCURACY, lang)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=a,
            y=np.where(np.isfinite(lo), lo, np.nan),
            mode="lines+markers",
            name=loss_name,
            line=dict(color=PALETTE[0], width=3),
            marker=dict(size=4),
            hovertemplate=f"α = %{{x:.3g}}<br>{loss_name} = %{{y:.4f}}<extra></extra>",
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
                name=acc_name,
                yaxis="y2",
                line=dict(color=PALETTE[2], width=2, dash="dash"),
                hovertemplate=f"α = %{{x:.3g}}<br>{acc_name} = %{{y:.1%}}<extra></extra>",
            )
        )
    for x0, name in ((0.0, INITIAL), (1.0, CURRENT)):
        if a.min() <= x0 <= a.max():
            fig.add_vline(x=x0, line=dict(color="#444444", dash="dot", width=1.5), annotation_text=render(name, lang))
    fig.update_layout(
        title=dict(text=render(LINE_TITLE, lang)),
        height=height,
        margin=dict(l=60, r=60, t=60, b=10),
        legend=_LEGEND,
        hovermode="x unified",
        font=dict(size=14),
        xaxis=dict(title=dict(text=render(AXIS_ALPHA, lang))),
        yaxis=dict(title=dict(text=loss_name)),
        yaxis2=dict(
            title=dict(text=acc_name),
            overlaying="y",
            side="right",
            range=[0, 1],
            tickvals=[0, 0.25, 0.5, 0.75, 1],
            tickformat=".0%",
            showgrid=False,
        ),
    )
    return fig
