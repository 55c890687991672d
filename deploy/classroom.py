"""Serve a whole class: N Streamlit replicas of lossviz behind HAProxy on one port.

``make classroom REPLICAS=N`` (or ``python deploy/classroom.py --replicas N``) starts N
``streamlit run app.py`` processes on free loopback ports, waits for each one's health endpoint
(``/_stcore/health``), fills deploy/haproxy.cfg with their addresses and runs Debian's HAProxy in
front of them on ``--address:--port``. Sessions stick to a replica by a cookie the proxy sets
(``SERVERID``); every response names its replica in ``X-Lossviz-Replica``. All replicas share
``LOSSVIZ_DATA`` and ``LOSSVIZ_RUNS`` (runs, probes, classes, the job ledger) and one Streamlit
cookie secret, so a browser moved to another replica is the same browser there.

Ctrl-C (or SIGTERM) stops the proxy and every replica. A replica that dies is logged and started
again on the same port (the proxy's health check takes it back) unless ``--no-restart``.

The :class:`Classroom` class is what the replica tests and ``bench/load_sessions.py --proxy`` use.

Example:
    >>> with Classroom(replicas=2) as room:          # doctest: +SKIP
    ...     print(room.url, [r.name for r in room.replicas])
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # ``python deploy/classroom.py``: the shutdown imports lossviz's job manager
    sys.path.insert(0, str(ROOT))
TEMPLATE = Path(__file__).resolve().parent / "haproxy.cfg"
LOOPBACK = "127.0.0.1"
REPLICA_HEADER = "X-Lossviz-Replica"
STICKY_COOKIE = "SERVERID"


def default_replicas() -> int:
    """One replica per two cores (at least one): each replica is one Python process, one GIL."""
    return max(1, (os.cpu_count() or 1) // 2)


def free_port(address: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return int(s.getsockname()[1])


def healthy(url: str, timeout: float = 2.0) -> str | None:
    """The replica header of a ``/_stcore/health`` answer that says ok ("" if the answer has none), else None."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as r:
            if r.status == 200 and r.read().strip() == b"ok":
                return r.headers.get(REPLICA_HEADER, "")
    except OSError:
        pass
    return None


def _stop_group(proc: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=timeout)


@dataclass
class Replica:
    """One ``streamlit run app.py`` on a loopback port."""

    name: str
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


@dataclass
class Classroom:
    """N replicas and HAProxy in front of them; a context manager that stops everything on exit."""

    replicas_n: int = field(default_factory=default_replicas)
    port: int | None = None
    address: str = LOOPBACK
    runs_dir: Path | None = None
    data_dir: Path | None = None
    log_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    streamlit_args: list[str] = field(default_factory=list)
    timeout_s: float = 120.0
    haproxy: str = "haproxy"

    def __post_init__(self) -> None:
        if self.replicas_n < 1:
            raise ValueError("a classroom needs at least one replica")
        self.replicas: list[Replica] = []
        self.proxy: subprocess.Popen[bytes] | None = None
        self._work = Path(tempfile.mkdtemp(prefix="lossviz-classroom-"))
        self.log_dir = Path(self.log_dir) if self.log_dir else self._work
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = self._work / "haproxy.cfg"
        # One cookie secret for every replica: Streamlit signs its XSRF cookie with it, so a browser that
        # the proxy moves to another replica keeps a valid cookie there.
        self.cookie_secret = self.extra_env.get("STREAMLIT_SERVER_COOKIE_SECRET") or secrets.token_hex(32)

    # ------------------------------------------------------------------ life cycle

    @property
    def url(self) -> str:
        host = LOOPBACK if self.address in ("0.0.0.0", "") else self.address
        return f"http://{host}:{self.port}"

    def shared_env(self) -> dict[str, str]:
        """The environment every replica shares (its folders, the cookie secret, detached runs)."""
        env = dict(os.environ)
        if self.runs_dir is not None:
            env["LOSSVIZ_RUNS"] = str(self.runs_dir)
        if self.data_dir is not None:
            env["LOSSVIZ_DATA"] = str(self.data_dir)
        env.update(self.extra_env)
        env.update({"PYTHONUNBUFFERED": "1", "STREAMLIT_SERVER_COOKIE_SECRET": self.cookie_secret,
                    # a run trains on when its replica dies: the others reach it through the shared ledger
                    "LOSSVIZ_DETACHED_RUNS": "1"})
        return env

    def env(self, replica: Replica) -> dict[str, str]:
        return {**self.shared_env(), "LOSSVIZ_REPLICA": replica.name}

    def ledger_dir(self) -> Path:
        """The job ledger every replica shares: ``default_ledger_dir`` in the replicas' environment, a
        relative folder taken from ROOT (where the replicas run)."""
        from lossviz.training.ledger import default_ledger_dir

        return ROOT / default_ledger_dir(self.shared_env())

    def start(self) -> Classroom:
        if shutil.which(self.haproxy) is None:
            raise RuntimeError(f"{self.haproxy} is not installed (`make haproxy` installs Debian's)")
        if self.port is None:
            self.port = free_port(self.address if self.address not in ("0.0.0.0", "") else LOOPBACK)
        self.replicas = [Replica(f"r{i + 1}", 0, self.log_dir / f"replica-r{i + 1}.log")
                         for i in range(self.replicas_n)]
        try:
            with ThreadPoolExecutor(len(self.replicas)) as pool:
                list(pool.map(self.start_replica, self.replicas))
            self.start_proxy()
        except BaseException:
            self.stop()
            raise
        return self

    def start_replica(self, replica: Replica) -> None:
        """Start (or restart, on its old port) one replica and wait for its health endpoint."""
        for attempt in range(3):
            if not replica.port or attempt:
                replica.port = free_port()
            cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.address", LOOPBACK,
                   "--server.port", str(replica.port), "--server.headless", "true",
                   "--browser.gatherUsageStats", "false", *self.streamlit_args]
            with open(replica.log, "ab") as out:
                replica.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env(replica), stdout=out,
                                                stderr=subprocess.STDOUT, start_new_session=True)
            deadline = time.monotonic() + self.timeout_s
            while time.monotonic() < deadline:
                if replica.proc.poll() is not None:
                    break
                if healthy(replica.url) is not None:
                    return
                time.sleep(0.25)
            else:
                _stop_group(replica.proc)
                raise RuntimeError(f"replica {replica.name} was not healthy in {self.timeout_s:.0f} s:\n"
                                   f"{replica.log_tail()}")
            tail = replica.log_tail()
            if "already in use" not in tail and "is not available" not in tail:
                raise RuntimeError(f"replica {replica.name} exited with {replica.proc.returncode}:\n{tail}")
        raise RuntimeError(f"replica {replica.name}: no free port after three tries")

    def render_config(self) -> str:
        servers = "\n".join(f"    server {r.name} {LOOPBACK}:{r.port} cookie {r.name}" for r in self.replicas)
        return string.Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
            bind=f"{self.address}:{self.port}", servers=servers)

    def start_proxy(self) -> None:
        self.config_path.write_text(self.render_config(), encoding="utf-8")
        check = subprocess.run([self.haproxy, "-c", "-q", "-f", str(self.config_path)], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy refused {self.config_path}:\n{check.stdout}{check.stderr}")
        log = open(self.log_dir / "haproxy.log", "ab")  # noqa: SIM115 - kept open for the process's life
        self.proxy = subprocess.Popen([self.haproxy, "-f", str(self.config_path), "-db"], stdout=log,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proxy.poll() is not None:
                raise RuntimeError(f"haproxy exited with {self.proxy.returncode}; see {self.log_dir / 'haproxy.log'}")
            if healthy(self.url):
                return
            time.sleep(0.2)
        raise RuntimeError("haproxy did not answer on its port in 30 s")

    def restart_replica(self, replica: Replica) -> None:
        """Start a dead replica again; if it had to take a new port, the proxy restarts with the new config."""
        old = replica.port
        self.start_replica(replica)
        if replica.port != old:
            _stop_group(self.proxy)
            self.start_proxy()

    def kill_replica(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Kill one replica's process (only the Streamlit process: its training runs are processes of their own)."""
        replica = self.replica(name)
        if replica.alive:
            os.kill(replica.proc.pid, sig)
            replica.proc.wait(timeout=30)

    def replica(self, name: str) -> Replica:
        return next(r for r in self.replicas if r.name == name)

    def wait_down(self, name: str, limit_s: float = 20.0) -> bool:
        """Wait until the proxy no longer sends fresh requests to ``name`` (its health check has failed)."""
        deadline = time.monotonic() + limit_s
        while time.monotonic() < deadline:
            seen = {healthy(self.url) for _ in range(2 * len(self.replicas))}
            if name not in seen and seen != {None}:
                return True
            time.sleep(0.5)
        return False

    def stop(self) -> None:
        """Stop the proxy and every replica (each stops its own runs as it exits), then the runs that
        outlived a replica killed earlier (their replica is gone, so nobody else would)."""
        _stop_group(self.proxy)
        for r in self.replicas:
            _stop_group(r.proc)
        from lossviz.training.jobs import stop_orphans

        stopped = stop_orphans(self.ledger_dir())
        if stopped:
            print(f"stopped {len(stopped)} run(s) whose replica had died: {', '.join(stopped)}", flush=True)

    def __enter__(self) -> Classroom:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="N lossviz replicas behind HAProxy on one port (Ctrl-C stops all).")
    ap.add_argument("--replicas", type=int, default=default_replicas(),
                    help=f"Streamlit processes (default: one per two cores, here {default_replicas()})")
    ap.add_argument("--port", type=int, default=8501, help="the proxy's port (default 8501)")
    ap.add_argument("--address", default=LOOPBACK,
                    help="the proxy's address (default loopback; 0.0.0.0 or the LAN address for a class)")
    ap.add_argument("--log-dir", type=Path, default=None, help="where replica and proxy logs go (default: a temp dir)")
    ap.add_argument("--no-restart", action="store_true", help="leave a replica that dies down")
    args = ap.parse_args(argv)
    if not 1 <= args.replicas <= 64:
        ap.error("--replicas must be 1..64")
    room = Classroom(replicas_n=args.replicas, port=args.port, address=args.address, log_dir=args.log_dir)
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(f"starting {args.replicas} replica(s) and haproxy...", flush=True)
    try:
        room.start()
        for r in room.replicas:
            print(f"  replica {r.name}: {r.url} (log {r.log})", flush=True)
        print(f"lossviz classroom: {room.url}  (haproxy config {room.config_path}; Ctrl-C stops all)", flush=True)
        reported: set[str] = set()
        while not stopping:
            time.sleep(1)
            if room.proxy is not None and room.proxy.poll() is not None:
                print(f"haproxy exited with {room.proxy.returncode}; stopping", file=sys.stderr, flush=True)
                return 1
            for r in room.replicas:
                if r.alive or stopping or r.name in reported:
                    continue
                print(f"replica {r.name} exited ({r.proc.returncode if r.proc else '?'})"
                      + ("" if args.no_restart else "; starting it again"), file=sys.stderr, flush=True)
                if args.no_restart:
                    reported.add(r.name)
                    continue
                try:
                    room.restart_replica(r)
                    print(f"  replica {r.name} is back: {r.url}", flush=True)
                except RuntimeError as exc:
                    reported.add(r.name)
                    print(str(exc), file=sys.stderr, flush=True)
    finally:
        print("stopping the proxy and every replica", flush=True)
        room.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
