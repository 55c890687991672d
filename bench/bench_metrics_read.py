"""Benchmark: opening a run of 1,000,000 batches (issue 20, D3).

Writes a run folder as the trainer writes it (config.json, summary.json, a metrics.jsonl of
1,000,000 batch records with ten per-layer gradient norms, and the column file beside it), then,
in a fresh process (so memory is that process's own): the baseline RSS after the imports a page
server has, the seconds to read the run's snapshot (lossviz.training.view.read_snapshot, what the
training page does on a first view), the seconds to build the page's four figures from it, and the
peak RSS above the baseline. With ``--jsonl`` the column file is left out, to time the fallback
that parses metrics.jsonl (bounded memory, not bounded time).

Targets: open ≤ 3 s, ≤ 300 MB above the baseline.

Run: ``.venv/bin/python bench/bench_metrics_read.py [--records 1000000] [--jsonl]``
The last line is one JSON object.
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
sys.path.insert(0, str(ROOT))

LAYERS = ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias", "7.weight", "7.bias", "8.weight", "8.bias"]


def write_run(run: Path, n: int, columns: bool) -> int:
    """The run folder; returns the size of metrics.jsonl in bytes."""
    import numpy as np

    from lossviz.training.metrics import record_columns
    from lossviz.training.runs import COLUMNS_FILE, COLUMNS_HEADER, atomic_write_json, column_dtype

    run.mkdir(parents=True)
    atomic_write_json(run / "config.json", {"dataset": "synthetic", "dataset_label": "synthetic", "batch_size": 1,
                                            "total_steps": n, "loss": "CrossEntropyLoss", "layers": LAYERS})  # fmt: skip
    atomic_write_json(run / "summary.json", {"status": "finished", "started": 1.7e9, "steps": n})
    rng = np.random.default_rng(0)
    loss = 2.3 * np.exp(-np.arange(n) / (n / 3)) + 0.1 * rng.random(n)
    layer_part = ", ".join(f'"{k}": {{g:.6g}}' for k in LAYERS)
    template = ('{{"kind": "batch", "step": {i}, "epoch": {e}, "batch": {b}, "loss": {loss:.6g}, "grad_norm": {g:.6g}, '
                '"layer_grad_norms": {{' + layer_part + '}}, "lr": 0.01, "batch_accuracy": {acc}, '
                '"images_per_s": 310.5, "time": {t:.3f}}}\n')  # fmt: skip
    with open(run / "metrics.jsonl", "w") as f:
        for start in range(0, n, 50_000):
            f.write("".join(
                template.format(i=i + 1, e=1 + i // 50_000, b=1 + i % 50_000, loss=loss[i], g=1.0 + loss[i],
                                acc=float(i % 2), t=i * 0.003)
                for i in range(start, min(n, start + 50_000))
            ))  # fmt: skip
    if columns:
        cols = record_columns(LAYERS)
        rows = np.zeros(n, dtype=column_dtype(cols))
        values = {"step": np.arange(1, n + 1), "epoch": 1 + np.arange(n) // 50_000, "time": np.arange(n) * 0.003,
                  "loss": loss, "grad_norm": 1.0 + loss, "lr": np.full(n, 0.01), "batch_accuracy": np.arange(n) % 2,
                  "images_per_s": np.full(n, 310.5), "layer_grad_norms": 1.0 + loss}  # fmt: skip
        for i, (key, _layer) in enumerate(cols):
            rows[f"c{i}"] = values.get(key, np.zeros(n) if key == "kind" else np.full(n, np.nan))
        rows.tofile(run / COLUMNS_FILE)
        atomic_write_json(run / COLUMNS_HEADER, {"version": 1, "columns": [list(c) for c in cols]})
    return (run / "metrics.jsonl").stat().st_size


CHILD = r"""
import json, resource, sys, time
from pathlib import Path
def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
import numpy, plotly.graph_objects, torch  # what a page server has loaded
import lossviz.training as lt
from lossviz.training import view
base = rss_mb()
t0 = time.perf_counter()
snap = view.read_snapshot(Path(sys.argv[1]))
t1 = time.perf_counter()
figs = [lt.make_loss_figure(snap, "synthetic"), lt.make_accuracy_figure(snap, "synthetic"),
        lt.make_grad_norm_figure(snap, "synthetic"), lt.make_layer_figure(snap, "layer_grad_norms", max_points=300)]
t2 = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"read_s": t1 - t0, "figures_s": t2 - t1, "base_mb": base, "peak_mb": peak, "now_mb": rss_mb(),
                  "n_batches": snap.n_batches, "source": snap.meta.get("source", "jsonl")}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--jsonl", action="store_true", help="no column file: time the JSONL fallback")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lossviz-bench-read-") as tmp:
        run = Path(tmp) / "big"
        size = write_run(run, args.records, columns=not args.jsonl)
        out = subprocess.run([sys.executable, "-c", CHILD, str(run)], capture_output=True, text=True, cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)  # fmt: skip
        if out.returncode:
            raise SystemExit(out.stderr)
        child = json.loads(out.stdout.strip().splitlines()[-1])
    above = child["peak_mb"] - child["base_mb"]
    open_s = child["read_s"] + child["figures_s"]
    print(f"{args.records:,} records, metrics.jsonl {size / 2**20:.0f} MB, read from {child['source']}", flush=True)
    print(json.dumps({
        "records": args.records, "jsonl_mb": round(size / 2**20, 1), "source": child["source"],
        "read_s": round(child["read_s"], 3), "figures_s": round(child["figures_s"], 3), "open_s": round(open_s, 3),
        "peak_mb_above_baseline": round(above, 1), "baseline_mb": round(child["base_mb"], 1),
        "n_batches": child["n_batches"], "target_open_s": 3.0, "target_mb": 300,
        "meets_target": open_s <= 3.0 and above <= 300, "load_average": os.getloadavg()[0],
    }))  # fmt: skip


if __name__ == "__main__":
    main()
