"""The training page in a real browser, with its faults end to end.

- a short synthetic run: the charts update at least three times, a reload shows the same run
  still going (with its controls), and Stop stops it;
- two browsers press Start at once: exactly one run starts, the other browser gets a plain
  message and watches it read-only;
- the server is killed (SIGKILL) mid-run: its training process gets SIGTERM from the kernel and
  ends the run as "stopped" with a complete folder, which the next server lists and opens;
- the training process is killed (SIGKILL): the page shows the run as interrupted;
- a 2-worker (torchrun) run started from the page is followed with its device line.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from lossviz.training import runs as lv_runs
from tests.browser.helpers import (
    ARTIFACTS,
    Server,
    assert_charts_drawn,
    assert_clean,
    charts,
    choose,
    open_page,
    radio,
    screenshot,
    start_server,
    stop_server,
    wait_idle,
    widget,
)

pytestmark = pytest.mark.browser

START = "▶ Start training"
STOP = "⏹ Stop"


def wait_until(cond: Callable[[], bool], what: str, limit_s: float = 60.0, every_s: float = 0.25) -> None:
    end = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(every_s)


def live_runs(runs_dir: Any) -> list[str]:
    return [r.name for r in lv_runs.list_runs(runs_dir) if r.live]


@pytest.fixture
def idle_trainer(app: Server, page: Any) -> Iterator[Server]:
    """No run of this server is live before (and after) the test: the server trains one at a time.

    If the test failed with its run still going, the run is stopped from the test's own browser
    (its cookie holds the controls), so one failure does not time out every test after it.
    """
    wait_until(lambda: not live_runs(app.runs_dir), "earlier runs to end")
    yield app
    if live_runs(app.runs_dir):
        try:
            page.goto(app.url + "/training", wait_until="domcontentloaded")
            stop = page.get_by_role("button", name=STOP)
            stop.first.wait_for(timeout=30_000)
            stop.first.click()
        except Exception:  # noqa: BLE001 - best effort; the wait below reports what is left
            pass
    wait_until(lambda: not live_runs(app.runs_dir), "this test's runs to end", limit_s=90)


def set_number(page: Any, label: str, value: int) -> None:
    box = widget(page, "stNumberInput", label).locator("input")
    box.fill(str(value))
    box.press("Enter")
    wait_idle(page)


def set_text(page: Any, label: str, value: str) -> None:
    box = widget(page, "stTextInput", label).locator("input")
    box.fill(value)
    box.press("Enter")
    wait_idle(page)


def prepare_run(page: Any, name: str, epochs: int = 50) -> None:
    """Settings for a synthetic run that lasts until it is stopped (the page's default data are the digits)."""
    radio(page, "Data", "Synthetic images (always available)")
    wait_idle(page)
    set_number(page, "Epochs", epochs)
    set_text(page, "Run name (optional)", name)


def batches_seen(page: Any) -> int:
    m = page.locator('[data-testid="stMetric"]').filter(has=page.get_by_text("Batches seen", exact=True))
    if m.count() == 0:
        return -1
    text = m.first.locator('[data-testid="stMetricValue"]').inner_text()
    digits = re.sub(r"[^0-9]", "", text)
    return int(digits) if digits else -1


def loss_chart_signature(page: Any) -> str:
    found = [c for c in charts(page) if c["title"].startswith("Training loss")]
    return found[0]["signature"] if found else ""


def watch_updates(page: Any, n: int, limit_s: float = 90.0) -> list[tuple[int, str]]:
    """Poll until the batch count and the loss chart have both changed ``n`` times; returns what was seen."""
    seen: list[tuple[int, str]] = []
    end = time.monotonic() + limit_s
    while len(seen) < n + 1:
        if time.monotonic() > end:
            raise AssertionError(f"the charts updated only {len(seen) - 1} times in {limit_s:.0f} s: {seen}")
        try:
            state = (batches_seen(page), loss_chart_signature(page))
        except Exception:  # noqa: BLE001 - an element replaced while reading; read again
            state = (-1, "")
        if state[0] >= 0 and state[1] and (not seen or (state[0] > seen[-1][0] and state[1] != seen[-1][1])):
            seen.append(state)
        page.wait_for_timeout(200)
    return seen


def test_run_updates_survives_reload_and_stops(idle_trainer: Server, page: Any) -> None:
    from playwright.sync_api import expect

    app = idle_trainer
    name = "browser-reload"
    open_page(page, app.url + "/training")
    assert_clean(page)
    prepare_run(page, name)
    page.get_by_role("button", name=START).click()
    expect(page.get_by_text(f"run {name}")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name=STOP)).to_be_visible(timeout=60_000)

    seen = watch_updates(page, 3)
    assert_charts_drawn(page, 4)
    assert_clean(page)
    screenshot(page, "training-1-running")

    # a reload (the browser's cookie, not the URL, says who started it) reattaches to the same run, still ours
    before = seen[-1][0]
    page.reload(wait_until="domcontentloaded")
    wait_idle(page)
    expect(page.get_by_text(f"run {name}")).to_be_visible(timeout=60_000)
    expect(page.get_by_role("button", name=STOP)).to_be_visible(timeout=60_000)
    assert "owner" not in page.url  # nothing in the address bar hands the controls to whoever copies it
    after = watch_updates(page, 1)
    assert after[0][0] >= before, (before, after)
    assert live_runs(app.runs_dir) == [name]
    assert_clean(page)
    screenshot(page, "training-2-after-reload")

    page.get_by_role("button", name=STOP).click()
    wait_until(lambda: lv_runs.read_run(app.runs_dir, name).status == "stopped", "the run to stop")
    expect(page.get_by_text(re.compile(r"^⏹️ Stopped"))).to_be_visible(timeout=60_000)
    wait_idle(page)
    assert_clean(page)
    records = lv_runs.read_metrics(lv_runs.run_path(app.runs_dir, name))
    assert len(records) >= seen[-1][0] and all("loss" in r for r in records if r.get("kind") != "eval")


def test_two_browsers_press_start_at_once(idle_trainer: Server, browser: Any) -> None:
    from playwright.sync_api import expect

    app = idle_trainer
    before = {r.name for r in lv_runs.list_runs(app.runs_dir)}
    contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
    pages = [c.new_page() for c in contexts]
    try:
        for i, pg in enumerate(pages):
            open_page(pg, app.url + "/training")
            prepare_run(pg, f"both-{i}")
        buttons = [pg.get_by_role("button", name=START) for pg in pages]
        for b in buttons:
            b.wait_for()
        for b in buttons:  # as close together as two students can click
            b.click(no_wait_after=True)
        wait_until(lambda: len({r.name for r in lv_runs.list_runs(app.runs_dir)} - before) >= 1, "a run to start")
        for pg in pages:
            wait_idle(pg)
        new = {r.name for r in lv_runs.list_runs(app.runs_dir)} - before
        assert len(new) == 1, new  # the machine trains one run at a time
        winner = int(next(iter(new)).rsplit("-", 1)[1])
        loser = pages[1 - winner]
        expect(pages[winner].get_by_role("button", name=STOP)).to_be_visible(timeout=60_000)
        error = loser.locator('[data-testid="stAlertContentError"]')
        expect(error).to_contain_text("already in progress", timeout=60_000)
        assert f"both-{winner}" in error.inner_text()
        assert loser.locator('[data-testid="stException"]').count() == 0
        assert loser.get_by_role("button", name=STOP).count() == 0
        screenshot(loser, "training-3-second-browser")
        # reopened, the other browser watches the live run, without the controls
        loser.goto(app.url + "/training", wait_until="domcontentloaded")
        wait_idle(loser)
        expect(loser.get_by_text(f"run both-{winner}")).to_be_visible(timeout=60_000)
        expect(loser.get_by_text(re.compile("watching it read-only"))).to_be_visible(timeout=60_000)
        assert loser.get_by_role("button", name=STOP).count() == 0
        assert_clean(loser)
        pages[winner].get_by_role("button", name=STOP).click()
        wait_until(lambda: not live_runs(app.runs_dir), "the run to stop")
    finally:
        for i, pg in enumerate(pages):
            screenshot(pg, f"training-two-browsers-{i}")
            stop = pg.get_by_role("button", name=STOP)
            if live_runs(app.runs_dir) and stop.count():
                stop.first.click()
        for c in contexts:
            c.close()


def test_server_killed_mid_run(app: Server, browser: Any) -> None:
    """SIGKILL the server: its run (its own process group) stops cleanly; the next server lists it as stopped."""
    from playwright.sync_api import expect

    name = "killed-mid-run"
    victim = start_server(app.runs_dir, app.runs_dir.parent / "data", ARTIFACTS / "server-killed.log")
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = ctx.new_page()
        open_page(pg, victim.url + "/training")
        prepare_run(pg, name)
        pg.get_by_role("button", name=START).click()
        wait_until(lambda: len(lv_runs.read_metrics(app.runs_dir / name)) >= 5, "a few batches", limit_s=90)
        assert lv_runs.read_run(app.runs_dir, name).status == "running"
        stop_server(victim, signal.SIGKILL)
    finally:
        ctx.close()
        stop_server(victim)

    wait_until(lambda: lv_runs.read_run(app.runs_dir, name).status == "stopped", "the orphaned run to stop")
    info = lv_runs.read_run(app.runs_dir, name)
    records = lv_runs.read_metrics(info.path)
    assert len(records) >= 5
    assert all({"step", "loss", "grad_norm"} <= set(r) for r in records if r.get("kind") != "eval")
    assert [r["step"] for r in records if r.get("kind") != "eval"] == sorted(
        r["step"] for r in records if r.get("kind") != "eval"
    )
    assert lv_runs.run_csv(app.runs_dir, name).count("\n") >= len(records) + 1  # header + one row per record

    # the other (still running) server lists it as stopped, and opens it with its points
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = ctx.new_page()
        open_page(pg, app.url + "/training")
        choose(pg, "Open a run", f"{name} (synthetic, stopped)", exact=True)
        expect(pg.get_by_text(re.compile(f"^run {name}"))).to_be_visible(timeout=60_000)
        expect(pg.get_by_text(re.compile(r"^⏹️ Stopped"))).to_be_visible(timeout=60_000)
        wait_idle(pg)
        assert_charts_drawn(pg, 4)
        assert pg.locator('[data-testid="stException"]').count() == 0
        screenshot(pg, "training-4-stopped-with-server")
    finally:
        ctx.close()


def test_killed_training_process_shows_interrupted(idle_trainer: Server, page: Any) -> None:
    from playwright.sync_api import expect

    app = idle_trainer
    name = "process-killed"
    open_page(page, app.url + "/training")
    prepare_run(page, name)
    page.get_by_role("button", name=START).click()
    wait_until(lambda: len(lv_runs.read_metrics(app.runs_dir / name)) >= 3, "a few batches", limit_s=90)
    pid = lv_runs.read_run(app.runs_dir, name).summary["pid"]
    os.kill(pid, signal.SIGKILL)
    expect(page.get_by_text(re.compile("stopped without saying goodbye"))).to_be_visible(timeout=60_000)
    expect(page.get_by_text(re.compile(r"^✂️ Interrupted"))).to_be_visible(timeout=60_000)
    # the controls redraw on the page's next refresh (a second later on a busy machine): Stop goes away
    expect(page.get_by_role("button", name=STOP)).to_have_count(0, timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0
    screenshot(page, "training-5-process-killed")


def test_two_worker_run_from_the_page(app: Server, browser: Any) -> None:
    """A torchrun run with two gloo workers, started and followed from the page (screenshot at 1400 px)."""
    from playwright.sync_api import expect

    name = "two-workers"
    server = start_server(app.runs_dir, app.runs_dir.parent / "data", ARTIFACTS / "server-workers.log",
                          extra_env={"LOSSVIZ_MAX_WORKERS": "2"})  # fmt: skip
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        wait_until(lambda: not live_runs(app.runs_dir), "earlier runs to end")
        pg = ctx.new_page()
        open_page(pg, server.url + "/training")
        prepare_run(pg, name)  # 50 epochs: still training when Stop is pressed, however fast the machine
        pg.get_by_text("Machine and synthetic data").click()
        set_number(pg, "Workers (processes)", 2)
        set_number(pg, "Synthetic training images", 4000)
        pg.get_by_role("button", name=START).click()
        expect(pg.get_by_text(re.compile("trains on cpu × 2 workers"))).to_be_visible(timeout=90_000)
        watch_updates(pg, 3, limit_s=120)
        assert_charts_drawn(pg, 4)
        assert_clean(pg)
        # stretch the viewport to the page first and let plotly redraw, so the screenshot shows the charts
        height = pg.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
        pg.set_viewport_size({"width": 1400, "height": int(min(max(height, 800), 5000))})
        pg.wait_for_timeout(2500)
        assert_charts_drawn(pg, 4)
        screenshot(pg, "training-6-two-workers")
        assert json.loads((app.runs_dir / name / "config.json").read_text())["world_size"] == 2
        assert lv_runs.read_run(app.runs_dir, name).status == "running", "the run ended before Stop was pressed"
        pg.get_by_role("button", name=STOP).click()
        wait_until(lambda: lv_runs.read_run(app.runs_dir, name).status == "stopped", "the 2-worker run to stop")
    finally:
        ctx.close()
        stop_server(server)
