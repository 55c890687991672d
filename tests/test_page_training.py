"""The training page through Streamlit's AppTest, and the figures it draws (decimated for 100k points)."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from lossviz.errors import LossvizInputError
from lossviz.training import figures as ft
from lossviz.training import runs as lv_runs
from lossviz.training.jobs import stop_all_managers
from lossviz.training.metrics_log import MetricsLog
from lossviz.training.runs import list_runs, read_json
from lossviz.training.trainer import TrainConfig, Trainer

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "training.py")


@pytest.fixture
def page_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private runs dir, no CIFAR-10 (so the page defaults to synthetic), one torch thread."""
    runs = tmp_path / "runs"
    monkeypatch.setenv("LOSSVIZ_RUNS", str(runs))
    monkeypatch.setenv("LOSSVIZ_DATA", str(tmp_path / "data"))
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield runs
    stop_all_managers(30)
    st.cache_resource.clear()
    torch.set_num_threads(before)


def wait_until(cond: Callable[[], bool], what: str, limit_s: float = 60.0) -> None:
    end = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def new_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def small_settings(at: AppTest, max_batches: int = 0) -> None:
    at.number_input(key="tr_syn_train").set_value(640)
    at.number_input(key="tr_syn_test").set_value(100)
    at.number_input(key="tr_max_batches").set_value(max_batches)
    at.number_input(key="tr_epochs").set_value(50)


def summary_pid(run_dir: Path) -> int:
    return int(read_json(run_dir / "summary.json")["pid"])


def metrics_lines(runs: Path) -> int:
    files = list(runs.glob("*/metrics.jsonl"))
    return sum(1 for _ in open(files[0])) if files else 0


def test_page_starts_and_stops_a_synthetic_run(page_env: Path) -> None:
    from lossviz.training import data as lv_data

    cached_before = set(lv_data._CACHE)
    at = new_page()
    assert at.title[0].value == "Watch a CNN learn"
    assert any("No runs yet" in i.value for i in at.info)
    assert at.radio(key="tr_data_kind").value == "digits"  # real pictures offline by default
    at.radio(key="tr_data_kind").set_value("synthetic").run()
    small_settings(at)
    at.number_input(key="tr_syn_train").set_value(6400)  # 100 steps an epoch: the stop lands before its end
    at.button(key="tr_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    headings = [m.value for m in at.markdown if m.value.startswith("####")]
    assert headings and ("Starting" in headings[0] or "Running" in headings[0]) and "synthetic data" in headings[0]
    wait_until(lambda: metrics_lines(page_env) >= 3, "three batches")
    at.run()  # the live panel redraws with the points so far
    headings = [m.value for m in at.markdown if m.value.startswith("####")]
    assert "Running" in headings[0] and "synthetic data" in headings[0]
    assert any("trains on cpu" in c.value for c in at.caption)
    assert at.button(key="tr_stop") is not None and at.button(key="tr_pause") is not None
    assert not at.exception
    assert len(at.get("plotly_chart")) >= 4
    at.button(key="tr_stop").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (run,) = list_runs(page_env)
    wait_until(lambda: read_json(run.path / "summary.json")["status"] == "stopped", "the stop")
    at.run()
    assert not at.exception
    headings = [m.value for m in at.markdown if m.value.startswith("####")]
    assert "Stopped" in headings[0]
    (row,) = at.dataframe[0].value.to_dict("records")
    evaluated = [json.loads(line) for line in open(run.path / "metrics.jsonl") if '"eval"' in line]
    assert row["status"] == "stopped"
    if evaluated:  # a busy machine may finish an epoch (10 batches) before the click lands: its test figures show
        assert float(row["test loss"]) == pytest.approx(evaluated[-1]["test_loss"], abs=1e-4)
    else:  # stopped before its first epoch: no test figures
        assert row["test loss"] == "—" and row["test accuracy"] == "—"
    assert row["last loss"] != "—" and float(row["last loss"]) > 0
    config = json.loads((run.path / "config.json").read_text())
    assert config["dataset_label"] == "synthetic"
    # the run trained in its own process: this (server) process built no data set for it
    assert set(lv_data._CACHE) == cached_before and summary_pid(run.path) != os.getpid()


def test_pause_and_resume_buttons(page_env: Path) -> None:
    at = new_page()
    small_settings(at)
    at.button(key="tr_start").click().run()
    wait_until(lambda: metrics_lines(page_env) >= 1, "the first batch")
    at.run()
    at.button(key="tr_pause").click().run()
    assert not at.exception
    (run,) = list_runs(page_env)
    wait_until(lambda: read_json(run.path / "summary.json")["status"] == "paused", "the pause")
    at.run()
    assert at.button(key="tr_resume") is not None
    at.button(key="tr_resume").click().run()
    wait_until(lambda: read_json(run.path / "summary.json")["status"] == "running", "the resume")
    at.button(key="tr_stop").click().run()
    assert not at.exception


def test_second_browser_watches_read_only_and_cannot_start_another(
    page_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = new_page()
    small_settings(owner)
    owner.button(key="tr_start").click().run()
    wait_until(lambda: metrics_lines(page_env) >= 1, "the first batch")
    other = new_page()  # a second session: sees the run, gets no controls
    headings = [m.value for m in other.markdown if m.value.startswith("####")]
    assert headings and "Running" in headings[0]
    assert not [b for b in other.button if b.key in ("tr_stop", "tr_pause", "tr_resume")]
    assert any("read-only" in c.value for c in other.caption)
    small_settings(other)
    other.button(key="tr_start").click().run()
    assert any("already in progress" in e.value for e in other.error)
    assert not other.exception
    # the token is not in the URL: a copied link gives nobody the controls
    token = owner.session_state["owner"]
    assert "owner" not in owner.query_params
    assert any(token in h.proto.body and "document.cookie" in h.proto.body for h in owner.get("html"))
    linked = AppTest.from_file(PAGE, default_timeout=60)
    linked.query_params["owner"] = token  # a link from an older version that carried it
    linked.run()
    assert not [b for b in linked.button if b.key in ("tr_stop", "tr_pause", "tr_resume")]
    assert "owner" not in linked.query_params
    # a reload of the first browser sends its cookie and gets the buttons back
    monkeypatch.setattr(type(st.context), "cookies", property(lambda self: {"lossviz_owner": token}))
    reloaded = AppTest.from_file(PAGE, default_timeout=60)
    reloaded.run()
    assert reloaded.button(key="tr_stop") is not None
    reloaded.button(key="tr_stop").click().run()
    assert not reloaded.exception


def test_a_refused_start_shows_the_run_in_the_way(page_env: Path) -> None:
    cfg = TrainConfig(dataset="synthetic", synthetic_train=64, synthetic_test=32, batch_size=16, epochs=1)
    Trainer(cfg, runs_dir=page_env, run_name="earlier").run()
    other = new_page()
    other.selectbox(key="tr_open_run").set_value("earlier").run()
    assert any(c.value.startswith("run `earlier`") for c in other.caption)
    owner = new_page()
    small_settings(owner)
    owner.button(key="tr_start").click().run()
    running = owner.session_state["view_run"]
    assert running != "earlier"
    other.button(key="tr_start").click().run()
    assert not other.exception
    assert any("already in progress" in e.value for e in other.error)
    # the refusal says "watch it below": below must be that run, not the one this tab had open
    assert any(c.value.startswith(f"run `{running}`") for c in other.caption)
    assert not any(c.value.startswith("run `earlier`") for c in other.caption)


def test_missing_cifar_shows_an_error_not_a_traceback(page_env: Path) -> None:
    at = new_page()
    at.radio(key="tr_data_kind").set_value("cifar10").run()
    at.button(key="tr_start").click().run()
    assert not at.exception
    assert any("CIFAR-10 is not in" in e.value for e in at.error)
    assert not any(str(page_env.parent) in e.value for e in at.error)  # no server path shown
    assert list_runs(page_env) == []


def test_past_runs_open_compare_and_download(page_env: Path) -> None:
    for seed, name in ((0, "first"), (1, "second")):
        cfg = TrainConfig(
            dataset="synthetic", synthetic_train=64, synthetic_test=32, batch_size=16, epochs=1, seed=seed
        )
        Trainer(cfg, runs_dir=page_env, run_name=name).run()
    at = new_page()
    assert at.dataframe, "the run list is shown"
    # newest first, each labelled with its data
    assert at.selectbox(key="tr_open_run").options == [
        "second (synthetic, finished)",
        "first (synthetic, finished)",
    ]
    assert at.selectbox(key="tr_open_run").value == "second"
    at.selectbox(key="tr_open_run").set_value("first").run()
    assert not at.exception
    assert any(c.value.startswith("run `first`") for c in at.caption)
    at.multiselect(key="tr_compare_runs").set_value(["first", "second"]).run()
    assert not at.exception
    assert at.radio(key="tr_compare_metric").value == "loss"
    at.radio(key="tr_compare_metric").set_value("grad_norm").run()
    assert not at.exception
    keys = [c.key for c in at.get("plotly_chart")]
    # four live charts of the open run, its insight panel (sharpness, predictions, confusion) + the comparison
    assert len(keys) == 8 and {"tr_fig_loss", "tr_fig_sharp", "tr_fig_pred", "tr_fig_confusion"} <= set(keys), keys
    assert at.get("download_button")


# ----------------------------------------------------------------------------- figures


def big_snapshot(n: int = 100_000, evals: int = 10) -> ft.MetricsSnapshot:
    rng = np.random.default_rng(0)
    log = MetricsLog()
    loss = 2.3 * np.exp(-np.arange(n) / 20_000) + 0.2 * rng.random(n)
    loss[n // 2] = 50.0  # one spike that decimation must keep
    for i in range(n):
        log.add(
            {
                "step": i + 1,
                "epoch": 1 + i * evals // n,
                "loss": float(loss[i]),
                "grad_norm": float(1 + rng.random()),
                "layer_grad_norms": {"0.weight": 0.5, "0.bias": 0.1, "8.weight": 0.7, "8.bias": 0.2},
                "batch_accuracy": 0.5,
                "images_per_s": 1000.0,
                "time": i * 0.01,
                "lr": 0.01,
            }
        )
    for e in range(evals):
        log.add(
            {
                "kind": "eval",
                "step": (e + 1) * n // evals,
                "epoch": e + 1,
                "test_loss": 1.0,
                "test_accuracy": 0.6,
                "time": 1.0,
            }
        )
    return log.snapshot()


def test_decimation_keeps_extremes_and_order() -> None:
    x = np.arange(100_000, dtype=float)
    y = np.sin(x / 500)
    y[54_321] = 99.0
    y[777] = -99.0
    xs, ys = ft.decimate(x, y, 2000)
    assert len(xs) <= 2000 and np.all(np.diff(xs) > 0)
    assert 99.0 in ys and -99.0 in ys and xs[0] == 0
    small = np.arange(10.0)
    assert ft.decimate(small, small, 2000)[0].tolist() == small.tolist()
    with pytest.raises(LossvizInputError):
        ft.decimate(x, y[:-1])


def test_smoothing_is_tensorboards_debiased_ema() -> None:
    y = np.array([1.0, np.nan, 3.0, 5.0])
    w = 0.6
    last, n, want = 0.0, 0, []
    for v in y:  # TensorBoard's loop: skip non-finite points, debias by 1 - w**n
        if not np.isfinite(v):
            want.append(np.nan)
            continue
        last, n = last * w + (1 - w) * v, n + 1
        want.append(last / (1 - w**n))
    got = ft.ema(y, w)
    assert np.isnan(got[1]) and got[[0, 2, 3]].tolist() == pytest.approx([want[0], want[2], want[3]])
    assert ft.ema(y, 0.0)[[0, 2, 3]].tolist() == [1.0, 3.0, 5.0]
    with pytest.raises(LossvizInputError):
        ft.ema(y, 1.0)


def test_figures_with_100k_points_stay_small() -> None:
    snap = big_snapshot()
    figs = [
        ft.make_loss_figure(snap, "synthetic", chance=math.log(10)),
        ft.make_accuracy_figure(snap, "synthetic"),
        ft.make_grad_norm_figure(snap, "synthetic"),
        ft.make_layer_grad_figure(snap, "lines", "synthetic", max_points=600),
        ft.make_layer_grad_figure(snap, "heatmap", "synthetic"),
        ft.make_overlay_figure([("a", snap), ("b", snap)], "loss"),
    ]
    for fig in figs:
        assert isinstance(fig, go.Figure)
        go.Figure(fig.to_dict())  # the spec, built without validation for speed, passes plotly's validation
        points = sum(len(t.x) if t.x is not None else 0 for t in fig.data)
        assert 0 < points <= 12_000
    loss_fig = figs[0]
    assert "synthetic" in loss_fig.layout.title.text
    assert max(loss_fig.data[0].y) == 50.0  # the spike survives decimation
    assert loss_fig.data[2].name.startswith("test set") and len(loss_fig.data[2].x) == 10
    assert figs[2].layout.yaxis.type == "log"
    heat = figs[4].data[0]
    assert np.asarray(heat.z).shape == (4, ft.HEATMAP_COLUMNS)


def test_empty_and_bad_figure_inputs() -> None:
    empty = MetricsLog().snapshot()
    assert "Waiting" in ft.make_loss_figure(empty).layout.annotations[0].text
    go.Figure(ft.make_loss_figure(empty).to_dict())
    with pytest.raises(LossvizInputError, match="lines"):
        ft.make_layer_grad_figure(empty, mode="bars")
    with pytest.raises(LossvizInputError, match="metric"):
        ft.make_overlay_figure([], "speed")
    prog = ft.progress_summary(big_snapshot(1000, 1), total_steps=2000, batch_size=64)
    assert prog["fraction"] == 0.5 and prog["eta"] == "1:04" and "1,000 images/s" in prog["text"]


def _external_run(runs: Path, name: str, steps: int) -> lv_runs.RunWriter:
    """A run that another process (e.g. the CLI) is writing: not in this server's job manager."""
    config = {
        "dataset": "synthetic",
        "dataset_label": "synthetic",
        "loss": "CrossEntropyLoss",
        "optimizer": "sgd",
        "lr": 0.01,
        "batch_size": 16,
        "total_steps": 100,
        "relu": False,
    }
    writer = lv_runs.RunWriter.create(runs, name, config)
    for step in range(1, steps + 1):
        writer.append_record(
            {
                "kind": "batch",
                "step": step,
                "epoch": 1,
                "loss": 2.3 - 0.01 * step,
                "grad_norm": 1.0,
                "layer_grad_norms": {"0.weight": 0.5, "0.bias": 0.1},
                "lr": 0.01,
                "batch_accuracy": 0.1,
                "images_per_s": 500.0,
                "time": 0.1 * step,
            }
        )
    writer.flush()  # a trainer's records reach the file within FLUSH_S (0.1 s): the page reads what is flushed
    return writer


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_page_follows_a_run_written_by_another_process(page_env: Path) -> None:
    writer = _external_run(page_env, "from-cli", 5)
    at = new_page()
    headings = [m.value for m in at.markdown if m.value.startswith("####")]
    assert "Running" in headings[0] and "synthetic data" in headings[0]
    assert any("read-only" in c.value for c in at.caption)
    assert _metric(at, "Batches seen") == "5"
    for step in range(6, 9):  # the other process keeps writing ...
        writer.append_record(
            {
                "kind": "batch",
                "step": step,
                "epoch": 1,
                "loss": 2.0,
                "grad_norm": 1.0,
                "layer_grad_norms": {"0.weight": 0.5, "0.bias": 0.1},
                "lr": 0.01,
                "batch_accuracy": 0.2,
                "images_per_s": 500.0,
                "time": 0.1 * step,
            }
        )
    writer.flush()
    with open(writer.path / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write('{"kind": "batch", "step": 9, "lo')  # ... and is half-way through a line
    at.run()  # the live panel's next tick
    assert not at.exception
    assert _metric(at, "Batches seen") == "8"
    writer.update_summary(status="finished", steps=8)
    writer.close()
    at.run()
    assert "Finished" in [m.value for m in at.markdown if m.value.startswith("####")][0]


def test_run_of_a_killed_process_shows_as_interrupted(page_env: Path) -> None:
    writer = _external_run(page_env, "killed", 3)
    writer.update_summary(
        pid=2**22 + 12345, updated=time.time() - 3600
    )  # no such process, silent for an hour
    writer.close()
    at = new_page()
    assert not at.exception
    assert "Interrupted" in [m.value for m in at.markdown if m.value.startswith("####")][0]
    assert any("without saying goodbye" in w.value for w in at.warning)
    assert _metric(at, "Batches seen") == "3"


def test_a_lessons_link_opens_the_edge_of_stability_preset(page_env: Path) -> None:
    from lossviz import session as K
    from lossviz.training import EDGE_OF_STABILITY

    at = AppTest.from_file(PAGE, default_timeout=60)
    at.query_params[K.TRAINING_PRESET_QUERY] = K.EDGE_OF_STABILITY_PRESET
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    p = EDGE_OF_STABILITY
    assert at.radio(key="tr_data_kind").value == "digits"
    assert at.number_input(key="tr_lr_sgd").value == p["lr"]
    assert at.number_input(key="tr_train_subset").value == p["train_subset"]
    assert at.number_input(key="tr_sharp_every").value == p["sharpness_every"]
    assert K.TRAINING_PRESET_QUERY not in at.query_params  # applied once: the teacher's later changes stay
    at.number_input(key="tr_lr_sgd").set_value(0.05).run()
    assert at.number_input(key="tr_lr_sgd").value == 0.05
