"""Regression losses: L1Loss, MSELoss, SmoothL1Loss, HuberLoss."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lossviz.i18n import N_
from lossviz.losses.checks import _as_float, _rand, _same_or_broadcast
from lossviz.losses.derivations import derive_huber, derive_l1, derive_mse, derive_smooth_l1
from lossviz.losses.registry import (
    Checker,
    LandscapeExample,
    LossSpec,
    ParamSpec,
    Tensor,
    TensorSlot,
    register_loss,
)

# --------------------------------------------------------------------------- regression


def _pair_float(loss: str) -> Checker:
    def check(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
        w: list[str] = []
        x = _as_float(t["input"])
        y = _as_float(t["target"])
        _same_or_broadcast(loss, "input", x, "target", y, w)
        return {"input": x, "target": y}, w

    return check


def _sample_pair(g: torch.Generator) -> dict[str, Tensor]:
    return {"input": _rand(g, 4, 3), "target": _rand(g, 4, 3)}


_IN = TensorSlot("input", N_("prediction ŷ"), "prediction", "float", N_("any shape; floats"), "input")
_TGT_SAME = TensorSlot("target", N_("target y"), "target", "float", N_("the same shape as the input"), "target")

register_loss(
    LossSpec(
        name="L1Loss",
        cls=nn.L1Loss,
        derive=derive_l1,
        symbols={"input": "ŷ"}, family=("MSELoss", "SmoothL1Loss", "HuberLoss"), landscape_example=LandscapeExample({"input": "2.0, -1.0, 0.5", "target": "0.5, 1.0, 0.5"}),
        title=N_("L1 loss (mean absolute error)"),
        task="regression",
        slots=(_IN, _TGT_SAME),
        params=(),
        formula=r"\ell_i = \lvert \hat y_i - y_i \rvert",
        advice=N_("Mean absolute error for regression: robust to outliers, but its gradient is ±1 whatever the "
        "error, so it keeps taking full-size steps near the minimum."),
        check=_pair_float("L1Loss"),
        sample=_sample_pair,
    )
)

register_loss(
    LossSpec(
        name="MSELoss",
        cls=nn.MSELoss,
        derive=derive_mse,
        symbols={"input": "ŷ"}, family=("L1Loss", "SmoothL1Loss", "HuberLoss"), landscape_example=LandscapeExample({"input": "2.0, -1.0, 0.5", "target": "0.5, 1.0, 0.5"}),
        title=N_("Mean squared error loss (MSE)"),
        task="regression",
        slots=(_IN, _TGT_SAME),
        params=(),
        formula=r"\ell_i = (\hat y_i - y_i)^2",
        advice=N_("Mean squared error for regression: smooth, with a gradient that shrinks near the target, "
        "but one outlier with a large error dominates the loss."),
        check=_pair_float("MSELoss"),
        sample=_sample_pair,
    )
)


register_loss(
    LossSpec(
        name="SmoothL1Loss",
        cls=nn.SmoothL1Loss,
        derive=derive_smooth_l1,
        symbols={"input": "ŷ"}, family=("MSELoss", "L1Loss", "HuberLoss"), landscape_example=LandscapeExample({"input": "2.0, -1.0, 0.5", "target": "0.5, 1.0, 0.5"}),
        title=N_("Smooth L1 loss"),
        task="regression",
        slots=(_IN, _TGT_SAME),
        params=(
            ParamSpec("beta", "float", 1.0, N_("where the quadratic part turns linear; 0 gives plain L1"), low=0.0),
        ),
        formula=r"\ell_i = \begin{cases} 0.5\,(\hat y_i - y_i)^2/\beta & \lvert \hat y_i - y_i\rvert < \beta \\ "
        r"\lvert \hat y_i - y_i\rvert - 0.5\,\beta & \lvert \hat y_i - y_i\rvert \ge \beta \end{cases}",
        advice=N_("Quadratic for small errors, linear for large ones (used for bounding-box regression): "
        "smooth near the minimum like MSE, robust to outliers like L1."),
        check=_pair_float("SmoothL1Loss"),
        sample=_sample_pair,
    )
)

register_loss(
    LossSpec(
        name="HuberLoss",
        cls=nn.HuberLoss,
        derive=derive_huber,
        symbols={"input": "ŷ"}, family=("MSELoss", "L1Loss", "SmoothL1Loss"), landscape_example=LandscapeExample({"input": "2.0, -1.0, 0.5", "target": "0.5, 1.0, 0.5"}),
        title=N_("Huber loss"),
        task="regression",
        slots=(_IN, _TGT_SAME),
        params=(ParamSpec("delta", "float", 1.0, N_("where the quadratic part turns linear"), low=0.0, low_open=True),),
        formula=r"\ell_i = \begin{cases} 0.5\,(\hat y_i - y_i)^2 & \lvert \hat y_i - y_i\rvert \le \delta \\ "
        r"\delta\,(\lvert \hat y_i - y_i\rvert - 0.5\,\delta) & \lvert \hat y_i - y_i\rvert > \delta \end{cases}",
        advice=N_("Like SmoothL1Loss but scaled by δ: equals δ·SmoothL1 with β = δ. Large errors get a gradient "
        "of at most δ, so outliers cannot dominate."),
        check=_pair_float("HuberLoss"),
        sample=_sample_pair,
    )
)
