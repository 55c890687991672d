"""Runs as processes: the job manager, control through the run directory, write failures (full disk,
read-only folder), torchrun/DDP, TensorBoard files, safetensors weights, and the run-file armour of
issue 11 (NUL bytes, over-long paths, deeply nested lines, step counts from the records)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from lossviz.cli import train as train_cli
from lossviz.errors import LossvizInputError
from lossviz.training import runs as lv_runs
from lossviz.training import view as lv_view
from lossviz.training.data import cifar10_status, page_data_dir
from lossviz.training.jobs import JobManager, stop_all_managers, train_command
from lossviz.training.model import build_model
from lossviz.training.trainer import DistInfo, TrainConfig, Trainer, shard

ROOT = Path(__file__).resolve().parents[1]
TINY = [
    "--synthetic",
    "--synthetic-train",
    "128",
    "--synthetic-test",
    "32",
    "--batch-size",
    "16",
    "--threads",
    "1",
]


@pytest.fixture(autouse=True)
def cleanup() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    stop_all_managers(20)
    torch.set_num_threads(before)


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def run_cli(*args: str, torchrun: int = 0) -> subprocess.CompletedProcess[str]:
    head = (
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(torchrun)]
        if torchrun
        else [sys.executable]
    )
    return subprocess.run(
        [*head, "-m", "lossviz", "train", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env(),
        timeout=300,
    )


def wait_until(cond: Callable[[], bool], what: str, limit_s: float = 90.0) -> None:
    end = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


def tiny(**overrides: object) -> TrainConfig:
    base = dict(
        dataset="synthetic", synthetic_train=256, synthetic_test=64, batch_size=16, epochs=1, threads=1
    )
    base.update(overrides)
    return TrainConfig(**base)  # type: ignore[arg-type]


def batch_steps(run_dir: Path) -> list[int]:
    return [r["step"] for r in lv_runs.read_metrics(run_dir) if r.get("kind", "batch") == "batch"]


# ----------------------------------------------------------------------------- the job manager


def test_train_command_round_trips_through_the_cli_parser(tmp_path: Path) -> None:
    config = tiny(relu=True, loss="MultiMarginLoss", margin=0.5, optimizer="adam", lr=0.003, max_batches=7, amp=True,
                  evaluate=False, seed=5, data_dir=str(tmp_path))  # fmt: skip
    cmd = train_command(config, tmp_path, "x", workers=1)
    assert cmd[:4] == [sys.executable, "-m", "lossviz", "train"]
    args = train_cli.build_parser().parse_args(cmd[4:])
    assert train_cli.config_from_args(args) == config
    two = train_command(config, tmp_path, "x", workers=2)
    assert two[1:6] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


def test_a_page_run_is_a_process_group_that_stop_ends_within_a_batch(tmp_path: Path) -> None:
    manager = JobManager(max_jobs=1)
    job = manager.start(tiny(epochs=200), runs_dir=tmp_path, name="proc", owner="alice")
    assert job.process.pid != os.getpid() and os.getpgid(job.process.pid) == job.process.pid
    with pytest.raises(LossvizInputError, match="already in progress"):
        manager.start(tiny(), runs_dir=tmp_path, owner="bob")
    assert job.can_control("alice") and not job.can_control("bob") and not manager.may_control("bob")
    wait_until(lambda: len(batch_steps(job.run_dir)) >= 3, "three batches")
    job.pause()
    wait_until(lambda: job.status == "paused", "the pause")
    held = len(batch_steps(job.run_dir))
    time.sleep(0.5)
    assert len(batch_steps(job.run_dir)) == held and job.active
    job.resume()
    wait_until(lambda: len(batch_steps(job.run_dir)) > held, "the resume")
    job.stop()
    assert job.wait(30), "Stop must end the process"
    assert job.process.returncode == 0 and job.status == "stopped"
    summary = lv_runs.read_json(job.run_dir / "summary.json")
    assert summary["steps"] == batch_steps(job.run_dir)[-1]  # it finished the batch it was on, no more
    rows = {r["run"]: r for r in manager.run_rows(tmp_path)}
    assert rows["proc"]["status"] == "stopped" and rows["proc"]["steps"] == summary["steps"]


def test_a_run_started_from_a_short_lived_thread_keeps_training(tmp_path: Path) -> None:
    """Streamlit runs each script in a thread that ends with the rerun; the run must outlive it
    (the kernel's parent-death signal follows the thread that forked)."""
    import threading

    manager = JobManager(max_jobs=1)
    jobs = []

    def script_run() -> None:  # starts the run, then draws the page for a moment, then ends
        jobs.append(manager.start(tiny(epochs=200), runs_dir=tmp_path, owner="a"))
        time.sleep(2.0)

    thread = threading.Thread(target=script_run)
    thread.start()
    thread.join()
    (job,) = jobs
    wait_until(lambda: len(batch_steps(job.run_dir)) >= 3, "three batches after the starting thread ended")
    assert job.active and job.status == "running"


#: A stand-in server: a job manager on a shared ledger starts a run, prints its name, and waits to be killed.
SERVER = """
import sys, time
from lossviz.training.jobs import JobManager
from lossviz.training.trainer import TrainConfig
manager = JobManager(max_jobs=2, ledger=sys.argv[1], detached=sys.argv[3] == "1")
config = TrainConfig(dataset="synthetic", synthetic_train=256, synthetic_test=64, batch_size=16, epochs=500, threads=1)
job = manager.start(config, runs_dir=sys.argv[2], name="orphan", owner="teacher")
print(job.name, flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("detached", [False, True], ids=["one-server", "replicas"])
def test_a_run_whose_server_is_killed(tmp_path: Path, detached: bool) -> None:
    """A server killed with SIGKILL: alone (no ledger another server reads) its run gets SIGTERM and
    ends "stopped"; behind the proxy (``LOSSVIZ_DETACHED_RUNS=1``) the run trains on, another server
    of the same ledger lists it as live and lets its owner stop it, and ``stop_orphans`` finds it."""
    from lossviz.training.jobs import stop_orphans

    ledger, runs = tmp_path / "ledger", tmp_path / "runs"
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(ledger), str(runs), "1" if detached else "0"],
                              env=env(), stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "orphan"
        run_dir = runs / "orphan"
        wait_until(lambda: len(batch_steps(run_dir)) >= 2, "the run to train")
        server.kill()
        server.wait(30)
        survivor = JobManager(max_jobs=2, ledger=ledger)
        if not detached:
            wait_until(lambda: lv_runs.read_run(runs, "orphan").status == "stopped", "the run to stop with its server")
            wait_until(lambda: survivor.get("orphan") is None or not survivor.get("orphan").active, "its process to end")
            assert stop_orphans(ledger) == []
            return
        steps = len(batch_steps(run_dir))
        wait_until(lambda: len(batch_steps(run_dir)) > steps + 2, "the run to train on without its server")
        job = survivor.get("orphan")
        assert job is not None and job.remote and job.active and job.status == "running"
        assert job.can_control("teacher") and not job.can_control("student")
        assert job.actions("teacher") == ("pause", "stop")
        with pytest.raises(LossvizInputError, match="orphan"):  # it still holds a slot of the shared cap
            JobManager(max_jobs=2, max_runs=1, ledger=ledger).start(tiny(), runs_dir=runs, owner="x")
        assert stop_orphans(ledger, timeout=60) == ["orphan"]
        wait_until(lambda: not job.active, "the orphan to end")
        assert lv_runs.read_run(runs, "orphan").status == "stopped"  # stopped after a batch, folder complete
        assert stop_orphans(ledger) == []
    finally:
        server.kill()
        server.wait(30)
        for entry in (ledger.glob("*.json") if ledger.is_dir() else []):  # nothing left training
            pid = json.loads(entry.read_text()).get("pid")
            if isinstance(pid, int):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass


def test_a_killed_run_shows_as_interrupted_and_frees_the_slot(tmp_path: Path) -> None:
    manager = JobManager(max_jobs=1)
    job = manager.start(tiny(epochs=200), runs_dir=tmp_path, name="killed", owner="a")
    wait_until(lambda: len(batch_steps(job.run_dir)) >= 1, "the first batch")
    os.killpg(job.process.pid, signal.SIGKILL)
    job.wait(30)
    assert job.status == "interrupted"
    state = lv_view.run_state(tmp_path, "killed", job)
    assert state.status == "interrupted" and not state.live
    second = manager.start(tiny(max_batches=2), runs_dir=tmp_path, owner="b")
    assert second.wait(120) and second.status == "finished"


def test_a_process_that_fails_to_start_reports_its_error_line(tmp_path: Path) -> None:
    manager = JobManager(max_jobs=1)
    cifar = tmp_path / "data"
    with pytest.raises(LossvizInputError, match="CIFAR-10 is not in the data folder"):
        manager.start(tiny(dataset="cifar10", data_dir=str(cifar)), runs_dir=tmp_path / "runs")
    with pytest.raises(LossvizInputError, match="workers"):
        manager.start(tiny(), runs_dir=tmp_path / "runs", workers=99)


def test_read_only_runs_folder_is_a_plain_refusal(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(ro)], capture_output=True
    ).returncode:
        ro.chmod(0o500)
        if os.access(ro, os.W_OK):
            pytest.skip("cannot make a read-only folder here (root without mount)")
    try:
        with pytest.raises(LossvizInputError, match="read-only|no permission"):
            JobManager(max_jobs=1).start(tiny(), runs_dir=ro)
        proc = run_cli(*TINY, "--max-batches", "2", "--runs-dir", str(ro))
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    finally:
        subprocess.run(["umount", str(ro)], capture_output=True)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 48 KB tmpfs (needs root; skipped otherwise)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if (
        os.geteuid() != 0
        or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(mnt)], capture_output=True
        ).returncode
    ):
        pytest.skip("mounting a small tmpfs needs root")
    yield mnt
    subprocess.run(["umount", str(mnt)], capture_output=True)


def test_full_disk_mid_run_ends_failed_and_exits_non_zero(tiny_disk: Path) -> None:
    args = ["--synthetic", "--synthetic-train", "2000", "--synthetic-test", "100", "--batch-size", "4"]
    proc = run_cli(*args, "--max-batches", "400", "--runs-dir", str(tiny_disk / "runs"), "--threads", "1")
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "disk is full" in proc.stderr.strip().splitlines()[-1]
    (run,) = lv_runs.list_runs(tiny_disk / "runs")
    assert run.status == "failed" and "disk is full" in run.summary["message"]


def test_full_disk_in_a_page_run_shows_failed_not_running_forever(tiny_disk: Path) -> None:
    manager = JobManager(max_jobs=1)
    cfg = tiny(synthetic_train=2000, synthetic_test=100, batch_size=4, max_batches=400)
    job = manager.start(cfg, runs_dir=tiny_disk / "runs", owner="a")
    assert job.wait(120), "a full disk must end the process"
    assert job.process.returncode == 1 and job.status == "failed" and "disk is full" in job.message
    assert manager.start(tiny(max_batches=1), runs_dir=tiny_disk / "other", owner="b").wait(
        60
    )  # nothing stuck


# ----------------------------------------------------------------------------- torchrun / DDP


def test_two_gloo_ranks_match_one_process_and_write_one_run(tmp_path: Path) -> None:
    common = [*TINY, "--max-batches", "4", "--runs-dir", str(tmp_path), "--seed", "3"]
    single = run_cli(*common, "--name", "one")
    assert single.returncode == 0, single.stderr
    ddp = run_cli(*common, "--name", "two", torchrun=2)
    assert ddp.returncode == 0, ddp.stderr[-2000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "two"]  # rank 1 wrote nothing
    one, two = (lv_runs.read_metrics(tmp_path / n) for n in ("one", "two"))
    assert abs(one[0]["loss"] - two[0]["loss"]) <= 1e-5
    assert abs(one[0]["grad_norm"] - two[0]["grad_norm"]) <= 1e-4 * one[0]["grad_norm"]
    assert [r["step"] for r in two if r["kind"] == "batch"] == [1, 2, 3, 4] and two[-1]["kind"] == "eval"
    config = json.loads((tmp_path / "two" / "config.json").read_text())
    assert config["world_size"] == 2 and config["backend"] == "gloo"
    assert lv_runs.read_run(tmp_path, "two").status == "finished"
    assert (tmp_path / "two" / "model.safetensors").is_file()


RANK_SCRIPT = """
import sys, torch, torch.distributed as tdist
from lossviz.training.trainer import DistInfo, TrainConfig, Trainer
torch.set_num_threads(1)
tdist.init_process_group("gloo")
dist = DistInfo.from_env()
seen = []
cfg = TrainConfig(dataset="synthetic", synthetic_train=256, synthetic_test=64, batch_size=16, max_batches=3,
                  evaluate=False, threads=1)
Trainer(cfg, dist=dist, write_run=False, on_record=seen.append).run()
torch.save([(r["grad_norm"], r["layer_grad_norms"], r["loss"]) for r in seen], f"{sys.argv[1]}.{dist.rank}")
tdist.destroy_process_group()
"""


def test_grad_norms_are_those_of_the_synchronized_gradients_on_every_rank(tmp_path: Path) -> None:
    script = tmp_path / "ranks.py"
    script.write_text(RANK_SCRIPT)
    out = str(tmp_path / "norms")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(script),
        out,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env(), timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    r0, r1 = torch.load(f"{out}.0"), torch.load(f"{out}.1")
    assert len(r0) == len(r1) == 3
    for (n0, layers0, loss0), (n1, layers1, loss1) in zip(r0, r1, strict=True):
        assert n0 == n1 and layers0 == layers1 and loss0 == loss1  # each rank's own norms of the synced grads
        assert n0 > 0


def test_shards_cover_the_global_batch_once() -> None:
    idx = torch.arange(17)
    parts = [shard(idx, DistInfo(r, 3, r)) for r in range(3)]
    assert torch.equal(torch.cat(parts), idx) and {len(p) for p in parts} <= {5, 6}


def test_workers_are_told_apart_from_torchrun_environment() -> None:
    assert DistInfo.from_env({}) == DistInfo(0, 1, 0)
    assert DistInfo.from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == DistInfo(3, 4, 1)


# ----------------------------------------------------------------------------- formats people read


def test_tensorboard_event_files_read_back_with_tensorboards_reader(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    trainer = Trainer(tiny(synthetic_train=64, batch_size=16, epochs=2), runs_dir=tmp_path, run_name="tb")
    assert trainer.run() == "finished"
    acc = EventAccumulator(str(tmp_path / "tb"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    assert {"train/loss", "train/grad_norm", "train/accuracy", "eval/loss", "eval/accuracy"} <= tags
    assert "grad_norm/conv1 weight" in tags and "grad_norm/fc2 bias" in tags
    records = lv_runs.read_metrics(tmp_path / "tb")
    batches = [r for r in records if r["kind"] == "batch"]
    evals = [r for r in records if r["kind"] == "eval"]
    loss = acc.Scalars("train/loss")
    assert [e.step for e in loss] == [r["step"] for r in batches]
    assert [e.value for e in loss] == pytest.approx([r["loss"] for r in batches], rel=1e-6)
    conv1 = acc.Scalars("grad_norm/conv1 weight")
    assert [e.value for e in conv1] == pytest.approx(
        [r["layer_grad_norms"]["0.weight"] for r in batches], rel=1e-6
    )
    ev = acc.Scalars("eval/accuracy")
    assert [e.step for e in ev] == [r["step"] for r in evals]
    assert [e.value for e in ev] == pytest.approx([r["test_accuracy"] for r in evals], rel=1e-6)


def test_weights_are_safetensors_and_old_model_pt_still_loads(tmp_path: Path) -> None:
    from safetensors import safe_open

    trainer = Trainer(tiny(max_batches=2), runs_dir=tmp_path, run_name="w")
    trainer.run()
    with safe_open(str(tmp_path / "w" / "model.safetensors"), framework="pt") as f:
        assert sorted(f.keys()) == sorted(build_model().state_dict())
    state = lv_runs.load_model_state(tmp_path, "w")
    build_model().load_state_dict(state)
    # an older run: model.pt only, still read with weights_only=True
    old = tmp_path / "old"
    shutil.copytree(tmp_path / "w", old)
    (old / "model.safetensors").unlink()
    torch.save(state, old / "model.pt")
    assert all(torch.equal(state[k], v) for k, v in lv_runs.load_model_state(tmp_path, "old").items())


def test_csv_columns_use_the_chart_layer_labels(tmp_path: Path) -> None:
    Trainer(tiny(max_batches=2), runs_dir=tmp_path, run_name="c").run()
    header = next(csv.reader(io.StringIO(lv_runs.run_csv(tmp_path, "c"))))
    assert "grad_norm[conv1 weight]" in header and "grad_norm[fc2 bias]" in header
    assert not [h for h in header if "0.weight" in h]


# ----------------------------------------------------------------------------- issue 11, items 4-8


@pytest.mark.parametrize("text", ["sub\x00dir", "a" * 5000, "x/" * 3000, ("d" * 300) + "/cifar"])
def test_data_folder_box_with_nul_or_overlong_path_is_a_plain_message(tmp_path: Path, text: str) -> None:
    with pytest.raises(LossvizInputError, match="CIFAR-10 folder"):
        page_data_dir(text, tmp_path)
    path, problem = lv_view.data_folder(text, tmp_path)
    assert path == tmp_path.resolve() and problem and "Traceback" not in problem
    assert cifar10_status(text) == "missing"


def test_deeply_nested_metrics_line_is_skipped_everywhere(tmp_path: Path) -> None:
    Trainer(tiny(max_batches=3), runs_dir=tmp_path, run_name="deep").run()
    path = tmp_path / "deep" / "metrics.jsonl"
    good = path.read_text()
    nested = '{"a":' * 50_000 + "1" + "}" * 50_000
    path.write_text(good + "[" * 50_000 + "]" * 50_000 + "\n" + nested + "\n" + good.splitlines()[0] + "\n")
    records = lv_runs.read_metrics(path.parent)
    assert len(records) == len(good.splitlines()) + 1
    assert "grad_norm[conv1 weight]" in lv_runs.run_csv(tmp_path, "deep")
    tail = lv_runs.MetricsTail(path.parent)
    assert len(tail.poll()) == len(records)
    assert lv_runs.last_step(path.parent) == 1


def test_page_messages_show_paths_relative_to_the_roots(tmp_path: Path) -> None:
    root = tmp_path / "data"
    assert lv_view.shown_path(root / "cifar", root, "the data folder") == "the data folder/cifar"
    assert lv_view.shown_path("/etc", root, "the data folder") == "the data folder"
    with pytest.raises(LossvizInputError) as err:
        page_data_dir("/etc", root)
    assert str(tmp_path) not in str(err.value)
    with pytest.raises(LossvizInputError) as err:
        lv_runs.read_run(tmp_path, "missing")
    assert str(tmp_path) not in str(err.value)


def test_a_failed_runs_message_on_the_page_names_no_server_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOSSVIZ_DATA", str(tmp_path / "data"))
    Trainer(tiny(max_batches=1), runs_dir=tmp_path, run_name="f").run()
    summary = lv_runs.read_json(tmp_path / "f" / "summary.json")
    summary.update(status="failed", message=f"Training stopped: could not write ({tmp_path.resolve()}/f/x) or {tmp_path}/data")
    (tmp_path / "f" / "summary.json").write_text(json.dumps(summary))
    state = lv_view.run_state(tmp_path, "f")
    assert state.status == "failed" and str(tmp_path) not in state.message
    assert "the runs folder/f/x" in state.message and "the data folder" in state.message


def test_downloads_only_for_the_controlling_browser_one_at_a_time(tmp_path: Path) -> None:
    manager = JobManager(max_jobs=1)
    calls: list[str] = []
    assert manager.download("alice", lambda: calls.append("a") or "ok") == "ok"
    with pytest.raises(LossvizInputError, match="browser"):
        manager.download(None, lambda: calls.append("nobody"))
    job = manager.start(tiny(epochs=200), runs_dir=tmp_path, owner="alice")
    try:
        with pytest.raises(LossvizInputError, match="browser that controls training"):
            manager.download("bob", lambda: calls.append("b"))

        def nested() -> None:  # a second download while one is running
            with pytest.raises(LossvizInputError, match="already running"):
                manager.download("alice", lambda: calls.append("again"))
            calls.append("outer")

        manager.download("alice", nested)
    finally:
        job.stop()
        job.wait(30)
    assert calls == ["a", "outer"]


def test_run_table_counts_steps_from_the_records_not_the_summary(tmp_path: Path) -> None:
    Trainer(tiny(max_batches=5), runs_dir=tmp_path, run_name="lag").run()
    summary = lv_runs.read_json(tmp_path / "lag" / "summary.json")
    summary["steps"] = 2  # a summary written a few seconds before the process died
    (tmp_path / "lag" / "summary.json").write_text(json.dumps(summary))
    (row,) = JobManager(max_jobs=1).run_rows(tmp_path)
    assert row["steps"] == 5
    last = [r for r in lv_runs.read_metrics(tmp_path / "lag") if r["kind"] == "batch"][-1]
    assert row["last loss"] == last["loss"]


def test_choose_view_prefers_the_live_run_but_keeps_a_chosen_one() -> None:
    assert lv_view.choose_view(None, None, []) is None
    assert lv_view.choose_view(None, "live", []) == "live"  # still starting: no folder yet
    assert lv_view.choose_view("old", "live", ["live", "old"]) == "old"
    assert lv_view.choose_view("live", "live", ["live", "old"]) == "live"
    assert lv_view.choose_view("gone", None, ["new", "old"]) == "new"
    assert (
        lv_view.device_text({"device_resolved": "cpu", "world_size": 2, "backend": "gloo"})
        == "cpu × 2 workers (gloo)"
    )
    assert lv_view.device_text({"device_resolved": "cuda:0", "world_size": 1, "amp": True}) == "cuda:0 · bf16"


# ----------------------------------------------------------------------------- CUDA (bench/gpu_check.sh runs these)

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@cuda
def test_cuda_run_with_amp_keeps_one_host_copy_per_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copies = 0
    original = torch.Tensor.tolist

    def counted(self: torch.Tensor) -> list:
        nonlocal copies
        if self.is_cuda:
            copies += 1
        return original(self)

    monkeypatch.setattr(torch.Tensor, "tolist", counted)
    trainer = Trainer(
        tiny(device="cuda", amp=True, max_batches=4, evaluate=False), runs_dir=tmp_path, run_name="gpu"
    )
    assert trainer.run() == "finished", trainer.message
    assert copies == 4 + 1  # one per batch, plus the agreement before the first batch
    config = json.loads((tmp_path / "gpu" / "config.json").read_text())
    assert config["device_resolved"].startswith("cuda") and config["amp"] is True
    assert all(map(lambda r: r["loss"] > 0, lv_runs.read_metrics(tmp_path / "gpu")))


def test_pick_run_follows_a_starting_job_and_a_failed_start(tmp_path: Path) -> None:
    manager = JobManager(max_jobs=1)
    job = manager.start(tiny(epochs=200), runs_dir=tmp_path, name="fresh", owner="a")
    try:
        view, live = lv_view.pick_run(None, manager, [], tmp_path)  # no folder yet: still shown, live
        assert (view, live) == ("fresh", True)
    finally:
        job.kill()
        job.wait(30)
    view, live = lv_view.pick_run("fresh", manager, [], tmp_path)  # ended without a folder: still shown
    assert view == "fresh" and not live
    assert lv_view.run_state(tmp_path, "fresh", job).status in ("failed", "interrupted")
    assert lv_view.pick_run("someone-else", manager, [], tmp_path) == (None, False)


def test_amp_bf16_autocast_trains_on_cpu_and_is_recorded(tmp_path: Path) -> None:
    trainer = Trainer(tiny(amp=True, max_batches=3), runs_dir=tmp_path, run_name="amp")
    assert trainer.run() == "finished", trainer.message
    config = json.loads((tmp_path / "amp" / "config.json").read_text())
    assert config["amp"] is True and lv_view.device_text(config) == "cpu · bf16"
    first = lv_runs.read_metrics(tmp_path / "amp")[0]
    plain = Trainer(tiny(max_batches=1, evaluate=False), write_run=False)
    plain.run()
    # bf16 rounds the forward pass: close to the float32 loss, not equal to it
    assert 0 < abs(first["loss"] - plain.last_record["loss"]) < 0.05


def test_progress_line_and_metric_cards(tmp_path: Path) -> None:
    from lossviz.training.metrics_log import MetricsLog

    Trainer(tiny(synthetic_train=64, batch_size=16, epochs=1), runs_dir=tmp_path, run_name="m").run()
    state = lv_view.run_state(tmp_path, "m")
    log = MetricsLog()
    log.extend(lv_runs.read_metrics(tmp_path / "m"))
    snap = log.snapshot()
    assert lv_view.progress_line(state, snap) == (1.0, "finished: step 4 of 4")
    cards = dict((label, value) for label, value, _ in lv_view.metric_cards(state, snap))
    last = [r for r in lv_runs.read_metrics(tmp_path / "m") if r["kind"] == "batch"][-1]
    ev = [r for r in lv_runs.read_metrics(tmp_path / "m") if r["kind"] == "eval"][-1]
    assert cards["Batches seen"] == "4" and cards["Loss (last batch)"] == f"{last['loss']:.3f}"
    assert cards["Test accuracy"] == f"{100 * ev['test_accuracy']:.1f}%"
    empty = MetricsLog().snapshot()
    starting = lv_view.RunState("s", "starting")
    assert lv_view.progress_line(starting, empty)[0] == 0.0
    assert [v for _, v, _ in lv_view.metric_cards(starting, empty)] == ["0", "—", "—", "—"]
    assert lv_view.progress_line(lv_view.RunState("d", "diverged"), empty) is None


def test_a_refusal_stays_while_the_run_in_the_way_trains(tmp_path: Path) -> None:
    manager = JobManager(max_jobs=1)
    job = manager.start(tiny(epochs=200), runs_dir=tmp_path, name="busy", owner="a")
    try:
        with pytest.raises(LossvizInputError) as err:
            manager.start(tiny(), runs_dir=tmp_path, owner="b")
        refusal = (str(err.value), ["busy"])
        assert lv_view.refusal_to_show(refusal, manager, just_pressed=True) == str(err.value)
        assert lv_view.refusal_to_show(refusal, manager, just_pressed=False) == str(err.value)
    finally:
        job.kill()
        job.wait(30)
    assert lv_view.refusal_to_show(refusal, manager, just_pressed=False) is None  # the run ended
    assert lv_view.refusal_to_show(("bad lr", []), manager, just_pressed=True) == "bad lr"
    assert lv_view.refusal_to_show(("bad lr", []), manager, just_pressed=False) is None
    assert lv_view.refusal_to_show(None, manager, just_pressed=True) is None
