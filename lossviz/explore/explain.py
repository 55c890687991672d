"""Step-by-step derivations that agree with torch: each loss's own ``LossSpec.derive``.

The derivations themselves live with the specs (lossviz/losses/derivations.py); this module asks the
spec, and checks a derivation against torch (``agreement``).

Example:
    >>> from lossviz.losses.evaluate import evaluate_text
    >>> r = evaluate_text("CrossEntropyLoss", {"input": "[[0.1, 0.2, 0.3]]", "target": "[1]"})
    >>> [s.title for s in explain(r).steps][:3]
    ['softmax', 'log', 'pick the true class']
"""

from __future__ import annotations

from lossviz.losses import get_loss, list_losses
from lossviz.losses.derivations import Derivation, Step
from lossviz.losses.evaluate import LossResult

__all__ = ["Derivation", "Step", "agreement", "explain", "explained_losses", "has_derivation"]


def has_derivation(loss: str) -> bool:
    return get_loss(loss).derive is not None


def explained_losses() -> list[str]:
    """The catalog losses with a hand derivation, in catalog order."""
    return [n for n in list_losses() if has_derivation(n)]


def explain(result: LossResult) -> Derivation | None:
    """The derivation for ``result``'s loss, or None when lossviz has none for it."""
    derive = result.spec.derive
    return None if derive is None else derive(result)


def agreement(d: Derivation, r: LossResult) -> tuple[float, bool]:
    """The largest difference between the hand derivation and torch's output, and whether they agree
    (within 1e-6, plus 1e-6 of the output's size)."""
    if not d.result.numel():
        return 0.0, True
    diff = float((d.result - r.output.to(d.result.dtype)).abs().max())
    scale = float(r.output.abs().max()) if r.output.numel() else 0.0
    return diff, diff <= 1e-6 + 1e-6 * scale
