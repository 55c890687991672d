"""The training page's weight landscape in a real browser: a finished run, the random plane (the path
collapses to a dot, with the sentence that says why), then the PCA plane (the path spread across the
valley); screenshots at 1400 px for a human to look at."""

from __future__ import annotations

from typing import Any

import pytest

from lossviz.training.trainer import TrainConfig, Trainer
from tests.browser.helpers import (
    Server,
    assert_charts_drawn,
    assert_clean,
    open_page,
    screenshot,
    wait_idle,
    widget,
)

pytestmark = pytest.mark.browser

TITLE = "⛰️ The network's own loss landscape"
COMPUTE = "Compute the landscape"


def _wait_for_done(page: Any, limit_ms: int = 240_000) -> None:
    page.get_by_text("points on", exact=False).first.wait_for(timeout=limit_ms)
    wait_idle(page)


def test_weight_landscape_with_path(app: Server, page: Any) -> None:
    from playwright.sync_api import expect

    Trainer(
        TrainConfig(dataset="synthetic", synthetic_train=2000, synthetic_test=200, epochs=2, evaluate=False),
        runs_dir=app.runs_dir,
        run_name="landscape-demo",
    ).run()
    open_page(page, app.url + "/training")
    page.get_by_text(TITLE).first.click()
    wait_idle(page)
    box = widget(page, "stNumberInput", "Test images").locator("input")
    box.fill("32")  # a quarter of the default keeps the test short on a shared 2-core machine
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name=COMPUTE).click()
    _wait_for_done(page)
    assert_clean(page)
    found = assert_charts_drawn(page, 7)  # the run's 4 charts, contour, surface, line
    titles = [c["title"] for c in found]
    assert any(t.startswith("Loss over a 2-D slice") for t in titles), titles
    expect(page.get_by_text("Why does the path hardly show on the random plane?", exact=False)).to_be_visible()
    page.get_by_text(TITLE).first.scroll_into_view_if_needed()
    screenshot(page, "weight-landscape-random")

    page.get_by_text("top two PCA directions of the path", exact=True).click()
    wait_idle(page)
    page.get_by_role("button", name=COMPUTE).click()
    page.wait_for_timeout(1000)
    _wait_for_done(page)
    assert_clean(page)
    found = assert_charts_drawn(page, 7)
    assert any("PC 1" in c["signature"] or c["title"].startswith("Loss over") for c in found)
    screenshot(page, "weight-landscape-pca")
