"""Object-detection losses from torchvision: focal loss and the IoU-family box losses.

These are functions in ``torchvision.ops``, not ``nn`` modules. Each entry wraps its function in a
tiny module (``reduction`` and the keyword arguments fixed at construction, the tensors in
``forward``) so that evaluation, the landscape and the tests call it like every other loss; the
value and gradient are torchvision's own, and ``LossSpec.function`` names the real call for the
PyTorch snippet. Argument names and defaults are torchvision's (default reduction ``'none'``).

Example:
    >>> from lossviz.losses.evaluate import evaluate_text
    >>> r = evaluate_text("generalized_box_iou_loss", {"boxes1": "0., 0., 1., 1.", "boxes2": "2., 0., 3., 1."})
    >>> round(r.value, 4)
    1.3333
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torchvision.ops as tvops
from torch import nn

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, msg
from lossviz.losses.checks import Misfit, _need_float, _need_same, _rand, _same_or_broadcast, _shape
from lossviz.losses.derivations import derive_ciou, derive_diou, derive_focal, derive_giou
from lossviz.losses.registry import LossSpec, ParamSpec, Tensor, TensorSlot, register_loss


class FunctionLoss(nn.Module):
    """A torchvision loss function as a module: ``FunctionLoss(reduction, **kw)(a, b) == fn(a, b, ...)``."""

    fn: Callable[..., Tensor]

    def __init__(self, reduction: str = "none", **kwargs: Any) -> None:
        super().__init__()
        self.reduction = reduction
        self.kwargs = kwargs

    def forward(self, *tensors: Tensor) -> Tensor:
        return type(self).fn(*tensors, reduction=self.reduction, **self.kwargs)


def _wrap(fn: Callable[..., Tensor]) -> type[FunctionLoss]:
    """A ``FunctionLoss`` subclass named after ``fn`` (what the page and CLI show)."""
    return type(fn.__name__, (FunctionLoss,), {"fn": staticmethod(fn), "__doc__": fn.__doc__})


# --------------------------------------------------------------------------- focal loss


def _check_focal(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "sigmoid_focal_loss"
    w: list[str] = []
    x = t["inputs"]
    y = _need_float(loss, "targets", t["targets"],
                    "result type Float can't be cast to the desired output type Long",
                    N_("torchvision passes them to binary_cross_entropy_with_logits, which needs floats: write the "
                       "labels with decimals (1., 0.)"))
    # torchvision hands both to binary_cross_entropy_with_logits, which wants exactly the same shape
    _need_same(loss, "inputs", x, "targets", y)
    alpha = float(p.get("alpha", 0.25))
    if not (0.0 <= alpha <= 1.0 or alpha == -1.0):
        raise LossvizInputError(
            msg(
                "{loss}: alpha is {alpha}, but torchvision takes alpha in [0, 1] (the weight of the "
                "positive class), or -1 to switch the weighting off; choose one of those",
                loss=loss, alpha=format(alpha, 'g'),
            )
        )
    if ((y < 0) | (y > 1)).any():
        w.append(Misfit(N_("targets should be 0 or 1 (is the object there?); torchvision computes with other "
                        "values, but then the loss can be negative and has no minimum.")))
    if float(p.get("gamma", 2.0)) < 0:
        w.append(N_("gamma is negative, so (1 - p_t)^gamma grows as examples get easier: the opposite of focusing "
                 "on hard examples (and a perfect prediction gives 0^gamma = inf)."))
    return {"inputs": x, "targets": y}, w


def _sample_focal(g: torch.Generator) -> dict[str, Tensor]:
    y = (torch.rand(8, generator=g) < 0.25).to(torch.float32)
    return {"inputs": _rand(g, 8) * 2, "targets": y}


register_loss(
    LossSpec(
        name="sigmoid_focal_loss",
        cls=_wrap(tvops.sigmoid_focal_loss),
        title=N_("Sigmoid focal loss"),
        task="dense detection",
        slots=(
            TensorSlot("inputs", N_("logits z"), "prediction", "float", N_("raw scores; any shape"), "input"),
            TensorSlot("targets", N_("label y (0 or 1)"), "target", "float", N_("0 or 1 as floats, the inputs' shape"),
                       "target"),
        ),
        params=(
            ParamSpec("alpha", "float", 0.25, N_("weight of the positive class (in [0, 1]); -1 switches it off"),
                      low=-1.0, high=1.0),
            ParamSpec("gamma", "float", 2.0, N_("focusing exponent of (1 - p_t); 0 gives plain (alpha-weighted) BCE")),
        ),
        formula=r"\ell_i = -\alpha_t\,(1 - p_t)^{\gamma} \log p_t,\quad p_t = \begin{cases} \sigma(z_i) & y_i = 1 "
        r"\\ 1 - \sigma(z_i) & y_i = 0 \end{cases}",
        advice=N_("RetinaNet's loss for dense detection, where almost every anchor is easy background: the factor "
        "(1 - p_t)^γ shrinks the loss of examples already classified well, so the few hard ones (and the rare "
        "objects) are not drowned out. γ = 0 and α = -1 give plain BCEWithLogitsLoss."),
        check=_check_focal,
        sample=_sample_focal,
        default_reduction="none",
        function="torchvision.ops.sigmoid_focal_loss",
        derive=derive_focal,
        symbols={"inputs": "z"},
        curve_family=("gamma", (0.0, 0.5, 1.0, 2.0, 5.0)),
    )
)


# --------------------------------------------------------------------------- box losses


def _check_boxes(loss: str) -> Callable[[dict[str, Tensor], dict[str, Any]], tuple[dict[str, Tensor], list[str]]]:
    def check(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
        w: list[str] = []
        b1 = t["boxes1"]
        b2 = t["boxes2"]
        for name, b in (("boxes1", b1), ("boxes2", b2)):
            if b.dim() == 0 or b.shape[-1] != 4:
                raise LossvizInputError(
                    msg(
                        "{loss}: {name} has shape {shape_b}, but a box is four numbers (x1, y1, x2, y2): give one"
                        " box as 4 numbers, or N boxes as N rows of 4",
                        loss=loss, name=name, shape_b=_shape(b),
                    )
                )
        _same_or_broadcast(loss, "boxes1", b1, "boxes2", b2, w)
        for name, b in (("boxes1", b1), ("boxes2", b2)):
            bf = b.to(torch.float32).reshape(-1, 4)
            bad = (bf[:, 2] < bf[:, 0]) | (bf[:, 3] < bf[:, 1])
            if bad.any():
                i = int(torch.nonzero(bad)[0, 0])
                x1, y1, x2, y2 = (f"{v:g}" for v in bf[i].tolist())
                w.append(
                    msg(
                        "box {i} of {name} is ({x1}, {y1}, {x2}, {y2}), with x2 < x1 or y2 < y1: it is turned "
                        "inside out. torchvision computes with it anyway, but its width or height is negative, so"
                        " its area, the IoU and the loss mean nothing. Boxes are (x1, y1, x2, y2): the top-left "
                        "corner, then the bottom-right one, with x2 ≥ x1 and y2 ≥ y1.",
                        i=i, name=name, x1=x1, y1=y1, x2=x2, y2=y2,
                    )
                )
        if float(p.get("eps", 1e-7)) <= 0:
            w.append(N_("eps is not positive; it keeps the divisions by the union and the enclosing box finite when "
                     "a box has no area."))
        return {"boxes1": b1, "boxes2": b2}, w

    return check


def _sample_boxes(g: torch.Generator) -> dict[str, Tensor]:
    def boxes() -> Tensor:
        xy = torch.rand(3, 2, generator=g) * 4
        wh = torch.rand(3, 2, generator=g) * 3 + 0.5
        return torch.cat([xy, xy + wh], dim=1)

    return {"boxes1": boxes(), "boxes2": boxes()}


_BOX_SLOTS = (
    TensorSlot("boxes1", N_("predicted boxes (x1, y1, x2, y2)"), "prediction", "float",
               N_("(N, 4) or (4): x1, y1, x2, y2 with x2 ≥ x1 and y2 ≥ y1"), "input"),
    TensorSlot("boxes2", N_("target boxes (x1, y1, x2, y2)"), "target", "float", N_("the shape of boxes1"), "target"),
)
_EPS = ParamSpec("eps", "float", 1e-7, N_("added to divisions to keep them finite"))

_BOX_LOSSES = (
    (
        "generalized_box_iou_loss", tvops.generalized_box_iou_loss, derive_giou, N_("Generalized IoU loss (GIoU)"),
        r"\ell = 1 - \mathrm{IoU} + \frac{\lvert C \setminus (A \cup B)\rvert}{\lvert C\rvert}",
        N_("1 - IoU, plus the share of the smallest enclosing box C that neither box covers. Unlike plain IoU "
           "loss it still has a gradient when the boxes do not overlap: it pulls them together."),
    ),
    (
        "distance_box_iou_loss", tvops.distance_box_iou_loss, derive_diou, N_("Distance IoU loss (DIoU)"),
        r"\ell = 1 - \mathrm{IoU} + \frac{\rho^2(b, b^{gt})}{c^2}",
        N_("1 - IoU, plus the squared distance between the boxes' centres over the squared diagonal of their "
           "enclosing box: it moves the centres together directly, so it converges faster than GIoU."),
    ),
    (
        "complete_box_iou_loss", tvops.complete_box_iou_loss, derive_ciou, N_("Complete IoU loss (CIoU)"),
        r"\begin{gathered}\ell = 1 - \mathrm{IoU} + \frac{\rho^2(b, b^{gt})}{c^2} + \alpha v \\ "
        r"v = \tfrac{4}{\pi^2}\big(\arctan\tfrac{w^{gt}}{h^{gt}} - \arctan\tfrac{w}{h}\big)^2\end{gathered}",
        N_("DIoU plus a term for the difference in aspect ratio (width over height): overlap, centre distance "
           "and shape, the three things a detector's box regression has to get right."),
    ),
)

for _name, _fn, _derive, _title, _formula, _advice in _BOX_LOSSES:
    register_loss(
        LossSpec(
            name=_name,
            cls=_wrap(_fn),
            title=_title,
            task="box regression",
            slots=_BOX_SLOTS,
            params=(_EPS,),
            formula=_formula,
            advice=_advice,
            check=_check_boxes(_name),
            sample=_sample_boxes,
            default_reduction="none",
            per_element_means=N_("one loss per box"),
            function=f"torchvision.ops.{_name}",
            derive=_derive,
            symbols={"boxes1": "b"},
            dim_names={2: ("box", "coordinate")},
            # torchvision indexes with a boolean mask (no vmap rule); the functions take any leading dimensions
            batch_layout="elementwise",
        )
    )
