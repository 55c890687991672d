"""The trainer on the synthetic set: records, gradient norms, controls, divergence, the job manager."""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch

from lossviz.errors import LossvizInputError
from lossviz.training.data import make_synthetic
from lossviz.training.jobs import stop_all_managers
from lossviz.training.model import build_model
from lossviz.training.runs import load_model_state, read_json, read_metrics
from lossviz.training.trainer import (
    CLASSIFICATION_LOSSES,
    TrainConfig,
    Trainer,
    chance_loss,
    recommended_threads,
)

BATCH_FIELDS = {
    "step",
    "epoch",
    "loss",
    "grad_norm",
    "layer_grad_norms",
    "lr",
    "batch_accuracy",
    "images_per_s",
    "time",
}
LAYERS = [f"{i}.{k}" for i in (0, 2, 4, 7, 8) for k in ("weight", "bias")]


@pytest.fixture(autouse=True)
def one_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """One torch thread keeps these small runs steady on a busy 2-core machine; and every trainer a
    test started is stopped afterwards, so a failed assertion never leaves a run eating the CPU of
    the tests that follow."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    started: list[Trainer] = []
    original = Trainer.start

    def tracked_start(self: Trainer) -> Trainer:
        started.append(self)
        return original(self)

    monkeypatch.setattr(Trainer, "start", tracked_start)
    yield
    for trainer in started:
        trainer.stop()
        trainer.resume()
    for trainer in started:
        trainer.join(60)
    stop_all_managers(10)
    torch.set_num_threads(before)


def tiny(**overrides: object) -> TrainConfig:
    base = dict(dataset="synthetic", synthetic_train=256, synthetic_test=64, batch_size=16, epochs=1)
    base.update(overrides)
    return TrainConfig(**base)  # type: ignore[arg-type]


def wait_until(cond: Callable[[], bool], what: str, limit_s: float = 60.0) -> None:
    """Poll ``cond`` (a generous limit only guards against a hang; nothing here is timed)."""
    end = time.monotonic() + limit_s
    while not cond():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def test_every_record_has_every_field_and_is_finite(tmp_path: Path) -> None:
    trainer = Trainer(tiny(max_batches=4), runs_dir=tmp_path)
    assert trainer.run() == "finished"
    records = read_metrics(trainer.run_dir)
    batches = [r for r in records if r["kind"] == "batch"]
    evals = [r for r in records if r["kind"] == "eval"]
    assert [r["step"] for r in batches] == [1, 2, 3, 4]
    for rec in batches:
        assert BATCH_FIELDS <= rec.keys()
        for key in BATCH_FIELDS - {"layer_grad_norms"}:
            assert isinstance(rec[key], int | float) and math.isfinite(rec[key]), key
        assert list(rec["layer_grad_norms"]) == LAYERS
        assert all(math.isfinite(v) and v >= 0 for v in rec["layer_grad_norms"].values())
        assert 0 <= rec["batch_accuracy"] <= 1 and rec["lr"] == 0.01 and rec["images_per_s"] > 0
    assert len(evals) == 1  # a --max-batches run ends with one evaluation
    assert 0 <= evals[0]["test_accuracy"] <= 1 and math.isfinite(evals[0]["test_loss"])
    # the in-memory log holds the same points as the file
    snap = trainer.log.snapshot()
    assert snap.batch["loss"].tolist() == [r["loss"] for r in batches]
    assert snap.layers["4.weight"].tolist() == [r["layer_grad_norms"]["4.weight"] for r in batches]


def test_grad_norm_matches_the_parameters_grad(tmp_path: Path) -> None:
    """After one batch the .grad tensors are still those of that batch (the next zero_grad never came)."""
    trainer = Trainer(tiny(max_batches=1, evaluate=False), runs_dir=tmp_path)
    trainer.run()
    rec = trainer.last_record
    grads = {name: p.grad for name, p in trainer.model.named_parameters()}
    independent = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads.values()))
    assert rec["grad_norm"] == pytest.approx(independent, rel=1e-5)
    for name, g in grads.items():
        assert rec["layer_grad_norms"][name] == pytest.approx(float(g.double().norm()), rel=1e-5)


def test_first_loss_matches_torch_directly(tmp_path: Path) -> None:
    """Same seed, same first batch, same network: the recorded loss is what plain PyTorch gives."""
    cfg = tiny(max_batches=1, evaluate=False, seed=7)
    trainer = Trainer(cfg, runs_dir=tmp_path)
    trainer.run()
    data = make_synthetic(7, 256, 64)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(7)
        model = build_model()
    perm = torch.randperm(256, generator=torch.Generator().manual_seed(7))
    x, y = data.train.batch(perm[:16])
    expected = torch.nn.CrossEntropyLoss()(model(x), y).item()
    assert trainer.last_record["loss"] == pytest.approx(expected, rel=1e-6)


def test_runs_are_reproducible_from_the_seed(tmp_path: Path) -> None:
    a = Trainer(tiny(max_batches=3, evaluate=False, seed=5), runs_dir=tmp_path)
    b = Trainer(tiny(max_batches=3, evaluate=False, seed=5), runs_dir=tmp_path)
    a.run()
    b.run()
    assert a.log.snapshot().batch["loss"].tolist() == b.log.snapshot().batch["loss"].tolist()
    assert a.run_name != b.run_name


def test_epochs_end_with_an_eval_record_and_a_saved_model(tmp_path: Path) -> None:
    trainer = Trainer(tiny(synthetic_train=64, batch_size=32, epochs=2), runs_dir=tmp_path)
    assert trainer.total_steps == 4
    trainer.run()
    records = read_metrics(trainer.run_dir)
    assert [r["kind"] for r in records] == ["batch", "batch", "eval", "batch", "batch", "eval"]
    assert [r["epoch"] for r in records if r["kind"] == "eval"] == [1, 2]
    summary = read_json(trainer.run_dir / "summary.json")
    assert summary["status"] == "finished" and summary["epochs_done"] == 2 and summary["model_saved"]
    state = load_model_state(tmp_path, trainer.run_name)
    model = build_model()
    model.load_state_dict(state)  # loads back into the tutorial's network
    for name, p in trainer.model.state_dict().items():
        assert torch.equal(state[name], p)


@pytest.mark.parametrize("loss", list(CLASSIFICATION_LOSSES))
def test_each_classification_loss_trains(tmp_path: Path, loss: str) -> None:
    smoothing = 0.1 if loss == "CrossEntropyLoss" else 0.0
    trainer = Trainer(
        tiny(loss=loss, label_smoothing=smoothing, max_batches=2, optimizer="adam", lr=1e-3),
        runs_dir=tmp_path,
    )
    assert trainer.run() == "finished"
    assert all(math.isfinite(v) for v in trainer.log.snapshot().batch["loss"])
    assert read_json(trainer.run_dir / "config.json")["loss"] == loss


def test_stop_is_honoured_within_one_batch(tmp_path: Path) -> None:
    trainer = Trainer(tiny(epochs=50), runs_dir=tmp_path).start()
    wait_until(lambda: trainer.step >= 2, "two batches")
    trainer.stop()
    step_at_stop = trainer.step
    assert trainer.join(60)
    assert trainer.status == "stopped"
    assert trainer.step <= step_at_stop + 1  # at most the batch in flight
    summary = read_json(trainer.run_dir / "summary.json")
    assert summary["status"] == "stopped" and summary["steps"] == trainer.step
    assert (trainer.run_dir / "model.safetensors").is_file()


def test_an_ending_status_is_shown_only_once_the_summary_says_so(tmp_path: Path) -> None:
    """Whoever sees stopped/finished on the trainer finds summary.json agreeing (the page trusts both)."""
    for ending, config in (("stopped", tiny(epochs=50)), ("finished", tiny(max_batches=3))):
        trainer = Trainer(config, runs_dir=tmp_path).start()
        wait_until(lambda t=trainer: t.step >= 1, "the first batch")
        if ending == "stopped":
            trainer.stop()
        wait_until(lambda t=trainer: t.status not in ("running", "paused"), "the end")
        assert trainer.status == ending
        assert read_json(trainer.run_dir / "summary.json")["status"] == ending
        assert trainer.join(60)


def test_pause_holds_the_step_and_resume_continues(tmp_path: Path) -> None:
    trainer = Trainer(tiny(epochs=50), runs_dir=tmp_path).start()
    wait_until(lambda: trainer.step >= 1, "the first batch")
    trainer.pause()
    wait_until(lambda: trainer.status == "paused", "the pause to take effect")
    held = trainer.step
    assert read_json(trainer.run_dir / "summary.json")["status"] == "paused"
    time.sleep(0.3)
    assert trainer.step == held and not trainer.join(0)
    trainer.resume()
    wait_until(lambda: trainer.step >= held + 2, "training to continue")
    assert trainer.status == "running"
    trainer.stop()
    assert trainer.join(60) and trainer.status == "stopped"


def test_stop_while_paused(tmp_path: Path) -> None:
    trainer = Trainer(tiny(epochs=50), runs_dir=tmp_path).start()
    wait_until(lambda: trainer.step >= 1, "the first batch")
    trainer.pause()
    wait_until(lambda: trainer.status == "paused", "the pause")
    held = trainer.step
    trainer.stop()
    assert trainer.join(60) and trainer.status == "stopped" and trainer.step == held


def test_huge_learning_rate_diverges_and_says_what_to_try(tmp_path: Path) -> None:
    trainer = Trainer(tiny(lr=1e5, epochs=5), runs_dir=tmp_path)
    assert trainer.run() == "diverged"
    assert "learning rate" in trainer.message and "lr=" in trainer.message
    summary = read_json(trainer.run_dir / "summary.json")
    assert summary["status"] == "diverged" and "Try" in summary["message"]
    last = read_metrics(trainer.run_dir)[-1]
    assert last["kind"] == "batch" and (last["loss"] is None or last["grad_norm"] is None)
    assert trainer.step < trainer.total_steps


def test_on_record_gets_every_record(tmp_path: Path) -> None:
    kinds: list[str] = []
    trainer = Trainer(tiny(max_batches=3), runs_dir=tmp_path, on_record=lambda r: kinds.append(r["kind"]))
    assert trainer.run() == "finished"
    assert kinds == ["batch", "batch", "batch", "eval"]


def test_unsaved_trainer_writes_nothing(tmp_path: Path) -> None:
    trainer = Trainer(tiny(max_batches=2, evaluate=False), write_run=False)
    assert trainer.run() == "finished" and trainer.run_dir is None and len(trainer.log) == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"optimizer": "rmsprop"}, "sgd or adam"),
        ({"lr": 0.0}, "lr"),
        ({"lr": float("nan")}, "lr"),
        ({"batch_size": 0}, "batch_size"),
        ({"epochs": 1.5}, "epochs"),
        ({"loss": "MSELoss"}, "10-class"),
        ({"loss": "NLLLoss", "label_smoothing": 0.1}, "label_smoothing"),
        ({"momentum": 2.0}, "momentum"),
        ({"device": "tpu"}, "unknown"),
        ({"dataset": "mnist"}, "unknown"),
        ({"max_batches": 0}, "max_batches"),
    ],
)
def test_bad_settings_are_plain_errors(tmp_path: Path, overrides: dict, message: str) -> None:
    with pytest.raises(LossvizInputError, match=message):
        Trainer(tiny(**overrides), runs_dir=tmp_path)
    assert not any(tmp_path.iterdir())  # nothing half-created


def test_config_round_trips_through_config_json(tmp_path: Path) -> None:
    cfg = tiny(max_batches=1, evaluate=False, relu=True, optimizer="Adam", lr=0.002)
    trainer = Trainer(cfg, runs_dir=tmp_path)
    saved = json.loads((trainer.run_dir / "config.json").read_text())
    assert (
        saved["dataset"] == "synthetic"
        and saved["dataset_label"] == "synthetic"
        and saved["synthetic"] is True
    )
    assert saved["optimizer"] == "adam" and saved["relu"] is True
    assert TrainConfig.from_dict(saved) == trainer.config
    trainer.run()


def test_chance_loss_and_thread_advice() -> None:
    assert chance_loss("CrossEntropyLoss") == pytest.approx(math.log(10))
    assert chance_loss("NLLLoss") == pytest.approx(2.302585, rel=1e-6)
    assert chance_loss("MultiMarginLoss", margin=2.0) == pytest.approx(1.8)
    # a network that outputs equal scores really gets that loss
    scores, target = torch.zeros(4, 10), torch.tensor([0, 3, 5, 9])
    assert torch.nn.MultiMarginLoss(margin=2.0)(scores, target).item() == pytest.approx(1.8)
    assert torch.nn.CrossEntropyLoss(label_smoothing=0.3)(scores, target).item() == pytest.approx(
        math.log(10)
    )
    assert 1 <= recommended_threads() <= max(1, os.cpu_count() or 1)


def test_training_losses_are_catalog_losses() -> None:
    """The training page's losses are the catalog's own torch.nn classes, not a separate list."""
    from lossviz.losses import get_loss

    for name in CLASSIFICATION_LOSSES:
        assert get_loss(name).task == "classification"
