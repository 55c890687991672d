"""The landscape page in a real browser: change the resolution and the varied elements; the loss
surface (contours and 3-D) and the gradient field (the arrows of -grad L) are drawn again."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.helpers import (
    Server,
    assert_charts_drawn,
    assert_clean,
    charts,
    choose,
    open_page,
    screenshot,
    wait_idle,
    widget,
)

pytestmark = pytest.mark.browser


def _figures(page: Any) -> dict[str, dict[str, Any]]:
    """The contour map (with the gradient field) and the 3-D surface, by title."""
    out = {}
    for c in charts(page):
        if "contours" in c["title"]:
            out["contour"] = c
        elif "surface" in c["title"]:
            out["surface"] = c
    assert set(out) == {"contour", "surface"}, [c["title"] for c in charts(page)]
    return out


def _arrows(fig: dict[str, Any]) -> str:
    """The gradient-field trace's part of a chart's data signature."""
    import json

    traces = json.loads(fig["signature"])
    found = [t for t in traces if "∇L" in t[0]]
    assert found, traces
    return json.dumps(found)


def _redrawn(page: Any, before: dict[str, dict[str, Any]], limit_ms: int = 30_000) -> dict[str, dict[str, Any]]:
    """The figures once both charts differ from ``before`` (Plotly may draw a moment after the app is idle,
    the 3-D surface on a software renderer especially); after ``limit_ms`` the last reading, for the asserts."""
    waited = 0
    while True:
        now = _figures(page)
        if all(now[k]["signature"] != before[k]["signature"] for k in ("contour", "surface")) or waited >= limit_ms:
            return now
        page.wait_for_timeout(250)
        waited += 250


def test_resolution_and_elements_redraw(app: Server, page: Any) -> None:
    from playwright.sync_api import expect

    open_page(page, app.url + "/landscape?loss=MSELoss&t_input=2.0,-1.0,0.5&t_target=0.5,1.0,0.5")
    assert_clean(page)
    assert_charts_drawn(page, 2)
    before = _figures(page)
    expect(page.get_by_text(re.compile(r"^101×101 grid"))).to_be_visible()

    # resolution 101 -> 81: one step left on the slider, like a keyboard user
    thumb = widget(page, "stSlider", "Resolution (points per axis)").get_by_role("slider")
    thumb.focus()
    thumb.press("ArrowLeft")
    expect(page.get_by_text(re.compile(r"^81×81 grid"))).to_be_visible(timeout=60_000)
    wait_idle(page)
    assert_clean(page)
    assert_charts_drawn(page, 2)
    coarse = _redrawn(page, before)
    assert coarse["contour"]["signature"] != before["contour"]["signature"]
    assert coarse["surface"]["signature"] != before["surface"]["signature"]
    assert "ls_res=81" in page.url
    screenshot(page, "landscape-1-resolution-81")

    # vary another element on the x axis: the surface and the arrows change
    label = "x axis: vary this number"
    expect(page.get_by_role("combobox", name=label)).to_have_value(re.compile(r"^ŷ₀"))
    choose(page, label, re.compile(r"^ŷ₂"))
    expect(page.get_by_role("combobox", name=label)).to_have_value(re.compile(r"^ŷ₂"), timeout=30_000)
    expect(page.get_by_text(re.compile(r"∂L/∂ŷ₂"))).to_be_visible(timeout=60_000)
    wait_idle(page)
    assert_clean(page)
    assert_charts_drawn(page, 2)
    moved = _redrawn(page, coarse)
    assert moved["contour"]["signature"] != coarse["contour"]["signature"]
    assert moved["surface"]["signature"] != coarse["surface"]["signature"]
    assert _arrows(moved["contour"]) != _arrows(coarse["contour"])
    screenshot(page, "landscape-2-x-element")
