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
from lossviz.i18n import N_, gettext, msg
from lossviz.theme import PALETTE, legend_below
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


def smoothing_window(n: int) -> int:
    """A window that smooths noise without hiding the trend: ~1% of the run, between 1 and 500 batches."""
    return int(min(500, max(1, round(n / 100) if n >= 500 else min(n, 10))))


def moving_average(y: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` points, ignoring NaN (a NaN-only window stays NaN).

    Example:
        >>> moving_average(np.array([1.0, 3.0, 5.0]), 2).tolist()
        [1.0, 2.0, 4.0]
    """
    y = np.asarray(y, dtype=np.float64)
    if window < 1:
        raise LossvizInputError(msg("window={n} must be at least 1", n=window))
    if y.size == 0:
        return y.copy()
    finite = np.isfinite(y)
    vals = np.where(finite, y, 0.0)
    csum = np.concatenate([[0.0], np.cumsum(vals)])
    ccount = np.concatenate([[0], np.cumsum(finite)])
    idx = np.arange(1, y.size + 1)
    start = np.maximum(0, idx - window)
    total = csum[idx] - csum[start]
    count = ccount[idx] - ccount[start]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


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
) -> go.Figure:
    """Loss of every batch (faint), its moving average (bold), the per-epoch test loss (dots) and,
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
    w = smoothing_window(step.size)
    data = [
        _line(*_f32(*decimate(step, loss, max_points)), gettext("each batch", lang), "#9db4ef", width=1),
        _line(
            *_f32(*stride(step, moving_average(loss, w), max_points // 2)),
            gettext("average of last {n}", lang, n=w),
            COLORS[0],
        ),
    ]
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
    snap: MetricsSnapshot, dataset_label: str | None = None, max_points: int = MAX_POINTS, lang: str = "en"
) -> go.Figure:
    """Share of each batch classified right (moving average) and test accuracy per epoch, in %."""
    title = _title(
        gettext("Accuracy", lang), dataset_label, gettext("share of images put in the right class", lang), lang
    )
    if snap.n_batches == 0:
        return _empty(title, lang)
    step = snap.batch["step"]
    acc = 100.0 * snap.batch["batch_accuracy"]
    w = smoothing_window(step.size)
    data = [
        _line(
            *_f32(*stride(step, moving_average(acc, w), max_points // 2)),
            gettext("training batches (average of {n})", lang, n=w),
            COLORS[0],
        )
    ]
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
    snap: MetricsSnapshot, dataset_label: str | None = None, max_points: int = MAX_POINTS, lang: str = "en"
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
    w = smoothing_window(step.size)
    data = [
        _line(*_f32(*decimate(step, g, max_points)), gettext("each batch", lang), "#f2b8a6", width=1),
        _line(
            *_f32(*stride(step, np.exp(moving_average(_log(g), w)), max_points // 2)),
            gettext("average of last {n}", lang, n=w),
            COLORS[1],
        ),
    ]
    yaxis = dict(title=gettext("‖gradient‖ (log scale)", lang), type="log", tickformat=LOG_TICKS, dtick="D2")
    return _figure(data, title, yaxis=yaxis, shapes=_epoch_lines(snap), lang=lang)


#: Words of a layer's name (``conv1 weight``) in the page's language.
PARAM_KINDS = {"weight": N_("weight"), "bias": N_("bias")}


def layer_text(name: str, labels: Mapping[str, str] | None = None, lang: str = "en") -> str:
    """A readable name: ``labels[name]`` if given (``"conv1 weight"``), else ``"0.weight"`` -> ``"layer 0 weight"``;
    the kind of parameter (weight, bias) in ``lang``, the layer's code name (conv1, fc2) as it is."""
    if labels and name in labels:
        layer, _, kind = labels[name].rpartition(" ")
        if layer and kind in PARAM_KINDS:
            return gettext("{layer} {kind}", lang, layer=layer, kind=gettext(PARAM_KINDS[kind], lang))
        return labels[name]
    module, _, kind = name.rpartition(".")
    if not module:
        return name
    kind_text = gettext(PARAM_KINDS[kind], lang) if kind in PARAM_KINDS else kind
    return gettext("layer {layer} {kind}", lang, layer=module, kind=kind_text)


def make_layer_grad_figure(
    snap: MetricsSnapshot,
    mode: str = "lines",
    dataset_label: str | None = None,
    max_points: int = MAX_POINTS,
    include_bias: bool = True,
    labels: Mapping[str, str] | None = None,
    lang: str = "en",
) -> go.Figure:
    """Gradient norm of each layer's weight and bias: one line each, or a layer × step heatmap (log10)."""
    if mode not in ("lines", "heatmap"):
        raise LossvizInputError(msg("mode {mode!r} is unknown: choose 'lines' or 'heatmap'", mode=mode))
    heading = gettext("Gradient norm per layer", lang)
    title = _title(heading, dataset_label, gettext("length of each layer's gradient (log scale)", lang), lang)
    names = [n for n in snap.layers if include_bias or not n.endswith(".bias")]
    if snap.n_batches == 0 or not names:
        return _empty(title, lang)
    step = snap.batch["step"]
    if mode == "lines":
        w = smoothing_window(step.size)
        data = []
        for i, name in enumerate(names):
            xs, ys = _f32(*stride(step, np.exp(moving_average(_log(snap.layers[name]), w)), max_points))
            trace = _line(xs, ys, layer_text(name, labels, lang), COLORS[i // 2 % len(COLORS)], width=2)
            if name.endswith(".bias"):
                trace["line"]["dash"] = "dot"
            data.append(trace)
        subtitle = gettext("length of each layer's gradient, average of the last {n} batches (log scale)", lang, n=w)
        return _figure(
            data,
            _title(heading, dataset_label, subtitle, lang),
            yaxis=dict(title=gettext("‖gradient‖ (log scale)", lang), type="log", tickformat=LOG_TICKS, dtick="D2"),
            legend=dict(orientation="v", x=1.02, xanchor="left", y=1.0, yanchor="top"),
            margin=dict(l=60, r=110, t=78, b=45),
            lang=lang,
        )
    cols = min(HEATMAP_COLUMNS, step.size)
    edges = np.linspace(0, step.size, cols + 1).astype(int)
    z = np.full((len(names), cols), np.nan)
    for r, name in enumerate(names):
        logg = _log(snap.layers[name]) / math.log(10)
        finite = np.isfinite(logg)
        sums = np.add.reduceat(np.where(finite, logg, 0.0), edges[:-1])
        counts = np.add.reduceat(finite.astype(np.int64), edges[:-1])
        with np.errstate(invalid="ignore", divide="ignore"):
            z[r] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    centers = step[np.minimum(step.size - 1, (edges[:-1] + edges[1:]) // 2)]
    heat = dict(
        type="heatmap",
        z=z.astype(np.float32),
        x=_f32(centers)[0],
        y=[layer_text(n, labels, lang) for n in names],
        colorscale="Viridis",
        colorbar=dict(title=dict(text="log10 ‖g‖")),
        hovertemplate=gettext("step {step}", lang, step="%{x}") + "<br>%{y}<br>log10 ‖g‖ = %{z:.2f}<extra></extra>",
    )
    return _figure([heat], title, yaxis=dict(autorange="reversed"), hovermode="closest", lang=lang)


#: The metrics runs can be compared on, and each one's chart title.
OVERLAY_METRICS = {"loss": N_("Training loss"), "accuracy": N_("Accuracy (%)"), "grad_norm": N_("Gradient norm")}


def make_overlay_figure(
    runs: Sequence[tuple[str, MetricsSnapshot]], metric: str = "loss", max_points: int = MAX_POINTS, lang: str = "en"
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
        w = smoothing_window(step.size)
        if metric == "loss":
            y = moving_average(snap.batch["loss"], w)
        elif metric == "accuracy":
            y = 100.0 * moving_average(snap.batch["batch_accuracy"], w)
        else:
            y = np.exp(moving_average(_log(snap.batch["grad_norm"]), w))
        data.append(_line(*_f32(*stride(step, y, budget)), label, color, legendgroup=label))
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
    done = int(snap.batch["step"][-1]) if snap.n_batches else 0
    total = max(1, int(total_steps))
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
