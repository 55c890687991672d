"""Benchmark: the tutorial CNN learns real pictures offline.

Trains lossviz's Trainer (every per-batch metric on, evaluation after each epoch) on
scikit-learn's bundled handwritten digits (1,797 real 8×8 scans enlarged to 32×32×3, no download;
the training page's default when CIFAR-10 is not on disk) and reports the test accuracy after each
epoch and the wall seconds it took, at the thread count the training page uses. The issue's target
is a test accuracy of at least 0.90.

Run: ``.venv/bin/python bench/bench_digits.py [--epochs 3] [--lr 0.05] [--relu | --no-relu]``
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from bench_sharpness import finished_run  # noqa: E402

from lossviz.training.data import load_digits_dataset  # noqa: E402
from lossviz.training.trainer import TrainConfig, recommended_threads  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--relu", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=recommended_threads())
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = load_digits_dataset()
    cfg = TrainConfig(dataset="digits", relu=args.relu, lr=args.lr, batch_size=args.batch_size, epochs=args.epochs,
                      seed=args.seed, threads=args.threads)  # fmt: skip
    with tempfile.TemporaryDirectory() as runs:
        trainer, seconds = finished_run(cfg, data, runs)
        ev = trainer.log.snapshot().eval
    accuracy = [round(float(a), 4) for a in ev["test_accuracy"]]
    for epoch, acc in enumerate(accuracy, start=1):
        print(f"epoch {epoch}: test accuracy {acc:.3f}", flush=True)
    result = {
        "bench": "digits",
        "epochs": args.epochs,
        "lr": args.lr,
        "relu": args.relu,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "train_images": len(data.train),
        "test_images": len(data.test),
        "test_accuracy": accuracy[-1] if accuracy else None,
        "test_accuracy_per_epoch": accuracy,
        "seconds": round(seconds, 1),
        "target": 0.90,
        "meets_target": bool(accuracy and accuracy[-1] >= 0.90),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
