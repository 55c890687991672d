"""The CLI's ``eval --json`` object: the shape other tools rely on (docs/CONTRACTS.md, "CLI").

The core's :class:`~lossviz.losses.evaluate.LossResult` knows nothing about JSON; this module
turns one into the contract's object. Non-finite numbers become ``null`` (NaN) or the strings
``"inf"`` / ``"-inf"``; warnings are English sentences.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lossviz.losses.evaluate import LossResult


def jsonable(t: torch.Tensor) -> Any:
    """A tensor as nested lists of numbers, with NaN as None and ±inf as "inf" / "-inf"."""

    def fix(v: Any) -> Any:
        if isinstance(v, list):
            return [fix(x) for x in v]
        if isinstance(v, float) and not math.isfinite(v):
            return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
        return v

    return fix(t.detach().cpu().tolist())


def result_json(result: LossResult) -> dict[str, Any]:
    """``{"loss", "reduction", "value", "per_element", "grad", "input_shape", "warnings"}``.

    ``grad`` is one nested list for a loss with one prediction, else an object keyed by the
    prediction slot's torch name (input1/input2, anchor/positive/negative, input/var).
    """
    spec = result.spec
    preds = spec.predictions
    if len(preds) == 1:
        grad: Any = jsonable(result.grads[preds[0].name])
    else:
        grad = {s.name: jsonable(result.grads[s.name]) for s in preds}
    return {
        "loss": spec.name,
        "reduction": result.reduction,
        "value": jsonable(result.output),
        "per_element": jsonable(result.per_element),
        "grad": grad,
        "input_shape": list(result.input_shape),
        "warnings": [str(w) for w in result.warnings],  # the JSON contract: English sentences
    }
