"""Checks shared by the loss specs: shapes, class indices, ±1 labels, weights, samplers."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg
from lossviz.losses.registry import ElementRef, Tensor, class_dim

# --------------------------------------------------------------------------- helpers


def _shape(t: Tensor) -> str:
    return "(" + ", ".join(str(d) for d in t.shape) + ("," if t.dim() == 1 else "") + ")"


def _as_float(t: Tensor) -> Tensor:
    """Whole numbers as float32: only where torch itself promotes them (the values stay the same).

    Targets of losses whose torch kernels refuse integer tensors go through ``_need_float`` instead.
    """
    return t if t.is_floating_point() else t.to(torch.float32)


class Broadcast(Message):
    """A warning that torch pairs two tensors of different shapes by broadcasting (a message like any
    other; code asks ``isinstance(w, Broadcast)`` instead of searching the text)."""


class Misfit(Message):
    """A warning that values lie outside what the loss reads (probabilities outside [0, 1], a negative
    count): torch computes, so lossviz does too, but an example switched to this loss should not keep
    such numbers (``Example.with_loss`` asks the type, like ``Broadcast``)."""


class TorchSaid(LossvizInputError):
    """A refusal where torch itself refuses: the sentence explains it in the reader's language, and
    ``torch_said`` keeps torch's own words (English) for a folded detail on the page and the CLI's line.
    ``str()`` (the English form) carries both."""

    def __init__(self, message: Any, torch_said: str) -> None:
        super().__init__(message)
        self.torch_said = torch_said
        self.args = (f"{message} (PyTorch: “{torch_said}”)",)


class NeedsFloat(TorchSaid):
    """Whole numbers in ``slot`` where torch wants floats: the page offers a one-click cast (``slot``)."""

    def __init__(self, message: Any, torch_said: str, slot: str) -> None:
        super().__init__(message, torch_said)
        self.slot = slot


def _need_float(loss: str, slot: str, t: Tensor, torch_says: str, fix: str | Message) -> Tensor:
    """Refuse an integer ``slot`` where torch refuses it, explaining torch's words and giving the fix."""
    if t.is_floating_point():
        return t
    raise NeedsFloat(
        msg(
            "{loss}: {slot} is whole numbers ({replace_value}), and PyTorch refuses them here (it wants decimal "
            "numbers, floats); {fix}",
            loss=loss, slot=slot, replace_value=str(t.dtype).replace('torch.', ''),
            fix=fix if isinstance(fix, Message) else Message(fix),
        ),
        torch_says,
        slot,
    )


def _same_or_broadcast(loss: str, a: str, ta: Tensor, b: str, tb: Tensor, warnings: list[str]) -> None:
    if ta.shape == tb.shape:
        return
    try:
        out = torch.broadcast_shapes(ta.shape, tb.shape)
    except RuntimeError:
        raise LossvizInputError(
            msg(
                "{loss}: {a} has shape {shape_ta} but {b} has shape {shape_tb}; give them the same shape "
                "(one {b} value per {a} value)",
                loss=loss, a=a, shape_ta=_shape(ta), b=b, shape_tb=_shape(tb),
            )
        ) from None
    warnings.append(Broadcast(
        N_("{a} has shape {shape_a} but {b} has shape {shape_b}; PyTorch broadcasts them to {out}, pairing every "
           "{a} value with every {b} value. That is almost always a bug: give them the same shape."),
        dict(a=a, shape_a=_shape(ta), b=b, shape_b=_shape(tb), out=str(tuple(out))),
    ))


def _need_same(loss: str, a: str, ta: Tensor, b: str, tb: Tensor) -> None:
    if ta.shape != tb.shape:
        raise LossvizInputError(
            msg(
                "{loss}: {a} has shape {shape_ta} but {b} has shape {shape_tb}; they must have the same "
                "shape",
                loss=loss, a=a, shape_ta=_shape(ta), b=b, shape_tb=_shape(tb),
            )
        )


def _pm_one(loss: str, slot: str, t: Tensor, warnings: list, zero_note: str) -> None:
    vals = t.to(torch.float32)
    odd = ~((vals == 1) | (vals == -1))
    if odd.any():
        found = sorted({float(v) for v in vals[odd].flatten()[:5].tolist()})
        shown = ", ".join(f"{v:g}" for v in found)
        if zero_note:
            warnings.append(msg(
                "{slot} labels should be 1 or -1, but found {found}. {note} Write -1 for the negative class (labels "
                "0/1 belong to BCE-style losses).", slot=slot, found=shown, note=Message(zero_note),
            ))
        else:
            warnings.append(msg(
                "{slot} labels should be 1 or -1, but found {found}. Write -1 for the negative class (labels 0/1 "
                "belong to BCE-style losses).", slot=slot, found=shown,
            ))


def _class_indices(loss: str, t: Tensor, n_classes: int, ignore_index: int | None, slot: str = "target") -> Tensor:
    if t.is_floating_point():
        if torch.isfinite(t).all() and (t == t.round()).all():
            raise LossvizInputError(
                msg(
                    "{loss}: {slot} holds class indices written as decimals ({item}); class indices must be "
                    "whole numbers such as 0, 1, 2 (write 1, not 1.0)",
                    loss=loss, slot=slot, item=format(t.flatten()[0].item(), 'g'),
                )
            )
        raise LossvizInputError(
            msg(
                "{loss}: {slot} must hold whole class indices such as 0, 1, 2, but it has fractions; for "
                "soft labels give a probability for every class (the same shape as the input)",
                loss=loss, slot=slot,
            )
        )
    bad = (t < 0) | (t >= n_classes)
    if ignore_index is not None:
        bad &= t != ignore_index
    if bad.any():
        v = int(t[bad].flatten()[0])
        if ignore_index is not None:
            raise LossvizInputError(
                msg(
                    "{loss}: class index {v} is out of range; with {n_classes} classes (input's class "
                    "dimension) the indices run from 0 to {n_classes2} (or the ignore_index {ignore_index})",
                    loss=loss, v=v, n_classes=n_classes, n_classes2=n_classes - 1, ignore_index=ignore_index,
                )
            )
        raise LossvizInputError(
            msg(
                "{loss}: class index {v} is out of range; with {n_classes} classes (input's class "
                "dimension) the indices run from 0 to {n_classes2}",
                loss=loss, v=v, n_classes=n_classes, n_classes2=n_classes - 1,
            )
        )
    return t


_SINGULAR = {"classes": "class"}


def _weight_len(loss: str, params: dict[str, Any], name: str, n: int, what: str) -> None:
    w = params.get(name)
    if w is not None and w.dim() != 1:
        # torch: "weight tensor should be defined either for all C classes or no classes" / "must be
        # one-dimensional": a per-class weight is a list, never a single number or a matrix
        raise LossvizInputError(
            msg(
                "{loss}: {name} has shape {shape}, but PyTorch takes a list of one {name} per class here ({n} "
                "{what}), e.g. [1., 2., 1.]",
                loss=loss, name=name, shape=_shape(w), n=n, what=what,
            )
        )
    if w is not None and w.numel() != n:
        raise LossvizInputError(
            msg(
                "{loss}: {name} has {numel} values but there are {n} {what}; give exactly one {name} per "
                "{get_what}",
                loss=loss, name=name, numel=w.numel(), n=n, what=what, get_what=_SINGULAR.get(what, what),
            )
        )


def _rand(g: torch.Generator, *shape: int) -> Tensor:
    return torch.randn(*shape, generator=g)


def _randint(g: torch.Generator, high: int, *shape: int) -> Tensor:
    return torch.randint(0, high, shape, generator=g)


def _pm(g: torch.Generator, *shape: int) -> Tensor:
    return (torch.randint(0, 2, shape, generator=g) * 2 - 1).to(torch.float32)


REDUCTION_DOC = {
    "none": N_("keep one loss per element (no reduction)"),
    "mean": N_("average the per-element losses"),
    "sum": N_("add the per-element losses"),
    "batchmean": N_("sum, then divide by the batch size (the KL divergence of the maths)"),
}




def _class_dim_info(loss: str, x: Tensor) -> tuple[int, int]:
    """(class dim, number of classes) for (C), (N, C) or (N, C, d1, ...) inputs."""
    if x.dim() == 0:
        raise LossvizInputError(
            msg(
                "{loss}: input is a single number; give one score per class, e.g. [0.1, 0.2, 0.3] (one "
                "sample) or one row per sample",
                loss=loss,
            )
        )
    cdim = class_dim(x.dim())
    return cdim, x.shape[cdim]


def _index_target_shape(x: Tensor) -> tuple[int, ...]:
    return () if x.dim() == 1 else (x.shape[0], *x.shape[2:])


def _check_index_target(
    loss: str, x: Tensor, y: Tensor, n_classes: int, ignore_index: int | None, *, one_elem_ok: bool = False
) -> Tensor:
    want = _index_target_shape(x)
    if x.dim() == 1 and tuple(y.shape) == (1,) and not y.is_floating_point():
        # MultiMarginLoss takes a 1-element target (1,) for one sample (C); so do CrossEntropyLoss and NLLLoss
        # when C is 1 (their backward pass compares the sizes of input and target)
        if one_elem_ok or n_classes == 1:
            return _class_indices(loss, y, n_classes, ignore_index)
        raise LossvizInputError(
            msg(
                "{loss}: input {shape_x} is one sample and target {shape_y} is a list of one class index;"
                " PyTorch computes the value for that, but its own backward pass then fails (“size "
                "mismatch (got input: [{n_classes}], target: [1])”), so there is no gradient. Give the "
                "class index as a single number such as {reshape_value} (not [{reshape_value}])",
                loss=loss, shape_x=_shape(x), shape_y=_shape(y), n_classes=n_classes, reshape_value=int(y.reshape(-1)[0]),
            )
        )
    if tuple(y.shape) != want:
        if x.dim() == 1:
            raise LossvizInputError(
                msg(
                    "{loss}: input {shape_x} is one sample with {n_classes} class scores, so target must be "
                    "one class index (a single number such as 1), but it has shape {shape_y}; for several "
                    "samples give input one row per sample",
                    loss=loss, shape_x=_shape(x), n_classes=n_classes, shape_y=_shape(y),
                )
            )
        if y.dim() == 1 and x.dim() == 2:
            raise LossvizInputError(
                msg(
                    "{loss}: target has {shape} class indices but input has {shape2} row(s) (batch size "
                    "{shape2}); give one class index per input row (target of shape ({shape2},)), or add rows"
                    " to the input",
                    loss=loss, shape=y.shape[0], shape2=x.shape[0],
                )
            )
        raise LossvizInputError(
            msg(
                "{loss}: input has shape {shape_x}, so class-index targets must have shape {want} (the "
                "input's shape without the class dimension {class_dim_dim}), but target has shape "
                "{shape_y}",
                loss=loss, shape_x=_shape(x), want=want, class_dim_dim=class_dim(x.dim()), shape_y=_shape(y),
            )
        )
    return _class_indices(loss, y, n_classes, ignore_index)


def _looks_like_probabilities(x: Tensor, cdim: int) -> bool:
    if x.numel() == 0 or x.shape[cdim] < 2:
        return False
    s = x.sum(dim=cdim)
    return bool(((x >= 0) & (x <= 1)).all() and torch.allclose(s, torch.ones_like(s), atol=1e-3))


# --------------------------------------------------------------------------- landscape rules shared by specs


def _flat(shape: tuple[int, ...], idx: tuple[int, ...]) -> int:
    out = 0
    for d, i in zip(shape, idx, strict=True):
        out = out * d + i
    return out


def true_and_rival(t: Mapping[str, Tensor], p: Mapping[str, Any]) -> tuple[ElementRef, ElementRef] | None:
    """The landscape's first pair for class scores: the first sample's true class and its strongest rival."""
    x, y = t["input"], t["target"]
    if x.dim() < 1:
        return None
    cdim = class_dim(x.dim())
    c = x.shape[cdim]
    if c < 2:
        return None
    shape = tuple(x.shape)

    def at(cls: int) -> ElementRef:
        idx = [0] * x.dim()
        idx[cdim] = cls
        return ("input", _flat(shape, tuple(idx)))

    if not y.is_floating_point() and y.numel():
        true = int(y.reshape(-1)[0])
        if 0 <= true < c:
            row = x.reshape(-1, c)[0] if x.dim() <= 2 else x[0, :, *([0] * (x.dim() - 2))]
            rival = max((k for k in range(c) if k != true), key=lambda k: float(row[k]))
            return at(true), at(rival)
    return at(0), at(1)


def first_of_each(t: Mapping[str, Tensor], p: Mapping[str, Any], slots: tuple[str, str]) -> tuple[ElementRef, ElementRef]:
    """The first element of each of two prediction slots (mean and variance, the two scores)."""
    return (slots[0], 0), (slots[1], 0)


def class_index_flat_reason(
    loss: str, *, reads_true_class_only: bool
) -> Callable[[str, tuple[int, ...], str, Mapping[str, Tensor], Mapping[str, Any], str], Message | None]:
    """Why a class score cannot change the loss: its sample is ignored, its class weighs 0, or (NLL on
    log-probabilities) only the true class's entry is read."""

    def why(slot: str, idx: tuple[int, ...], label: str, t: Mapping[str, Tensor], p: Mapping[str, Any],
            transform: str) -> Message | None:
        x, y = t["input"], t["target"]
        if slot != "input" or y.is_floating_point() or x.dim() < 1:
            return None
        pos = () if x.dim() == 1 else (idx[0], *idx[2:])
        tv = int(y[pos]) if pos else int(y)
        ign = int(p.get("ignore_index", -100))
        if tv == ign:
            if not pos:
                return msg("{label} does not change the loss: the target is the ignore_index ({ign}), so that "
                           "sample is skipped.", label=label, ign=ign)
            return msg("{label} does not change the loss: sample {n}'s target is the ignore_index ({ign}), so that "
                       "sample is skipped.", label=label, n=pos[0], ign=ign)
        w = p.get("weight")
        if w is not None and 0 <= tv < w.numel() and float(w[tv]) == 0.0:
            if not pos:
                return msg("{label} does not change the loss: the target class {cls} has weight 0.", label=label, cls=tv)
            return msg("{label} does not change the loss: sample {n}'s target class {cls} has weight 0.",
                       label=label, n=pos[0], cls=tv)
        cls = idx[class_dim(x.dim())]
        if reads_true_class_only and transform == "none" and cls != tv:
            return msg(
                "{label} does not change the loss: {loss} reads only the log-probability of the true "
                "class ({true}), and {label} belongs to class {cls}. With the log_softmax transform the "
                "classes are coupled and every score matters.",
                label=label, loss=loss, true=tv, cls=cls,
            )
        return None

    return why


def zero_weight_flat_reason(slot: str, idx: tuple[int, ...], label: str, t: Mapping[str, Tensor],
                            p: Mapping[str, Any], transform: str) -> Message | None:
    """An element whose (broadcast) ``weight`` is 0 cannot change the loss."""
    w = p.get("weight")
    if w is None or slot != "input":
        return None
    x = t["input"]
    try:
        wb = torch.broadcast_to(w, x.shape)
    except RuntimeError:
        return None
    if float(wb[idx] if idx else wb) == 0.0:
        return msg("{label} does not change the loss: its weight is 0.", label=label)
    return None


def positive(slot_name: str, why: str, *, raw_only: bool = False,
             when: Callable[[Mapping[str, Any]], bool] | None = None) -> Callable[[str, Mapping[str, Any], str], tuple[float, float, Message] | None]:
    """A domain rule: ``slot_name`` stays above 0 (only untransformed, or only when ``when(params)``).

    ``why`` is a msgid (mark it with ``N_``); the rule returns it as a :class:`Message`.
    """

    def rule(slot: str, p: Mapping[str, Any], transform: str) -> tuple[float, float, Message] | None:
        if slot != slot_name or (raw_only and transform != "none") or (when is not None and not when(p)):
            return None
        return 0.0, math.inf, Message(why)

    return rule
