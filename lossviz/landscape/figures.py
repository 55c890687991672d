"""Landscape figures: one ``make_<thing>_figure(...) -> go.Figure`` each.

The numbers come from ``lossviz.landscape.surfaces``; these functions only draw them.
The contour map, the colour cap, the paths and the star come from :mod:`lossviz.plots` (shared with
the weight-space figures). Losses use the colour-blind-safe sequential ``Viridis`` scale (dark = low loss);
lines of several losses use the Okabe-Ito palette plus a dash pattern each, so
they differ without colour too. No background or template is set: Streamlit's
theme (light or dark) styles the figures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, gettext, msg, render
from lossviz.landscape.curves import Curve, margin_curves
from lossviz.landscape.descent import DescentPath
from lossviz.landscape.surfaces import Surface
from lossviz.plots import animate_args, color_cap, colorbar, contour_trace, path_traces, star_trace
from lossviz.theme import HIGHLIGHT, LOSS_SCALE, PALETTE, legend_below

#: Okabe-Ito colours (colour-blind safe), in the order lines get them.
OKABE_ITO = PALETTE
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
CURRENT = dict(symbol="circle", size=15, color=HIGHLIGHT, line=dict(color="black", width=2))
PATH_LINE = dict(color="white", width=3)
PATH_MARK = dict(symbol="circle", size=7, color="white", line=dict(color="black", width=1.2))
LEGEND_BELOW = legend_below(-0.14)
LEGEND_BELOW_2 = legend_below(-0.12)
#: Most animation frames (longer descents are subsampled).
MAX_FRAMES = 120


#: Legend names shared by several figures (message ids, translated where drawn).
LOWEST = N_("lowest point on the grid")
LOSS = N_("loss")
STEP = N_("step")
MOVED = N_("moved")
DESCENT = N_("descent")
CURRENT_NAME = N_("current example")
DESCENT_NAME = N_("gradient descent (lr {lr})")


def _check_surface(surface: Surface) -> None:
    if not isinstance(surface, Surface):
        raise LossvizInputError(msg("a landscape figure needs a Surface from lossviz.landscape.surfaces.compute_surface"))


_color_cap = color_cap  # the one rule both landscapes share


def _arrows(surface: Surface, per_axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Line segments (with heads) of −∇L on a coarse subgrid, NaN-separated, sized to read well.

    Length grows with the square root of |∇L| (capped at the 80th percentile) so both steep and
    gentle regions show; direction is the true descent direction in data coordinates.
    """
    r = surface.resolution
    n = max(2, min(per_axis, r))
    idx = np.unique(np.linspace(0, r - 1, n).round().astype(int))
    xs, ys = surface.xs, surface.ys
    sx = float(xs[-1] - xs[0]) or 1.0
    sy = float(ys[-1] - ys[0]) or 1.0
    gi = np.ix_(idx, idx)
    px, py = np.meshgrid(xs[idx], ys[idx])
    u, v = -surface.gx[gi] / sx, -surface.gy[gi] / sy  # descent step in axis fractions per unit lr
    m = np.hypot(u, v)
    ok = np.isfinite(m) & (m > 0)
    if not ok.any():
        return np.empty(0), np.empty(0)
    ref = float(np.quantile(m[ok], 0.8)) or float(m[ok].max())
    cell = 0.85 / max(len(idx) - 1, 1)
    length = np.where(ok, cell * np.sqrt(np.clip(np.where(ok, m, 0.0) / ref, 0.0, 1.0)), 0.0)
    keep = ok & (length >= 0.04 * cell)
    a, b, ll = px[keep], py[keep], length[keep]
    du, dv = u[keep] / m[keep] * ll, v[keep] / m[keep] * ll
    tx, ty = a + du * sx, b + dv * sy
    segs_x = [a, tx]
    segs_y = [b, ty]
    heads_x, heads_y = [], []
    for ang in (2.6, -2.6):
        ca, sa = math.cos(ang), math.sin(ang)
        hu = (du * ca - dv * sa) * 0.35
        hv = (du * sa + dv * ca) * 0.35
        heads_x.append(np.stack([tx, tx + hu * sx], axis=1))
        heads_y.append(np.stack([ty, ty + hv * sy], axis=1))
    gap = np.full(len(a), np.nan)
    shaft_x = np.stack([*segs_x, gap], axis=1)
    shaft_y = np.stack([*segs_y, gap], axis=1)
    hx = [np.concatenate([h, gap[:, None]], axis=1) for h in heads_x]
    hy = [np.concatenate([h, gap[:, None]], axis=1) for h in heads_y]
    out_x = np.concatenate([shaft_x, *hx], axis=1).ravel()
    out_y = np.concatenate([shaft_y, *hy], axis=1).ravel()
    return out_x.astype(np.float32), out_y.astype(np.float32)


def _hover(surface: Surface, capped: bool = False, lang: str = "en") -> str:
    xl, yl = surface.x_label, surface.y_label
    loss = "%{customdata[2]:.5g}" if capped else "%{z:.5g}"
    return (
        f"{xl} = %{{x:.4g}}<br>{yl} = %{{y:.4g}}<br>{gettext(LOSS, lang)} = {loss}"
        f"<br>∂L/∂{xl} = %{{customdata[0]:.4g}}<br>∂L/∂{yl} = %{{customdata[1]:.4g}}<extra></extra>"
    )


def _point_hover(surface: Surface, what: str, lang: str = "en") -> str:
    xl, yl = surface.x_label, surface.y_label
    return (
        f"<b>{what}</b><br>{xl} = %{{x:.4g}}<br>{yl} = %{{y:.4g}}<br>{gettext(LOSS, lang)} = %{{customdata[0]:.5g}}"
        f"<br>∂L/∂{xl} = %{{customdata[1]:.4g}}<br>∂L/∂{yl} = %{{customdata[2]:.4g}}<extra></extra>"
    )


def _contour_trace(surface: Surface, *, hover: bool = True, colorbar: bool = True, lang: str = "en") -> go.Contour:
    cap = color_cap(surface.z)
    custom = np.stack([surface.gx, surface.gy], axis=-1).astype(np.float32) if hover else None
    title = gettext(N_("loss (capped)") if cap is not None else N_("loss"), lang)
    return contour_trace(
        surface.xs,
        surface.ys,
        surface.z,
        name=gettext(LOSS, lang),
        colorbar_title=title if colorbar else None,
        hovertemplate=_hover(surface, lang=lang) if hover else None,
        customdata=custom,
        cap=cap,
        line_color="rgba(255,255,255,0.35)",
    )


def _marker_traces(surface: Surface, *, legend: bool = True, lang: str = "en") -> list[go.Scatter]:
    m, c = surface.minimum, surface.current
    lowest, current = gettext(LOWEST, lang), gettext(CURRENT_NAME, lang)
    return [
        star_trace(m.coords[0], m.coords[1], name=lowest, customdata=[[m.loss, *m.grad]],
                   hovertemplate=_point_hover(surface, lowest, lang), showlegend=legend),
        go.Scatter(x=[c.coords[0]], y=[c.coords[1]], mode="markers", marker=CURRENT, cliponaxis=False, name=current,
                   customdata=[[c.loss, *c.grad]], hovertemplate=_point_hover(surface, current, lang),
                   showlegend=legend),
    ]


def _path_hover(path: DescentPath, surface: Surface, lang: str = "en") -> str:
    xl, yl = surface.x_label, surface.y_label
    return (
        f"{gettext(STEP, lang)} %{{customdata[0]}}<br>{xl} = %{{x:.4g}}<br>{yl} = %{{y:.4g}}"
        f"<br>{gettext(LOSS, lang)} = %{{customdata[1]:.5g}}<extra>{gettext(DESCENT, lang)}</extra>"
    )


def _path_custom(path: DescentPath) -> np.ndarray:
    return np.stack([np.arange(len(path.losses)), path.losses], axis=1)


def _inside_prefix(path: DescentPath, surface: Surface) -> int:
    """How many points of the path, from the start, stay finite and inside the plotted range."""
    p = path.points
    ok = (
        np.isfinite(path.losses)
        & np.isfinite(p).all(axis=1)
        & (p[:, 0] >= surface.xs[0])
        & (p[:, 0] <= surface.xs[-1])
        & (p[:, 1] >= surface.ys[0])
        & (p[:, 1] <= surface.ys[-1])
    )
    bad = np.flatnonzero(~ok)
    return int(bad[0]) if bad.size else len(p)


def _axes(fig: go.Figure, surface: Surface, lang: str = "en") -> None:
    fig.update_xaxes(
        title_text=render(surface.x_title, lang),
        range=[float(surface.xs[0]), float(surface.xs[-1])],
        showgrid=False,
        zeroline=False,
    )
    fig.update_yaxes(
        title_text=render(surface.y_title, lang),
        range=[float(surface.ys[0]), float(surface.ys[-1])],
        showgrid=False,
        zeroline=False,
    )


def _check_path(path: DescentPath | None, surface: Surface) -> None:
    if path is None:
        return
    if not isinstance(path, DescentPath) or len(path.elements) != 2:
        raise LossvizInputError(msg("the descent path drawn on a surface must vary the surface's two elements"))
    if tuple(path.elements) != (surface.x, surface.y):
        raise LossvizInputError(msg("the descent path varies other elements than the surface"))


def _two_panels(top: str, bottom: str, x_title: str) -> go.Figure:
    """An empty figure with two stacked panels sharing one x axis (cheaper than make_subplots)."""
    fig = go.Figure(
        layout=dict(
            xaxis=dict(anchor="y2", domain=[0.0, 1.0], title=dict(text=x_title)),
            yaxis=dict(domain=[0.56, 1.0], anchor="x"),
            yaxis2=dict(domain=[0.0, 0.44], anchor="x"),
            annotations=[
                dict(text=text, x=0.0, y=y, xref="paper", yref="paper", xanchor="left", yanchor="bottom",
                     showarrow=False)
                for text, y in ((top, 1.0), (bottom, 0.44))
            ],
        )
    )
    return fig


def make_contour_figure(
    surface: Surface,
    *,
    path: DescentPath | None = None,
    arrows: int = 17,
    title: str | None = None,
    height: int = 560,
    lang: str = "en",
) -> go.Figure:
    """Contour map of the loss with the gradient field (arrows of −∇L), the current point and the minimum.

    ``arrows`` is the number of arrows per axis (0 for none); ``path`` adds a descent path.
    """
    _check_surface(surface)
    _check_path(path, surface)
    if not 0 <= int(arrows) <= 40:
        raise LossvizInputError(msg("arrows per axis must be from 0 to 40"))
    fig = go.Figure()
    fig.add_trace(_contour_trace(surface, lang=lang))
    if arrows:
        ax, ay = _arrows(surface, int(arrows))
        if ax.size:
            fig.add_trace(
                go.Scatter(
                    x=ax,
                    y=ay,
                    mode="lines",
                    line=dict(color="rgba(0,0,0,0.45)", width=3),
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
            fig.add_trace(
                go.Scatter(
                    x=ax,
                    y=ay,
                    mode="lines",
                    line=dict(color="rgba(255,255,255,0.9)", width=1.3),
                    hoverinfo="skip",
                    name=gettext("−∇L (downhill)", lang),
                )
            )
    if path is not None:
        fig.add_traces(
            path_traces(
                path.points[:, 0],
                path.points[:, 1],
                name=gettext(DESCENT_NAME, lang, lr=f"{path.lr:g}"),
                color=PATH_LINE["color"],
                width=PATH_LINE["width"],
                marker_size=PATH_MARK["size"],
                customdata=_path_custom(path),
                hovertemplate=_path_hover(path, surface, lang),
            )
        )
    for t in _marker_traces(surface, lang=lang):
        fig.add_trace(t)
    _axes(fig, surface, lang)
    fig.update_layout(
        title=dict(text=title or gettext("{loss}, '{reduction}': contours and −∇L", lang, loss=surface.loss,
                                         reduction=surface.reduction)),
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
        legend=LEGEND_BELOW,
        hovermode="closest",
    )
    return fig


def make_surface3d_figure(
    surface: Surface,
    *,
    path: DescentPath | None = None,
    title: str | None = None,
    height: int = 560,
    lang: str = "en",
) -> go.Figure:
    """The loss as a 3-D surface you can rotate, with the current point, the minimum and a descent path.

    Heights above the colour cap (values near a domain edge) are drawn flat at the cap; the hover
    still shows the true loss.
    """
    _check_surface(surface)
    _check_path(path, surface)
    cap = _color_cap(surface.z)
    z = surface.z if cap is None else np.minimum(surface.z, cap)
    custom = np.stack([surface.gx, surface.gy, surface.z], axis=-1).astype(np.float32)
    fig = go.Figure()
    fig.add_trace(
        go.Surface(
            x=surface.xs.astype(np.float32),
            y=surface.ys.astype(np.float32),
            z=z.astype(np.float32),
            colorscale=LOSS_SCALE,
            customdata=custom,
            hovertemplate=_hover(surface, capped=True, lang=lang),
            colorbar=colorbar(gettext("loss", lang), len=0.75),
            name=gettext("loss", lang),
            opacity=0.95,
            contours=dict(z=dict(show=True, usecolormap=True, project=dict(z=True), width=1)),
        )
    )
    top = float(np.nanmax(z)) if np.isfinite(z).any() else 1.0
    lift = 0.03 * float(top - np.nanmin(z) or 1.0)

    def _z(v: float) -> float:
        return min(v, top) + lift

    c, m = surface.current, surface.minimum
    left_at = None
    if path is not None:
        keep = _inside_prefix(path, surface)
        if keep < len(path.points):
            left_at = keep - 1
        fig.add_trace(
            go.Scatter3d(
                x=path.points[:keep, 0],
                y=path.points[:keep, 1],
                z=[_z(v) for v in path.losses[:keep]],
                mode="lines+markers",
                line=dict(color="white", width=7),
                marker=dict(size=4, color="white", line=dict(color="black", width=1)),
                name=gettext(DESCENT_NAME, lang, lr=f"{path.lr:g}"),
                customdata=_path_custom(path)[:keep],
                hovertemplate=_path_hover(path, surface, lang),
            )
        )
    fig.add_trace(
        go.Scatter3d(
            x=[m.coords[0]],
            y=[m.coords[1]],
            z=[_z(m.loss)],
            mode="markers",
            name=gettext(LOWEST, lang),
            marker=dict(symbol="diamond", size=8, color="white", line=dict(color="black", width=2)),
            customdata=[[m.loss, *m.grad]],
            hovertemplate=_point_hover(surface, gettext(LOWEST, lang), lang),
        )
    )
    fig.add_trace(
        go.Scatter3d(
            x=[c.coords[0]],
            y=[c.coords[1]],
            z=[_z(c.loss)],
            mode="markers",
            name=gettext(CURRENT_NAME, lang),
            marker=dict(symbol="circle", size=8, color=CURRENT["color"], line=dict(color="black", width=2)),
            customdata=[[c.loss, *c.grad]],
            hovertemplate=_point_hover(surface, gettext(CURRENT_NAME, lang), lang),
        )
    )
    fig.update_layout(
        title=dict(text=title or gettext("{loss}, '{reduction}': 3-D surface (drag to rotate)", lang, loss=surface.loss,
                                         reduction=surface.reduction)),
        height=height,
        margin=dict(l=0, r=0, t=50, b=0),
        legend=legend_below(0.0),
        scene=dict(
            xaxis=dict(title=dict(text=surface.x_label), range=[float(surface.xs[0]), float(surface.xs[-1])]),
            yaxis=dict(title=dict(text=surface.y_label), range=[float(surface.ys[0]), float(surface.ys[-1])]),
            zaxis=dict(title=dict(text=gettext("loss", lang))),
            camera=dict(eye=dict(x=1.35, y=-1.55, z=1.45)),
            aspectmode="manual",
            aspectratio=dict(x=1, y=1, z=0.7),
        ),
    )
    notes = (
        (left_at is not None, 1.0,
         gettext("the descent path leaves the plotted range at step {step}", lang, step=(left_at or 0) + 1)),
        (cap is not None, 0.0,
         gettext("heights above {cap} drawn flat (true loss in the hover)", lang, cap=f"{cap or 0:.3g}")),
    )
    for show, y, text in notes:
        if show:
            fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0, y=y, xanchor="left",
                               yanchor="bottom", font=dict(size=12))
    return fig


def make_descent_animation_figure(
    surface: Surface,
    path: DescentPath,
    *,
    title: str | None = None,
    height: int = 560,
    frame_ms: int = 250,
    lang: str = "en",
) -> go.Figure:
    """The descent path drawn step by step over the contour map (Plotly frames with a play button)."""
    _check_surface(surface)
    if path is None:
        raise LossvizInputError(msg("the animation needs a descent path"))
    _check_path(path, surface)
    n = len(path.points)
    ks = np.unique(np.linspace(1, n, min(n, MAX_FRAMES)).round().astype(int))
    fig = go.Figure()
    fig.add_trace(_contour_trace(surface, hover=False, lang=lang))
    for t in _marker_traces(surface, lang=lang):
        fig.add_trace(t)
    custom = _path_custom(path)
    hov = _path_hover(path, surface, lang)

    def path_trace(k: int) -> go.Scatter:
        return go.Scatter(
            x=path.points[:k, 0],
            y=path.points[:k, 1],
            mode="lines+markers",
            line=PATH_LINE,
            marker=PATH_MARK,
            name=gettext(DESCENT_NAME, lang, lr=f"{path.lr:g}"),
            customdata=custom[:k],
            hovertemplate=hov,
        )

    fig.add_trace(path_trace(1))
    idx = len(fig.data) - 1
    frames = []
    for k in ks:
        k = int(k)
        frames.append(
            dict(
                name=str(k - 1),
                traces=[idx],
                data=[
                    dict(type="scatter", x=path.points[:k, 0], y=path.points[:k, 1], customdata=custom[:k])
                ],
                layout=dict(title=dict(text=gettext("step {k} of {n}: loss {loss}", lang, k=k - 1, n=n - 1,
                                                    loss=f"{path.losses[k - 1]:.4g}"))),
            )
        )
    play = animate_args(frame_ms)  # redraw: the contour stays under the moving point (plotly.js #4491)
    fig.update_layout(
        title=dict(text=title or gettext("gradient descent, lr {lr}: press ▶", lang, lr=format(path.lr, "g"))),
        height=height,
        margin=dict(l=10, r=10, t=50, b=10),
        showlegend=False,
        updatemenus=[
            dict(
                type="buttons",
                direction="left",
                x=0.0,
                y=-0.19,
                xanchor="left",
                yanchor="top",
                showactive=False,
                buttons=[
                    dict(label=gettext("▶ play", lang), method="animate", args=[None, play]),
                    dict(
                        label=gettext("❚❚ pause", lang),
                        method="animate",
                        args=[[None], animate_args(0, from_current=False)],
                    ),
                ],
            )
        ],
        sliders=[
            dict(
                active=0,
                x=0.0,
                y=-0.3,
                len=1.0,
                xanchor="left",
                yanchor="top",
                currentvalue=dict(prefix=gettext("step", lang) + " "),
                pad=dict(t=0),
                steps=[
                    dict(
                        label=f["name"],
                        method="animate",
                        args=[[f["name"]], animate_args(0, from_current=False)],
                    )
                    for f in frames
                ],
            )
        ],
    )
    fig.update_layout(margin=dict(b=190))
    _axes(fig, surface, lang)
    # the frames are plain data we built ourselves: skip plotly's per-property validation (it costs ~4 ms a frame)
    spec = fig.to_dict()
    spec["frames"] = frames
    return go.Figure(spec, _validate=False)


def make_descent_loss_figure(
    paths: Sequence[DescentPath] | DescentPath, *, labels: Sequence[str] | None = None, height: int = 480,
    lang: str = "en",
) -> go.Figure:
    """Loss after each step (top) and the length of each step (bottom): L1's steps stay the same size,
    MSE's shrink near the minimum, and a too-large learning rate makes both grow."""
    paths = [paths] if isinstance(paths, DescentPath) else list(paths)
    if not paths or not all(isinstance(p, DescentPath) for p in paths):
        raise LossvizInputError(msg("give at least one descent path"))
    labels = list(labels) if labels is not None else [f"lr {p.lr:g}" for p in paths]
    if len(labels) != len(paths):
        raise LossvizInputError(msg("give one label per path"))
    fig = _two_panels(gettext("loss after each step", lang), gettext("length of each step", lang), gettext("step", lang))
    traces = []
    for i, (p, lab) in enumerate(zip(paths, labels, strict=True)):
        col, dash = OKABE_ITO[i % len(OKABE_ITO)], DASHES[i % len(DASHES)]
        steps = np.arange(len(p.losses))
        traces.append(
            go.Scatter(
                x=steps,
                y=p.losses,
                mode="lines+markers",
                name=lab,
                legendgroup=lab,
                line=dict(color=col, dash=dash),
                marker=dict(size=5),
                hovertemplate=f"{gettext(STEP, lang)} %{{x}}<br>{gettext(LOSS, lang)} %{{y:.5g}}<extra>{lab}</extra>",
            )
        )
        if len(p.points) > 1:
            traces.append(
                go.Scatter(
                    x=steps[1:],
                    y=p.step_lengths,
                    mode="lines+markers",
                    name=lab,
                    legendgroup=lab,
                    yaxis="y2",
                    line=dict(color=col, dash=dash),
                    marker=dict(size=5),
                    showlegend=False,
                    hovertemplate=f"{gettext(STEP, lang)} %{{x}}<br>{gettext(MOVED, lang)} %{{y:.4g}}<extra>{lab}</extra>",
                )
            )
    fig.add_traces(traces)
    pos = np.concatenate([p.losses[np.isfinite(p.losses)] for p in paths])
    log = bool(pos.size and (pos > 0).all() and pos.max() / max(pos.min(), 1e-300) > 1e3)
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        showlegend=len(paths) > 1,
        yaxis=dict(title=dict(text=gettext("loss", lang)), type="log" if log else "linear", exponentformat="power"),
        yaxis2=dict(title=dict(text=gettext("step length", lang)), rangemode="tozero", exponentformat="power"),
        legend=LEGEND_BELOW_2,
    )
    return fig


def make_curve_figure(
    curves: Sequence[Curve],
    *,
    title: str | None = None,
    x_title: str | None = None,
    height: int = 560,
    mark_current: bool = True,
    loss_range: tuple[float, float] | None = None,
    slope_range: tuple[float, float] | None = None,
    lang: str = "en",
) -> go.Figure:
    """Loss (top) and its derivative (bottom) as one element sweeps a range; several losses overlaid.

    ``loss_range``/``slope_range`` fix the vertical axes (curves leaving them run off the chart).

    The first curve is the main one: its current point is marked on both panels.
    """
    curves = list(curves)
    if not curves or not all(isinstance(c, Curve) for c in curves):
        raise LossvizInputError(msg("give at least one Curve from lossviz.landscape.surfaces"))
    main = curves[0]
    xl = main.x_label
    fig = _two_panels(
        gettext("loss L", lang),
        gettext("slope ∂L/∂{x}: what backprop sends (the step goes the other way)", lang, x=xl),
        x_title or xl,
    )
    traces = []
    for i, c in enumerate(curves):
        col, dash = OKABE_ITO[i % len(OKABE_ITO)], DASHES[i % len(DASHES)]
        width = 3.5 if i == 0 else 2.5
        traces.append(
            go.Scatter(
                x=c.xs,
                y=c.values,
                mode="lines",
                name=c.name,
                legendgroup=c.name,
                line=dict(color=col, dash=dash, width=width),
                customdata=c.slope,
                hovertemplate=f"{xl} = %{{x:.4g}}<br>{gettext(LOSS, lang)} = %{{y:.5g}}<br>∂L/∂{xl} = "
                f"%{{customdata:.4g}}<extra>{c.name}</extra>",
            )
        )
        traces.append(
            go.Scatter(
                x=c.xs,
                y=c.slope,
                mode="lines",
                name=c.name,
                legendgroup=c.name,
                showlegend=False,
                yaxis="y2",
                line=dict(color=col, dash=dash, width=width),
                hovertemplate=f"{xl} = %{{x:.4g}}<br>∂L/∂{xl} = %{{y:.4g}}<extra>{c.name}</extra>",
            )
        )
    shapes = [
        dict(type="line", xref="paper", x0=0, x1=1, yref="y2", y0=0, y1=0, line=dict(color="gray", width=1))
    ]
    if mark_current and main.current is not None:
        p = main.current
        for axis, yv in (("y", p.loss), ("y2", p.grad[0])):
            traces.append(
                go.Scatter(
                    x=[p.coords[0]],
                    y=[yv],
                    mode="markers",
                    marker=CURRENT,
                    name=gettext(CURRENT_NAME, lang),
                    yaxis=axis,
                    legendgroup="current",
                    showlegend=axis == "y",
                    hovertemplate=f"<b>{gettext(CURRENT_NAME, lang)}</b><br>{xl} = %{{x:.4g}}<br>%{{y:.5g}}<extra></extra>",
                )
            )
        shapes.append(
            dict(
                type="line",
                xref="x",
                x0=p.coords[0],
                x1=p.coords[0],
                yref="paper",
                y0=0,
                y1=1,
                line=dict(color="gray", dash="dot", width=1),
            )
        )
    fig.add_traces(traces)
    fig.update_layout(
        title=dict(text=title or gettext("sweeping {x}, everything else fixed", lang, x=xl)),
        height=height,
        shapes=shapes,
        margin=dict(l=10, r=10, t=50, b=10),
        yaxis=dict(
            title=dict(text=gettext("loss", lang)), exponentformat="power", range=list(loss_range) if loss_range else None
        ),
        yaxis2=dict(
            title=dict(text=gettext("slope", lang)), exponentformat="power",
            range=list(slope_range) if slope_range else None
        ),
        legend=LEGEND_BELOW_2,
        hovermode="closest",
    )
    return fig


def make_margin_figure(title: str | None = None, x_title: str | None = None, lang: str = "en") -> go.Figure:
    """The classic picture: classification losses of one example against its margin (``margin_curves``),
    with axes fixed so the logistic, hinge and squared losses can be told apart."""
    return make_curve_figure(margin_curves(), title=title or gettext("losses against the margin m = y·z", lang),
                             x_title=x_title or gettext("margin m = y·z", lang), mark_current=False,
                             loss_range=(-0.2, 4.0), slope_range=(-3.0, 1.5), lang=lang)
