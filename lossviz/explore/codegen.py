"""The PyTorch snippet that reproduces what the page shows.

The snippet is plain tutorial-style code: tensors, the ``nn`` module with only
the non-default parameters, ``backward()`` and the prints. A test runs every
preset's snippet and compares its loss and gradients with lossviz's.

Example:
    >>> from lossviz.losses.evaluate import evaluate_text
    >>> print(snippet(evaluate_text("L1Loss", {"input": "1, 2, 3", "target": "1, 2, 5"}, reduction="sum")))
    ... # doctest: +ELLIPSIS
    import torch
    ...
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from torch import nn

from lossviz.losses.evaluate import LossResult
from lossviz.losses.parsing import format_tensor, parse_shape

_PY_NAMES = {"input": "input", "target": "target"}


def _var(slot: str) -> str:
    return _PY_NAMES.get(slot, slot)


_NONFINITE = re.compile(r"(?<![\w'])(-?)(nan|inf)\b")


def _py(text: str) -> str:
    """The parser's ``nan`` / ``inf`` / ``-inf`` as Python writes them (``float('nan')``)."""
    return _NONFINITE.sub(lambda m: f"{m.group(1)}float('{m.group(2)}')", text)


def _literal(t: torch.Tensor) -> str:
    """The tensor's numbers as a Python list literal, wrapped to lines of about 88 characters."""
    return _py(_wrapped(t))


def _wrapped(t: torch.Tensor) -> str:
    text = format_tensor(t)
    if len(text) <= 72:
        return text
    if t.dim() >= 2:
        rows = [format_tensor(row) for row in t]
        return "[\n        " + ",\n        ".join(rows) + ",\n    ]"
    parts = text[1:-1].split(", ")
    lines, line = [], ""
    for part in parts:
        if line and len(line) + len(part) + 2 > 80:
            lines.append(line + ",")
            line = part
        else:
            line = f"{line}, {part}" if line else part
    lines.append(line)
    return "[\n        " + "\n        ".join(lines) + "\n    ]"


def _tensor_expr(t: torch.Tensor, *, shape: str | None, grad: bool) -> str:
    if shape:
        dims = parse_shape(shape, t.numel())
        body = f"torch.tensor({_literal(t.reshape(-1))})"
        body += f".reshape({', '.join(map(str, dims))}{',' if len(dims) == 1 else ''})"
        return body + (".requires_grad_()" if grad else "")
    return f"torch.tensor({_literal(t)}{', requires_grad=True' if grad else ''})"


def _param_expr(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"torch.tensor({format_tensor(value.to(torch.float32))})"
    if isinstance(value, float):
        return repr(float(f"{value:.9g}"))
    return repr(value)


def _constructor(cls: type, lines: list[str]) -> str:
    """``nn.Name`` for torch's own losses; for any other registered class, an import line and its name."""
    if getattr(nn, cls.__name__, None) is cls:
        return f"nn.{cls.__name__}"
    lines.insert(2, f"from {cls.__module__} import {cls.__name__}")
    return cls.__name__


def snippet(result: LossResult, shapes: Mapping[str, str] | None = None) -> str:
    """Python source that rebuilds ``result`` with plain PyTorch."""
    spec = result.spec
    shapes = shapes or {}
    preds = [s.name for s in spec.predictions]
    kwargs = []
    for p in spec.params:
        v = result.params.get(p.name)
        if v is None or (not isinstance(v, torch.Tensor) and v == p.default):
            continue
        kwargs.append(f"{p.name}={p.code[v] if p.code and v in p.code else _param_expr(v)}")
    kwargs.append(f"reduction={result.reduction!r}")
    lines = ["import torch"]
    if spec.function:  # a function (torchvision.ops): import it by its own name
        module, _, fname = spec.function.rpartition(".")
        lines.append(f"from {module} import {fname}")
    else:
        lines.append("import torch.nn as nn")
    if result.transform in ("softmax", "log_softmax") or any("F." in k for k in kwargs):
        lines.append("import torch.nn.functional as F")
    lines.append("")
    for slot in spec.slots:
        if slot.differentiable:
            t = result.raw[slot.name]
        else:
            t = result.inputs[slot.name]
        shape = shapes.get(slot.name) if t.numel() == result.raw.get(slot.name, t).numel() else None
        if shape and tuple(parse_shape(shape, t.numel())) != tuple(t.shape):
            shape = None
        lines.append(f"{_var(slot.name)} = {_tensor_expr(t, shape=shape, grad=slot.differentiable)}")
    lines.append("")
    if not spec.function:
        lines.append(f"loss_fn = {_constructor(spec.cls, lines)}({', '.join(kwargs)})")
    args = [_var(s.name) for s in spec.slots]
    if result.transform != "none":
        first = preds[0]
        dim = spec.class_dim(result.raw[first].dim())
        expr = {
            "sigmoid": f"torch.sigmoid({_var(first)})",
            "softmax": f"F.softmax({_var(first)}, dim={dim})",
            "log_softmax": f"F.log_softmax({_var(first)}, dim={dim})",
            "log": f"torch.log({_var(first)})",
        }[result.transform]
        args[0] = expr
    if spec.function:  # a function (torchvision.ops): tensors first, then its keyword arguments
        lines.append(f"loss = {spec.function.rpartition('.')[2]}({', '.join(args + kwargs)})")
    else:
        lines.append(f"loss = loss_fn({', '.join(args)})")
    if result.output.dim() == 0:
        lines.append("loss.backward()")
    else:
        lines.append("loss.backward(torch.ones_like(loss))  # reduction='none': backpropagate the sum")
    lines.append("")
    lines.append("print(loss)")
    for name in preds:
        lines.append(f"print({_var(name)}.grad)")
    return "\n".join(lines) + "\n"
