"""Benchmark: building the training page's charts for a long run (issue 22, "Charts that keep every point").

A run of 100,000 steps with 10 per-layer gradient norms and 20 evaluations, as the page holds it
(a MetricsSnapshot). Each repeat builds what one refresh of the page draws: the loss, accuracy,
gradient-norm and per-layer charts (smoothed, every point min/max decimated to at most 2,000 per
trace), and serialises them the way st.plotly_chart does (plotly.io.to_json). Reported: the p50
and p95 seconds per refresh (build + serialise), the bytes sent per refresh, and the largest
number of points in any trace.

Target: p95 ≤ 0.2 s.

Run: ``.venv/bin/python bench/bench_charts.py [--steps 100000] [--layers 10] [--repeats 30]``
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import plotly.io as pio  # noqa: E402

from lossviz.training import figures as F  # noqa: E402
from lossviz.training.metrics_log import MetricsSnapshot  # noqa: E402


def snapshot(steps: int, layers: int, evals: int = 20) -> MetricsSnapshot:
    rng = np.random.default_rng(0)
    step = np.arange(1, steps + 1, dtype=np.float64)
    loss = 2.3 * np.exp(-step / (steps / 3)) + 0.2 * rng.random(steps)
    loss[steps // 2] = 40.0  # one spike: it must survive decimation
    batch = {"step": step, "epoch": 1 + step // (steps / evals), "time": step * 0.01, "loss": loss,
             "grad_norm": 1.0 + rng.random(steps), "batch_accuracy": rng.random(steps), "lr": np.full(steps, 0.01),
             "images_per_s": np.full(steps, 900.0)}  # fmt: skip
    names = [f"{i // 2}.{'weight' if i % 2 == 0 else 'bias'}" for i in range(layers)]
    cols = {n: np.exp(rng.normal(-3, 1, steps)) for n in names}
    ev_step = np.linspace(steps / evals, steps, evals)
    ev = {"step": ev_step, "epoch": np.arange(1, evals + 1.0), "time": ev_step * 0.01,
          "test_loss": np.linspace(2.0, 1.0, evals), "test_accuracy": np.linspace(0.2, 0.6, evals), "n_test": np.full(evals, 2000.0)}  # fmt: skip
    return MetricsSnapshot(batch, cols, ev, per_layer={"layer_grad_norms": (step, cols)})


def refresh(snap: MetricsSnapshot) -> tuple[int, int]:
    """One refresh of the page's charts: (bytes of JSON, largest trace)."""
    figs = [
        F.make_loss_figure(snap, "synthetic", chance=2.3026),
        F.make_accuracy_figure(snap, "synthetic"),
        F.make_grad_norm_figure(snap, "synthetic"),
        F.make_layer_figure(snap, "layer_grad_norms", "lines", "synthetic", max_points=300),
    ]
    sent = sum(len(pio.to_json(f, validate=False)) for f in figs)
    biggest = max(len(t.x) for f in figs for t in f.data if t.x is not None)
    return sent, biggest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=100_000)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=30)
    args = ap.parse_args()
    snap = snapshot(args.steps, args.layers)
    refresh(snap)  # imports and first-call costs
    times, sent, biggest = [], 0, 0
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        sent, biggest = refresh(snap)
        times.append(time.perf_counter() - t0)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    heat_t0 = time.perf_counter()
    F.make_layer_figure(snap, "layer_grad_norms", "heatmap", "synthetic")
    heat_s = time.perf_counter() - heat_t0
    spike = float(max(F.make_loss_figure(snap).data[0].y))
    print(f"{args.steps:,} steps x {args.layers} layers: p50 {statistics.median(times) * 1000:.1f} ms, "
          f"p95 {p95 * 1000:.1f} ms, {sent / 1024:.0f} KiB per refresh", flush=True)  # fmt: skip
    print(json.dumps({
        "steps": args.steps, "layers": args.layers, "repeats": args.repeats,
        "p50_s": round(statistics.median(times), 4), "p95_s": round(p95, 4), "bytes_per_refresh": sent,
        "max_points_per_trace": biggest, "heatmap_s": round(heat_s, 4), "spike_kept": spike == 40.0,
        "target_p95_s": 0.2, "meets_target": p95 <= 0.2 and biggest <= 2000, "load_average": os.getloadavg()[0],
    }))  # fmt: skip


if __name__ == "__main__":
    main()
