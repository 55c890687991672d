"""Explorer → landscape → explorer in a real browser (issue 8): the landscape draws the explorer's own
numbers, a loss picked on the explorer reaches it, and nothing the landscape does replaces the numbers."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.helpers import (
    Server,
    assert_charts_drawn,
    assert_clean,
    choose,
    metric_value,
    open_page,
    screenshot,
    wait_idle,
    widget,
)

pytestmark = pytest.mark.browser


def _go(page: Any, name: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=name).first.click()
    wait_idle(page)


def _texts(page: Any) -> tuple[str, str]:
    def area(label: str) -> str:
        return widget(page, "stTextArea", label).locator("textarea").input_value()

    return area("prediction ŷ · input"), area("target y")


def test_explorer_landscape_explorer_keeps_the_numbers(app: Server, page: Any) -> None:
    from playwright.sync_api import expect

    open_page(page, app.url + "/?ex=l1_sum")
    assert metric_value(page) == "2"
    assert _texts(page) == ("1, 2, 3", "1, 2, 5")

    _go(page, "Loss landscape")
    assert_clean(page)
    assert_charts_drawn(page, 2)
    expect(page.get_by_text(re.compile(r"L1Loss, reduction 'sum', on the example from the explorer"))).to_be_visible()
    page.get_by_role("tab", name="Descent").click()
    wait_idle(page)
    assert "ls_view=Descent" in page.url

    _go(page, "Explore a loss")
    assert _texts(page) == ("1, 2, 3", "1, 2, 5")
    choose(page, "Loss function", re.compile(r"^MSELoss"))
    wait_idle(page)
    assert metric_value(page) == "4"  # (0 + 0 + 2²), summed: the same numbers under MSELoss

    _go(page, "Loss landscape")
    assert_clean(page)
    assert_charts_drawn(page, 2)
    expect(page.get_by_text(re.compile(r"MSELoss, reduction 'sum', on the example from the explorer"))).to_be_visible()
    screenshot(page, "round-trip-landscape")

    _go(page, "Explore a loss")
    assert_clean(page)
    assert _texts(page) == ("1, 2, 3", "1, 2, 5")
    assert metric_value(page) == "4"
    screenshot(page, "round-trip-explorer")
