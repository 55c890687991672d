"""A shared link works on a freshly started server, before anyone has opened "/".

With a pages/ folder beside app.py Streamlit would run a deep-linked page alone in its
legacy mode (raw file names in the sidebar, no page config); the pages hand over to
app.py's st.navigation instead. This test owns its server so nothing visits "/" first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import (
    ARTIFACTS,
    VIEWPORT,
    assert_charts_drawn,
    assert_clean,
    metric_value,
    open_page,
    screenshot,
    start_server,
    stop_server,
)


@pytest.mark.parametrize(
    "path",
    # the landscape link is issue 8's: it used to crash on input the explorer accepts
    ["/explorer?ex=l1_sum", "/training", "/landscape?loss=SoftMarginLoss&t_input=1.5,-0.3,-2.2&t_target=1."],
)
def test_deep_link_on_a_fresh_server(browser: Any, tmp_path: Path, path: str) -> None:
    srv = start_server(tmp_path / "runs", tmp_path / "data", ARTIFACTS / f"server-deeplink{path[:9].replace('/', '-')}.log")
    ctx = browser.new_context(viewport=VIEWPORT)
    try:
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        open_page(page, srv.url + path)
        nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
        screenshot(page, f"deeplink{path.split('?')[0].replace('/', '-')}")
        assert "Explore a loss" in nav and "Watch training" in nav, nav
        assert "app" not in nav.split(), nav  # the legacy file list would start with "app"
        assert "__init__" not in nav, nav  # pages/__init__.py (the shared helper) is never a page
        assert_clean(page)
        if path.startswith("/explorer"):
            assert metric_value(page) == "2"  # the link's example (L1Loss sum) came through
            assert "ex=l1_sum" in page.url
        if path.startswith("/landscape"):
            assert_charts_drawn(page, 2)
            assert "loss=SoftMarginLoss" in page.url
    finally:
        ctx.close()
        stop_server(srv)
