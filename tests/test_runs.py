"""Run directories: names, atomic files, reading back (with a truncated last line), status, CSV, metrics log."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from lossviz.errors import LossvizInputError
from lossviz.training import runs as lv_runs
from lossviz.training.metrics_log import MetricsLog

CONFIG = {"dataset": "synthetic", "dataset_label": "synthetic", "optimizer": "sgd", "lr": 0.01, "relu": False}


def batch_record(step: int, loss: float = 2.0) -> dict:
    return {
        "kind": "batch",
        "step": step,
        "epoch": 1,
        "loss": loss,
        "grad_norm": 1.5,
        "layer_grad_norms": {"0.weight": 1.0, "0.bias": 0.5},
        "lr": 0.01,
        "batch_accuracy": 0.25,
        "images_per_s": 100.0,
        "time": 0.1 * step,
    }


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "..",
        ".",
        "/etc/passwd",
        "a/b",
        "a\\b",
        "~root",
        ".hidden",
        "",
        "x" * 81,
        "run\n1",
        "ab..cd",
        "C:evil",
    ],
)
def test_names_that_could_escape_are_rejected(tmp_path: Path, name: str) -> None:
    with pytest.raises(LossvizInputError):
        lv_runs.validate_run_name(name)
    with pytest.raises(LossvizInputError):
        lv_runs.run_path(tmp_path, name)
    with pytest.raises(LossvizInputError):
        lv_runs.read_run(tmp_path, name)


@pytest.mark.parametrize("label", ["../x", "/abs/run", "a/b", "..\\x", "~/x"])
def test_path_like_labels_are_refused_when_creating(tmp_path: Path, label: str) -> None:
    with pytest.raises(LossvizInputError, match="path"):
        lv_runs.RunWriter.create(tmp_path, label, CONFIG)
    assert list(tmp_path.iterdir()) == []


def test_labels_are_cleaned_into_names() -> None:
    assert lv_runs.clean_run_name("  my first run! ") == "my-first-run"
    assert lv_runs.clean_run_name("ReLU + Adam (lr=1e-3)") == "ReLU-Adam-lr-1e-3"
    with pytest.raises(LossvizInputError, match="empty"):
        lv_runs.clean_run_name("!!!")
    assert lv_runs.run_path("runs", "ok-1.a_b") == (Path("runs") / "ok-1.a_b").resolve()


def test_run_dir_written_and_read_back_with_a_truncated_last_line(tmp_path: Path) -> None:
    writer = lv_runs.RunWriter.create(tmp_path, "demo", CONFIG)
    assert sorted(p.name for p in writer.path.iterdir()) == ["config.json", "metrics.jsonl", "summary.json"]
    for step in (1, 2, 3):
        writer.append_record(batch_record(step))
    writer.append_record(
        {"kind": "eval", "step": 3, "epoch": 1, "test_loss": 1.9, "test_accuracy": 0.3, "time": 0.4}
    )
    writer.update_summary(status="finished", steps=3)
    writer.save_model({"w": torch.ones(2)})
    writer.close()
    # a crash in the middle of writing leaves half a line behind
    with open(writer.path / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write('{"kind": "batch", "step": 4, "loss": 1.')
    records = lv_runs.read_metrics(writer.path)
    assert [r["step"] for r in records] == [1, 2, 3, 3]
    info = lv_runs.read_run(tmp_path, "demo")
    assert info.status == "finished" and info.dataset_label == "synthetic" and info.synthetic
    assert info.config["run_name"] == "demo" and info.summary["steps"] == 3
    assert torch.equal(lv_runs.load_model_state(tmp_path, "demo")["w"], torch.ones(2))
    assert [r.name for r in lv_runs.list_runs(tmp_path)] == ["demo"]
    assert not [
        p for p in writer.path.iterdir() if p.name.endswith(".tmp")
    ]  # atomic writes leave no temp files


def test_tail_returns_only_complete_lines(tmp_path: Path) -> None:
    writer = lv_runs.RunWriter.create(tmp_path, "live", CONFIG)
    tail = lv_runs.MetricsTail(writer.path)
    assert tail.poll() == []
    writer.append_record(batch_record(1))
    line = json.dumps(batch_record(2))
    with open(writer.path / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(line[:20])  # half written
    assert [r["step"] for r in tail.poll()] == [1]
    with open(writer.path / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(line[20:] + "\nnot json\n")
    assert [r["step"] for r in tail.poll()] == [2]
    assert len(tail.log) == 2 and tail.poll() == []


def test_explicit_name_clash_is_an_error_and_auto_names_get_a_suffix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lv_runs.RunWriter.create(tmp_path, "same", CONFIG).close()
    with pytest.raises(LossvizInputError, match="already exists"):
        lv_runs.RunWriter.create(tmp_path, "same", CONFIG)
    name = lv_runs.auto_run_name(CONFIG, when=0)
    assert name.endswith("-synthetic-sgd-lr0.01") and lv_runs.validate_run_name(name) == name
    monkeypatch.setattr(lv_runs, "auto_run_name", lambda config: "auto-name")
    a = lv_runs.RunWriter.create(tmp_path, None, CONFIG)
    b = lv_runs.RunWriter.create(tmp_path, None, CONFIG)
    a.close()
    b.close()
    assert (a.name, b.name) == ("auto-name", "auto-name-2")
    assert json.loads((b.path / "config.json").read_text())["run_name"] == "auto-name-2"


def test_half_created_and_hidden_dirs_are_not_listed(tmp_path: Path) -> None:
    (tmp_path / ".creating-abc").mkdir()
    (tmp_path / "no-config").mkdir()
    (tmp_path / "stray-file").write_text("x")
    lv_runs.RunWriter.create(tmp_path, "good", CONFIG).close()
    assert [r.name for r in lv_runs.list_runs(tmp_path)] == ["good"]
    assert lv_runs.list_runs(tmp_path / "does-not-exist") == []


def test_running_run_of_a_dead_process_is_interrupted(tmp_path: Path) -> None:
    writer = lv_runs.RunWriter.create(tmp_path, "crashed", CONFIG)
    writer.close()
    assert lv_runs.read_run(tmp_path, "crashed").status == "running"  # this process is alive
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    writer.update_summary(pid=int(dead.stdout))
    assert lv_runs.read_run(tmp_path, "crashed").status == "interrupted"
    summary = {"status": "running", "pid": os.getpid(), "host": "elsewhere", "updated": time.time() - 3600}
    assert lv_runs.effective_status(summary) == "interrupted"  # silent for an hour
    summary["updated"] = time.time()
    assert lv_runs.effective_status(summary) == "running"
    assert lv_runs.effective_status({"status": "finished", "pid": 1}) == "finished"


def test_csv_export_flattens_layers_and_labels_synthetic(tmp_path: Path) -> None:
    writer = lv_runs.RunWriter.create(tmp_path, "export", CONFIG)
    writer.append_record(batch_record(1))
    writer.append_record(
        {"kind": "eval", "step": 1, "epoch": 1, "test_loss": 1.9, "test_accuracy": 0.3, "time": 0.2}
    )
    writer.close()
    rows = list(csv.DictReader(io.StringIO(lv_runs.run_csv(tmp_path, "export"))))
    assert len(rows) == 2
    assert rows[0]["data"] == "synthetic" and rows[0]["run"] == "export" and rows[0]["kind"] == "batch"
    assert float(rows[0]["grad_norm[conv1 weight]"]) == 1.0 and float(rows[0]["loss"]) == 2.0
    assert rows[1]["kind"] == "eval" and float(rows[1]["test_accuracy"]) == 0.3


def test_non_finite_values_are_written_as_null(tmp_path: Path) -> None:
    writer = lv_runs.RunWriter.create(tmp_path, "nan", CONFIG)
    writer.append_record(batch_record(1, loss=math.nan))
    writer.close()
    text = (writer.path / "metrics.jsonl").read_text()
    assert "NaN" not in text and '"loss": null' in text
    assert lv_runs.read_metrics(writer.path)[0]["loss"] is None


def test_missing_model_is_a_plain_error(tmp_path: Path) -> None:
    lv_runs.RunWriter.create(tmp_path, "nomodel", CONFIG).close()
    with pytest.raises(LossvizInputError, match="no saved model"):
        lv_runs.load_model_state(tmp_path, "nomodel")
    with pytest.raises(LossvizInputError, match="no run named"):
        lv_runs.read_run(tmp_path, "absent")


def test_metrics_log_columns_and_late_layers() -> None:
    log = MetricsLog()
    log.add(batch_record(1))
    log.add({**batch_record(2), "layer_grad_norms": {"0.weight": 2.0, "0.bias": 0.5, "new": 3.0}})
    log.add({"kind": "eval", "step": 2, "epoch": 1, "test_loss": 1.5, "test_accuracy": 0.5, "time": 1.0})
    log.add({"kind": "something-else"})
    snap = log.snapshot()
    assert snap.n_batches == 2 and snap.n_evals == 1 and len(log) == 2
    assert snap.layers["0.weight"].tolist() == [1.0, 2.0]
    assert math.isnan(snap.layers["new"][0]) and snap.layers["new"][1] == 3.0
    assert snap.last("loss") == 2.0 and snap.eval["test_accuracy"].tolist() == [0.5]
    log.add({**batch_record(3), "loss": None})
    assert log.snapshot().last("loss") == 2.0
