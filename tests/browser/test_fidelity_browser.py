"""Issue 19 in Chromium: the landscape keeps its controls on explorer → landscape → explorer → landscape, the
one-hot cast is one click, and the ``log`` transform gives the KLDivLoss tutorial's number."""

from __future__ import annotations

import urllib.parse
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from tests.browser.helpers import Server, assert_clean, metric_value, open_page, radio, screenshot, wait_idle

pytestmark = pytest.mark.browser


def _go(page: Any, name: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a').filter(has_text=name).first.click()
    wait_idle(page)


def test_landscape_controls_survive_the_round_trip(app: Server, page: Any) -> None:
    open_page(page, app.url + "/landscape?ls_res=101&ls_steps=45&ls_arrows=false")
    assert_clean(page)
    assert "ls_res=101" in page.url and "ls_steps=45" in page.url and "ls_arrows=false" in page.url
    for _ in range(2):
        _go(page, "Explore a loss")
        _go(page, "Loss landscape")
        assert_clean(page)
        url = page.url
        assert "ls_res=101" in url and "ls_steps=45" in url and "ls_arrows=false" in url, url
        steps = page.locator('[data-testid="stNumberInput"]').filter(has_text="Descent steps").locator("input")
        assert steps.first.input_value() == "45"
    screenshot(page, "fidelity_round_trip")


def test_one_hot_cast_is_one_click(app: Server, page: Any) -> None:
    q = {"loss": "CrossEntropyLoss", "t_input": "[[1., 2, 3, 4], [1, 2, 3, 4]]", "t_target": "1, 0, 0, 0\n0, 1, 0, 0"}
    open_page(page, app.url + "/?" + urllib.parse.urlencode(q))
    page.get_by_role("button", name="Cast target to float").click()
    wait_idle(page)
    want = F.cross_entropy(torch.tensor([[1.0, 2, 3, 4], [1, 2, 3, 4]]), torch.tensor([[1.0, 0, 0, 0], [0, 1, 0, 0]]))
    assert metric_value(page) == f"{float(want):.6g}"
    screenshot(page, "fidelity_one_hot_cast")


def test_log_transform_in_the_browser(app: Server, page: Any) -> None:
    q = {"loss": "KLDivLoss", "reduction": "batchmean", "t_input": "[[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]]",
         "t_target": "[[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]]"}
    open_page(page, app.url + "/?" + urllib.parse.urlencode(q))
    radio(page, "Apply to the input first", "log")
    wait_idle(page)
    p = torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
    want = F.kl_div(torch.log(p), torch.tensor([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]]), reduction="batchmean")
    assert metric_value(page) == f"{float(want):.6g}"
    assert "transform=log" in page.url
