"""Property-based tests (hypothesis) over the evaluation API.

For random shapes, dtypes, values, reductions, transforms and parameters - valid and invalid -
``lossviz.losses.evaluate.evaluate`` either raises ``LossvizInputError`` or returns exactly what torch
computes when called directly: a fresh ``torch.nn`` module, ``.backward()``, the leaf's ``.grad``.
Nothing else may escape. The same holds for ``evaluate_text`` on arbitrary text, and the text
format round-trips exactly.

Example counts are modest so the file runs in well under a minute.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from lossviz.errors import LossvizInputError
from lossviz.losses import LossSpec, ParamSpec, get_loss, list_losses
from lossviz.losses.evaluate import evaluate, evaluate_text
from lossviz.losses.parsing import format_tensor, parse_tensor

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

PAIR = {"L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss"}
BINARY = {"BCELoss", "BCEWithLogitsLoss", "MultiLabelSoftMarginLoss"}
PM_ONE = {"SoftMarginLoss", "HingeEmbeddingLoss"}
CLASS_INDEX = {"CrossEntropyLoss", "NLLLoss", "MultiMarginLoss"}


# --------------------------------------------------------------------------- strategies


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@st.composite
def shapes(draw: st.DrawFn, min_dims: int = 0, max_dims: int = 3) -> tuple[int, ...]:
    return tuple(draw(st.lists(st.integers(1, 4), min_size=min_dims, max_size=max_dims)))


@st.composite
def float_dtype(draw: st.DrawFn) -> torch.dtype:
    return draw(st.sampled_from([torch.float32, torch.float32, torch.float64]))


@st.composite
def tensors_for(draw: st.DrawFn, spec: LossSpec) -> tuple[dict[str, torch.Tensor], int]:
    """Random tensors for ``spec`` (mostly valid, sometimes not); also the number of classes C."""
    g = _gen(draw(st.integers(0, 2**16)))
    scale = draw(st.sampled_from([1e-3, 0.5, 1.0, 3.0, 30.0]))
    dtype = draw(float_dtype())
    name = spec.name
    n_classes = 3

    def maybe_other_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
        return draw(shapes()) if draw(st.integers(0, 9)) == 0 else shape  # 1 in 10: a mismatch

    if name in PAIR | BINARY | PM_ONE | {"PoissonNLLLoss", "KLDivLoss", "GaussianNLLLoss"}:
        lo = 1 if name == "MultiLabelSoftMarginLoss" else 0
        hi = 2 if name == "MultiLabelSoftMarginLoss" else 3
        shape = draw(shapes(lo, hi))
        n_classes = shape[-1] if shape else 1
        x = torch.randn(shape, generator=g, dtype=dtype) * scale
        tshape = maybe_other_shape(shape)
        if name in PAIR:
            y = torch.randn(tshape, generator=g, dtype=dtype) * scale
        elif name in BINARY:
            y = torch.randint(0, 2, tshape, generator=g)
            y = y if draw(st.booleans()) else y.to(dtype)  # "1, 0" parses as whole numbers
            if name == "BCELoss":
                x = torch.sigmoid(x)
                if draw(st.integers(0, 4)) == 0 and x.numel():
                    x.view(-1)[0] = draw(st.sampled_from([0.0, 1.0, 1.5, -0.25]))  # edges, then out of range
        elif name in PM_ONE:
            y = (torch.randint(0, 2, tshape, generator=g) * 2 - 1).to(dtype)
            if name == "HingeEmbeddingLoss":
                x = x.abs()
        elif name == "PoissonNLLLoss":
            y = torch.randint(0, 6, tshape, generator=g).to(dtype)
        elif name == "KLDivLoss":
            dim = -1 if shape else 0
            x = torch.log_softmax(x, dim=dim) if shape else x
            y = torch.softmax(torch.randn(tshape, generator=g, dtype=dtype), dim=-1) if tshape else torch.rand(
                tshape, generator=g, dtype=dtype)
        else:  # GaussianNLLLoss
            y = torch.randn(tshape, generator=g, dtype=dtype)
            vshape = shape if draw(st.booleans()) or not shape else shape[:-1]
            var = torch.rand(vshape, generator=g, dtype=dtype) + draw(st.sampled_from([0.0, 0.01, 1.0]))
            if draw(st.integers(0, 7)) == 0 and var.numel():
                var.view(-1)[0] = -0.5
            return {"input": x, "target": y, "var": var}, n_classes
        return {"input": x, "target": y}, n_classes

    if name in CLASS_INDEX:
        n = draw(st.integers(1, 4))
        c = draw(st.integers(1, 5))
        n_classes = c
        layout = draw(st.sampled_from(["unbatched", "batch", "spatial"] if name != "MultiMarginLoss"
                                      else ["unbatched", "batch"]))
        if layout == "unbatched":
            shape, tshape = (c,), ()
        elif layout == "batch":
            shape, tshape = (n, c), (n,)
        else:
            d = draw(st.integers(1, 3))
            shape, tshape = (n, c, d), (n, d)
        x = torch.randn(shape, generator=g, dtype=dtype) * scale
        if name == "NLLLoss":
            x = torch.log_softmax(x, dim=0 if len(shape) == 1 else 1)
        soft = name == "CrossEntropyLoss" and draw(st.integers(0, 3)) == 0
        if soft:
            y = torch.softmax(torch.randn(shape, generator=g, dtype=dtype), dim=0 if len(shape) == 1 else 1)
        else:
            y = torch.randint(0, c, maybe_other_shape(tshape), generator=g)
            if y.numel() and draw(st.integers(0, 5)) == 0:
                y.view(-1)[0] = draw(st.sampled_from([-100, -1, c, c + 3]))
        return {"input": x, "target": y}, n_classes

    # the rest: the loss's own sampler (fixed shapes), rescaled and retyped
    t = spec.sample(g)
    out = {}
    for slot in spec.slots:
        v = t[slot.name]
        if slot.role == "prediction":
            v = (v * scale).to(dtype) if name != "CTCLoss" else v.to(dtype)
        out[slot.name] = v
    if name == "CTCLoss":
        n_classes = out["log_probs"].shape[-1]
    elif name == "MultiLabelMarginLoss":
        n_classes = out["input"].shape[-1]
    return out, n_classes


def _valid_number(p: ParamSpec) -> st.SearchStrategy[float]:
    lo = -3.0 if p.low is None else p.low
    hi = 3.0 if p.high is None else p.high
    return st.floats(lo, hi, allow_nan=False, exclude_min=p.low_open, exclude_max=p.high_open).filter(
        lambda v: not (p.low_open and v <= (p.low or 0) + 1e-6))


@st.composite
def params_for(draw: st.DrawFn, spec: LossSpec, n_classes: int) -> dict[str, Any]:
    """Some of the loss's parameters: mostly valid values, sometimes out of range or of the wrong kind."""
    out: dict[str, Any] = {}
    for p in spec.params:
        if not draw(st.booleans()):
            continue
        bad = draw(st.integers(0, 7)) == 0
        if p.kind == "float":
            if bad:
                out[p.name] = draw(st.sampled_from([math.nan, math.inf, "abc",
                                                    (p.low - 1.0) if p.low is not None else "x",
                                                    (p.high + 1.0) if p.high is not None else "y"]))
            else:
                v = draw(_valid_number(p))
                out[p.name] = max(v, 1e-3) if p.name in ("p", "eps", "delta") else v
        elif p.kind == "int":
            if p.name == "blank":
                out[p.name] = draw(st.integers(-1, n_classes))
            else:
                out[p.name] = draw(st.sampled_from([-100, 0, 1, 2, 1.5] if bad else [-100, 0, 1, 2]))
        elif p.kind == "bool":
            out[p.name] = draw(st.sampled_from(["maybe", 2])) if bad else draw(st.booleans())
        elif p.kind == "choice":
            out[p.name] = draw(st.sampled_from([*p.choices, 3, "two"] if bad else list(p.choices)))
        else:  # tensor
            length = draw(st.integers(1, 6)) if bad else n_classes
            values = draw(st.lists(st.floats(0.0, 3.0) if not bad else st.floats(-2.0, 3.0),
                                   min_size=length, max_size=length))
            out[p.name] = torch.tensor(values) if draw(st.booleans()) else ", ".join(map(str, values))
    return out


# --------------------------------------------------------------------------- reference


_TRANSFORM = {
    "sigmoid": lambda x, dim: torch.sigmoid(x),
    "softmax": lambda x, dim: torch.softmax(x, dim=dim),
    "log_softmax": lambda x, dim: torch.log_softmax(x, dim=dim),
}


def _torch_kwargs(spec: LossSpec, params: dict[str, Any], dtype: torch.dtype) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for p in spec.params:
        if p.name not in params:
            continue
        v = params[p.name]
        if p.kind == "tensor":
            v = parse_tensor(v) if isinstance(v, str) else v
            kwargs[p.name] = v.to(dtype).reshape(-1) if v.dim() == 0 else v.to(dtype)
        elif p.kind == "float":
            kwargs[p.name] = float(v)
        elif p.kind == "int":
            kwargs[p.name] = int(v)
        elif p.kind == "choice":
            kwargs[p.name] = int(v)
        else:
            kwargs[p.name] = bool(v)
    return kwargs


def check_against_torch(spec: LossSpec, tensors: dict[str, torch.Tensor], params: dict[str, Any],
                        reduction: str, transform: str) -> None:
    """evaluate() raises LossvizInputError, or agrees with torch called directly."""
    try:
        r = evaluate(spec, tensors, reduction=reduction, params=params, transform=transform)
    except LossvizInputError as exc:
        assert str(exc).strip(), "an empty error message"
        event("input error")
        return
    event("compared with torch")
    first = spec.predictions[0].name
    args: list[torch.Tensor] = []
    leaves: dict[str, torch.Tensor] = {}
    for slot in spec.slots:
        given = tensors[slot.name]
        seen = r.inputs[slot.name]
        if slot.differentiable:
            leaf = given.detach().to(r.raw[slot.name].dtype).clone().requires_grad_(True)
            leaves[slot.name] = leaf
            x = leaf
            if slot.name == first and transform != "none":
                dim = -1 if spec.name == "CTCLoss" else (1 if leaf.dim() >= 2 else 0)
                x = _TRANSFORM[transform](leaf, dim)
            else:  # lossviz passed the number on unchanged
                assert torch.equal(seen.detach().reshape(-1).double(), given.reshape(-1).double()), slot.name
            args.append(x.reshape(seen.shape))
        else:
            assert torch.equal(seen.reshape(-1).double(), given.reshape(-1).double()), slot.name
            args.append(given.detach().to(seen.dtype).reshape(seen.shape))
    dtype = leaves[first].dtype
    kwargs = _torch_kwargs(spec, params, dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own broadcast / batchmean warnings; lossviz reports them
        out = spec.cls(reduction=reduction, **kwargs)(*args)
        per = spec.cls(reduction="none", **kwargs)(*[a.detach() for a in args])
    if out.requires_grad:
        out.backward(torch.ones_like(out) if out.dim() else None)
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-10, "atol": 1e-12}
    torch.testing.assert_close(r.output, out.detach(), equal_nan=True, check_dtype=False, **tol)
    torch.testing.assert_close(r.per_element, per, equal_nan=True, check_dtype=False, **tol)
    for slot, leaf in leaves.items():
        want = leaf.grad if leaf.grad is not None else torch.zeros_like(leaf)
        torch.testing.assert_close(r.grads[slot], want, equal_nan=True, check_dtype=False,
                                   rtol=1e-4 if dtype == torch.float32 else 1e-9,
                                   atol=1e-5 if dtype == torch.float32 else 1e-11)


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("name", list_losses())
@SETTINGS
@given(data=st.data())
def test_evaluate_equals_torch_or_input_error(name: str, data: st.DataObject) -> None:
    spec = get_loss(name)
    tensors, n_classes = data.draw(tensors_for(spec), label="tensors")
    params = data.draw(params_for(spec, n_classes), label="params")
    reduction = data.draw(st.sampled_from(spec.reductions), label="reduction")
    transform = data.draw(st.sampled_from(("none", *spec.transforms)), label="transform")
    check_against_torch(spec, tensors, params, reduction, transform)


@pytest.mark.parametrize("name", ["MSELoss", "CrossEntropyLoss", "BCELoss", "GaussianNLLLoss", "CTCLoss"])
@SETTINGS
@given(data=st.data())
def test_odd_dtypes_and_names_never_escape(name: str, data: st.DataObject) -> None:
    """Integer, bool and float16 tensors, an unknown reduction or transform: a result or LossvizInputError."""
    spec = get_loss(name)
    tensors, _ = data.draw(tensors_for(spec), label="tensors")
    slot = data.draw(st.sampled_from([s.name for s in spec.slots]), label="slot")
    dtype = data.draw(st.sampled_from([torch.int64, torch.int32, torch.bool, torch.float16, torch.float64]))
    tensors[slot] = tensors[slot].to(dtype)
    reduction = data.draw(st.sampled_from([*spec.reductions, "batchmean", "avg", ""]))
    transform = data.draw(st.sampled_from(["none", "sigmoid", "softmax", "log_softmax", "relu"]))
    try:
        evaluate(spec, tensors, reduction=reduction or None, params={}, transform=transform)
    except LossvizInputError:
        pass


TEXT_ALPHABET = "0123456789.,;-+eE [](){}\n\tnaifxyNAIF_#'\"é"


@settings(max_examples=150, deadline=None)
@given(a=st.text(TEXT_ALPHABET, max_size=40), b=st.text(TEXT_ALPHABET, max_size=40),
       name=st.sampled_from(list_losses()))
def test_evaluate_text_on_any_text(a: str, b: str, name: str) -> None:
    """Whatever a student types into the first two boxes: a result or one LossvizInputError."""
    spec = get_loss(name)
    texts = {s.name: (a if i == 0 else b) for i, s in enumerate(spec.slots)}
    try:
        r = evaluate_text(name, texts)
    except LossvizInputError as exc:
        assert "Traceback" not in str(exc)
        return
    assert r.output.numel() >= 0


@settings(max_examples=60, deadline=None)
@given(shape=shapes(0, 3), seed=st.integers(0, 2**16), scale=st.sampled_from([1e-30, 1e-3, 1.0, 1e6, 1e30]),
       whole=st.booleans())
def test_text_round_trip(shape: tuple[int, ...], seed: int, scale: float, whole: bool) -> None:
    """format_tensor writes text that parse_tensor reads back to the very same tensor."""
    g = _gen(seed)
    t = torch.randint(-5, 50, shape, generator=g) if whole else torch.randn(shape, generator=g) * scale
    assume(t.numel() > 0)
    back = parse_tensor(format_tensor(t))
    assert back.dtype == t.dtype and back.shape == t.shape
    assert torch.equal(back, t)
