"""Two replicas behind HAProxy (deploy/classroom.py, what ``make classroom`` runs), in a real browser.

One classroom per module: two ``streamlit run app.py`` processes on loopback sharing one runs
and data folder (and the job ledger in it), HAProxy in front with the sticky ``SERVERID`` cookie,
and a cap of two training runs (``LOSSVIZ_MAX_RUNS=2``; one owner may hold three jobs, so the
refusal under test is the shared cap's) that must hold across both replicas.

- two browser contexts land on different replicas (the proxy's ``X-Lossviz-Replica`` header),
  and each stays on its own replica (the cookie);
- the same owner (one owner cookie in both contexts) starts a run through one replica and
  pauses, resumes and stops it through the other;
- two runs hold the cap (one started through each replica, then paused: a paused run keeps its
  slot); a third, through either, is refused;
- a replica is killed (SIGKILL) mid-session: the student's page reconnects through the proxy to
  the other replica with the same example (from its link); the replica is started again;
- a run started through a replica that is then killed keeps training, and its owner stops it
  through the survivor; every JSON file in the shared folders still parses.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from deploy.classroom import REPLICA_HEADER, STICKY_COOKIE, Classroom, healthy
from lossviz import LossvizInputError
from lossviz.explore.example import Example
from lossviz.explore.presets import get_preset
from lossviz.training import runs as lv_runs
from tests.browser.helpers import (
    ARTIFACTS,
    VIEWPORT,
    assert_clean,
    metric_value,
    open_page,
    radio,
    screenshot,
    wait_idle,
    widget,
)

pytestmark = pytest.mark.browser

OWNER = "classroomowner01"  # an owner token as the page makes them (letters and digits)
START = "▶ Start training"
PAUSE = "⏸ Pause"
RESUME = "▶ Resume"
STOP = "⏹ Stop"
PRESET = "ce_4x4_mean"


def wait_until(cond: Callable[[], bool], what: str, limit_s: float = 60.0, every_s: float = 0.25) -> None:
    end = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(every_s)


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Classroom]:
    if shutil.which("haproxy") is None:
        if os.environ.get("CI"):
            pytest.fail("the replica tests must run in CI, but haproxy is not installed (`make haproxy`)")
        pytest.skip("haproxy is not installed (`make haproxy` installs Debian's)")
    base = tmp_path_factory.mktemp("classroom")
    classroom = Classroom(replicas_n=2, runs_dir=base / "runs", data_dir=base / "data",
                          log_dir=ARTIFACTS / "replicas",
                          # the ledger where a classroom keeps it, in the shared data folder (the suite's
                          # conftest points LOSSVIZ_LEDGER elsewhere for its own job managers)
                          extra_env={"LOSSVIZ_MAX_JOBS": "3", "LOSSVIZ_MAX_RUNS": "2", "LOSSVIZ_MAX_JOBS_PER_OWNER": "3",
                                     "LOSSVIZ_LEDGER": str(base / "data" / "jobs" / "ledger")})
    classroom.start()
    try:
        # each replica runs app.py at "/" once (see tests/browser/conftest.py's ``app``)
        for r in classroom.replicas:
            ctx = browser.new_context(viewport=VIEWPORT)
            try:
                open_page(ctx.new_page(), r.url + "/")
            finally:
                ctx.close()
        yield classroom
    finally:
        classroom.stop()


def replica_of(ctx: Any) -> str | None:
    """The replica the proxy's cookie in ``ctx`` pins it to."""
    return next((c["value"] for c in ctx.cookies() if c["name"] == STICKY_COOKIE), None)


def open_on_new_replica(browser: Any, room: Classroom, taken: set[str], path: str = "/") -> tuple[Any, Any, str]:
    """A fresh context (with the owner's cookie) whose first page the proxy served from a replica not in ``taken``."""
    for _ in range(6):
        ctx = browser.new_context(viewport=VIEWPORT)
        ctx.add_cookies([{"name": "lossviz_owner", "value": OWNER, "url": room.url}])
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        response = page.goto(room.url + path, wait_until="domcontentloaded")
        served_by = response.headers.get(REPLICA_HEADER.lower())
        if served_by and served_by not in taken:
            assert replica_of(ctx) == served_by  # the proxy's cookie names the replica that answered
            wait_idle(page)
            return ctx, page, served_by
        ctx.close()
    raise AssertionError(f"six fresh contexts never reached a replica outside {taken}")


@pytest.fixture(scope="module")
def two(browser: Any, room: Classroom) -> Iterator[list[tuple[Any, Any, str]]]:
    """Two contexts of the same owner, on different replicas."""
    a = open_on_new_replica(browser, room, set())
    b = open_on_new_replica(browser, room, {a[2]})
    try:
        yield [a, b]
    finally:
        for ctx, page, name in (a, b):
            screenshot(page, f"replicas-{name}-last")
            ctx.close()


def served_by(page: Any, url: str) -> str | None:
    """The replica that answers a request of this page's context (with its cookies)."""
    return page.request.get(url).headers.get(REPLICA_HEADER.lower())


def href(page: Any) -> str:
    return page.evaluate("() => location.href")


def live_runs(runs_dir: Path) -> list[str]:
    return sorted(r.name for r in lv_runs.list_runs(runs_dir) if r.live)


def start_run(page: Any, url: str, name: str) -> None:
    """The training page's own Start, for a synthetic run that lasts until it is stopped."""
    from playwright.sync_api import expect

    open_page(page, url + "/training")
    radio(page, "Data", "Synthetic images (always available)")  # the default digits finish within a minute
    wait_idle(page)
    for label, value in (("Epochs", "50"),):
        box = widget(page, "stNumberInput", label).locator("input")
        box.fill(value)
        box.press("Enter")
        wait_idle(page)
    box = widget(page, "stTextInput", "Run name (optional)").locator("input")
    box.fill(name)
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name=START).click()
    expect(page.get_by_text(f"run {name}")).to_be_visible(timeout=60_000)


def status(room: Classroom, name: str) -> str:
    try:
        return lv_runs.read_run(room.runs_dir, name).status
    except LossvizInputError:  # not written yet
        return "missing"



def stop_everything(page: Any, url: str, room: Classroom) -> None:
    """Stop every live run through ``page`` (the owner's controls), so the next test starts from none."""
    for _ in range(4):
        if not live_runs(room.runs_dir):
            return
        open_page(page, url + "/training")
        stop = page.get_by_role("button", name=STOP)
        if stop.count():
            stop.first.click()
            wait_idle(page)
        time.sleep(2)
    wait_until(lambda: not live_runs(room.runs_dir), "every run to end", limit_s=90)


def test_contexts_stick_to_different_replicas(room: Classroom, two: list[tuple[Any, Any, str]]) -> None:
    (ctx_a, page_a, a), (ctx_b, page_b, b) = two
    assert {a, b} == {"r1", "r2"}
    for page, name in ((page_a, a), (page_b, b)):
        assert_clean(page)
        for path in ("/", "/_stcore/health", "/training"):  # every request of a context goes to its replica
            assert served_by(page, room.url + path) == name
    # the proxy really is in front of two processes: each replica answers its own port
    assert all(r.alive for r in room.replicas)


def test_owner_controls_a_run_through_the_other_replica(room: Classroom, two: list[tuple[Any, Any, str]]) -> None:
    from playwright.sync_api import expect

    (_, page_a, a), (_, page_b, b) = two
    name = "across-replicas"
    start_run(page_a, room.url, name)
    wait_until(lambda: status(room, name) == "running", "the run to train", limit_s=120)

    # the other replica lists it, follows it, and gives the same owner the controls
    open_page(page_b, room.url + "/training")
    assert served_by(page_b, room.url + "/training") == b
    expect(page_b.get_by_text(f"run {name}")).to_be_visible(timeout=60_000)
    page_b.get_by_role("button", name=PAUSE).click()
    wait_until(lambda: status(room, name) == "paused", "the run to pause (through the other replica)")
    expect(page_b.get_by_role("button", name=RESUME)).to_be_visible(timeout=60_000)
    screenshot(page_b, "replicas-paused-from-other")
    page_b.get_by_role("button", name=RESUME).click()
    wait_until(lambda: status(room, name) == "running", "the run to resume")
    # and the replica that started it sees what the other one did
    open_page(page_a, room.url + "/training")
    expect(page_a.get_by_role("button", name=PAUSE)).to_be_visible(timeout=60_000)
    page_b.get_by_role("button", name=STOP).click()
    wait_until(lambda: status(room, name) == "stopped", "the run to stop (through the other replica)", limit_s=90)
    assert_clean(page_b)


def test_the_cap_holds_across_replicas(room: Classroom, two: list[tuple[Any, Any, str]]) -> None:
    from playwright.sync_api import expect

    (_, page_a, a), (_, page_b, b) = two
    try:
        for page, name in ((page_a, "cap-one"), (page_b, "cap-two")):
            start_run(page, room.url, name)
            # paused, a run still holds its slot, and leaves the two cores to the pages under test
            page.get_by_role("button", name=PAUSE).click(timeout=60_000)
            expect(page.get_by_role("button", name=RESUME)).to_be_visible(timeout=60_000)
        wait_until(lambda: live_runs(room.runs_dir) == ["cap-one", "cap-two"], "two runs to train", limit_s=120)
        for page in (page_a, page_b):  # a third run, through either replica, is refused
            open_page(page, room.url + "/training")
            box = widget(page, "stTextInput", "Run name (optional)").locator("input")
            box.fill("cap-three")
            box.press("Enter")
            wait_idle(page)
            page.get_by_role("button", name=START).click()
            error = page.locator('[data-testid="stAlertContentError"]')
            expect(error).to_contain_text("already in progress", timeout=60_000)
            assert page.locator('[data-testid="stException"]').count() == 0
        assert live_runs(room.runs_dir) == ["cap-one", "cap-two"]
        assert "cap-three" not in {r.name for r in lv_runs.list_runs(room.runs_dir)}
    finally:
        stop_everything(page_a, room.url, room)


def test_sigkill_of_a_replica_mid_session(room: Classroom, two: list[tuple[Any, Any, str]]) -> None:
    from playwright.sync_api import expect

    (_, page_a, a), (ctx_b, page_b, b) = two
    # the student on b: an example of their own, kept in the link
    open_page(page_b, room.url + f"/?ex={PRESET}")
    radio(page_b, "Reduction", "sum")
    wait_idle(page_b)
    ex = Example.from_preset(get_preset(PRESET)).replace(reduction="sum")
    want = f"{ex.evaluate().value:.6g}"
    expect(page_b.locator('[data-testid="stMetricValue"]').first).to_have_text(want, timeout=60_000)
    wait_until(lambda: "reduction=sum" in href(page_b), "the link to carry the reduction")
    assert served_by(page_b, room.url + "/") == b

    room.kill_replica(b, signal.SIGKILL)
    try:
        assert room.wait_down(b), "the proxy kept sending new requests to the killed replica"
        # the page reconnects by itself through the proxy, to the other replica, with the same example
        wait_until(lambda: replica_of(ctx_b) == a, "the browser to be moved to the other replica", limit_s=90)
        wait_idle(page_b)
        expect(page_b.locator('[data-testid="stMetricValue"]').first).to_have_text(want, timeout=60_000)
        assert metric_value(page_b) == want
        assert "reduction=sum" in href(page_b)
        assert served_by(page_b, room.url + "/") == a
        assert_clean(page_b)
        screenshot(page_b, "replicas-after-sigkill")
    finally:  # the next test has both replicas again (the proxy takes b back when its health check passes)
        room.restart_replica(room.replica(b))
    wait_until(lambda: b in {healthy(room.url) for _ in range(4)}, "the restarted replica to be back in the pool",
               limit_s=60)


def test_a_run_outlives_the_replica_that_started_it(browser: Any, room: Classroom) -> None:
    """A run is a process of its own: its replica killed, it keeps training, and its owner stops it through
    the other replica; nothing in the shared folders is left half-written."""
    from playwright.sync_api import expect

    ctx_b, page_b, b = open_on_new_replica(browser, room, set())
    try:
        name = "survives-replica"
        start_run(page_b, room.url, name)
        wait_until(lambda: status(room, name) == "running", "the run to train", limit_s=120)
        steps = lv_runs.last_step(room.runs_dir / name) or 0
        room.kill_replica(b, signal.SIGKILL)
        assert room.wait_down(b)
        wait_until(lambda: (lv_runs.last_step(room.runs_dir / name) or 0) > steps + 2, "the run to keep training",
                   limit_s=60)
        assert status(room, name) == "running"
        open_page(page_b, room.url + "/training")  # now through the survivor
        assert replica_of(ctx_b) != b
        expect(page_b.get_by_text(f"run {name}")).to_be_visible(timeout=60_000)
        page_b.get_by_role("button", name=STOP).click()
        wait_until(lambda: status(room, name) == "stopped", "the run to stop through the survivor", limit_s=90)
        assert_clean(page_b)
    finally:
        screenshot(page_b, "replicas-run-after-sigkill")
        ctx_b.close()
    # nothing in the shared folders is left half-written
    for folder in (room.runs_dir, room.data_dir):
        for path in folder.rglob("*.json"):
            json.loads(path.read_text(encoding="utf-8"))
        for path in folder.rglob("*.jsonl"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    json.loads(line)
