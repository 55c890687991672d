"""Hand derivations agree with torch to 1e-6, step by step."""

from __future__ import annotations

import re

import pytest
import torch

from lossviz.explore.example import Example
from lossviz.explore.explain import explain, explained_losses
from lossviz.explore.presets import list_presets
from lossviz.losses import get_loss, list_losses
from lossviz.losses.evaluate import evaluate

REQUIRED = ["CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "MSELoss", "L1Loss", "SmoothL1Loss",
            "HuberLoss", "KLDivLoss", "HingeEmbeddingLoss"]


def test_required_derivations_exist() -> None:
    assert set(REQUIRED) <= set(explained_losses())


def _f64(tensors: dict) -> dict:
    return {k: v.double() if v.is_floating_point() else v for k, v in tensors.items()}


PARAMS = {
    "CrossEntropyLoss": [{}, {"label_smoothing": 0.2}, {"weight": torch.tensor([1.0, 2, 3, 0.5, 1])},
                         {"weight": torch.tensor([1.0, 2, 3, 0.5, 1]), "label_smoothing": 0.3}, {"ignore_index": 2}],
    "NLLLoss": [{}, {"weight": torch.tensor([1.0, 2, 3, 0.5, 1]), "ignore_index": 2}],
    "BCELoss": [{}, {"weight": torch.tensor([1.0, 2.0, 0.5])}],
    "BCEWithLogitsLoss": [{}, {"pos_weight": torch.tensor([2.0, 1.0, 0.5])}, {"weight": torch.tensor([0.3, 1, 2])}],
    "SmoothL1Loss": [{}, {"beta": 0.5}, {"beta": 0.0}],
    "HuberLoss": [{}, {"delta": 0.3}],
    "KLDivLoss": [{}, {"log_target": True}],
    "HingeEmbeddingLoss": [{}, {"margin": 2.5}],
    "PoissonNLLLoss": [{}, {"full": True}],
    "GaussianNLLLoss": [{}, {"full": True}],
    "MultiMarginLoss": [{}, {"p": 2, "margin": 0.5}, {"weight": torch.tensor([1.0, 2, 3, 0.5, 1])}],
    "MarginRankingLoss": [{}, {"margin": 0.5}],
    "CosineEmbeddingLoss": [{}, {"margin": 0.2}],
    "sigmoid_focal_loss": [{}, {"alpha": -1.0, "gamma": 0.0}, {"alpha": 0.75, "gamma": 1.5}],
    "generalized_box_iou_loss": [{}, {"eps": 1e-3}],
    "distance_box_iou_loss": [{}, {"eps": 1e-3}],
    "complete_box_iou_loss": [{}, {"eps": 1e-3}],
}

CASES = [
    (n, r, i, seed)
    for n in explained_losses()
    for r in get_loss(n).reductions
    for i in range(len(PARAMS.get(n, [{}])))
    for seed in (0, 1)
]


@pytest.mark.parametrize(("name", "reduction", "pi", "seed"), CASES)
def test_derivation_equals_torch(name: str, reduction: str, pi: int, seed: int) -> None:
    spec = get_loss(name)
    tensors = _f64(spec.sample(torch.Generator().manual_seed(seed)))
    if name == "KLDivLoss" and PARAMS[name][pi].get("log_target"):
        tensors["target"] = torch.log(tensors["target"])
    if name == "HingeEmbeddingLoss" and seed == 1:
        tensors["target"][0] = 0.0  # the tutorial mistake: a 0 label gets both terms
    r = evaluate(name, tensors, reduction=reduction, params=PARAMS.get(name, [{}])[pi])
    d = explain(r)
    assert d is not None and len(d.steps) >= 2
    torch.testing.assert_close(d.result, r.output.double(), rtol=0, atol=1e-6)
    for step in d.steps:
        assert step.title and step.latex
        assert isinstance(step.value, torch.Tensor)
        assert not WORDS_IN_LATEX.search(step.latex), f"English inside a formula: {step.latex}"


WORDS_IN_LATEX = re.compile(r"\\(?:text|textrm|textit|mbox)\{")


@pytest.mark.parametrize("name", list_losses())
def test_formulas_carry_no_words(name: str) -> None:
    """A formula is read in both languages: conditions are maths, code names are \\texttt, never \\text{otherwise}."""
    assert not WORDS_IN_LATEX.search(get_loss(name).formula), get_loss(name).formula


@pytest.mark.parametrize("preset", [p.key for p in list_presets()], ids=str)
def test_preset_derivations_in_float32(preset: str) -> None:
    ex = Example.from_preset(next(p for p in list_presets() if p.key == preset))
    r = ex.evaluate()
    d = explain(r)
    assert d is not None
    torch.testing.assert_close(d.result.float(), r.output, rtol=1e-6, atol=1e-6)


def test_cross_entropy_steps_are_softmax_log_pick_mean() -> None:
    tensors = {"input": torch.tensor([[0.1, 0.2, 0.3]]), "target": torch.tensor([1])}
    d = explain(evaluate("CrossEntropyLoss", tensors))
    assert [s.title for s in d.steps] == ["softmax", "log", "pick the true class", "mean"]
    torch.testing.assert_close(d.steps[0].value.sum(), torch.tensor(1.0, dtype=torch.float64))


def test_every_catalog_loss_either_explains_or_says_so() -> None:
    for name in list_losses():
        spec = get_loss(name)
        r = evaluate(name, spec.sample(torch.Generator().manual_seed(0)))
        d = explain(r)
        assert (d is not None) == (name in explained_losses())
