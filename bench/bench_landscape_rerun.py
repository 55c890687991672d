"""Benchmark: the landscape page's rerun time once the surface is cached (AppTest, median of 20).

Three kinds of rerun, each timed ``--reruns`` times after a warm-up:

- ``plain``: nothing changed (what every unrelated interaction elsewhere costs);
- ``toggle``: the arrows checkbox flips each time (a widget that must not recompute the surface);
- ``tab``: switching between the Surface and Loss curve tabs.

Run: ``.venv/bin/python bench/bench_landscape_rerun.py [--reruns 20] [--res 101]``
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)
os.environ.setdefault("STREAMLIT_GLOBAL_DISABLE_WIDGET_STATE_DUPLICATION_WARNING", "true")


def _timed(at, n: int, before=None) -> list[float]:  # noqa: ANN001
    out = []
    for i in range(n):
        if before is not None:
            before(at, i)
        t0 = time.perf_counter()
        at.run()
        out.append((time.perf_counter() - t0) * 1000)
        if at.exception:
            raise SystemExit(f"page raised: {[e.value for e in at.exception]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reruns", type=int, default=20)
    ap.add_argument("--res", type=int, default=101)
    ap.add_argument("--loss", default="MSELoss")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    import logging

    logging.getLogger("streamlit").setLevel(logging.ERROR)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / "landscape.py"), default_timeout=300)
    at.query_params["ls_res"] = str(a.res)
    at.query_params["ls_loss"] = a.loss
    t0 = time.perf_counter()
    at.run()
    first_ms = (time.perf_counter() - t0) * 1000
    if at.exception:
        raise SystemExit(f"page raised: {[e.value for e in at.exception]}")
    _timed(at, 2)  # warm

    plain = _timed(at, a.reruns)

    def flip(app, i):  # noqa: ANN001, ANN202
        app.checkbox(key="ls_arrows").set_value(i % 2 == 0)

    _timed(at, 2, flip)  # both figure variants cached
    toggle = _timed(at, a.reruns, flip)

    def tab(app, i):  # noqa: ANN001, ANN202
        app.session_state["ls_view"] = "Loss curve" if i % 2 == 0 else "Surface"

    _timed(at, 2, tab)
    tabs = _timed(at, a.reruns, tab)

    res = {
        "page": "landscape",
        "loss": a.loss,
        "resolution": a.res,
        "reruns": a.reruns,
        "first_run_ms": round(first_ms, 1),
        "rerun_median_ms": round(statistics.median(plain), 1),
        "rerun_p90_ms": round(sorted(plain)[int(0.9 * (len(plain) - 1))], 1),
        "toggle_median_ms": round(statistics.median(toggle), 1),
        "tab_switch_median_ms": round(statistics.median(tabs), 1),
        "target_ms": 300,
        "target_met": statistics.median(plain) <= 300,
    }
    print(json.dumps(res))


if __name__ == "__main__":
    main()
