"""Value, per-element loss and gradients, by autograd through ``torch.nn`` itself.

Nothing here re-implements a loss: the spec's torch module computes the value
and ``torch.autograd.grad`` the gradient. What lossviz adds is checking at the
edge (plain ``LossvizInputError`` messages instead of tracebacks), the optional
transforms the tutorials use (sigmoid, softmax, log_softmax, reshape) and
warnings for legal but suspicious input.

Example:
    >>> r = evaluate("CrossEntropyLoss", {"input": parse_tensor("[[0.1, 0.2, 0.3]]"),
    ...                                  "target": parse_tensor("[1]")})
    >>> round(r.value, 4)
    1.1019
"""

from __future__ import annotations

import re
import warnings as pywarnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg, render
from lossviz.losses.checks import TorchSaid
from lossviz.losses.parsing import parse_tensor, reshape
from lossviz.losses.registry import LossSpec, get_loss

Tensor = torch.Tensor

#: Transforms applied to the (first) prediction before the loss, as in the tutorials.
TRANSFORMS: dict[str, str] = {
    "none": N_("use the input as typed"),
    "sigmoid": N_("σ(x) = 1 / (1 + e^{-x}), element by element (for BCELoss)"),
    "softmax": N_("softmax over the class dimension"),
    "log_softmax": N_("log-softmax over the class dimension (for NLLLoss, KLDivLoss, CTCLoss)"),
    "log": N_("log(x), element by element: probabilities typed as such become log-probabilities (the KLDivLoss "
              "tutorial's torch.log)"),
}


@dataclass
class LossResult:
    """Everything the page, CLI and explanations show for one evaluation."""

    spec: LossSpec
    reduction: str
    params: dict[str, Any]
    transform: str
    raw: dict[str, Tensor]  # what the user typed (after reshape), detached
    inputs: dict[str, Tensor]  # what the loss saw (after transform and checks), detached
    output: Tensor  # the module's output for the chosen reduction (scalar, or per element for 'none')
    per_element: Tensor  # the module's output with reduction='none'
    grads: dict[str, Tensor]  # d(reduced loss)/d(raw prediction), one per prediction slot
    warnings: list[str] = field(default_factory=list)

    @property
    def loss(self) -> str:
        return self.spec.name

    @property
    def value(self) -> float:
        """The reduced loss as a number; for 'none' the sum of the per-element losses."""
        return float(self.output.sum()) if self.output.dim() else float(self.output)

    @property
    def is_scalar(self) -> bool:
        return self.output.dim() == 0

    @property
    def input_shape(self) -> tuple[int, ...]:
        first = self.spec.predictions[0].name
        return tuple(self.raw[first].shape)


def resolve_params(spec: LossSpec, given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults merged with ``given``, each checked against its range.

    Tensor parameters (weight, pos_weight) may be given as text; unknown names
    are refused so a typo does not pass silently.
    """
    given = dict(given or {})
    known = {p.name: p for p in spec.params}
    for k in given:
        if k not in known:
            names = ", ".join(known) or "none"
            raise LossvizInputError(msg(
                "{name} has no parameter {k}; its parameters are: {names}",
                name=spec.name, k=repr(k), names=names,
            ))
    out: dict[str, Any] = {}
    for p in spec.params:
        value = given.get(p.name, p.default)
        if p.kind == "tensor" and isinstance(value, str):
            value = None if not value.strip() else parse_tensor(value, name=f"{spec.name} {p.name}")
        out[p.name] = p.coerce(value, spec.name)
    return out


def apply_transform(name: str, x: Tensor, spec: LossSpec, lead: int = 0) -> Tensor:
    """The optional transform of the first prediction, over the spec's class dimension.

    ``lead`` counts extra batch dimensions in front (the landscape stacks grid points there).
    The one transform function: evaluation, the landscape engine and training all call it.
    """
    if name in ("", "none", None):
        return x
    if name not in TRANSFORMS:
        raise LossvizInputError(msg(
            "unknown transform {name}; choose one of: {join_transforms}",
            name=repr(name), join_transforms=', '.join(TRANSFORMS),
        ))
    if name == "sigmoid":
        return torch.sigmoid(x)
    if name == "log":
        return torch.log(x)
    nd = x.dim() - lead
    if nd <= 0:
        raise LossvizInputError(msg("{name} needs at least one dimension of classes; the input is a single number", name=name))
    cdim = spec.class_dim(nd)
    dim = cdim if cdim < 0 else lead + cdim
    if name == "softmax":
        return torch.softmax(x, dim=dim)
    return torch.log_softmax(x, dim=dim)


_TORCH_WARNINGS_WE_EXPLAIN = ("Using a target size", "batchmean", "reduction: 'mean'")


def evaluate(
    loss: str | LossSpec,
    tensors: Mapping[str, Tensor],
    *,
    reduction: str | None = None,
    params: Mapping[str, Any] | None = None,
    transform: str = "none",
) -> LossResult:
    """Evaluate ``loss`` on ``tensors`` (slot name -> tensor) through the torch module.

    The gradient is that of the reduced loss with respect to each raw
    prediction tensor (before the transform). For reduction 'none' it is the
    gradient of the sum of the per-element losses (backward with ones).
    """
    spec = loss if isinstance(loss, LossSpec) else get_loss(loss)
    reduction = reduction or spec.default_reduction
    if reduction not in spec.reductions:
        raise LossvizInputError(
            msg(
                "{name} has no reduction {reduction}; choose one of: {join_reductions}",
                name=spec.name, reduction=repr(reduction), join_reductions=', '.join(spec.reductions),
            )
        )
    transform = transform or "none"
    if transform not in TRANSFORMS:
        raise LossvizInputError(msg(
            "unknown transform {transform}; choose one of: {join_transforms}",
            transform=repr(transform), join_transforms=', '.join(TRANSFORMS),
        ))
    resolved = resolve_params(spec, params)
    missing = [s.name for s in spec.slots if s.name not in tensors]
    if missing:
        raise LossvizInputError(msg(
            "{name} needs {join_missing}; give a value for each",
            name=spec.name, join_missing=', '.join(missing),
        ))
    extra = [k for k in tensors if k not in {s.name for s in spec.slots}]
    if extra:
        raise LossvizInputError(msg("{name} takes no tensor called {extra}", name=spec.name, extra=repr(extra[0])))

    leaves: dict[str, Tensor] = {}
    seen: dict[str, Tensor] = {}
    for slot in spec.slots:
        t = tensors[slot.name]
        if not isinstance(t, Tensor):
            raise LossvizInputError(msg("{name} must be a tensor", name=slot.name))
        if t.is_complex():
            raise LossvizInputError(msg(
                "{name}: {slot} holds complex numbers; losses take real numbers, so give real numbers",
                name=spec.name, slot=slot.name,
            ))
        if t.dtype == torch.bool:
            t = t.to(torch.float32)
        if slot.differentiable:
            # NaN and inf are computed as torch computes them (issue 19); the result says where they went
            leaf = t.detach().to(torch.float32 if not t.is_floating_point() else t.dtype).clone()
            leaf.requires_grad_(True)
            leaves[slot.name] = leaf
            seen[slot.name] = leaf
        else:
            seen[slot.name] = t.detach()
    if transform != "none":
        first = spec.predictions[0].name
        seen[first] = apply_transform(transform, seen[first], spec)

    dtype = leaves[spec.predictions[0].name].dtype
    resolved = {k: (v.to(dtype) if isinstance(v, Tensor) else v) for k, v in resolved.items()}
    checked, warns = spec.check(dict(seen), resolved)
    warns = list(warns) + _param_warnings(spec, resolved)
    if reduction in spec.reduction_warnings:
        warns.append(spec.reduction_warnings[reduction])
    args = [checked[s.name] for s in spec.slots]

    module = spec.build(reduction, resolved)
    with pywarnings.catch_warnings(record=True) as caught:
        pywarnings.simplefilter("always")
        try:
            out = module(*args)
            with torch.no_grad():
                per = out.detach() if reduction == "none" else spec.build("none", resolved)(*args).detach()
        except (RuntimeError, ValueError, IndexError, TypeError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TorchSaid(msg(
                "{name}: PyTorch rejected these tensors: {why}",
                name=spec.name, why=explain_torch_error(first_line),
            ), first_line[:300]) from None
    for w in caught:
        said = str(w.message)
        if not any(k in said for k in _TORCH_WARNINGS_WE_EXPLAIN):
            warns.append(msg("PyTorch warns: {text}", text=said.splitlines()[0][:300]))

    grads: dict[str, Tensor] = {}
    if out.requires_grad:
        names = list(leaves)
        gout = None if out.dim() == 0 else torch.ones_like(out)
        try:
            got = torch.autograd.grad(out, [leaves[n] for n in names], grad_outputs=gout, allow_unused=True)
        except (RuntimeError, ValueError, IndexError, TypeError) as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise TorchSaid(
                msg(
                    "{name}: PyTorch computes the loss of these tensors, but its own backward pass fails "
                    "({why}), so there is no gradient to show; give the tensors the shapes in the "
                    "loss's documentation",
                    name=spec.name, why=explain_torch_error(first_line),
                ),
                first_line[:200],
            ) from None
        for n, g in zip(names, got, strict=True):
            grads[n] = torch.zeros_like(leaves[n]) if g is None else g.detach()
    else:
        grads = {n: torch.zeros_like(v.detach()) for n, v in leaves.items()}

    typed_nonfinite = any(v.is_floating_point() and not torch.isfinite(v).all() for v in seen.values())
    if typed_nonfinite:
        warns.append(nonfinite_report(spec, reduction, {s.name: seen[s.name].detach() for s in spec.slots},
                                      out.detach(), per, grads))
    elif not torch.isfinite(out.detach()).all() or not torch.isfinite(per).all():
        warns.append(_nonfinite_note(spec, reduction, resolved, args, out.detach(), per))

    return LossResult(
        spec=spec,
        reduction=reduction,
        params=resolved,
        transform=transform,
        raw={k: v.detach() for k, v in seen.items()} | {k: v.detach() for k, v in leaves.items()},
        inputs={k: v.detach() for k, v in checked.items()},
        output=out.detach(),
        per_element=per,
        grads=grads,
        warnings=_dedupe(warns),
    )


#: torch's error texts lossviz explains in the reader's language: (pattern, explanation). The original
#: stays with the error (``TorchSaid.torch_said``), shown as torch's words in a folded detail.
_TORCH_ERRORS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"size mismatch|doesn't match the broadcast shape|must match the size|The size of tensor a"),
     N_("the shapes do not fit together (PyTorch could not pair the elements by broadcasting)")),
    (re.compile(r"Expected input batch_size \((\d+)\) to match target batch_size \((\d+)\)"),
     N_("input and target have different batch sizes (the number of samples)")),
    (re.compile(r"out of bounds|index .* is out of bounds|Target -?\d+ is out of bounds"),
     N_("a class index is outside the classes of the input")),
    (re.compile(r"expected scalar type|Found dtype|can't be cast|must be of type|Expected floating point type"),
     N_("a tensor has the wrong number type (PyTorch wants whole numbers, Long, or decimals, Float, here)")),
    (re.compile(r"must be one-dimensional|defined either for all"),
     N_("a per-class weight must be a list with one value per class")),
    (re.compile(r"dimension|dim\b|ndim|Dimension out of range"),
     N_("a tensor has the wrong number of dimensions for this loss")),
)


def explain_torch_error(text: str) -> Message:
    """torch's error ``text`` explained in words lossviz translates (its original is kept by the caller)."""
    for pattern, why in _TORCH_ERRORS:
        if pattern.search(text):
            return Message(why)
    return msg("check the shapes and number types against the loss's documentation (PyTorch's own words are kept with this message)")


#: float32's largest finite number, which the explorer's numbers (like PyTorch's default) cannot exceed.
FLOAT32_MAX = float(torch.finfo(torch.float32).max)


def _param_warnings(spec: LossSpec, resolved: Mapping[str, Any]) -> list[str]:
    """Legal-but-odd tensor parameters: torch computes with negative weights, so warn and explain."""
    out: list[str] = []
    for p in spec.params:
        v = resolved.get(p.name)
        if p.below_low(v):
            low = float(p.low or 0.0)
            found = ", ".join(f"{x:g}" for x in sorted({float(a) for a in v[v < low].flatten()[:5].tolist()}))
            out.append(
                msg(
                    "{name} has values below {low} ({found}). PyTorch computes with them: a negative weight "
                    "turns that part's loss into a reward, so minimising pushes its prediction away from the "
                    "target (its gradient changes sign), and where 'mean' divides by the sum of the weights "
                    "that sum can be zero or negative (the loss then becomes inf, NaN or flips sign).",
                    name=p.name, low=format(low, 'g'), found=found,
                )
            )
    return out


def _nonfinite_note(
    spec: LossSpec, reduction: str, params: Mapping[str, Any], args: list[Tensor], out: Tensor, per: Tensor
) -> Message:
    """Say in words why the loss is inf or NaN: float32 overflow, or not finite even in float64."""
    if out.dtype == torch.float32:
        wide = [a.detach().to(torch.float64) if a.is_floating_point() else a for a in args]
        p64 = {k: (v.to(torch.float64) if isinstance(v, Tensor) else v) for k, v in params.items()}
        try:
            with pywarnings.catch_warnings():
                pywarnings.simplefilter("ignore")
                exact = spec.build(reduction, p64)(*wide).detach()
                exact_per = spec.build("none", p64)(*wide).detach()
        except (RuntimeError, ValueError, IndexError, TypeError):
            exact = exact_per = None
        if exact is not None and torch.isfinite(exact).all() and torch.isfinite(exact_per).all():
            big = float(exact_per.abs().max()) if exact_per.numel() else 0.0
            value = float(exact.abs().max()) if exact.numel() else 0.0
            return msg(
                "float32 overflow: the exact loss is about {value} (largest element {big}), beyond float32's "
                "largest number ({largest}), so PyTorch, computing in float32 like the explorer, gives inf (or NaN "
                "where inf meets inf). Scale the inputs down to see a finite loss.",
                value=format(value, ".4g"), big=format(big, ".4g"), largest=format(FLOAT32_MAX, ".3g"),
            )
    if spec.nonfinite_hint:
        return msg("the loss is not finite (inf or NaN). {hint}", hint=Message(spec.nonfinite_hint))
    return msg("the loss is not finite (inf or NaN).")


class Nonfinite(Message):
    """A warning that typed NaN or inf went into the loss: where they were, which losses and gradients
    they reached, and why. Its parameters are whole sentences (Messages), rendered one after the other in
    the reader's language; code asks ``isinstance(w, Nonfinite)`` instead of searching the text."""

    def render(self, lang: str = "en") -> str:
        sep = "" if lang == "zh" else " "
        return sep.join(render(self.params[k], lang) for k in sorted(self.params, key=int))


#: Most positions one list of a nonfinite report names (then "… and N more").
_SHOWN_POSITIONS = 6


def _positions(t: Tensor) -> str:
    """``[0, 1] = nan, [2] = inf`` for the non-finite entries of ``t`` (language-neutral: indices and values)."""
    bad = ~torch.isfinite(t.detach())
    if t.dim() == 0:
        return format(float(t), "g") if bool(bad) else ""
    idx = bad.nonzero().tolist()
    vals = t.detach()[bad].tolist()
    shown = [f"[{', '.join(map(str, i))}] = {v:g}" for i, v in zip(idx[:_SHOWN_POSITIONS], vals, strict=False)]
    more = len(idx) - len(shown)
    return ", ".join(shown) + (f", … (+{more})" if more > 0 else "")


def nonfinite_report(
    spec: LossSpec, reduction: str, typed: Mapping[str, Tensor], out: Tensor, per: Tensor, grads: Mapping[str, Tensor]
) -> Nonfinite:
    """One sentence: which typed elements are NaN/inf, which losses and gradients became NaN/inf, and why."""
    parts: list[Message] = []
    for name, t in typed.items():
        if t.is_floating_point() and not torch.isfinite(t).all():
            parts.append(msg("{slot} holds {found}.", slot=name, found=_positions(t)))
    if per.numel() and not torch.isfinite(per).all():
        parts.append(msg("The loss per element is not finite at {found}.", found=_positions(per)))
    else:
        parts.append(msg("Every per-element loss stays finite: the loss does not read those numbers."))
    if out.dim() == 0:
        parts.append(msg("The value with reduction '{reduction}' is {value}.", reduction=reduction,
                         value=format(float(out), "g")))
    for name, g in grads.items():
        if g.numel() and not torch.isfinite(g).all():
            parts.append(msg("The gradient of {slot} is not finite at {found}.", slot=name, found=_positions(g)))
    parts.append(msg(
        "PyTorch computes with NaN and inf as IEEE arithmetic does: anything computed from a NaN is NaN, and "
        "inf − inf, 0 · inf and inf / inf are NaN too, so a NaN reaches every sum or mean that includes it "
        "and the gradient of every element that shares it (softmax, a mean over samples)."
    ))
    return Nonfinite("", {str(i): p for i, p in enumerate(parts)})


def _dedupe(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for s in items:
        if s not in out:
            out.append(s)
    return out


def parse_inputs(
    spec: LossSpec | str,
    texts: Mapping[str, str],
    shapes: Mapping[str, str] | None = None,
    *,
    allow_nonfinite: bool = True,
    big: tuple[str, ...] = (),
) -> dict[str, Tensor]:
    """Parse each slot's text (keyed by slot name) with the safe parser, then reshape.

    ``big`` names slots whose text came from a file (an upload): read with the file caps instead of a
    text box's. NaN and inf are numbers here: torch computes with them."""
    from lossviz.losses.files import MAX_FILE_BYTES, MAX_FILE_ELEMENTS

    spec = spec if isinstance(spec, LossSpec) else get_loss(spec)
    shapes = shapes or {}
    out: dict[str, Tensor] = {}
    for slot in spec.slots:
        text = texts.get(slot.name)
        if text is None:
            raise LossvizInputError(msg("{name} needs {name2} ({doc})", name=spec.name, name2=slot.name, doc=slot.doc))
        caps = {"max_elements": MAX_FILE_ELEMENTS, "max_chars": MAX_FILE_BYTES} if slot.name in big else {}
        t = parse_tensor(text, name=slot.name, allow_nonfinite=True, **caps)  # nan/inf: computed as torch does
        shape = shapes.get(slot.name)
        if shape:
            t = reshape(t, shape, name=slot.name)
        out[slot.name] = t
    return out


def evaluate_text(
    loss: str,
    texts: Mapping[str, str],
    *,
    reduction: str | None = None,
    params: Mapping[str, Any] | None = None,
    transform: str = "none",
    shapes: Mapping[str, str] | None = None,
) -> LossResult:
    """Parse and evaluate in one call (what the page and the CLI do)."""
    spec = get_loss(loss)
    return evaluate(
        spec,
        parse_inputs(spec, texts, shapes),
        reduction=reduction,
        params=params,
        transform=transform,
    )
