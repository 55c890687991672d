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

from lossviz.errors import LossvizInputError
from lossviz.training import jobs as lv_jobs
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
    ours = {**os.environ, procs.JOB_MARKER_ENV: str(tmp_path / "error.json")}
    theirs = {k: v for k, v in os.environ.items() if k != procs.JOB_MARKER_ENV}
    sleep = [sys.executable, "-c", "import time; time.sleep(60)"]
    sleeper = subprocess.Popen(sleep, start_new_session=True, env=ours)
    other = subprocess.Popen(sleep, start_new_session=True, env=ours)
    foreign = subprocess.Popen(sleep, start_new_session=True, env=theirs)
    try:
        wait_until(lambda: procs.process_start(foreign.pid) is not None, "the foreign process")
        (tmp_path / f"{foreign.pid}.{procs.process_start(foreign.pid)}").touch()  # not started by lossviz
        start = procs.process_start(sleeper.pid)
        assert start is not None and procs.pid_alive(sleeper.pid, start)
        (tmp_path / f"{sleeper.pid}.{start}").touch()
        (tmp_path / f"{other.pid}.{procs.process_start(other.pid) + 1}").touch()  # a reused number
        (tmp_path / "junk").touch()
        assert len(procs.worker_pids(tmp_path)) == 3
        procs.signal_workers(tmp_path, signal.SIGTERM)
        assert sleeper.wait(10) == -signal.SIGTERM
        time.sleep(0.2)
        assert other.poll() is None and foreign.poll() is None
    finally:
        for p in (sleeper, other, foreign):
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
    wait_until(lambda: (tmp_path / "exited").exists(), "the orphan to exit", 180)


# ----------------------------------------------------------------------------- D7: names claimed before the start


def test_a_second_start_with_the_same_name_is_refused_and_the_first_owner_keeps_control(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOSSVIZ_MAX_JOBS", "3")
    manager, replica = JobManager(), JobManager()  # a second server process on the same runs folder
    first = manager.start(tiny(), runs_dir=tmp_path, name="same", owner="alice")
    assert (tmp_path / "same").is_dir()  # claimed before the process made anything
    for other in (manager, replica):
        with pytest.raises(LossvizInputError, match="a run named 'same' already exists"):
            other.start(tiny(), runs_dir=tmp_path, name="same", owner="bob")
    assert manager.get("same") is first and first.can_control("alice")
    there = replica.get("same")  # the other replica sees it through the ledger, and whose it is
    assert there is not None and there.remote and there.can_control("alice") and not there.can_control("bob")
    wait_until(lambda: batches(first.run_dir) >= 2, "the first run to train")
    first.stop()
    assert first.wait(60) and first.status == "stopped"


def test_two_auto_names_in_the_same_second_get_two_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lv_runs, "auto_run_name", lambda config, when=None: "same-second")
    manager = JobManager(max_jobs=2, max_per_owner=2)
    a = manager.start(tiny(max_batches=2, epochs=1), runs_dir=tmp_path, owner="alice")
    b = manager.start(tiny(max_batches=2, epochs=1), runs_dir=tmp_path, owner="alice")
    assert (a.name, b.name) == ("same-second", "same-second-2")
    assert a.wait(120) and b.wait(120)
    assert (a.status, b.status) == ("finished", "finished")  # each trained into the folder claimed for it
    assert [r.name for r in lv_runs.list_runs(tmp_path)].count("same-second") == 1


def test_a_failed_start_says_failed_and_gives_its_name_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = [sys.executable, "-c", "import sys; sys.stderr.write('error: no such data\\n'); sys.exit(2)"]
    monkeypatch.setattr(lv_jobs, "train_command", lambda *a, **k: failing)
    manager = JobManager(max_jobs=1)
    job = manager.start(tiny(), runs_dir=tmp_path, name="doomed", owner="alice")
    assert job.wait(30)
    assert job.status == "failed" and job.note == "no such data"
    manager.jobs()  # the manager notices and releases the claim
    assert not (tmp_path / "doomed").exists()
    rows = manager.run_rows(tmp_path)
    assert all(r["status"] != "finished" for r in rows)


# ----------------------------------------------------------------------------- issue 18: owner from the start


def test_the_owner_controls_a_run_from_the_moment_start_returns(tmp_path: Path) -> None:
    manager = JobManager(max_jobs=1)
    job = manager.start(tiny(), runs_dir=tmp_path, name="mine", owner="alice")
    # before the first batch (the process is still importing torch and making its data)
    assert job.owner == "alice" and job.can_control("alice") and manager.may_control("alice")
    assert job.status == "starting" and job.actions("alice") == ("stop",)
    assert job.actions("bob") == () and not manager.may_control("bob")
    job.pause()  # nothing to pause yet: the claimed folder stays empty for the trainer
    assert list(job.run_dir.iterdir()) == []
    wait_until(lambda: job.status == "running", "the run to start")
    assert job.actions("alice") == ("pause", "stop") and job.actions(None) == ()
    job.pause()
    wait_until(lambda: job.status == "paused", "the pause")
    assert job.actions("alice") == ("resume", "stop")
    job.stop()
    assert job.wait(60) and job.status == "stopped" and job.actions("alice") == ()


def test_stop_while_starting_ends_stopped_not_failed(tmp_path: Path) -> None:
    manager = JobManager(max_jobs=1)
    job = manager.start(tiny(), runs_dir=tmp_path, name="early", owner="alice")
    job.stop()  # at once: SIGTERM reaches the process before or while it loads
    assert job.wait(60)
    assert job.status == "stopped"


# ----------------------------------------------------------------------------- D15: a killed rank's note


def test_a_killed_rank_is_a_plain_sentence_with_torchs_text_as_detail(tmp_path: Path) -> None:
    manager = JobManager(max_jobs=1)
    job = manager.start(tiny(), runs_dir=tmp_path, name="one-rank-dies", owner="alice", workers=2)
    wait_until(lambda: job.run_dir.is_dir() and batches(job.run_dir) >= 2, "two batches on two workers")
    victim = max(procs.worker_pids(job.worker_pids))  # one of the two ranks
    os.kill(victim[0], signal.SIGKILL)
    assert job.wait(60), "the run must end when a rank dies"
    assert job.status in ("failed", "interrupted")
    note = job.note
    assert str(note) == (
        "a worker process died (signal SIGKILL, 9), so the run ended: every worker must stay to the end"
    )
    assert note.render("zh") != str(note)
    for raw in ("GLHF", ".cpp", ".cc:", "Traceback", "gloo"):
        assert raw not in str(note)
    assert job.detail == "" or job.detail != str(note)  # torch's own words, if rank 0 wrote any, stay aside
