"""Nothing is cut off at a student laptop's 1024 px or at 1400 px, in either language.

Each page is opened at both widths and in both languages. The checks are the ones a student would
notice: no sideways scrolling of the whole page, no select box (its shown value included) or radio label
shortened with "…" (today's bug list had "mear" for mean and "A." for Arrows), no metric label cut, no
formula running out of its column (formulas are scaled to fit), and every chart at least 300 px wide (charts stack instead of shrinking). A screenshot of each lands in
test-artifacts/browser/layout-<page>-<lang>-<width>.png.
"""

from __future__ import annotations

from typing import Any

import pytest

from lossviz.classroom import BODY_PX
from tests.browser.helpers import Server, assert_clean, open_page, screenshot

pytestmark = pytest.mark.browser

PAGES = [
    ("explorer", "/?ex=ce_4x4_mean"),
    ("landscape", "/landscape"),
    ("training", "/training"),
    ("lessons", "/lessons?lesson=ce_forms&step=2"),
    ("explorer-present", "/?ex=ce_4x4_mean&present=1"),  # projector fonts: the formula still fits its column
]

LAYOUT_JS = """() => {
  const main = document.querySelector('[data-testid="stMain"]');
  const cut = (el) => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1;
  const text = (el) => (el.innerText || '').trim().slice(0, 60);
  const leaves = (sel) => Array.from(main.querySelectorAll(sel))
      .filter(el => el.childElementCount === 0 && text(el));
  const selects = leaves('[data-testid="stSelectbox"] [data-baseweb="select"] div').filter(cut).map(text)
      .concat(Array.from(main.querySelectorAll('[data-testid="stSelectbox"] input')).filter(cut)
              .map(el => el.value.slice(0, 60)));  // the shown value is an <input> in Streamlit 1.67
  const radios = leaves('[data-testid="stRadio"] label div, [data-testid="stRadio"] label p').filter(cut).map(text);
  const labels = leaves('[data-testid="stWidgetLabel"] p, [data-testid="stMetricLabel"] p, '
      + '[data-testid="stCheckbox"] p').filter(cut).map(text)
      // Streamlit shortens labels on a wrapper (class stMarkdownEllipsis), not on the text's own element
      .concat(Array.from(main.querySelectorAll('.stMarkdownEllipsis')).filter(cut).map(text));
  // KaTeX's invisible struts overhang by 2 px (lossviz.classroom.FORMULA_SLACK_PX): more is a cut formula
  const formulas = Array.from(main.querySelectorAll('.katex-display'))
      .filter(el => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 3).map(text);
  const charts = Array.from(main.querySelectorAll('.js-plotly-plot'))
      .map(el => el.getBoundingClientRect().width).filter(w => w > 0);
  const typed = Array.from(main.querySelectorAll('input[type="text"], input:not([type]), textarea'))
      .filter(el => el.offsetParent !== null).map(el => parseFloat(getComputedStyle(el).fontSize));
  return {overflow: document.documentElement.scrollWidth - window.innerWidth, selects, radios, labels, formulas,
          charts, typed};
}"""


@pytest.mark.parametrize("width", [1024, 1400])
@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("name", "path"), PAGES, ids=[p[0] for p in PAGES])
def test_nothing_is_cut_off(app: Server, browser: Any, name: str, path: str, lang: str, width: int) -> None:
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    try:
        open_page(page, app.url + path + ("&" if "?" in path else "?") + f"lang={lang}")
        assert_clean(page)
        m = page.evaluate(LAYOUT_JS)
        screenshot(page, f"layout-{name}-{lang}-{width}")
        assert m["overflow"] <= 1, m
        assert not m["selects"], m["selects"]
        assert not m["radios"], m["radios"]
        assert not m["labels"], m["labels"]
        assert not m["formulas"], m["formulas"]
        assert all(w >= 300 for w in m["charts"]), m["charts"]
        if "present=1" in path:  # what the teacher types is as readable from the back as the text around it
            assert m["typed"] and min(m["typed"]) >= BODY_PX, m["typed"]
    finally:
        ctx.close()
