"""Per-layer health: the measured update ratios and dead units, and the alarms a sick run raises."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from lossviz.i18n import render
from lossviz.training import health as H
from lossviz.training.data import make_synthetic
from lossviz.training.model import build_model, layer_labels
from lossviz.training.trainer import TrainConfig, Trainer


@pytest.fixture(scope="module")
def tiny_data():
    return make_synthetic(seed=0, n_train=256, n_test=50)


def test_update_ratio_is_the_optimizers_real_step_and_dead_units_are_counted() -> None:
    from lossviz.training.metrics import MetricPlan, StepContext, get_metric

    torch.manual_seed(0)
    model = build_model(relu=True)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    names = [n for n, _ in model.named_parameters()]
    params = list(model.parameters())
    specs = [get_metric(k) for k in ("layer_weight_norms", "layer_update_ratios", "layer_dead_fraction")]
    plan = MetricPlan(model, specs)
    x, y = torch.randn(8, 3, 32, 32), torch.arange(8)
    for step in range(1, 4):  # momentum makes the real step differ from lr × gradient
        ctx = StepContext(step, model, names, params, optimizer=opt)
        before = [p.detach().clone() for p in params]
        plan.begin(step)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        plan.after_backward(ctx)
        plan.before_step(ctx)
        opt.step()
        plan.after_step(ctx)
        fields = plan.fields()
    for (name, p), b in zip(model.named_parameters(), before, strict=True):
        p = p.detach()
        want = float((p - b).norm() / b.norm())
        assert fields["layer_update_ratios"][name] == pytest.approx(want, rel=1e-5)
        assert fields["layer_weight_norms"][name] == pytest.approx(float(p.norm()), rel=1e-6)
    # dead fraction: units of the layer before each ReLU that were zero for the whole batch
    with torch.no_grad():
        out = model[:2](x)
    dead = float(1 - (out > 0).any(dim=(0, 2, 3)).float().mean())
    assert set(fields["layer_dead_fraction"]) == {"0.weight", "3.weight", "6.weight", "10.weight"}
    assert fields["layer_dead_fraction"]["0.weight"] == pytest.approx(dead, abs=1e-6)


def test_vanishing_gradient_alarm_names_the_layer_and_step() -> None:
    """Weights scaled down 100× per layer: the first layer's gradient falls below 1e-7."""
    torch.manual_seed(0)
    model = build_model()
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(0.01)
    x, y = torch.randn(16, 3, 32, 32), torch.arange(16) % 10
    torch.nn.functional.cross_entropy(model(x), y).backward()
    grads = {n: float(p.grad.norm()) for n, p in model.named_parameters()}
    assert grads["0.weight"] < 1e-7 < grads["8.bias"]
    m = H.HealthMonitor(layer_labels(model))
    alarms = m.observe({"step": 7, "layer_grad_norms": grads})
    vanish = [a for a in alarms if a.kind == "vanishing"]
    assert "0.weight" in {a.layer for a in vanish} and "8.bias" not in {a.layer for a in vanish}
    assert any(a.kind == "spread" for a in alarms)
    text = render(vanish[0].message, "en")
    assert "Step 7" in text and "conv1" in text and "vanished" in text
    zh = render(vanish[0].message, "zh")
    assert "步" in zh and "conv1 权重" in zh and "weight" not in zh  # the layer named as the chart's legend names it
    spread = next(a for a in alarms if a.kind == "spread")
    assert not re.search(r"\b(weight|bias)\b", render(spread.message, "zh"))  # both layers it names
    assert H.Alarm.from_json(vanish[0].to_json()).message.render("zh") == zh  # saved and read back
    # raised once, again only after recovery
    assert not [a for a in m.observe({"step": 8, "layer_grad_norms": grads}) if a.kind == "vanishing"]


def test_tiny_learning_rate_raises_the_barely_moving_alarm(tmp_path: Path, tiny_data) -> None:
    t = Trainer(TrainConfig(dataset="synthetic", lr=1e-8, momentum=0.0, max_batches=3, threads=1, evaluate=False),
                runs_dir=tmp_path, dataset=tiny_data, tensorboard=False)  # fmt: skip
    assert t.run() == "finished"
    alarms = H.read_alarms(t.run_dir)
    low = [a for a in alarms if a.kind == "update_low"]
    assert low and low[0].step == 1 and {a.layer for a in low} >= {"0.weight", "8.weight"}
    assert all(a.value < 1e-5 for a in low)
    rec = json.loads((t.run_dir / "metrics.jsonl").read_text().splitlines()[0])
    assert rec["layer_update_ratios"]["0.weight"] < 1e-5 and "layer_weight_norms" in rec


def test_huge_learning_rate_raises_an_explosion_alarm(tmp_path: Path, tiny_data) -> None:
    t = Trainer(TrainConfig(dataset="synthetic", lr=50.0, momentum=0.9, max_batches=30, threads=1, evaluate=False),
                runs_dir=tmp_path, dataset=tiny_data, tensorboard=False)  # fmt: skip
    t.run()
    kinds = {a.kind for a in H.read_alarms(t.run_dir)}
    assert "update_high" in kinds
    assert kinds & {"jump", "nonfinite", "spread"}


def test_a_healthy_run_raises_no_alarm_and_the_page_log_agrees(tmp_path: Path, tiny_data) -> None:
    t = Trainer(TrainConfig(dataset="synthetic", epochs=5, threads=1, evaluate=False),
                runs_dir=tmp_path, dataset=tiny_data, tensorboard=False)  # fmt: skip
    t.run()
    assert H.read_alarms(t.run_dir) == []
    log = H.HealthLog()
    for line in (t.run_dir / "metrics.jsonl").read_text().splitlines():
        log.add(json.loads(line))
    steps, names, z = log.matrix("update")
    assert steps.tolist() == list(range(1, 21)) and names[0] == "0.weight" and z.shape == (10, 20)
    assert log.fields() == ["grad", "weight", "update"] and log.alarms() == []


def test_a_long_run_follower_stays_bounded_and_keeps_its_spikes() -> None:
    log = H.HealthLog()
    n = 3 * H.MAX_ROWS + 17
    for step in range(1, n + 1):
        g = 1e4 if step == 5_000 else 1.0  # one spike in the middle of the run
        log.add({"kind": "batch", "step": step, "loss": 1.0, "layer_grad_norms": {"0.weight": g, "0.bias": 0.5}})
    steps, names, z = log.matrix("grad")
    assert steps.size <= H.MAX_ROWS and z.shape == (2, steps.size)
    assert names == ["0.weight", "0.bias"]
    assert steps[-1] == n and (np.diff(steps) > 0).all()  # the newest step is there, order kept
    assert z[0].max() == 1e4  # the spike survives the merging
    assert np.nanmin(z[1]) == 0.5 == np.nanmax(z[1])
    assert log.records_seen == n
    assert any(a.step == 5_000 for a in log.alarms())  # raised on the record itself, before any merge
