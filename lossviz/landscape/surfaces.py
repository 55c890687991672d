"""Batched loss landscapes: loss curves, 2-D surfaces, gradient fields, descent paths.

Everything here evaluates the real ``torch.nn`` module of a catalog loss; no loss
is re-implemented. A landscape varies one or two *elements* of the prediction
tensors (e.g. two logits of one sample) while every other number stays at the
current example, and reports the reduced loss and its gradient with respect to
the varied elements at every grid point.

How a grid is computed (never a Python loop over grid points):

- ``vmap`` route (most losses): ``torch.func.vmap(torch.func.grad_and_value(f))``
  where ``f`` rebuilds the example with the varied elements replaced
  (``torch.where`` on a mask), applies the optional transform and calls the
  module. One call per chunk of grid points (chunks keep memory bounded for
  large examples).
- ``batch`` route, for losses whose torch kernels have no vmap batching rule
  (SoftMarginLoss, MultiMarginLoss, MultiLabelMarginLoss, CTCLoss) or that
  branch on data (GaussianNLLLoss checks ``var < 0`` in Python): the grid
  points are stacked into the loss's *own* batch dimension, the module is
  called once with ``reduction='none'``, each point's loss is reduced exactly
  as torch reduces it (checked against the module at the current point), and
  one backward pass of the sum gives every point's gradient (the points are
  independent, so the gradient of the sum is the per-point gradient).

All numbers are float32, like the explorer's (so the current point agrees with it to the last digit);
thresholds scale with ``EPS``. ``reduction='none'`` is shown as the sum of the
per-element losses (the value ``evaluate`` reports, whose gradient is a
backward pass with ones). Engine calls run with ``ENGINE_THREADS`` (1) intra-op
threads: the batched ops are small, and on a 2-core machine shared with a
training job two OpenMP threads mostly wait for each other.

Domains: BCELoss probabilities stay in (0, 1), GaussianNLLLoss variances and
HingeEmbeddingLoss distances stay positive (PoissonNLLLoss rates too with
``log_input`` off); ranges are clipped to ``DOMAIN_EPS`` inside the edge, with a
note, and descent steps that leave the domain are clamped back.

Example:
    >>> setup = prepare("MSELoss", {"input": torch.tensor([2.0, -1.0]), "target": torch.tensor([0.5, 1.0])})
    >>> s = compute_surface(setup, Element("input", 0), Element("input", 1), resolution=21)
    >>> s.z.shape
    (21, 21)
"""

from __future__ import annotations

import functools
import math
import time
import warnings as pywarnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import torch
from torch.func import grad_and_value, vmap

from lossviz.errors import LossvizInputError
from lossviz.losses import LossSpec, get_loss, list_losses
from lossviz.losses.evaluate import TRANSFORMS, evaluate, parse_inputs

Tensor = torch.Tensor
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
#: Most scalar values one engine call may touch (grid points x example size); larger grids are chunked.
CHUNK_BUDGET = 1_000_000
#: Intra-op threads for engine calls. The batched ops are small, and on a 2-core machine shared with a
#: training job two OpenMP threads wait on each other (measured 10-20x slower than one thread).
ENGINE_THREADS = 1

#: Losses computed by stacking grid points into the loss's own batch dimension (see module docstring).
BATCH_LAYOUT: dict[str, str] = {
    "SoftMarginLoss": "elementwise",
    "GaussianNLLLoss": "elementwise",
    "MultiMarginLoss": "per_sample",
    "MultiLabelMarginLoss": "per_sample",
    # not for vmap's sake but for speed: only the sample that holds the varied logits is recomputed
    # ((C) or (N, C) inputs; images (N, C, H, W) stay on the vmap route)
    "CrossEntropyLoss": "per_sample",
    "CTCLoss": "ctc",
}

_SUB = str.maketrans("0123456789-", "₀₁₂₃₄₅₆₇₈₉₋")

_F = TypeVar("_F", bound=Callable[..., Any])


@contextmanager
def _threads(n: int) -> Iterator[None]:
    """Run torch ops of this thread with ``n`` intra-op threads, then restore (OpenMP: per thread)."""
    before = torch.get_num_threads()
    if n <= 0 or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _in_engine_threads(fn: _F) -> _F:
    """Run the whole function (grid building included, not just the engine) with ``ENGINE_THREADS``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _threads(ENGINE_THREADS):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


#: The letter each prediction slot is called on axes: (loss, slot) -> symbol.
_SYMBOLS: dict[tuple[str, str], str] = {
    ("L1Loss", "input"): "ŷ",
    ("MSELoss", "input"): "ŷ",
    ("SmoothL1Loss", "input"): "ŷ",
    ("HuberLoss", "input"): "ŷ",
    ("CrossEntropyLoss", "input"): "z",
    ("NLLLoss", "input"): "x",
    ("BCELoss", "input"): "p",
    ("BCEWithLogitsLoss", "input"): "z",
    ("KLDivLoss", "input"): "x",
    ("HingeEmbeddingLoss", "input"): "x",
    ("SoftMarginLoss", "input"): "x",
    ("MultiLabelSoftMarginLoss", "input"): "z",
    ("MultiMarginLoss", "input"): "z",
    ("MultiLabelMarginLoss", "input"): "z",
    ("PoissonNLLLoss", "input"): "x",
    ("GaussianNLLLoss", "input"): "μ",
    ("GaussianNLLLoss", "var"): "σ²",
    ("MarginRankingLoss", "input1"): "a",
    ("MarginRankingLoss", "input2"): "b",
    ("CosineEmbeddingLoss", "input1"): "u",
    ("CosineEmbeddingLoss", "input2"): "v",
    ("TripletMarginLoss", "anchor"): "a",
    ("TripletMarginLoss", "positive"): "p",
    ("TripletMarginLoss", "negative"): "n",
    ("CTCLoss", "log_probs"): "x",
}

#: Names of the dimensions of a prediction, for option labels: (loss, ndim) -> names.
_DIM_NAMES: dict[tuple[str, int], tuple[str, ...]] = {
    ("CrossEntropyLoss", 1): ("class",),
    ("CrossEntropyLoss", 2): ("sample", "class"),
    ("NLLLoss", 1): ("class",),
    ("NLLLoss", 2): ("sample", "class"),
    ("MultiMarginLoss", 1): ("class",),
    ("MultiMarginLoss", 2): ("sample", "class"),
    ("MultiLabelMarginLoss", 1): ("class",),
    ("MultiLabelMarginLoss", 2): ("sample", "class"),
    ("MultiLabelSoftMarginLoss", 1): ("class",),
    ("MultiLabelSoftMarginLoss", 2): ("sample", "class"),
    ("KLDivLoss", 2): ("row", "class"),
    ("CosineEmbeddingLoss", 2): ("pair", "dim"),
    ("TripletMarginLoss", 2): ("triplet", "dim"),
    ("CTCLoss", 3): ("time", "sequence", "class"),
    ("CTCLoss", 2): ("time", "class"),
}


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
        """``vmap`` or ``batch`` (see the module docstring)."""
        if self.spec.name not in BATCH_LAYOUT:
            return "vmap"
        if self.spec.name == "CrossEntropyLoss" and self.raw["input"].dim() > 2:
            return "vmap"
        return "batch"

    def current(self, el: Element) -> float:
        return float(self.raw[el.slot].reshape(-1)[el.index])


def _to_dtype(t: Tensor) -> Tensor:
    return t.detach().to(DTYPE) if t.is_floating_point() else t.detach()


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
            raise LossvizInputError(f"{k} must be a tensor")
        s = spec.slot(k) if k in {x.name for x in spec.slots} else None
        if s is not None and s.differentiable and not v.is_floating_point():
            v = v.to(DTYPE)
        typed[k] = _to_dtype(v)
    res = evaluate(spec, typed, reduction=reduction, params=params, transform=transform)
    raw: dict[str, Tensor] = {}
    for s in spec.slots:
        if s.differentiable:
            raw[s.name] = res.raw[s.name].to(DTYPE)
        else:
            raw[s.name] = _to_dtype(res.inputs[s.name])
    prm = {k: (_to_dtype(v) if isinstance(v, Tensor) else v) for k, v in res.params.items()}
    return Setup(spec, res.reduction, prm, res.transform, raw, res.value, list(res.warnings))


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
            f"{setup.loss}: {el.slot!r} is not a prediction tensor; choose one of: {', '.join(preds)}"
        )
    n = setup.raw[el.slot].numel()
    if not 0 <= el.index < n:
        raise LossvizInputError(
            f"{setup.loss}: {el.slot} has {n} elements, so the index must be 0..{n - 1}, not {el.index}"
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
        raise LossvizInputError(f"element {text!r} is not of the form slot:index, e.g. input:0") from None
    return check_element(setup, Element(slot, index))


def multi_index(setup: Setup, el: Element) -> tuple[int, ...]:
    shape = tuple(setup.raw[el.slot].shape)
    return tuple(int(i) for i in np.unravel_index(el.index, shape)) if shape else ()


def element_label(setup: Setup, el: Element) -> str:
    """Short name for axes, e.g. ``ŷ₀``, ``z₁,₂``, ``σ²₀``."""
    sym = _SYMBOLS.get((setup.loss, el.slot), el.slot)
    idx = multi_index(setup, el)
    if not idx:
        return sym
    return sym + ",".join(str(i).translate(_SUB) for i in idx)


def element_description(setup: Setup, el: Element) -> str:
    """Label plus where the element sits and its current value, for option lists."""
    idx = multi_index(setup, el)
    ndim = len(idx)
    names = _DIM_NAMES.get((setup.loss, ndim))
    slot = setup.spec.slot(el.slot)
    where = ", ".join(f"{n} {i}" for n, i in zip(names, idx, strict=True)) if names and idx else ""
    what = slot.label
    parts = [element_label(setup, el), "—", what]
    if where:
        parts.append(f"({where})")
    parts.append(f"= {setup.current(el):.4g}")
    return " ".join(parts)


def default_elements(setup: Setup) -> tuple[Element, Element]:
    """A sensible pair to vary: two logits of the first sample, mean and variance, the two scores..."""
    spec = setup.spec
    preds = spec.predictions
    name = spec.name
    if name == "GaussianNLLLoss":
        return Element("input", 0), Element("var", 0)
    if len(preds) >= 2 and name in ("MarginRankingLoss",):
        return Element(preds[0].name, 0), Element(preds[1].name, 0)
    first = preds[0].name
    x = setup.raw[first]
    n = x.numel()
    if name in ("CrossEntropyLoss", "NLLLoss", "MultiMarginLoss") and x.dim() >= 1:
        # the true class of the first sample and the strongest rival class
        t = setup.raw["target"]
        cdim = 0 if x.dim() == 1 else 1
        c = x.shape[cdim]
        if c >= 2 and not t.is_floating_point():
            true = int(t.reshape(-1)[0]) if t.dim() else int(t)
            if 0 <= true < c:
                row = x.reshape(-1, c)[0] if x.dim() <= 2 else x[0, :, *([0] * (x.dim() - 2))]
                others = [k for k in range(c) if k != true]
                rival = max(others, key=lambda k: float(row[k]))
                return _flat_el(setup, first, true, cdim), _flat_el(setup, first, rival, cdim)
        if c >= 2:
            return _flat_el(setup, first, 0, cdim), _flat_el(setup, first, 1, cdim)
    if name == "CTCLoss" and x.dim() >= 2 and x.shape[-1] >= 2:
        # at time 0 a path can only start with the blank or the first label: vary those two
        c = x.shape[-1]
        blank = int(setup.params.get("blank", 0))
        t = setup.raw["targets"]
        label = int(t.reshape(-1)[0]) if t.numel() else (blank + 1) % c
        label = label if label != blank else (blank + 1) % c
        pos = (0, 0) if x.dim() == 3 else (0,)
        shape = tuple(x.shape)
        return (
            Element(first, int(np.ravel_multi_index((*pos, blank), shape))),
            Element(first, int(np.ravel_multi_index((*pos, label), shape))),
        )
    if n >= 2:
        return Element(first, 0), Element(first, 1)
    if len(preds) >= 2:
        return Element(first, 0), Element(preds[1].name, 0)
    raise LossvizInputError(
        f"{name}: the landscape varies two numbers, but the prediction has only one; give at least two "
        "values (the loss curve works with one)"
    )


def _flat_el(setup: Setup, slot: str, cls: int, cdim: int) -> Element:
    x = setup.raw[slot]
    idx = [0] * x.dim()
    idx[cdim] = cls
    return Element(slot, int(np.ravel_multi_index(idx, tuple(x.shape))))


# --------------------------------------------------------------------------- domains and ranges


def element_domain(setup: Setup, el: Element) -> tuple[float, float, str | None]:
    """(low, high, why) of the values an element may take; infinite bounds when unrestricted."""
    name = setup.loss
    first = setup.spec.predictions[0].name
    raw_first = el.slot == first and setup.transform == "none"
    if name == "BCELoss" and raw_first:
        return 0.0, 1.0, "BCELoss takes probabilities, so p must stay strictly between 0 and 1"
    if name == "GaussianNLLLoss" and el.slot == "var":
        return 0.0, math.inf, "a variance must be positive (σ² > 0)"
    if name == "HingeEmbeddingLoss" and el.slot == "input":
        return 0.0, math.inf, "HingeEmbeddingLoss reads its input as a distance, which cannot be negative"
    if name == "PoissonNLLLoss" and raw_first and not setup.params.get("log_input", True):
        return 0.0, math.inf, "with log_input off the input is the rate λ itself, which cannot be negative"
    return -math.inf, math.inf, None


def _domain_box(setup: Setup, el: Element) -> tuple[float, float]:
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
        raise LossvizInputError("a range is two numbers, low and high, e.g. -3, 3") from None
    label = element_label(setup, el)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise LossvizInputError(f"the range of {label} must be finite numbers")
    if abs(lo) > MAX_ABS_RANGE or abs(hi) > MAX_ABS_RANGE:
        raise LossvizInputError(f"the range of {label} must stay within ±{MAX_ABS_RANGE:g}")
    if not hi - lo > 100 * EPS * max(1.0, abs(lo), abs(hi)):
        raise LossvizInputError(
            f"the range of {label} must go from a lower to a higher number (got {lo:g} to {hi:g})"
        )
    dlo, dhi, why = element_domain(setup, el)
    blo, bhi = _domain_box(setup, el)
    note = None
    if lo < blo or hi > bhi:
        clo, chi = max(lo, blo), min(hi, bhi)
        if not chi > clo:
            raise LossvizInputError(
                f"the range {lo:g} to {hi:g} for {label} lies outside its domain: {why}; choose a range inside "
                f"({dlo:g}, {dhi:g})"
            )
        note = f"{label}: {why}; the range was clipped to [{clo:.4g}, {chi:.4g}]."
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
            f"resolution must be a whole number of points per axis from {MIN_RESOLUTION} to {high}, "
            f"not {str(resolution)[:20]!r}"
        )
    return r


def parse_ranges(text: str) -> tuple[tuple[float, float], tuple[float, float] | None] | None:
    """``"x0, x1, y0, y1"`` (or ``"x0, x1"`` for one axis) -> ranges; empty or ``auto`` -> None.

    Raises ``LossvizInputError`` with the expected form for anything else.
    """
    t = str(text or "").strip()[:200]
    if not t or t.lower() == "auto":
        return None
    parts = [p for p in t.replace(";", ",").replace(" to ", ",").replace(" ", ",").split(",") if p]
    try:
        nums = [float(p) for p in parts]
    except ValueError:
        raise LossvizInputError(
            f"ranges {t[:40]!r} are not numbers; write x from, x to, y from, y to, e.g. -3, 3, -2, 2 (or auto)"
        ) from None
    if len(nums) not in (2, 4):
        raise LossvizInputError(
            f"ranges need 4 numbers (x from, x to, y from, y to) or 2 for the x axis only, not {len(nums)}"
        )
    for lo, hi in zip(nums[::2], nums[1::2], strict=True):
        if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
            raise LossvizInputError(
                f"each range must go from a lower to a higher finite number, not {lo:g} to {hi:g}"
            )
    return (nums[0], nums[1]), ((nums[2], nums[3]) if len(nums) == 4 else None)


def _nice(v: float, up: bool) -> float:
    """Round outwards to one decimal (or the nearest whole number for wide ranges)."""
    step = 1.0 if abs(v) >= 20 else 0.1
    return (math.ceil(v / step) if up else math.floor(v / step)) * step


@_in_engine_threads
def auto_range(setup: Setup, el: Element) -> tuple[float, float]:
    """A range around the current value that also shows where the loss is smallest along this element."""
    check_element(setup, el)
    v0 = setup.current(el)
    dlo, dhi, _ = element_domain(setup, el)
    blo, bhi = _domain_box(setup, el)
    if math.isfinite(dlo) and math.isfinite(dhi):
        return blo, bhi
    w = max(4.0, 2.0 * abs(v0))
    lo, hi = max(v0 - w, blo), min(v0 + w, bhi)
    xs = torch.linspace(lo, hi, 201, dtype=DTYPE)
    fn = _engine(setup, (el,))
    vals, _ = fn(xs[:, None])
    vals = vals.numpy()
    finite = np.isfinite(vals)
    if finite.any() and np.nanmax(vals[finite]) - np.nanmin(vals[finite]) > 10 * EPS * (
        1 + abs(np.nanmax(vals[finite]))
    ):
        k = int(np.nanargmin(np.where(finite, vals, np.inf)))
        if 0 < k < len(xs) - 1:
            m = float(xs[k])
            a, b = min(v0, m), max(v0, m)
            pad = max(1.0, 0.6 * (b - a))
            lo, hi = a - pad, b + pad
        else:
            lo, hi = v0 - 3.0, v0 + 3.0
    else:
        lo, hi = v0 - 2.0, v0 + 2.0
    lo, hi = _nice(lo, up=False), _nice(hi, up=True)
    return max(lo, blo), min(hi, bhi)


# --------------------------------------------------------------------------- the batched engine


def _transform(name: str, x: Tensor, spec: LossSpec, lead: int = 0) -> Tensor:
    """The optional transform of the first prediction (as ``evaluate`` applies it), with ``lead`` batch dims."""
    if name in ("", "none"):
        return x
    if name == "sigmoid":
        return torch.sigmoid(x)
    nd = x.dim() - lead
    dim = -1 if spec.name == "CTCLoss" else lead + (1 if nd >= 2 else 0)
    if name == "softmax":
        return torch.softmax(x, dim=dim)
    if name == "log_softmax":
        return torch.log_softmax(x, dim=dim)
    raise LossvizInputError(f"unknown transform {name!r}; choose one of: {', '.join(TRANSFORMS)}")


def _positions(elements: Sequence[Element]) -> dict[str, list[tuple[int, int]]]:
    """slot -> [(flat index, column of the points array)], sorted by index."""
    out: dict[str, list[tuple[int, int]]] = {}
    for k, el in enumerate(elements):
        out.setdefault(el.slot, []).append((el.index, k))
    return {slot: sorted(v) for slot, v in out.items()}


def _assemble(base: Tensor, items: Sequence[tuple[int, Tensor]], batch: int | None = None) -> Tensor:
    """``base`` (flat) with the positions in ``items`` replaced by values, built by one ``cat``.

    One write of the tensor, and a backward pass that only slices: much cheaper than a masked
    ``where`` per element. ``batch=None`` (inside vmap): values are scalars; else values are (batch,).
    """
    pieces: list[Tensor] = []
    prev = 0
    for pos, val in items:
        if batch is None:
            pieces += [base[prev:pos], val.reshape(1)]
        else:
            pieces += [base[prev:pos].expand(batch, -1), val.reshape(batch, 1)]
        prev = pos + 1
    pieces.append(base[prev:] if batch is None else base[prev:].expand(batch, -1))
    return torch.cat(pieces, dim=-1)


Engine = Callable[[Tensor], tuple[Tensor, Tensor]]


def _engine(setup: Setup, elements: Sequence[Element]) -> Engine:
    """``fn(points (B, k)) -> (loss (B,), grad (B, k))`` for the k varied elements, batched, chunked."""
    elements = tuple(check_element(setup, e) for e in elements)
    if len(set(elements)) != len(elements):
        raise LossvizInputError("choose different elements for the two axes")
    method = setup.method
    one = None
    if method == "batch":
        try:
            one = _batch_engine(setup, elements)
        except _NoBatchRoute:
            method = "vmap"
    if one is None:
        one = _vmap_engine(setup, elements)
    size = sum(t.numel() for t in setup.raw.values()) + 1
    chunk = max(1, CHUNK_BUDGET // size)

    def run(points: Tensor) -> tuple[Tensor, Tensor]:
        points = points.to(DTYPE).reshape(-1, len(elements))
        vals, grads = [], []
        with _threads(ENGINE_THREADS), pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore")
            for part in points.split(chunk):
                v, g = one(part)
                vals.append(v.detach())
                grads.append(g.detach())
        return torch.cat(vals), torch.cat(grads)

    run.method = method  # type: ignore[attr-defined]
    return run


def _vmap_engine(setup: Setup, elements: Sequence[Element]) -> Engine:
    spec = setup.spec
    module = spec.build(setup.reduction, setup.params)
    where = _positions(elements)
    flat = {slot: setup.raw[slot].reshape(-1) for slot in where}
    first = spec.predictions[0].name
    none = setup.reduction == "none"

    def f(v: Tensor) -> Tensor:
        cur = dict(setup.raw)
        for slot, items in where.items():
            cur[slot] = _assemble(flat[slot], [(i, v[k]) for i, k in items]).reshape(setup.raw[slot].shape)
        cur[first] = _transform(setup.transform, cur[first], spec)
        out = module(*[cur[s.name] for s in spec.slots])
        return out.sum() if none else out

    batched = vmap(grad_and_value(f))

    def one(points: Tensor) -> tuple[Tensor, Tensor]:
        g, v = batched(points)
        return v, g

    return one


def _stack(t: Tensor, b: int) -> Tensor:
    return t.unsqueeze(0).expand(b, *t.shape)


def _batch_engine(setup: Setup, elements: Sequence[Element]) -> Engine:
    """Grid points stacked into the loss's own batch dimension, ``reduction='none'``, reduced here.

    For per-sample and CTC losses only the samples (sequences) that hold a varied element are
    stacked; the others do not change, so their losses are computed once and added back.
    """
    spec = setup.spec
    layout = BATCH_LAYOUT[spec.name]
    module = spec.build("none", setup.params)
    red = setup.reduction
    first = spec.predictions[0].name
    where = _positions(elements)

    if layout == "elementwise":
        flat = {slot: setup.raw[slot].reshape(-1) for slot in where}

        def per_point(points: Tensor) -> Tensor:
            b = points.shape[0]
            cur = {k: _stack(v, b) for k, v in setup.raw.items()}
            for slot, items in where.items():
                cur[slot] = _assemble(flat[slot], [(i, points[:, k]) for i, k in items], b).reshape(
                    b, *setup.raw[slot].shape
                )
            cur[first] = _transform(setup.transform, cur[first], spec, lead=1)
            out = module(*[cur[s.name] for s in spec.slots]).reshape(b, -1)
            return out.mean(dim=1) if red == "mean" else out.sum(dim=1)

    elif layout == "per_sample":
        x = setup.raw["input"]
        c = x.shape[-1]
        xs = x.reshape(-1, c)  # (N, C); a single sample (C) is one row
        n = xs.shape[0]
        ys = setup.raw["target"].reshape(n, *setup.raw["target"].shape[x.dim() - 1 :])
        rows = sorted({i // c for i, _ in where["input"]})
        others = [r for r in range(n) if r not in rows]
        with torch.no_grad():
            base_none = module(_transform(setup.transform, xs, spec), ys).reshape(n)
        const = base_none[others].sum() if others else torch.zeros((), dtype=DTYPE)
        denom = _mean_denominator(setup, module, xs, ys) if red == "mean" else 1.0
        sub = xs[rows].reshape(-1)
        items_at = [(rows.index(i // c) * c + i % c, k) for i, k in where["input"]]
        y_rows = ys[rows]

        def per_point(points: Tensor) -> Tensor:
            b = points.shape[0]
            xb = _assemble(sub, [(i, points[:, k]) for i, k in items_at], b).reshape(b, len(rows), c)
            xb = _transform(setup.transform, xb, spec, lead=1)
            yb = _stack(y_rows, b).reshape(b * len(rows), *y_rows.shape[1:])
            out = module(xb.reshape(b * len(rows), c), yb).reshape(b, len(rows))
            total = const + out.sum(dim=1)
            return total / denom if red == "mean" else total

    else:  # ctc
        lp = setup.raw["log_probs"]
        lp3 = lp if lp.dim() == 3 else lp.unsqueeze(1)  # (T, N, C)
        t_, n, c = lp3.shape
        il = setup.raw["input_lengths"].reshape(-1)
        tl = setup.raw["target_lengths"].reshape(-1)
        y = setup.raw["targets"]
        if lp.dim() == 2:
            seqs = [y.reshape(-1)]
        elif y.dim() == 2:
            seqs = [y[k, : int(tl[k])] for k in range(n)]
        else:
            ends = torch.cumsum(tl, 0).tolist()
            seqs = [y[int(e) - int(tl[k]) : int(e)] for k, e in enumerate(ends)]
        with torch.no_grad():
            base_none = module(
                _transform(setup.transform, lp, spec),
                y,
                setup.raw["input_lengths"],
                setup.raw["target_lengths"],
            ).reshape(n)
        per_len = tl.clamp(min=1).to(DTYPE)
        seq_of = {i: int(np.unravel_index(i, (t_, n, c))[1]) for i, _ in where["log_probs"]}
        rows = sorted(set(seq_of.values()))
        others = [r for r in range(n) if r not in rows]
        if red == "mean":
            const = (base_none[others] / per_len[others]).sum() if others else torch.zeros((), dtype=DTYPE)
        else:
            const = base_none[others].sum() if others else torch.zeros((), dtype=DTYPE)
        sub = lp3[:, rows, :].reshape(-1)
        items_at = []
        for i, k in where["log_probs"]:
            ti, ni, ci = (int(v) for v in np.unravel_index(i, (t_, n, c)))
            items_at.append(((ti * len(rows) + rows.index(ni)) * c + ci, k))
        items_at.sort()
        width = max([1, *(int(tl[r]) for r in rows)])
        padded = torch.zeros(len(rows), width, dtype=torch.long)
        for j, r in enumerate(rows):
            padded[j, : len(seqs[r])] = seqs[r]
        il_r, tl_r, len_r = il[rows], tl[rows], per_len[rows]

        def per_point(points: Tensor) -> Tensor:
            b = points.shape[0]
            xb = _assemble(sub, [(i, points[:, k]) for i, k in items_at], b).reshape(b, t_, len(rows), c)
            xb = _transform(setup.transform, xb, spec, lead=1)
            xb = xb.permute(1, 0, 2, 3).reshape(t_, b * len(rows), c)
            yb = _stack(padded, b).reshape(b * len(rows), width)
            out = module(xb, yb, _stack(il_r, b).reshape(-1), _stack(tl_r, b).reshape(-1)).reshape(
                b, len(rows)
            )
            if red == "mean":
                return (const + (out / len_r).sum(dim=1)) / n
            return const + out.sum(dim=1)

    def one(points: Tensor) -> tuple[Tensor, Tensor]:
        with torch.enable_grad():
            p = points.detach().clone().requires_grad_(True)
            v = per_point(p)
            (g,) = torch.autograd.grad(v.sum(), p, allow_unused=True)
        return v.detach(), torch.zeros_like(p) if g is None else g

    _self_check(setup, elements, one)
    return one


class _NoBatchRoute(Exception):
    """The batch route cannot reproduce this loss's reduction here; use vmap instead."""


def _mean_denominator(setup: Setup, module: torch.nn.Module, xs: Tensor, ys: Tensor) -> float:
    """What 'mean' divides the summed per-sample losses by (N, or the summed class weights for
    CrossEntropyLoss), read off torch itself: sum('none') / 'mean' on this example's targets."""
    if setup.loss != "CrossEntropyLoss":
        return float(xs.shape[0])
    mean = setup.spec.build("mean", setup.params)
    with torch.no_grad(), pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")
        for trial in (_transform(setup.transform, xs, setup.spec), torch.zeros_like(xs)):
            total, avg = float(module(trial, ys).sum()), float(mean(trial, ys))
            if math.isfinite(total) and math.isfinite(avg) and avg != 0.0:
                return total / avg
    raise _NoBatchRoute


def _self_check(setup: Setup, elements: Sequence[Element], one: Engine) -> None:
    """The stacked reduction must agree with the module's own at the current example."""
    spec = setup.spec
    cur = dict(setup.raw)
    first = spec.predictions[0].name
    cur[first] = _transform(setup.transform, cur[first], spec)
    with torch.no_grad(), pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")
        want = spec.build(setup.reduction, setup.params)(*[cur[s.name] for s in spec.slots]).sum()
        got, _ = one(torch.tensor([[setup.current(e) for e in elements]], dtype=DTYPE))
    w, g = float(want), float(got[0])
    if not (
        math.isclose(w, g, rel_tol=1e3 * EPS, abs_tol=1e3 * EPS)
        or (math.isnan(w) and math.isnan(g))
        or w == g
    ):
        raise RuntimeError(f"{spec.name}: the batched reduction ({g!r}) disagrees with torch ({w!r})")


@_in_engine_threads
def evaluate_points(
    setup: Setup, elements: Sequence[Element], points: Tensor | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Loss (B,) and gradient (B, k) at arbitrary points (B, k) of the varied elements, in one batched call."""
    pts = torch.as_tensor(np.asarray(points, dtype=np.float64)).to(DTYPE)
    v, g = _engine(setup, elements)(pts)
    return v.numpy(), g.numpy()


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Point:
    """A point of a landscape: coordinates, loss and gradient."""

    coords: tuple[float, ...]
    loss: float
    grad: tuple[float, ...]


@dataclass(frozen=True)
class Surface:
    """The reduced loss and its gradient on a grid of two varied elements.

    ``z[i, j]`` is the loss at ``(xs[j], ys[i])`` (rows follow y, as plotly draws).
    """

    loss: str
    reduction: str
    x: Element
    y: Element
    x_label: str
    y_label: str
    x_title: str
    y_title: str
    xs: np.ndarray
    ys: np.ndarray
    z: np.ndarray
    gx: np.ndarray
    gy: np.ndarray
    current: Point
    minimum: Point
    method: str
    seconds: float
    notes: tuple[str, ...] = ()
    flat: bool = False

    @property
    def resolution(self) -> int:
        return len(self.xs)


@dataclass(frozen=True)
class Curve:
    """The loss and its derivative as one element sweeps a range."""

    name: str  # legend label
    loss: str
    reduction: str
    element: Element
    x_label: str
    xs: np.ndarray
    values: np.ndarray
    slope: np.ndarray
    current: Point | None
    notes: tuple[str, ...] = ()


def _axis_title(setup: Setup, el: Element) -> str:
    idx = multi_index(setup, el)
    names = _DIM_NAMES.get((setup.loss, len(idx)))
    where = ", ".join(f"{n} {i}" for n, i in zip(names, idx, strict=True)) if names and idx else ""
    return f"{element_label(setup, el)}" + (f"  ({where})" if where else "")


def flat_reason(setup: Setup, el: Element) -> str | None:
    """Why changing ``el`` cannot change the loss, when the example itself says so (else None)."""
    name = setup.loss
    x = setup.raw[el.slot]
    idx = multi_index(setup, el)
    label = element_label(setup, el)
    if name in ("CrossEntropyLoss", "NLLLoss") and el.slot == "input":
        t = setup.raw["target"]
        if not t.is_floating_point() and x.dim() >= 1:
            pos = () if x.dim() == 1 else (idx[0], *idx[2:])
            tv = int(t[pos]) if pos else int(t)
            ign = int(setup.params.get("ignore_index", -100))
            who = "the" if not pos else f"sample {pos[0]}'s"
            if tv == ign:
                return f"{label} does not change the loss: {who} target is the ignore_index ({ign}), so that sample is skipped."
            w = setup.params.get("weight")
            if w is not None and 0 <= tv < w.numel() and float(w[tv]) == 0.0:
                return f"{label} does not change the loss: {who} target class {tv} has weight 0."
            cls = idx[0] if x.dim() == 1 else idx[1]
            if name == "NLLLoss" and setup.transform == "none" and cls != tv:
                return (
                    f"{label} does not change the loss: NLLLoss reads only the log-probability of the true "
                    f"class ({tv}), and {label} belongs to class {cls}. With the log_softmax transform the "
                    "classes are coupled and every score matters."
                )
    if name == "MultiLabelMarginLoss" and el.slot == "input":
        t = setup.raw["target"]
        row = t if t.dim() == 1 else t[idx[0]]
        if int(row[0]) == -1:
            who = "the sample" if t.dim() == 1 else f"sample {idx[0]}"
            return f"{label} does not change the loss: {who} lists no true labels (its target starts with -1), so its loss is 0."
    if name == "CTCLoss":
        il = setup.raw["input_lengths"].reshape(-1)
        n = idx[1] if x.dim() == 3 else 0
        if idx[0] >= int(il[n]):
            return f"{label} does not change the loss: time step {idx[0]} is past sequence {n}'s input length ({int(il[n])}), so CTC ignores it."
    w = setup.params.get("weight")
    if name in ("BCELoss", "BCEWithLogitsLoss") and w is not None and el.slot == "input":
        try:
            wb = torch.broadcast_to(w, x.shape).reshape(-1)
            if float(wb[el.index]) == 0.0:
                return f"{label} does not change the loss: its weight is 0."
        except RuntimeError:
            pass
    return None


def _notes_for(setup: Setup, el: Element, grads: np.ndarray, extra: list[str]) -> list[str]:
    notes = list(extra)
    why = flat_reason(setup, el)
    if why:
        notes.append(why)
    elif np.all(np.nan_to_num(np.abs(grads), nan=0.0) == 0.0):
        notes.append(
            f"{element_label(setup, el)} does not change the loss anywhere in this range "
            "(its gradient is zero everywhere here), so the landscape is flat along it."
        )
    return notes


def _resolve_range(
    setup: Setup, el: Element, rng: Sequence[float] | None, notes: list[str]
) -> tuple[float, float]:
    if rng is None:
        return auto_range(setup, el)
    r, note = check_range(setup, el, rng)
    if note:
        notes.append(note)
    return r


@_in_engine_threads
def compute_surface(
    setup: Setup,
    x: Element,
    y: Element,
    *,
    x_range: Sequence[float] | None = None,
    y_range: Sequence[float] | None = None,
    resolution: int = DEFAULT_RESOLUTION,
) -> Surface:
    """Loss and gradient on a ``resolution`` x ``resolution`` grid of elements ``x`` and ``y``.

    Ranges default to ``auto_range``; they are clipped to the elements' domains (with a note).
    """
    res = check_resolution(resolution)
    check_element(setup, x)
    check_element(setup, y)
    if x == y:
        raise LossvizInputError("choose two different elements for the two axes")
    notes: list[str] = []
    xr = _resolve_range(setup, x, x_range, notes)
    yr = _resolve_range(setup, y, y_range, notes)
    xs = torch.linspace(xr[0], xr[1], res, dtype=DTYPE)
    ys = torch.linspace(yr[0], yr[1], res, dtype=DTYPE)
    gy_, gx_ = torch.meshgrid(ys, xs, indexing="ij")
    pts = torch.stack([gx_.reshape(-1), gy_.reshape(-1)], dim=1)
    fn = _engine(setup, (x, y))
    t0 = time.perf_counter()
    vals, grads = fn(pts)
    seconds = time.perf_counter() - t0
    z = vals.reshape(res, res).numpy()
    g = grads.reshape(res, res, 2).numpy()
    cur_pt = torch.tensor([[setup.current(x), setup.current(y)]], dtype=DTYPE)
    cv, cg = fn(cur_pt)
    current = Point((setup.current(x), setup.current(y)), float(cv[0]), (float(cg[0, 0]), float(cg[0, 1])))
    finite = np.isfinite(z)
    if not finite.all():
        notes.append(
            f"the loss is not finite at {int((~finite).sum())} of {z.size} grid points (left blank)."
        )
    if finite.any():
        k = int(np.argmin(np.where(finite, z, np.inf)))
        i, j = divmod(k, res)
        minimum = Point((float(xs[j]), float(ys[i])), float(z[i, j]), (float(g[i, j, 0]), float(g[i, j, 1])))
        if (i in (0, res - 1) or j in (0, res - 1)) and z[i, j] < np.nanmin(z[1:-1, 1:-1], initial=np.inf):
            edge = None
            for k, v, e in ((j, xs[j], x), (i, ys[i], y)):
                lo_b, hi_b = _domain_box(setup, e)
                near = [b for b in (lo_b, hi_b) if math.isclose(float(v), b, rel_tol=1e-5, abs_tol=1e-7)]
                if k in (0, res - 1) and near:
                    dlo, dhi, _ = element_domain(setup, e)
                    edge = (element_label(setup, e), dlo if near[0] == lo_b else dhi)
            notes.append(
                f"the lowest point on the grid lies at the edge of the values {edge[0]} may take: the loss only "
                f"gets smaller in the limit {edge[0]} → {edge[1]:g}, which it never reaches."
                if edge
                else "the lowest point on the grid lies on its edge: the loss keeps going down beyond this range "
                "(cross-entropy, for example, only reaches 0 as the logits run off to infinity)."
            )
    else:
        minimum = current
    notes = _notes_for(setup, x, g[..., 0], notes)
    notes = _notes_for(setup, y, g[..., 1], notes)
    zf = z[finite]
    flat = bool(zf.size == 0 or (zf.max() - zf.min()) <= 10 * EPS * (1.0 + abs(zf.max())))
    if flat:
        notes.append("the loss is the same at every point of this range: the surface is flat.")
    return Surface(
        loss=setup.loss,
        reduction=setup.reduction,
        x=x,
        y=y,
        x_label=element_label(setup, x),
        y_label=element_label(setup, y),
        x_title=_axis_title(setup, x),
        y_title=_axis_title(setup, y),
        xs=xs.numpy(),
        ys=ys.numpy(),
        z=z,
        gx=g[..., 0].copy(),
        gy=g[..., 1].copy(),
        current=current,
        minimum=minimum,
        method=getattr(fn, "method", setup.method),
        seconds=seconds,
        notes=tuple(dict.fromkeys(notes)),
        flat=flat,
    )


@_in_engine_threads
def compute_curve(
    setup: Setup,
    el: Element,
    *,
    x_range: Sequence[float] | None = None,
    resolution: int = DEFAULT_CURVE_RESOLUTION,
    name: str | None = None,
) -> Curve:
    """The loss and dL/d(element) as ``el`` sweeps a range, everything else held at the example."""
    res = check_resolution(resolution, high=MAX_CURVE_RESOLUTION)
    check_element(setup, el)
    notes: list[str] = []
    lo, hi = _resolve_range(setup, el, x_range, notes)
    xs = torch.linspace(lo, hi, res, dtype=DTYPE)
    fn = _engine(setup, (el,))
    vals, grads = fn(xs[:, None])
    cv, cg = fn(torch.tensor([[setup.current(el)]], dtype=DTYPE))
    current = Point((setup.current(el),), float(cv[0]), (float(cg[0, 0]),))
    notes = _notes_for(setup, el, grads.numpy(), notes)
    return Curve(
        name=name or setup.loss,
        loss=setup.loss,
        reduction=setup.reduction,
        element=el,
        x_label=element_label(setup, el),
        xs=xs.numpy(),
        values=vals.numpy(),
        slope=grads[:, 0].numpy(),
        current=current,
        notes=tuple(dict.fromkeys(notes)),
    )


# --------------------------------------------------------------------------- comparisons

#: Losses that read the same (input, target) pair and are compared on one chart by default.
FAMILIES: tuple[tuple[str, ...], ...] = (
    ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss"),
    ("BCEWithLogitsLoss", "MultiLabelSoftMarginLoss"),
    ("BCELoss", "MSELoss"),
    ("CrossEntropyLoss", "MultiMarginLoss"),
)


def comparable_losses(setup: Setup) -> list[str]:
    """Other catalog losses that accept this example's tensors as they are, without a warning."""
    slots = {s.name for s in setup.spec.slots}
    out = []
    for name in list_losses():
        if name == setup.loss:
            continue
        spec = get_loss(name)
        if {s.name for s in spec.slots} != slots or not spec.continuous:
            continue
        try:
            other = _retarget(setup, spec)
        except (LossvizInputError, RuntimeError, ValueError, TypeError, IndexError):
            continue
        if (
            math.isfinite(other.value) and not other.warnings
        ):  # a warning means "legal, but not what it is for"
            out.append(name)
    return out


def _retarget(setup: Setup, spec: LossSpec) -> Setup:
    red = setup.reduction if setup.reduction in spec.reductions else spec.default_reduction
    tensors = dict(setup.raw)
    transform = setup.transform if setup.transform in (*spec.transforms, "none") else "none"
    if transform != setup.transform:
        first = setup.spec.predictions[0].name
        tensors[first] = _transform(setup.transform, tensors[first], setup.spec)
    return prepare(spec, tensors, reduction=red, transform=transform)


def default_comparison(setup: Setup) -> list[str]:
    """The family members of this loss that also accept the example (e.g. MSE -> L1, SmoothL1, Huber)."""
    ok = None
    for fam in FAMILIES:
        if setup.loss in fam:
            ok = ok if ok is not None else comparable_losses(setup)
            return [n for n in fam if n != setup.loss and n in ok]
    return []


def compare_curves(
    setup: Setup,
    el: Element,
    losses: Sequence[str],
    *,
    x_range: Sequence[float] | None = None,
    resolution: int = DEFAULT_CURVE_RESOLUTION,
) -> list[Curve]:
    """This loss's curve and the same sweep for each of ``losses`` on the same example."""
    check_element(setup, el)
    notes: list[str] = []
    rng = _resolve_range(setup, el, x_range, notes)
    curves = [compute_curve(setup, el, x_range=rng, resolution=resolution)]
    for name in losses:
        spec = get_loss(name)
        if spec.name == setup.loss:
            continue
        other = _retarget(setup, spec)
        r, _ = check_range(other, el, rng)
        label = spec.name if other.reduction == setup.reduction else f"{spec.name} ({other.reduction})"
        curves.append(compute_curve(other, el, x_range=r, resolution=resolution, name=label))
    return curves


def coinciding(curves: Sequence[Curve]) -> list[tuple[str, str]]:
    """Pairs of curves that draw the same function (one hides the other), e.g. SmoothL1 and Huber at β = δ = 1."""
    out = []
    for i, a in enumerate(curves):
        for b in curves[i + 1 :]:
            if a.xs.shape == b.xs.shape and np.allclose(a.xs, b.xs):
                if np.allclose(
                    a.values, b.values, rtol=100 * EPS, atol=100 * EPS, equal_nan=True
                ) and np.allclose(a.slope, b.slope, rtol=100 * EPS, atol=100 * EPS, equal_nan=True):
                    out.append((a.name, b.name))
    return out


def margin_curves(
    *, x_range: Sequence[float] = (-3.0, 3.0), resolution: int = DEFAULT_CURVE_RESOLUTION
) -> list[Curve]:
    """The classic picture: classification losses of one example against its margin m = y·z (label y = +1).

    BCEWithLogitsLoss and SoftMarginLoss are the logistic loss log(1 + e^(−m)); the hinge is
    MarginRankingLoss(margin=1) of the score against 0, max(0, 1 − m); MSELoss against the label +1
    shows why squared error punishes confident correct answers.
    """
    m = torch.tensor([0.0], dtype=DTYPE)
    one = torch.tensor([1.0], dtype=DTYPE)
    el = Element("input", 0)
    curves = [
        compute_curve(
            prepare("BCEWithLogitsLoss", {"input": m, "target": one}),
            el,
            x_range=x_range,
            resolution=resolution,
            name="BCEWithLogitsLoss (y = 1)",
        ),
        compute_curve(
            prepare("SoftMarginLoss", {"input": m, "target": one}),
            el,
            x_range=x_range,
            resolution=resolution,
            name="SoftMarginLoss (y = +1)",
        ),
        compute_curve(
            prepare(
                "MarginRankingLoss",
                {"input1": m, "input2": torch.zeros(1, dtype=DTYPE), "target": one},
                params={"margin": 1.0},
            ),
            Element("input1", 0),
            x_range=x_range,
            resolution=resolution,
            name="hinge: MarginRankingLoss(margin=1)",
        ),
        compute_curve(
            prepare("MSELoss", {"input": m, "target": one}),
            el,
            x_range=x_range,
            resolution=resolution,
            name="MSELoss (y = 1)",
        ),
    ]
    return curves


def compare_reductions(
    setup: Setup,
    el: Element,
    *,
    x_range: Sequence[float] | None = None,
    resolution: int = DEFAULT_CURVE_RESOLUTION,
) -> list[Curve]:
    """The same sweep under each reduction the loss offers (except 'none', which equals 'sum')."""
    check_element(setup, el)
    notes: list[str] = []
    rng = _resolve_range(setup, el, x_range, notes)
    out = []
    for red in setup.spec.reductions:
        if red == "none":
            continue
        other = setup if red == setup.reduction else _with_reduction(setup, red)
        out.append(compute_curve(other, el, x_range=rng, resolution=resolution, name=f"reduction='{red}'"))
    return out


def _with_reduction(setup: Setup, reduction: str) -> Setup:
    return prepare(
        setup.spec, setup.raw, reduction=reduction, params=_param_inputs(setup), transform=setup.transform
    )


def _param_inputs(setup: Setup) -> dict[str, Any]:
    return {k: v for k, v in setup.params.items() if v is not None}


def reduction_ratio(curves: Sequence[Curve]) -> dict[str, float]:
    """Gradient of each reduction at the current point divided by that of 'mean' (NaN where undefined)."""
    base = next((c for c in curves if c.reduction == "mean"), None)
    out: dict[str, float] = {}
    if base is None or base.current is None:
        return out
    g0 = base.current.grad[0]
    for c in curves:
        if c.current is not None:
            out[c.reduction] = c.current.grad[0] / g0 if g0 != 0 else math.nan
    return out


# --------------------------------------------------------------------------- gradient descent


@dataclass(frozen=True)
class DescentPath:
    """Plain gradient descent on the varied elements from the current example."""

    elements: tuple[Element, ...]
    lr: float
    steps: int  # steps asked for
    points: np.ndarray  # (n + 1, k), the start first
    losses: np.ndarray  # (n + 1,)
    grads: np.ndarray  # (n + 1, k)
    status: str  # converged | diverged | bouncing | descending | stuck
    message: str
    clamped: bool = False

    @property
    def taken(self) -> int:
        return len(self.points) - 1

    @property
    def step_lengths(self) -> np.ndarray:
        return np.linalg.norm(np.diff(self.points, axis=0), axis=1)


def check_descent(lr: Any, steps: Any) -> tuple[float, int]:
    """Validated (learning rate, steps)."""
    try:
        lr_f = float(lr)
    except (TypeError, ValueError):
        raise LossvizInputError(f"the learning rate must be a number, not {str(lr)[:20]!r}") from None
    if not math.isfinite(lr_f) or not 0 < lr_f <= MAX_LR:
        raise LossvizInputError(
            f"the learning rate must be greater than 0 and at most {MAX_LR:g}, not {lr_f:g}"
        )
    try:
        st = int(steps)
        ok = float(steps) == st
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok or not 1 <= st <= MAX_STEPS:
        raise LossvizInputError(
            f"steps must be a whole number from 1 to {MAX_STEPS}, not {str(steps)[:20]!r}"
        )
    return lr_f, st


@_in_engine_threads
def descend(
    setup: Setup,
    elements: Sequence[Element],
    *,
    lr: float,
    steps: int,
    start: Sequence[float] | None = None,
) -> DescentPath:
    """Gradient descent x ← x − lr·∇L on the varied elements; stops early on convergence or divergence.

    A step that leaves an element's domain (BCELoss probabilities, variances) is clamped back to
    its edge, and the path says so.
    """
    lr, steps = check_descent(lr, steps)
    elements = tuple(check_element(setup, e) for e in elements)
    fn = _engine(setup, elements)
    box = np.array([_domain_box(setup, e) for e in elements])
    p = np.array([setup.current(e) for e in elements] if start is None else list(start), dtype=np.float64)
    if p.shape != (len(elements),) or not np.isfinite(p).all():
        raise LossvizInputError("the start of the descent needs one finite number per varied element")
    p = np.clip(p, box[:, 0], box[:, 1])
    pts, losses, grads = [p.copy()], [], []
    clamped = False
    status = ""
    v, g = fn(torch.from_numpy(p[None]))
    losses.append(float(v[0]))
    grads.append(g[0].numpy().copy())
    span0 = 1.0 + float(np.abs(p).max())
    for _ in range(steps):
        gk = grads[-1]
        if not (np.isfinite(gk).all() and math.isfinite(losses[-1])):
            status = "diverged"
            break
        new = pts[-1] - lr * gk
        clipped = np.clip(new, box[:, 0], box[:, 1])
        clamped |= bool((clipped != new).any())
        if np.abs(clipped).max() > 1e4 * span0 + MAX_ABS_RANGE * 1e-3:
            pts.append(clipped)
            status = "diverged"
            v, g = fn(torch.from_numpy(clipped[None]))
            losses.append(float(v[0]))
            grads.append(g[0].numpy().copy())
            break
        pts.append(clipped)
        v, g = fn(torch.from_numpy(clipped[None]))
        losses.append(float(v[0]))
        grads.append(g[0].numpy().copy())
        if np.abs(pts[-1] - pts[-2]).max() <= EPS * (1.0 + np.abs(pts[-2]).max()):
            status = "converged"
            break
    P, L, G = np.array(pts), np.array(losses), np.array(grads)
    status, message = _judge(P, L, G, lr, status, clamped)
    return DescentPath(elements, lr, steps, P, L, G, status, message, clamped)


def _judge(
    P: np.ndarray, L: np.ndarray, G: np.ndarray, lr: float, status: str, clamped: bool
) -> tuple[str, str]:
    """Name what the path did: converged, diverged, bouncing (no shrinking), stuck or still descending."""
    n = len(P) - 1
    s = "s" if n != 1 else ""
    gnorm = float(np.linalg.norm(G[-1])) if np.isfinite(G[-1]).all() else math.inf
    g0 = float(np.linalg.norm(G[0])) if np.isfinite(G[0]).all() else math.inf
    tol = 10 * EPS * (1 + abs(L[0])) if math.isfinite(L[0]) else 0.0
    lengths = np.linalg.norm(np.diff(P, axis=0), axis=1) if n else np.zeros(0)
    tail = G[max(1, n - 9) :]
    flips = int(np.sum(np.any(np.sign(tail[1:]) * np.sign(tail[:-1]) < 0, axis=1))) if len(tail) > 1 else 0
    zigzag = len(tail) > 3 and flips >= (len(tail) - 1) // 2
    if status != "diverged":
        if not np.isfinite(L).all() or L[-1] > L[0] + tol:
            status = "diverged"
        elif status == "converged" or gnorm <= 30 * EPS * (1.0 + g0):
            status = "converged"
        elif zigzag and lengths[-10:].min() > 0 and lengths[-1] >= 0.7 * lengths[-min(10, n)]:
            status = "bouncing"
        elif L[-1] >= L[0] - tol:
            status = "stuck"
        else:
            status = "descending"
    msg = {
        "converged": f"converged after {n} step{s}: the gradient is (almost) zero here.",
        "diverged": f"diverged after {n} step{s}: the loss ended at {L[-1]:.4g}, higher than where it started "
        f"({L[0]:.4g}), because the steps overshoot. The learning rate {lr:g} is too large for this curvature; "
        "try a smaller one.",
        "bouncing": f"after {n} steps the path bounces back and forth across the minimum without the steps "
        "shrinking: either the gradient does not fade near the minimum (L1, hinge), or the learning rate sits "
        "at the edge of stability, so each step overshoots as much as it corrects. A smaller learning rate "
        "makes the bounce smaller.",
        "stuck": f"after {n} steps the loss has not gone down: the path sits on a flat part of the landscape.",
        "descending": f"still going down after {n} steps (loss {L[0]:.4g} → {L[-1]:.4g})"
        + (", zig-zagging across the valley" if zigzag else "")
        + "; more steps or a larger learning rate would get closer to the minimum.",
    }[status]
    if clamped:
        msg += " Some steps left the allowed values and were clamped back to the edge."
    return status, msg


@_in_engine_threads
def suggest_lr(setup: Setup, elements: Sequence[Element], span: float) -> float:
    """A round learning rate whose first step covers about a tenth of ``span`` (1, 2, 5 × 10^k)."""
    fn = _engine(setup, elements)
    _, g = fn(torch.tensor([[setup.current(e) for e in elements]], dtype=DTYPE))
    gn = float(torch.linalg.vector_norm(g[0]))
    if not math.isfinite(gn) or gn < 1e-12:
        return 0.1
    raw = max(min(span / 10.0 / gn, MAX_LR), 1e-6)
    k = math.floor(math.log10(raw))
    for m in (5, 2, 1):
        if m * 10**k <= raw:
            return float(f"{m * 10**k:.6g}")
    return float(f"{10**k:.6g}")


# --------------------------------------------------------------------------- the example a page starts from


@dataclass(frozen=True)
class Example:
    """An example as text, the way the explorer keeps it (and the URL carries it)."""

    loss: str
    texts: tuple[tuple[str, str], ...]  # (slot, text)
    reduction: str
    transform: str = "none"
    params: tuple[tuple[str, str], ...] = ()  # (param, text)
    shapes: tuple[tuple[str, str], ...] = ()  # (slot, shape text)

    def setup(self) -> Setup:
        """Parse and check (``LossvizInputError`` on bad text)."""
        spec = get_loss(self.loss)
        tensors = parse_inputs(spec, dict(self.texts), dict(self.shapes))
        return prepare(
            spec, tensors, reduction=self.reduction, params=dict(self.params), transform=self.transform
        )


#: Small hand-chosen examples that make clear pictures (other losses use their seeded sample).
LANDSCAPE_EXAMPLES: dict[str, tuple[dict[str, str], str] | tuple[dict[str, str], str, str]] = {
    "MSELoss": ({"input": "2.0, -1.0, 0.5", "target": "0.5, 1.0, 0.5"}, "mean"),
    "L1Loss": ({"input": "2.0, -1.0, 0.5", "target": "0.5, 1.0, 0.5"}, "mean"),
    "SmoothL1Loss": ({"input": "2.0, -1.0, 0.5", "target": "0.5, 1.0, 0.5"}, "mean"),
    "HuberLoss": ({"input": "2.0, -1.0, 0.5", "target": "0.5, 1.0, 0.5"}, "mean"),
    "CrossEntropyLoss": ({"input": "[[0.1, 0.2, 0.3], [1.0, -0.5, 0.2]]", "target": "1, 0"}, "mean"),
    "NLLLoss": ({"input": "[[0.1, 0.2, 0.3], [1.0, -0.5, 0.2]]", "target": "1, 0"}, "mean", "log_softmax"),
    "KLDivLoss": (
        {"input": "[[0.2, 1.1, 0.4], [1.0, 0.1, 0.6]]", "target": "[[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]]"},
        "batchmean",
        "log_softmax",
    ),
    "BCELoss": ({"input": "0.3, 0.8, 0.6", "target": "1., 0., 1."}, "mean"),
    "BCEWithLogitsLoss": ({"input": "-0.5, 1.2, 0.3", "target": "1., 0., 1."}, "mean"),
    "SoftMarginLoss": ({"input": "-0.5, 1.2, 0.3", "target": "1., -1., 1."}, "mean"),
    "HingeEmbeddingLoss": ({"input": "0.3, 1.5, 0.2, 0.8", "target": "1, -1, -1, 1"}, "mean"),
    "MultiMarginLoss": ({"input": "[[0.1, 0.2, 0.3], [1.0, -0.5, 0.2]]", "target": "1, 0"}, "mean"),
    "PoissonNLLLoss": ({"input": "0.5, 1.0, -0.2", "target": "2., 3., 0."}, "mean"),
    "GaussianNLLLoss": ({"input": "0.5, 2.0", "target": "1.5, 1.0", "var": "0.5, 1.0"}, "mean"),
    "MarginRankingLoss": ({"input1": "0.2, 1.0", "input2": "0.8, 0.1", "target": "1., -1."}, "mean"),
}

DEFAULT_LOSS = "MSELoss"


def example_for(loss: str) -> Example:
    """The example the landscape opens with for ``loss``."""
    spec = get_loss(loss)
    if spec.name in LANDSCAPE_EXAMPLES:
        texts, red, *rest = LANDSCAPE_EXAMPLES[spec.name]
        red = red if red in spec.reductions else spec.default_reduction
        return Example(spec.name, tuple(texts.items()), red, rest[0] if rest else "none")
    from lossviz.losses.parsing import format_tensor

    g = torch.Generator().manual_seed(0)
    t = spec.sample(g)
    return Example(
        spec.name, tuple((k, format_tensor(v, digits=4)) for k, v in t.items()), spec.default_reduction
    )


def read_example(state: Mapping[str, Any]) -> tuple[Example, list[str]]:
    """The explorer's example from its keys (``loss``, ``reduction``, ``transform``, ``t_<slot>``,
    ``s_<slot>``, ``p_<param>``), with a plain note for anything that cannot be used.

    Missing texts fall back to this page's example for the loss; an unknown loss falls back to
    ``DEFAULT_LOSS``. Nothing is parsed here (``Example.setup`` does that).
    """
    notes: list[str] = []
    name = state.get("loss")
    if not name:
        return example_for(DEFAULT_LOSS), notes
    try:
        spec = get_loss(str(name)[:80])
    except LossvizInputError as exc:
        notes.append(f"{exc}. Showing {DEFAULT_LOSS} instead.")
        return example_for(DEFAULT_LOSS), notes
    base = example_for(spec.name)
    texts = {s.name: state.get(f"t_{s.name}") for s in spec.slots}
    if any(not isinstance(v, str) or not v.strip() for v in texts.values()):
        return base, notes
    red = str(state.get("reduction") or spec.default_reduction)
    if red not in spec.reductions:
        notes.append(
            f"reduction {red[:20]!r} is not one of {', '.join(spec.reductions)}; using {spec.default_reduction}."
        )
        red = spec.default_reduction
    tr = str(state.get("transform") or "none")
    if tr not in TRANSFORMS:
        notes.append(f"transform {tr[:20]!r} is unknown; using none.")
        tr = "none"
    params = tuple(
        (p.name, str(state[f"p_{p.name}"])) for p in spec.params if state.get(f"p_{p.name}") not in (None, "")
    )
    shapes = tuple(
        (s.name, str(state[f"s_{s.name}"])) for s in spec.slots if str(state.get(f"s_{s.name}") or "").strip()
    )
    return Example(spec.name, tuple((k, str(v)) for k, v in texts.items()), red, tr, params, shapes), notes
