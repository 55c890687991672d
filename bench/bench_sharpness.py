"""Benchmark: what a sharpness (λ_max) estimate costs, and what measuring it costs a run.

On the tutorial CNN (ReLU on, the edge-of-stability preset's network) and scikit-learn's handwritten
digits (offline), at the torch thread count the training page uses:

* ``hvp_s_512`` / ``hvp_s_128``: median seconds of one Hessian-vector product (double backward
  through the gradient's retained graph, :class:`lossviz.training.curvature.HessianOperator`) on a
  fixed batch of 512 / 128 images;
* ``estimate_cold_s``: one λ_max estimate from a random start, 20 products on 512 images (the
  issue's yardstick), and ``estimate_warm_s``: the next one after a few SGD steps, warm-started
  from the last eigenvector (8 products), as the trainer does every K steps;
* ``ratio_vs_bare``: training steps per second with sharpness on (every ``--every`` steps, 512
  images) over the same run with it off, median of alternating pairs in one process; the first,
  cold estimate is inside the run, so the figure holds for a run of ``--steps`` steps;
* ``preset_ratio_vs_bare``: the same for the page's edge-of-stability preset (full batch of 256,
  an estimate every 20 steps on those 256): a demonstration that buys many points, not a budget;
* FLOP rates: ``forward_gflop_per_image`` counted from the layers, a product taken as 4 forwards
  (the backward of the backward through a retained graph: an approximation), a training step as 3;
  ``matmul_gflop_per_s`` the machine's ceiling measured in the same run (2048² float32 matmul).

Run: ``.venv/bin/python bench/bench_sharpness.py [--repeats 3] [--steps 400] [--every 200]``
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from bench_weight_landscape import matmul_gflops, model_flops_per_image  # noqa: E402

from lossviz.training import curvature  # noqa: E402
from lossviz.training.data import load_digits_dataset  # noqa: E402
from lossviz.training.model import build_model  # noqa: E402
from lossviz.training.trainer import TrainConfig, Trainer, recommended_threads  # noqa: E402


def hvp_seconds(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, n: int = 5) -> float:
    op = curvature.HessianOperator(model, torch.nn.CrossEntropyLoss(), x, y)
    v = torch.randn(op.n)
    op(v)  # builds the gradient's graph once, as every estimate does
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        op(v)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def finished_run(cfg: TrainConfig, data: object, runs_dir: str) -> tuple[Trainer, float]:
    """A Trainer run to its end in this process, and its wall seconds (a run that did not finish exits)."""
    trainer = Trainer(cfg, runs_dir=runs_dir, dataset=data)
    t0 = time.perf_counter()
    trainer.start()
    trainer.join()
    wall = time.perf_counter() - t0
    if trainer.status != "finished":
        raise SystemExit(f"trainer ended {trainer.status}: {trainer.message}")
    return trainer, wall


def run_seconds_per_step(cfg: TrainConfig, data: object, runs_dir: str) -> tuple[float, int]:
    trainer, wall = finished_run(cfg, data, runs_dir)
    steps = len(trainer.log.snapshot().batch["time"])
    return wall / steps, steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=400, help="steps of each mini-batch run")
    ap.add_argument("--every", type=int, default=200, help="K: an estimate every K steps in the mini-batch runs")
    ap.add_argument("--preset-steps", type=int, default=60)
    ap.add_argument("--threads", type=int, default=recommended_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load_digits_dataset()
    torch.manual_seed(0)
    model = build_model(relu=True)
    x512, y512 = data.train.batch(torch.arange(512))
    x128, y128 = x512[:128], y512[:128]

    ceiling = matmul_gflops()
    flops = model_flops_per_image(model, x512)
    t0 = time.perf_counter()
    with torch.no_grad():
        for _ in range(3):
            model(x512)
    forward_s = (time.perf_counter() - t0) / 3
    h512, h128 = hvp_seconds(model, x512, y512), hvp_seconds(model, x128, y128)

    tracker = curvature.SharpnessTracker(model, torch.nn.CrossEntropyLoss(), x512, y512)
    cold = tracker.measure()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for i in range(10):
        xb, yb = data.train.batch(torch.arange(64 * i, 64 * (i + 1)))
        opt.zero_grad()
        torch.nn.CrossEntropyLoss()(model(xb), yb).backward()
        opt.step()
    warm = tracker.measure()

    base = dict(dataset="digits", relu=True, evaluate=False, seed=0, epochs=1000, threads=args.threads)
    mini_off = TrainConfig(**base, batch_size=64, lr=0.05, max_batches=args.steps)
    mini_on = TrainConfig(**base, batch_size=64, lr=0.05, max_batches=args.steps, sharpness_every=args.every,
                          sharpness_images=512)  # fmt: skip
    p = curvature.EDGE_OF_STABILITY
    preset = dict(base, lr=p["lr"], momentum=0.0, train_subset=p["train_subset"], batch_size=p["train_subset"],
                  max_batches=args.preset_steps)  # fmt: skip
    preset_off = TrainConfig(**preset)
    preset_on = TrainConfig(**preset, sharpness_every=p["sharpness_every"], sharpness_images=p["train_subset"])
    ratios, preset_ratios, step_s = [], [], []
    with tempfile.TemporaryDirectory() as runs:
        for r in range(args.repeats):
            off, _ = run_seconds_per_step(mini_off, data, runs)
            on, _ = run_seconds_per_step(mini_on, data, runs)
            ratios.append(off / on)
            step_s.append(off)
            poff, _ = run_seconds_per_step(preset_off, data, runs)
            pon, _ = run_seconds_per_step(preset_on, data, runs)
            preset_ratios.append(poff / pon)
            print(f"repeat {r + 1}: mini-batch ratio {off / on:.3f} ({off * 1e3:.1f} vs {on * 1e3:.1f} ms/step), "
                  f"preset ratio {poff / pon:.3f}", flush=True)  # fmt: skip
    hvp_gflops = 4 * flops * 512 / h512 / 1e9
    step_gflops = 3 * flops * 64 / statistics.median(step_s) / 1e9
    result = {
        "bench": "sharpness",
        "threads": args.threads,
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "hvp_s_512": round(h512, 3),
        "hvp_s_128": round(h128, 3),
        "estimate_cold_s": round(cold["seconds"], 2),
        "estimate_cold_hvps": cold["hvps"],
        "estimate_warm_s": round(warm["seconds"], 2),
        "estimate_warm_hvps": warm["hvps"],
        "lambda_max_cold": round(cold["lambda_max"], 4),
        "every": args.every,
        "steps": args.steps,
        "ratio_vs_bare": round(statistics.median(ratios), 3),
        "ratios": [round(v, 3) for v in ratios],
        "step_ms": round(statistics.median(step_s) * 1e3, 2),
        "preset_ratio_vs_bare": round(statistics.median(preset_ratios), 3),
        "forward_gflop_per_image": round(flops / 1e9, 6),
        "forward_gflop_per_s": round(flops * 512 / forward_s / 1e9, 2),
        "hvp_gflop_per_s": round(hvp_gflops, 2),
        "train_step_gflop_per_s": round(step_gflops, 2),
        "matmul_gflop_per_s": round(ceiling, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
