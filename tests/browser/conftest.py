"""Real-browser fixtures: one ``streamlit run app.py`` server and Debian's Chromium via Playwright.

- ``server``: a session-scoped ``streamlit run app.py`` on 127.0.0.1 and a free port, with
  ``LOSSVIZ_RUNS`` and ``LOSSVIZ_DATA`` pointing at temporary folders (so training runs land
  there and the training page uses the synthetic set). It is killed at the end, whatever happens.
- ``browser``: one headless Chromium (``/usr/bin/chromium``; never ``playwright install``).
  Without Chromium or Playwright the browser tests are skipped locally and FAIL when ``CI`` is set.
- ``app``: the server once app.py has run at "/" (see its docstring).
- ``page``: a fresh browser context and page per test; a screenshot of it is saved under
  ``test-artifacts/browser/<test>.png`` when the test ends (``-FAILED`` added on failure).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.helpers import (
    ARTIFACTS,
    VIEWPORT,
    Server,
    chromium_problem,
    launch_chromium,
    open_page,
    screenshot,
    start_server,
    stop_server,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in tests/browser/ is a browser test, even one that forgets the marker."""
    for item in items:
        if "tests/browser/" in str(item.path).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("browser-server")
    srv = start_server(base / "runs", base / "data", ARTIFACTS / "server.log")
    try:
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    problem = chromium_problem()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI, but {problem}")
        pytest.skip(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Any) -> Iterator[Any]:
    b = launch_chromium(playwright_instance)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="session")
def app(browser: Any, server: Server) -> Server:
    """The server after one session has run app.py at "/".

    Works around a Streamlit behaviour (reported to the app's owner): while app.py's
    ``st.navigation`` has not run once in the server process, a first visit straight to
    ``/explorer`` or ``/training`` runs ``pages/<name>.py`` as a legacy pages-folder app (no page
    config, raw file names in the sidebar) - for every session, until someone opens "/".
    """
    ctx = browser.new_context(viewport=VIEWPORT)
    try:
        open_page(ctx.new_page(), server.url + "/")
    finally:
        ctx.close()
    return server


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    ctx = browser.new_context(viewport=VIEWPORT)
    pg = ctx.new_page()
    pg.set_default_timeout(30_000)
    try:
        yield pg
    finally:
        try:
            rep = getattr(request.node, "rep_call", None)
            failed = rep is not None and not rep.passed
            screenshot(pg, request.node.name + ("-FAILED" if failed else ""))
        finally:
            ctx.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    rep = yield
    if rep.when == "call":
        item.rep_call = rep  # type: ignore[attr-defined]
    return rep
