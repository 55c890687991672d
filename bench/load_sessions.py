"""Benchmark: a classroom on one server - N real sessions while a training run streams.

One ``streamlit run app.py`` on 127.0.0.1 (a free port; loopback only) and N concurrent
sessions on the explorer with the tutorial's 4x4 cross-entropy example. Each session loops, for
``--duration`` seconds, over what a student does - switch the reduction (mean <-> sum), edit the
logits, put them back - with a think time between actions, and measures each interaction from
the input to the moment the new, correct value arrives. One more "teacher" session watches the
training page, which follows the run live (its fragment reruns every second); it is a protocol
client in both modes, since the projector's browser is not on the server.

Two kinds of session (``--client``):

- ``ws`` (default): a websocket client speaking Streamlit's own protocol (the BackMsg /
  ForwardMsg protobufs the browser sends and receives). Each one is a real session that really
  runs the script: the first message runs the page, an interaction sends the changed widget's
  new value (``rerun_script`` with widget states, as the browser does), and the client reads the
  deltas until the metric shows the expected value and the run finishes. It measures the server
  without 30 browsers' rendering competing for the same two cores.
- ``browser``: Playwright pages in one headless Chromium (Debian's), one context per session;
  the interaction is a real click / Ctrl+Enter and ends when the page shows the value (and only
  it). On this 2-core machine the 30 renderers themselves saturate the CPU; in a classroom each
  student's browser runs on its own machine.

Meanwhile one training run streams into the server's runs folder
(``python -m lossviz.cli.train --synthetic``, the README's command), and its images/s over the
measured window is compared with the same run on the same idle server.

Reported: p50/p95/max interaction latency, errors (an interaction that did not reach its value in
``--timeout`` s, an exception element, an error message, a browser page error, a crash or a
dropped connection), session load times, peak RSS of the server process and its children
(sampled from /proc every 0.25 s; psutil is not needed), CPU seconds used by the server, the
trainer and the clients during the window, the trainer's own peak RSS, and train_ratio_vs_idle.

A class's mix (websocket clients; the defaults for ``--sessions N``): one in ten sessions sweeps the
landscape (``--landscape``: each action a new resolution, 101 to 301 points per axis, and new ranges; it
counts when the run finishes with both charts drawn, the asked-for grid in the caption and no error), one
in three reads a lesson (``--lessons``: Next to the last step, Back to the first; it counts when the new
step's title is drawn), one in twenty follows the live run on the training page (``--watchers``), the
rest use the explorer; each kind is spread through the class. The server's RSS is also taken at the start
(after one student of each kind has opened and closed the app) and at the end (every session closed,
``--settle`` seconds past the disconnected-session TTL and the caches' ttl), for end_vs_start and
end_minus_start_mb_per_session.

``--proxy``: the same load through HAProxy in front of ``--replicas`` (default 2) replicas sharing one
runs and data folder (deploy/classroom.py, what ``make classroom`` runs). Each session first fetches "/"
through the proxy as a browser does, keeps the proxy's sticky cookie and opens its websocket with it;
``sessions_per_replica`` counts where they landed (from the proxy's X-Lossviz-Replica header), RSS and CPU
are summed over the replicas and the proxy.

Targets (issue 21; 60 sessions on the 2-core development machine): zero errors, p95 <= 1.0 s, the training
run at >= 0.8 of its idle speed, peak RSS <= 2 GiB, RSS after close + TTL within 5 MB per session of the
start; with --proxy the replicas' session counts within 20 % of each other.

Run: ``.venv/bin/python bench/load_sessions.py [--sessions 60] [--duration 90] [--proxy] [--client ws|browser]``
(short development runs: ``--sessions 10 --duration 20 --settle 35 --idle-window 10``).
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lossviz.explore.example import Example  # noqa: E402
from lossviz.explore.presets import get_preset  # noqa: E402
from lossviz.memory import TRIM_EVERY_S  # noqa: E402
from lossviz.training.runs import MetricsTail, read_json  # noqa: E402

CHROMIUM = os.environ.get("LOSSVIZ_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
LOOPBACK = "127.0.0.1"
PRESET = "ce_4x4_mean"
SLOT_LABEL = "logits z · input"  # the box label: our name for the tensor · torch's argument name
# The landscape's controls a sweeping student changes (labels, as the page draws them).
RES_LABEL = "Resolution (points per axis)"
RANGE_LABEL = "Ranges: x from, x to, y from, y to"
#: pages/landscape.py's BIG_CACHE_TTL_S: surfaces and figures expire this long after they were made.
BIG_CACHE_TTL_S = 120
#: Resolutions a landscape student sweeps through, up to the page's largest (301 x 301 = 90,601 points).
SWEEP = ("101", "151", "201", "251", "301")
BATCH = 64
GIB = 1024**3

# Resolves with the page's own clock when it shows exactly one value and it is v (a rerun may briefly keep
# a stale one), or with null after ms. A MutationObserver, not polling: thirty pages polling would load the
# very CPU being measured.
VALUE_JS = """([v, ms]) => new Promise(resolve => {
  const ok = () => {
    const els = document.querySelectorAll('[data-testid="stMetricValue"]');
    return els.length === 1 && els[0].textContent.trim() === v;
  };
  if (ok()) return resolve(performance.now());
  let timer = null;
  const obs = new MutationObserver(() => {
    if (ok()) { obs.disconnect(); clearTimeout(timer); resolve(performance.now()); }
  });
  obs.observe(document.body, {subtree: true, childList: true, characterData: true});
  timer = setTimeout(() => { obs.disconnect(); resolve(null); }, ms);
})"""
# The page's clock at the last click or key press (the student's input).
INPUT_CLOCK_JS = """() => {
  if (window.__lvInput) return;
  window.__lvInput = true;
  for (const type of ['pointerdown', 'keydown']) {
    document.addEventListener(type, () => { window.__lvT0 = performance.now(); }, true);
  }
}"""
BAD_JS = """() => document.querySelectorAll('[data-testid="stException"], [data-testid="stAlertContentError"]').length"""


# --------------------------------------------------------------------------- the example


@dataclass(frozen=True)
class Plan:
    """The texts a session types and the value the page must show for each (text, reduction)."""

    original: str
    edited: str
    values: dict[tuple[str, str], str]


def make_plan() -> Plan:
    ex = Example.from_preset(get_preset(PRESET))
    original = ex.texts["input"]
    edited = original.replace("0.8", "2.8", 1)
    assert edited != original
    values = {}
    for text in (original, edited):
        for reduction in ("mean", "sum"):
            r = ex.replace(texts={**ex.texts, "input": text}, reduction=reduction).evaluate()
            values[(text, reduction)] = f"{r.value:.6g}"
    assert len(set(values.values())) == 4, values
    return Plan(original, edited, values)


# --------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def start_server(port: int, runs: Path, data: Path, log: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, LOSSVIZ_RUNS=str(runs), LOSSVIZ_DATA=str(data), PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", LOOPBACK,
           "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc
        except OSError:
            pass
        time.sleep(0.25)
    stop_group(proc)
    raise RuntimeError("streamlit did not become healthy in 120 s")


def stop_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


def start_training(runs: Path, data: Path, name: str, threads: int) -> subprocess.Popen[bytes]:
    """The README's CLI run, long enough to outlast the window (it is stopped with Ctrl-C)."""
    cmd = [sys.executable, "-m", "lossviz.cli.train", "--synthetic", "--runs-dir", str(runs), "--data-dir",
           str(data), "--name", name, "--epochs", "50", "--batch-size", str(BATCH), "--threads", str(threads),
           "--no-eval", "--quiet"]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop_training(proc: subprocess.Popen[bytes]) -> None:
    stop_group(proc, signal.SIGINT, timeout=30)  # Ctrl-C: the run ends as "stopped"


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc/<p>/stat's ppid)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(parents.get(p, []))
    return out


def tree(pids: list[int]) -> list[int]:
    """Every process at or below any of ``pids`` (the servers: one, or the replicas and the proxy)."""
    return sorted({p for pid in pids for p in descendants(pid)})


class Sampler(threading.Thread):
    """Every ``every`` s: the server tree's RSS, the trainer's RSS, and the run's step count (wall-clock stamped)."""

    def __init__(self, server_pids: list[int], every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.server_pids = server_pids
        self.every = every
        self.peak_server = 0
        self.peak_train = 0
        self.train_pid: int | None = None
        self.tail: MetricsTail | None = None
        self.steps: list[tuple[float, int]] = []
        self._stop_event = threading.Event()
        self._lock = threading.Lock()

    def follow(self, train_pid: int | None, run_dir: Path | None) -> None:
        with self._lock:
            self.train_pid = train_pid
            self.tail = MetricsTail(run_dir) if run_dir else None
            self.steps = []

    def run(self) -> None:
        while not self._stop_event.is_set():
            total = sum(rss_bytes(p) for p in tree(self.server_pids))
            self.peak_server = max(self.peak_server, total)
            with self._lock:
                if self.train_pid:
                    self.peak_train = max(self.peak_train, rss_bytes(self.train_pid))
                if self.tail is not None:
                    for rec in self.tail.poll():
                        if rec.get("kind", "batch") == "batch" and isinstance(rec.get("step"), int):
                            self.steps.append((time.monotonic(), rec["step"]))
            self._stop_event.wait(self.every)

    def stop(self) -> None:
        self._stop_event.set()

    def images_per_s(self, start: float, end: float) -> float | None:
        """Images trained per second between two monotonic times (from the step counts seen)."""
        with self._lock:
            inside = [(t, s) for t, s in self.steps if start <= t <= end]
        if len(inside) < 2:
            return None
        (t0, s0), (t1, s1) = inside[0], inside[-1]
        return (s1 - s0) * BATCH / (t1 - t0) if t1 > t0 else None

    def wait_for_steps(self, n: int, limit_s: float) -> bool:
        end = time.monotonic() + limit_s
        while time.monotonic() < end:
            with self._lock:
                if len(self.steps) >= n:
                    return True
            time.sleep(0.2)
        return False


# --------------------------------------------------------------------------- CPU accounting


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the given processes (and their reaped children), in seconds."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in fields[11:15])  # utime stime cutime cstime
        except (OSError, ValueError, IndexError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- sessions


@dataclass
class Window:
    """The measured window: sessions interact until ``stop_at`` (set once every session has loaded)."""

    stop_at: float = float("inf")
    started: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    teacher_updates: set[str] = field(default_factory=set)
    landscape_latencies: list[float] = field(default_factory=list)
    lesson_latencies: list[float] = field(default_factory=list)
    replicas: dict[str, int] = field(default_factory=dict)  # through the proxy: sessions per replica
    closed_at: float | None = None  # when the last session closed its websocket


def count_replica(stats: Stats, sess: WsSession) -> None:
    if sess.replica:
        stats.replicas[sess.replica] = stats.replicas.get(sess.replica, 0) + 1


class Student:
    """What a student does, whatever the client: the next action and the value it must produce."""

    def __init__(self, i: int, plan: Plan, think: float) -> None:
        self.i = i
        self.plan = plan
        self.think = think
        self.rng = random.Random(i)
        self.text = plan.original
        self.reduction = "mean"
        self.k = 0

    @property
    def value(self) -> str:
        return self.plan.values[(self.text, self.reduction)]

    def next_action(self) -> tuple[str, str]:
        """('reduction', 'sum') or ('text', '<logits>'), alternating; updates what the page must show."""
        self.k += 1
        if self.k % 2:
            self.reduction = "sum" if self.reduction == "mean" else "mean"
            return "reduction", self.reduction
        self.text = self.plan.edited if self.text == self.plan.original else self.plan.original
        return "text", self.text

    def reset(self) -> None:
        self.text, self.reduction = self.plan.original, "mean"

    async def pause(self) -> None:
        await asyncio.sleep(self.think * (0.5 + self.rng.random()))


# ------------------------------------------------------------------ websocket clients


#: With --proxy: the proxy's port. A session opened on it first fetches "/" as a browser does, keeps the
#: proxy's sticky cookie and the replica it names, and opens its websocket with that cookie.
PROXY_PORT: int | None = None


def sticky_cookie(port: int) -> tuple[str, str]:
    """(Cookie header, replica name) from the proxy's answer to a first visit."""
    from deploy.classroom import REPLICA_HEADER, STICKY_COOKIE

    with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/", timeout=60) as r:
        r.read()
        replica = r.headers.get(REPLICA_HEADER, "")
        cookies = [c.split(";", 1)[0] for c in r.headers.get_all("Set-Cookie") or []]
    cookie = "; ".join(c for c in cookies if c.startswith(STICKY_COOKIE + "="))
    return cookie, replica


class WsSession:
    """One Streamlit session over its websocket, speaking the browser's protobuf protocol."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.replica = ""  # through the proxy: the replica its cookie pins it to
        self.headings: list[str] = []  # headings of the last run
        self.ws: Any = None
        self.page_hash = ""
        self.widgets: dict[str, str] = {}  # label -> widget id
        self.metrics: dict[str, str] = {}  # label -> body, from the last run
        self.bad: list[str] = []  # exception elements and error messages of the last run
        self.charts = 0  # plotly charts drawn by the last run
        self.captions: list[str] = []  # captions and markdown of the last run
        # fragment id -> interval: every st.fragment(run_every=...) of the page, each on its own timer
        # (the training page has two: the live charts every second, the run table every few seconds)
        self.auto_reruns: dict[str, float] = {}

    async def connect(self) -> None:
        import websockets

        headers = {}
        if PROXY_PORT is not None and self.port == PROXY_PORT:
            cookie, self.replica = await asyncio.to_thread(sticky_cookie, self.port)
            headers["Cookie"] = cookie
        self.ws = await websockets.connect(
            f"ws://{LOOPBACK}:{self.port}/_stcore/stream", subprotocols=["streamlit"],
            origin=f"http://{LOOPBACK}:{self.port}", max_size=None, open_timeout=60, ping_interval=None,
            additional_headers=headers or None)

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()

    async def send_rerun(self, query: str = "", page_name: str = "", states: dict[str, tuple[str, Any]] | None = None,
                         fragment_id: str = "", auto: bool = False) -> None:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        if not fragment_id:
            self.auto_reruns = {}  # a full run announces its fragments' timers again
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = query
        cs.page_script_hash = self.page_hash
        cs.page_name = page_name
        cs.fragment_id = fragment_id
        cs.is_auto_rerun = auto
        for wid, (kind, value) in (states or {}).items():
            w = cs.widget_states.widgets.add()
            w.id = wid
            if kind == "string_array_value":  # a select_slider: the chosen option as text
                w.string_array_value.data[:] = value
            else:
                setattr(w, kind, value)
        await self.ws.send(msg.SerializeToString())

    async def read_run(self, want: str | None = None, timeout_s: float = 60) -> float | None:
        """Read until the run finishes; returns when (monotonic) a metric showed ``want`` (None if never)."""
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        t0 = time.monotonic()
        seen_at = None
        self.bad = []
        self.charts = 0
        self.captions = []
        self.headings = []
        deadline = t0 + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the run did not finish in {timeout_s:g} s")
            data = await asyncio.wait_for(self.ws.recv(), timeout=left)
            fm = ForwardMsg()
            fm.ParseFromString(data)
            kind = fm.WhichOneof("type")
            if kind == "delta" and fm.delta.WhichOneof("type") == "new_element":
                el = fm.delta.new_element
                et = el.WhichOneof("type")
                if et == "metric":
                    self.metrics[el.metric.label] = el.metric.body
                    if want is not None and el.metric.body == want and seen_at is None:
                        seen_at = time.monotonic()
                elif et in ("radio", "text_area", "selectbox", "button", "number_input", "text_input", "slider"):
                    self.widgets[getattr(el, et).label] = getattr(el, et).id
                elif et == "plotly_chart":
                    self.charts += 1
                elif et == "markdown":
                    self.captions.append(el.markdown.body[:300])
                elif et == "heading":
                    self.headings.append(el.heading.body)
                elif et == "exception":
                    self.bad.append(f"exception element: {el.exception.message[:120]}")
                elif et == "alert" and el.alert.format == 1:
                    self.bad.append(f"error message: {el.alert.body[:120]}")
            elif kind == "navigation":
                self.page_hash = fm.navigation.page_script_hash
            elif kind == "auto_rerun":
                self.auto_reruns[fm.auto_rerun.fragment_id] = fm.auto_rerun.interval
            elif kind == "script_finished":
                return seen_at


async def ws_student(s: Student, port: int, start_at: float, window: Window, timeout_s: float, stats: Stats) -> None:
    sess = WsSession(port)
    query = f"ex={PRESET}"
    try:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        t0 = time.monotonic()
        await sess.connect()
        count_replica(stats, sess)
        await sess.send_rerun(query=query)
        if await sess.read_run(s.value, timeout_s * 4) is None:
            raise RuntimeError(f"the page opened without the value {s.value}")
        stats.loads.append(time.monotonic() - t0)
        ids = {"reduction": sess.widgets["Reduction"], "text": sess.widgets[SLOT_LABEL]}
        await window.started.wait()
        while time.monotonic() < window.stop_at:
            await s.pause()
            if time.monotonic() >= window.stop_at:
                break
            what, value = s.next_action()
            t = time.monotonic()
            await sess.send_rerun(query=query, states={ids[what]: ("string_value", value)})
            try:
                got = await sess.read_run(s.value, timeout_s)
            except TimeoutError:
                got = None
            if got is None:
                stats.errors.append(f"session {s.i}: no value {s.value} within {timeout_s:g} s")
                continue
            stats.latencies.append(got - t)
            if sess.bad:
                stats.errors.append(f"session {s.i}: " + "; ".join(sess.bad))
    except Exception as exc:  # noqa: BLE001 - a dropped session is an error of the run
        stats.errors.append(f"session {s.i}: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
    finally:
        await sess.close()


async def ws_landscape(s: Student, port: int, start_at: float, window: Window, timeout_s: float,
                       stats: Stats) -> None:
    """A student on the landscape: each action a new resolution (sweeping up to 301 x 301) and new ranges,
    so every rerun computes a surface and builds figures the caches have not seen; it counts when the run
    finishes with both charts drawn and no error or exception element."""
    sess = WsSession(port)
    rng = random.Random(1000 + s.i)
    try:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        t0 = time.monotonic()
        await sess.connect()
        count_replica(stats, sess)
        await sess.send_rerun(page_name="landscape")
        await sess.read_run(None, timeout_s * 4)
        if sess.bad or sess.charts < 2:
            raise RuntimeError(f"the landscape opened with {sess.charts} charts; {'; '.join(sess.bad)}")
        stats.loads.append(time.monotonic() - t0)
        ids = {"res": sess.widgets[RES_LABEL], "range": sess.widgets[RANGE_LABEL]}
        await window.started.wait()
        k = 0
        while time.monotonic() < window.stop_at:
            await s.pause()
            if time.monotonic() >= window.stop_at:
                break
            k += 1
            res = SWEEP[(s.i + k) % len(SWEEP)]
            cx, cy = round(rng.uniform(-1.0, 2.0), 2), round(rng.uniform(-1.0, 2.0), 2)
            a, b = rng.choice((0.5, 1.0, 2.0, 3.0)), rng.choice((0.5, 1.0, 2.0, 3.0))
            ranges = f"{cx - a:g}, {cx + a:g}, {cy - b:g}, {cy + b:g}"
            t = time.monotonic()
            await sess.send_rerun(page_name="landscape", states={ids["res"]: ("string_array_value", [res]),
                                                                 ids["range"]: ("string_value", ranges)})
            try:
                await sess.read_run(None, timeout_s)
            except TimeoutError:
                stats.errors.append(f"landscape {s.i}: no surface within {timeout_s:g} s ({res}, {ranges})")
                continue
            if sess.bad or sess.charts < 2:
                stats.errors.append(f"landscape {s.i}: {sess.charts} charts; " + "; ".join(sess.bad))
                continue
            if not any(f"{res}×{res} grid" in c for c in sess.captions):  # the page computed what was asked
                stats.errors.append(f"landscape {s.i}: no {res}×{res} grid in the captions")
                continue
            lat = time.monotonic() - t
            stats.latencies.append(lat)
            stats.landscape_latencies.append(lat)
    except Exception as exc:  # noqa: BLE001 - a dropped session is an error of the run
        stats.errors.append(f"landscape {s.i}: {type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:200] if str(exc) else ''}")
    finally:
        await sess.close()


def lesson_plan(i: int) -> tuple[str, list[str], list[bool]]:
    """The lesson session ``i`` reads (in turn over the lessons with more than one step), its steps' titles, and
    which steps show a refusal on purpose (a lesson's "mistake" step: its error message is the lesson)."""
    from lossviz import LossvizInputError
    from lossviz.explore import list_lessons
    from lossviz.i18n import gettext

    lessons = [lesson for lesson in list_lessons() if len(lesson.steps) > 1]
    lesson = lessons[i % len(lessons)]
    refused = []
    for step in lesson.steps:
        try:
            if step.example is not None:
                step.example.evaluate()
            refused.append(False)
        except LossvizInputError:
            refused.append(True)
    return lesson.key, [gettext(st.title, "en") for st in lesson.steps], refused


async def ws_lesson(s: Student, port: int, start_at: float, window: Window, timeout_s: float, stats: Stats) -> None:
    """A student reading a lesson: Next to the last step, Back to the first, and again; each action counts when
    the run finishes with the new step's title and no error."""
    from lossviz.i18n import tr

    key, titles, refused = lesson_plan(s.i)
    query = f"lesson={key}&step=1"
    sess = WsSession(port)
    try:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        t0 = time.monotonic()
        await sess.connect()
        count_replica(stats, sess)
        await sess.send_rerun(page_name="lessons", query=query)
        await sess.read_run(None, timeout_s * 4)
        if sess.bad or titles[0] not in sess.headings:
            raise RuntimeError(f"the lesson opened without its first step; {'; '.join(sess.bad)}")
        stats.loads.append(time.monotonic() - t0)
        labels = {"next": tr("lessons.next", "en"), "back": tr("lessons.back", "en")}
        step, forward = 1, True
        await window.started.wait()
        while time.monotonic() < window.stop_at:
            await s.pause()
            if time.monotonic() >= window.stop_at:
                break
            if step == len(titles):
                forward = False
            elif step == 1:
                forward = True
            step += 1 if forward else -1
            t = time.monotonic()
            await sess.send_rerun(page_name="lessons", query=query,
                                  states={sess.widgets[labels["next" if forward else "back"]]: ("trigger_value", True)})
            try:
                await sess.read_run(None, timeout_s)
            except TimeoutError:
                stats.errors.append(f"lesson {s.i}: no step {step} within {timeout_s:g} s")
                continue
            if (sess.bad and not refused[step - 1]) or titles[step - 1] not in sess.headings:
                stats.errors.append(f"lesson {s.i}: step {step} not shown; " + "; ".join(sess.bad))
                continue
            lat = time.monotonic() - t
            stats.latencies.append(lat)
            stats.lesson_latencies.append(lat)
    except Exception as exc:  # noqa: BLE001 - a dropped session is an error of the run
        stats.errors.append(f"lesson {s.i}: {type(exc).__name__}: "
                            f"{str(exc).splitlines()[0][:200] if str(exc) else ''}")
    finally:
        await sess.close()


async def ws_teacher(port: int, window: Window, stats: Stats, who: str = "teacher") -> None:
    """The projector (or a student following the live run): the training page, rerunning its live fragment
    when the server asks, as a browser does."""
    sess = WsSession(port)
    try:
        await sess.connect()
        if who != "teacher":
            count_replica(stats, sess)
        await sess.send_rerun(page_name="training")
        await sess.read_run(None, 120)
        await window.started.wait()
        due: dict[str, float] = {}  # fragment id -> when its timer fires next
        while time.monotonic() < window.stop_at:
            if not sess.auto_reruns:
                due = {}
                await asyncio.sleep(1.0)
                await sess.send_rerun(page_name="training")
            else:
                now = time.monotonic()
                due = {f: due.get(f, now + interval) for f, interval in sess.auto_reruns.items()}
                fragment = min(due, key=lambda f: due[f])
                await asyncio.sleep(max(0.0, due[fragment] - now))
                due[fragment] = time.monotonic() + sess.auto_reruns[fragment]
                await sess.send_rerun(page_name="training", fragment_id=fragment, auto=True)
            await sess.read_run(None, 60)
            if "Batches seen" in sess.metrics:
                stats.teacher_updates.add(sess.metrics["Batches seen"])
            if sess.bad:
                stats.errors.append(f"{who}: " + "; ".join(sess.bad))
    except Exception as exc:  # noqa: BLE001
        stats.errors.append(f"{who}: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
    finally:
        await sess.close()


# ------------------------------------------------------------------ browser clients


async def wait_value(page: Any, value: str, timeout_s: float) -> float:
    """Wait until the page shows ``value``; returns the seconds from the student's last input (page clock)."""
    shown = await page.evaluate(VALUE_JS, [value, timeout_s * 1000])
    if shown is None:
        raise TimeoutError(f"no value {value} within {timeout_s:g} s")
    t0 = await page.evaluate("() => window.__lvT0 || null")
    return (shown - t0) / 1000 if t0 is not None else 0.0


async def browser_student(s: Student, browser: Any, url: str, start_at: float, window: Window, timeout_s: float,
                          stats: Stats) -> None:
    ctx = await browser.new_context(viewport={"width": 1100, "height": 800})
    page = await ctx.new_page()
    page.on("pageerror", lambda e: stats.page_errors.append(f"session {s.i}: {e}"))
    page.on("crash", lambda *_: stats.errors.append(f"session {s.i}: page crashed"))

    async def open_explorer(limit_s: float) -> None:
        s.reset()
        await page.goto(f"{url}/?ex={PRESET}", wait_until="domcontentloaded", timeout=limit_s * 1000)
        await page.evaluate(INPUT_CLOCK_JS)
        await wait_value(page, s.value, limit_s)

    try:
        await asyncio.sleep(max(0.0, start_at - time.monotonic()))
        t0 = time.monotonic()
        await open_explorer(timeout_s * 6)
        stats.loads.append(time.monotonic() - t0)
        area = page.get_by_role("textbox", name=SLOT_LABEL, exact=True)
        radios = page.locator('[data-testid="stRadio"]').filter(has_text="Reduction")
        await window.started.wait()
        while time.monotonic() < window.stop_at:
            await s.pause()
            if time.monotonic() >= window.stop_at:
                break
            what, value = s.next_action()
            try:
                if what == "reduction":
                    await radios.get_by_text(value, exact=True).click(timeout=timeout_s * 1000, no_wait_after=True)
                else:
                    await area.fill(value, timeout=timeout_s * 1000)
                    await area.press("Control+Enter", timeout=timeout_s * 1000, no_wait_after=True)
                latency = await wait_value(page, s.value, timeout_s)
            except Exception as exc:  # noqa: BLE001 - a slow or lost interaction is an error of the run
                stats.errors.append(f"session {s.i}: {type(exc).__name__}: {str(exc).splitlines()[0][:120]}")
                try:
                    await open_explorer(timeout_s * 6)
                except Exception:  # noqa: BLE001
                    return
                continue
            stats.latencies.append(latency)
            bad = await page.evaluate(BAD_JS)
            if bad:
                stats.errors.append(f"session {s.i}: {bad} exception/error element(s)")
    except Exception as exc:  # noqa: BLE001
        stats.errors.append(f"session {s.i}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    finally:
        await ctx.close()


def class_mix(n: int, landscape: int, lessons: int, watchers: int) -> list[str]:
    """What each of the ``n`` sessions does: the landscape, lesson and watcher sessions spread through the
    class (every k-th, not bunched at the start), the rest on the explorer."""
    kinds = ["explorer"] * n
    for kind, count in (("landscape", landscape), ("lessons", lessons), ("watcher", watchers)):
        free = [i for i, k in enumerate(kinds) if k == "explorer"]
        if count > len(free):
            raise ValueError(f"not enough sessions for {count} {kind}")
        for j in range(count):
            kinds[free[int(j * len(free) / count)]] = kind
    return kinds


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=30, help="concurrent student sessions (1..60)")
    ap.add_argument("--duration", type=float, default=60.0, help="measured window in seconds (10..600)")
    ap.add_argument("--client", choices=["ws", "browser"], default="ws",
                    help="websocket protocol clients (default) or Chromium pages")
    ap.add_argument("--think", type=float, default=2.0,
                    help="mean think time between one student's actions, s (uniform over 0.5x..1.5x)")
    ap.add_argument("--timeout", type=float, default=20.0, help="an interaction slower than this is an error (s)")
    ap.add_argument("--idle-window", type=float, default=20.0, help="seconds of the idle training measurement")
    ap.add_argument("--train-threads", type=int, default=max(1, (os.cpu_count() or 1) - 1),
                    help="torch threads of the training run (default: all cores but one, like the page)")
    ap.add_argument("--landscape", type=int, default=None,
                    help="how many of the sessions sweep the landscape (resolution up to 301 x 301 and new "
                         "ranges each action) instead of using the explorer; websocket clients only "
                         "(default: a class's mix, one in ten)")
    ap.add_argument("--lessons", type=int, default=None,
                    help="how many of the sessions read a lesson (Next / Back) (default: one in three)")
    ap.add_argument("--watchers", type=int, default=None,
                    help="how many of the sessions follow the live run on the training page, besides the "
                         "teacher's projector (default: one in twenty)")
    ap.add_argument("--proxy", action="store_true",
                    help="run the same load through HAProxy in front of --replicas replicas (deploy/classroom.py) "
                         "and report the sessions each replica got")
    ap.add_argument("--replicas", type=int, default=2, help="replicas behind the proxy with --proxy (default 2)")
    ap.add_argument("--settle", type=float, default=None,
                    help="after the class: seconds to wait once every session has closed before the end RSS "
                         "(default: the server's disconnected-session TTL + 5)")
    ap.add_argument("--no-training", action="store_true", help="sessions only")
    ap.add_argument("--keep-runs", action="store_true", help="keep the temporary runs folder (default: delete it)")
    args = ap.parse_args(argv)
    if not 1 <= args.sessions <= 60 or not 10 <= args.duration <= 600 or not 0.1 <= args.think <= 60:
        ap.error("--sessions must be 1..60, --duration 10..600 and --think 0.1..60")
    ws = args.client == "ws"
    for name, share in (("landscape", 10), ("lessons", 3), ("watchers", 20)):
        if getattr(args, name) is None:  # a class: most on the explorer and lessons, some on the landscape
            setattr(args, name, args.sessions // share if ws else 0)
    if (args.landscape + args.lessons + args.watchers > args.sessions or min(args.landscape, args.lessons,
                                                                             args.watchers) < 0
            or (args.landscape + args.lessons + args.watchers and not ws)):
        ap.error("--landscape + --lessons + --watchers must be 0..--sessions, with --client ws")
    if args.proxy and (not ws or not 1 <= args.replicas <= 8):
        ap.error("--proxy needs --client ws and --replicas 1..8")
    if args.settle is None:  # past the closed-session TTL and the landscape's big caches' ttl
        from streamlit import config

        config.get_config_options(force_reparse=True)
        args.settle = max(float(config.get_option("server.disconnectedSessionTTL") or 0), BIG_CACHE_TTL_S) + 5
    if args.client == "browser" and not Path(CHROMIUM).is_file():
        ap.error(f"Chromium is not installed at {CHROMIUM}: run `make chromium`")

    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="lossviz-load-"))
    runs, data = work / "runs", work / "data"
    plan = make_plan()
    log = out_dir / "load_sessions_server.log"
    room = server = None
    if args.proxy:
        global PROXY_PORT
        from deploy.classroom import Classroom

        room = Classroom(replicas_n=args.replicas, runs_dir=runs, data_dir=data, log_dir=out_dir / "replicas").start()
        port = PROXY_PORT = room.port
        server_pids = [r.proc.pid for r in room.replicas] + [room.proxy.pid]
        direct = [r.port for r in room.replicas]  # warm-ups go to each replica itself
    else:
        port = free_port()
        server = start_server(port, runs, data, log)
        server_pids, direct = [server.pid], [port]
    print(f"{'proxy' if args.proxy else 'server'} http://{LOOPBACK}:{port} (runs in {runs}); {args.sessions} "
          f"{args.client} sessions for {args.duration:g} s", file=sys.stderr)
    sampler = Sampler(server_pids)
    sampler.start()
    result: dict[str, Any] = {}
    try:
        # 1. the same training run on the idle server (before and after the class: the machine may be shared)
        idle: list[float] = []
        if not args.no_training:
            idle.append(idle_run(runs, data, "idle-before", args, sampler))

        # 2. the classroom, after one student of each kind has opened and closed the app (so "start" is a
        # server that has imported torch and the pages), with the server's memory before and after
        for p in direct:
            asyncio.run(warm_up(p))
        time.sleep(min(args.settle, 35.0))
        for p in direct:  # the store of closed sessions expires on its next change
            asyncio.run(warm_up(p, landscape=False))
        time.sleep(2)
        start_rss = sum(rss_bytes(p) for p in tree(server_pids))
        result = asyncio.run(classroom(args, port, plan, runs, data, sampler, server_pids))
        time.sleep(args.settle)
        # the next student: closed sessions and expired cache entries leave their stores when those next change
        for p in direct:
            asyncio.run(warm_up(p))
        time.sleep(max(2.0, 1.5 * TRIM_EVERY_S))  # and the trimmer has run since
        end_rss = sum(rss_bytes(p) for p in tree(server_pids))
        result["start_rss_mb"] = round(start_rss / 2**20, 1)
        result["end_rss_mb"] = round(end_rss / 2**20, 1)
        result["end_vs_start"] = round(end_rss / start_rss, 3) if start_rss else None
        result["end_minus_start_mb_per_session"] = round((end_rss - start_rss) / 2**20 / args.sessions, 2)
        result["settle_s"] = args.settle

        if not args.no_training:
            idle.append(idle_run(runs, data, "idle-after", args, sampler))
        idle_ips = statistics.mean(idle) if idle and all(idle) else None
        result["train_images_per_s_idle"] = round(idle_ips, 1) if idle_ips else None
        result["train_images_per_s_idle_runs"] = [round(v, 1) for v in idle]
        load_ips = result.get("train_images_per_s_load")
        result["train_ratio_vs_idle"] = round(load_ips / idle_ips, 3) if idle_ips and load_ips else None
    finally:
        sampler.stop()
        if server is not None:
            stop_group(server)
        if room is not None:
            room.stop()
        sampler.join(5)
        if not args.keep_runs:
            shutil.rmtree(work, ignore_errors=True)
    result["peak_rss_mb"] = round(sampler.peak_server / 2**20, 1)
    result["train_rss_peak_mb"] = round(sampler.peak_train / 2**20, 1)
    result["cpu_count"] = os.cpu_count()
    result["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    result["proxy"] = args.proxy
    result["replicas"] = args.replicas if args.proxy else 1
    per = result.get("sessions_per_replica") or {}
    balance = (max(per.values()) - min(per.values())) / max(per.values()) if len(per) == args.replicas and per else None
    result["replica_imbalance"] = round(balance, 3) if balance is not None else None
    result["peak_rss_mb_per_replica"] = round(sampler.peak_server / 2**20 / result["replicas"], 1)
    result["targets"] = {  # issue 21
        "zero_errors": result.get("errors") == 0,
        "p95_le_1s": result.get("p95_s") is not None and result["p95_s"] <= 1.0,
        "train_ratio_ge_0_8": (result.get("train_ratio_vs_idle") or 0) >= 0.8 or args.no_training,
        # one server: 2 GiB; through the proxy each replica is a server of its own (torch and the pages loaded)
        "rss_le_2gib_per_server": sampler.peak_server <= 2 * GIB * result["replicas"],
        "end_rss_within_5mb_per_session": result.get("end_minus_start_mb_per_session") is not None
        and result["end_minus_start_mb_per_session"] <= 5.0,
    }
    if args.proxy:
        result["targets"]["replicas_balanced_within_20pct"] = balance is not None and balance <= 0.20
    result["targets_met"] = all(result["targets"].values())
    ordered = {k: result.get(k) for k in ("sessions", "proxy", "sessions_per_replica", "errors", "p50_s", "p95_s",
                                          "landscape_p95_s", "lesson_p95_s", "peak_rss_mb", "start_rss_mb", "end_rss_mb",
                                          "end_vs_start", "train_ratio_vs_idle")}
    ordered.update({k: v for k, v in result.items() if k not in ordered})
    (out_dir / f"load_sessions_{args.client}{'_proxy' if args.proxy else ''}.json").write_text(json.dumps(ordered, indent=2) + "\n")
    print(json.dumps(ordered))
    return 0


async def warm_up(port: int, landscape: bool = True) -> None:
    """One session on the explorer (and one on the landscape, which also asks for a 301 x 301 grid with
    ranges of its own, loading every module a sweep needs), opened and closed."""
    for page in ("", "landscape", "lessons") if landscape else ("",):
        sess = WsSession(port)
        try:
            await sess.connect()
            if page == "lessons":
                await sess.send_rerun(page_name=page, query="lesson=ce_forms&step=1")
            elif page:
                await sess.send_rerun(page_name=page)
                await sess.read_run(None, 180)
                await sess.send_rerun(page_name=page, states={
                    sess.widgets[RES_LABEL]: ("string_array_value", [SWEEP[-1]]),
                    sess.widgets[RANGE_LABEL]: ("string_value", "-2.5, 2.5, -1.5, 1.5")})
            else:
                await sess.send_rerun(query=f"ex={PRESET}")
            await sess.read_run(None, 180)
        finally:
            await sess.close()


def idle_run(runs: Path, data: Path, name: str, args: argparse.Namespace, sampler: Sampler) -> float:
    """images/s of the training run on the server with no sessions, over ``--idle-window`` seconds."""
    trainer = start_training(runs, data, name, args.train_threads)
    try:
        wait_run_dir(runs / name, trainer)
        sampler.follow(trainer.pid, runs / name)
        if not sampler.wait_for_steps(5, 180):
            raise RuntimeError(f"the {name} training run produced no batches")
        t0 = time.monotonic()
        time.sleep(args.idle_window)
        ips = sampler.images_per_s(t0, time.monotonic()) or 0.0
    finally:
        stop_training(trainer)
        sampler.follow(None, None)
    print(f"{name} training: {ips:.0f} images/s", file=sys.stderr)
    return ips


def wait_run_dir(path: Path, proc: subprocess.Popen[bytes], limit_s: float = 120) -> None:
    end = time.monotonic() + limit_s
    while not (path / "metrics.jsonl").exists():
        if proc.poll() is not None:
            raise RuntimeError(f"the training run exited with {proc.returncode} before it started")
        if time.monotonic() > end:
            raise RuntimeError("the training run did not start")
        time.sleep(0.2)


async def classroom(args: argparse.Namespace, port: int, plan: Plan, runs: Path, data: Path, sampler: Sampler,
                    server_pids: list[int]) -> dict[str, Any]:
    stats = Stats()
    window = Window()
    url = f"http://{LOOPBACK}:{port}"
    students = [Student(i, plan, args.think) for i in range(args.sessions)]
    ramp = time.monotonic()
    browser = pw = None
    if args.client == "browser":
        from playwright.async_api import async_playwright

        pw = await async_playwright().start()
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        tasks = [asyncio.create_task(browser_student(s, browser, url, ramp + 0.4 * s.i, window, args.timeout, stats))
                 for s in students]
    else:
        kinds = class_mix(args.sessions, args.landscape, args.lessons, args.watchers)
        student_kinds = {"explorer": ws_student, "landscape": ws_landscape, "lessons": ws_lesson}
        tasks = [asyncio.create_task(student_kinds[kinds[s.i]](s, port, ramp + 0.1 * s.i, window, args.timeout, stats))
                 for s in students if kinds[s.i] in student_kinds]
    trainer = None
    status = None
    try:
        deadline = time.monotonic() + 300
        while len(stats.loads) + len(stats.errors) < len(tasks) and time.monotonic() < deadline:
            await asyncio.sleep(0.25)
        loaded = len(stats.loads)
        print(f"{loaded}/{args.sessions} sessions loaded in {time.monotonic() - ramp:.1f} s", file=sys.stderr)
        if not args.no_training:
            trainer = start_training(runs, data, "classroom", args.train_threads)
            await asyncio.to_thread(wait_run_dir, runs / "classroom", trainer)
            sampler.follow(trainer.pid, runs / "classroom")
            await asyncio.to_thread(sampler.wait_for_steps, 5, 180)
        # the projector's browser runs on its own machine: the teacher is a protocol client in both modes
        # (its reruns still load the server; a local Chromium redrawing four charts a second would not)
        watch = asyncio.create_task(ws_teacher(port, window, stats))
        watchers = [asyncio.create_task(ws_teacher(port, window, stats, who=f"watcher {i}"))
                    for i in range(args.sessions) if kinds[i] == "watcher"]
        await asyncio.sleep(3)  # the teacher's page is open before the clock starts
        me = [os.getpid()] + ([] if browser is None else [p for p in descendants(os.getpid()) if p != os.getpid()])
        cpu0 = (cpu_seconds(tree(server_pids)), cpu_seconds([trainer.pid]) if trainer else 0.0,
                cpu_seconds(me))
        start = time.monotonic()
        window.stop_at = start + args.duration
        window.started.set()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=args.duration + 300)
        await asyncio.wait_for(asyncio.gather(watch, *watchers), timeout=120)
        end = min(time.monotonic(), window.stop_at)
        me = [os.getpid()] + ([] if browser is None else [p for p in descendants(os.getpid()) if p != os.getpid()])
        cpu1 = (cpu_seconds(tree(server_pids)), cpu_seconds([trainer.pid]) if trainer else 0.0,
                cpu_seconds(me))
        load_ips = sampler.images_per_s(start, end) if trainer is not None else None
    finally:
        if trainer is not None:
            stop_training(trainer)
            status = (read_json(runs / "classroom" / "summary.json") or {}).get("status")
        if browser is not None:
            await browser.close()
        if pw is not None:
            await pw.stop()
    lat = stats.latencies
    print(f"{len(lat)} interactions, {len(stats.errors)} errors, {len(stats.page_errors)} page errors",
          file=sys.stderr)
    for e in (stats.errors + stats.page_errors)[:10]:
        print("  " + e, file=sys.stderr)
    span = max(1e-9, end - start)
    return {
        "sessions": args.sessions,
        "client": args.client,
        "sessions_loaded": loaded,
        "duration_s": args.duration,
        "think_s": args.think,
        "interactions": len(lat),
        "interactions_per_s": round(len(lat) / span, 2),
        "errors": len(stats.errors) + len(stats.page_errors),
        "p50_s": round(statistics.median(lat), 3) if lat else None,
        "p95_s": round(pct(lat, 0.95), 3) if lat else None,
        "landscape_sessions": args.landscape,
        "lesson_sessions": args.lessons,
        "watcher_sessions": args.watchers,
        "lesson_p95_s": round(pct(stats.lesson_latencies, 0.95), 3) if stats.lesson_latencies else None,
        "sessions_per_replica": dict(sorted(stats.replicas.items())) or None,
        "landscape_interactions": len(stats.landscape_latencies),
        "landscape_p50_s": round(statistics.median(stats.landscape_latencies), 3) if stats.landscape_latencies else None,
        "landscape_p95_s": round(pct(stats.landscape_latencies, 0.95), 3) if stats.landscape_latencies else None,
        "max_s": round(max(lat), 3) if lat else None,
        "load_p50_s": round(statistics.median(stats.loads), 2) if stats.loads else None,
        "load_p95_s": round(pct(stats.loads, 0.95), 2) if stats.loads else None,
        "train_images_per_s_load": round(load_ips, 1) if load_ips else None,
        "cpu_share_server": round((cpu1[0] - cpu0[0]) / span, 2),
        "cpu_share_trainer": round((cpu1[1] - cpu0[1]) / span, 2),
        "cpu_share_clients": round((cpu1[2] - cpu0[2]) / span, 2),
        "training_page_updates_seen": len(stats.teacher_updates),
        "training_status_after": status,
        "train_threads": args.train_threads,
        "first_errors": (stats.errors + stats.page_errors)[:5],
    }


if __name__ == "__main__":
    sys.exit(main())
