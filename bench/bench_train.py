"""Benchmark: what the training page's bookkeeping costs.

In one process, with alternating repeats, the same network (the tutorial's CNN), batch size 64,
the same in-memory data (uint8 tensors scaled per batch) and the same number of torch threads:

* ``trainer``  - lossviz's Trainer (run in a thread here) with every per-batch metric
  (loss, grad norm overall and per layer, accuracy, images/s), a JSON line appended and
  flushed to metrics.jsonl, the TensorBoard event, the in-memory log, heartbeats, the
  control-file check;
* ``bare``     - the plain PyTorch loop: zero_grad, forward, loss, backward, step;
* ``tutorial`` - the classic tutorial's loop, one image per step (batch size 1), for context.

The Trainer always trains in its own thread, so the bare and tutorial loops also run in a fresh
thread each time: all three start from the same threading state and differ only in the loop.

Speeds are steady-state images/s: the first WARMUP batches of each repeat are not counted, and
both loops are timed from their own per-batch timestamps. ``ratio_vs_bare`` is the median over
repeats of trainer/bare measured back to back (each pair shares the machine's load at that
moment, which matters on a shared 2-core box); ``ratio_of_medians`` is reported too.
``cpu_ratio_vs_bare`` compares CPU seconds per image of whole runs (setup included), and
``bookkeeping_ms_per_batch`` times the trainer's extra per-batch work on its own, a figure that
other processes on the machine hardly disturb.

Threads default to what the training page uses (all cores but one, so 1 on a 2-core machine);
``--threads 2`` uses both cores but is then at the mercy of anything else running.

Run: ``.venv/bin/python bench/bench_train.py [--repeats 9] [--batches 50] [--threads N]``
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch  # noqa: E402

from lossviz.training.data import DatasetBundle, make_synthetic  # noqa: E402
from lossviz.training.metrics_log import MetricsLog  # noqa: E402
from lossviz.training.model import build_model  # noqa: E402
from lossviz.training.runs import RunWriter, jsonable  # noqa: E402
from lossviz.training.tboard import TensorBoardLog  # noqa: E402
from lossviz.training.trainer import TrainConfig, Trainer, batch_statistics, recommended_threads  # noqa: E402

BATCH = 64
WARMUP = 5
#: CPU seconds per image of each run, whole run included (setup too): hardly moved by other processes.
CPU: dict[str, list[float]] = {"trainer": [], "bare": []}


def in_fresh_thread(fn: Callable[..., float], *args: object) -> float:
    """Run ``fn`` in a new thread, as the Trainer always runs, so every loop starts from the same
    threading state (each new thread gets its own OpenMP team)."""
    out: list[float] = []
    t = threading.Thread(target=lambda: out.append(fn(*args)))
    t.start()
    t.join()
    if not out:
        raise SystemExit(f"{fn.__name__} failed")
    return out[0]


def steady_rate(times: list[float], batch: int, warmup: int = WARMUP) -> float:
    """Images/s between the end of batch ``warmup`` and the end of the last batch."""
    span = times[-1] - times[warmup - 1]
    return (len(times) - warmup) * batch / span


DEVICE = "cpu"


def run_trainer(data: DatasetBundle, batches: int, seed: int, runs_dir: str) -> float:
    cfg = TrainConfig(
        dataset="synthetic", batch_size=BATCH, max_batches=batches, evaluate=False, seed=seed, epochs=1000,
        device=DEVICE,
    )  # fmt: skip
    cpu0 = time.process_time()
    trainer = Trainer(cfg, runs_dir=runs_dir, dataset=data)
    trainer.start()
    trainer.join()
    CPU["trainer"].append((time.process_time() - cpu0) / (batches * BATCH))
    if trainer.status != "finished":
        raise SystemExit(f"trainer ended {trainer.status}: {trainer.message}")
    times = trainer.log.snapshot().batch["time"].tolist()
    return steady_rate(times, BATCH)


def run_bare(data: DatasetBundle, batches: int, seed: int) -> float:
    cpu0 = time.process_time()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model().to(DEVICE)
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    gen = torch.Generator().manual_seed(seed)
    train = data.train.to(DEVICE)
    perm = torch.randperm(len(train), generator=gen).to(DEVICE)
    per_epoch = len(train) // BATCH
    t0 = time.perf_counter()
    times = []
    for b in range(batches):
        i = b % per_epoch
        x, y = train.batch(perm[i * BATCH : (i + 1) * BATCH])
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        if DEVICE != "cpu":
            loss.item()  # the trainer copies its figures to the host once per batch too
        times.append(time.perf_counter() - t0)
    CPU["bare"].append((time.process_time() - cpu0) / (batches * BATCH))
    return steady_rate(times, BATCH)


def run_tutorial(data: DatasetBundle, images: int, seed: int) -> float:
    """The tutorial: batch_size=1, CrossEntropyLoss, SGD(lr=0.01), printing aside."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model()
    loss_fn = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    train = data.train
    t0 = time.perf_counter()
    times = []
    for i in range(images):
        x, y = train.batch(torch.tensor([i % len(train)]))
        outputs = model(x)
        result_loss = loss_fn(outputs, y)
        optimizer.zero_grad()
        result_loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - t0)
    return steady_rate(times, 1, warmup=20)


def bookkeeping_ms(data: DatasetBundle, runs_dir: str, iterations: int = 300) -> float:
    """Milliseconds per batch of the trainer's extra work alone (norms, accuracy, one host copy,
    the record, its JSON line written and flushed, the in-memory log): a noise-free overhead figure."""
    model = build_model()
    params = list(model.parameters())
    names = [n for n, _ in model.named_parameters()]
    x, y = data.train.batch(torch.arange(BATCH))
    scores = model(x)
    loss = torch.nn.CrossEntropyLoss()(scores, y)
    loss.backward()
    writer = RunWriter.create(runs_dir, None, {"dataset": "synthetic", "bench": True})
    tb = TensorBoardLog(writer.path, {})
    log = MetricsLog()
    t0 = time.perf_counter()
    for step in range(1, iterations + 1):
        host = batch_statistics(loss, scores, y, params)
        record = {
            "kind": "batch",
            "step": step,
            "epoch": 1,
            "batch": step,
            "loss": host[0],
            "grad_norm": host[1],
            "layer_grad_norms": dict(zip(names, host[3:], strict=True)),
            "lr": 0.01,
            "batch_accuracy": host[2] / BATCH,
            "images_per_s": 1000.0,
            "time": time.perf_counter() - t0,
        }
        writer.append(json.dumps(jsonable(record), allow_nan=False))
        tb.add(record)
        log.add(record)
        writer.heartbeat()
    elapsed = time.perf_counter() - t0
    writer.close()
    tb.close()
    return 1000 * elapsed / iterations


def tensorboard_ms(runs_dir: str, iterations: int = 300) -> float:
    """Milliseconds per batch of writing the TensorBoard event alone (13 scalars in one event)."""
    names = [n for n, _ in build_model().named_parameters()]
    path = tempfile.mkdtemp(dir=runs_dir)
    tb = TensorBoardLog(path, {})
    record = {"kind": "batch", "step": 0, "loss": 2.3, "grad_norm": 1.0, "batch_accuracy": 0.1,
              "layer_grad_norms": dict.fromkeys(names, 0.5)}  # fmt: skip
    t0 = time.perf_counter()
    for step in range(1, iterations + 1):
        tb.add({**record, "step": step})
    elapsed = time.perf_counter() - t0
    tb.close()
    return 1000 * elapsed / iterations


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=9)
    ap.add_argument("--batches", type=int, default=50, help="batches per timed run (after warm-up)")
    ap.add_argument("--tutorial-images", type=int, default=400)
    ap.add_argument(
        "--threads",
        type=int,
        default=recommended_threads(),
        help="torch threads for all loops (default: what the page trains with, all cores but one)",
    )
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the trainer and the bare loop)")
    args = ap.parse_args()
    global DEVICE
    DEVICE = args.device
    torch.set_num_threads(max(1, args.threads))
    threads = torch.get_num_threads()
    # one epoch longer than a timed run, so no end-of-epoch work (model save) falls inside the timing
    data = make_synthetic(seed=0, n_train=BATCH * (args.batches + WARMUP + 1), n_test=100)
    print(
        f"torch {torch.__version__}, {threads} threads, {platform.processor() or platform.machine()}, "
        f"batch {BATCH}, {args.batches} batches x {args.repeats} repeats",
        flush=True,
    )
    trainer_rates: list[float] = []
    bare_rates: list[float] = []
    tutorial_rates: list[float] = []
    with tempfile.TemporaryDirectory(prefix="lossviz-bench-") as runs_dir:
        run_bare(data, WARMUP + 3, 0)  # one-time costs (optimizer import, allocator) before any timing
        CPU["bare"].clear()
        for r in range(args.repeats):
            order = ("trainer", "bare") if r % 2 == 0 else ("bare", "trainer")
            for which in order:
                if which == "trainer":
                    trainer_rates.append(run_trainer(data, args.batches + WARMUP, r, runs_dir))
                else:
                    bare_rates.append(in_fresh_thread(run_bare, data, args.batches + WARMUP, r))
            tutorial_rates.append(in_fresh_thread(run_tutorial, data, args.tutorial_images, r))
            print(
                f"repeat {r + 1}/{args.repeats}: trainer {trainer_rates[-1]:7.1f} img/s  bare {bare_rates[-1]:7.1f} img/s  "
                f"ratio {trainer_rates[-1] / bare_rates[-1]:.3f}  tutorial(batch 1) {tutorial_rates[-1]:6.1f} img/s",
                flush=True,
            )
        book_ms = statistics.median(bookkeeping_ms(data, runs_dir) for _ in range(3))
        tb_ms = statistics.median(tensorboard_ms(runs_dir) for _ in range(3))
    trainer_med = statistics.median(trainer_rates)
    bare_med = statistics.median(bare_rates)
    pair_ratios = [t / b for t, b in zip(trainer_rates, bare_rates, strict=True)]
    ratio = statistics.median(pair_ratios)
    result = {
        "trainer_images_per_s": round(trainer_med, 1),
        "bare_images_per_s": round(bare_med, 1),
        "ratio_vs_bare": round(ratio, 4),
        "ratio_of_medians": round(trainer_med / bare_med, 4),
        "cpu_ratio_vs_bare": round(statistics.median(CPU["bare"]) / statistics.median(CPU["trainer"]), 4),
        "tutorial_images_per_s": round(statistics.median(tutorial_rates), 1),
        "bookkeeping_ms_per_batch": round(book_ms, 4),
        "bare_ms_per_batch": round(1000 * BATCH / bare_med, 3),
        "bookkeeping_share_of_batch": round(book_ms / (1000 * BATCH / bare_med), 5),
        "tensorboard_ms_per_batch": round(tb_ms, 4),
        "tensorboard_share_of_batch": round(tb_ms / (1000 * BATCH / bare_med), 5),
        "device": DEVICE,
        "batch_size": BATCH,
        "threads": threads,
        "repeats": args.repeats,
        "batches_per_repeat": args.batches,
        "target_ratio": 0.97,
        "meets_target": ratio >= 0.97,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
