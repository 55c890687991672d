"""The explorer in a real browser: load a preset, change the loss and the reduction, type a bad
input and fix it - each time the value on the page is the one lossviz (i.e. torch) computes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lossviz.explore.example import Example
from lossviz.explore.presets import get_preset
from tests.browser.helpers import (
    Server,
    assert_charts_drawn,
    assert_clean,
    choose,
    open_page,
    radio,
    screenshot,
    type_text,
    wait_idle,
)

pytestmark = pytest.mark.browser

METRIC = '[data-testid="stMetricValue"]'
ERROR = '[data-testid="stAlertContentError"]'


def shown(ex: Example) -> str:
    """How the page prints the value of ``ex`` (st.metric with 6 significant digits)."""
    return f"{ex.evaluate().value:.6g}"


def expect_value(page: Any, value: str) -> None:
    """The value shows up, and once the run is over it is the only one (a rerun may briefly keep the old one)."""
    from playwright.sync_api import expect

    expect(page.locator(METRIC).filter(has_text=re.compile(f"^{re.escape(value)}$"))).to_have_count(1, timeout=60_000)
    wait_idle(page)
    expect(page.locator(METRIC)).to_have_text(value, timeout=30_000)


def test_preset_loss_reduction_and_bad_input(app: Server, page: Any) -> None:
    from playwright.sync_api import expect

    open_page(page, app.url + "/")
    assert_clean(page)

    # 1. a preset: the tutorial's 4x4 cross-entropy with reduction 'mean'
    preset = get_preset("ce_4x4_mean")
    ex = Example.from_preset(preset)
    choose(page, "Example", preset.title, exact=True)
    page.get_by_role("button", name="Load example").click()
    expect_value(page, shown(ex))
    assert_charts_drawn(page, 2)
    screenshot(page, "explorer-1-preset")

    # 2. another loss: the value changes to MSELoss's on the numbers the page now shows
    choose(page, "Loss function", re.compile(r"^MSELoss$"))
    ex, _ = ex.with_loss("MSELoss")
    expect_value(page, shown(ex))
    mse_mean = page.locator(METRIC).inner_text()

    # 3. another reduction: 'sum' is not 'mean'
    radio(page, "Reduction", "sum")
    ex = ex.replace(reduction="sum")
    expect_value(page, shown(ex))
    assert page.locator(METRIC).inner_text() != mse_mean
    assert_clean(page)
    screenshot(page, "explorer-2-mse-sum")

    # 4. a bad input: a plain sentence naming the problem and the fix, no value, no traceback
    slot = "prediction ŷ · input"
    good_text = ex.texts["input"]
    type_text(page, slot, "1, 2, x")
    error = page.locator(ERROR)
    expect(error).to_be_visible(timeout=60_000)
    wait_idle(page)
    message = error.inner_text()
    assert "'x'" in message and "not a number" in message and "use numbers like" in message, message
    assert page.locator(METRIC).count() == 0
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.locator('[data-testid="stMain"]').inner_text()
    screenshot(page, "explorer-3-bad-input")

    # 5. fixed: the value comes back
    type_text(page, slot, good_text)
    expect_value(page, shown(ex))
    assert_clean(page)
    assert_charts_drawn(page, 2)


def test_shape_mismatch_message_then_fix(app: Server, page: Any) -> None:
    """The tutorial's classic mistake: three targets for one sample of logits."""
    from playwright.sync_api import expect

    open_page(page, app.url + "/")
    ex = Example.default()
    expect_value(page, shown(ex))
    type_text(page, "target (class index or probabilities)", "[1, 0, 1]")
    error = page.locator(ERROR)
    expect(error).to_be_visible(timeout=60_000)
    wait_idle(page)
    assert "batch size 1" in error.inner_text(), error.inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    type_text(page, "target (class index or probabilities)", "[2]")
    expect_value(page, shown(ex.replace(texts={**ex.texts, "target": "[2]"})))
    assert_clean(page)
