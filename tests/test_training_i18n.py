"""The training side in both languages: figures, statuses, refusals and the messages a run leaves
in summary.json (stored as message data, rendered in the reader's language)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import msg, render
from lossviz.training import figures as ft
from lossviz.training import runs as lv_runs
from lossviz.training import view as lv_view
from lossviz.training.metrics_log import MetricsLog
from lossviz.training.trainer import TrainConfig, Trainer, divergence_advice
from tests.page_text import _figure_strings, chinese, english_phrases


def _snapshot(n: int = 50) -> ft.MetricsSnapshot:
    log = MetricsLog()
    for i in range(n):
        log.add({"step": i + 1, "epoch": 1, "loss": 2.3 - 0.01 * i, "grad_norm": 1.0 + i % 3,
                 "layer_grad_norms": {"0.weight": 0.5, "0.bias": 0.1}, "batch_accuracy": 0.2,
                 "images_per_s": 1000.0, "time": 0.01 * i, "lr": 0.01})  # fmt: skip
    log.add({"kind": "eval", "step": n, "epoch": 1, "test_loss": 2.0, "test_accuracy": 0.3, "time": 1.0})
    return log.snapshot()


def _figures(lang: str) -> list:
    snap = _snapshot()
    labels = {"0.weight": "conv1 weight", "0.bias": "conv1 bias"}
    return [
        ft.make_loss_figure(snap, "synthetic", loss_name="CrossEntropyLoss", chance=math.log(10), lang=lang),
        ft.make_accuracy_figure(snap, "synthetic", lang=lang),
        ft.make_grad_norm_figure(snap, "CIFAR-10", lang=lang),
        ft.make_layer_grad_figure(snap, "lines", "synthetic", labels=labels, lang=lang),
        ft.make_layer_grad_figure(snap, "heatmap", "synthetic", lang=lang),
        ft.make_overlay_figure([("a (synthetic)", snap), ("b", snap)], "accuracy", lang=lang),
        ft.make_overlay_figure([], "grad_norm", lang=lang),
        ft.make_loss_figure(MetricsLog().snapshot(), "synthetic", lang=lang),
    ]


def test_figures_speak_the_page_language() -> None:
    for fig in _figures("zh"):
        texts = list(_figure_strings(fig.to_json()))
        assert texts and any(chinese(t) for t in texts)
        assert not [t for t in texts if english_phrases(t)], texts
    zh_loss = _figures("zh")[0]
    assert zh_loss.layout.title.text == "训练损失 — 合成数据"
    assert zh_loss.layout.xaxis.title.text == "步数（已训练的批次数）"
    assert "随机猜测（2.30）" in [a.text for a in zh_loss.layout.annotations]
    assert [t.name for t in _figures("zh")[3].data] == ["conv1 权重", "conv1 偏置"]
    for fig in _figures("en"):
        assert not [t for t in _figure_strings(fig.to_json()) if chinese(t)]
    en_loss = _figures("en")[0]
    assert en_loss.layout.title.text == "Training loss — synthetic data"
    assert en_loss.data[1].name == "smoothed (0.6)"


def test_progress_and_cards_in_chinese() -> None:
    snap = _snapshot(1000)
    prog = ft.progress_summary(snap, total_steps=2000, batch_size=64, lang="zh")
    assert prog["text"] == "第 1,000 / 2,000 步 · 每秒 1,000 张图像 · 约剩 1:04"
    assert ft.progress_summary(snap, 2000, 64)["text"] == "step 1,000 of 2,000 · 1,000 images/s · about 1:04 left"
    state = lv_view.RunState("r", "finished", total=1000, batch_size=64, label="synthetic")
    assert lv_view.progress_line(state, snap, "zh") == (1.0, "已完成：第 1,000 / 1,000 步")
    assert [label for label, _, _ in lv_view.metric_cards(state, snap, "zh")] == [
        "已训练批次", "最新损失", "测试准确率", "每秒图像数"]  # fmt: skip
    assert lv_view.device_text({"device_resolved": "cpu", "world_size": 2, "backend": "gloo"}, "zh") == (
        "cpu × 2 个工作进程（gloo）")  # fmt: skip


def test_run_table_heads_and_words_in_chinese() -> None:
    row = {"run": "a", "data": "synthetic", "status": "stopped", "steps": 3, "last loss": 2.25,
           "test loss": None, "test accuracy": 0.5, "lr": 0.01}  # fmt: skip
    (zh,) = lv_view.run_table([row], "zh")
    assert zh == {"运行": "a", "数据": "合成", "状态": "已停止", "步数": 3, "最新损失": "2.2500",
                  "测试损失": "—", "测试准确率": "50.0%", "lr": 0.01}  # fmt: skip
    (en,) = lv_view.run_table([row], "en")
    assert en["status"] == "stopped" and en["data"] == "synthetic" and en["test loss"] == "—"


def test_refusals_render_in_chinese() -> None:
    with pytest.raises(LossvizInputError) as err:
        TrainConfig(optimizer="rmsprop").validated()
    assert render(err.value, "zh") == "未知的优化器 'rmsprop'：请选择 sgd 或 adam"
    assert str(err.value) == "optimizer 'rmsprop' is unknown: choose sgd or adam"  # the CLI's English
    with pytest.raises(LossvizInputError) as err:
        TrainConfig(batch_size=0).validated()
    assert render(err.value, "zh") == "batch_size=0 超出范围：请给出 1 到 4096 之间的整数"
    with pytest.raises(LossvizInputError) as err:
        lv_runs.clean_run_name("../x")
    assert "看起来像一个路径" in render(err.value, "zh")
    trainer = Trainer(TrainConfig(dataset="synthetic", synthetic_train=16, synthetic_test=16, batch_size=16))
    trainer._thread = object()  # as if start() had run: a second start is refused
    with pytest.raises(LossvizInputError) as err:
        trainer.start()
    assert str(err.value) == "this run has already been started: start a new run instead"
    assert render(err.value, "zh") == "这个运行已经启动过了：请另外开始一个新的运行"


def test_divergence_advice_is_one_message_in_either_language() -> None:
    advice = divergence_advice(TrainConfig(lr=1.0, momentum=0.9), 7, float("nan"))
    assert str(advice) == (
        "Training diverged: the loss became nan at step 7. The steps were too large and the weights blew up. "
        "Try a learning rate 10 times smaller (lr=0.1), or less momentum, or Adam with lr=0.001."
    )
    zh = render(advice, "zh")
    assert zh.startswith("训练发散了：损失在第 7 步变成了 nan。") and "lr=0.1" in zh and not english_phrases(zh)


def test_a_runs_message_is_stored_as_data_and_read_in_the_readers_language(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    cfg = TrainConfig(dataset="synthetic", synthetic_train=32, synthetic_test=16, batch_size=16, epochs=1)
    Trainer(cfg, runs_dir=tmp_path, run_name="r").run()
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["message"] == "Finished 2 steps."  # English for any other reader of the file
    assert summary["message_i18n"] == {"id": "Finished {n} steps.", "params": {"n": 2}}
    assert render(lv_view.run_state(tmp_path, "r", lang="zh").note, "zh") == "已完成 2 步。"
    # a program that rewrites only the English message wins over the stale data
    summary["message"] = "Stopped by hand."
    (tmp_path / "r" / "summary.json").write_text(json.dumps(summary))
    assert lv_runs.summary_message(summary) == "Stopped by hand."
    # nested messages and server paths: the paths go, the ids stay
    nested = msg("Training stopped: the run files could not be written ({place}) because {why}. {advice}",
                 place=str(tmp_path / "r"), why=msg("the disk is full"),
                 advice=msg("Free some space or choose another runs folder, then start again."))  # fmt: skip
    data = json.loads(json.dumps(lv_runs.message_json(nested)))
    back = lv_view.without_server_paths(lv_runs.message_from_json(data), {str(tmp_path): "运行文件夹"})
    assert render(back, "zh") == "训练已停止：无法写入运行文件（运行文件夹/r），因为磁盘已满。请腾出一些空间或换一个运行文件夹，然后重新开始。"
    assert lv_runs.message_from_json({"id": 3}) == "" and lv_runs.message_from_json(None) == ""
    assert lv_runs.message_json(msg("x {v}", v=np.float64("inf")))["params"] == {"v": "inf"}


def test_a_process_that_fails_before_its_run_exists_is_explained_in_the_readers_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lossviz.training.jobs import JobManager

    monkeypatch.setenv("LOSSVIZ_DATA", str(tmp_path / "data"))
    folder = tmp_path / "data" / "cifar-10-batches-py"  # all the files, none of them CIFAR: fails in the process
    folder.mkdir(parents=True)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (folder / name).write_bytes(b"not cifar")
    manager = JobManager(max_jobs=1)
    cfg = TrainConfig(dataset="cifar10", data_dir=str(tmp_path / "data"), threads=1)
    job = manager.start(cfg, runs_dir=tmp_path / "runs", owner="a")
    assert job.wait(120) and job.status == "failed"
    assert "checksum does not match" in job.message  # English, as the CLI printed it
    state = lv_view.run_state(tmp_path / "runs", job.name, job, lang="zh")
    zh = render(state.note, "zh")
    assert zh == "数据文件夹/cifar-10-batches-py 中的 CIFAR-10 不完整或已损坏（缺少文件，或文件校验和不匹配）。请删除该文件夹后重新下载，或者改用合成数据集训练。"
    assert lv_view.without_server_paths("no data here", {"data": "the data folder"}) == "no data here"
