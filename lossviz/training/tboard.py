"""TensorBoard event files for a run, so TensorBoard, trackio, Aim, SwanLab and W&B can read it.

One event per batch carries all of that batch's scalars: every registered metric with a
``tb_tag`` (:mod:`lossviz.training.metrics`): ``train/loss``, ``train/grad_norm``,
``train/accuracy``, ``grad_norm/<layer label>`` and whatever else is registered; one per evaluation
carries ``eval/loss`` and ``eval/accuracy``. Steps are the same as in metrics.jsonl. Packing a batch's scalars into one
event keeps the cost to one small protobuf per batch; the file is flushed every FLUSH_SECS and
after each evaluation so ``tensorboard --logdir runs`` follows a run live.

Example:
    >>> tb = TensorBoardLog(run_dir, {"0.weight": "conv1 weight"})  # doctest: +SKIP
    >>> tb.add({"kind": "batch", "step": 1, "loss": 2.3, ...}); tb.close()  # doctest: +SKIP
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lossviz.training import metrics as M

FLUSH_SECS = 2


class TensorBoardLog:
    """Writes a run's records as TensorBoard scalars into ``run_dir``.

    The event file is written in the calling thread (tensorboard's own record framing, no writer
    thread), so a full disk raises OSError at :meth:`add`, :meth:`flush` or :meth:`close` where the
    trainer can turn it into a "failed" run, instead of a traceback from a background thread.
    """

    def __init__(self, run_dir: str | os.PathLike[str], labels: Mapping[str, str] | None = None) -> None:
        from tensorboard.compat.proto.event_pb2 import Event
        from tensorboard.compat.proto.summary_pb2 import Summary
        from tensorboard.summary.writer.record_writer import RecordWriter

        self._Event, self._Summary = Event, Summary
        self.labels = dict(labels or {})
        now = time.time()
        name = f"events.out.tfevents.{int(now):010d}.{socket.gethostname()}.{os.getpid()}.0"
        self.path = Path(run_dir) / name
        self._file = open(self.path, "ab")  # noqa: SIM115 - kept open while training
        self._records = RecordWriter(self._file)
        self._records.write(Event(wall_time=now, file_version="brain.Event:2").SerializeToString())
        self._file.flush()
        self._last_flush = now
        self._tags: dict[tuple[str, str], str] = {}

    def _tag(self, spec: M.MetricSpec, layer: str) -> str:
        tag = self._tags.get((spec.key, layer))
        if tag is None:
            tag = self._tags[(spec.key, layer)] = spec.tag(self.labels.get(layer, layer)) or ""
        return tag

    def add(self, record: Mapping[str, Any]) -> None:
        """One event with every finite scalar of a batch or eval record (others are ignored)."""
        kind = record.get("kind", "batch")
        step = record.get("step")
        if kind not in ("batch", "eval") or M.clean_int(step) is None:
            return
        values = []
        value_cls = self._Summary.Value
        for spec in M.list_metrics(record=kind):
            if spec.tb_tag is None or spec.key not in record:
                continue
            v = record[spec.key]
            if spec.per_layer:
                if isinstance(v, Mapping):
                    for layer, lv in v.items():
                        x = spec.clean(lv)
                        if x == x:
                            values.append(value_cls(tag=self._tag(spec, str(layer)), simple_value=x))
            else:
                x = spec.clean(v)
                if x == x:
                    values.append(value_cls(tag=spec.tb_tag, simple_value=x))
        if not values:
            return
        now = time.time()
        event = self._Event(wall_time=now, step=int(step), summary=self._Summary(value=values))
        self._records.write(event.SerializeToString())
        if now - self._last_flush >= FLUSH_SECS or kind == "eval":
            self.flush()

    def flush(self) -> None:
        self._file.flush()
        self._last_flush = time.time()

    def close(self) -> None:
        if not self._file.closed:
            try:
                self._file.flush()
            finally:
                self._file.close()
