"""Per-layer health of a training run: what each layer's gradient, weights and update look like, and
plain-sentence alarms when one of them goes wrong.

:class:`LayerHealth` lives in the trainer: before the optimizer's step it copies the weights (one
``torch._foreach_copy_``), after it measures every parameter's weight norm and the real update
``‖w_after − w_before‖ / ‖w_before‖`` (what the optimizer did, momentum and Adam included, not
lr × gradient), and with ReLU the fraction of units that were zero for every image of the batch
("dead" on this batch). A batch record gains::

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from lossviz.i18n import N_, Message

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
        "Step {step}: the optimizer changed {layer} by {value} of its size in one step, more than 1e-1. Steps "
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

    def _name(self, layer: str) -> str:
        return self.labels.get(layer, layer)

    def _raise(self, out: list[Alarm], step: int, kind: str, layer: str, value: float, on: bool, **extra: str) -> None:
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
            low = min(recent) if recent else math.inf
            jumped = bool(recent) and low > 0 and v > JUMP_FACTOR * low
            self._raise(out, step, "jump", layer, v / low if jumped else 0.0, jumped)
            recent.append(v)
        positive = {k: v for k, v in finite.items() if v > 0}
        if len(positive) >= 2:
            hi = max(positive, key=positive.__getitem__)
            lo = min(positive, key=positive.__getitem__)
            ratio = positive[hi] / positive[lo]
            self._raise(out, step, "spread", hi, ratio, ratio > SPREAD_ABOVE, other=self._name(lo))
        for layer, v in (record.get("layer_update_ratios") or {}).items():
            if v is None or not math.isfinite(float(v)):
                continue
            v = float(v)
            self._raise(out, step, "update_high", layer, v, v > UPDATE_RANGE[1])
            self._raise(out, step, "update_low", layer, v, 0 < v < UPDATE_RANGE[0])
        return out


class LayerHealth:
    """In-trainer measurements: weight norms, real update ratios and (with ReLU) dead units.

    Call :meth:`before_step` just before ``optimizer.step()`` and :meth:`after_step` just after; the
    latter returns the record fields. ReLU modules are watched by forward hooks (training mode only).
    """

    def __init__(self, model: nn.Module) -> None:
        self.names = [n for n, _ in model.named_parameters()]
        self.params = [p for _, p in model.named_parameters()]
        self._prev = [torch.empty_like(p, memory_format=torch.preserve_format) for p in self.params]
        self._dead_names: list[str] = []
        self._active: dict[int, torch.Tensor] = {}
        self._hooks = []
        last_weight = None
        for prefix, module in model.named_children():
            if isinstance(module, nn.Conv2d | nn.Linear):
                last_weight = f"{prefix}.weight"
            elif isinstance(module, nn.ReLU) and last_weight is not None:
                slot = len(self._dead_names)
                self._dead_names.append(last_weight)
                self._hooks.append(module.register_forward_hook(self._hook(slot)))

    def _hook(self, slot: int):
        def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
            if module.training:
                with torch.no_grad():
                    dims = [d for d in range(output.dim()) if d != 1]
                    alive = (output.detach() > 0).any(dim=dims) if dims else output.detach() > 0
                    self._active[slot] = 1.0 - alive.float().mean()

        return hook

    def close(self) -> None:
        for h in self._hooks:
            h.remove()
        self._hooks.clear()

    @torch.no_grad()
    def before_step(self) -> None:
        torch._foreach_copy_(self._prev, [p.detach() for p in self.params])

    @torch.no_grad()
    def after_step(self, stepped: bool = True) -> dict[str, dict[str, float]]:
        """The record fields for this batch (one host transfer); ``stepped=False``: no update was made."""
        now = [p.detach() for p in self.params]
        w = torch.stack(torch._foreach_norm(now))
        parts = [w]
        if stepped:
            delta = torch.stack(torch._foreach_norm(torch._foreach_sub(now, self._prev)))
            before = torch.stack(torch._foreach_norm(self._prev))
            parts.append(delta / before.clamp_min(1e-30))
        dead = [self._active.get(i) for i in range(len(self._dead_names))]
        have_dead = bool(dead) and all(d is not None for d in dead)
        if have_dead:
            parts.append(torch.stack(dead))  # type: ignore[arg-type]
        host = torch.cat(parts).tolist()
        n = len(self.names)
        out: dict[str, dict[str, float]] = {"layer_weight_norms": dict(zip(self.names, host[:n], strict=True))}
        k = n
        if stepped:
            out["layer_update_ratios"] = dict(zip(self.names, host[k : k + n], strict=True))
            k += n
        if have_dead:
            out["layer_dead_fraction"] = dict(zip(self._dead_names, host[k:], strict=True))
        self._active.clear()
        return out


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
            if isinstance(record.get("sharpness"), int | float):
                self._sharp.append({"step": float(record.get("step") or n + 1), "lambda_max": float(record["sharpness"]),
                                    "loss": float(record["loss"]) if isinstance(record.get("loss"), int | float) else math.nan})  # fmt: skip

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
    from pathlib import Path

    out = []
    try:
        text = (Path(run_dir) / ALARMS_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    for line in text.splitlines():
        try:
            out.append(Alarm.from_json(json.loads(line)))
        except (ValueError, KeyError, TypeError):
            continue
    return out
