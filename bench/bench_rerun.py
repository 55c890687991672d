"""Explorer page rerun time: AppTest, median of N reruns per preset, in one process.

A rerun is what a student's click costs on the server: the whole script runs
again (parse, evaluate, derive, build figures). Prints one JSON object last.

    .venv/bin/python bench/bench_rerun.py [--reruns 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reruns", type=int, default=20)
    ap.add_argument("--presets", default="ce_single,ce_4x4_mean,mse_random50,kl_batchmean")
    args = ap.parse_args()
    from streamlit.testing.v1 import AppTest

    results: dict[str, dict[str, float]] = {}
    for key in args.presets.split(","):
        at = AppTest.from_file(str(ROOT / "pages" / "explorer.py"), default_timeout=120)
        at.query_params["ex"] = key
        at.run()
        assert not at.exception, key
        times = []
        for _ in range(args.reruns):
            t0 = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - t0)
        assert not at.exception and len(at.metric) == 1
        results[key] = {"median_ms": statistics.median(times) * 1e3, "p90_ms": sorted(times)[int(0.9 * len(times)) - 1] * 1e3}
        print(f"{key:16s} median {results[key]['median_ms']:7.1f} ms  p90 {results[key]['p90_ms']:7.1f} ms", flush=True)
    worst = max(results, key=lambda k: results[k]["median_ms"])
    print(
        json.dumps(
            {
                "page": "explorer",
                "reruns": args.reruns,
                "median_ms": {k: round(v["median_ms"], 1) for k, v in results.items()},
                "worst_median_ms": round(results[worst]["median_ms"], 1),
                "worst_preset": worst,
            }
        )
    )


if __name__ == "__main__":
    main()
