"""How a loss trains a 10-class network, read off its spec's ``training`` use (lossviz.training calls these).

Example:
    >>> sorted(training_losses())
    ['CrossEntropyLoss', 'MultiMarginLoss', 'NLLLoss']
    >>> round(chance_loss("MultiMarginLoss", 10, margin=1.0), 2)
    0.9
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lossviz.errors import LossvizInputError
from lossviz.i18n import msg
from lossviz.losses.evaluate import apply_transform
from lossviz.losses.registry import Tensor, get_loss, list_losses


def training_losses() -> dict[str, str]:
    """Losses that train a 10-class network from raw scores, with how they are applied."""
    specs = [get_loss(n) for n in list_losses()]
    return {s.name: s.training.doc for s in specs if s.training is not None}


def training_loss(name: str, **options: Any) -> Callable[[Tensor, Tensor], Tensor]:
    """The loss as a function of (scores (N, C), labels (N)), built from its spec's ``training`` use.

    Only the options the spec names (e.g. ``label_smoothing``, ``margin``) reach the constructor.
    """
    spec = get_loss(name)
    use = spec.training
    if use is None:
        raise LossvizInputError(
            msg(
                "loss {name} does not fit 10-class training here: choose one of {join_training_losses}",
                name=repr(spec.name), join_training_losses=', '.join(training_losses()),
            )
        )
    kwargs = {k: spec.param(k).coerce(v, spec.name) for k, v in options.items() if k in use.options}
    module = spec.cls(**kwargs)
    if use.transform == "none":
        return module
    return lambda scores, target: module(apply_transform(use.transform, scores, spec), target)


def chance_loss(name: str, num_classes: int = 10, **options: Any) -> float:
    """The loss of a network that cannot tell the classes apart (all scores equal)."""
    spec = get_loss(name)
    if spec.training is None:
        raise LossvizInputError(msg("loss {name} does not train a classifier here", name=repr(spec.name)))
    return float(spec.training.chance(num_classes, options))
