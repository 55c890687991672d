"""The current example, as plain data that round-trips through URL query params.

Pages keep one ``Example`` in the session (so the explorer and the landscape
share it) and mirror it into the URL, so a copied link reopens the same
example. Reading a URL is reading user input: unknown losses, reductions,
transforms and oversized values are replaced by safe defaults, each with a
message the page shows.

Query keys: ``loss``, ``reduction``, ``transform``, ``t_<slot>`` (text of a
tensor), ``s_<slot>`` (reshape), ``p_<param>`` (parameter as text),
``ex`` (preset key, informational).

Example:
    >>> ex, notes = Example.from_query({"loss": "MSELoss", "t_input": "1, 2", "t_target": "1, 3"})
    >>> ex.loss, notes
    ('MSELoss', [])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from lossviz.errors import LossvizInputError
from lossviz.explore.presets import Preset, default_texts, get_preset
from lossviz.i18n import Message, msg
from lossviz.losses import (
    MAX_FILE_BYTES,
    MAX_FILE_ELEMENTS,
    Broadcast,
    LossSpec,
    Misfit,
    Nonfinite,
    ParamSpec,
    format_tensor,
    get_loss,
    list_losses,
    parse_shape,
    parse_tensor,
    read_tensor_bytes,
)
from lossviz.losses.evaluate import TRANSFORMS, LossResult, evaluate, parse_inputs
from lossviz.losses.parsing import MAX_CHARS

DEFAULT_LOSS = "CrossEntropyLoss"
#: Longest query value accepted (the parser's own cap applies again later).
MAX_QUERY_VALUE = MAX_CHARS


@dataclass(frozen=True)
class Example:
    loss: str
    reduction: str
    transform: str = "none"
    texts: dict[str, str] = field(default_factory=dict)
    shapes: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    preset: str = ""
    #: slots whose text came from an uploaded file (slot -> file name): read with the file caps
    #: (lossviz.losses.files), and left out of the link, which cannot carry them
    files: dict[str, str] = field(default_factory=dict)

    @classmethod
    def default(cls, loss: str = DEFAULT_LOSS) -> Example:
        spec = get_loss(loss)
        if spec.name == DEFAULT_LOSS:
            return cls.from_preset(get_preset("ce_single"))
        return cls(loss=spec.name, reduction=spec.default_reduction, texts=default_texts(spec))

    @classmethod
    def for_landscape(cls, loss: str) -> Example:
        """The example the landscape opens with for ``loss``: its spec's ``landscape_example`` (small
        numbers that draw a clear picture), else the explorer's example for it."""
        spec = get_loss(loss)
        le = spec.landscape_example
        if le is None:
            return cls(loss=spec.name, reduction=spec.default_reduction, texts=default_texts(spec))
        reduction = le.reduction if le.reduction in spec.reductions else spec.default_reduction
        return cls(loss=spec.name, reduction=reduction, transform=le.transform, texts=dict(le.texts))

    @classmethod
    def from_preset(cls, p: Preset) -> Example:
        return cls(
            loss=p.loss,
            reduction=p.reduction,
            transform=p.transform,
            texts=dict(p.texts),
            shapes=dict(p.shapes),
            params=dict(p.params),
            preset=p.key,
        )

    # ------------------------------------------------------------------ URL

    def to_query(self) -> dict[str, str]:
        q = {"loss": self.loss, "reduction": self.reduction}
        if self.transform != "none":
            q["transform"] = self.transform
        for k, v in self.texts.items():
            if k not in self.files:  # an uploaded tensor does not travel in a link
                q[f"t_{k}"] = v
        for k, v in self.shapes.items():
            if v:
                q[f"s_{k}"] = v
        for k, v in self.params.items():
            if v not in ("", None):
                q[f"p_{k}"] = str(v)
        if self.preset:
            q["ex"] = self.preset
        return q

    @classmethod
    def from_query(cls, q: Mapping[str, Any]) -> tuple[Example, list[str]]:
        """Parse query params; returns the example and messages about what was replaced."""
        notes: list[str] = []
        raw_loss = _one(q.get("loss"))
        if not raw_loss:
            preset_key = _one(q.get("ex"))
            if preset_key:
                try:
                    return cls.from_preset(get_preset(preset_key)), notes
                except LossvizInputError as exc:
                    notes.append(exc.message)  # a Message: the page renders it in its language
            return cls.default(), notes
        try:
            spec = get_loss(raw_loss)
        except LossvizInputError:
            notes.append(msg(
                "The link names an unknown loss {raw_loss}; showing {default_loss} instead.",
                raw_loss=repr(raw_loss[:40]), default_loss=DEFAULT_LOSS,
            ))
            return cls.default(), notes
        reduction = _one(q.get("reduction")) or spec.default_reduction
        if reduction not in spec.reductions:
            notes.append(msg(
                "{name} has no reduction {reduction}; using {default_reduction}.",
                name=spec.name, reduction=repr(reduction[:20]), default_reduction=repr(spec.default_reduction),
            ))
            reduction = spec.default_reduction
        transform = _one(q.get("transform")) or "none"
        if transform not in TRANSFORMS or (transform != "none" and transform not in allowed_transforms(spec.name)):
            notes.append(msg(
                "Transform {transform} does not apply to {name}; using none.",
                transform=repr(transform[:20]), name=spec.name,
            ))
            transform = "none"
        defaults = default_texts(spec)
        texts: dict[str, str] = {}
        shapes: dict[str, str] = {}
        for slot in spec.slots:
            text = _one(q.get(f"t_{slot.name}"))
            if text is None:
                text = defaults.get(slot.name, "")
            if len(text) > MAX_QUERY_VALUE:
                notes.append(msg(
                    "The link's {name} is over {max_query_value} characters; using an example instead.",
                    name=slot.name, max_query_value=MAX_QUERY_VALUE,
                ))
                text = defaults.get(slot.name, "")
            texts[slot.name] = text
            shape = _one(q.get(f"s_{slot.name}"))
            if shape:
                shapes[slot.name] = shape[:100]
        params: dict[str, str] = {}
        names = {p.name for p in spec.params}
        for key, value in q.items():
            if key.startswith("p_"):
                name = key[2:]
                if name in names:
                    params[name] = (_one(value) or "")[:MAX_QUERY_VALUE]
                else:
                    notes.append(msg("{name} has no parameter {name2}; ignored it.", name=spec.name, name2=repr(name[:30])))
        preset = (_one(q.get("ex")) or "")[:40]
        return cls(spec.name, reduction, transform, texts, shapes, params, preset), notes

    # ------------------------------------------------------------------ changes

    def with_loss(
        self, loss: str, *, fallback: Callable[[str], Example] | None = None
    ) -> tuple[Example, str | None]:
        """Switch loss, keeping the numbers when they fit the new loss; else load its example
        (``fallback(name)``, by default the explorer's example for it).

        The reduction is kept unless the new loss lacks it or warns about it (KLDivLoss's 'mean'), and
        a reduction the old loss only allowed with a warning is not carried over.
        Returns the new example and, when the numbers were replaced, why.
        """
        spec = get_loss(loss)
        old = get_loss(self.loss)
        keep = (
            self.reduction in spec.reductions
            and self.reduction not in spec.reduction_warnings
            and self.reduction not in old.reduction_warnings
        )
        reduction = self.reduction if keep else spec.default_reduction
        transform = self.transform if self.transform in allowed_transforms(spec) else "none"
        slots = [s.name for s in spec.slots]
        candidate = Example(spec.name, reduction, transform,
                            {k: self.texts[k] for k in slots if k in self.texts},
                            {k: v for k, v in self.shapes.items() if k in slots}, {}, "")
        if set(candidate.texts) == set(slots):
            try:
                result = candidate.evaluate()
            except LossvizInputError as exc:
                why = exc.message
            else:
                odd = [w for w in result.warnings if isinstance(w, (Broadcast, Misfit))]
                if not odd:
                    return candidate, None
                why = odd[0]
        else:
            why = msg("{loss} takes {slots}", loss=spec.name, slots=", ".join(slots))
        if fallback is not None:
            return fallback(spec.name), why
        fresh = Example(spec.name, reduction, "none", default_texts(spec), {}, {}, "")
        return fresh, why

    def evaluate(self) -> LossResult:
        params = {k: v for k, v in self.params.items() if str(v).strip() != ""}
        spec = get_loss(self.loss)
        tensors = parse_inputs(spec, self.texts, {k: v for k, v in self.shapes.items() if v and v.strip()},
                               big=tuple(self.files))
        return evaluate(spec, tensors, reduction=self.reduction, params=params, transform=self.transform)

    def finite_for_landscape(self) -> Example:
        """This example, or ``LossvizInputError`` when its numbers hold NaN or inf: the explorer computes
        with them as torch does, but a landscape around a NaN is NaN everywhere."""
        if any(isinstance(w, Nonfinite) for w in self.evaluate().warnings):
            raise LossvizInputError(msg(
                "The example holds NaN or inf, so every point around it is NaN or inf too; the landscape needs "
                "finite numbers (the explorer shows where they go)."
            ))
        return self

    def with_text(self, slot: str, text: str) -> tuple[Example, Message | None]:
        """The example after ``text`` was typed for ``slot``; a reshape that no longer fits the new numbers
        is dropped, with a note saying so (a stale ``(1, 3)`` under a new 4×4 matrix is not an error the
        student made)."""
        ex = self.edited("texts", slot, text)
        ex = replace(ex, files={k: v for k, v in ex.files.items() if k != slot})
        shape = (self.shapes.get(slot) or "").strip()
        if not shape:
            return ex, None
        try:
            t = parse_tensor(text, name=slot, allow_nonfinite=True)
        except LossvizInputError:
            return ex, None  # the text's own error is the one to show
        try:
            parse_shape(shape, t.numel(), name=slot)
        except LossvizInputError:
            note = msg("The reshape {shape} of {slot} does not fit the {n} numbers now typed, so it was removed; "
                       "type a new shape if you want one.", shape=shape, slot=slot, n=t.numel())
            return replace(ex, shapes={k: v for k, v in ex.shapes.items() if k != slot}), note
        return ex, None

    def with_file(self, slot: str, filename: str, data: bytes) -> Example:
        """The example with ``slot`` read from an uploaded file (lossviz.losses.files: caps, never a pickle)."""
        t = read_tensor_bytes(data, filename, name=slot)
        return replace(self, texts={**self.texts, slot: format_tensor(t)}, files={**self.files, slot: filename[:80]},
                       shapes={k: v for k, v in self.shapes.items() if k != slot}, preset="")

    def cast_to_float(self, slot: str) -> Example:
        """``slot``'s whole numbers written as decimals (1 → 1.0): what ``.float()`` / ``dtype=torch.float``
        does in PyTorch; the values stay, only their type changes."""
        t = parse_tensor(self.texts.get(slot, ""), name=slot, allow_nonfinite=True, max_elements=MAX_FILE_ELEMENTS,
                         max_chars=MAX_FILE_BYTES)
        return replace(self, texts={**self.texts, slot: format_tensor(t.to(torch.float32))}, preset="")

    def replace(self, **changes: Any) -> Example:
        return replace(self, **changes)

    def edited(self, kind: str, key: str, value: Any) -> Example:
        """This example after the user typed ``value`` for a tensor text, a reshape or a parameter
        (``kind``: texts, shapes or params); it no longer is a preset.

        Example:
            >>> Example("MSELoss", "mean").edited("params", "x", True).params
            {'x': 'true'}
        """
        if kind not in ("texts", "shapes", "params"):
            raise ValueError(kind)
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        return replace(self, **{kind: {**getattr(self, kind), key: text}}, preset="")

    def param_value(self, p: ParamSpec) -> Any:
        """The value a parameter's widget starts from: the example's text, else the default, in the
        widget's type (bool for a checkbox, the choice itself, text otherwise)."""
        given = self.params.get(p.name)
        if p.kind == "bool":
            return (given or str(p.default)).lower() in ("true", "1", "yes", "on")
        if p.kind == "choice":
            return type(p.choices[0])(given) if given and given in map(str, p.choices) else p.default
        return given if given is not None else ("" if p.default is None else str(p.default))


def allowed_transforms(loss: str | LossSpec) -> tuple[str, ...]:
    """'none' plus the transforms the loss's spec lists."""
    spec = loss if isinstance(loss, LossSpec) else get_loss(loss)
    return ("none", *spec.transforms)


def _one(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, list | tuple):
        v = v[-1] if v else None
        if v is None:
            return None
    return str(v)


__all__ = ["Example", "allowed_transforms", "DEFAULT_LOSS", "list_losses"]
