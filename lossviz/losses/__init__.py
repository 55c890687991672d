"""The functional core: the loss registry, the safe parser and evaluation through torch.

Every loss lossviz knows is one :class:`LossSpec` registered here (one file per family);
everything else in lossviz asks the spec instead of branching on a loss's name.

Example:
    >>> from lossviz.losses import evaluate_text
    >>> round(evaluate_text("L1Loss", {"input": "1, 2, 3", "target": "1, 2, 5"}, reduction="sum").value, 4)
    2.0
"""

from __future__ import annotations

# Families register their specs on import; this order is the catalog's order.
# isort: off
from lossviz.losses import regression, classification, probabilistic, margin, sequence, detection  # noqa: F401
# isort: on
from lossviz.losses.checks import REDUCTION_DOC, Broadcast, Misfit, NeedsFloat, TorchSaid
from lossviz.losses.evaluate import (
    TRANSFORMS,
    LossResult,
    Nonfinite,
    apply_transform,
    evaluate,
    evaluate_text,
    explain_torch_error,
    parse_inputs,
    resolve_params,
)
from lossviz.losses.files import MAX_FILE_BYTES, MAX_FILE_ELEMENTS, read_tensor_bytes, read_tensor_file
from lossviz.losses.parsing import (
    MAX_CHARS,
    MAX_DEPTH,
    MAX_ELEMENTS,
    ascii_twins,
    format_tensor,
    parse_number,
    parse_shape,
    parse_tensor,
    reshape,
)
from lossviz.losses.registry import (
    BATCH_LAYOUTS,
    LandscapeExample,
    LossSpec,
    ParamSpec,
    TensorSlot,
    TrainingUse,
    class_dim,
    get_loss,
    list_losses,
    register_loss,
    unregister_loss,
)
from lossviz.losses.training_use import chance_loss, training_loss, training_losses

__all__ = [
    "Broadcast",
    "Misfit",
    "Nonfinite",
    "NeedsFloat",
    "TorchSaid",
    "explain_torch_error",
    "MAX_FILE_BYTES",
    "MAX_FILE_ELEMENTS",
    "read_tensor_bytes",
    "read_tensor_file",
    "BATCH_LAYOUTS",
    "LandscapeExample",
    "TrainingUse",
    "chance_loss",
    "class_dim",
    "training_loss",
    "training_losses",
    "unregister_loss",
    "MAX_CHARS",
    "MAX_DEPTH",
    "MAX_ELEMENTS",
    "REDUCTION_DOC",
    "TRANSFORMS",
    "apply_transform",
    "LossResult",
    "LossSpec",
    "ParamSpec",
    "TensorSlot",
    "ascii_twins",
    "evaluate",
    "evaluate_text",
    "format_tensor",
    "get_loss",
    "list_losses",
    "parse_inputs",
    "parse_number",
    "parse_shape",
    "parse_tensor",
    "register_loss",
    "reshape",
    "resolve_params",
]
