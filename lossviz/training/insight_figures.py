"""Figures that let a class see through a run: the per-layer health heatmap, the sharpness curve against
the stability line, the test pictures with the network's answers, and the confusion matrix.

Each ``make_*_figure`` validates its input and returns a ``go.Figure``; the numbers come from
:mod:`lossviz.training.health`, :mod:`lossviz.training.predictions` and
:mod:`lossviz.weightspace.sharpness`.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, gettext, msg
from lossviz.theme import LOSS_SCALE, PALETTE
from lossviz.training.figures import _empty, _figure, _title, layer_text
from lossviz.training.health import HEALTH_FIELDS, UPDATE_GUIDE, UPDATE_RANGE

MAX_COLUMNS = 400

#: The heatmap's switch: its label, what the colour means, and whether it is a log scale.
HEALTH_VIEWS = {
    "grad": (N_("gradient norm"), N_("‖gradient‖ of each layer at each step (log colour scale)"), True),
    "weight": (N_("weight norm"), N_("‖w‖ of each layer (log colour scale)"), True),
    "update": (
        N_("update ratio"),
        N_("‖Δw‖/‖w‖: how much the optimizer's step changed each layer (log scale; white ≈ 1e-3, the rule of thumb)"),
        True,
    ),
    "dead": (N_("dead units"), N_("share of the units after each ReLU that were zero for every image of the batch"), False),
}


def _buckets(steps: np.ndarray, z: np.ndarray, cols: int, log: bool) -> tuple[np.ndarray, np.ndarray]:
    """At most ``cols`` columns: the mean (of log10 for log scales) of each bucket of steps."""
    n = steps.size
    cols = max(1, min(cols, n))
    edges = np.linspace(0, n, cols + 1).astype(int)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.log10(np.where(z > 0, z, np.nan)) if log else z.astype(np.float64)
    finite = np.isfinite(v)
    sums = np.add.reduceat(np.where(finite, v, 0.0), edges[:-1], axis=1)
    counts = np.add.reduceat(finite.astype(np.int64), edges[:-1], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    centers = steps[np.minimum(n - 1, (edges[:-1] + edges[1:] - 1) // 2)]
    return centers, out


def make_health_heatmap_figure(
    steps: np.ndarray,
    names: Sequence[str],
    z: np.ndarray,
    view: str = "grad",
    dataset_label: str | None = None,
    labels: Mapping[str, str] | None = None,
    lang: str = "en",
    max_columns: int = MAX_COLUMNS,
) -> go.Figure:
    """Layers (rows, model order) × steps (columns) of one health series; hover gives the value."""
    if view not in HEALTH_VIEWS:
        raise LossvizInputError(msg("view {view!r} is unknown: choose one of {choices}", view=view, choices=", ".join(HEALTH_VIEWS)))
    head, sub, log = HEALTH_VIEWS[view]
    title = _title(gettext("Layer health: {what}", lang, what=gettext(head, lang)), dataset_label, gettext(sub, lang), lang)
    steps = np.asarray(steps, dtype=np.float64)
    z = np.asarray(z, dtype=np.float64)
    if steps.size == 0 or not len(names) or z.size == 0:
        message = N_("Waiting for the first batch…") if view != "dead" else N_("Dead units are counted after each ReLU: switch ReLU on to see them.")
        return _empty(title, lang, message)
    if z.shape != (len(names), steps.size):
        raise LossvizInputError(msg("the heatmap needs one value per layer and step"))
    x, cz = _buckets(steps, z, max_columns, log)
    rows = [layer_text(n, labels, lang) for n in names]
    if view == "dead":
        rows = [r.rsplit(" ", 1)[0] for r in rows]  # "conv1 weight" -> "conv1": the layer's units
    value = np.power(10.0, cz) if log else cz
    heat: dict[str, Any] = dict(
        type="heatmap",
        z=cz.astype(np.float32),
        x=x.astype(np.float32),
        y=rows,
        customdata=value.astype(np.float32),
        hovertemplate=gettext("step {step}", lang, step="%{x}") + "<br>%{y}<br>" + gettext(head, lang)
        + " = %{customdata:.3g}<extra></extra>",
        colorscale=LOSS_SCALE,
        hoverongaps=False,
    )  # fmt: skip
    if log:
        finite = cz[np.isfinite(cz)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-3.0, 0.0)
        if view == "update":  # diverging around the rule of thumb, saturating at the alarm bounds
            lo, hi = math.log10(UPDATE_RANGE[0]), math.log10(UPDATE_RANGE[1])
            heat.update(colorscale="RdBu_r", zmid=math.log10(UPDATE_GUIDE))
        lo, hi = math.floor(lo), max(math.ceil(hi), math.floor(lo) + 1)
        ticks = list(range(lo, hi + 1))
        heat.update(zmin=lo, zmax=hi, colorbar=dict(tickvals=ticks, ticktext=[f"1e{t}" for t in ticks], thickness=14))
    else:
        heat.update(zmin=0.0, zmax=1.0, colorbar=dict(tickformat=".0%", thickness=14), colorscale="Reds")
    return _figure([heat], title, yaxis=dict(autorange="reversed", automargin=True), hovermode="closest",
                   margin=dict(l=110, r=20, t=78, b=45), lang=lang)  # fmt: skip


def make_sharpness_figure(
    points: Sequence[Mapping[str, Any]],
    threshold: float | None,
    dataset_label: str | None = None,
    lang: str = "en",
) -> go.Figure:
    """λ_max against the step, the stability line 2/η (or (2 + 2β)/η) dashed, the loss faint on a second axis."""
    title = _title(gettext("Sharpness λ_max", lang), dataset_label,
                   gettext("the top Hessian eigenvalue: how curved the loss is along its steepest direction; dashed: the stability line", lang), lang)  # fmt: skip
    pts = [p for p in points if isinstance(p.get("lambda_max"), int | float) and math.isfinite(p["lambda_max"])]
    if not pts:
        return _empty(title, lang, N_("Waiting for the first sharpness estimate…"))
    x = np.array([p["step"] for p in pts], dtype=np.float32)
    lam = np.array([p["lambda_max"] for p in pts], dtype=np.float32)
    data: list[dict] = [
        dict(type="scatter", mode="lines+markers", x=x, y=lam, name="λ_max", line=dict(color=PALETTE[0], width=3),
             marker=dict(size=5), hovertemplate=gettext("step {step}", lang, step="%{x}") + "<br>λ_max = %{y:.4g}<extra></extra>"),
    ]  # fmt: skip
    loss = np.array([p.get("loss") if isinstance(p.get("loss"), int | float) else np.nan for p in pts], dtype=np.float32)
    if np.isfinite(loss).any():
        data.append(dict(type="scatter", mode="lines", x=x, y=loss, name=gettext("training loss (right axis)", lang),
                         yaxis="y2", line=dict(color=PALETTE[1], width=2, dash="dot"), opacity=0.8))  # fmt: skip
    shapes, notes = [], []
    top = float(np.nanmax(lam))
    if threshold is not None and math.isfinite(threshold):
        shapes.append(dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=threshold, y1=threshold,
                           line=dict(color="#333333", dash="dash", width=2)))  # fmt: skip
        notes.append(dict(text=gettext("stability line {value}", lang, value=f"{threshold:.3g}"), xref="paper", yref="y",
                          x=0.01, y=threshold, xanchor="left", yanchor="bottom", showarrow=False, font=dict(size=13)))  # fmt: skip
        top = max(top, threshold)
    return _figure(
        data,
        title,
        yaxis=dict(title=dict(text=gettext("sharpness λ_max", lang)), range=[0, top * 1.12], rangemode="tozero"),
        shapes=shapes,
        annotations=notes,
        # ticks of its own (plotly would sync them to the left axis's grid: 1.016, 1.334, 1.652, ...)
        yaxis2=dict(title=dict(text=gettext("loss", lang)), overlaying="y", side="right", showgrid=False,
                    tickmode="auto", nticks=6, tickformat=".3~g"),
        legend=dict(orientation="h", x=0, y=-0.25),
        margin=dict(l=60, r=60, t=78, b=70),
        lang=lang,
    )


def _png(rgb: np.ndarray) -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb, mode="RGB").save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def make_prediction_grid_figure(
    record: Mapping[str, Any], dataset_label: str | None = None, lang: str = "en", scale: int = 4, cols: int = 4
) -> go.Figure:
    """The test pictures (real pixels, enlarged without smoothing), mistakes first, each with its true class,
    the network's answer and how sure it was; a red caption marks a mistake."""
    title = _title(gettext("What the network answers on test pictures", lang), dataset_label,
                   gettext("mistakes first; red: wrong answer", lang), lang)  # fmt: skip
    pixels = np.asarray(record.get("pixels"))
    if pixels.ndim != 4 or pixels.shape[0] == 0 or pixels.shape[1] != 3:
        return _empty(title, lang, N_("Pictures appear after the first evaluation."))
    classes = list(record.get("classes") or [])
    n = pixels.shape[0]
    rows = math.ceil(n / cols)
    h, w = pixels.shape[2] * scale, pixels.shape[3] * scale
    gap, cap = 6, 34
    canvas = np.full((rows * (h + cap + gap), cols * (w + gap), 3), 255, dtype=np.uint8)
    notes = []
    for i in range(n):
        r, c = divmod(i, cols)
        tile = pixels[i].transpose(1, 2, 0).repeat(scale, axis=0).repeat(scale, axis=1)
        y0, x0 = r * (h + cap + gap) + cap, c * (w + gap)
        canvas[y0 : y0 + h, x0 : x0 + w] = tile
        true, pred, prob = int(record["true"][i]), int(record["pred"][i]), float(record["prob"][i])
        name = lambda k: classes[k] if 0 <= k < len(classes) else str(k)  # noqa: E731
        wrong = true != pred
        text = gettext("{pred} ({prob}) · true {true}", lang, pred=name(pred), prob=f"{prob:.0%}", true=name(true))
        notes.append(dict(x=x0 + w / 2, y=y0 - 4, text=text, showarrow=False, xanchor="center", yanchor="bottom",
                          font=dict(size=13, color="#B00020" if wrong else "#1B5E20")))  # fmt: skip
    image = dict(type="image", source=_png(canvas), hoverinfo="skip")
    H, W = canvas.shape[:2]
    fig = _figure(
        [image],
        title,
        xaxis=dict(visible=False, range=[0, W], title=None),
        yaxis=dict(visible=False, range=[H, 0], scaleanchor="x"),
        annotations=notes,
        margin=dict(l=10, r=10, t=78, b=10),
        height=int(H * 0.9) + 90,
        lang=lang,
    )
    return fig


def make_confusion_figure(
    confusion: Sequence[Sequence[int]], classes: Sequence[str], dataset_label: str | None = None, lang: str = "en"
) -> go.Figure:
    """Counts of test pictures by true class (rows) and the network's answer (columns); the diagonal is right."""
    title = _title(gettext("Confusion matrix", lang), dataset_label,
                   gettext("rows: the true class; columns: the network's answer; off the diagonal: mistakes", lang), lang)  # fmt: skip
    cm = np.asarray(confusion, dtype=np.int64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1] or cm.size == 0:
        return _empty(title, lang, N_("The confusion matrix appears after the first evaluation."))
    k = cm.shape[0]
    names = [str(classes[i]) if i < len(classes) else str(i) for i in range(k)]
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    heat = dict(
        type="heatmap", z=share.astype(np.float32), x=names, y=names, text=cm.astype(str), texttemplate="%{text}",
        textfont=dict(size=12), colorscale="Blues", zmin=0, zmax=1, colorbar=dict(tickformat=".0%", thickness=14),
        hovertemplate=gettext("true {true}, answered {pred}: {n} pictures", lang, true="%{y}", pred="%{x}", n="%{text}")
        + "<extra></extra>",
    )  # fmt: skip
    return _figure(
        [heat],
        title,
        xaxis=dict(title=dict(text=gettext("the network's answer", lang)), type="category", side="bottom"),
        yaxis=dict(title=dict(text=gettext("true class", lang)), type="category", autorange="reversed", automargin=True),
        hovermode="closest",
        margin=dict(l=90, r=20, t=78, b=60),
        lang=lang,
    )


__all__ = [
    "HEALTH_VIEWS",
    "make_confusion_figure",
    "make_health_heatmap_figure",
    "make_prediction_grid_figure",
    "make_sharpness_figure",
]
assert set(HEALTH_VIEWS) == set(HEALTH_FIELDS)
