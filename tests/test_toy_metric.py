"""A metric registered inside a test reaches every reader with no other change (issue 17: a metric is
one entry): the record, metrics.jsonl, the in-memory log, the CSV, the TensorBoard scalars and the
training page's charts. As ``tests/test_toy_loss.py`` does for losses.

The toys: a per-layer weight norm computed after the optimizer step every 2 steps, a scalar
"update norm" ‖w_after − w_before‖ (the optimizer's real step) with a chart of its own, and a
forward-hook metric (share of negative outputs per convolution) checked on the hook machinery.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest
from torch import nn

from lossviz.training import (
    MetricSpec,
    StepContext,
    TrainConfig,
    Trainer,
    build_model,
    get_metric,
    list_metrics,
    register_metric,
    run_csv,
    unregister_metric,
)
from lossviz.training.metrics import MetricPlan
from lossviz.training.metrics_log import MetricsLog

PAGE = str(Path(__file__).resolve().parents[1] / "pages" / "training.py")
LAYERS = [n for n, _ in build_model().named_parameters()]


def _weight_norms(ctx: StepContext) -> dict[str, torch.Tensor]:
    return {n: p.detach().norm() for n, p in zip(ctx.names, ctx.params, strict=True)}


def _update_norm(ctx: StepContext) -> torch.Tensor:
    assert ctx.before is not None
    return torch.linalg.vector_norm(
        torch.stack([(p.detach() - b).norm() for p, b in zip(ctx.params, ctx.before, strict=True)])
    )


@pytest.fixture
def toys() -> Iterator[tuple[MetricSpec, MetricSpec]]:
    weight = register_metric(
        MetricSpec(
            "toy_weight_norm",
            "toy weight norm",
            per_layer=True,
            chart="layers",
            group="9-toy",
            tb_tag="toy_weight_norm",
            csv="weight_norm",
            log_scale=True,
            lo=0.0,
            phase="after_step",
            compute=_weight_norms,
            every=2,
        )  # fmt: skip
    )
    update = register_metric(
        MetricSpec(
            "toy_update_norm",
            "toy update norm",
            chart="own",
            tb_tag="train/toy_update_norm",
            lo=0.0,
            phase="after_step",
            compute=_update_norm,
            needs_before=True,
        )  # fmt: skip
    )
    yield weight, update
    unregister_metric("toy_weight_norm")
    unregister_metric("toy_update_norm")


@pytest.fixture
def trained(toys: tuple[MetricSpec, MetricSpec], tmp_path: Path) -> Trainer:
    torch.set_num_threads(1)
    config = TrainConfig(dataset="synthetic", synthetic_train=64, synthetic_test=20, batch_size=16, epochs=1,
                         momentum=0.0, lr=0.05, seed=3)  # fmt: skip
    trainer = Trainer(config, runs_dir=tmp_path / "runs", run_name="toy")
    assert trainer.run() == "finished"
    return trainer


def test_the_registry_lists_the_toys(toys: tuple[MetricSpec, MetricSpec]) -> None:
    keys = [s.key for s in list_metrics()]
    assert "toy_weight_norm" in keys and "layer_grad_norms" in keys
    assert get_metric("toy_weight_norm").csv_column("conv1 weight") == "weight_norm[conv1 weight]"


def test_the_record_and_the_log_carry_the_toys(trained: Trainer) -> None:
    lines = [json.loads(x) for x in (trained.run_dir / "metrics.jsonl").read_text().splitlines()]
    batches = [r for r in lines if r["kind"] == "batch"]
    assert len(batches) == 4
    # every 2 steps: present on steps 2 and 4 only, one value per parameter
    assert [r["step"] for r in batches if "toy_weight_norm" in r] == [2, 4]
    assert set(batches[1]["toy_weight_norm"]) == set(LAYERS)
    # the update norm is the optimizer's real step: plain SGD moves by lr × ‖gradient‖
    for r in batches:
        assert r["toy_update_norm"] == pytest.approx(0.05 * r["grad_norm"], rel=1e-4)
    assert "layer_grad_norms" in batches[0]  # the contract key stays
    # after training, the final weights' norms equal the last record's (a direct torch call)
    final = {n: float(p.detach().norm()) for n, p in trained.model.named_parameters()}
    assert batches[-1]["toy_weight_norm"] == pytest.approx(final, rel=1e-5)
    snap = trained.log.snapshot()
    steps, cols = snap.layer_series("toy_weight_norm")
    assert steps.tolist() == [2.0, 4.0] and cols["0.weight"].tolist() == pytest.approx(
        [batches[1]["toy_weight_norm"]["0.weight"], batches[3]["toy_weight_norm"]["0.weight"]]
    )
    assert snap.series("toy_update_norm")[1].size == 4


def test_the_csv_has_the_toy_columns(trained: Trainer) -> None:
    rows = list(csv.DictReader(io.StringIO(run_csv(trained.run_dir.parent, "toy"))))
    assert "weight_norm[conv1 weight]" in rows[0] and "toy_update_norm" in rows[0]
    second = [r for r in rows if r["kind"] == "batch"][1]
    assert float(second["weight_norm[fc2 bias]"]) > 0 and float(second["toy_update_norm"]) > 0


def test_tensorboard_has_the_toy_scalars(trained: Trainer) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(trained.run_dir))
    acc.Reload()
    tags = acc.Tags()["scalars"]
    assert "toy_weight_norm/conv1 weight" in tags and "train/toy_update_norm" in tags
    assert [e.step for e in acc.Scalars("toy_weight_norm/conv1 weight")] == [2, 4]
    assert len(acc.Scalars("train/toy_update_norm")) == 4
    assert "grad_norm/conv1 weight" in tags and "train/loss" in tags


def test_the_page_draws_the_toys(trained: Trainer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LOSSVIZ_RUNS", str(trained.run_dir.parent))
    monkeypatch.setenv("LOSSVIZ_DATA", str(tmp_path / "data"))
    st.cache_resource.clear()
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    switch = at.get("button_group")
    picker = next(w for w in switch if getattr(w, "key", "") == "tr_layer_metric")
    assert "toy_weight_norm" in picker.options or any("toy weight norm" in str(o) for o in picker.options)
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert any(t.startswith("toy update norm") for t in titles), titles  # its own chart
    picker.set_value("toy_weight_norm").run()
    assert not at.exception, [e.value for e in at.exception]
    charts = {c.proto.id: json.loads(c.proto.spec) for c in at.get("plotly_chart")}
    layer_chart = next(
        s for s in charts.values() if s["layout"]["title"]["text"].startswith("toy weight norm per layer")
    )
    assert {t["name"] for t in layer_chart["data"]} >= {"conv1 weight", "fc2 bias"}


def test_forward_hooks_capture_only_on_due_steps() -> None:
    def negative_share(ctx: StepContext) -> dict[str, torch.Tensor]:
        return {name: (out < 0).float().mean() for name, out in ctx.activations.items()}

    spec = MetricSpec("toy_negative", "negative outputs", per_layer=True, phase="forward", every=3,
                      modules=lambda name, m: isinstance(m, nn.Conv2d), compute=negative_share)  # fmt: skip
    model = build_model()
    plan = MetricPlan(model, [spec])
    params = list(model.parameters())
    ctx = StepContext(0, model, LAYERS, params)
    x = torch.randn(4, 3, 32, 32)
    seen = []
    for step in range(1, 7):
        plan.begin(step)
        out = model(x)
        ctx.step = step
        plan.after_backward(ctx)
        plan.after_step(ctx)
        fields = plan.fields()
        seen.append(sorted(fields.get("toy_negative", {})))
    assert seen[0] == [] and seen[1] == [] and seen[2] == ["0", "2", "4"] and seen[5] == ["0", "2", "4"]
    conv1 = model[0](x)
    plan.begin(3)
    model(x)
    plan.after_backward(ctx)
    assert plan.fields()["toy_negative"]["0"] == pytest.approx(float((conv1 < 0).float().mean()), abs=1e-6)
    plan.close()
    assert not model[0]._forward_hooks and out.shape == (4, 10)


def test_tampered_values_are_stored_as_missing() -> None:
    log = MetricsLog()
    log.add(
        {
            "step": 10**400,
            "loss": 10**400,
            "grad_norm": float("inf"),
            "layer_grad_norms": {"0.weight": "x", "0.bias": -1.0},
        }
    )
    log.add({"step": 2, "loss": 1.5, "batch_accuracy": 7.0, "layer_grad_norms": {"0.weight": 0.5}})
    snap = log.snapshot()
    assert (
        math.isnan(snap.batch["step"][0])
        and math.isnan(snap.batch["loss"][0])
        and snap.batch["loss"][1] == 1.5
    )
    assert math.isnan(snap.batch["batch_accuracy"][1])  # outside 0..1
    assert math.isnan(snap.layers["0.bias"][0]) and snap.layers["0.weight"][1] == 0.5
