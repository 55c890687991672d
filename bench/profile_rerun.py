"""Where a page rerun's time goes: cProfile over AppTest reruns of one page, in one process.

What a student's click costs the server is one rerun of the page's script. This runs the page
once (imports, first caches), then ``--reruns`` more times alternating two inputs (as the load
bench's students do), under cProfile, and prints the functions with the largest cumulative time
that live in lossviz/, pages/ or plotly (the pieces a cache could save), then one JSON object:
median rerun time and the top entries.

    .venv/bin/python bench/profile_rerun.py --page explorer [--reruns 20]
    .venv/bin/python bench/profile_rerun.py --page lessons
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--page", choices=["explorer", "lessons", "landscape"], default="explorer")
    ap.add_argument("--reruns", type=int, default=20)
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / f"{args.page}.py"), default_timeout=180)
    if args.page == "explorer":
        at.query_params["ex"] = "ce_4x4_mean"
    elif args.page == "lessons":
        at.query_params["lesson"] = "ce_forms"
        at.query_params["step"] = "1"
    at.run()
    assert not at.exception, at.exception

    def act(k: int) -> None:
        if args.page == "explorer":
            red = next(r for r in at.radio if r.label == "Reduction")
            red.set_value("sum" if k % 2 == 0 else "mean")
        elif args.page == "lessons":
            nxt = [b for b in at.button if b.key and b.key.startswith("le_next") and not b.disabled]
            back = [b for b in at.button if b.key and b.key.startswith("le_back") and not b.disabled]
            (nxt if (k // 4) % 2 == 0 and nxt else back or nxt)[0].click()

    # AppTest runs the script in a thread of its own: profile inside that thread, around each script run
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    prof = cProfile.Profile()
    original = ScriptRunner._run_script

    def profiled(self: object, *a: object, **kw: object) -> object:
        prof.enable()
        try:
            return original(self, *a, **kw)
        finally:
            prof.disable()

    ScriptRunner._run_script = profiled  # type: ignore[method-assign]
    times = []
    for k in range(args.reruns):
        act(k)
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
        assert not at.exception, at.exception
    stats = pstats.Stats(prof)
    rows = []
    for (file, line, func), (_cc, _nc, _tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = file.replace(str(ROOT) + "/", "")
        if where.startswith(("lossviz/", "pages/")) or "/plotly/" in where:
            rows.append((ct, f"{where.split('site-packages/')[-1]}:{line} {func}"))
    rows.sort(reverse=True)
    per = 1000 / max(1, args.reruns)
    for ct, name in rows[: args.top]:
        print(f"{ct * per:8.1f} ms/rerun  {name}")
    print(json.dumps({"page": args.page, "reruns": args.reruns,
                      "median_ms": round(statistics.median(times) * 1e3, 1),
                      "top_ms_per_rerun": {name: round(ct * per, 1) for ct, name in rows[:8]}}))


if __name__ == "__main__":
    main()
