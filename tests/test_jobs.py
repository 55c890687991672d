"""Probes as processes of the job manager (issue 17), the cap per server and per owner (issue 20 D5),
process groups that outlive their leader (D4): fast tests with stand-in processes."""

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
from lossviz.training.jobs import JobManager, stop_all_managers

#: A stand-in probe: writes its pid and a child's pid into argv[1]/pids, then sleeps (or exits with argv[2]).
FAKE_PROBE = r"""
import os, subprocess, sys, time
out = sys.argv[1]
mode = sys.argv[2] if len(sys.argv) > 2 else "sleep"
if mode == "fail":
    sys.stderr.write("warning: something odd\nerror: the slice needs a run with weights\n")
    sys.exit(2)
if mode == "crash":
    os.kill(os.getpid(), 9)
if mode == "ok":
    sys.exit(0)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "pids.tmp"), "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
os.replace(os.path.join(out, "pids.tmp"), os.path.join(out, "pids"))
time.sleep(120)
"""


@pytest.fixture(autouse=True)
def fake_probe(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(lv_jobs, "PROBE_PREFIX", [sys.executable, "-c", FAKE_PROBE])
    yield
    stop_all_managers(10)


def wait_until(cond: Callable[[], bool], what: str, limit_s: float = 30.0) -> None:
    end = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1][0] != "Z"  # a zombie has ended
    except OSError:
        return False


def pids(probe_dir: Path) -> list[int]:
    wait_until(lambda: (probe_dir / "pids").exists(), "the probe to start")
    return [int(p) for p in (probe_dir / "pids").read_text().split()]


def probe(
    manager: JobManager, tmp_path: Path, name: str, owner: str | None, mode: str = "sleep"
) -> lv_jobs.Job:
    out = tmp_path / "run" / "probes" / name
    return manager.start_probe([str(out), mode], run_dir=tmp_path / "run", probe_dir=out, owner=owner)


def test_a_probe_is_a_process_group_that_cancel_ends_with_its_children(tmp_path: Path) -> None:
    manager = JobManager(max_jobs=2)
    job = probe(manager, tmp_path, "a", "alice")
    leader, child = pids(job.probe_dir)
    assert job.kind == "landscape" and job.is_probe and job.status == "running" and job.note == ""
    assert os.getpgid(leader) == job.pgid == job.process.pid != os.getpgid(0)  # its own group
    assert os.getpgid(child) == job.pgid
    assert job.can_control("alice") and not job.can_control("bob") and not job.can_control(None)
    assert manager.probes(tmp_path / "run") == [job] and manager.jobs() == []  # jobs(): training runs only
    assert manager.get(job.name) is job and ":" in job.name
    job.cancel()
    assert job.wait(10)
    wait_until(lambda: not alive(child), "the probe's child to end with its group")
    assert job.status == "cancelled" and not job.active


def test_a_second_viewer_attaches_to_the_running_probe(tmp_path: Path) -> None:
    manager = JobManager(max_jobs=3, max_per_owner=3)
    first = probe(manager, tmp_path, "same", "alice")
    again = probe(manager, tmp_path, "same", "bob")
    assert again is first and len(manager.probes()) == 1
    assert manager.probe_for(first.probe_dir) is first
    assert manager.probe_for(tmp_path / "run" / "probes" / "other") is None
    first.cancel()
    first.wait(10)
    assert manager.probe_for(first.probe_dir) is None
    assert manager.probe_for(first.probe_dir, finished=True) is first
    fresh = probe(manager, tmp_path, "same", "bob")  # an ended probe is not reused
    assert fresh is not first and fresh.owner == "bob"


def test_probe_statuses_and_notes(tmp_path: Path) -> None:
    manager = JobManager(max_jobs=4, max_per_owner=4)
    ok = probe(manager, tmp_path, "ok", "a", "ok")
    failed = probe(manager, tmp_path, "fail", "a", "fail")
    crashed = probe(manager, tmp_path, "crash", "a", "crash")
    for job in (ok, failed, crashed):
        assert job.wait(30)
    assert (ok.status, ok.note) == ("done", "")
    assert (
        failed.status == "failed" and failed.note == "the slice needs a run with weights"
    )  # the last error: line
    assert crashed.status == "failed"
    assert str(crashed.note) == "the process was ended by signal SIGKILL (9)"
    assert crashed.note.render("zh") != str(crashed.note)  # a translated sentence, not a raw code


def test_runs_and_probes_share_one_cap_that_also_counts_per_owner(tmp_path: Path) -> None:
    manager = JobManager(max_jobs=2)  # two slots: one each for two browsers
    assert manager.max_per_owner == 1
    mine = probe(manager, tmp_path, "a1", "alice")
    with pytest.raises(LossvizInputError, match="this browser already runs landscape:run") as refused:
        probe(manager, tmp_path, "a2", "alice")
    assert refused.value.message.render("zh") != str(refused.value)
    bobs = probe(manager, tmp_path, "b1", "bob")
    with pytest.raises(LossvizInputError, match="the server is busy"):
        probe(manager, tmp_path, "c1", "carol")
    mine.cancel()
    mine.wait(10)
    carols = probe(manager, tmp_path, "c1", "carol")  # the freed slot
    assert carols.active and bobs.active


def test_default_caps_one_run_plus_one_probe_on_a_cpu_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lv_jobs, "_cuda_count", lambda: 0)
    for var in ("LOSSVIZ_MAX_JOBS", "LOSSVIZ_MAX_RUNS", "LOSSVIZ_MAX_JOBS_PER_OWNER"):
        monkeypatch.delenv(var, raising=False)
    manager = JobManager()
    assert (manager.max_jobs, manager.max_runs, manager.max_per_owner) == (2, 1, 1)
    monkeypatch.setenv("LOSSVIZ_MAX_JOBS", "4")  # the old meaning still holds: runs may use every slot
    assert (JobManager().max_jobs, JobManager().max_runs, JobManager().max_per_owner) == (4, 4, 3)
    monkeypatch.setenv("LOSSVIZ_MAX_RUNS", "1")
    monkeypatch.setenv("LOSSVIZ_MAX_JOBS_PER_OWNER", "2")
    assert (JobManager().max_runs, JobManager().max_per_owner) == (1, 2)
    monkeypatch.setenv("LOSSVIZ_MAX_JOBS", "lots")  # junk is ignored
    assert JobManager().max_jobs == 2


def test_bad_probe_requests_are_refused(tmp_path: Path) -> None:
    manager = JobManager(max_jobs=2)
    for argv, kind in (([], "landscape"), (["a\0b"], "landscape"), ("landscape", "landscape"),
                       (["x"], "train"), (["x"], "Bad Kind")):  # fmt: skip
        with pytest.raises(ValueError):
            manager.start_probe(argv, run_dir=tmp_path, probe_dir=tmp_path / "p", owner="a", kind=kind)  # type: ignore[arg-type]
    assert manager.probes() == []


def test_stop_reaches_a_group_whose_leader_is_gone(tmp_path: Path) -> None:
    """D4: the manager remembers the group and signals it even after the leader died."""
    manager = JobManager(max_jobs=2)
    job = probe(manager, tmp_path, "orphans", "alice")
    leader, child = pids(job.probe_dir)
    os.kill(leader, signal.SIGKILL)
    job.wait(10)
    assert alive(child)  # the leader's child lives on in the group
    job.cancel()
    wait_until(lambda: not alive(child), "the orphaned child to get the group's signal")


def test_a_reused_leader_pid_is_never_signalled() -> None:
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        lv_jobs.signal_group(
            other.pid, signal.SIGTERM, leader_alive=False
        )  # a live process owns that pid now
        time.sleep(0.2)
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_probe_argv_reaches_the_lossviz_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real prefix: ``python -m lossviz <argv>``; an error line becomes the note."""
    monkeypatch.setattr(lv_jobs, "PROBE_PREFIX", [sys.executable, "-m", "lossviz"])
    manager = JobManager(max_jobs=2)
    job = manager.start_probe(
        ["eval", "--loss", "NoSuchLoss", "--input", "1", "--target", "1", "--lang", "en"],
        run_dir=tmp_path, probe_dir=tmp_path / "p", owner="a", kind="sharpness",
    )  # fmt: skip
    assert job.wait(60)
    assert job.status == "failed" and job.kind == "sharpness" and "NoSuchLoss" in str(job.note)


# ----------------------------------------------------------------------------- D5: a probe dies with its last tab


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_probe_dies_with_the_last_tab_that_watches_it(tmp_path: Path) -> None:
    clock = FakeClock()
    manager = JobManager(max_jobs=3, max_per_owner=3, probe_grace_s=30, clock=clock)
    job = probe(manager, tmp_path, "watched", "alice")
    assert manager.watchers(job.name) == 1  # the tab that started it
    clock.now += 20
    assert manager.heartbeat(job.name, "tab-1") and manager.heartbeat(job.name, "tab-2")
    clock.now += 25  # 45 s after the start, 25 s after the last poll: within the grace
    assert manager.reap_unwatched() == [] and job.active
    assert manager.heartbeat(job.name, "tab-2")  # tab-1 closed; tab-2 keeps polling
    clock.now += 29
    assert manager.reap_unwatched() == [] and manager.watchers(job.name) == 1
    clock.now += 2  # tab-2 closed too: 31 s without a poll
    assert manager.reap_unwatched() == [job]
    assert job.wait(10) and job.status == "cancelled"
    assert not manager.heartbeat(job.name, "tab-2")  # an ended job takes no heartbeat
    assert not manager.heartbeat("no-such-job", "tab") and not manager.heartbeat(job.name, "")


def test_a_training_run_outlives_its_tabs(tmp_path: Path) -> None:
    clock = FakeClock()
    manager = JobManager(max_jobs=2, probe_grace_s=30, clock=clock)
    stand_in = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    run = lv_jobs.Job("a-run", "alice", tmp_path, tmp_path / "a-run", stand_in, open(os.devnull, "rb"))
    manager._jobs[run.name] = run  # a run as the manager keeps it, without training anything
    clock.now += 3600
    assert manager.reap_unwatched() == [] and run.active and not run.stop_requested
    run.kill()
    run.wait(10)


def test_the_watchdog_cancels_an_unwatched_probe_without_any_call(tmp_path: Path) -> None:
    manager = JobManager(max_jobs=2, probe_grace_s=0.5)
    job = probe(manager, tmp_path, "closed", "alice")
    pids(job.probe_dir)
    assert job.wait(15), "nobody polls: the watchdog must cancel it"
    assert job.status == "cancelled"
    again = probe(manager, tmp_path, "closed", "alice")  # the slot is free again
    assert again.active
