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
from lossviz.i18n import Message, render
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
    "log": lambda x, dim: torch.log(x),
}


def _torch_kwargs(spec: LossSpec, params: dict[str, Any], dtype: torch.dtype) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for p in spec.params:
        if p.name not in params:
            continue
        v = params[p.name]
        if p.kind == "tensor":
            v = parse_tensor(v) if isinstance(v, str) else v
            kwargs[p.name] = v.to(dtype)  # a single number stays 0-d: torch's broadcasting decides
        elif p.kind == "float":
            kwargs[p.name] = float(v)
        elif p.kind == "int":
            kwargs[p.name] = int(v)
        elif p.kind == "choice":
            kwargs[p.name] = p.objects[v] if p.objects else int(v)
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


# --------------------------------------------------------------------------- whole classes of text (issue 11, 9)
#
# Not the cases that once escaped, but the classes they came from: any whole number however long, any
# digit of any script, any full-width punctuation, any value of any parameter, any value of any query key.

#: Digits that are not ASCII 0-9 (Unicode category Nd): Arabic-Indic, Devanagari, full-width, Bengali...
FOREIGN_DIGITS = st.characters(categories=["Nd"]).filter(lambda c: not "0" <= c <= "9")
#: What a Chinese input method types instead of the ASCII punctuation, and the ASCII twins.
FULL_WIDTH = {",": "\uff0c", "[": "\uff3b", "]": "\uff3d", "(": "\uff08", ")": "\uff09", "-": "\u2212",
              ".": "\uff0e", " ": "\u3000", ";": "\uff1b"}
NASTY = st.one_of(
    st.text(TEXT_ALPHABET + "\uff0c\uff3b\uff3d\uff08\uff09\uff0d\u0661\uff11\u0967_", max_size=30),
    st.text(max_size=12),  # any Unicode at all
    st.builds(lambda sign, digits: sign + digits, st.sampled_from(["", "-", "+"]),
              st.text("0123456789", min_size=1, max_size=5000)),
    st.sampled_from(["1e300", "-1e300", "9" * 4301, str(2**63), str(-(2**63)), str(-(2**63) - 1), "1_0",
                     "\u0661\u0662\u0663", "\uff11\uff12", "inf", "nan", "-0", "1e-400", "0x10", "1j"]),
)


@settings(max_examples=200, deadline=None)
@given(sign=st.sampled_from(["", "-", "+"]), zeros=st.integers(0, 3),
       digits=st.one_of(st.text("0123456789", min_size=1, max_size=25),
                        st.text("0123456789", min_size=4290, max_size=5000)))
def test_any_integer_text(sign: str, zeros: int, digits: str) -> None:
    """Any whole number, however long: read exactly when it fits int64, refused as too large otherwise."""
    text = sign + "0" * zeros + digits
    significant = digits.lstrip("0")
    if len(significant) <= 19 and -(2**63) <= int(sign + (significant or "0")) <= 2**63 - 1:
        t = parse_tensor(text)
        assert t.dtype == torch.int64 and int(t) == int(sign + (significant or "0"))
    else:
        with pytest.raises(LossvizInputError, match="too large"):
            parse_tensor(text)
        with pytest.raises(LossvizInputError, match="64 bits"):
            get_loss("NLLLoss").param("ignore_index").coerce(text, "NLLLoss")


@settings(max_examples=150, deadline=None)
@given(before=st.text("0123456789., -[]", max_size=10), digit=FOREIGN_DIGITS,
       after=st.text("0123456789., -[]", max_size=10))
def test_a_digit_of_another_script_is_never_read(before: str, digit: str, after: str) -> None:
    """Any text holding a digit other than 0-9 is refused in words, wherever the digit sits."""
    from lossviz.losses.parsing import parse_number

    text = before + digit + after
    with pytest.raises(LossvizInputError):
        parse_tensor(text)
    with pytest.raises(LossvizInputError, match="digits that are not 0-9|not a number|must be a number"):
        parse_number(text)
    with pytest.raises(LossvizInputError, match="digits that are not 0-9"):
        parse_tensor(digit)


@settings(max_examples=80, deadline=None)
@given(shape=shapes(1, 3), seed=st.integers(0, 2**16), whole=st.booleans(), data=st.data())
def test_full_width_punctuation_reads_as_ascii(shape: tuple[int, ...], seed: int, whole: bool,
                                              data: st.DataObject) -> None:
    """Whatever a Chinese input method turns full width, the numbers read are the ASCII text's."""
    g = _gen(seed)
    t = torch.randint(-50, 50, shape, generator=g) if whole else torch.randn(shape, generator=g)
    text = format_tensor(t)
    typed = "".join(FULL_WIDTH[c] if c in FULL_WIDTH and data.draw(st.booleans()) else c for c in text)
    back = parse_tensor(typed)
    assert back.dtype == t.dtype and torch.equal(back, t)


PARAM_VALUE = st.one_of(
    NASTY,
    st.integers(-(2**80), 2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([10**5000, -(10**5000), True, False, None, 2**63, -(2**63), 2**63 - 1]),
)


@pytest.mark.parametrize("name", [n for n in list_losses() if get_loss(n).params])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_parameter_value(name: str, data: st.DataObject) -> None:
    """Any value of any parameter (text or Python): refused with LossvizInputError, or what torch computes."""
    from lossviz.losses.evaluate import resolve_params

    spec = get_loss(name)
    p = data.draw(st.sampled_from(spec.params), label="param")
    value = data.draw(PARAM_VALUE, label="value")
    tensors = spec.sample(_gen(0))
    try:
        clean = resolve_params(spec, {p.name: value})
    except LossvizInputError as exc:
        assert str(exc).strip() and len(str(exc)) < 600
        event("refused")
        return
    event("accepted")
    if p.kind == "int":
        assert -(2**63) <= clean[p.name] <= 2**63 - 1
    if isinstance(value, str) and any(c.isdigit() and not "0" <= c <= "9" for c in value):
        raise AssertionError(f"{value!r} was read as {clean[p.name]!r}")
    given_params = {p.name: clean[p.name]} if clean[p.name] is not None else {}
    check_against_torch(spec, tensors, given_params, spec.default_reduction, "none")


def _query_for(spec: LossSpec, draw: st.DrawFn) -> dict[str, str]:
    keys = ["loss", "reduction", "transform"]
    keys += [f"t_{s.name}" for s in spec.slots] + [f"s_{s.name}" for s in spec.slots]
    keys += [f"p_{p.name}" for p in spec.params]
    q = {"loss": spec.name}
    for k in draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True)):
        q[k] = draw(NASTY)
    return q


@pytest.mark.parametrize("name", list_losses())
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_query_value(name: str, data: st.DataObject) -> None:
    """Any value of any URL key reaches the pages' own code path (the explorer's Example; the landscape's
    setup, view, ranges and surface) and comes out as a result or one LossvizInputError."""
    import lossviz.landscape as ls
    from lossviz import session as K
    from lossviz.explore import Example as ExplorerExample
    from lossviz.explore import explain

    spec = get_loss(name)
    q = _query_for(spec, data.draw)
    for key in (K.LANDSCAPE_RANGE, K.LANDSCAPE_LR, K.LANDSCAPE_STEPS, K.LANDSCAPE_RESOLUTION):
        if data.draw(st.booleans()):
            q[key] = data.draw(NASTY)
    ex, notes = ExplorerExample.from_query(q)
    assert all(isinstance(n, str | Message) and render(n, "zh") for n in notes)  # sentences, in either language
    try:
        explain(ex.evaluate())
        setup = ls.setup_for(ex)
    except LossvizInputError:
        event("refused")
        return
    try:
        view, view_notes = ls.read_view(q, setup)
        assert all(isinstance(n, str | Message) and render(n, "zh") for n in view_notes)
        for key in (K.LANDSCAPE_LR, K.LANDSCAPE_STEPS):  # a number read from the link is an ASCII number
            if key in view:
                assert not any(c.isdigit() and not "0" <= c <= "9" for c in q[key]), (q[key], view[key])
        x, y = ls.default_elements(setup)
        ranges = ls.resolve_ranges(setup, x.key, y.key, str(q.get(K.LANDSCAPE_RANGE, "")))
        ls.compute_surface(setup, x, y, x_range=ranges.x, y_range=ranges.y, resolution=5)
    except LossvizInputError:
        event("landscape: refused")
