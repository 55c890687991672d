"""Every loss's defaults are torch's: the default reduction and each parameter's default come from the
constructor signature of the ``nn`` module (or the torchvision function), read with ``inspect.signature``.

A student who copies the snippet, or calls ``nn.KLDivLoss()`` on the same numbers, must see the number
lossviz shows when they change nothing (issue 19: KLDivLoss used 'batchmean' where torch uses 'mean').
"""

from __future__ import annotations

import importlib
import inspect
import warnings

import pytest
import torch

from lossviz.losses import evaluate, get_loss, list_losses


def _signature(name: str) -> inspect.Signature:
    spec = get_loss(name)
    if spec.function:
        module, _, fn = spec.function.rpartition(".")
        return inspect.signature(getattr(importlib.import_module(module), fn))
    return inspect.signature(spec.cls.__init__)


@pytest.mark.parametrize("name", list_losses())
def test_default_reduction_is_torchs(name: str) -> None:
    torch_default = _signature(name).parameters["reduction"].default
    assert get_loss(name).default_reduction == torch_default, (name, torch_default)


@pytest.mark.parametrize("name", list_losses())
def test_parameter_defaults_are_torchs(name: str) -> None:
    spec = get_loss(name)
    sig = _signature(name).parameters
    for p in spec.params:
        assert p.name in sig, f"{name}: torch has no parameter {p.name}"
        torch_default = sig[p.name].default
        ours = p.objects.get(p.default, p.default) if p.objects else p.default
        if torch_default is None and ours is not None:
            # torch's None means "torch picks" (TripletMarginWithDistanceLoss: PairwiseDistance): the object
            # lossviz passes must compute exactly what torch computes when it is left out
            t = spec.sample(torch.Generator().manual_seed(0))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                given = spec.build(spec.default_reduction, {p.name: p.default})(*[t[s.name] for s in spec.slots])
                left_out = spec.cls(reduction=spec.default_reduction)(*[t[s.name] for s in spec.slots])
            torch.testing.assert_close(given, left_out)
        else:
            assert ours == torch_default, f"{name}.{p.name}: lossviz {p.default!r}, torch {torch_default!r}"


@pytest.mark.parametrize("name", list_losses())
def test_no_reduction_given_is_the_bare_torch_module(name: str) -> None:
    """``evaluate`` without a reduction equals ``nn.X()(...)`` (or the function without keywords)."""
    spec = get_loss(name)
    t = spec.sample(torch.Generator().manual_seed(1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = evaluate(name, t)
        args = [t[s.name] if not s.differentiable else t[s.name].float() for s in spec.slots]
        if spec.function:  # torchvision's function itself, no keyword given
            module, _, fn = spec.function.rpartition(".")
            want = getattr(importlib.import_module(module), fn)(*args)
        else:
            want = spec.cls()(*args)
    torch.testing.assert_close(r.output, want.detach(), rtol=1e-5, atol=1e-6)


def test_kldiv_default_is_mean_and_batchmean_advice_stays_a_warning() -> None:
    x = torch.log_softmax(torch.tensor([[0.2, 1.1, 0.4], [1.0, 0.1, 0.6]]), dim=1)
    y = torch.tensor([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    r = evaluate("KLDivLoss", {"input": x, "target": y})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torch.nn.KLDivLoss()(x, y)
    assert r.reduction == "mean" and r.value == pytest.approx(float(want), rel=1e-6)
    assert any("batchmean" in w for w in r.warnings), r.warnings


# --------------------------------------------------------------------------- issue 20, D15: plain messages


def test_bool_and_complex_weights_are_refused_plainly_without_a_torch_warning() -> None:
    from lossviz.errors import LossvizInputError

    x, y = torch.tensor([[0.1, 0.2, 0.3]]), torch.tensor([1])
    for weight, word in [(torch.tensor([True, False, True]), "true/false"),
                         (torch.tensor([1 + 1j, 1, 1]), "complex")]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(LossvizInputError, match=word):
                evaluate("CrossEntropyLoss", {"input": x, "target": y}, params={"weight": weight})
        assert not caught, [str(w.message) for w in caught]
    with pytest.raises(LossvizInputError, match="complex"):
        evaluate("MSELoss", {"input": torch.tensor([1 + 1j]), "target": torch.tensor([1.0])})


def test_a_huge_reshape_says_why(capsys: pytest.CaptureFixture[str]) -> None:
    from lossviz.cli.main import main

    assert main(["eval", "--loss", "MSELoss", "--input", "1, 2, 3", "--target", "1., 2, 3",
                 "--input-shape", "(10000000,)"]) == 2
    err = capsys.readouterr().err
    assert "cannot reshape 3 numbers to (10000000,)" in err and "not a valid size" not in err, err
