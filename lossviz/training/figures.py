"""Figures for the training page, built from a :class:`~lossviz.training.metrics_log.MetricsSnapshot`.

Every point stays on disk; for display, long series are decimated (min/max per bucket, so
spikes survive) to a few thousand points, which keeps the page responsive at 100,000 batches.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, gettext, msg, render
from lossviz.theme import PALETTE, legend_below
from lossviz.training.metrics import MetricSpec, get_metric, layer_message, list_metrics
from lossviz.training.metrics_log import MetricsSnapshot

MAX_POINTS = 2000
HEATMAP_COLUMNS = 400
LOG_TICKS = ".2~g"  # log axes: "0.02, 0.05, 0.1" rather than plotly's bare "2, 5" minor labels
COLORS = list(PALETTE)
# Title and subtitle on top, the legend under the x-axis title: at half a projector's width a
# legend beside the title would cover it.
_LEGEND_BELOW = legend_below(-0.3)
_LAYOUT = dict(
    margin=dict(l=60, r=20, t=78, b=45),
    height=380,
    legend=_LEGEND_BELOW,
    hovermode="x unified",
    font=dict(size=14),
)


# ----------------------------------------------------------------------------- series helpers


def decimate(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most ``max_points`` points that keep the shape: the min and max of each bucket, in order.

    Example:
        >>> x = np.arange(100_000.0); y = np.sin(x / 1000)
        >>> len(decimate(x, y, 2000)[0]) <= 2000
        True
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise LossvizInputError(msg("x has {nx} points but y has {ny}: give one y per x", nx=x.size, ny=y.size))
    if max_points < 4:
        raise LossvizInputError(msg("max_points={n} is too small: use at least 4", n=max_points))
    n = x.size
    if n <= max_points:
        return x, y
    buckets = max_points // 2
    k = math.ceil(n / buckets)
    pad = buckets * k - n
    yp = np.concatenate([y, np.full(pad, np.nan)]).reshape(buckets, k)
    valid = np.isfinite(yp)
    lo = np.where(valid, yp, np.inf).argmin(axis=1)
    hi = np.where(valid, yp, -np.inf).argmax(axis=1)
    base = np.arange(buckets) * k
    idx = np.stack([np.minimum(lo, hi), np.maximum(lo, hi)], axis=1) + base[:, None]
    idx = idx.ravel()
    idx = idx[idx < n]
    idx = np.unique(idx)  # sorted, and a bucket whose min and max coincide gives one point
    return x[idx], y[idx]


def _f32(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """float32 copies: plotly sends numpy arrays as base64, so this halves what the browser receives."""
    return tuple(np.asarray(a, dtype=np.float32) for a in arrays)


def stride(x: np.ndarray, y: np.ndarray, max_points: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """Every k-th point (plus the last) so at most ``max_points`` remain; for already smooth series."""
    n = len(x)
    if n <= max_points:
        return np.asarray(x), np.asarray(y)
    k = math.ceil(n / (max_points - 1))
    idx = np.r_[np.arange(0, n - 1, k), n - 1]
    return np.asarray(x)[idx], np.asarray(y)[idx]


#: The smoothing the charts start with (TensorBoard's default); 0 draws the raw points only.
DEFAULT_SMOOTHING = 0.6
MAX_SMOOTHING = 0.999


def check_smoothing(weight: float) -> float:
    if not isinstance(weight, int | float) or isinstance(weight, bool) or not 0.0 <= weight <= MAX_SMOOTHING:
        raise LossvizInputError(msg("smoothing={w!r} is out of range: give a number from 0 to 0.999", w=weight))
    return float(weight)


def ema(y: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: an exponential moving average, debiased so the first points are not
    pulled towards 0; points that are not finite are skipped (they stay NaN).

    Example:
        >>> ema(np.array([1.0, 3.0]), 0.5).tolist()  # (0.5·1) / 0.5, (0.25·1 + 0.5·3) / 0.75
        [1.0, 2.333333333333333]
    """
    y = np.asarray(y, dtype=np.float64)
    weight = check_smoothing(weight)
    out = np.full(y.shape, np.nan)
    finite = np.isfinite(y)
    v = y[finite]
    if weight == 0.0 or v.size == 0:
        out[finite] = v
        return out
    from scipy.signal import lfilter

    smooth = lfilter([1.0 - weight], [1.0, -weight], v)
    # debias the first points only: beyond k, weight**k < 1e-16 (and its subnormal powers are slow)
    k = min(v.size, int(math.ceil(math.log(1e-16) / math.log(weight))) + 1)
    smooth[:k] /= 1.0 - np.exp(np.arange(1, k + 1, dtype=np.float64) * math.log(weight))
    out[finite] = smooth
    return out


def _smooth(y: np.ndarray, weight: float, log: bool = False) -> np.ndarray:
    """:func:`ema` of ``y``, or of log y (then back) for a quantity drawn on a log scale."""
    return np.exp(ema(_log(y), weight)) if log else ema(y, weight)


def _raw_and_smooth(
    x: np.ndarray, y: np.ndarray, weight: float, name: str, color: str, faint: str, lang: str,
    max_points: int = MAX_POINTS, log: bool = False,
) -> list[dict]:
    """Every point (min/max decimated: spikes survive), faint, behind its smoothed curve; with no
    smoothing, the raw points alone in the bold colour."""
    raw = _line(*_f32(*decimate(x, y, max_points)), name, faint if weight else color, width=1 if weight else 2)
    if not weight:
        return [raw]
    smooth = _smooth(y, weight, log)
    label = gettext("smoothed ({weight:g})", lang, weight=weight)
    return [raw, _line(*_f32(*decimate(x, smooth, max_points)), label, color)]


#: How each data set is named on the page (run directories store the English key).
DATASET_LABELS = {"synthetic": N_("synthetic"), "CIFAR-10": "CIFAR-10", "digits": N_("handwritten digits"),
                  "image folder": N_("your images")}  # fmt: skip


def dataset_text(label: str | None, lang: str = "en") -> str:
    """A run's data label (``"synthetic"``, ``"CIFAR-10"``) in ``lang``; unknown labels are shown as they are."""
    label = str(label or "")
    return gettext(DATASET_LABELS[label], lang) if label in DATASET_LABELS else label


def _title(text: str, dataset_label: str | None, subtitle: str = "", lang: str = "en") -> dict:
    """A short title that names the data (``synthetic`` shows on every chart) and a one-line subtitle."""
    if dataset_label:
        text = gettext("{chart} — {data} data", lang, chart=text, data=dataset_text(dataset_label, lang))
    title: dict = {"text": text}
    if subtitle:
        title["subtitle"] = {"text": subtitle, "font": {"size": 12, "color": "#666666"}}
    return title


def _line(x: np.ndarray, y: np.ndarray, name: str, color: str, width: float = 3, **extra: object) -> dict:
    return dict(
        type="scatter", mode="lines", x=x, y=y, name=name, line=dict(color=color, width=width), **extra
    )


def _hline(y: float, text: str) -> tuple[dict, dict]:
    """A dotted reference line across the plot, and its label at the right end."""
    shape = dict(
        type="line", xref="paper", yref="y", x0=0, x1=1, y0=y, y1=y, line=dict(color="#777777", dash="dot")
    )
    note = dict(
        text=text, xref="paper", yref="y", x=1, y=y, xanchor="right", yanchor="bottom", showarrow=False
    )
    return shape, note


def _epoch_lines(snap: MetricsSnapshot) -> list[dict]:
    """Light vertical lines where each epoch starts (only when there are few epochs)."""
    epoch = snap.batch["epoch"]
    if epoch.size < 2:
        return []
    starts = np.flatnonzero(np.diff(epoch) > 0) + 1
    if not 0 < starts.size <= 30:
        return []
    return [
        dict(
            type="line",
            xref="x",
            yref="paper",
            x0=float(snap.batch["step"][i]),
            x1=float(snap.batch["step"][i]),
            y0=0,
            y1=1,
            line=dict(color="#999999", width=1, dash="dot"),
        )
        for i in starts
    ]


def _figure(
    data: list[dict],
    title: dict,
    xaxis: dict | None = None,
    yaxis: dict | None = None,
    shapes: Sequence[dict] = (),
    annotations: Sequence[dict] = (),
    lang: str = "en",
    **layout: object,
) -> go.Figure:
    """Wrap a plain spec in a Figure without plotly's per-property validation.

    Building through ``go.Scatter``/``update_layout`` validates every property and costs
    ~30 ms a figure; the page redraws four every second while the trainer needs the CPU.
    The specs are checked by validating them once in the tests instead.
    """
    spec_layout: dict = {**_LAYOUT, "title": dict(title)}
    spec_layout["xaxis"] = {"title": dict(text=gettext("step (batches seen)", lang)), **(xaxis or {})}
    spec_layout["yaxis"] = dict(yaxis or {})
    for axis in ("xaxis", "yaxis"):
        t = spec_layout[axis].get("title")
        if isinstance(t, str):
            spec_layout[axis]["title"] = dict(text=t)
    if shapes:
        spec_layout["shapes"] = list(shapes)
    if annotations:
        spec_layout["annotations"] = list(annotations)
    spec_layout.update(layout)
    return go.Figure(dict(data=data, layout=spec_layout), _validate=False)


def _empty(title: dict, lang: str = "en", message: str = N_("Waiting for the first batch…")) -> go.Figure:
    note = dict(
        text=gettext(message, lang), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font=dict(size=16)
    )
    return _figure([], title, xaxis=dict(visible=False), yaxis=dict(visible=False), annotations=[note], lang=lang)


def _log(values: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(np.where(values > 0, values, np.nan))


# ----------------------------------------------------------------------------- figures


def make_loss_figure(
    snap: MetricsSnapshot,
    dataset_label: str | None = None,
    max_points: int = MAX_POINTS,
    loss_name: str = "loss",
    chance: float | None = None,
    lang: str = "en",
    smoothing: float = DEFAULT_SMOOTHING,
) -> go.Figure:
    """Loss of every batch (faint), smoothed (bold; ``smoothing``: :func:`ema`'s weight), the per-epoch test loss (dots) and,
    if given, the loss of blind guessing (dotted)."""
    title = _title(
        gettext("Training loss", lang),
        dataset_label,
        gettext("{loss} of each batch; dashed: the test set after each epoch", lang, loss=loss_name),
        lang,
    )
    if snap.n_batches == 0:
        return _empty(title, lang)
    step, loss = snap.batch["step"], snap.batch["loss"]
    data = _raw_and_smooth(step, loss, smoothing, gettext("each batch", lang), COLORS[0], "#9db4ef", lang, max_points)
    if snap.n_evals:
        data.append(_test_trace(snap.eval["step"], snap.eval["test_loss"], lang))
    shapes, notes = _epoch_lines(snap), []
    if chance is not None and math.isfinite(chance):
        shape, note = _hline(chance, gettext("guessing ({value:.2f})", lang, value=chance))
        shapes.append(shape)
        notes.append(note)
    return _figure(
        data,
        title,
        yaxis=dict(title=gettext("loss", lang), rangemode="tozero"),
        shapes=shapes,
        annotations=notes,
        lang=lang,
    )


def _test_trace(x: np.ndarray, y: np.ndarray, lang: str) -> dict:
    """The test set's value after each epoch: dashed, with big dots."""
    return dict(
        type="scatter",
        mode="lines+markers",
        x=_f32(x)[0],
        y=_f32(y)[0],
        name=gettext("test set (each epoch)", lang),
        line=dict(color=COLORS[1], width=2, dash="dash"),
        marker=dict(size=10),
    )


def make_accuracy_figure(
    snap: MetricsSnapshot, dataset_label: str | None = None, max_points: int = MAX_POINTS, lang: str = "en",
    smoothing: float = DEFAULT_SMOOTHING,
) -> go.Figure:
    """Share of each batch classified right (moving average) and test accuracy per epoch, in %."""
    title = _title(
        gettext("Accuracy", lang), dataset_label, gettext("share of images put in the right class", lang), lang
    )
    if snap.n_batches == 0:
        return _empty(title, lang)
    step = snap.batch["step"]
    acc = 100.0 * snap.batch["batch_accuracy"]
    data = _raw_and_smooth(step, acc, smoothing, gettext("training batches", lang), COLORS[0], "#c6d3f5", lang, max_points)
    if snap.n_evals:
        data.append(_test_trace(snap.eval["step"], 100.0 * snap.eval["test_accuracy"], lang))
    shape, note = _hline(10.0, gettext("guessing (10%)", lang))
    return _figure(
        data,
        title,
        yaxis=dict(title=gettext("correct (%)", lang), range=[0, 100]),
        shapes=[*_epoch_lines(snap), shape],
        annotations=[note],
        showlegend=True,
        lang=lang,
    )


def make_grad_norm_figure(
    snap: MetricsSnapshot, dataset_label: str | None = None, max_points: int = MAX_POINTS, lang: str = "en",
    smoothing: float = DEFAULT_SMOOTHING,
) -> go.Figure:
    """Length of the whole gradient (L2 over all parameters) per batch, log scale."""
    title = _title(
        gettext("Gradient norm", lang),
        dataset_label,
        gettext("length of the whole gradient: how big each step is (log scale)", lang),
        lang,
    )
    if snap.n_batches == 0:
        return _empty(title, lang)
    step, g = snap.batch["step"], snap.batch["grad_norm"]
    g = np.where(g > 0, g, np.nan)
    data = _raw_and_smooth(step, g, smoothing, gettext("each batch", lang), COLORS[1], "#f2b8a6", lang, max_points, log=True)
    yaxis = dict(title=gettext("‖gradient‖ (log scale)", lang), type="log", tickformat=LOG_TICKS, dtick="D2")
    return _figure(data, title, yaxis=yaxis, shapes=_epoch_lines(snap), lang=lang)


def layer_text(name: str, labels: Mapping[str, str] | None = None, lang: str = "en") -> str:
    """A readable name in ``lang`` (:func:`lossviz.training.metrics.layer_message`): ``"conv1 weight"``,
    ``"layer 0 weight"``."""
    return render(layer_message(name, labels), lang)


def layer_metrics() -> list[MetricSpec]:
    """The per-layer metrics the per-layer view can switch between (registry order within groups)."""
    return sorted(list_metrics(per_layer=True, chart="layers"), key=lambda s: s.group)


def own_chart_metrics() -> list[MetricSpec]:
    """Scalar metrics registered with a chart of their own (``chart="own"``)."""
    return [s for s in list_metrics(chart="own") if not s.per_layer]


def make_layer_grad_figure(
    snap: MetricsSnapshot,
    mode: str = "lines",
    dataset_label: str | None = None,
    max_points: int = MAX_POINTS,
    include_bias: bool = True,
    labels: Mapping[str, str] | None = None,
    lang: str = "en",
) -> go.Figure:
    """Gradient norm of each layer's weight and bias (:func:`make_layer_figure` of ``layer_grad_norms``)."""
    return make_layer_figure(snap, "layer_grad_norms", mode, dataset_label, max_points, include_bias, labels, lang)



def make_layer_figure(
    snap: MetricsSnapshot,
    metric: str = "layer_grad_norms",
    mode: str = "lines",
    dataset_label: str | None = None,
    max_points: int = MAX_POINTS,
    include_bias: bool = True,
    labels: Mapping[str, str] | None = None,
    lang: str = "en",
    smoothing: float = DEFAULT_SMOOTHING,
) -> go.Figure:
    """A per-layer metric (any registered ``per_layer`` spec): one line per layer, or a layer × step
    heatmap (log10 when the metric is drawn on a log scale)."""
    if mode not in ("lines", "heatmap"):
        raise LossvizInputError(msg("mode {mode!r} is unknown: choose 'lines' or 'heatmap'", mode=mode))
    spec = get_metric(metric)
    label = gettext(spec.label, lang)
    heading = gettext(spec.title, lang) if spec.title else gettext("{metric} per layer", lang, metric=label)
    title = _title(heading, dataset_label, gettext(spec.doc, lang) if spec.doc else "", lang)
    step, series = snap.layer_series(metric)
    names = [n for n in series if include_bias or not n.endswith(".bias")]
    if step.size == 0 or not names:
        return _empty(title, lang)
    log = spec.log_scale
    axis = gettext(spec.axis, lang) if spec.axis else label

    def values(name: str) -> np.ndarray:
        return spec.scale * series[name]

    if mode == "lines":
        data = []
        for i, name in enumerate(names):  # smoothed lines (every point of each layer is in the CSV)
            xs, ys = _f32(*decimate(step, _smooth(values(name), smoothing, log), max_points))
            trace = _line(xs, ys, layer_text(name, labels, lang), COLORS[i // 2 % len(COLORS)], width=2)
            if name.endswith(".bias"):
                trace["line"]["dash"] = "dot"
            data.append(trace)
        yaxis: dict = {"title": axis}
        if log:
            yaxis.update(type="log", tickformat=LOG_TICKS, dtick="D2")
        shapes = [_band(*spec.band)] if spec.band else []
        return _figure(
            data,
            title,
            yaxis=yaxis,
            shapes=shapes,
            legend=dict(orientation="v", x=1.02, xanchor="left", y=1.0, yanchor="top"),
            margin=dict(l=60, r=110, t=78, b=45),
            lang=lang,
        )
    cols = min(HEATMAP_COLUMNS, step.size)
    edges = np.linspace(0, step.size, cols + 1).astype(int)
    z = np.full((len(names), cols), np.nan)
    for r, name in enumerate(names):
        v = _log(values(name)) / math.log(10) if log else values(name)
        finite = np.isfinite(v)
        sums = np.add.reduceat(np.where(finite, v, 0.0), edges[:-1])
        counts = np.add.reduceat(finite.astype(np.int64), edges[:-1])
        with np.errstate(invalid="ignore", divide="ignore"):
            z[r] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    centers = step[np.minimum(step.size - 1, (edges[:-1] + edges[1:]) // 2)]
    ztitle = f"log10 {label}" if log else label
    heat = dict(
        type="heatmap",
        z=z.astype(np.float32),
        x=_f32(centers)[0],
        y=[layer_text(n, labels, lang) for n in names],
        colorscale="Viridis",
        colorbar=dict(title=dict(text=ztitle)),
        hovertemplate=gettext("step {step}", lang, step="%{x}") + f"<br>%{{y}}<br>{ztitle} = %{{z:.3g}}<extra></extra>",
    )
    return _figure([heat], title, yaxis=dict(autorange="reversed"), hovermode="closest", lang=lang)


def _band(lo: float, hi: float) -> dict:
    """A light horizontal band (a guide range, e.g. the usual update-to-weight ratio)."""
    return dict(type="rect", xref="paper", yref="y", x0=0, x1=1, y0=lo, y1=hi, fillcolor="#2ca02c",
                opacity=0.12, line=dict(width=0), layer="below")  # fmt: skip


def make_metric_figure(
    snap: MetricsSnapshot, metric: str, dataset_label: str | None = None, max_points: int = MAX_POINTS, lang: str = "en",
    smoothing: float = DEFAULT_SMOOTHING,
) -> go.Figure:
    """A scalar metric on a chart of its own: every point (min/max decimated) and its moving average."""
    spec = get_metric(metric)
    label = gettext(spec.label, lang)
    title = _title(gettext(spec.title, lang) if spec.title else label, dataset_label, gettext(spec.doc, lang) if spec.doc else "", lang)
    step, y = snap.series(metric)
    if step.size == 0:
        return _empty(title, lang)
    y = spec.scale * y
    data = _raw_and_smooth(step, y, smoothing, gettext("each batch", lang), COLORS[0], "#9db4ef", lang, max_points, spec.log_scale)
    yaxis: dict = {"title": gettext(spec.axis, lang) if spec.axis else label}
    if spec.log_scale:
        yaxis.update(type="log", tickformat=LOG_TICKS, dtick="D2")
    return _figure(data, title, yaxis=yaxis, shapes=[_band(*spec.band)] if spec.band else [], lang=lang)


#: The metrics runs can be compared on, and each one's chart title.
OVERLAY_METRICS = {"loss": N_("Training loss"), "accuracy": N_("Accuracy (%)"), "grad_norm": N_("Gradient norm")}


def make_overlay_figure(
    runs: Sequence[tuple[str, MetricsSnapshot]], metric: str = "loss", max_points: int = MAX_POINTS, lang: str = "en",
    smoothing: float = DEFAULT_SMOOTHING,
) -> go.Figure:
    """Several runs on one chart: the moving-average training ``loss`` or ``accuracy``, plus test points."""
    if metric not in OVERLAY_METRICS:
        raise LossvizInputError(msg("metric {metric!r} is unknown: choose loss, accuracy or grad_norm", metric=metric))
    name = gettext(OVERLAY_METRICS[metric], lang)
    heading = gettext("{metric}: compare runs", lang, metric=name)
    if not runs:
        return _empty(_title(heading, None, lang=lang), lang, N_("Pick two or more runs to compare."))
    budget = max(200, max_points // max(1, len(runs)))
    data = []
    for i, (label, snap) in enumerate(runs):
        if snap.n_batches == 0:
            continue
        color = COLORS[i % len(COLORS)]
        step = snap.batch["step"]
        weight = smoothing or DEFAULT_SMOOTHING  # runs are compared on their smoothed curves
        if metric == "loss":
            y = ema(snap.batch["loss"], weight)
        elif metric == "accuracy":
            y = 100.0 * ema(snap.batch["batch_accuracy"], weight)
        else:
            y = _smooth(snap.batch["grad_norm"], weight, log=True)
        data.append(_line(*_f32(*decimate(step, y, budget)), label, color, legendgroup=label))
        if snap.n_evals and metric in ("loss", "accuracy"):
            ey = snap.eval["test_loss"] if metric == "loss" else 100.0 * snap.eval["test_accuracy"]
            data.append(
                dict(
                    type="scatter",
                    mode="markers",
                    x=_f32(snap.eval["step"])[0],
                    y=_f32(ey)[0],
                    name=gettext("{run} (test)", lang, run=label),
                    legendgroup=label,
                    marker=dict(color=color, size=10, symbol="diamond"),
                )
            )
    yaxis: dict = {"title": name}
    if metric == "grad_norm":
        yaxis.update(type="log", tickformat=LOG_TICKS, dtick="D2")
    return _figure(
        data,
        _title(heading, None, gettext("bold: average of recent batches; diamonds: the test set", lang), lang),
        yaxis=yaxis,
        legend=dict(orientation="h", x=0, xanchor="left", y=-0.22, yanchor="top"),
        margin=dict(l=60, r=20, t=78, b=40),
        height=460,
        lang=lang,
    )


def format_eta(seconds: float | None) -> str:
    """``"1:05"`` or ``"2:03:04"``; ``"—"`` when unknown."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def progress_summary(
    snap: MetricsSnapshot, total_steps: int, batch_size: int, lang: str = "en"
) -> dict[str, float | str | None]:
    """Fraction done, latest images/s and an ETA string for ``st.progress`` (``text`` in ``lang``)."""
    last = snap.last("step")  # the last valid step (a tampered record's is missing, never negative)
    total = max(1, int(total_steps))
    done = int(last) if last is not None else 0
    speed = snap.last("images_per_s")
    eta = (total - done) * batch_size / speed if speed else None
    steps = dict(done=done, total=total)
    return {
        "fraction": min(1.0, done / total),
        "step": done,
        "total": total,
        "images_per_s": speed,
        "eta": format_eta(eta),
        "text": gettext(
            "step {done:,} of {total:,} · {speed:,.0f} images/s · about {eta} left",
            lang,
            speed=speed,
            eta=format_eta(eta),
            **steps,
        )
        if speed
        else gettext("step {done:,} of {total:,}", lang, **steps),
    }
