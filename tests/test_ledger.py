"""The job ledger (issue 21): two job managers on one data folder act as two replicas: one cap across
both, the owner controls a job through either, lists show both, and a replica killed mid-write or
mid-start leaves nothing that blocks the others. Stand-in probes; one tiny real training run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lossviz.errors import LossvizInputError
from lossviz.training import jobs as lv_jobs
from lossviz.training import ledger as lv_ledger
from lossviz.training import procs
from lossviz.training import runs as lv_runs
from lossviz.training.jobs import JobManager, stop_all_managers
from lossviz.training.trainer import TrainConfig

SLEEPER = "import sys, time; time.sleep(120)"


@pytest.fixture(autouse=True)
def fake_probe(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(lv_jobs, "PROBE_PREFIX", [sys.executable, "-c", SLEEPER])
    yield
    stop_all_managers(10)


def wait_until(cond: Callable[[], bool], what: str, limit_s: float = 30.0) -> None:
    end = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def replicas(tmp_path: Path, **caps: int) -> tuple[JobManager, JobManager]:
    folder = tmp_path / "data" / "jobs" / "ledger"
    return JobManager(ledger=folder, **caps), JobManager(ledger=folder, **caps)


def probe(manager: JobManager, tmp_path: Path, name: str, owner: str | None) -> lv_jobs.Job:
    out = tmp_path / "run" / "probes" / name
    return manager.start_probe([str(out)], run_dir=tmp_path / "run", probe_dir=out, owner=owner)


def test_the_cap_holds_across_replicas_and_per_owner(tmp_path: Path) -> None:
    a, b = replicas(tmp_path, max_jobs=2)
    alices = probe(a, tmp_path, "one", "alice")
    with pytest.raises(LossvizInputError, match="this browser already runs"):
        probe(b, tmp_path, "two", "alice")  # the same browser through the other replica
    bobs = probe(b, tmp_path, "two", "bob")
    for manager in (a, b):
        with pytest.raises(LossvizInputError, match="the server is busy"):
            probe(manager, tmp_path, "three", "carol")
    assert {j.name for j in a.probes()} == {j.name for j in b.probes()} == {alices.name, bobs.name}
    assert [j.remote for j in a.probes() if j.name == bobs.name] == [True]
    bobs.cancel()
    assert bobs.wait(10)
    assert probe(a, tmp_path, "three", "carol").active  # the slot freed on B is free on A


def test_the_owner_controls_a_probe_through_the_other_replica(tmp_path: Path) -> None:
    a, b = replicas(tmp_path, max_jobs=3)
    job = probe(a, tmp_path, "mine", "alice")
    seen = b.get(job.name)
    assert seen is not None and seen.remote and seen.active and seen.owner is None
    assert seen.can_control("alice") and not seen.can_control("bob") and not seen.can_control(None)
    assert seen.actions("alice") == ("cancel",) and seen.actions("bob") == ()
    assert b.probe_for(job.probe_dir).name == job.name  # a viewer on B attaches to A's probe
    assert probe(b, tmp_path, "mine", "bob").name == job.name
    seen.cancel()
    assert job.wait(10) and job.status == "cancelled"
    wait_until(lambda: (b.get(job.name) or seen).status == "cancelled", "B to see the end in the ledger")
    assert b.probe_for(job.probe_dir) is None


def test_a_heartbeat_through_the_other_replica_keeps_a_probe_alive(tmp_path: Path) -> None:
    folder = tmp_path / "ledger"
    a = JobManager(ledger=folder, max_jobs=2, probe_grace_s=1.0)
    b = JobManager(ledger=folder, max_jobs=2, probe_grace_s=1.0)
    job = probe(a, tmp_path, "watched-on-b", "alice")
    end = time.monotonic() + 3.0
    while time.monotonic() < end:  # the only tab is served by B
        assert b.heartbeat(job.name, "tab-on-b")
        time.sleep(0.2)
    assert job.active, "a tab on the other replica still watches it"
    assert job.wait(15) and job.status == "cancelled"  # the tab closed


def test_a_training_run_started_on_one_replica_is_controlled_by_its_owner_on_the_other(
    tmp_path: Path,
) -> None:
    a, b = replicas(tmp_path, max_jobs=2, max_runs=1, max_per_owner=2)
    config = TrainConfig(dataset="synthetic", synthetic_train=256, synthetic_test=64, batch_size=16, epochs=200,
                         threads=1, evaluate=False)  # fmt: skip
    run = a.start(config, runs_dir=tmp_path / "runs", name="shared", owner="alice")
    with pytest.raises(LossvizInputError, match="already in progress"):
        b.start(config, runs_dir=tmp_path / "runs", owner="bob")  # one run at a time across both
    wait_until(lambda: run.status == "running", "the run to start", 120)
    there = b.get("shared")
    assert there is not None and there.remote and there.status == "running"
    assert (
        b.latest(tmp_path / "runs").name == "shared" and not b.may_control("bob") and b.may_control("alice")
    )
    assert there.actions("alice") == ("pause", "stop") and there.actions("bob") == ()
    there.pause()
    wait_until(lambda: run.status == "paused", "the pause through B")
    there.resume()
    wait_until(lambda: run.status == "running", "the resume through B")
    there.stop()
    assert run.wait(60) and run.status == "stopped"
    rows = {r["run"]: r for r in b.run_rows(tmp_path / "runs")}
    assert rows["shared"]["status"] == "stopped"


def test_torn_and_stale_entries_are_ignored_and_cleared(tmp_path: Path) -> None:
    folder = tmp_path / "ledger"
    folder.mkdir()
    (folder / ".abc.123.tmp").write_text('{"name": "half-writ')  # a replica killed mid-write
    old = time.time() - 3600
    os.utime(folder / ".abc.123.tmp", (old, old))
    (folder / "garbage.json").write_text("{")
    (folder / "list.json").write_text("[1, 2]")
    (folder / "fifo.json").unlink(missing_ok=True)
    os.mkfifo(folder / "fifo.json")  # never blocks a reader
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    dead = {"name": "dead-run", "kind": "train", "pid": ended.pid, "pgid": ended.pid, "pid_start": 1,
            "host": lv_ledger.HOST, "replica": "x", "started": time.time(), "run_dir": str(tmp_path / "r")}  # fmt: skip
    lost = {"name": "lost-start", "kind": "landscape", "pid": None, "host": lv_ledger.HOST,
            "replica": f"{lv_ledger.HOST}:{ended.pid}:1:dead", "started": time.time(), "run_dir": "/x"}  # fmt: skip
    ledger = lv_ledger.Ledger(folder)
    ledger.write(dead)
    ledger.write(lost)
    manager = JobManager(ledger=folder, max_jobs=1)
    assert manager.probes() == [] and manager.jobs() == []
    assert probe(manager, tmp_path, "fine", "alice").active  # nothing above holds the only slot
    left = sorted(p.name for p in folder.iterdir() if not p.name.endswith(".seen"))
    assert ".abc.123.tmp" not in left and ledger.path("dead-run").name not in left
    assert ledger.path("lost-start").name not in left


def test_a_lock_left_by_a_killed_replica_is_broken(tmp_path: Path) -> None:
    folder = tmp_path / "ledger"
    folder.mkdir()
    lock = folder / ".admission.lock"
    lock.mkdir()
    old = time.time() - 3600
    os.utime(lock, (old, old))
    manager = JobManager(ledger=folder, max_jobs=1)
    assert probe(manager, tmp_path, "after-lock", "alice").active
    assert not lock.exists()


def test_a_busy_lock_of_a_live_replica_is_a_plain_refusal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lv_ledger, "LOCK_WAIT_S", 0.2)
    folder = tmp_path / "ledger"
    folder.mkdir()
    (folder / ".admission.lock").mkdir()  # fresh: another replica is admitting a job right now
    manager = JobManager(ledger=folder, max_jobs=1)
    with pytest.raises(LossvizInputError, match="try again in a moment"):
        probe(manager, tmp_path, "blocked", "alice")


def test_a_tampered_entry_never_makes_a_replica_signal_a_foreign_process(tmp_path: Path) -> None:
    foreign = subprocess.Popen([sys.executable, "-c", SLEEPER], start_new_session=True,
                               env={k: v for k, v in os.environ.items() if k != procs.JOB_MARKER_ENV})  # fmt: skip
    try:
        ledger = lv_ledger.Ledger(tmp_path / "ledger")
        wait_until(lambda: procs.process_start(foreign.pid) is not None, "the process")
        ledger.write({"name": "bait", "kind": "landscape", "owner_hash": lv_ledger.owner_hash("mallory"),
                      "pid": foreign.pid, "pgid": foreign.pid, "pid_start": procs.process_start(foreign.pid),
                      "host": lv_ledger.HOST, "replica": "elsewhere", "started": time.time(),
                      "updated": time.time(), "run_dir": str(tmp_path), "probe_dir": str(tmp_path / "p")})  # fmt: skip
        manager = JobManager(ledger=tmp_path / "ledger", max_jobs=2)
        job = manager.get("bait")
        assert job is not None and job.can_control("mallory")
        job.cancel()
        job.kill()
        time.sleep(0.3)
        assert foreign.poll() is None
    finally:
        foreign.kill()
        foreign.wait()


def test_entries_keep_no_owner_token_and_are_whole_json(tmp_path: Path) -> None:
    a, _ = replicas(tmp_path, max_jobs=2)
    job = probe(a, tmp_path, "private", "secret-owner-token")
    (entry_file,) = [p for p in (tmp_path / "data" / "jobs" / "ledger").glob("*.json")]
    text = entry_file.read_text()
    assert "secret-owner-token" not in text
    entry = json.loads(text)
    assert entry["pid"] == job.pid and entry["pgid"] == job.pgid and entry["kind"] == "landscape"
    assert (
        entry["owner_hash"] == lv_ledger.owner_hash("secret-owner-token") and entry["host"] == lv_ledger.HOST
    )
    assert lv_runs.read_json(entry_file) == entry


def test_stop_orphans_leaves_another_hosts_runs_alone(tmp_path: Path) -> None:
    """A classroom shutting down on this host stops only this host's orphans: another host's run (its
    replica cannot be checked from here) gets no control file and is not named."""
    run_dir = tmp_path / "runs" / "far"
    run_dir.mkdir(parents=True)
    (run_dir / lv_runs.SUMMARY_FILE).write_text(json.dumps({"status": "running"}))
    now = time.time()
    lv_ledger.Ledger(tmp_path / "ledger", replica="elsewhere:7:7:abcd").write(
        {"name": "far", "kind": "train", "owner_hash": None, "pid": 4242, "pgid": 4242, "pid_start": 1,
         "host": "elsewhere", "replica": "elsewhere:7:7:abcd", "started": now, "updated": now,
         "run_dir": str(run_dir)})  # fmt: skip
    assert [j.name for j in JobManager(ledger=tmp_path / "ledger").active_jobs()] == ["far"]  # live there
    assert lv_jobs.stop_orphans(tmp_path / "ledger", timeout=1) == []
    assert not (run_dir / "control.json").exists()
