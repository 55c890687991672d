"""Helpers for the real-browser tests and the load benchmark: start/stop a streamlit server, wait for
the app to finish running, check pages, take screenshots. Imported by tests/browser/conftest.py.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("LOSSVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 1000}
#: Longest wait for one page to finish running (a cold torch import on a busy 2-core machine).
LOAD_MS = 90_000

# The app has finished running: script idle, no "Running..." widget, no placeholder skeletons,
# and the page's title is drawn.
IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  if (document.querySelector('[data-testid="stSkeleton"]')) return false;
  return !!document.querySelector('[data-testid="stMain"] [data-testid="stHeading"]');
}"""


# --------------------------------------------------------------------------- server


def free_port() -> int:
    """A TCP port nobody listens on right now (chosen by the kernel, on loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running ``streamlit run app.py`` on loopback."""

    proc: subprocess.Popen[bytes]
    port: int
    runs_dir: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def start_server(runs_dir: Path, data_dir: Path, log: Path, port: int | None = None,
                 extra_env: dict[str, str] | None = None, timeout_s: float = 90) -> Server:
    """Start ``streamlit run app.py`` on 127.0.0.1 (a free port unless given); wait for ``/_stcore/health``.

    The server gets its own process group so :func:`stop_server` ends it with all its children.
    A free port is free only until Streamlit binds it; if another process takes it first, the
    server exits at once and a new port is tried (three times at most).
    """
    if port is None:
        for attempt in range(3):
            try:
                return _start_server(runs_dir, data_dir, log, free_port(), extra_env, timeout_s)
            except PortTaken:
                if attempt == 2:
                    raise
    return _start_server(runs_dir, data_dir, log, port, extra_env, timeout_s)


class PortTaken(RuntimeError):
    """The chosen port was taken between choosing it and binding it."""


def _start_server(runs_dir: Path, data_dir: Path, log: Path, port: int,
                  extra_env: dict[str, str] | None, timeout_s: float) -> Server:
    env = dict(os.environ)
    env.update({
        "LOSSVIZ_RUNS": str(runs_dir),
        "LOSSVIZ_DATA": str(data_dir),
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    })
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    server = Server(proc, port, runs_dir, log)
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            tail = server.log_tail()
            if "is not available" in tail or "already in use" in tail:
                raise PortTaken(f"port {port} was taken:\n{tail}")
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as r:
                if r.status == 200 and r.read().strip() == b"ok":
                    return server
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop_server(server)
            raise RuntimeError(f"streamlit did not become healthy in {timeout_s:.0f} s:\n{server.log_tail()}")
        time.sleep(0.25)


def stop_server(server: Server, sig: int = signal.SIGTERM) -> None:
    """Signal the server's process group and reap it (SIGKILL if it lingers past 15 s)."""
    if server.proc.poll() is None:
        try:
            os.killpg(server.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            server.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(server.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            server.proc.wait(timeout=15)


def chromium_problem() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"Chromium is not installed at {CHROMIUM} (`make chromium` installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    return None


def launch_chromium(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


# --------------------------------------------------------------------------- pages


def wait_idle(page: Any, timeout_ms: int = LOAD_MS, settle_ms: int = 400) -> None:
    """Wait until the app has finished running, and is still finished ``settle_ms`` later."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        left = max(1_000, int((deadline - time.monotonic()) * 1000))
        page.wait_for_function(IDLE_JS, timeout=left)
        page.wait_for_timeout(settle_ms)
        if page.evaluate(IDLE_JS):
            return
        if time.monotonic() > deadline:
            raise AssertionError("the app never settled")


def open_page(page: Any, url: str) -> None:
    page.goto(url, wait_until="domcontentloaded")
    wait_idle(page)


def assert_clean(page: Any) -> None:
    """No exception element, no error message and no "Page not found" dialog anywhere on the page."""
    dialogs = [t for t in page.locator('[role="dialog"]').all_inner_texts() if "not found" in t.lower()]
    assert not dialogs, dialogs
    exc = page.locator('[data-testid="stException"]')
    assert exc.count() == 0, exc.all_inner_texts()
    err = page.locator('[data-testid="stAlertContentError"]')
    assert err.count() == 0, err.all_inner_texts()


CHARTS_JS = """() => {
  const arr = v => v == null ? [] : Array.isArray(v) ? v : ArrayBuffer.isView(v) ? Array.from(v)
                 : (typeof v === 'object' && v.bdata) ? [v.bdata] : [];
  return [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].map(c => {
    const r = c.getBoundingClientRect();
    const g = c.querySelector('.js-plotly-plot');
    const data = (g && g.data) || [];
    return {
      visible: r.width > 50 && r.height > 50,
      // a chart in a tab the reader has not opened is hidden by design (Streamlit draws it on opening)
      tab_hidden: !!c.closest('[data-testid="stTabs"]') && r.width === 0 && r.height === 0,
      svg: c.querySelectorAll('.main-svg').length,
      drawn: c.querySelectorAll('.trace path, .trace image, .hm image, .heatmaplayer image, .contourlayer path, .gl-container canvas').length,
      title: (c.querySelector('.gtitle') || {}).textContent || '',
      points: data.reduce((n, t) => n + Math.max(arr(t.x).length, arr(t.z).length), 0),
      signature: JSON.stringify(data.map(t => {
        const x = arr(t.x), y = arr(t.y), z = arr(t.z);
        return [t.name || '', x.length, x.slice(-1), y.slice(-1), z.length, JSON.stringify(z.slice(0, 2)).slice(0, 400)];
      })),
    };
  });
}"""


def charts(page: Any) -> list[dict[str, Any]]:
    """Each Plotly chart on the page: visible, SVG layers, drawn marks, title, data points and a data signature."""
    return page.evaluate(CHARTS_JS)


def assert_charts_drawn(page: Any, at_least: int) -> list[dict[str, Any]]:
    """At least ``at_least`` Plotly charts are visible with drawn content; returns all charts."""
    page.wait_for_function(
        """n => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                 .filter(c => { const r = c.getBoundingClientRect();  // the same test as the assertion below
                                return r.width > 50 && r.height > 50 && c.querySelector('.main-svg')
                                       && c.querySelector('.trace path, .trace image, .hm image, .heatmaplayer image, .contourlayer path, .gl-container canvas'); })
                 .length >= n""",
        arg=at_least, timeout=LOAD_MS,
    )
    found = charts(page)
    drawn = [c for c in found if c["visible"] and c["svg"] > 0 and c["drawn"] > 0]
    assert len(drawn) >= at_least, found
    return found


def screenshot(page: Any, name: str) -> Path:
    """A screenshot of the whole page (the viewport is stretched to the app's height for it)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    if page.is_closed():
        return path
    try:
        size = page.viewport_size or VIEWPORT
        height = page.evaluate(
            "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
            " return m ? m.scrollHeight : document.body.scrollHeight; }"
        )
        page.set_viewport_size({"width": size["width"], "height": int(min(max(height, 800), 5000))})
        page.wait_for_timeout(500)
        page.screenshot(path=str(path))
        page.set_viewport_size(size)
    except Exception as exc:  # noqa: BLE001 - a screenshot must never hide the test's own result
        print(f"screenshot {name} failed: {exc}")
    return path


# --------------------------------------------------------------------------- widgets


def widget(page: Any, testid: str, label: str) -> Any:
    """The widget block (``stSelectbox``, ``stRadio``...) whose label is exactly ``label``."""
    return page.locator(f'[data-testid="{testid}"]').filter(
        has=page.locator('[data-testid="stWidgetLabel"]').get_by_text(label, exact=True)
    )


def choose(page: Any, label: str, option: str | re.Pattern[str], *, exact: bool = False) -> None:
    """Pick ``option`` (text or regex) in the selectbox labelled ``label``: open it, click the option.

    The box is scrolled into view first (a dropdown opened while the page scrolls closes again).
    """
    box = widget(page, "stSelectbox", label).locator("input")
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(200)
    for _ in range(3):
        box.click()
        try:
            page.wait_for_selector('[role="option"]', timeout=3_000)
            break
        except Exception:  # noqa: BLE001 - not open yet: try again
            continue
    page.get_by_role("option", name=option, exact=exact if isinstance(option, str) else None).first.click()


def radio(page: Any, label: str, option: str) -> None:
    widget(page, "stRadio", label).get_by_text(option, exact=True).click()


def type_text(page: Any, label: str, text: str, *, area: bool = True) -> None:
    """Replace the text of a text area (or text input) and commit it like a user (Ctrl+Enter / Enter)."""
    box = widget(page, "stTextArea" if area else "stTextInput", label).locator("textarea" if area else "input")
    box.click()
    box.fill(text)
    box.press("Control+Enter" if area else "Enter")


def metric_value(page: Any, label: str | None = None) -> str:
    metrics = page.locator('[data-testid="stMetric"]')
    if label is not None:
        metrics = metrics.filter(has=page.get_by_text(label, exact=True))
    return metrics.first.locator('[data-testid="stMetricValue"]').inner_text().strip()
