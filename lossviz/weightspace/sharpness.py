"""The sharpness probe: ``python -m lossviz sharpness RUN_DIR --probe-dir DIR`` follows a run's weight
snapshots and appends λ_max (the top eigenvalue of the training loss's Hessian, on a fixed batch of the
run's own training images) at each to ``DIR/sharpness.json``, written atomically.

The maths (Hessian-vector products, Lanczos, thresholds) is in :mod:`lossviz.training.curvature`,
which the trainer also uses for its cheaper in-run measurement (``--sharpness-every K``).

``sharpness.json``: ``{"run", "images", "iters", "optimizer", "lr", "momentum", "threshold" (null for
Adam), "status" ("running" | "done"), "points": [{"step", "lambda_max", "hvps", "residual", "loss",
"warm", "seconds", "trace"?}]}``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lossviz.errors import LossvizInputError
from lossviz.i18n import msg
from lossviz.training import (
    ADAM_NOTE,
    CONFIG_FILE,
    DEFAULT_IMAGES,
    DEFAULT_ITERS,
    SHARPNESS_FILE,
    Estimate,
    HessianOperator,
    SharpnessTracker,
    TrainConfig,
    atomic_write_json,
    build_model,
    check_images,
    dense_top_eigenvalue,
    fixed_batch,
    hutchinson_trace,
    lanczos_top,
    list_snapshot_files,
    load_weights,
    make_loss,
    power_iteration,
    read_json,
    read_sharpness_probe,
    stability_threshold,
    threshold_text,
)


def _write(probe_dir: Path, payload: dict[str, Any]) -> None:
    atomic_write_json(probe_dir / SHARPNESS_FILE, payload)


def read_sharpness(probe_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """What a sharpness probe wrote so far (None before its first point or when unreadable)."""
    return read_sharpness_probe(probe_dir)


def follow_run(run_dir: str | os.PathLike[str], probe_dir: str | os.PathLike[str], *, images: int = DEFAULT_IMAGES,
               iters: int = DEFAULT_ITERS, trace: int = 0, duty: float = 0.5, follow: bool = True,
               poll_s: float = 1.0, max_points: int = 400, stop: Callable[[], bool] | None = None) -> dict[str, Any]:  # fmt: skip
    """Compute λ_max at each weight snapshot of ``run_dir`` (newest first when behind) into ``probe_dir``.

    ``duty`` caps the share of time spent computing (after an estimate that took t seconds it waits
    t·(1/duty − 1)), so the probe never takes the run's processor for long; ``follow`` keeps watching
    until the run has ended.
    """
    run_dir, probe_dir = Path(run_dir), Path(probe_dir)
    config = read_json(run_dir / CONFIG_FILE)
    if not isinstance(config, dict):
        raise LossvizInputError(
            msg("{folder} has no readable config.json: give a folder written by 'python -m lossviz train'", folder=str(run_dir))
        )
    check_images(images)
    if not 0.05 <= float(duty) <= 1.0:
        raise LossvizInputError(msg("duty={d!r} is out of range: give a number from 0.05 to 1", d=duty))
    probe_dir.mkdir(parents=True, exist_ok=True)
    model = build_model(bool(config.get("relu")))
    try:
        loss_fn = make_loss(TrainConfig.from_dict({**config, "device": "cpu"}).validated())
    except (TypeError, ValueError) as exc:
        raise LossvizInputError(msg("the run's config.json does not describe a training run: {error}", error=exc)) from exc
    x, y = fixed_batch(config, images)
    tracker = SharpnessTracker(model, loss_fn, x, y, iters=iters, trace_samples=trace)
    lr, momentum = float(config.get("lr", 0.01)), float(config.get("momentum", 0.0))
    opt = str(config.get("optimizer", "sgd"))
    payload: dict[str, Any] = {
        "run": run_dir.name,
        "images": int(x.shape[0]),
        "iters": iters,
        "optimizer": opt,
        "lr": lr,
        "momentum": momentum if opt == "sgd" else None,
        "threshold": stability_threshold(opt, lr, momentum if opt == "sgd" else 0.0),
        "status": "running",
        "points": [],
    }
    done: set[int] = set()
    while True:
        if stop is not None and stop():
            break
        summary = read_json(run_dir / "summary.json") or {}
        ended = summary.get("status") not in (None, "running", "paused", "ready", "starting")
        pending = [(s, p) for s, p in list_snapshot_files(run_dir) if s not in done]
        if pending:
            step, path = pending[-1] if len(pending) > 2 else pending[0]  # behind: jump to the newest
            try:
                weights = load_weights(path)
            except Exception:  # noqa: BLE001 - thinned away or half-written: try the next one
                done.add(step)
                continue
            point = {"step": step, **tracker.measure(weights)}
            done.add(step)
            payload["points"].append(point)
            payload["points"].sort(key=lambda p: p["step"])
            del payload["points"][:-max_points]
            _write(probe_dir, payload)
            if duty < 1.0:
                time.sleep(point["seconds"] * (1.0 / duty - 1.0))
            continue
        if ended or not follow:
            break
        time.sleep(poll_s)
    payload["status"] = "done"
    _write(probe_dir, payload)
    return payload



__all__ = [
    "ADAM_NOTE",
    "DEFAULT_IMAGES",
    "DEFAULT_ITERS",
    "Estimate",
    "HessianOperator",
    "SHARPNESS_FILE",
    "SharpnessTracker",
    "check_images",
    "dense_top_eigenvalue",
    "fixed_batch",
    "follow_run",
    "hutchinson_trace",
    "lanczos_top",
    "power_iteration",
    "read_sharpness",
    "stability_threshold",
    "threshold_text",
]
