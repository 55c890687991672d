"""Probabilistic losses: KLDivLoss, PoissonNLLLoss, GaussianNLLLoss."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg
from lossviz.losses.checks import (
    Misfit,
    _as_float,
    _rand,
    _same_or_broadcast,
    _shape,
    first_of_each,
    positive,
)
from lossviz.losses.derivations import derive_gauss, derive_kl, derive_poisson
from lossviz.losses.registry import LandscapeExample, LossSpec, ParamSpec, Tensor, TensorSlot, register_loss


def _check_kl(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "KLDivLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = t["target"]
    if not y.is_floating_point():
        raise LossvizInputError(
            msg(
                "{loss}: target is whole numbers ({dtype}), but KLDivLoss needs a probability "
                "distribution as floats (e.g. 0.2, 0.5, 0.3), and PyTorch refuses integer targets. Write "
                "the target with decimals (a one-hot row as 0., 1., 0.); for class labels use "
                "CrossEntropyLoss or NLLLoss instead",
                loss=loss, dtype=y.dtype,
            )
        )
    _same_or_broadcast(loss, "input", x, "target", y, w)
    if p.get("log_target"):
        if (y > 1e-6).any():
            w.append(N_("log_target is on, so target should be log-probabilities (≤ 0), but it has positive values."))
    elif (y < 0).any():
        w.append(Misfit(
            N_("target has negative values. PyTorch computes with them, but the log of a negative probability is "
            "NaN: the target must be probabilities (≥ 0), or turn on log_target if you are giving "
            "log-probabilities.")
        ))
    if (x > 1e-6).any():
        w.append(
            N_("KLDivLoss expects its input as log-probabilities (all ≤ 0), but it has positive values: apply "
            "log_softmax first (the log_softmax transform).")
        )
    return {"input": x, "target": y}, w


def _sample_kl(g: torch.Generator) -> dict[str, Tensor]:
    return {
        "input": torch.log_softmax(_rand(g, 3, 4), dim=1),
        "target": torch.softmax(_rand(g, 3, 4), dim=1),
    }


def _kl_domain(slot: str, p: Mapping[str, Any], transform: str) -> tuple[float, float, Message] | None:
    """With the log transform the typed input is a probability: above 0 (log 0 = -inf)."""
    if slot == "input" and transform == "log":
        return 0.0, math.inf, Message(N_("with the log transform the input is a probability, and log needs it above 0"))
    return None


register_loss(
    LossSpec(
        name="KLDivLoss",
        cls=nn.KLDivLoss,
        derive=derive_kl,
        symbols={"input": "x"}, dim_names={2: ("row", "class")},
        landscape_example=LandscapeExample(
            {"input": "[[0.2, 1.1, 0.4], [1.0, 0.1, 0.6]]", "target": "[[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]]"},
            "batchmean", "log_softmax"),
        title=N_("Kullback–Leibler divergence loss (KL)"),
        task="distribution matching",
        slots=(
            TensorSlot("input", N_("log-probabilities log q"), "prediction", "float", N_("log-probabilities; any shape"), "input"),
            TensorSlot("target", N_("target distribution p"), "target", "float", N_("probabilities (floats), the input's shape"), "target"),
        ),
        params=(
            ParamSpec("log_target", "bool", False, N_("the target is given as log-probabilities")),
        ),
        formula=r"\ell_i = p_i\,(\log p_i - \log q_i)",
        advice=N_("Distance from the target distribution p to the predicted q (distillation, VAEs). The input "
        "must be log-probabilities (log_softmax) and the target probabilities; use reduction 'batchmean' "
        "for the true KL divergence."),
        check=_check_kl,
        sample=_sample_kl,
        reductions=("none", "mean", "sum", "batchmean"),
        default_reduction="mean",  # torch's own default (nn.KLDivLoss()); the warning below points to batchmean
        reduction_warnings={
            "mean": N_("reduction 'mean' divides by the number of elements, not the batch size, so it is not the "
                       "KL divergence of the maths; use reduction 'batchmean'.")
        },
        transforms=("log_softmax", "log"),
        domain=_kl_domain,
    )
)



# --------------------------------------------------------------------------- probabilistic


def _check_poisson(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "PoissonNLLLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = _as_float(t["target"])
    _same_or_broadcast(loss, "input", x, "target", y, w)
    if (y < 0).any():
        w.append(Misfit(N_("target has negative values. PyTorch computes with them, but a count is ≥ 0, so the loss "
                        "has no meaning as a Poisson likelihood there.")))
    if not p.get("log_input", True) and (x < 0).any():
        w.append(
            N_("with log_input off the input is the rate λ itself, which should be ≥ 0; PyTorch computes "
            "log(λ + eps) anyway, which is NaN for a negative rate. Turn log_input on if you are giving log-rates.")
        )
    if float(p.get("eps", 1e-8)) <= 0 and not p.get("log_input", True):
        w.append(N_("eps is not positive, so a rate of 0 gives log(0) = -inf; eps is meant as a small positive number."))
    return {"input": x, "target": y}, w


register_loss(
    LossSpec(
        name="PoissonNLLLoss",
        cls=nn.PoissonNLLLoss,
        derive=derive_poisson,
        symbols={"input": "x"},
        landscape_example=LandscapeExample({"input": "0.5, 1.0, -0.2", "target": "2., 3., 0."}),
        domain=positive("input", N_("with log_input off the input is the rate λ itself, which cannot be negative"),
                        raw_only=True, when=lambda p: not p.get("log_input", True)),
        title=N_("Poisson negative log-likelihood loss"),
        task="count regression",
        slots=(
            TensorSlot("input", N_("log-rate (or rate λ)"), "prediction", "float", N_("any shape"), "input"),
            TensorSlot("target", N_("count k"), "target", "float", N_("non-negative counts, the input's shape"), "target"),
        ),
        params=(
            ParamSpec("log_input", "bool", True, N_("the input is log λ (recommended) rather than λ")),
            ParamSpec("full", "bool", False, N_("add the Stirling term of log k!")),
            ParamSpec("eps", "float", 1e-8, N_("added to λ before the log when log_input is off")),
        ),
        formula=r"\ell_i = e^{x_i} - k_i\,x_i \quad(\texttt{log\_input});\qquad \lambda_i - k_i \log(\lambda_i + \epsilon)",
        advice=N_("For counts (events per interval). Predict the log-rate and keep log_input on: the rate e^x "
        "is then always positive."),
        check=_check_poisson,
        sample=lambda g: {"input": _rand(g, 4, 3), "target": torch.randint(0, 6, (4, 3), generator=g).float()},
    )
)


def _check_gauss(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "GaussianNLLLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = _as_float(t["target"])  # torch promotes whole-number targets itself
    v = _as_float(t["var"])
    if (v < 0).any():
        raise LossvizInputError(
            msg(
                "{loss}: var has a negative value ({item}); a variance must be positive",
                loss=loss, item=format(v[v < 0].flatten()[0].item(), 'g'),
            )
        )
    # torch's rule for var: the input's shape; or the input's shape without its last dimension
    # (one variance per sample); or the input's number of dimensions with exactly one size that
    # differs, and that size 1 (broadcast along it)
    ok = v.shape == x.shape or (x.dim() > 0 and v.shape == x.shape[:-1])
    if not ok and v.dim() == x.dim():
        ok = sum(b for a, b in zip(x.shape, v.shape, strict=True) if a != b) == 1
    if not ok:
        raise LossvizInputError(
            msg(
                "{loss}: var has shape {shape_v} but input has shape {shape_x}; give one variance per "
                "input element (the same shape), one per sample (the input's shape without its last "
                "dimension), or the input's shape with a 1 in one place (shared along that dimension)",
                loss=loss, shape_v=_shape(v), shape_x=_shape(x),
            )
        )
    vb = v.unsqueeze(-1) if v.shape != x.shape and x.dim() > 0 and v.shape == x.shape[:-1] else v
    try:
        torch.broadcast_shapes(x.shape, y.shape, vb.shape)
    except RuntimeError:
        raise LossvizInputError(
            msg(
                "{loss}: input has shape {shape_x} and target {shape_y}; they cannot be paired element by"
                " element. Give the target the input's shape (or a shape that broadcasts to it, such as a"
                " 1 per sample)",
                loss=loss, shape_x=_shape(x), shape_y=_shape(y),
            )
        ) from None
    if y.shape != x.shape:
        w.append(
            msg(
                "target has shape {shape_y} but input has shape {shape_x}; PyTorch broadcasts them to "
                "{broadcast_shapes_shape}, reusing target values. Check that this pairing is meant.",
                shape_y=_shape(y), shape_x=_shape(x), broadcast_shapes_shape=tuple(torch.broadcast_shapes(x.shape, y.shape)),
            )
        )
    eps = float(p.get("eps", 1e-6))
    if eps <= 0:
        w.append(msg(
            "eps is {eps}; the variance is clamped to at least eps, so a zero variance now gives "
            "log(0) = -inf. eps is meant as a small positive number.",
            eps=format(eps, 'g'),
        ))
    elif (v == 0).any():
        w.append(msg("var has zeros; PyTorch clamps the variance up to eps = {eps}.", eps=format(eps, 'g')))
    return {"input": x, "target": y, "var": v}, w


register_loss(
    LossSpec(
        name="GaussianNLLLoss",
        cls=nn.GaussianNLLLoss,
        derive=derive_gauss,
        symbols={"input": "μ", "var": "σ²"}, batch_layout="elementwise",
        landscape_example=LandscapeExample({"input": "0.5, 2.0", "target": "1.5, 1.0", "var": "0.5, 1.0"}),
        default_pair=lambda t, p: first_of_each(t, p, ("input", "var")),
        domain=positive("var", N_("a variance must be positive (σ² > 0)")),
        title=N_("Gaussian negative log-likelihood loss"),
        task="regression with uncertainty",
        slots=(
            TensorSlot("input", N_("mean μ"), "prediction", "float", N_("predicted means; any shape"), "input"),
            TensorSlot("target", N_("target y"), "target", "float", N_("the input's shape"), "target"),
            TensorSlot("var", N_("variance σ²"), "prediction", "float", N_("positive; the input's shape (or one per sample)"), "var"),
        ),
        params=(
            ParamSpec("full", "bool", False, N_("add the constant ½ log 2π")),
            ParamSpec("eps", "float", 1e-6, N_("the variance is clamped to at least eps")),
        ),
        formula=r"\ell_i = \tfrac12\Big(\log \max(\sigma_i^2, \epsilon) + \frac{(\mu_i - y_i)^2}{\max(\sigma_i^2, \epsilon)}\Big)",
        advice=N_("Regression that also predicts its own uncertainty: a large variance makes errors cheap but "
        "costs log σ², so the network learns how sure it is."),
        check=_check_gauss,
        sample=lambda g: {"input": _rand(g, 4, 2), "target": _rand(g, 4, 2), "var": _rand(g, 4, 2).abs() + 0.1},
    )
)
