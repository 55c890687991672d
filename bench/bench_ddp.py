"""Benchmark: one process vs torchrun's DistributedDataParallel, same global batch.

On CPU: 1 process × N threads against N ranks × 1 thread (gloo), N = the number of cores (2 here).
On a CUDA machine it also compares 1 GPU with all GPUs (nccl). Both runs are the real CLI
(``python -m lossviz train`` / ``torchrun ... -m lossviz train``) on the synthetic set; speed is
steady-state images/s from the records' ``time`` (start-up and the first WARMUP batches excluded).

Run: ``.venv/bin/python bench/bench_ddp.py [--batches 60] [--batch-size 128]``
The last line is one JSON object: {"single_images_per_s", "ddp_images_per_s", "ratio", "world_size", ...}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WARMUP = 5


def images_per_s(run_dir: Path, batch: int) -> float:
    records = [
        json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()
    ]
    times = [r["time"] for r in records if r.get("kind") == "batch"]
    steady = times[WARMUP:]
    return batch * (len(steady) - 1) / (steady[-1] - steady[0])


def train(runs: Path, name: str, workers: int, threads: int, args: argparse.Namespace, device: str) -> float:
    cli = ["-m", "lossviz", "train", "--synthetic", "--synthetic-train", str(args.batch_size * (args.batches + 2)),
           "--synthetic-test", "10", "--no-eval", "--no-tensorboard", "--batch-size", str(args.batch_size),
           "--max-batches", str(args.batches), "--threads", str(threads), "--device", device,
           "--runs-dir", str(runs), "--name", name, "--quiet"]  # fmt: skip
    head = [sys.executable]
    if workers > 1:
        head += ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(workers)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.run([*head, *cli], capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed: {proc.stderr[-2000:]}")
    rate = images_per_s(runs / name, args.batch_size)
    print(f"{name}: {workers} worker(s) x {threads} thread(s) on {device}: {rate:,.1f} images/s", flush=True)
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="ranks on CPU (default: cores)")
    args = ap.parse_args()
    world = max(2, args.workers)
    result: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="lossviz-ddp-") as tmp:
        runs = Path(tmp)
        single = train(runs, "single", 1, world, args, "cpu")
        ddp = train(runs, "ddp", world, 1, args, "cpu")
        import torch

        gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if gpus >= 1:
            one = train(runs, "gpu1", 1, 1, args, "cuda")
            result["cuda_single_images_per_s"] = round(one, 1)
            if gpus >= 2:
                every = train(runs, "gpus", gpus, 1, args, "cuda")
                result.update(
                    cuda_ddp_images_per_s=round(every, 1),
                    cuda_ratio=round(every / one, 4),
                    cuda_world_size=gpus,
                )
    result = {
        "single_images_per_s": round(single, 1),
        "ddp_images_per_s": round(ddp, 1),
        "ratio": round(ddp / single, 4),
        "world_size": world,
        "batch_size": args.batch_size,
        "batches": args.batches,
        **result,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
