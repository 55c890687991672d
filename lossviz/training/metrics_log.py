"""A compact, thread-safe, column-wise store of training records, laid out by the metric registry.

The trainer appends one batch record per step from its thread; pages take snapshots as numpy
arrays. Columns are ``array('d')`` so 100,000 batches with ten layers cost a few tens of MB,
not the hundreds a list of dicts would. Which columns exist comes from
:mod:`lossviz.training.metrics` (a metric registered later gets its column when first seen).

Every value is validated before it is stored (:meth:`MetricSpec.clean`): a number out of its
range, not finite, a bool, text or a 400-digit integer is stored as NaN, so no arithmetic on a
tampered record can fail. Memory stays bounded whatever the run's length: once a series holds
:data:`MAX_ROWS` points, pairs of neighbouring points are merged (the one further from its
neighbourhood kept, so spikes survive) and the series goes on at half resolution.
"""

from __future__ import annotations

import math
import threading
from array import array
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lossviz.training import metrics as M

#: Axis columns of batch and eval records.
BATCH_AXES = ("step", "epoch", "time")
EVAL_AXES = ("step", "epoch", "time")
#: The points a series may hold before neighbouring pairs are merged (2**20: 8 MB a column).
MAX_ROWS = 1 << 20
_AXIS_RANGE = {
    "step": (0, M.MAX_STEP, True),
    "epoch": (0, M.MAX_STEP, True),
    "time": (-M.MAX_ABS, M.MAX_ABS, False),
}


def _axis(name: str, value: Any) -> float:
    lo, hi, integer = _AXIS_RANGE[name]
    return M.clean_number(value, lo, hi, integer)


def _num(value: Any) -> float:
    """A float for a column; missing, null, non-numeric or out-of-range values become NaN."""
    return M.clean_number(value)


@dataclass
class MetricsSnapshot:
    """Numpy copies of everything logged so far (safe to use while training goes on).

    ``batch``: the axes (step, epoch, time) and every metric present in each batch record, aligned;
    ``layers``: the per-layer gradient norms (aligned with ``batch``); ``per_layer``: every per-layer
    metric as ``(steps, {layer: values})``; ``sparse``: scalar metrics computed every k steps as
    ``(steps, values)``; ``eval``: the evaluation records.
    """

    batch: dict[str, np.ndarray]
    layers: dict[str, np.ndarray]
    eval: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)
    per_layer: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = field(default_factory=dict)
    sparse: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

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

    def series(self, key: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` of a scalar metric (batch, sparse or eval); empty arrays if never seen."""
        if key in self.batch:
            return self.batch["step"], self.batch[key]
        if key in self.sparse:
            return self.sparse[key]
        if key in self.eval:
            return self.eval["step"], self.eval[key]
        return np.zeros(0), np.zeros(0)

    def layer_series(self, key: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """``(steps, {layer: values})`` of a per-layer metric; empty if never seen."""
        if key == "layer_grad_norms" and key not in self.per_layer:
            return self.batch["step"], self.layers
        return self.per_layer.get(key, (np.zeros(0), {}))


class _Series:
    """Columns sharing one step axis: the batch table (dense) or one sparse metric."""

    def __init__(self, axes: Iterable[str]) -> None:
        self.cols: dict[str, array] = {name: array("d") for name in axes}
        self.layers: dict[str, dict[str, array]] = {}
        self.stride: dict[str, bool] = {}  # column -> thinned by taking every other point
        self.n = 0

    def column(self, name: str, stride: bool = False) -> array:
        col = self.cols.get(name)
        if col is None:  # first seen now: pad its past with NaN
            col = self.cols[name] = array("d", [math.nan]) * self.n
            self.stride[name] = stride
        return col

    def layer_column(self, key: str, layer: str) -> array:
        cols = self.layers.setdefault(key, {})
        col = cols.get(layer)
        if col is None:
            col = cols[layer] = array("d", [math.nan]) * self.n
        return col

    def end_row(self) -> None:
        self.n += 1
        for col in self.cols.values():
            if len(col) < self.n:
                col.append(math.nan)
        for cols in self.layers.values():
            for col in cols.values():
                if len(col) < self.n:
                    col.append(math.nan)
        if self.n >= MAX_ROWS:
            self.halve()

    def halve(self) -> None:
        """Merge neighbouring pairs: axes keep the first point, values the more extreme one."""
        n = self.n - self.n % 2
        for name, col in self.cols.items():
            a = np.frombuffer(col, dtype=np.float64)[:n] if n else np.zeros(0)
            kept = a[0::2] if name in BATCH_AXES or self.stride.get(name) else _extreme_of_pairs(a)
            self.cols[name] = array("d", kept.tobytes()) + col[n:]
        for cols in self.layers.values():
            for layer, col in cols.items():
                a = np.frombuffer(col, dtype=np.float64)[:n]
                cols[layer] = array("d", _extreme_of_pairs(a).tobytes()) + col[n:]
        self.n = n // 2 + (self.n - n)


def _extreme_of_pairs(a: np.ndarray) -> np.ndarray:
    """Of each pair, the value further from the mean of its neighbourhood (8 points): isolated
    spikes up or down survive the halving."""
    pairs = a.reshape(-1, 2)
    with np.errstate(invalid="ignore"):
        m = np.nanmean(pairs, axis=1) if pairs.size else np.zeros(0)
    if m.size >= 4:
        k = np.ones(4) / 4
        finite = np.isfinite(m)
        num = np.convolve(np.where(finite, m, 0.0), k, mode="same")
        den = np.convolve(finite.astype(float), k, mode="same")
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(den > 0, num / den, m)
    dev = np.abs(pairs - m[:, None])
    dev = np.where(np.isfinite(dev), dev, -1.0)
    pick = dev.argmax(axis=1)
    return pairs[np.arange(pairs.shape[0]), pick]


class MetricsLog:
    """Append-only columns for batch records, per-layer metrics and eval records.

    Example:
        >>> log = MetricsLog()
        >>> log.add({"step": 1, "epoch": 1, "loss": 2.3, "grad_norm": 1.0, "layer_grad_norms": {"0.weight": 0.5}})
        >>> log.snapshot().batch["loss"].tolist()
        [2.3]
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batch = _Series(BATCH_AXES)
        self._eval = _Series(EVAL_AXES)
        self._sparse: dict[str, _Series] = {}
        self._version = -1
        self._specs: list[M.MetricSpec] = []
        self._eval_specs: list[M.MetricSpec] = []
        self._refresh()

    def _refresh(self) -> None:
        if self._version == M.registry_version():
            return
        self._version = M.registry_version()
        self._specs = M.list_metrics(record="batch")
        self._eval_specs = M.list_metrics(record="eval")
        for spec in self._specs:  # dense scalar columns exist from the start (empty runs have them)
            if spec.dense and not spec.per_layer:
                self._batch.column(spec.key, spec.decimate == "stride")
        for spec in self._eval_specs:
            if not spec.per_layer:
                self._eval.column(spec.key)

    def __len__(self) -> int:
        return self._batch.n

    @property
    def n_evals(self) -> int:
        return self._eval.n

    def add(self, record: Mapping[str, Any]) -> None:
        """Store one record (``kind`` "eval" goes to the eval columns; other kinds are ignored)."""
        kind = record.get("kind", "batch")
        with self._lock:
            self._refresh()
            if kind == "eval":
                self._add_row(self._eval, record, self._eval_specs, EVAL_AXES)
            elif kind == "batch":
                self._add_row(self._batch, record, [s for s in self._specs if s.dense], BATCH_AXES)
                for spec in self._specs:
                    if not spec.dense and spec.key in record:
                        table = self._sparse.get(spec.key)
                        if table is None:
                            table = self._sparse[spec.key] = _Series(("step",))
                        self._add_row(table, record, [spec], ("step",))

    @staticmethod
    def _add_row(
        table: _Series, record: Mapping[str, Any], specs: list[M.MetricSpec], axes: tuple[str, ...]
    ) -> None:
        for name in axes:
            table.cols[name].append(_axis(name, record.get(name)))
        for spec in specs:
            value = record.get(spec.key)
            if spec.per_layer:
                if not isinstance(value, Mapping):
                    continue
                for layer, v in value.items():
                    if isinstance(layer, str) and len(layer) <= 200:
                        table.layer_column(spec.key, layer).append(spec.clean(v))
            else:
                table.column(spec.key, spec.decimate == "stride").append(spec.clean(value))
        table.end_row()

    def extend(self, records: Iterable[Mapping[str, Any]]) -> None:
        for record in records:
            self.add(record)

    def snapshot(self) -> MetricsSnapshot:
        """Copies of all columns as float64 numpy arrays."""

        def arrays(cols: Mapping[str, array]) -> dict[str, np.ndarray]:
            return {k: np.array(v, dtype=np.float64) for k, v in cols.items()}

        with self._lock:
            batch = arrays(self._batch.cols)
            per_layer = {k: (batch["step"], arrays(v)) for k, v in self._batch.layers.items()}
            sparse: dict[str, tuple[np.ndarray, np.ndarray]] = {}
            for key, table in self._sparse.items():
                steps = np.array(table.cols["step"], dtype=np.float64)
                if key in table.layers:
                    per_layer[key] = (steps, arrays(table.layers[key]))
                elif key in table.cols:
                    sparse[key] = (steps, np.array(table.cols[key], dtype=np.float64))
            ev = arrays(self._eval.cols)
        layers = per_layer.get("layer_grad_norms", (batch["step"], {}))[1]
        return MetricsSnapshot(batch, layers, ev, per_layer=per_layer, sparse=sparse)


def snapshot_from_columns(columns: list[tuple[str, str | None]], rows: np.ndarray) -> MetricsSnapshot:
    """A snapshot from a run's column file (:func:`lossviz.training.runs.read_columns`): the same
    series :class:`MetricsLog` would hold, every value checked against its metric's range."""
    index = {c: i for i, c in enumerate(columns)}
    kind = rows["c0"]
    parts = {"batch": np.flatnonzero(kind == 0), "eval": np.flatnonzero(kind == 1)}

    def take(i: int, idx: np.ndarray, lo: float, hi: float, integer: bool = False) -> np.ndarray:
        v = rows[f"c{i}"][idx]
        with np.errstate(invalid="ignore"):
            bad = ~((v >= lo) & (v <= hi))
            if integer:
                bad |= v != np.floor(v)
        v[bad] = np.nan
        return v

    tables: dict[str, dict[str, np.ndarray]] = {}
    for record, idx in parts.items():
        table = tables[record] = {}
        for name in BATCH_AXES:
            lo, hi, integer = _AXIS_RANGE[name]
            table[name] = take(index[(name, None)], idx, lo, hi, integer) if (name, None) in index else np.full(idx.size, np.nan)
    batch, ev = tables["batch"], tables["eval"]
    per_layer: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}
    sparse: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for spec in M.list_metrics():
        idx, table = parts[spec.record], tables[spec.record]
        if spec.per_layer:
            layers = {layer: i for (key, layer), i in index.items() if key == spec.key and layer is not None}
            if not layers:
                continue
            cols = {layer: take(i, idx, spec.lo, spec.hi, spec.integer) for layer, i in layers.items()}
            steps = table["step"]
            if not spec.dense:
                present = np.logical_or.reduce([np.isfinite(c) for c in cols.values()])
                steps, cols = steps[present], {k: c[present] for k, c in cols.items()}
            per_layer[spec.key] = (steps, cols)
        elif (spec.key, None) in index:
            v = take(index[(spec.key, None)], idx, spec.lo, spec.hi, spec.integer)
            if spec.dense or spec.record == "eval":
                table[spec.key] = v
            else:
                present = np.isfinite(v)
                sparse[spec.key] = (table["step"][present], v[present])
        elif spec.dense:
            table[spec.key] = np.full(idx.size, np.nan)
    layers = per_layer.get("layer_grad_norms", (batch["step"], {}))[1]
    return MetricsSnapshot(batch, layers, ev, meta={"source": "columns"}, per_layer=per_layer, sparse=sparse)
