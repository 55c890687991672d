"""``python -m lossviz.cli.train`` (wired in as ``python -m lossviz train``): run dirs, progress, errors."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from lossviz.cli import train as train_cli
from lossviz.training.jobs import stop_all_managers
from lossviz.training.model import build_model
from lossviz.training.runs import load_model_state

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--synthetic", "--synthetic-train", "128", "--synthetic-test", "32", "--batch-size", "16"]


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    stop_all_managers(10)
    torch.set_num_threads(before)


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "lossviz.cli.train", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


def test_cli_run_writes_a_complete_run_dir(tmp_path: Path) -> None:
    proc = run_cli(
        *TINY, "--max-batches", "5", "--runs-dir", str(tmp_path), "--name", "cli-run", "--threads", "1"
    )
    assert proc.returncode == 0, proc.stderr
    run = tmp_path / "cli-run"
    names = sorted(p.name for p in run.iterdir())
    events = [n for n in names if n.startswith("events.out.tfevents.")]
    assert len(events) == 1
    assert [n for n in names if n not in events] == [
        "config.json",
        "metrics.cols",  # the column file: every record again as a binary row (fast to open)
        "metrics.cols.json",
        "metrics.jsonl",
        "model.safetensors",
        "predictions.json",  # the test pictures' answers after the last evaluation (issue 22)
        "snapshots",  # weight snapshots for the weight landscape's path
        "summary.json",
    ]
    config = json.loads((run / "config.json").read_text())
    assert (
        config["dataset"] == "synthetic"
        and config["dataset_label"] == "synthetic"
        and config["max_batches"] == 5
    )
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if r["kind"] == "batch"] == [1, 2, 3, 4, 5]
    assert records[-1]["kind"] == "eval"
    summary = json.loads((run / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["steps"] == 5
    assert config["world_size"] == 1
    build_model().load_state_dict(load_model_state(tmp_path, "cli-run"))
    assert "SYNTHETIC" in proc.stderr and "step 5/5" in proc.stderr  # labelled, and a progress bar was drawn
    assert proc.stderr.strip().splitlines()[-1].startswith("finished: 5 steps")


def test_bad_option_is_one_error_line_and_exit_2(tmp_path: Path) -> None:
    proc = run_cli("--lr", "abc", "--runs-dir", str(tmp_path))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--lr" in lines[0]
    assert proc.stdout == "" and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "../escape"], "looks like a path"),
        (["--batch-size", "0"], "batch_size"),
        (["--loss", "NLLLoss", "--label-smoothing", "0.2"], "label_smoothing"),
        (["--device", "cuda"] if not torch.cuda.is_available() else ["--device", "tpu"], "device"),
        (["--optimizer", "rmsprop"], "invalid choice"),
    ],
)
def test_bad_values_exit_2_in_process(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list, message: str
) -> None:
    with pytest.raises(SystemExit) as exc:
        code = train_cli.main([*TINY, "--runs-dir", str(tmp_path), *args])
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not (tmp_path / "escape").exists() and not (tmp_path.parent / "escape").exists()


def test_missing_cifar_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = train_cli.main(["--cifar10", "--data-dir", str(tmp_path / "nothing"), "--runs-dir", str(tmp_path)])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: CIFAR-10 is not in")


def test_divergence_exits_1_with_advice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = train_cli.main([*TINY, "--lr", "100000", "--runs-dir", str(tmp_path), "--quiet"])
    assert code == 1
    err = capsys.readouterr().err
    assert "diverged" in err and "learning rate" in err


def test_subcommand_wiring_for_python_m_lossviz_train(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser(prog="lossviz")
    sub = parser.add_subparsers(dest="command")
    train_cli.add_train_parser(sub)
    args = parser.parse_args(
        [
            "train",
            *TINY,
            "--max-batches",
            "2",
            "--no-eval",
            "--runs-dir",
            str(tmp_path),
            "--name",
            "wired",
            "--quiet",
        ]
    )
    assert args.func is train_cli.run_train
    assert args.func(args) == 0
    assert json.loads((tmp_path / "wired" / "summary.json").read_text())["status"] == "finished"
    assert "finished: 2 steps" in capsys.readouterr().err


def test_progress_bar_without_a_terminal_prints_a_few_lines() -> None:
    import io

    out = io.StringIO()
    bar = train_cli.ProgressBar(100, stream=out)
    for step in range(1, 101):
        bar.update(step, 1.0, 500.0, 10.0)
    lines = out.getvalue().splitlines()
    assert 5 <= len(lines) <= 11 and lines[-1].startswith("[" + "#" * 28 + "] 100.0% step 100/100")


def test_progress_bar_on_the_terminal_in_use_redraws_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no stream given the bar writes to the current stderr, and redraws in place when it is a terminal."""
    import io

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    out = Tty()
    monkeypatch.setattr(sys, "stderr", out)
    bar = train_cli.ProgressBar(3)
    bar.update(3, 1.0, 500.0, 0.0)
    assert out.getvalue().startswith("\r[") and "\n" not in out.getvalue()


# ----------------------------------------------------------------------------- in the user's language


def test_a_run_in_chinese_prints_chinese_progress_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.page_text import chinese, english_phrases

    code = train_cli.main(
        [*TINY, "--max-batches", "3", "--runs-dir", str(tmp_path), "--name", "zh-run", "--lang", "zh"]
    )
    assert code == 0
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert lines[0] == f"运行 zh-run -> {tmp_path / 'zh-run'}"
    assert lines[1].startswith("数据：合成（训练图像 128 张 / 测试图像 32 张），设备 ") and lines[1].endswith(
        "，共 3 步"
    )
    assert lines[2].startswith("注意：") and "合成数据集" in lines[2]
    assert any(
        line.startswith("[" + "#" * 28 + "] 100.0% 第 3/3 步 损失 ") and "张/秒" in line for line in lines
    )
    assert lines[-1].startswith("已完成：3 步，测试损失 ") and lines[-1].endswith(
        f"运行目录：{tmp_path / 'zh-run'}"
    )
    assert all(chinese(line) for line in lines)
    assert english_phrases(err.replace(str(tmp_path), " ")) == []
    # the run directory is the same machine-readable one
    summary = json.loads((tmp_path / "zh-run" / "summary.json").read_text())
    assert summary["status"] == "finished" and summary["steps"] == 3


def test_chinese_errors_keep_the_error_prefix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = train_cli.main(["--cifar10", "--data-dir", str(tmp_path / "nothing"), "--runs-dir", str(tmp_path),
                           "--lang", "zh"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "CIFAR-10" in err[0] and "下载" in err[0]
    with pytest.raises(SystemExit) as exc:
        train_cli.main(["--lr", "abc", "--lang", "zh"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "--lr" in err[0]


def test_divergence_in_chinese(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = train_cli.main([*TINY, "--lr", "100000", "--runs-dir", str(tmp_path), "--quiet", "--lang", "zh"])
    assert code == 1
    assert "已发散：" in capsys.readouterr().err


def test_progress_bar_and_summary_line_in_each_language() -> None:
    import io

    out = io.StringIO()
    bar = train_cli.ProgressBar(4, stream=out, lang="zh")
    bar.update(4, 0.5, 1234.0, 0.0)
    assert out.getvalue() == "[" + "#" * 28 + "] 100.0% 第 4/4 步 损失 0.5000 1,234 张/秒 剩余 0:00\n"
    ev = {"test_loss": 1.25, "test_accuracy": 0.5}
    assert train_cli.summary_line("stopped", 7, ev, "runs/x") == (
        "stopped: 7 steps, test loss 1.2500, test accuracy 50.0%. Run directory: runs/x"
    )
    assert train_cli.summary_line("stopped", 7, None, "runs/x", "zh") == "已停止：7 步。运行目录：runs/x"
    assert train_cli.summary_line("finished", 7, ev, "runs/x", "zh") == (
        "已完成：7 步，测试损失 1.2500，测试准确率 50.0%。运行目录：runs/x"
    )


def test_stand_alone_help_follows_lang(capsys: pytest.CaptureFixture[str]) -> None:
    for lang, head in (("zh", "用法：python -m lossviz train"), ("en", "usage: python -m lossviz train")):
        with pytest.raises(SystemExit) as exc:
            train_cli.main(["--help", "--lang", lang])
        assert exc.value.code == 0
        assert capsys.readouterr().out.startswith(head)


def test_page_runs_speak_english_to_the_job_manager(tmp_path: Path) -> None:
    """The job manager reads a failed run's last ``error:`` line as English, whatever the server's LANG."""
    from lossviz.training.jobs import train_command
    from lossviz.training.trainer import TrainConfig

    cmd = train_command(TrainConfig(dataset="synthetic"), tmp_path, "x")
    assert cmd[cmd.index("--lang") + 1] == "en"
