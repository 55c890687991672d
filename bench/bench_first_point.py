"""Benchmark: seconds from pressing Start to the first chart point.

Start goes through the page's own path (JobManager.start: a ``python -m lossviz train`` process in
its own group); the first point exists once the process has appended its first batch record to
metrics.jsonl, which the page's live panel then draws (it redraws every FIRST_POINT_REFRESH_S =
0.25 s until the first point is there). Reported: the median over repeats of the time to that
record, and the same plus that refresh period (the worst case a viewer waits).

Run: ``.venv/bin/python bench/bench_first_point.py [--repeats 5]``; the last line is one JSON object.
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

from lossviz.training import runs as lv_runs  # noqa: E402
from lossviz.training.jobs import JobManager  # noqa: E402
from lossviz.training.trainer import TrainConfig, recommended_threads  # noqa: E402
from lossviz.training.view import FIRST_POINT_REFRESH_S as REFRESH_S  # noqa: E402


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux /proc), or None."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    # the page's defaults: synthetic set of 10,000 + 2,000 images, batch 64, all cores but one
    config = TrainConfig(dataset="synthetic", threads=recommended_threads(), max_batches=20)
    waits, cpus = [], []
    with tempfile.TemporaryDirectory(prefix="lossviz-first-") as tmp:
        manager = JobManager(max_jobs=1)
        for r in range(args.repeats):
            t0 = time.perf_counter()
            job = manager.start(config, runs_dir=tmp, name=f"first-{r}", owner="bench", workers=args.workers)
            while lv_runs.last_step(job.run_dir) is None:
                if not job.active and lv_runs.last_step(job.run_dir) is None:
                    raise SystemExit(f"run ended before its first batch: {job.message}")
                time.sleep(0.01)
            waits.append(time.perf_counter() - t0)
            cpu = cpu_seconds(job.process.pid)
            if cpu is not None:
                cpus.append(cpu)
            print(f"repeat {r + 1}: first batch record after {waits[-1]:.2f} s (process CPU {cpu} s)", flush=True)
            job.stop()
            job.wait(30)
    median = statistics.median(waits)
    print(
        json.dumps(
            {
                "start_to_first_record_s": round(median, 3),
                "start_to_first_point_worst_s": round(median + REFRESH_S, 3),
        # CPU seconds the training process spent until its first record: about the wall time on an
        # idle machine, since start-up is mostly one thread; a figure other users' load hardly moves
        "process_cpu_to_first_record_s": round(statistics.median(cpus), 3) if cpus else None,
        "load_average_1min": round(os.getloadavg()[0], 2),
                "repeats": args.repeats,
                "workers": args.workers,
                "cpu_count": os.cpu_count(),
                "target_s": 5.0,
                "meets_target": median + REFRESH_S <= 5.0,
            }
        )
    )


if __name__ == "__main__":
    main()
