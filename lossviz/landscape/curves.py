"""1-D loss curves: the loss and its slope as one element sweeps a range, and the comparisons built on
them (other losses on the same example, each reduction, the classic margin picture).

Example:
    >>> setup = prepare("MSELoss", {"input": torch.tensor([2.0]), "target": torch.tensor([0.5])})
    >>> c = compute_curve(setup, Element("input", 0), x_range=(-1.0, 1.0), resolution=5)
    >>> [round(float(v), 2) for v in c.values]
    [2.25, 1.0, 0.25, 0.0, 0.25]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lossviz.errors import LossvizInputError
from lossviz.landscape.elements import (
    DEFAULT_CURVE_RESOLUTION,
    DTYPE,
    EPS,
    MAX_CURVE_RESOLUTION,
    Element,
    Point,
    Setup,
    check_element,
    check_range,
    check_resolution,
    element_label,
    prepare,
)
from lossviz.landscape.engine import _in_engine_threads, make_engine
from lossviz.landscape.surfaces import _notes_for, _resolve_range
from lossviz.losses import LossSpec, get_loss, list_losses
from lossviz.losses.evaluate import apply_transform


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
    fn = make_engine(setup, (el,))
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
        tensors[first] = apply_transform(setup.transform, tensors[first], setup.spec)
    return prepare(spec, tensors, reduction=red, transform=transform)


def default_comparison(setup: Setup) -> list[str]:
    """The spec's family members that also accept the example (e.g. MSE -> L1, SmoothL1, Huber)."""
    family = setup.spec.family
    if not family:
        return []
    ok = comparable_losses(setup)
    return [n for n in family if n != setup.loss and n in ok]


def _sweep_range(setup: Setup, el: Element, x_range: Sequence[float] | None) -> tuple[float, float]:
    """The one range every curve of a comparison sweeps (checked and clipped once)."""
    check_element(setup, el)
    return _resolve_range(setup, el, x_range, [])


def compare_curves(
    setup: Setup,
    el: Element,
    losses: Sequence[str],
    *,
    x_range: Sequence[float] | None = None,
    resolution: int = DEFAULT_CURVE_RESOLUTION,
) -> list[Curve]:
    """This loss's curve and the same sweep for each of ``losses`` on the same example."""
    rng = _sweep_range(setup, el, x_range)
    curves = [compute_curve(setup, el, x_range=rng, resolution=resolution)]
    for name in losses:
        spec = get_loss(name)
        if spec.name == setup.loss:
            continue
        other = _retarget(setup, spec)
        r, _ = check_range(other, el, rng)
        label = spec.name if other.reduction == setup.reduction else f"{spec.name} ({other.reduction})"
        curves.append(compute_curve(other, el, x_range=r, resolution=resolution, name=label))
    return curves + family_curves(setup, el, x_range=rng, resolution=resolution)


def family_curves(
    setup: Setup,
    el: Element,
    *,
    x_range: Sequence[float] | None = None,
    resolution: int = DEFAULT_CURVE_RESOLUTION,
) -> list[Curve]:
    """The same sweep for each value of the spec's ``curve_family`` parameter (e.g. focal loss's γ): what the
    parameter does, drawn as a family of curves. Empty for a loss without one."""
    if not setup.spec.curve_family:
        return []
    name, values = setup.spec.curve_family
    rng = _sweep_range(setup, el, x_range)
    out = []
    for v in values:
        member = prepare(setup.spec, setup.raw, reduction=setup.reduction,
                         params={**_param_inputs(setup), name: v}, transform=setup.transform)
        out.append(compute_curve(member, el, x_range=rng, resolution=resolution, name=f"{name} = {v:g}"))
    return out


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
    zero = torch.zeros(1, dtype=DTYPE)
    # (legend, loss, tensors, params, the varied slot): one row per curve
    table: tuple[tuple[str, str, dict[str, torch.Tensor], dict[str, Any], str], ...] = (
        ("BCEWithLogitsLoss (y = 1)", "BCEWithLogitsLoss", {"input": m, "target": one}, {}, "input"),
        ("SoftMarginLoss (y = +1)", "SoftMarginLoss", {"input": m, "target": one}, {}, "input"),
        ("hinge: MarginRankingLoss(margin=1)", "MarginRankingLoss", {"input1": m, "input2": zero, "target": one},
         {"margin": 1.0}, "input1"),
        ("MSELoss (y = 1)", "MSELoss", {"input": m, "target": one}, {}, "input"),
    )
    return [
        compute_curve(prepare(loss, tensors, params=params), Element(slot, 0), x_range=x_range,
                      resolution=resolution, name=name)
        for name, loss, tensors, params, slot in table
    ]


def compare_reductions(
    setup: Setup,
    el: Element,
    *,
    x_range: Sequence[float] | None = None,
    resolution: int = DEFAULT_CURVE_RESOLUTION,
) -> list[Curve]:
    """The same sweep under each reduction the loss offers (except 'none', which equals 'sum')."""
    rng = _sweep_range(setup, el, x_range)
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


