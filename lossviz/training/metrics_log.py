"""A compact, thread-safe, column-wise store of training records.

The trainer appends one batch record per step from its thread; pages take snapshots as numpy
arrays. Columns are ``array('d')`` so 100,000 batches with ten layers cost a few tens of MB,
not the hundreds a list of dicts would.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

BATCH_FIELDS = ("step", "epoch", "loss", "grad_norm", "lr", "batch_accuracy", "images_per_s", "time")
EVAL_FIELDS = ("step", "epoch", "test_loss", "test_accuracy", "time")


def _num(value: Any) -> float:
    """A float for the column; missing, null or non-numeric values become NaN."""
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


@dataclass
class MetricsSnapshot:
    """Numpy copies of everything logged so far (safe to use while training goes on)."""

    batch: dict[str, np.ndarray]
    layers: dict[str, np.ndarray]
    eval: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_batches(self) -> int:
        return int(self.batch["step"].shape[0])

    @property
    def n_evals(self) -> int:
        return int(self.eval["step"].shape[0])

    def last(self, name: str) -> float | None:
        """Last finite value of a batch column, or None."""
        col = self.batch.get(name)
        if col is None or col.size == 0:
            return None
        finite = col[np.isfinite(col)]
        return float(finite[-1]) if finite.size else None


class MetricsLog:
    """Append-only columns for batch records, per-layer gradient norms and eval records.

    Example:
        >>> log = MetricsLog()
        >>> log.add({"step": 1, "epoch": 1, "loss": 2.3, "grad_norm": 1.0, "layer_grad_norms": {"0.weight": 0.5}})
        >>> log.snapshot().batch["loss"].tolist()
        [2.3]
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batch = {name: array("d") for name in BATCH_FIELDS}
        self._layers: dict[str, array] = {}
        self._eval = {name: array("d") for name in EVAL_FIELDS}
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def n_evals(self) -> int:
        return len(self._eval["step"])

    def add(self, record: Mapping[str, Any]) -> None:
        """Store one record (``kind`` "eval" goes to the eval columns; other kinds are ignored)."""
        kind = record.get("kind", "batch")
        with self._lock:
            if kind == "eval":
                for name in EVAL_FIELDS:
                    self._eval[name].append(_num(record.get(name)))
                return
            if kind != "batch":
                return
            for name in BATCH_FIELDS:
                self._batch[name].append(_num(record.get(name)))
            layer_norms = record.get("layer_grad_norms") or {}
            if not isinstance(layer_norms, Mapping):
                layer_norms = {}
            for name, value in layer_norms.items():
                col = self._layers.get(name)
                if col is None:  # a layer seen for the first time: pad its past with NaN
                    col = self._layers[name] = array("d", [math.nan]) * self._n
                col.append(_num(value))
            for col in self._layers.values():
                if len(col) < self._n + 1:
                    col.append(math.nan)
            self._n += 1

    def extend(self, records: Iterable[Mapping[str, Any]]) -> None:
        for record in records:
            self.add(record)

    def snapshot(self) -> MetricsSnapshot:
        """Copies of all columns as float64 numpy arrays."""
        with self._lock:
            batch = {k: np.array(v, dtype=np.float64) for k, v in self._batch.items()}
            layers = {k: np.array(v, dtype=np.float64) for k, v in self._layers.items()}
            ev = {k: np.array(v, dtype=np.float64) for k, v in self._eval.items()}
        return MetricsSnapshot(batch, layers, ev)
