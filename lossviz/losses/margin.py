"""Margin and embedding losses: hinge, soft margin, ranking, cosine, triplet."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, msg
from lossviz.losses.checks import (
    _as_float,
    _pm,
    _pm_one,
    _rand,
    _same_or_broadcast,
    _shape,
    first_of_each,
    positive,
)
from lossviz.losses.derivations import derive_cosine, derive_hinge, derive_ranking, derive_soft_margin
from lossviz.losses.registry import LandscapeExample, LossSpec, ParamSpec, Tensor, TensorSlot, register_loss


def _check_hinge(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "HingeEmbeddingLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = _as_float(t["target"])
    _same_or_broadcast(loss, "input", x, "target", y, w)
    _pm_one(
        loss,
        "target",
        y,
        w,
        N_("A label that is neither 1 nor -1 (such as 0) gets both terms: x + max(0, margin − x)."),
    )
    return {"input": x, "target": y}, w


register_loss(
    LossSpec(
        name="HingeEmbeddingLoss",
        cls=nn.HingeEmbeddingLoss,
        derive=derive_hinge,
        symbols={"input": "x"},
        landscape_example=LandscapeExample({"input": "0.3, 1.5, 0.2, 0.8", "target": "1, -1, -1, 1"}),
        domain=positive("input", N_("HingeEmbeddingLoss reads its input as a distance, which cannot be negative")),
        title=N_("Hinge embedding loss"),
        task="embedding",
        slots=(
            TensorSlot("input", N_("distance x"), "prediction", "float", N_("distances (e.g. L1 between a pair); any shape"), "input"),
            TensorSlot("target", N_("label y (1 or -1)"), "target", "float", N_("1 (similar) or -1 (dissimilar), the input's shape"), "target"),
        ),
        params=(ParamSpec("margin", "float", 1.0, N_("dissimilar pairs are pushed at least this far apart")),),
        formula=r"\ell_i = \begin{cases} x_i & y_i = 1 \\ \max(0, \Delta - x_i) & y_i = -1 \end{cases}",
        advice=N_("Learns whether two inputs are similar from a distance x: similar pairs (y = 1) are pulled to "
        "zero, dissimilar ones (y = -1) pushed beyond the margin. Labels are 1 and -1, never 0."),
        check=_check_hinge,
        sample=lambda g: {"input": _rand(g, 6).abs(), "target": _pm(g, 6)},
    )
)


def _check_soft_margin(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "SoftMarginLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = _as_float(t["target"])
    _same_or_broadcast(loss, "input", x, "target", y, w)
    if torch.broadcast_shapes(x.shape, y.shape) != x.shape:  # torch writes the result in the input's shape
        raise LossvizInputError(
            msg(
                "{loss}: target has shape {shape_y}, larger than the input's {shape_x}; PyTorch keeps the"
                " input's shape for the loss, so give the target the input's shape (or fewer dimensions "
                "that broadcast)",
                loss=loss, shape_y=_shape(y), shape_x=_shape(x),
            )
        )
    _pm_one(loss, "target", y, w, N_("With label 0 the loss is log 2 whatever the input, so nothing is learnt."))
    return {"input": x, "target": y}, w


register_loss(
    LossSpec(
        name="SoftMarginLoss",
        cls=nn.SoftMarginLoss,
        derive=derive_soft_margin,
        symbols={"input": "x"}, batch_layout="elementwise",
        landscape_example=LandscapeExample({"input": "-0.5, 1.2, 0.3", "target": "1., -1., 1."}),
        title=N_("Soft margin loss"),
        task="binary classification",
        slots=(
            TensorSlot("input", N_("score x"), "prediction", "float", N_("raw scores; any shape"), "input"),
            TensorSlot("target", N_("label y (1 or -1)"), "target", "float", N_("1 or -1, the input's shape"), "target"),
        ),
        params=(),
        formula=r"\ell_i = \log(1 + e^{-y_i x_i})",
        advice=N_("Logistic loss with labels ±1: a smooth version of the hinge. Equal to BCEWithLogitsLoss "
        "after mapping labels -1/1 to 0/1."),
        check=_check_soft_margin,
        sample=lambda g: {"input": _rand(g, 6), "target": _pm(g, 6)},
    )
)



# --------------------------------------------------------------------------- ranking and embeddings


def _check_ranking(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "MarginRankingLoss"
    w: list[str] = []
    a = _as_float(t["input1"])
    b = _as_float(t["input2"])
    y = _as_float(t["target"])
    # torch: the three must have the same number of dimensions, and their sizes broadcast
    if not a.dim() == b.dim() == y.dim():
        raise LossvizInputError(
            msg(
                "{loss}: input1 {shape_a}, input2 {shape_b} and target {shape_y} must have the same "
                "number of dimensions (PyTorch broadcasts sizes, not dimensions); give all three the same"
                " shape",
                loss=loss, shape_a=_shape(a), shape_b=_shape(b), shape_y=_shape(y),
            )
        )
    _same_or_broadcast(loss, "input1", a, "input2", b, w)
    _same_or_broadcast(loss, "input1", a, "target", y, w)
    _same_or_broadcast(loss, "input2", b, "target", y, w)
    _pm_one(loss, "target", y, w, N_("Label 0 makes the loss max(0, margin), whatever the inputs."))
    return {"input1": a, "input2": b, "target": y}, w


register_loss(
    LossSpec(
        name="MarginRankingLoss",
        cls=nn.MarginRankingLoss,
        derive=derive_ranking,
        symbols={"input1": "a", "input2": "b"},
        landscape_example=LandscapeExample({"input1": "0.2, 1.0", "input2": "0.8, 0.1", "target": "1., -1."}),
        default_pair=lambda t, p: first_of_each(t, p, ("input1", "input2")),
        title=N_("Margin ranking loss"),
        task="ranking",
        slots=(
            TensorSlot("input1", N_("score x₁"), "prediction", "float", N_("(N) scores"), "input"),
            TensorSlot("input2", N_("score x₂"), "prediction", "float", N_("(N) scores, like input1"), "input2"),
            TensorSlot("target", N_("y = 1 if x₁ should rank higher, -1 otherwise"), "target", "float", N_("(N) of ±1"), "target"),
        ),
        params=(ParamSpec("margin", "float", 0.0, N_("how far the better item must be ahead")),),
        formula=r"\ell_i = \max(0, -y_i\,(x_{1,i} - x_{2,i}) + \Delta)",
        advice=N_("Learning to rank: for each pair, the item marked better (y = 1 for x₁, -1 for x₂) must score "
        "higher by the margin."),
        check=_check_ranking,
        sample=lambda g: {"input1": _rand(g, 5), "input2": _rand(g, 5), "target": _pm(g, 5)},
        per_element_means=N_("one loss per pair"),
    )
)


def _check_cosine(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "CosineEmbeddingLoss"
    w: list[str] = []
    a = _as_float(t["input1"])
    b = _as_float(t["input2"])
    y = _as_float(t["target"])
    if a.dim() not in (1, 2) or a.dim() != b.dim():
        raise LossvizInputError(
            msg(
                "{loss}: input1 and input2 must both be (D) vectors or both (N, D) batches of vectors, "
                "not shapes {shape_a} and {shape_b}",
                loss=loss, shape_a=_shape(a), shape_b=_shape(b),
            )
        )
    _same_or_broadcast(loss, "input1", a, "input2", b, w)
    want = (torch.broadcast_shapes(a.shape, b.shape)[0],) if a.dim() == 2 else ()
    if tuple(y.shape) != want:
        try:  # torch broadcasts the labels against the pairs (one label for all, or one pair for all labels)
            fits = y.dim() == len(want) and len(torch.broadcast_shapes(y.shape, want)) == len(want)
        except RuntimeError:
            fits = False
        if not fits:
            raise LossvizInputError(
                msg(
                    "{loss}: target needs one label per pair of vectors, shape {want}, but it has shape "
                    "{shape_y}",
                    loss=loss, want=want, shape_y=_shape(y),
                )
            )
        w.append(
            msg(
                "target has shape {shape_y} but there are {want} pair(s) of vectors; PyTorch broadcasts "
                "them, reusing labels or pairs. Give one label per pair.",
                shape_y=_shape(y), want=want[0],
            )
        )
    _pm_one(loss, "target", y, w, "")
    margin = float(p.get("margin", 0.0))
    if not -1.0 <= margin <= 1.0:
        w.append(
            f"margin is {margin:g}, outside [-1, 1] where a cosine lives. PyTorch computes with it: "
            + ("no dissimilar pair can ever reach it, so they never contribute."
               if margin > 1 else "every dissimilar pair is always above it, so they always contribute.")
        )
    return {"input1": a, "input2": b, "target": y}, w


register_loss(
    LossSpec(
        name="CosineEmbeddingLoss",
        cls=nn.CosineEmbeddingLoss,
        derive=derive_cosine,
        symbols={"input1": "u", "input2": "v"}, dim_names={2: ("pair", "dim")},
        title=N_("Cosine embedding loss"),
        task="embedding",
        slots=(
            TensorSlot("input1", N_("vector u"), "prediction", "float", N_("(D) or (N, D)"), "input"),
            TensorSlot("input2", N_("vector v"), "prediction", "float", N_("the shape of input1"), "input2"),
            TensorSlot("target", N_("y (1 similar, -1 dissimilar)"), "target", "float", N_("(N) or () of ±1"), "target"),
        ),
        params=(ParamSpec("margin", "float", 0.0, N_("dissimilar pairs are pushed below this cosine")),),
        formula=r"\ell_n = \begin{cases} 1 - \cos(u_n, v_n) & y_n = 1 \\ \max(0, \cos(u_n, v_n) - \Delta) & y_n = -1 \end{cases}",
        advice=N_("Learns embeddings by angle: similar pairs point the same way, dissimilar pairs are pushed "
        "below the margin in cosine similarity. The vectors' lengths do not matter."),
        check=_check_cosine,
        sample=lambda g: {"input1": _rand(g, 3, 4), "input2": _rand(g, 3, 4), "target": _pm(g, 3)},
        per_element_means=N_("one loss per pair"),
    )
)


def _check_triplet(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "TripletMarginLoss"
    w: list[str] = []
    a = _as_float(t["anchor"])
    pos = _as_float(t["positive"])
    neg = _as_float(t["negative"])
    _triplet_shapes(loss, a, pos, neg, w)
    norm = float(p.get("p", 2.0))
    if norm < 1:
        w.append(msg(
            "p is {norm}; below 1 the p-\"norm\" is not a distance (no triangle inequality). PyTorch "
            "computes with it anyway; the usual choices are 1 and 2.",
            norm=format(norm, 'g'),
        ))
    if float(p.get("eps", 1e-6)) < 0:
        w.append(N_("eps is negative; PyTorch adds it to every difference anyway. It is meant as a small positive "
                 "number that keeps the distance's gradient finite."))
    return {"anchor": a, "positive": pos, "negative": neg}, w


def _triplet_shapes(loss: str, a: Tensor, pos: Tensor, neg: Tensor, w: list[str]) -> None:
    """torch's rule: the same number of dimensions; sizes that broadcast."""
    if not a.dim() == pos.dim() == neg.dim():
        raise LossvizInputError(
            msg(
                "{loss}: anchor {shape_a}, positive {shape_pos} and negative {shape_neg} must have the "
                "same number of dimensions; give all three the same shape, (D) or (N, D)",
                loss=loss, shape_a=_shape(a), shape_pos=_shape(pos), shape_neg=_shape(neg),
            )
        )
    _same_or_broadcast(loss, "anchor", a, "positive", pos, w)
    _same_or_broadcast(loss, "anchor", a, "negative", neg, w)
    _same_or_broadcast(loss, "positive", pos, "negative", neg, w)


register_loss(
    LossSpec(
        name="TripletMarginLoss",
        cls=nn.TripletMarginLoss,
        symbols={"anchor": "a", "positive": "p", "negative": "n"}, dim_names={2: ("triplet", "dim")},
        title=N_("Triplet margin loss"),
        task="embedding",
        slots=(
            TensorSlot("anchor", N_("anchor a"), "prediction", "float", N_("(D) or (N, D)"), "input"),
            TensorSlot("positive", N_("positive p"), "prediction", "float", N_("the anchor's shape"), "positive"),
            TensorSlot("negative", N_("negative n"), "prediction", "float", N_("the anchor's shape"), "negative"),
        ),
        params=(
            ParamSpec("margin", "float", 1.0, N_("the negative must be this much farther than the positive"),
                      low=0.0, low_open=True),
            ParamSpec("p", "float", 2.0, N_("the norm of the distance")),
            ParamSpec("eps", "float", 1e-6, N_("added inside the distance for stability")),
            ParamSpec("swap", "bool", False, N_("use the closer of d(a,n) and d(p,n) (distance swap)")),
        ),
        formula=r"\ell_n = \max(0,\ \lVert a_n - p_n \rVert_p - \lVert a_n - n_n \rVert_p + \Delta)",
        advice=N_("Metric learning (face recognition): pull the anchor towards a positive of the same identity "
        "and push it from a negative until the gap exceeds the margin."),
        check=_check_triplet,
        sample=lambda g: {"anchor": _rand(g, 3, 4), "positive": _rand(g, 3, 4), "negative": _rand(g, 3, 4)},
        per_element_means=N_("one loss per triplet"),
    )
)


def cosine_distance(x: Tensor, y: Tensor) -> Tensor:
    """1 - cosine similarity along dim 1: the distance torch's TripletMarginWithDistanceLoss docs use."""
    return 1.0 - F.cosine_similarity(x, y)


def _check_triplet_distance(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "TripletMarginWithDistanceLoss"
    w: list[str] = []
    a = _as_float(t["anchor"])
    pos = _as_float(t["positive"])
    neg = _as_float(t["negative"])
    _triplet_shapes(loss, a, pos, neg, w)
    if p.get("distance_function") == "cosine_distance" and a.dim() < 2:
        raise LossvizInputError(
            msg(
                "{loss}: the cosine distance compares vectors along dimension 1, so anchor, positive and "
                "negative must be (N, D) batches of vectors, not shape {shape_a}; give one row per vector"
                " (e.g. [[1, 2, 3]])",
                loss=loss, shape_a=_shape(a),
            )
        )
    return {"anchor": a, "positive": pos, "negative": neg}, w


register_loss(
    LossSpec(
        name="TripletMarginWithDistanceLoss",
        cls=nn.TripletMarginWithDistanceLoss,
        symbols={"anchor": "a", "positive": "p", "negative": "n"}, dim_names={2: ("triplet", "dim")},
        title=N_("Triplet margin loss with a custom distance"),
        task="embedding",
        slots=(
            TensorSlot("anchor", N_("anchor a"), "prediction", "float", N_("(N, D), or (D) for the pairwise distance"), "input"),
            TensorSlot("positive", N_("positive p"), "prediction", "float", N_("the anchor's shape"), "positive"),
            TensorSlot("negative", N_("negative n"), "prediction", "float", N_("the anchor's shape"), "negative"),
        ),
        params=(
            ParamSpec(
                "distance_function", "choice", "pairwise_distance",
                N_("the distance d: pairwise L2 (torch's default) or 1 - cosine similarity"),
                choices=("pairwise_distance", "cosine_distance"),
                objects={"pairwise_distance": F.pairwise_distance, "cosine_distance": cosine_distance},
                code={"pairwise_distance": "nn.PairwiseDistance()",
                      "cosine_distance": "lambda x, y: 1.0 - F.cosine_similarity(x, y)"},
            ),
            ParamSpec("margin", "float", 1.0, N_("the negative must be this much farther than the positive"),
                      low=0.0, low_open=True),
            ParamSpec("swap", "bool", False, N_("use the closer of d(a,n) and d(p,n) (distance swap)")),
        ),
        formula=r"\ell_n = \max(0,\ d(a_n, p_n) - d(a_n, n_n) + \Delta)",
        advice=N_("TripletMarginLoss with a distance of your choice: with 1 - cosine similarity only the "
        "embeddings' directions matter, as in face and text retrieval."),
        check=_check_triplet_distance,
        sample=lambda g: {"anchor": _rand(g, 3, 4), "positive": _rand(g, 3, 4), "negative": _rand(g, 3, 4)},
        per_element_means=N_("one loss per triplet"),
    )
)
