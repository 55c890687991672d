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

from dataclasses import dataclass

import torch

from lossviz.losses import get_loss, list_losses
from lossviz.losses.derivations import Derivation, Step
from lossviz.losses.evaluate import LossResult

__all__ = ["Agreement", "Derivation", "Step", "agreement", "explain", "explained_losses", "has_derivation"]

Tensor = torch.Tensor


def has_derivation(loss: str) -> bool:
    return get_loss(loss).derive is not None


def explained_losses() -> list[str]:
    """The catalog losses with a hand derivation, in catalog order."""
    return [n for n in list_losses() if has_derivation(n)]


def explain(result: LossResult) -> Derivation | None:
    """The derivation for ``result``'s loss, or None when lossviz has none for it."""
    derive = result.spec.derive
    return None if derive is None else derive(result)


@dataclass(frozen=True)
class Agreement:
    """Whether a derivation agrees with torch, and if not, why (one sentence).

    ``status`` is "agree" (both finite, equal to 1e-6), "differ" (both finite, not equal),
    "overflow" (the hand value is finite but torch's float32 value is inf/NaN) or "not_finite"
    (the hand value itself is inf or NaN: nothing to compare). Only "agree" may be shown as a tick.
    """

    status: str
    diff: float | None
    reason: str

    @property
    def agrees(self) -> bool:
        return self.status == "agree"


#: float32's largest finite number (torch's default dtype, and the explorer's).
_F32_MAX = float(torch.finfo(torch.float32).max)


def agreement(derivation: Derivation, result: LossResult) -> Agreement:
    """Compare the hand computation with torch's output; claim agreement only for finite, equal values."""
    hand = derivation.result.detach().to(torch.float64)
    got = result.output.detach().to(torch.float64)
    if hand.shape != got.shape:
        return Agreement("differ", None, f"The hand computation has shape {tuple(hand.shape)} but torch's output "
                                         f"has shape {tuple(got.shape)}")
    hand_ok = bool(torch.isfinite(hand).all())
    got_ok = bool(torch.isfinite(got).all())
    if hand_ok and got_ok:
        diff = float((hand - got).abs().max()) if hand.numel() else 0.0
        tol = 1e-6 + 1e-6 * (float(got.abs().max()) if got.numel() else 0.0)
        if diff <= tol:
            return Agreement("agree", diff, "")
        return Agreement("differ", diff, f"The hand computation and torch differ by {diff:.3g}")
    if hand_ok:
        big = float(hand.abs().max())
        if big > _F32_MAX or result.output.dtype == torch.float32:
            return Agreement(
                "overflow", None,
                f"No agreement to claim: by hand (in float64) the loss is {big:.6g}, but torch computes in float32, "
                f"whose largest number is {_F32_MAX:.3g}, so an intermediate value overflowed and torch gives "
                f"{_fmt_nonfinite(got)}",
            )
        return Agreement("differ", None, f"The hand computation is finite but torch gives {_fmt_nonfinite(got)}")
    return Agreement(
        "not_finite", None,
        f"No agreement to claim: the loss is not finite even by hand ({_fmt_nonfinite(hand)}), so there is "
        "no number to compare",
    )


def _fmt_nonfinite(t: Tensor) -> str:
    if torch.isnan(t).any():
        return "NaN"
    return "inf" if bool((t > 0).any()) and torch.isinf(t).any() else "-inf"
