"""Elements of a prediction the landscape varies, the checked example it varies them in, and their domains.

An ``Element`` is one number of one prediction tensor (slot and flat index; ``input:3`` in URLs).
A ``Setup`` is an example checked once through ``lossviz.losses.evaluate`` (the explorer's path),
in float32. Everything loss-specific (axis symbols, dimension names, default pair, domain, why a
direction is flat) is read off the loss's ``LossSpec``.

Example:
    >>> setup = prepare("MSELoss", {"input": torch.tensor([2.0, -1.0]), "target": torch.tensor([0.5, 1.0])})
    >>> element_label(setup, Element("input", 1))
    'ŷ₁'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg
from lossviz.losses import LossResult, LossSpec, ascii_twins, evaluate, get_loss, parse_number

Tensor = torch.Tensor


class SupportsEvaluate(Protocol):
    def evaluate(self) -> LossResult: ...


DTYPE = torch.float32
#: Machine epsilon of DTYPE: the scale of every "is it zero / flat / converged" test.
EPS = float(torch.finfo(DTYPE).eps)

#: Grid sizes the engine accepts (points per axis).
MIN_RESOLUTION = 2
MAX_RESOLUTION = 301
DEFAULT_RESOLUTION = 101
#: Points per axis for 1-D loss curves.
MAX_CURVE_RESOLUTION = 2001
DEFAULT_CURVE_RESOLUTION = 401
#: Largest coordinate magnitude a range may reach.
MAX_ABS_RANGE = 1e6
#: Descent limits.
MAX_STEPS = 1000
MAX_LR = 1e6
#: Distance kept from an open domain edge (BCELoss probabilities, GaussianNLLLoss variances).
DOMAIN_EPS = 1e-3

_SUB = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")


# --------------------------------------------------------------------------- elements and setup


@dataclass(frozen=True, order=True)
class Element:
    """One number of one prediction tensor: ``slot`` and its flat (row-major) index."""

    slot: str
    index: int

    @property
    def key(self) -> str:
        """The form used in URLs: ``input:3``."""
        return f"{self.slot}:{self.index}"


@dataclass
class Setup:
    """A checked example, ready for batched evaluation (DTYPE)."""

    spec: LossSpec
    reduction: str
    params: dict[str, Any]
    transform: str
    #: predictions (raw, before the transform) and the other slots as the loss sees them
    raw: dict[str, Tensor]
    value: float  # the loss at the current example
    warnings: list[str] = field(default_factory=list)

    @property
    def loss(self) -> str:
        return self.spec.name

    @property
    def method(self) -> str:
        """``batch`` when the spec names a batch layout that fits this example, else ``vmap``
        (see :func:`route` and lossviz.landscape.engine)."""
        return route(self)

    def current(self, el: Element) -> float:
        return float(self.raw[el.slot].reshape(-1)[el.index])


def route(setup: Setup) -> str:
    """``batch`` when the spec's batch layout fits this example, else ``vmap``.

    A fact about the setup (its spec and its tensors' shapes), so it lives here; the engine
    (lossviz.landscape.engine) imports it, never the other way round.
    """
    layout = setup.spec.batch_layout
    if layout is None:
        return "vmap"
    if layout.startswith("per_sample") and setup.raw["input"].dim() > 2:
        return "vmap"
    return "batch"


def _to_dtype(t: Tensor) -> Tensor:
    return t.detach().to(DTYPE) if t.is_floating_point() else t.detach()


def from_result(res: LossResult) -> Setup:
    """What the engine needs from an evaluation (``Example.evaluate()``: the explorer's own input path)."""
    raw: dict[str, Tensor] = {}
    for s in res.spec.slots:
        if s.differentiable:
            raw[s.name] = res.raw[s.name].to(DTYPE)
        else:
            raw[s.name] = _to_dtype(res.inputs[s.name])
    prm = {k: (_to_dtype(v) if isinstance(v, Tensor) else v) for k, v in res.params.items()}
    return Setup(res.spec, res.reduction, prm, res.transform, raw, res.value, list(res.warnings))


def setup_for(example: SupportsEvaluate) -> Setup:
    """Check an example (lossviz.explore's ``Example``) exactly as the explorer does, then keep what the
    engine needs; ``LossvizInputError`` with the explorer's sentence for anything it refuses."""
    return from_result(example.evaluate())


def prepare(
    loss: str | LossSpec,
    tensors: Mapping[str, Tensor],
    *,
    reduction: str | None = None,
    params: Mapping[str, Any] | None = None,
    transform: str = "none",
) -> Setup:
    """Check the example once (through ``evaluate``) and keep what the engine needs.

    Raises ``LossvizInputError`` for anything ``evaluate`` refuses.
    """
    spec = loss if isinstance(loss, LossSpec) else get_loss(loss)
    typed: dict[str, Tensor] = {}
    for k, v in tensors.items():
        if not isinstance(v, Tensor):
            raise LossvizInputError(msg("{k} must be a tensor", k=k))
        s = spec.slot(k) if k in {x.name for x in spec.slots} else None
        if s is not None and s.differentiable and not v.is_floating_point():
            v = v.to(DTYPE)
        typed[k] = _to_dtype(v)
    return from_result(evaluate(spec, typed, reduction=reduction, params=params, transform=transform))


def prediction_elements(setup: Setup, *, limit: int = 400) -> list[Element]:
    """Every element that can be varied (at most ``limit`` per prediction slot)."""
    out: list[Element] = []
    for s in setup.spec.predictions:
        n = setup.raw[s.name].numel()
        out.extend(Element(s.name, i) for i in range(min(n, limit)))
    return out


def check_element(setup: Setup, el: Element) -> Element:
    """``el`` if it names an element of a prediction slot, else ``LossvizInputError``."""
    preds = [s.name for s in setup.spec.predictions]
    if el.slot not in preds:
        raise LossvizInputError(
            msg(
                "{loss}: {slot} is not a prediction tensor; choose one of: {join_preds}",
                loss=setup.loss, slot=repr(el.slot), join_preds=', '.join(preds),
            )
        )
    n = setup.raw[el.slot].numel()
    if not 0 <= el.index < n:
        raise LossvizInputError(
            msg(
                "{loss}: {slot} has {n} elements, so the index must be 0..{n2}, not {index}",
                loss=setup.loss, slot=el.slot, n=n, n2=n - 1, index=el.index,
            )
        )
    return el


def parse_element(setup: Setup, text: str) -> Element:
    """``"input:3"`` (or ``"3"`` for the first prediction slot) -> a checked ``Element``."""
    text = str(text).strip()[:60]
    slot, _, idx = text.rpartition(":")
    slot = slot or setup.spec.predictions[0].name
    try:
        index = int(idx)
    except ValueError:
        raise LossvizInputError(msg("element {text} is not of the form slot:index, e.g. input:0", text=repr(text))) from None
    return check_element(setup, Element(slot, index))


def multi_index(setup: Setup, el: Element) -> tuple[int, ...]:
    shape = tuple(setup.raw[el.slot].shape)
    return tuple(int(i) for i in np.unravel_index(el.index, shape)) if shape else ()


def element_label(setup: Setup, el: Element) -> str:
    """Short name for axes, e.g. ``ŷ₀``, ``z₁,₂``, ``σ²₀``."""
    sym = setup.spec.symbol(el.slot)
    idx = multi_index(setup, el)
    if not idx:
        return sym
    return sym + ",".join(str(i).translate(_SUB) for i in idx)


#: "where an element sits" with one, two or three named dimensions: ``sample 0, class 1``
_WHERE = {1: N_("{d0} {i0}"), 2: N_("{d0} {i0}, {d1} {i1}"), 3: N_("{d0} {i0}, {d1} {i1}, {d2} {i2}")}


def _where(setup: Setup, el: Element) -> Message | None:
    """Where the element sits, in the spec's dimension names: ``sample 0, class 1`` (None when unnamed)."""
    idx = multi_index(setup, el)
    names = setup.spec.dim_names.get(len(idx))
    if not names or not idx or len(idx) not in _WHERE:
        return None
    params: dict[str, object] = {}
    for k, (name, i) in enumerate(zip(names, idx, strict=True)):
        params[f"d{k}"], params[f"i{k}"] = Message(name), i
    return Message(_WHERE[len(idx)], params)


def element_description(setup: Setup, el: Element, lang: str = "en") -> str:
    """Label plus where the element sits and its current value, for option lists, in ``lang``."""
    where = _where(setup, el)
    label, slot, value = element_label(setup, el), Message(setup.spec.slot(el.slot).label), f"{setup.current(el):.4g}"
    if where is None:
        return msg("{element} — {slot} = {value}", element=label, slot=slot, value=value).render(lang)
    return msg("{element} — {slot} ({where}) = {value}", element=label, slot=slot, where=where, value=value).render(lang)


def default_elements(setup: Setup) -> tuple[Element, Element]:
    """The pair the landscape varies first: the spec's choice (two logits of the first sample, mean and
    variance, ...), else the first two numbers of the first prediction."""
    spec = setup.spec
    preds = spec.predictions
    if spec.default_pair is not None:
        pair = spec.default_pair(setup.raw, setup.params)
        if pair is not None:
            return Element(*pair[0]), Element(*pair[1])
    first = preds[0].name
    if setup.raw[first].numel() >= 2:
        return Element(first, 0), Element(first, 1)
    if len(preds) >= 2:
        return Element(first, 0), Element(preds[1].name, 0)
    raise LossvizInputError(
        msg(
            "{name}: the landscape varies two numbers, but the prediction has only one; give at least"
            " two values (the loss curve works with one)",
            name=spec.name,
        )
    )


# --------------------------------------------------------------------------- domains and ranges


def element_domain(setup: Setup, el: Element) -> tuple[float, float, str | None]:
    """(low, high, why) of the values an element may take (the spec's domain rule); infinite when free."""
    rule = setup.spec.domain
    got = rule(el.slot, setup.params, setup.transform) if rule is not None else None
    return got if got is not None else (-math.inf, math.inf, None)


def domain_box(setup: Setup, el: Element) -> tuple[float, float]:
    lo, hi, _ = element_domain(setup, el)
    return (
        lo + DOMAIN_EPS if math.isfinite(lo) else -MAX_ABS_RANGE,
        hi - DOMAIN_EPS if math.isfinite(hi) else MAX_ABS_RANGE,
    )


def check_range(setup: Setup, el: Element, rng: Sequence[float]) -> tuple[tuple[float, float], str | None]:
    """Validate a (low, high) range and clip it to the element's domain; returns the range and a note."""
    try:
        lo, hi = (float(v) for v in rng)
    except (TypeError, ValueError):
        raise LossvizInputError(msg("a range is two numbers, low and high, e.g. -3, 3")) from None
    label = element_label(setup, el)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise LossvizInputError(msg("the range of {label} must be finite numbers", label=label))
    if abs(lo) > MAX_ABS_RANGE or abs(hi) > MAX_ABS_RANGE:
        raise LossvizInputError(msg(
            "the range of {label} must stay within ±{max_abs_range}",
            label=label, max_abs_range=format(MAX_ABS_RANGE, 'g'),
        ))
    if not hi - lo > 100 * EPS * max(1.0, abs(lo), abs(hi)):
        raise LossvizInputError(
            msg(
                "the range of {label} must go from a lower to a higher number (got {lo} to {hi})",
                label=label, lo=format(lo, 'g'), hi=format(hi, 'g'),
            )
        )
    dlo, dhi, why = element_domain(setup, el)
    blo, bhi = domain_box(setup, el)
    note = None
    if lo < blo or hi > bhi:
        clo, chi = max(lo, blo), min(hi, bhi)
        if not chi > clo:
            raise LossvizInputError(
                msg(
                    "the range {lo} to {hi} for {label} lies outside its domain: {why}; choose a range inside"
                    " ({dlo}, {dhi})",
                    lo=format(lo, 'g'), hi=format(hi, 'g'), label=label, why=why, dlo=format(dlo, 'g'), dhi=format(dhi, 'g'),
                )
            )
        note = msg("{label}: {why}; the range was clipped to [{lo}, {hi}].", label=label, why=why,
                   lo=format(clo, ".4g"), hi=format(chi, ".4g"))
        lo, hi = clo, chi
    return (lo, hi), note


def check_resolution(resolution: Any, *, high: int = MAX_RESOLUTION) -> int:
    """An int number of points per axis in [MIN_RESOLUTION, high], or ``LossvizInputError``."""
    try:
        r = int(resolution)
        ok = float(resolution) == r
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok or not MIN_RESOLUTION <= r <= high:
        raise LossvizInputError(
            msg(
                "resolution must be a whole number of points per axis from {min_resolution} to {high}, "
                "not {resolution}",
                min_resolution=MIN_RESOLUTION, high=high, resolution=repr(str(resolution)[:20]),
            )
        )
    return r


def parse_ranges(text: str) -> tuple[tuple[float, float], tuple[float, float] | None] | None:
    """``"x0, x1, y0, y1"`` (or ``"x0, x1"`` for one axis) -> ranges; empty or ``auto`` -> None.

    Raises ``LossvizInputError`` with the expected form for anything else.
    """
    t = ascii_twins(str(text or "")).strip()[:200]
    if not t or t.lower() == "auto":
        return None
    parts = [p for p in t.replace(";", ",").replace(" to ", ",").replace(" ", ",").split(",") if p]
    try:  # the parser's number rules: ASCII digits only, never a silent read of '١٢٣' or '1_0'
        nums = [float(parse_number(p, name="range")) for p in parts]
    except LossvizInputError as exc:
        raise LossvizInputError(
            msg(
                "ranges {t} are not numbers ({exc}); write x from, x to, y from, y to, e.g. -3, 3, -2, 2 "
                "(or auto)",
                t=repr(t[:40]), exc=exc,
            )
        ) from None
    if len(nums) not in (2, 4):
        raise LossvizInputError(
            msg(
                "ranges need 4 numbers (x from, x to, y from, y to) or 2 for the x axis only, not "
                "{n_nums}",
                n_nums=len(nums),
            )
        )
    for lo, hi in zip(nums[::2], nums[1::2], strict=True):
        if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
            raise LossvizInputError(
                msg(
                    "each range must go from a lower to a higher finite number, not {lo} to {hi}",
                    lo=format(lo, 'g'), hi=format(hi, 'g'),
                )
            )
    return (nums[0], nums[1]), ((nums[2], nums[3]) if len(nums) == 4 else None)



def axis_title(setup: Setup, el: Element) -> str | Message:
    """The axis title: label and, when the spec names the dimensions, where the element sits (render it
    in the reader's language with :func:`lossviz.i18n.render`)."""
    where = _where(setup, el)
    label = element_label(setup, el)
    return label if where is None else msg("{element}  ({where})", element=label, where=where)


def flat_reason(setup: Setup, el: Element) -> str | None:
    """Why changing ``el`` cannot change the loss, when the example itself says so (else None)."""
    rule = setup.spec.flat_reason
    if rule is None:
        return None
    return rule(el.slot, multi_index(setup, el), element_label(setup, el), setup.raw, setup.params, setup.transform)


@dataclass(frozen=True)
class Point:
    """A point of a landscape: coordinates, loss and gradient."""

    coords: tuple[float, ...]
    loss: float
    grad: tuple[float, ...]
