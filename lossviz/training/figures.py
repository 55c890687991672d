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
from lossviz.theme import PALETTE, legend_below
from lossviz.training.metrics_log import MetricsSnapshot

MAX_POINTS = 2000
HEATMAP_COLUMNS = 400
LOG_TICKS = ".2~g"  # log axes: "0.02, 0.05, 0.1" rather than plotly's bare "2, 5" minor labels
COLORS = list(PALETTE)
# Title and subtitle on top, the legend under the x-axis title: at half a projector's width a
# legend beside the title would cover it.
_LEGEND_BELOW = legend_below(-0.22)
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
        raise LossvizInputError(f"x has {x.size} points but y has {y.size}: give one y per x")
    if max_points < 4:
        raise LossvizInputError(f"max_points={max_points} is too small: use at least 4")
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
        raise LossvizInputError(f"window={window} must be at least 1")
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


def _title(text: str, dataset_label: str | None, subtitle: str = "") -> dict:
    """A short title that names the data (``synthetic`` shows on every chart) and a one-line subtitle."""
    title: dict = {"text": f"{text} — {dataset_label} data" if dataset_label else text}
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
    **layout: object,
) -> go.Figure:
    """Wrap a plain spec in a Figure without plotly's per-property validation.

    Building through ``go.Scatter``/``update_layout`` validates every property and costs
    ~30 ms a figure; the page redraws four every second while the trainer needs the CPU.
    The specs are checked by validating them once in the tests instead.
    """
    spec_layout: dict = {**_LAYOUT, "title": dict(title)}
    spec_layout["xaxis"] = {"title": dict(text="step (batches seen)"), **(xaxis or {})}
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


def _empty(title: dict, message: str = "Waiting for the first batch…") -> go.Figure:
    note = dict(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper", font=dict(size=16))
    return _figure([], title, xaxis=dict(visible=False), yaxis=dict(visible=False), annotations=[note])


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
) -> go.Figure:
    """Loss of every batch (faint), its moving average (bold), the per-epoch test loss (dots) and,
    if given, the loss of blind guessing (dotted)."""
    title = _title(
        "Training loss", dataset_label, f"{loss_name} of each batch; dashed: the test set after each epoch"
    )
    if snap.n_batches == 0:
        return _empty(title)
    step, loss = snap.batch["step"], snap.batch["loss"]
    w = smoothing_window(step.size)
    data = [
        _line(*_f32(*decimate(step, loss, max_points)), "each batch", "#9db4ef", width=1),
        _line(
            *_f32(*stride(step, moving_average(loss, w), max_points // 2)), f"average of last {w}", COLORS[0]
        ),
    ]
    if snap.n_evals:
        data.append(
            dict(
                type="scatter",
                mode="lines+markers",
                x=_f32(snap.eval["step"])[0],
                y=_f32(snap.eval["test_loss"])[0],
                name="test set (each epoch)",
                line=dict(color=COLORS[1], width=2, dash="dash"),
                marker=dict(size=10),
            )
        )
    shapes, notes = _epoch_lines(snap), []
    if chance is not None and math.isfinite(chance):
        shape, note = _hline(chance, f"guessing ({chance:.2f})")
        shapes.append(shape)
        notes.append(note)
    return _figure(
        data, title, yaxis=dict(title="loss", rangemode="tozero"), shapes=shapes, annotations=notes
    )


def make_accuracy_figure(
    snap: MetricsSnapshot, dataset_label: str | None = None, max_points: int = MAX_POINTS
) -> go.Figure:
    """Share of each batch classified right (moving average) and test accuracy per epoch, in %."""
    title = _title("Accuracy", dataset_label, "share of images put in the right class")
    if snap.n_batches == 0:
        return _empty(title)
    step = snap.batch["step"]
    acc = 100.0 * snap.batch["batch_accuracy"]
    w = smoothing_window(step.size)
    data = [
        _line(
            *_f32(*stride(step, moving_average(acc, w), max_points // 2)),
            f"training batches (average of {w})",
            COLORS[0],
        )
    ]
    if snap.n_evals:
        data.append(
            dict(
                type="scatter",
                mode="lines+markers",
                x=_f32(snap.eval["step"])[0],
                y=_f32(100.0 * snap.eval["test_accuracy"])[0],
                name="test set (each epoch)",
                line=dict(color=COLORS[1], width=2, dash="dash"),
                marker=dict(size=10),
            )
        )
    shape, note = _hline(10.0, "guessing (10%)")
    return _figure(
        data,
        title,
        yaxis=dict(title="correct (%)", range=[0, 100]),
        shapes=[*_epoch_lines(snap), shape],
        annotations=[note],
        showlegend=True,
    )


def make_grad_norm_figure(
    snap: MetricsSnapshot, dataset_label: str | None = None, max_points: int = MAX_POINTS
) -> go.Figure:
    """Length of the whole gradient (L2 over all parameters) per batch, log scale."""
    title = _title(
        "Gradient norm", dataset_label, "length of the whole gradient: how big each step is (log scale)"
    )
    if snap.n_batches == 0:
        return _empty(title)
    step, g = snap.batch["step"], snap.batch["grad_norm"]
    g = np.where(g > 0, g, np.nan)
    w = smoothing_window(step.size)
    data = [
        _line(*_f32(*decimate(step, g, max_points)), "each batch", "#f2b8a6", width=1),
        _line(
            *_f32(*stride(step, np.exp(moving_average(_log(g), w)), max_points // 2)),
            f"average of last {w}",
            COLORS[1],
        ),
    ]
    yaxis = dict(title="‖gradient‖ (log scale)", type="log", tickformat=LOG_TICKS, dtick="D2")
    return _figure(data, title, yaxis=yaxis, shapes=_epoch_lines(snap))


def _layer_label(name: str, labels: Mapping[str, str] | None) -> str:
    """A readable name: ``labels[name]`` if given, else ``"0.weight"`` -> ``"layer 0 weight"``."""
    if labels and name in labels:
        return labels[name]
    module, _, kind = name.rpartition(".")
    return f"layer {module} {kind}" if module else name


def make_layer_grad_figure(
    snap: MetricsSnapshot,
    mode: str = "lines",
    dataset_label: str | None = None,
    max_points: int = MAX_POINTS,
    include_bias: bool = True,
    labels: Mapping[str, str] | None = None,
) -> go.Figure:
    """Gradient norm of each layer's weight and bias: one line each, or a layer × step heatmap (log10)."""
    if mode not in ("lines", "heatmap"):
        raise LossvizInputError(f"mode {mode!r} is unknown: choose 'lines' or 'heatmap'")
    title = _title("Gradient norm per layer", dataset_label, "length of each layer's gradient (log scale)")
    names = [n for n in snap.layers if include_bias or not n.endswith(".bias")]
    if snap.n_batches == 0 or not names:
        return _empty(title)
    step = snap.batch["step"]
    if mode == "lines":
        w = smoothing_window(step.size)
        data = []
        for i, name in enumerate(names):
            xs, ys = _f32(*stride(step, np.exp(moving_average(_log(snap.layers[name]), w)), max_points))
            trace = _line(xs, ys, _layer_label(name, labels), COLORS[i // 2 % len(COLORS)], width=2)
            if name.endswith(".bias"):
                trace["line"]["dash"] = "dot"
            data.append(trace)
        return _figure(
            data,
            _title(
                "Gradient norm per layer",
                dataset_label,
                f"length of each layer's gradient, average of the last {w} batches (log scale)",
            ),
            yaxis=dict(title="‖gradient‖ (log scale)", type="log", tickformat=LOG_TICKS, dtick="D2"),
            legend=dict(orientation="v", x=1.02, xanchor="left", y=1.0, yanchor="top"),
            margin=dict(l=60, r=110, t=78, b=45),
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
        y=[_layer_label(n, labels) for n in names],
        colorscale="Viridis",
        colorbar=dict(title=dict(text="log10 ‖g‖")),
        hovertemplate="step %{x}<br>%{y}<br>log10 ‖g‖ = %{z:.2f}<extra></extra>",
    )
    return _figure([heat], title, yaxis=dict(autorange="reversed"), hovermode="closest")


def make_overlay_figure(
    runs: Sequence[tuple[str, MetricsSnapshot]], metric: str = "loss", max_points: int = MAX_POINTS
) -> go.Figure:
    """Several runs on one chart: the moving-average training ``loss`` or ``accuracy``, plus test points."""
    if metric not in ("loss", "accuracy", "grad_norm"):
        raise LossvizInputError(f"metric {metric!r} is unknown: choose loss, accuracy or grad_norm")
    titles = {"loss": "Training loss", "accuracy": "Accuracy (%)", "grad_norm": "Gradient norm"}
    if not runs:
        return _empty(_title(f"{titles[metric]}: compare runs", None), "Pick two or more runs to compare.")
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
                    name=f"{label} (test)",
                    legendgroup=label,
                    marker=dict(color=color, size=10, symbol="diamond"),
                )
            )
    yaxis: dict = {"title": titles[metric]}
    if metric == "grad_norm":
        yaxis.update(type="log", tickformat=LOG_TICKS, dtick="D2")
    return _figure(
        data,
        _title(f"{titles[metric]}: compare runs", None, "bold: average of recent batches; diamonds: the test set"),
        yaxis=yaxis,
        legend=dict(orientation="h", x=0, xanchor="left", y=-0.22, yanchor="top"),
        margin=dict(l=60, r=20, t=78, b=40),
        height=460,
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
    snap: MetricsSnapshot, total_steps: int, batch_size: int
) -> dict[str, float | str | None]:
    """Fraction done, latest images/s and an ETA string for ``st.progress``."""
    done = int(snap.batch["step"][-1]) if snap.n_batches else 0
    total = max(1, int(total_steps))
    speed = snap.last("images_per_s")
    eta = (total - done) * batch_size / speed if speed else None
    return {
        "fraction": min(1.0, done / total),
        "step": done,
        "total": total,
        "images_per_s": speed,
        "eta": format_eta(eta),
        "text": f"step {done:,} of {total:,} · {speed:,.0f} images/s · about {format_eta(eta)} left"
        if speed
        else f"step {done:,} of {total:,}",
    }
