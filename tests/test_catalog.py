"""The catalog covers every torch.nn loss that takes tensors, and says the truth about each."""

from __future__ import annotations

import importlib
import inspect

import pytest
import torch
from torch import nn

from lossviz.errors import LossvizInputError
from lossviz.losses import evaluate, get_loss, list_losses

REQUIRED = [
    "L1Loss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss",
    "HingeEmbeddingLoss", "SmoothL1Loss", "HuberLoss", "SoftMarginLoss", "MultiLabelSoftMarginLoss",
    "MultiMarginLoss", "MultiLabelMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss", "MarginRankingLoss",
    "CosineEmbeddingLoss", "TripletMarginLoss", "CTCLoss",
]


def test_every_required_loss_is_registered() -> None:
    assert set(REQUIRED) <= set(list_losses())


def test_no_torch_loss_is_missing() -> None:
    """Every nn.*Loss whose forward takes only tensors is in the catalog."""
    # these take a callable or own learnable layers (a Linear inside), so they are not losses of tensors alone
    takes_callable = {"TripletMarginWithDistanceLoss", "AdaptiveLogSoftmaxWithLoss", "LinearCrossEntropyLoss"}
    torch_losses = {
        n for n in dir(nn)
        if n.endswith("Loss") and isinstance(getattr(nn, n), type) and issubclass(getattr(nn, n), nn.Module)
        and not n.startswith("_")
    }
    # NLLLoss2d is a deprecated alias of NLLLoss
    missing = torch_losses - set(list_losses()) - takes_callable - {"NLLLoss2d"}
    assert not missing


@pytest.mark.parametrize("name", list_losses())
def test_spec_matches_torch(name: str) -> None:
    spec = get_loss(name)
    if spec.function:  # a torchvision function: its own signature (tensors first, then keyword arguments)
        module, _, fname = spec.function.rpartition(".")
        fn = getattr(importlib.import_module(module), fname)
        assert fname == name and spec.cls.fn is fn
        sig = inspect.signature(fn)
        assert sig.parameters["reduction"].default == spec.default_reduction
        tensors = [n for n, q in sig.parameters.items() if q.default is inspect.Parameter.empty]
        assert [s.name for s in spec.slots] == tensors
        for p in spec.params:
            assert p.default == sig.parameters[p.name].default, f"{name}.{p.name}"
        assert set(sig.parameters) - set(tensors) - {"reduction"} == {p.name for p in spec.params}
        assert spec.formula and spec.advice and spec.title
        return
    assert spec.cls is getattr(nn, name)
    sig = inspect.signature(spec.cls.__init__)
    for p in spec.params:
        assert p.name in sig.parameters, f"{name} has no constructor parameter {p.name}"
        torch_default = sig.parameters[p.name].default
        if p.objects:  # a choice of Python objects (a distance function): torch's default None is the first
            assert torch_default is None and p.default == p.choices[0], f"{name}.{p.name}"
            continue
        assert p.default == torch_default, f"{name}.{p.name}: default {p.default!r} != torch {torch_default!r}"
    # every real constructor parameter except the legacy ones is described
    legacy = {"self", "size_average", "reduce", "reduction"}
    described = {p.name for p in spec.params}
    assert set(sig.parameters) - legacy - described == set()
    fwd = inspect.signature(spec.cls.forward)
    torch_args = [n for n in fwd.parameters if n != "self"]
    # PoissonNLLLoss calls its first argument log_input; lossviz keeps "input" (log_input is also a parameter)
    torch_args = ["input" if n == "log_input" else n for n in torch_args]
    assert [s.name for s in spec.slots] == torch_args
    assert spec.formula and spec.advice and spec.title
    assert spec.default_reduction in spec.reductions
    assert ("batchmean" in spec.reductions) == (name == "KLDivLoss")


@pytest.mark.parametrize("name", list_losses())
def test_parameter_ranges_agree_with_torch(name: str) -> None:
    """A value the spec refuses, torch refuses too (where torch checks it) — and defaults are accepted."""
    spec = get_loss(name)
    for p in spec.params:
        assert p.coerce(p.default, name) == p.default or p.kind == "tensor"


def test_lookup_is_forgiving_but_exact_about_unknowns() -> None:
    assert get_loss("crossentropy").name == "CrossEntropyLoss"
    assert get_loss("nn.MSELoss").name == "MSELoss"
    with pytest.raises(LossvizInputError, match="unknown loss"):
        get_loss("SquaredHingeLoss")


@pytest.mark.parametrize(
    ("name", "param", "bad", "torch_refuses"),
    [
        ("CrossEntropyLoss", "label_smoothing", 1.5, True),
        ("CrossEntropyLoss", "label_smoothing", -0.1, False),
        ("HuberLoss", "delta", 0.0, True),
        ("SmoothL1Loss", "beta", -1.0, True),
        ("TripletMarginLoss", "margin", 0.0, True),
        ("TripletMarginWithDistanceLoss", "margin", 0.0, True),
        ("MultiMarginLoss", "p", 3, True),
        ("CosineEmbeddingLoss", "margin", 1.5, False),
        ("PoissonNLLLoss", "eps", 0.0, False),
        ("GaussianNLLLoss", "eps", -1.0, False),
        ("TripletMarginLoss", "p", 0.5, False),
    ],
)
def test_param_ranges_are_torchs(name: str, param: str, bad: float, torch_refuses: bool) -> None:
    """lossviz refuses a parameter value exactly when torch does (odd values torch takes are warned about)."""
    spec = get_loss(name)
    g = torch.Generator().manual_seed(0)
    t = spec.sample(g)
    if torch_refuses:
        with pytest.raises(LossvizInputError, match=param):
            spec.param(param).coerce(bad, name)
        with pytest.raises((ValueError, RuntimeError)):
            spec.cls(**{param: bad})(*[t[s.name] for s in spec.slots])
    else:
        assert spec.param(param).coerce(bad, name) == bad
        spec.cls(**{param: bad})(*[t[s.name] for s in spec.slots])  # torch computes
        extra = {"log_input": False} if name == "PoissonNLLLoss" else {}  # eps only matters without log_input
        t = {k: (v.abs() if extra and k == "input" else v) for k, v in t.items()}
        r = evaluate(name, t, params={param: bad, **extra})
        assert r.warnings, f"{name} {param}={bad}: no warning for an odd value"
