"""A class in a real room (issue 18), in Chromium at 1024x768: the QR decodes to the page as it is now,
keys step a lesson, presentation mode holds (sidebar folded, answer above the fold, readable charts),
and students follow the teacher. One server for the module (the session's ``app`` fixture)."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from lossviz.classroom import contrast_ratio
from tests.browser.helpers import assert_clean, choose, open_page, screenshot, wait_idle

ROOM = {"width": 1024, "height": 768}
SIDEBAR = '[data-testid="stSidebar"]'


def _ctx(browser: Any) -> Any:
    ctx = browser.new_context(viewport=ROOM)
    return ctx


def _open_sidebar(page: Any) -> None:
    if page.locator(SIDEBAR).get_attribute("data-collapsed") != "false":
        page.locator('[data-testid="stExpandSidebarButton"]').click()  # one click brings it back
        page.wait_for_function("s => document.querySelector(s).getAttribute('data-collapsed') === 'false'", arg=SIDEBAR)
        page.wait_for_timeout(400)


def _expander(page: Any, title: str) -> Any:
    box = page.locator(f'{SIDEBAR} [data-testid="stExpander"]').filter(has_text=title).first
    summary = box.locator("summary")
    if box.locator("details").get_attribute("open") is None:
        summary.click()
        page.wait_for_timeout(400)
    return box


def decode_qr(page: Any, share_title: str = "Share") -> str:
    """Open the share box, screenshot its QR image and decode it as a phone would."""
    import zxingcpp
    from PIL import Image

    _open_sidebar(page)
    box = _expander(page, share_title)
    img = box.locator("img").first
    img.wait_for(state="visible")
    img.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    shot = Image.open(io.BytesIO(img.screenshot()))
    found = zxingcpp.read_barcodes(shot)
    assert found, "no QR code could be decoded from the share box"
    return found[0].text


def _query(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def test_qr_encodes_the_page_as_it_is_now(browser: Any, app: Any) -> None:
    ctx = _ctx(browser)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    try:
        junk = "x" * 1300
        open_page(page, f"{app.url}/?lang=en&present=1&next=http://evil.example&junk={junk}")
        assert page.locator(SIDEBAR).get_attribute("data-collapsed") == "true", "presentation mode folds the sidebar"
        url = decode_qr(page)
        q = _query(url)
        assert "present" not in q and "next" not in q and "junk" not in q and "evil" not in url, url
        assert q.get("loss"), url
        # a preset: the QR follows at once
        choose(page, "Example", "MSELoss on the same numbers", exact=True)
        page.wait_for_timeout(300)
        page.locator(f'{SIDEBAR} [class*="st-key-w_load"] button').click()
        wait_idle(page)
        q = _query(decode_qr(page))
        screenshot(page, "classroom-qr-preset")
        assert q.get("ex") == "mse_mean" == _query(page.url).get("ex") and q.get("loss") == "MSELoss", (q, page.url)
        # a lesson's Next
        open_page(page, f"{app.url}/lessons?lesson=reduction&step=1")
        page.locator('[class*="st-key-le_next_top"] button').click()
        wait_idle(page)
        q = _query(decode_qr(page))
        assert q.get("step") == "2" and "present" not in q, q
        # a landscape view change, in Chinese
        open_page(page, f"{app.url}/landscape?lang=zh")
        page.locator('[data-testid="stMain"] [role="tab"]').nth(1).click()
        wait_idle(page)
        q = _query(decode_qr(page, "分享"))
        assert q.get("lang") == "zh" and q.get("ls_view") and q.get("loss"), q
        assert urlsplit(decode_qr(page, "分享")).path == "/landscape"
        assert_clean(page)
    finally:
        ctx.close()


def test_keys_step_a_lesson(browser: Any, app: Any) -> None:
    ctx = _ctx(browser)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    try:
        for lang in ("en", "zh"):
            open_page(page, f"{app.url}/lessons?lesson=reduction&step=1&lang={lang}")
            page.locator('[data-testid="stMain"] h1').first.click()  # focus on the page, not a text box
            for key, step in (("ArrowRight", "2"), ("PageDown", "3"), ("ArrowLeft", "2"), ("Space", "3"),
                              ("PageUp", "2")):
                page.keyboard.press(key)
                page.wait_for_function("s => new URLSearchParams(location.search).get('step') === s", arg=step)
                wait_idle(page)
    finally:
        ctx.close()


TICKS_JS = """() => {
  const out = [];
  for (const c of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {
    for (const t of c.querySelectorAll('.xtick text, .ytick text, .xtitle, .ytitle, .g-xtitle text, .g-ytitle text')) {
      const cs = getComputedStyle(t);
      out.push({size: parseFloat(t.style.fontSize || cs.fontSize), fill: t.style.fill || cs.fill, text: t.textContent});
    }
  }
  return out;
}"""


#: The page's first heading is not under an opaque header bar (the bar is see-through in presentation
#: mode, or the heading starts below it).
HEADING_CLEAR_JS = r"""() => {
  const h = document.querySelector('[data-testid="stMain"] h1, [data-testid="stMain"] h2');
  const bar = document.querySelector('[data-testid="stHeader"]');
  if (!h || !bar) return 'no heading or no header';
  const bg = getComputedStyle(bar).backgroundColor;
  const clear = bg === 'transparent' || /rgba\(.*,\s*0\)$/.test(bg);
  return clear || h.getBoundingClientRect().top >= bar.getBoundingClientRect().bottom ? '' : bg;
}"""
OVERLAP_JS = """() => {
  const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const out = [];
  for (const c of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {
    const titles = [...c.querySelectorAll('.xtitle, .ytitle')].map(t => t.getBoundingClientRect());
    const over = [...c.querySelectorAll('.legend, .updatemenu-container, .slider-container')]
      .map(t => t.getBoundingClientRect()).filter(r => r.width > 0);
    for (const t of titles) for (const o of over) if (hit(t, o)) out.push((c.querySelector('.gtitle') || {}).textContent || '?');
  }
  return out;
}"""


def _hex(rgb: str) -> str:
    nums = [int(float(x)) for x in re.findall(r"[\d.]+", rgb)[:3]]
    return "#" + "".join(f"{n:02x}" for n in nums) if len(nums) == 3 else rgb


def _boxes(page: Any, sel: str) -> list[dict[str, float]]:
    return page.evaluate("s => [...document.querySelectorAll(s)].map(e => { const r = e.getBoundingClientRect();"
                         " return {top: r.top + scrollY, bottom: r.bottom + scrollY, h: r.height}; })", sel)


@pytest.fixture(scope="module")
def finished_run(app: Any) -> str:
    """A short synthetic run in the server's runs folder (the training page shows its charts)."""
    env = {**os.environ, "LOSSVIZ_RUNS": str(app.runs_dir)}
    subprocess.run([sys.executable, "-m", "lossviz", "train", "--synthetic", "--max-batches", "20", "--name",
                    "room-run", "--quiet"], env=env, check=True, timeout=300, capture_output=True)
    return "room-run"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_presentation_mode_holds_at_1024x768(browser: Any, app: Any, lang: str, finished_run: str) -> None:
    ctx = _ctx(browser)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    try:
        open_page(page, f"{app.url}/?present=1&lang={lang}")
        page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg')
        metric = _boxes(page, '[data-testid="stMetricValue"]')[0]
        first_chart = _boxes(page, '[data-testid="stPlotlyChart"]')[0]
        assert metric["bottom"] <= 768, metric
        assert first_chart["bottom"] <= 768, first_chart
        for where in ("/", "/lessons?lesson=reduction&step=2", "/landscape", "/training"):
            open_page(page, f"{app.url}{where}{'&' if '?' in where else '?'}present=1&lang={lang}")
            page.wait_for_selector('[data-testid="stPlotlyChart"] .main-svg')
            page.wait_for_timeout(800)
            ticks = page.evaluate(TICKS_JS)
            assert ticks, where
            small = [t for t in ticks if t["size"] < 18]
            faint = [t for t in ticks if t["fill"].startswith("rgb") and contrast_ratio(_hex(t["fill"]), "#ffffff") < 7]
            assert not small and not faint, (where, small[:5], faint[:5])
            assert not page.evaluate(OVERLAP_JS), (where, "a legend or animation control lies over an axis title")
            assert page.evaluate(HEADING_CLEAR_JS) == "", (where, "the header bar hides the top of the page's title")
            if where.startswith("/lessons"):  # the step's text and chart
                chart = _boxes(page, '[data-testid="stPlotlyChart"]')[0]
                assert chart["bottom"] <= 768, (where, chart)
            if where.startswith("/training"):  # the run's loss chart: its plot and x-axis title (the legend under it)
                page.wait_for_selector('[class*="st-key-tr_fig_loss"] .xtitle')
                title = _boxes(page, '[class*="st-key-tr_fig_loss"] .xtitle')[0]
                assert title["bottom"] <= 768, (where, title)
            assert_clean(page)
    finally:
        ctx.close()


def _class_link(page: Any) -> str:
    box = _expander(page, "Class")
    box.locator('[class*="st-key-lv_class_start"] button').click()
    wait_idle(page)
    box = _expander(page, "Class")
    code = box.locator('[data-testid="stCode"]').first
    code.wait_for(state="visible")
    return code.inner_text().strip()


def _wait_url(page: Any, test: Any, timeout_s: float = 45) -> None:
    deadline = time.monotonic() + timeout_s
    while not test(page.url):
        assert time.monotonic() < deadline, page.url
        page.wait_for_timeout(200)


def test_students_follow_the_teacher(browser: Any, app: Any) -> None:
    teacher_ctx, student_ctx, other_ctx = (browser.new_context(viewport={"width": 1400, "height": 1000})
                                           for _ in range(3))
    try:
        teacher = teacher_ctx.new_page()
        open_page(teacher, f"{app.url}/lessons?lesson=reduction&step=1")
        link = _class_link(teacher)
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?class=[a-z0-9]{8}", link), link
        assert "lossviz_class" in {c["name"] for c in teacher_ctx.cookies()}
        student = student_ctx.new_page()
        open_page(student, link)
        _wait_url(student, lambda u: "/lessons" in u and "step=1" in u)
        # three changes: a Next, a language, a page
        teacher.locator('[class*="st-key-le_next_top"] button').click()
        wait_idle(teacher)
        _wait_url(student, lambda u: "step=2" in u)
        open_page(teacher, f"{app.url}/lessons?lesson=reduction&step=2&lang=zh")
        _wait_url(student, lambda u: "lang=zh" in u)
        open_page(teacher, f"{app.url}/landscape?lang=zh")
        _wait_url(student, lambda u: "/landscape" in u)
        wait_idle(student)
        # the student leaves, the teacher moves on, the student stays; back to the teacher follows again
        _open_sidebar(student)
        _expander(student, "课堂").locator('[class*="st-key-lv_class_leave"] button').click()
        wait_idle(student)
        open_page(teacher, f"{app.url}/lessons?lesson=reduction&step=3&lang=zh")
        student.wait_for_timeout(2500)
        assert "/landscape" in student.url
        _expander(student, "课堂").locator('[class*="st-key-lv_class_back"] button').click()
        _wait_url(student, lambda u: "/lessons" in u and "step=3" in u)
        # someone with the class link but without the teacher's cookie cannot lead
        other = other_ctx.new_page()
        open_page(other, link)
        _wait_url(other, lambda u: "step=3" in u)
        _open_sidebar(other)
        assert other.locator('[class*="st-key-lv_class_end"]').count() == 0
        _expander(other, "课堂").locator('[class*="st-key-lv_class_leave"] button').click()
        wait_idle(other)
        open_page(other, f"{app.url}/lessons?lesson=reduction&step=1&lang=zh")
        student.wait_for_timeout(2500)
        assert "step=3" in student.url, "a student's own page never moves the class"
        assert_clean(student)
    finally:
        for c in (teacher_ctx, student_ctx, other_ctx):
            c.close()


ANIM = '[class*="st-key-ls_fig_anim"] .js-plotly-plot'
STATE_JS = """s => { const gd = document.querySelector(s); if (!gd || !gd._fullLayout) return null;
  return {active: (gd._fullLayout.sliders && gd._fullLayout.sliders[0]) ? gd._fullLayout.sliders[0].active : null,
          steps: (gd._fullLayout.sliders && gd._fullLayout.sliders[0]) ? gd._fullLayout.sliders[0].steps.length : 0,
          contours: gd.querySelectorAll('.contourlayer path').length}; }"""


def test_descent_keeps_its_contour_in_every_frame_and_keys_step_it(browser: Any, app: Any) -> None:
    """Issue 18: ▶ used to erase the contour (12 paths -> 0). In presentation mode → steps the animation.

    The contour fix is h1-weightspace's (lossviz/landscape/figures.py): until it is merged, this test skips."""
    import inspect

    import lossviz.landscape.figures as lf

    if "redraw" not in inspect.getsource(lf.make_descent_animation_figure).replace("redraw=False", ""):
        pytest.skip("needs h1-weightspace's contour-in-every-frame fix (the lead runs this after merging it)")
    ctx = _ctx(browser)
    page = ctx.new_page()
    page.set_default_timeout(60_000)
    try:
        open_page(page, f"{app.url}/landscape?loss=MSELoss&ls_view=Descent&ls_steps=6&present=1")
        page.wait_for_selector(ANIM + " .contourlayer path")
        start = page.evaluate(STATE_JS, ANIM)
        assert start["contours"] > 0 and start["steps"] >= 3, start
        page.locator('[data-testid="stMain"] h1').first.click()
        for k in range(1, min(start["steps"], 6)):
            page.keyboard.press("ArrowRight")
            page.wait_for_function(f"s => {{ const gd = document.querySelector(s); return gd._fullLayout.sliders[0].active === {k}; }}",
                                   arg=ANIM)
            page.wait_for_timeout(700)  # the frame's transition
            now = page.evaluate(STATE_JS, ANIM)
            assert now["contours"] > 0, (k, now)
        page.keyboard.press("ArrowLeft")
        page.wait_for_function("s => document.querySelector(s)._fullLayout.sliders[0].active === " + str(k - 1), arg=ANIM)
        assert page.evaluate(STATE_JS, ANIM)["contours"] > 0
    finally:
        ctx.close()
