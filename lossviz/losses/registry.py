"""The loss catalog: one typed spec per ``torch.nn`` loss.

A registry in the spirit of timm's ``_registry.py``: ``register_loss`` adds a
spec, ``list_losses()`` and ``get_loss(name)`` read them. Tests are
parametrized over the registry, so a newly registered loss is tested for free.

Each spec says what the tensors mean (slots), which constructor parameters the
loss has (with type, default and valid range), its formula in LaTeX, a title and
advice (English message ids, shown translated through lossviz.i18n), a checker
that turns legal-but-odd input into warnings and illegal input into a plain
``LossvizInputError``, and a seeded sampler of valid inputs.

Example:
    >>> spec = get_loss("CrossEntropyLoss")
    >>> [s.name for s in spec.slots]
    ['input', 'target']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg
from lossviz.losses.parsing import MAX_INT, MIN_INT, ascii_twins, parse_number

Tensor = torch.Tensor
Role = Literal["prediction", "target", "aux"]
ParamKind = Literal["float", "int", "bool", "choice", "tensor"]


@dataclass(frozen=True)
class TensorSlot:
    """One tensor argument of the loss's ``forward``, in call order."""

    name: str  # torch's argument name: input, target, input1, var, anchor, log_probs, ...
    label: str  # what the page calls it
    role: Role  # prediction slots get gradients; target/aux do not
    dtype: Literal["float", "long", "any"]
    doc: str  # the shape and dtype rule, one sentence
    cli: str  # CLI option name without dashes: input, target, input2, var, ...

    @property
    def differentiable(self) -> bool:
        return self.role == "prediction"


@dataclass(frozen=True)
class ParamSpec:
    """A constructor parameter with its valid range."""

    name: str
    kind: ParamKind
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: the bound itself is not allowed
    high_open: bool = False
    choices: tuple[Any, ...] = ()
    optional: bool = False  # tensor params: None means "not given"
    #: choice params whose torch value is a Python object (a distance function): choice -> object
    objects: Mapping[Any, Any] = field(default_factory=dict)
    #: choice -> the source text the PyTorch snippet writes for it (defaults to ``repr``)
    code: Mapping[Any, str] = field(default_factory=dict)

    def range_text(self) -> Message:
        """The valid values in words (a message: the page and the CLI render it in their language)."""
        if self.kind == "choice":
            return msg("one of {values}", values=", ".join(map(str, self.choices)))
        if self.low is None and self.high is None:
            return msg("any value")
        lo = "" if self.low is None else (f"> {self.low:g}" if self.low_open else f"≥ {self.low:g}")
        hi = "" if self.high is None else (f"< {self.high:g}" if self.high_open else f"≤ {self.high:g}")
        return msg("{lo} and {hi}", lo=lo, hi=hi) if lo and hi else msg("{bound}", bound=lo or hi)

    def below_low(self, value: Any) -> bool:
        """A tensor value with entries below ``low`` (legal for torch, but worth a warning)."""
        return (
            self.kind == "tensor" and self.low is not None and isinstance(value, torch.Tensor)
            and bool((value < self.low).any())
        )

    def coerce(self, value: Any, loss: str) -> Any:
        """Check one user value (already a Python scalar or tensor); return the clean value."""
        where = f"{loss}: parameter {self.name}"
        if self.kind == "tensor":
            if value is None:
                return None
            if not isinstance(value, torch.Tensor):
                raise LossvizInputError(msg("{where} must be a list of numbers", where=where))
            # a single number stays 0-d: torch broadcasts it (BCELoss's 0-d weight on a 0-d input); the
            # loss's checker decides by torch's own rule (torch.broadcast_shapes, or one weight per class)
            if value.dtype == torch.bool:
                raise LossvizInputError(msg(
                    "{where} is true/false values; a weight is a number per element or class (write 1. and 0.)",
                    where=where,
                ))
            if value.is_complex():
                raise LossvizInputError(msg(
                    "{where} holds complex numbers; a weight is a real number (PyTorch would drop the imaginary "
                    "part with a warning), so give real numbers",
                    where=where,
                ))
            value = value.to(torch.float32)
            if not torch.isfinite(value).all():
                raise LossvizInputError(msg("{where} must hold finite numbers", where=where))
            # torch takes any finite weight: values below ``low`` are odd, not illegal, so
            # evaluate() warns about them (``below_low``) instead of refusing
            return value
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
                return value.strip().lower() in ("true", "1", "yes", "on")
            if isinstance(value, int | float) and value in (0, 1):
                return bool(value)
            raise LossvizInputError(msg("{where} must be true or false, not {short_value}", where=where, short_value=_short(value)))
        if self.kind == "choice":
            for c in self.choices:
                if value == c or (isinstance(value, str) and ascii_twins(value).strip() == str(c)):
                    return c
            raise LossvizInputError(msg(
                "{where} must be {range_text}, not {short_value}",
                where=where, range_text=self.range_text(), short_value=_short(value),
            ))
        # numbers: text through the safe parser (ASCII digits, no 5,000-digit int(), int64 for whole numbers)
        whole = self.kind == "int"
        num: float | int
        if isinstance(value, str):
            num = parse_number(value, name=where, whole=whole)
        elif whole and isinstance(value, int) and not isinstance(value, bool):
            num = value  # exact: a float would round 2**63 - 1
        else:
            try:
                num = float(value)
            except (TypeError, ValueError, OverflowError):
                raise LossvizInputError(msg("{where} must be a number, not {short_value}", where=where, short_value=_short(value))) from None
            if not math.isfinite(num):
                raise LossvizInputError(msg(
                    "{where} must be a finite number, not {short_value}",
                    where=where, short_value=_short(value),
                ))
            if whole:
                if num != math.floor(num):
                    raise LossvizInputError(msg("{where} must be a whole number, not {short_value}", where=where, short_value=_short(value)))
                num = int(num)
        if whole and not MIN_INT <= num <= MAX_INT:
            # torch keeps integer parameters in int64 (OverflowError beyond); say so before it does
            raise LossvizInputError(
                msg(
                    "{where} must be a whole number from {min_int} to {max_int} (64 bits), not {short_value}",
                    where=where, min_int=MIN_INT, max_int=MAX_INT, short_value=_short(value),
                )
            )
        bad = (
            (self.low is not None and (num <= self.low if self.low_open else num < self.low))
            or (self.high is not None and (num >= self.high if self.high_open else num > self.high))
        )
        if bad:
            raise LossvizInputError(msg(
                "{where} must be {range_text}, not {short_value}",
                where=where, range_text=self.range_text(), short_value=_short(value),
            ))
        return num


def _short(value: Any) -> str:
    """``repr(value)`` cut to a readable length (a 5,000-digit int cannot even be printed in full)."""
    try:
        text = repr(value)
    except ValueError:  # an int over Python's 4,300-digit limit
        return f"a number of {value.bit_length():,} bits" if isinstance(value, int) else "that value"
    return text if len(text) <= 40 else f"{text[:24]}…{text[-8:]} ({len(text):,} characters)"


Checker = Callable[[dict[str, Tensor], dict[str, Any]], tuple[dict[str, Tensor], list[str]]]
Sampler = Callable[[torch.Generator], dict[str, Tensor]]
#: One number of one prediction tensor: (slot, flat row-major index).
ElementRef = tuple[str, int]
#: (tensors as the loss sees them, params) -> the two elements the landscape varies first, or None.
PairRule = Callable[[Mapping[str, Tensor], Mapping[str, Any]], tuple[ElementRef, ElementRef] | None]
#: (slot, params, transform) -> (low, high, why) of the values a prediction slot may take, or None.
DomainRule = Callable[[str, Mapping[str, Any], str], tuple[float, float, Message] | None]
#: (slot, multi-index, axis label, tensors, params, transform) -> why this element cannot change the loss.
FlatRule = Callable[[str, tuple[int, ...], str, Mapping[str, Tensor], Mapping[str, Any], str], Message | None]
#: Batch layouts the landscape engine knows (lossviz.landscape.engine.LAYOUTS): grid points stacked
#: into the loss's own batch dimension instead of vmap.
BATCH_LAYOUTS = ("elementwise", "per_sample", "per_sample_weighted", "ctc")


def class_dim(ndim: int, *, classes_last: bool = False) -> int:
    """The class dimension of a (C), (N, C) or (N, C, d1, ...) input: 0 for one sample, else 1.

    The one place this rule is written; ``classes_last`` (CTC's (T, N, C)) puts it last.

    Example:
        >>> class_dim(1), class_dim(2), class_dim(4), class_dim(3, classes_last=True)
        (0, 1, 1, -1)
    """
    if classes_last:
        return -1
    return 0 if ndim <= 1 else 1


@dataclass(frozen=True)
class LandscapeExample:
    """A small hand-chosen example that draws a clear landscape (texts by slot name)."""

    texts: Mapping[str, str]
    reduction: str = "mean"
    transform: str = "none"


def _chance_log(num_classes: int, options: Mapping[str, Any]) -> float:
    return math.log(num_classes)


@dataclass(frozen=True)
class TrainingUse:
    """How the loss trains a 10-class network from its raw scores (lossviz.training)."""

    doc: str  # one line for the training page's help
    transform: str = "none"  # applied to the scores first (NLLLoss: log_softmax)
    options: tuple[str, ...] = ()  # constructor parameters the trainer sets (label_smoothing, margin)
    #: the loss of a network that cannot tell the classes apart: (classes, options) -> loss
    chance: Callable[[int, Mapping[str, Any]], float] = _chance_log


#: The dimension names specs use in ``dim_names``, marked here once for the translation catalog
#: (a name outside this list still works; it is shown as written).
DIMENSION_NAMES = (
    N_("sample"), N_("class"), N_("box"), N_("coordinate"), N_("pair"), N_("dim"), N_("triplet"), N_("row"),
    N_("time"), N_("sequence"),
)  # fmt: skip


@dataclass(frozen=True)
class LossSpec:
    """Everything lossviz knows about one loss."""

    name: str
    cls: type[nn.Module]
    title: str  # a short English name, marked N_ where defined (the page shows it translated)
    task: str  # regression, classification, multi-label, probabilistic, ranking, embedding, sequence
    slots: tuple[TensorSlot, ...]
    params: tuple[ParamSpec, ...]
    formula: str  # LaTeX
    advice: str  # English, marked N_; translated where it is shown
    check: Checker
    sample: Sampler
    reductions: tuple[str, ...] = ("none", "mean", "sum")
    default_reduction: str = "mean"
    transforms: tuple[str, ...] = ()  # optional transforms of the prediction the tutorials use
    continuous: bool = True  # the prediction is continuous (the landscape can vary it)
    #: what one element of ``reduction='none'`` output stands for
    per_element_means: str = N_("one loss per element of the input")
    #: legal reductions that deserve a warning, with the sentence to show
    reduction_warnings: Mapping[str, str] = field(default_factory=dict)
    #: a parameter whose values the loss-curve view overlays, e.g. ``("gamma", (0, 0.5, 1, 2, 5))`` for focal
    #: loss: the family of curves shows what the parameter does
    curve_family: tuple[str, tuple[float, ...]] | tuple[()] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    # --- what the landscape needs (lossviz.landscape reads these; it never asks for a loss by name)
    #: the letter each prediction slot is called on axes (slot -> symbol); default: the slot name
    symbols: Mapping[str, str] = field(default_factory=dict)
    #: names of the dimensions of a prediction, by its number of dimensions (2 -> ("sample", "class")):
    #: English msgids, translated where shown (the usual ones are marked in ``DIMENSION_NAMES``)
    dim_names: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    #: the class dimension is the last one (CTC's (T, N, C)) instead of ``class_dim``'s rule
    classes_last: bool = False
    #: one of BATCH_LAYOUTS when torch's kernels have no vmap rule (or batching is faster); None: vmap
    batch_layout: str | None = None
    #: losses of the same family the landscape overlays on this one's curve by default
    family: tuple[str, ...] = ()
    #: the example the landscape opens with (None: the seeded sample)
    landscape_example: LandscapeExample | None = None
    #: which two elements the landscape varies first (None: the first two of the first prediction)
    default_pair: PairRule | None = None
    #: the domain of a prediction slot (BCELoss's (0, 1), a variance > 0); None: unrestricted
    domain: DomainRule | None = None
    #: why an element cannot change the loss, when the example itself says so
    flat_reason: FlatRule | None = None
    # --- elsewhere
    #: the loss recomputed by hand, step by step (lossviz.losses.derivations); None: no derivation yet
    derive: Callable[[Any], Any] | None = None
    #: whether and how it trains a 10-class network (None: it does not)
    training: TrainingUse | None = None
    #: a hint appended when the loss comes out inf or NaN
    nonfinite_hint: str = ""

    def __post_init__(self) -> None:
        if self.batch_layout is not None and self.batch_layout not in BATCH_LAYOUTS:
            raise ValueError(f"{self.name}: batch_layout must be one of {BATCH_LAYOUTS}, not {self.batch_layout!r}")

    def symbol(self, slot: str) -> str:
        """The letter ``slot`` is called on axes (``z`` for logits, ``σ²`` for a variance)."""
        return self.symbols.get(slot, slot)

    def class_dim(self, ndim: int) -> int:
        """The class dimension of this loss's first prediction when it has ``ndim`` dimensions."""
        return class_dim(ndim, classes_last=self.classes_last)
    #: for a loss that is a function rather than an ``nn`` module (torchvision's detection losses):
    #: its import path, e.g. "torchvision.ops.sigmoid_focal_loss"; ``cls`` then wraps it in a module
    function: str = ""

    @property
    def torch_name(self) -> str:
        """What the user would call in PyTorch: ``nn.MSELoss`` or ``torchvision.ops.sigmoid_focal_loss``."""
        return self.function or f"nn.{self.cls.__name__}"

    @property
    def predictions(self) -> tuple[TensorSlot, ...]:
        return tuple(s for s in self.slots if s.role == "prediction")

    def slot(self, name: str) -> TensorSlot:
        for s in self.slots:
            if s.name == name:
                return s
        raise KeyError(name)

    def param(self, name: str) -> ParamSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def build(self, reduction: str, params: Mapping[str, Any]) -> nn.Module:
        """The torch module itself, with the chosen reduction and checked params."""
        kwargs: dict[str, Any] = {}
        for k, v in params.items():
            if v is None:
                continue
            objects = next((p.objects for p in self.params if p.name == k), {})
            kwargs[k] = objects.get(v, v) if objects else v
        return self.cls(reduction=reduction, **kwargs)


_REGISTRY: dict[str, LossSpec] = {}


def register_loss(spec: LossSpec) -> LossSpec:
    """Add ``spec`` to the catalog (names are unique)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"loss {spec.name} is registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def unregister_loss(name: str) -> None:
    """Remove ``name`` from the catalog (for tests that register a toy loss)."""
    _REGISTRY.pop(name, None)


def list_losses() -> list[str]:
    """Names of every registered loss, in catalog order."""
    return list(_REGISTRY)


def get_loss(name: str) -> LossSpec:
    """The spec for ``name`` (case-insensitive; ``nn.`` prefix and ``Loss`` suffix optional)."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    key = str(name).strip().removeprefix("nn.").removeprefix("torch.nn.").lower()
    for n, spec in _REGISTRY.items():
        if key in (n.lower(), n.lower().removesuffix("loss")):
            return spec
    shown = str(name)[:60]
    raise LossvizInputError(msg("unknown loss {name}; choose one of: {names}", name=repr(shown), names=", ".join(_REGISTRY)))

