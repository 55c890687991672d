"""Benchmark: does a closed session give its memory back, and do reruns grow the server?

One ``streamlit run app.py`` on 127.0.0.1, started under ``tracemalloc`` (one frame) with a
SIGUSR1 handler that writes a snapshot of Python's allocations after a full ``gc.collect()``.
Websocket sessions (bench/load_sessions.py's protocol client) then:

1. warm up: a few sessions open the explorer (two reruns) and the landscape, and close
   (modules imported, caches primed); snapshot A;
2. ``--rounds`` rounds of ``--sessions`` sessions doing the same, each round closed and
   left ``--settle`` s (past the disconnected-session TTL) - snapshots B1, B2, ...;
3. one session reruns the explorer ``--reruns`` times (reduction and logits alternating) -
   snapshots every 100 reruns.

Reported: Python bytes still allocated per session opened and closed (slope over the rounds
after the first, so caches filled once do not count as a leak), bytes per 100 explorer reruns,
the server's RSS at each point, and the allocation sites that grew most. The last line is one
JSON object. tracemalloc makes the server slower: this measures memory, not speed.

Run: ``.venv/bin/python bench/session_memory.py [--sessions 20] [--rounds 3] [--reruns 300]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from load_sessions import (  # noqa: E402
    BIG_CACHE_TTL_S,
    LOOPBACK,
    PRESET,
    RANGE_LABEL,
    RES_LABEL,
    SLOT_LABEL,
    SWEEP,
    WsSession,
    free_port,
    make_plan,
    rss_bytes,
    stop_group,
)

# The server, started under tracemalloc; SIGUSR1 writes a snapshot to $LV_TM_OUT (then renames it, so a
# reader never sees half a file).
SERVER = r"""
import gc, os, signal, sys, tracemalloc
tracemalloc.start(1)
def dump(*_):
    gc.collect()
    out = os.environ["LV_TM_OUT"]
    tracemalloc.take_snapshot().dump(out + ".tmp")
    os.replace(out + ".tmp", out)
signal.signal(signal.SIGUSR1, dump)
from streamlit.web.cli import main
sys.argv = ["streamlit", "run", "app.py", *sys.argv[1:]]
sys.exit(main())
"""


def start(port: int, work: Path, extra: list[str]) -> tuple[subprocess.Popen[bytes], Path]:
    out = work / "snap"
    env = dict(os.environ, LV_TM_OUT=str(out), LOSSVIZ_RUNS=str(work / "runs"), LOSSVIZ_DATA=str(work / "data"),
               PYTHONUNBUFFERED="1")
    cmd = [sys.executable, "-c", SERVER, "--server.address", LOOPBACK, "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false", *extra]
    with open(work / "server.log", "wb") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, out
        except OSError:
            time.sleep(0.25)
    stop_group(proc)
    raise RuntimeError("the server did not start")


def snapshot(proc: subprocess.Popen[bytes], out: Path) -> tracemalloc.Snapshot:
    if out.exists():
        out.unlink()
    os.kill(proc.pid, signal.SIGUSR1)
    deadline = time.monotonic() + 120
    while not out.exists():
        if time.monotonic() > deadline:
            raise RuntimeError("no snapshot from the server")
        time.sleep(0.2)
    return tracemalloc.Snapshot.load(str(out))


def total(s: tracemalloc.Snapshot) -> int:
    return sum(st.size for st in s.statistics("filename"))


async def visit(port: int, plan: Any, reruns: int = 2) -> None:
    """One student: the explorer (``reruns`` changes) and the landscape, then the tab is closed."""
    sess = WsSession(port)
    try:
        await sess.connect()
        await sess.send_rerun(query=f"ex={PRESET}")
        await sess.read_run(None, 120)
        ids = {"reduction": sess.widgets["Reduction"], "text": sess.widgets[SLOT_LABEL]}
        text, red = plan.original, "mean"
        for k in range(reruns):
            if k % 2:
                text = plan.edited if text == plan.original else plan.original
                await sess.send_rerun(query=f"ex={PRESET}", states={ids["text"]: ("string_value", text)})
            else:
                red = "sum" if red == "mean" else "mean"
                await sess.send_rerun(query=f"ex={PRESET}", states={ids["reduction"]: ("string_value", red)})
            await sess.read_run(None, 120)
        await sess.send_rerun(page_name="landscape")
        await sess.read_run(None, 120)
        if sess.bad:
            raise RuntimeError("; ".join(sess.bad))
    finally:
        await sess.close()


async def rerun_explorer(port: int, plan: Any, n: int, every: int, at: Any) -> None:
    sess = WsSession(port)
    try:
        await sess.connect()
        await sess.send_rerun(query=f"ex={PRESET}")
        await sess.read_run(None, 120)
        ids = {"reduction": sess.widgets["Reduction"], "text": sess.widgets[SLOT_LABEL]}
        text, red = plan.original, "mean"
        for k in range(1, n + 1):
            if k % 2:
                red = "sum" if red == "mean" else "mean"
                await sess.send_rerun(query=f"ex={PRESET}", states={ids["reduction"]: ("string_value", red)})
            else:
                text = plan.edited if text == plan.original else plan.original
                await sess.send_rerun(query=f"ex={PRESET}", states={ids["text"]: ("string_value", text)})
            if await sess.read_run(plan.values[(text, red)], 120) is None:
                raise RuntimeError(f"rerun {k}: the value did not arrive")
            if k % every == 0:
                await asyncio.to_thread(at, k)
    finally:
        await sess.close()


async def sweep_landscape(port: int, n: int, seed: int) -> None:
    """One student sweeping the landscape: ``n`` reruns, each a new resolution (up to 301) and new ranges."""
    import random

    rng = random.Random(seed)
    sess = WsSession(port)
    try:
        await sess.connect()
        await sess.send_rerun(page_name="landscape")
        await sess.read_run(None, 120)
        ids = {"res": sess.widgets[RES_LABEL], "range": sess.widgets[RANGE_LABEL]}
        for k in range(n):
            res = SWEEP[k % len(SWEEP)]
            cx, cy, a = round(rng.uniform(-1, 2), 2), round(rng.uniform(-1, 2), 2), rng.choice((0.5, 1.0, 2.0))
            await sess.send_rerun(page_name="landscape", states={
                ids["res"]: ("string_array_value", [res]),
                ids["range"]: ("string_value", f"{cx - a:g}, {cx + a:g}, {cy - a:g}, {cy + a:g}")})
            await sess.read_run(None, 120)
            if sess.bad or not any(f"{res}×{res} grid" in c for c in sess.captions):
                raise RuntimeError(f"sweep {k}: {sess.bad or 'no grid caption'}")
    finally:
        await sess.close()


def top_growth(a: tracemalloc.Snapshot, b: tracemalloc.Snapshot, n: int = 8) -> list[str]:
    out = []
    for d in b.compare_to(a, "lineno")[:n]:
        frame = d.traceback[0]
        where = os.path.relpath(frame.filename, ROOT) if frame.filename.startswith(str(ROOT)) else frame.filename
        where = where.split("site-packages/")[-1]
        out.append(f"{where}:{frame.lineno} {d.size_diff / 1024:+.1f} KiB ({d.count_diff:+d} blocks)")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reruns", type=int, default=300)
    ap.add_argument("--sweepers", type=int, default=0,
                    help="then this many sessions sweep the landscape (--sweeps reruns each, up to 301x301); "
                         "snapshot after the caches' ttl has passed")
    ap.add_argument("--sweeps", type=int, default=15)
    ap.add_argument("--settle", type=float, default=None,
                    help="seconds to wait after a round closes (default: the disconnected-session TTL + 5)")
    ap.add_argument("--server-arg", action="append", default=[], help="extra streamlit option, e.g. "
                    "--server-arg=--server.disconnectedSessionTTL=120")
    args = ap.parse_args(argv)
    if args.settle is None:
        from streamlit import config

        config.get_config_options(force_reparse=True)
        args.settle = float(config.get_option("server.disconnectedSessionTTL")) + 5
    plan = make_plan()
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="lossviz-mem-"))
    proc, out = start(port, work, args.server_arg)
    rss: dict[str, float] = {}
    try:
        async def round_of(n: int) -> None:
            await asyncio.gather(*[visit(port, plan) for _ in range(n)])

        def settle() -> None:
            time.sleep(args.settle)
            # a session stored for reconnect leaves the store when the store next changes (cachetools'
            # TTLCache expires lazily): one more short visit, as the next student's arrival would
            asyncio.run(round_of(1))
            time.sleep(2)

        asyncio.run(round_of(3))
        settle()
        snaps = [snapshot(proc, out)]
        rss["after_warmup"] = rss_bytes(proc.pid) / 2**20
        for r in range(args.rounds):
            asyncio.run(round_of(args.sessions))
            settle()
            snaps.append(snapshot(proc, out))
            rss[f"after_round_{r + 1}"] = rss_bytes(proc.pid) / 2**20
            print(f"round {r + 1}: python {total(snaps[-1]) / 2**20:.1f} MiB, rss {rss[f'after_round_{r + 1}']:.0f} MiB",
                  file=sys.stderr)
        per_session = (total(snaps[-1]) - total(snaps[1])) / max(1, (len(snaps) - 2) * args.sessions)
        first_round = (total(snaps[1]) - total(snaps[0])) / args.sessions
        growth_sessions = top_growth(snaps[1], snaps[-1])

        rerun_snaps: list[tracemalloc.Snapshot] = []

        def at(k: int) -> None:
            rerun_snaps.append(snapshot(proc, out))
            rss[f"reruns_{k}"] = rss_bytes(proc.pid) / 2**20
            print(f"{k} reruns: python {total(rerun_snaps[-1]) / 2**20:.1f} MiB", file=sys.stderr)

        asyncio.run(rerun_explorer(port, plan, args.reruns, 100, at))
        if len(rerun_snaps) >= 3:  # the first 100 fill what is filled once (message cache, widget ids)
            per_100 = (total(rerun_snaps[-1]) - total(rerun_snaps[0])) / (len(rerun_snaps) - 1)
            growth_reruns = top_growth(rerun_snaps[0], rerun_snaps[-1])
        else:
            per_100, growth_reruns = None, []
        sweep_growth: list[str] = []
        sweep_kib = None
        if args.sweepers:
            before = snapshot(proc, out)
            rss["before_sweeps"] = rss_bytes(proc.pid) / 2**20

            async def sweepers() -> None:
                await asyncio.gather(*[sweep_landscape(port, args.sweeps, i) for i in range(args.sweepers)])

            asyncio.run(sweepers())
            rss["after_sweeps_open"] = rss_bytes(proc.pid) / 2**20
            time.sleep(max(args.settle, BIG_CACHE_TTL_S + 5))
            asyncio.run(round_of(1))  # expired entries leave their caches when the caches next store one
            time.sleep(2)
            after = snapshot(proc, out)
            rss["after_sweeps_settled"] = rss_bytes(proc.pid) / 2**20
            sweep_kib = (total(after) - total(before)) / 1024
            sweep_growth = top_growth(before, after)
    finally:
        stop_group(proc)
    result = {
        "sessions_per_round": args.sessions,
        "rounds": args.rounds,
        "settle_s": args.settle,
        "kib_per_closed_session": round(per_session / 1024, 1),
        "kib_per_session_first_round": round(first_round / 1024, 1),
        "kib_per_100_reruns": None if per_100 is None else round(per_100 / 1024, 1),
        "python_mib_after_warmup": round(total(snaps[0]) / 2**20, 1),
        "rss_mib": {k: round(v, 1) for k, v in rss.items()},
        "grew_most_over_rounds": growth_sessions,
        "grew_most_over_reruns": growth_reruns,
        "landscape_sweeps": args.sweepers * args.sweeps,
        "kib_left_after_sweeps": None if sweep_kib is None else round(sweep_kib, 1),
        "grew_most_over_sweeps": sweep_growth,
        "server_args": args.server_arg,
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
