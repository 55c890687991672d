"""The figure pieces both landscapes share: the loss as filled contours, one colour-cap rule, paths
drawn over a dark underlay, and the star marker.

Prediction space (:mod:`lossviz.landscape.figures`) and weight space (:mod:`lossviz.weightspace.figures`)
draw through these functions, so a map of the loss looks and reads the same on every page: the same
colour scale, the same rule for where the colours stop when a few values explode, the same way a
path stands out on every height of the scale. Text comes in already translated (each figure maker
resolves its message ids with its ``lang``); nothing here decides what a sentence says.

Example:
    >>> cap = color_cap(np.array([0.0, 1.0, 1.0, 2.0, 1e6]))
    >>> cap is not None and cap < 1e6
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from lossviz.theme import LOSS_SCALE

#: Quantile and stretch of the one colour-cap rule (see :func:`color_cap`).
CAP_QUANTILE = 0.95
CAP_STRETCH = 1.5
#: Contour lines drawn on the filled map.
CONTOURS = 24
#: The dark line under every path, so a light path reads on the light end of the scale too.
UNDERLAY = dict(color="black", width=5.5)
#: The colour bar's frame: the scale's light (yellow) end is drawn inside a dark outline, so it never
#: meets the white page at less than 3:1.
COLORBAR_OUTLINE = dict(outlinecolor="#111111", outlinewidth=1.5)
STAR = dict(symbol="star", size=18, line=dict(color="black", width=1.5))


def color_cap(z: np.ndarray | Sequence[float]) -> float | None:
    """The top of the colour scale when a few huge values would wash out the rest, else None.

    One rule for every loss map: the colours stop at ``lo + 1.5·(q95 − lo)`` (``lo`` the lowest finite
    value, ``q95`` the 95th percentile) when the highest finite value lies above that; a smooth bowl
    keeps its whole range, a map whose far corners explode keeps its basin readable.

    Example:
        >>> color_cap(np.linspace(0.0, 1.0, 100)) is None
        True
    """
    f = np.asarray(z, dtype=np.float64)
    f = f[np.isfinite(f)]
    if f.size < 4:
        return None
    lo, hi = float(f.min()), float(f.max())
    q = float(np.quantile(f, CAP_QUANTILE))
    cap = lo + CAP_STRETCH * (q - lo)
    return cap if lo < cap < hi else None


def colorbar(title: str, **extra: Any) -> dict[str, Any]:
    """The colour bar of a loss map: its title, the dark outline, and whatever the figure adds."""
    return dict(title=dict(text=title, side="right"), **COLORBAR_OUTLINE, **extra)


def contour_trace(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    *,
    name: str,
    colorbar_title: str | None,
    hovertemplate: str | None = None,
    customdata: np.ndarray | None = None,
    cap: float | None = None,
    line_color: str = "rgba(255,255,255,0.4)",
    colorbar_len: float = 0.8,
) -> go.Contour:
    """The loss as filled contours: ``z[i][j]`` at ``(x[j], y[i])``, non-finite values left blank.

    ``cap`` (from :func:`color_cap`) stops the colours there; ``colorbar_title`` None hides the bar.
    """
    zz = np.where(np.isfinite(z), z, np.nan).astype(np.float32)
    kw: dict[str, Any] = {}
    if cap is not None:
        kw.update(zmin=float(np.nanmin(zz)), zmax=float(cap), zauto=False)
    return go.Contour(
        x=np.asarray(x, dtype=np.float32),
        y=np.asarray(y, dtype=np.float32),
        z=zz,
        colorscale=LOSS_SCALE,
        ncontours=CONTOURS,
        contours=dict(coloring="heatmap", showlines=True),
        line=dict(width=0.6, color=line_color),
        customdata=customdata,
        hovertemplate=hovertemplate,
        hoverinfo=None if hovertemplate else "skip",
        colorbar=colorbar(colorbar_title, len=colorbar_len) if colorbar_title is not None else None,
        showscale=colorbar_title is not None,
        name=name,
        showlegend=False,
        **kw,
    )


def path_traces(
    x: np.ndarray | Sequence[float],
    y: np.ndarray | Sequence[float],
    *,
    name: str,
    color: str,
    width: float = 3.0,
    marker_size: float = 7,
    customdata: np.ndarray | None = None,
    hovertemplate: str | None = None,
) -> list[go.Scatter]:
    """A path as two traces: a dark underlay (no legend, no hover) and the path itself on top."""
    return [
        go.Scatter(x=x, y=y, mode="lines", line=UNDERLAY, hoverinfo="skip", showlegend=False),
        go.Scatter(
            x=x,
            y=y,
            mode="lines+markers",
            line=dict(color=color, width=width),
            marker=dict(size=marker_size, color=color, line=dict(color="black", width=1.2)),
            name=name,
            customdata=customdata,
            hovertemplate=hovertemplate,
        ),
    ]


def star_trace(
    x: float, y: float, *, name: str, color: str = "white", hovertemplate: str | None = None, **extra: Any
) -> go.Scatter:
    """The star: the lowest point of a map (prediction space) or the trained weights (weight space)."""
    return go.Scatter(
        x=[x],
        y=[y],
        mode="markers",
        marker=dict(STAR, color=color),
        cliponaxis=False,
        name=name,
        hovertemplate=hovertemplate if hovertemplate is not None else f"{name}<extra></extra>",
        **extra,
    )


def animate_args(duration_ms: int, *, from_current: bool = True) -> dict[str, Any]:
    """The options of every ▶ / ❚❚ / slider step of an animation over a loss map.

    ``redraw`` is always true: with ``redraw: false`` plotly.js redraws only the scatter layer and drops
    the layers of the other traces (plotly.js #4491, plotly.py #2151), so the contour under the moving
    point vanished on ▶ (12 contour paths → 0, measured in Chromium), whichever traces the frames list.
    A redraw of a 31×31 contour costs a few milliseconds per frame.
    """
    out: dict[str, Any] = dict(
        frame=dict(duration=int(duration_ms), redraw=True), transition=dict(duration=0), mode="immediate"
    )
    if from_current:
        out["fromcurrent"] = True
    return out
