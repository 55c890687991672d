"""Measure: does every loss's formula fit its column in the explorer, in a real browser?

Starts ``streamlit run app.py`` on a free port, opens the explorer for every catalog loss in Debian's
Chromium at ``--width`` px (in ``--lang``, optionally in presentation mode), opens the derivation's
expanders, and compares each displayed formula's width (``.katex-display`` scrollWidth) with its
column's (clientWidth). KaTeX's invisible struts overhang by 2 px, so a formula counts as too wide
only beyond lossviz.classroom.FORMULA_SLACK_PX.

Run: ``.venv/bin/python bench/formula_widths.py [--width 1024] [--lang en] [--present]``
The last line is one JSON object: ``losses``, ``formulas`` measured, ``too_wide`` (loss, width, room).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from lossviz.classroom import FORMULA_SLACK_PX  # noqa: E402
from lossviz.losses import list_losses  # noqa: E402
from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, IDLE_JS, start_server, stop_server  # noqa: E402

MEASURE_JS = """() => [...document.querySelectorAll('.katex-display')]
  .filter(e => e.offsetParent !== null).map(e => [e.scrollWidth, e.clientWidth])"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--lang", default="en", choices=["en", "zh"])
    ap.add_argument("--present", action="store_true")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp())
    server = start_server(tmp / "runs", tmp / "data", tmp / "server.log")
    measured, too_wide = 0, []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": args.width, "height": 900}).new_page()
            for name in list_losses():
                query = f"?loss={name}&lang={args.lang}" + ("&present=1" if args.present else "")
                page.goto(server.url + "/" + query)
                page.wait_for_function(IDLE_JS, timeout=90_000)
                for summary in page.locator('[data-testid="stExpander"] summary').all():
                    summary.click(timeout=5_000)
                time.sleep(1.0)  # the fitting script runs on the next animation frame after a change
                for need, room in page.evaluate(MEASURE_JS):
                    measured += 1
                    if need > room + FORMULA_SLACK_PX:
                        too_wide.append([name, need, room])
            browser.close()
    finally:
        stop_server(server)
    print(json.dumps({"width": args.width, "lang": args.lang, "present": args.present,
                      "losses": len(list_losses()), "formulas": measured, "too_wide": too_wide}))  # fmt: skip


if __name__ == "__main__":
    main()
