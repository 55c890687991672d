"""Per-layer health of a training run: what each layer's gradient, weights and update look like, and
plain-sentence alarms when one of them goes wrong.

Three per-layer metrics are registered in the metric registry (:mod:`lossviz.training.metrics`), so
the trainer computes them and the CSV, TensorBoard and the run comparison carry them: every
parameter's weight norm and the real update ``‖w_after − w_before‖ / ‖w_before‖`` (what the
optimizer did, momentum and Adam included, not lr × gradient), and with ReLU the fraction of units
that were zero for every image of the batch ("dead" on this batch). A batch record gains::

    "layer_weight_norms": {name: ‖w‖}, "layer_update_ratios": {name: ‖Δw‖/‖w‖},
    "layer_dead_fraction": {name of the layer before the ReLU: fraction}   # with ReLU only

:class:`HealthMonitor` reads batch records (in the trainer, which writes ``alarms.jsonl``, and in the
page, which follows metrics.jsonl) and raises an :class:`Alarm` when a layer's gradient vanishes
(norm below 1e-7) or explodes (largest and smallest layer norm more than 10³ apart, or a 10× jump
within 10 steps), when a value is not finite, or when an update ratio leaves [1e-5, 1e-1]. Each
alarm names the step and the layer; an alarm of one kind for one layer is raised again only after
the layer has recovered.
"""

from __future__ import annotations

import json
import math
import threading
from array import array
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from lossviz.i18n import N_, Message
from lossviz.training.metrics import MetricSpec, StepContext, layer_message, register_metric

#: The per-layer series a batch record may carry, by the name the page's switch uses.
HEALTH_FIELDS = {
    "grad": "layer_grad_norms",
    "weight": "layer_weight_norms",
    "update": "layer_update_ratios",
    "dead": "layer_dead_fraction",
}
VANISH_BELOW = 1e-7
SPREAD_ABOVE = 1e3
JUMP_FACTOR = 10.0
JUMP_WINDOW = 10
UPDATE_RANGE = (1e-5, 1e-1)
UPDATE_GUIDE = 1e-3  # the practitioners' rule of thumb for ‖Δw‖/‖w‖ per step
MAX_ALARMS = 200
ALARMS_FILE = "alarms.jsonl"

ALARM_TEXT = {
    "vanishing": N_(
        "Step {step}: the gradient of {layer} vanished (norm {value}, below 1e-7). This layer has almost "
        "stopped learning; a larger learning rate, ReLU, or a better start for the weights can wake it."
    ),
    "spread": N_(
        "Step {step}: the layer gradients are {value} times apart (largest {layer}, smallest {other}), more "
        "than 10³. One learning rate cannot suit both: the large ones may explode while the small ones stall."
    ),
    "jump": N_(
        "Step {step}: the gradient of {layer} jumped {value} times within 10 steps. The gradients are "
        "exploding; a smaller learning rate usually calms them."
    ),
    "nonfinite": N_(
        "Step {step}: {what} of {layer} is not a finite number ({value}). The weights blew up: lower the "
        "learning rate."
    ),
    "update_high": N_(
        "Step {step}: the optimizer changed {layer} by {value} of its size in one step, more than a tenth. Steps "
        "this large jump around instead of descending: lower the learning rate."
    ),
    "update_low": N_(
        "Step {step}: the optimizer changed {layer} by only {value} of its size in one step, less than 1e-5. "
        "This layer barely moves: raise the learning rate."
    ),
}
WHAT_TEXT = {"grad": N_("the gradient norm"), "weight": N_("the weight norm"), "update": N_("the update ratio")}


@dataclass(frozen=True)
class Alarm:
    """One problem, at one step, in one layer (``kind``: a key of :data:`ALARM_TEXT`)."""

    step: int
    layer: str
    kind: str
    value: float
    message: Message

    def to_json(self) -> dict[str, Any]:
        from lossviz.training.runs import message_json

        value = self.value if math.isfinite(self.value) else str(self.value)
        return {"step": self.step, "layer": self.layer, "kind": self.kind, "value": value,
                "message": message_json(self.message)}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Alarm:
        from lossviz.training.runs import message_from_json

        return cls(int(data["step"]), str(data["layer"]), str(data["kind"]), float(data["value"]),
                   message_from_json(data["message"]))  # fmt: skip


def _fmt(x: float) -> str:
    return f"{x:.3g}" if math.isfinite(x) else str(x)


class HealthMonitor:
    """Turns batch records into alarms (see the module docstring); ``labels`` names layers readably.

    Example:
        >>> m = HealthMonitor()
        >>> [a.kind for a in m.observe({"step": 1, "layer_grad_norms": {"0.weight": 1e-9, "0.bias": 1e-3}})]
        ['vanishing']
    """

    def __init__(self, labels: Mapping[str, str] | None = None) -> None:
        self.labels = dict(labels or {})
        self.alarms: list[Alarm] = []
        self._active: set[tuple[str, str]] = set()
        self._recent: dict[str, deque[float]] = {}

    def _name(self, layer: str) -> Message | str:
        return layer_message(layer, self.labels)  # "fc2 权重" in Chinese, as the chart's legend says

    def _raise(self, out: list[Alarm], step: int, kind: str, layer: str, value: float, on: bool,
               **extra: Message | str) -> None:
        key = (kind, layer if kind != "spread" else "*")
        if not on:
            self._active.discard(key)
            return
        if key in self._active or len(self.alarms) >= MAX_ALARMS:
            return
        self._active.add(key)
        params = {"step": step, "layer": self._name(layer), "value": _fmt(value), **extra}
        alarm = Alarm(step, layer, kind, float(value), Message(ALARM_TEXT[kind], params))
        self.alarms.append(alarm)
        out.append(alarm)

    def observe(self, record: Mapping[str, Any]) -> list[Alarm]:
        """The new alarms this batch record raises."""
        if record.get("kind", "batch") != "batch":
            return []
        step = int(record.get("step") or 0)
        out: list[Alarm] = []
        for what in ("grad", "weight", "update"):
            values = record.get(HEALTH_FIELDS[what]) or {}
            for layer, v in values.items():
                v = float("nan") if v is None else float(v)
                self._raise(out, step, "nonfinite", layer, v, not math.isfinite(v), what=WHAT_TEXT[what])
        grads = {k: float(v) for k, v in (record.get("layer_grad_norms") or {}).items() if v is not None}
        finite = {k: v for k, v in grads.items() if math.isfinite(v)}
        for layer, v in finite.items():
            self._raise(out, step, "vanishing", layer, v, v < VANISH_BELOW)
            recent = self._recent.setdefault(layer, deque(maxlen=JUMP_WINDOW))
            # against the median of the last 10 steps, not their minimum: a network leaving its first
            # plateau grows its gradients steadily, and one quiet step must not make that an explosion
            base = sorted(recent)[len(recent) // 2] if len(recent) >= 3 else math.inf
            jumped = base > 0 and math.isfinite(base) and v > JUMP_FACTOR * base
            self._raise(out, step, "jump", layer, v / base if jumped else 0.0, jumped)
            recent.append(v)
        positive = {k: v for k, v in finite.items() if v > 0}
        if len(positive) >= 2:
            hi = max(positive, key=positive.__getitem__)
            lo = min(positive, key=positive.__getitem__)
            ratio = positive[hi] / positive[lo]
            self._raise(out, step, "spread", hi, ratio, ratio > SPREAD_ABOVE, other=self._name(lo))
        for layer, v in (record.get("layer_update_ratios") or {}).items():
            # the rule of thumb is for weights: a bias starts near 0, so its relative change is large by nature
            if v is None or not math.isfinite(float(v)) or layer.endswith(".bias"):
                continue
            v = float(v)
            self._raise(out, step, "update_high", layer, v, v > UPDATE_RANGE[1])
            self._raise(out, step, "update_low", layer, v, 0 < v < UPDATE_RANGE[0])
        return out


# ----------------------------------------------------------------------------- the metrics (H3's registry)


def _weight_norms(ctx: StepContext) -> dict[str, torch.Tensor]:
    norms = torch._foreach_norm([p.detach() for p in ctx.params])
    return dict(zip(ctx.names, norms, strict=True))


def _update_ratios(ctx: StepContext) -> dict[str, torch.Tensor]:
    """‖w_after − w_before‖ / ‖w_before‖ per parameter: the optimizer's real step."""
    now = [p.detach() for p in ctx.params]
    before = ctx.before or now
    delta = torch._foreach_norm(torch._foreach_sub(now, before))
    size = torch._foreach_norm(before)
    return {n: d / b.clamp_min(1e-30) for n, d, b in zip(ctx.names, delta, size, strict=True)}


def relu_owner(model: nn.Module) -> dict[str, str]:
    """``{ReLU module name: weight name of the layer it follows}`` (``{"1": "0.weight", ...}``)."""
    out, last = {}, None
    for prefix, module in model.named_children():
        if isinstance(module, nn.Conv2d | nn.Linear):
            last = f"{prefix}.weight"
        elif isinstance(module, nn.ReLU) and last is not None:
            out[prefix] = last
    return out


def _dead_fraction(ctx: StepContext) -> dict[str, torch.Tensor]:
    """Per ReLU: the share of units (channels of a conv, neurons of a linear layer) that were zero for
    every image of the batch, keyed by the weight of the layer before it."""
    owner = relu_owner(ctx.model)
    out = {}
    for name, act in ctx.activations.items():
        dims = [d for d in range(act.dim()) if d != 1]
        alive = (act > 0).any(dim=dims) if dims else act > 0
        out[owner.get(name, name)] = 1.0 - alive.float().mean()
    return out


register_metric(MetricSpec(
    "layer_weight_norms", N_("weight norm"), per_layer=True, chart="layers", group="1-weight", tb_tag="weight_norm",
    csv="weight_norm", log_scale=True, lo=0.0, doc=N_("‖w‖ of each layer (log colour scale)"),
    phase="after_step", compute=_weight_norms,
))  # fmt: skip
register_metric(MetricSpec(
    "layer_update_ratios", N_("update ratio"), per_layer=True, chart="layers", group="2-update", tb_tag="update_ratio",
    csv="update_ratio", log_scale=True, lo=0.0, band=(UPDATE_GUIDE / 3, UPDATE_GUIDE * 3),
    doc=N_("‖Δw‖/‖w‖: how much the optimizer's step changed each layer (log scale; white ≈ 1e-3, the rule of thumb)"),
    phase="after_step", compute=_update_ratios, needs_before=True,
))  # fmt: skip
register_metric(MetricSpec(
    "layer_dead_fraction", N_("dead units"), per_layer=True, chart="layers", group="3-dead", tb_tag="dead_units",
    csv="dead_units", lo=0.0, hi=1.0, decimate="stride",
    doc=N_("share of the units after each ReLU that were zero for every image of the batch"),
    phase="forward", compute=_dead_fraction, modules=lambda name, m: isinstance(m, nn.ReLU),
))  # fmt: skip


#: Columns a :class:`HealthLog` keeps before it merges neighbouring steps in pairs.
MAX_ROWS = 4000


class HealthLog:
    """Columns of the per-layer series plus the alarms, fed record by record (a MetricsTail's ``log``).

    Thread-safe; :meth:`matrix` gives a layers × steps array for one of :data:`HEALTH_FIELDS`.
    """

    def __init__(self, labels: Mapping[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        self.steps = array("d")
        self._cols: dict[str, dict[str, array]] = {f: {} for f in HEALTH_FIELDS.values()}
        self.monitor = HealthMonitor(labels)
        self.records_seen = 0
        self._sharp: list[dict[str, float]] = []

    def add(self, record: Mapping[str, Any]) -> None:
        if record.get("kind", "batch") != "batch":
            return
        with self._lock:
            n = len(self.steps)
            self.steps.append(float(record.get("step") or n + 1))
            for field, cols in self._cols.items():
                values = record.get(field) or {}
                if not isinstance(values, Mapping):
                    values = {}
                for name, v in values.items():
                    col = cols.get(name)
                    if col is None:
                        col = cols[name] = array("d", [math.nan]) * n
                    try:
                        col.append(float(v) if v is not None else math.nan)
                    except (TypeError, ValueError):
                        col.append(math.nan)
                for col in cols.values():
                    if len(col) < n + 1:
                        col.append(math.nan)
            self.monitor.observe(record)
            self.records_seen += 1
            if len(self.steps) > MAX_ROWS:
                self._halve()
            if isinstance(record.get("sharpness"), int | float):
                self._sharp.append({"step": float(record.get("step") or n + 1), "lambda_max": float(record["sharpness"]),
                                    "loss": float(record["loss"]) if isinstance(record.get("loss"), int | float) else math.nan})  # fmt: skip

    def _halve(self) -> None:
        """Merge neighbouring steps in pairs (the later step, the larger value), so a follower of a long run
        stays at most :data:`MAX_ROWS` columns; the heatmap draws ≤ 2,000 anyway and alarms are raised
        on every record as it arrives, before any merging."""
        keep = len(self.steps) // 2 * 2

        def halve(col: array, pick: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> array:
            pairs = np.asarray(col[:keep], dtype=np.float64).reshape(-1, 2)
            return array("d", pick(pairs[:, 0], pairs[:, 1]).tolist()) + col[keep:]

        self.steps = halve(self.steps, lambda a, b: b)
        for cols in self._cols.values():
            for name in cols:
                cols[name] = halve(cols[name], np.fmax)  # fmax: a NaN half keeps the other half's value

    def extend(self, records: Sequence[Mapping[str, Any]]) -> None:
        for r in records:
            self.add(r)

    def snapshot(self) -> HealthLog:  # MetricsTail calls log.snapshot() through view.follow; keep it harmless
        return self

    def fields(self) -> list[str]:
        """The switch keys (of :data:`HEALTH_FIELDS`) this run has data for."""
        with self._lock:
            return [k for k, f in HEALTH_FIELDS.items() if self._cols[f]]

    def matrix(self, key: str) -> tuple[np.ndarray, list[str], np.ndarray]:
        """``(steps, layer names in model order, values layers × steps)`` for ``key`` ("grad", ...)."""
        field = HEALTH_FIELDS[key]
        with self._lock:
            steps = np.array(self.steps, dtype=np.float64)
            names = list(self._cols[field])
            z = np.array([np.array(self._cols[field][n], dtype=np.float64) for n in names]) if names else np.zeros((0, steps.size))
        return steps, names, z

    def sharpness_points(self) -> list[dict[str, float]]:
        """The in-run sharpness measurements (``--sharpness-every``): step, λ_max and the batch's loss."""
        with self._lock:
            return list(self._sharp)

    def alarms(self) -> list[Alarm]:
        with self._lock:
            return list(self.monitor.alarms)


def read_alarms(run_dir: Any) -> list[Alarm]:
    """The alarms a trainer wrote into ``run_dir/alarms.jsonl`` (broken lines skipped)."""
    from lossviz.training.runs import RunFileSkipped, read_run_bytes

    out = []
    try:  # the run folder is anyone's to edit: no links, no FIFOs, at most 4 MiB
        text = read_run_bytes(run_dir, ALARMS_FILE, 4 << 20).decode("utf-8", errors="replace")
    except (OSError, RunFileSkipped):
        return []
    for line in text.splitlines():
        try:
            out.append(Alarm.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            continue
    return out
