"""Run folders that lie (issue 20: D1, D2, D3, D9, D10, D12): every reader opens only regular files
inside the run folder, within a size cap, reads metrics with bounded memory and validates every
value before arithmetic. Each defect is reproduced in a temporary runs folder."""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from lossviz.cli import train as train_cli
from lossviz.errors import LossvizInputError
from lossviz.i18n import render
from lossviz.training import metrics_log as ML
from lossviz.training import runs as R
from lossviz.training import view as V
from lossviz.training.trainer import TrainConfig, Trainer

TINY = ["--synthetic", "--synthetic-train", "64", "--synthetic-test", "20", "--batch-size", "32"]


def make_run(root: Path, name: str = "r", config: dict | None = None, summary: dict | None = None) -> Path:
    run = root / name
    run.mkdir(parents=True)
    cfg = {"dataset": "synthetic", "dataset_label": "synthetic", "batch_size": 16, "total_steps": 10, "loss": "CrossEntropyLoss"}
    (run / "config.json").write_text(json.dumps({**cfg, **(config or {})}))
    (run / "summary.json").write_text(json.dumps({"status": "finished", "started": 1.0e9, **(summary or {})}))
    lines = [json.dumps({"kind": "batch", "step": i, "epoch": 1, "loss": 2.0 - i / 10, "grad_norm": 1.0,
                         "layer_grad_norms": {"0.weight": 0.5}, "time": i}) for i in range(1, 6)]  # fmt: skip
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    return run


def in_time(fn: Callable[[], object], limit_s: float = 10.0) -> object:
    """``fn()``, failing (not hanging) if it blocks: the FIFO defects hung readers forever."""
    out: list[object] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            out.append(fn())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    t = threading.Thread(target=call, daemon=True)
    t.start()
    t.join(limit_s)
    assert not t.is_alive(), "the reader blocked"
    if errors:
        raise errors[0]
    return out[0] if out else None


# ----------------------------------------------------------------------------- D1: FIFOs


@pytest.mark.parametrize("name", ["summary.json", "config.json", "metrics.jsonl"])
def test_d1_a_fifo_never_blocks_a_reader(tmp_path: Path, name: str) -> None:
    run = make_run(tmp_path)
    (run / name).unlink()
    os.mkfifo(run / name)
    runs = in_time(lambda: R.list_runs(tmp_path))
    if name == "config.json":
        assert runs == []  # no readable config: not listed
        with pytest.raises(LossvizInputError) as exc:
            R.read_run(tmp_path, "r")
        assert "not a regular file" in render(exc.value.message)
        return
    (info,) = runs
    state = in_time(lambda: V.run_state(tmp_path, "r"))
    snap = in_time(lambda: V.read_snapshot(run))
    in_time(lambda: R.MetricsTail(run).poll())
    in_time(lambda: info.row())
    in_time(lambda: list(R.iter_run_csv(tmp_path, "r")))
    if name == "summary.json":
        assert any("summary.json was not read" in render(n) for n in state.notes)
        assert snap.n_batches == 5
    else:
        assert snap.n_batches == 0 and R.last_step(run) is None
        tail = R.MetricsTail(run)
        tail.poll()
        assert tail.notes and "not a regular file" in render(tail.notes[0])


# ----------------------------------------------------------------------------- D2, D12: links


@pytest.mark.parametrize("name", ["metrics.jsonl", "summary.json", "config.json", "model.safetensors"])
@pytest.mark.parametrize("target", ["/dev/zero", "outside"])
def test_d2_d12_links_are_not_followed(tmp_path: Path, name: str, target: str) -> None:
    runs = tmp_path / "runs"
    run = make_run(runs)
    secret = tmp_path / "secret.txt"
    secret.write_text('{"kind": "batch", "step": 99, "loss": 1.0, "secret": "password"}\n')
    (run / name).unlink(missing_ok=True)
    os.symlink(target if target.startswith("/") else secret, run / name)
    if name == "config.json":
        with pytest.raises(LossvizInputError):
            in_time(lambda: R.read_run(runs, "r"))
        return
    if name == "model.safetensors":
        with pytest.raises(LossvizInputError) as exc:
            in_time(lambda: R.load_model_state(runs, "r"))
        assert "not a regular file" in render(exc.value.message)
        return
    state = in_time(lambda: V.run_state(runs, "r"))
    text = "".join(in_time(lambda: list(R.iter_run_csv(runs, "r"))))  # type: ignore[arg-type]
    assert "password" not in text and "99" not in text.split("\n", 1)[-1].split(",")[3:4]
    snap = in_time(lambda: V.read_snapshot(run))
    if name == "metrics.jsonl":
        assert snap.n_batches == 0  # type: ignore[union-attr]
    else:
        assert any("not a regular file" in render(n) for n in state.notes)  # type: ignore[union-attr]


def test_a_huge_summary_is_skipped_with_a_note(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    with open(run / "summary.json", "w") as f:
        f.write('{"status": "finished", "pad": "' + "x" * (R.MAX_JSON_BYTES + 10) + '"}')
    info = R.read_run(tmp_path, "r")
    assert info.summary == {} and "MB" in render(info.notes[0])
    assert "没有读取" in render(info.notes[0], "zh")


# ----------------------------------------------------------------------------- D9: tampered values


@pytest.mark.parametrize(
    "config",
    [{"batch_size": "abc"}, {"total_steps": 1e400}, {"total_steps": float("nan")}, {"total_steps": [1]},
     {"margin": "wide"}, {"total_steps": 10**400}, {"relu": "yes"}, {"device_resolved": ["x"] * 1000}],  # fmt: skip
)
def test_d9_tampered_config_values_never_crash(tmp_path: Path, config: dict) -> None:
    run = make_run(tmp_path)
    text = json.dumps({"dataset": "synthetic", "loss": "CrossEntropyLoss", **config}).replace("NaN", "NaN")
    text = text.replace("Infinity", "1e400")
    (run / "config.json").write_text(text)
    state = V.run_state(tmp_path, "r")
    snap = V.read_snapshot(run)
    frac, _ = V.progress_line(state, snap)
    assert 0.0 <= frac <= 1.0 and state.total >= 1 and state.batch_size >= 1
    V.metric_cards(state, snap)
    V.run_table([R.read_run(tmp_path, "r").row()])


@pytest.mark.parametrize(
    "step", ["null", None, "1e400", "Infinity", "-50", "1" * 400, '"7"', "true", "2.5"],
)
def test_d9_tampered_last_step_never_crashes_or_goes_negative(tmp_path: Path, step: str | None) -> None:
    run = make_run(tmp_path)
    last = '{"kind": "batch", "epoch": 1, "loss": 1.0' + ("" if step is None else f', "step": {step}') + "}"
    with open(run / "metrics.jsonl", "a") as f:
        f.write(last + "\n")
    state = V.run_state(tmp_path, "r")
    snap = V.read_snapshot(run)
    frac, text = V.progress_line(state, snap)
    assert 0.0 <= frac <= 1.0 and "-" not in text.split("step")[1][:4]
    assert R.last_step(run) in (5, None) or R.last_step(run) >= 0
    R.read_run(tmp_path, "r").row()
    from lossviz.training import figures as F

    F.make_loss_figure(snap)
    F.make_layer_figure(snap, "layer_grad_norms", "heatmap")


def test_d9_huge_integers_in_values(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    big = "9" * 400
    with open(run / "metrics.jsonl", "a") as f:
        f.write(f'{{"kind": "batch", "step": 6, "loss": {big}, "layer_grad_norms": {{"0.weight": {big}}}}}\n')
        f.write(f'{{"kind": "eval", "step": 6, "test_accuracy": {big}, "test_loss": {big}}}\n')
    (run / "summary.json").write_text(f'{{"status": "finished", "started": {big}, "test_loss": {big}, "test_accuracy": {big}}}')
    make_run(tmp_path, "other")
    rows = [r.row() for r in R.list_runs(tmp_path)]  # the table of every run still builds
    assert len(rows) == 2 and V.run_table(rows)
    state = V.run_state(tmp_path, "r")
    snap = V.read_snapshot(run)
    assert math.isnan(snap.batch["loss"][-1]) and math.isnan(snap.eval["test_accuracy"][-1])
    V.metric_cards(state, snap)
    assert "".join(R.iter_run_csv(tmp_path, "r"))
    (run / "summary.json").write_text('{"status": "running", "started": 1e300, "updated": 1e300, "pid": 1}')
    assert R.read_run(tmp_path, "r").row()["started"] == ""


# ----------------------------------------------------------------------------- D10: the train CLI


@pytest.mark.parametrize("option", ["--seed", "--epochs"])
def test_d10_cli_401_digit_numbers_are_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    code = train_cli.main([*TINY, "--runs-dir", str(tmp_path), option, "9" * 401])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "out of range" in err[0]
    assert len(err[0]) < 200  # the 401 digits are not echoed whole


def test_d10_config_json_with_a_400_digit_seed(tmp_path: Path) -> None:
    make_run(tmp_path, config={"seed": 10**400})
    config = R.read_run(tmp_path, "r").config
    with pytest.raises(LossvizInputError) as exc:
        TrainConfig.from_dict(config).validated()
    assert "seed" in render(exc.value.message)


# ----------------------------------------------------------------------------- D3: size


def fast_metrics(path: Path, n: int, layers: int = 10) -> None:
    """``n`` batch records the way the trainer writes them, a block of lines per write (fast)."""
    names = [f"{i}.weight" for i in range(layers)]
    layer_part = ", ".join(f'"{k}": 0.{{0}}5' for k in names)
    template = ('{{"kind": "batch", "step": {0}, "epoch": 1, "batch": {0}, "loss": 2.{0}, "grad_norm": 1.{0}, '
                '"layer_grad_norms": {{' + layer_part.replace("{0}", "{0}") + '}}, "lr": 0.01, "batch_accuracy": 0.5, '
                '"images_per_s": 900.0, "time": {0}.5}}\n')  # fmt: skip
    with open(path, "w") as f:
        for start in range(1, n + 1, 50_000):
            f.write("".join(template.format(i) for i in range(start, min(n, start + 49_999) + 1)))


def test_d3_a_million_records_tail_and_follow_with_bounded_memory(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    fast_metrics(run / "metrics.jsonl", 1_000_000)
    assert R.last_step(run) == 1_000_000  # reads 64 KB
    assert R.read_run(tmp_path, "r").steps == 1_000_000
    tail = R.MetricsTail(run)
    first = tail.poll()  # one poll reads at most POLL_BYTES
    assert 0 < len(first) < 1_000_000 and tail._reader.pos <= R.POLL_BYTES
    rows = R.iter_run_csv(tmp_path, "r")  # the CSV streams: a generator of pieces
    head = next(rows)
    assert head.startswith("run,data,kind,step") and len(next(rows)) < 2_000_000


def test_d3_an_unterminated_line_never_grows_the_buffer(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    tail = R.MetricsTail(run)
    assert len(tail.poll()) == 5
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"kind": "batch", "step": 6, "pad": "' + "x" * (3 * R.MAX_LINE_BYTES))  # no newline yet
    for _ in range(3):
        assert tail.poll() == []
        assert len(tail._reader.pending) <= R.MAX_LINE_BYTES
    with open(run / "metrics.jsonl", "a") as f:
        f.write('"}\n{"kind": "batch", "step": 7, "loss": 1.0}\n')
    assert [r["step"] for r in tail.poll()] == [7]  # the giant line is skipped, the next one read


def test_d3_the_log_halves_instead_of_growing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ML, "MAX_ROWS", 1000)
    log = ML.MetricsLog()
    for i in range(1, 5001):
        log.add({"step": i, "loss": 100.0 if i == 2500 else 1.0, "layer_grad_norms": {"a": 1e-9 if i == 3333 else 1.0}})
    snap = log.snapshot()
    assert snap.n_batches < 1000 and snap.batch["step"][0] == 1
    assert snap.batch["loss"].max() == 100.0  # the spike survives the halving
    assert snap.layers["a"].min() == pytest.approx(1e-9)  # and so does the dip


def test_the_column_file_agrees_with_the_jsonl(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    cfg = TrainConfig(dataset="synthetic", synthetic_train=64, synthetic_test=20, batch_size=16, epochs=2)
    t = Trainer(cfg, runs_dir=tmp_path, run_name="c")
    assert t.run() == "finished"
    found = R.read_columns(t.run_dir)
    assert found is not None
    fast = ML.snapshot_from_columns(*found)
    slow = ML.MetricsLog()
    slow.extend(R.iter_metrics(t.run_dir))
    ref = slow.snapshot()
    assert fast.n_batches == ref.n_batches == 8 and fast.n_evals == ref.n_evals == 2
    for key in ("step", "loss", "grad_norm", "batch_accuracy", "time"):
        assert fast.batch[key].tolist() == pytest.approx(ref.batch[key].tolist(), rel=1e-6)
    assert fast.layers["0.weight"].tolist() == pytest.approx(ref.layers["0.weight"].tolist(), rel=1e-6)
    assert fast.eval["test_loss"].tolist() == pytest.approx(ref.eval["test_loss"].tolist(), rel=1e-6)
    assert V.read_snapshot(t.run_dir).meta.get("source") == "columns"
    # a column file that disagrees with the JSONL (another last step) is not used
    with open(t.run_dir / "metrics.jsonl", "a") as f:
        f.write('{"kind": "batch", "step": 9, "loss": 1.0}\n')
    assert V.read_snapshot(t.run_dir).meta.get("source") is None
