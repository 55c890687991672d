"""Real training processes under the job manager (issue 20): a dead torchrun agent takes its workers
with it (D4); run names claimed before the process starts (D7); a killed rank's note (D15). Slower
than tests/test_jobs.py: each test trains a tiny synthetic run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lossviz.training import procs
from lossviz.training import runs as lv_runs
from lossviz.training.jobs import JobManager, stop_all_managers
from lossviz.training.trainer import TrainConfig


@pytest.fixture(autouse=True)
def cleanup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LOSSVIZ_MAX_WORKERS", "2")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    yield
    stop_all_managers(20)


def wait_until(cond: Callable[[], bool], what: str, limit_s: float = 120.0) -> None:
    end = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def tiny(**overrides: object) -> TrainConfig:
    base = dict(dataset="synthetic", synthetic_train=256, synthetic_test=64, batch_size=16, epochs=200, threads=1,
                evaluate=False)  # fmt: skip
    base.update(overrides)
    return TrainConfig(**base)  # type: ignore[arg-type]


def batches(run_dir: Path) -> int:
    return sum(1 for r in lv_runs.read_metrics(run_dir) if r.get("kind", "batch") == "batch")


def test_killing_the_torchrun_agent_ends_its_workers(tmp_path: Path) -> None:
    """D4: ``kill -9`` of the agent; both gloo workers end within seconds and the run never says finished."""
    manager = JobManager(max_jobs=1)
    job = manager.start(tiny(), runs_dir=tmp_path, name="ddp", owner="alice", workers=2)
    wait_until(lambda: job.run_dir.is_dir() and batches(job.run_dir) >= 2, "two batches on two workers")
    workers = procs.worker_pids(job.worker_pids)
    assert len(workers) == 2 and all(procs.pid_alive(pid, start) for pid, start in workers)
    assert all(os.getsid(pid) != os.getsid(job.process.pid) for pid, _ in workers)  # torchrun's own sessions
    os.kill(job.process.pid, signal.SIGKILL)  # the agent
    job.wait(10)
    died = time.monotonic()
    wait_until(lambda: not any(procs.pid_alive(p, s) for p, s in workers), "the workers to end", 15)
    assert time.monotonic() - died < 10
    steps = batches(job.run_dir)
    time.sleep(1.0)
    assert batches(job.run_dir) == steps  # nobody trains on
    assert job.status in ("stopped", "interrupted")
    assert lv_runs.read_run(tmp_path, "ddp").status in ("stopped", "interrupted")


def test_the_manager_signals_recorded_workers_of_a_dead_agent(tmp_path: Path) -> None:
    """Workers live in sessions of their own: the manager signals each recorded pid, and only while it is
    still the same process (a recorded pid with another start time is left alone)."""
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        start = procs.process_start(sleeper.pid)
        assert start is not None and procs.pid_alive(sleeper.pid, start)
        (tmp_path / f"{sleeper.pid}.{start}").touch()
        (tmp_path / f"{other.pid}.{procs.process_start(other.pid) + 1}").touch()  # a reused number
        (tmp_path / "junk").touch()
        assert sorted(procs.worker_pids(tmp_path)) == sorted(
            [(sleeper.pid, start), (other.pid, procs.process_start(other.pid) + 1)]
        )
        procs.signal_workers(tmp_path, signal.SIGTERM)
        assert sleeper.wait(10) == -signal.SIGTERM
        time.sleep(0.2)
        assert other.poll() is None
    finally:
        for p in (sleeper, other):
            p.kill()
            p.wait()


def test_a_worker_whose_agent_is_already_gone_exits_at_once(tmp_path: Path) -> None:
    """The guard checks ``getppid()`` after arming PR_SET_PDEATHSIG: an orphan never starts training."""
    script = (
        "import os, sys, time\n"
        "os.environ['LOSSVIZ_AGENT_PID'] = str(os.getpid())\n"
        "if os.fork():\n"
        "    os._exit(0)\n"  # the parent (an 'agent') dies at once
        "time.sleep(0.5)\n"  # the child is now an orphan
        "from lossviz.training.procs import guard_torchrun_worker\n"
        "try:\n"
        "    guard_torchrun_worker()\n"
        "except SystemExit:\n"
        f"    open({str(tmp_path / 'exited')!r}, 'w').close()\n"
    )
    env = {**os.environ, "LOCAL_RANK": "0", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    subprocess.run([sys.executable, "-c", script], env=env, timeout=30, check=True)
    wait_until(lambda: (tmp_path / "exited").exists(), "the orphan to exit", 20)
