"""Classification losses: cross-entropy, NLL, binary cross-entropy, multi-label and multi-class margins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg
from lossviz.losses.checks import (
    Misfit,
    _as_float,
    _check_index_target,
    _class_dim_info,
    _class_indices,
    _index_target_shape,
    _looks_like_probabilities,
    _need_float,
    _need_same,
    _rand,
    _randint,
    _same_or_broadcast,
    _shape,
    _weight_len,
    class_index_flat_reason,
    true_and_rival,
    zero_weight_flat_reason,
)
from lossviz.losses.derivations import derive_bce, derive_bcel, derive_ce, derive_multi_margin, derive_nll
from lossviz.losses.registry import (
    LandscapeExample,
    LossSpec,
    ParamSpec,
    Tensor,
    TensorSlot,
    TrainingUse,
    register_loss,
)


def _bce_domain(slot: str, p: Mapping[str, Any], transform: str) -> tuple[float, float, Message] | None:
    if slot == "input" and transform == "none":
        return 0.0, 1.0, msg("BCELoss takes probabilities, so p must stay strictly between 0 and 1")
    return None


def _chance_margin(num_classes: int, options: Mapping[str, Any]) -> float:
    """All scores equal: every wrong class violates the margin by exactly ``margin``."""
    return (num_classes - 1) / num_classes * float(options.get("margin", 1.0))


def _mlm_flat(slot: str, idx: tuple[int, ...], label: str, t: Mapping[str, Tensor], p: Mapping[str, Any],
              transform: str) -> Message | None:
    if slot != "input":
        return None
    y = t["target"]
    row = y if y.dim() == 1 else y[idx[0]]
    if int(row[0]) == -1:
        if y.dim() == 1:
            return msg("{label} does not change the loss: the sample lists no true labels (its target starts with "
                       "-1), so its loss is 0.", label=label)
        return msg("{label} does not change the loss: sample {n} lists no true labels (its target starts with -1), "
                   "so its loss is 0.", label=label, n=idx[0])
    return None

# --------------------------------------------------------------------------- classification


def _check_ce(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "CrossEntropyLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = t["target"]
    cdim, c = _class_dim_info(loss, x)
    _weight_len(loss, p, "weight", c, "classes")
    if y.shape == x.shape:  # torch's own rule: the input's shape means class probabilities
        y = _need_float(
            loss, "target", y, "Expected floating point type for target with class probabilities, got Long",
            msg("a target of the input's shape is read as class probabilities, which must be floats: write the "
                "one-hot rows with decimals (1., 0., 0.), or give one class index per sample (shape {shape}) instead",
                shape=str(_index_target_shape(x))),
        )
        if ((y < 0) | (y > 1)).any():
            w.append(Misfit(
                N_("target has the input's shape, so it is read as class probabilities, but it holds values "
                "outside [0, 1]. PyTorch computes with them anyway (the loss can then be negative); "
                "probabilities are normally in [0, 1] with rows summing to 1.")
            ))
        else:
            s = y.sum(dim=cdim)
            if not torch.allclose(s, torch.ones_like(s), atol=1e-3):
                w.append(
                    N_("target is read as class probabilities (it has the input's shape), but its rows do not sum "
                    "to 1; soft labels are normally a probability distribution over the classes.")
                )
        if p.get("ignore_index", -100) != -100:
            raise LossvizInputError(
                msg(
                    "{loss}: ignore_index only applies to class-index targets, and this target is read as "
                    "probabilities (it has the input's shape); set ignore_index back to -100 or give class "
                    "indices",
                    loss=loss,
                )
            )
    else:
        if y.dim() == x.dim() and y.dim() >= 1 and not y.is_floating_point() and x.dim() > 1:
            raise LossvizInputError(
                msg(
                    "{loss}: target has shape {shape_y} but input has shape {shape_x}; give either one class "
                    "index per sample (shape {index_target_shape_x}) or probabilities of the input's shape",
                    loss=loss, shape_y=_shape(y), shape_x=_shape(x), index_target_shape_x=_index_target_shape(x),
                )
            )
        y = _check_index_target(loss, x, y, c, p.get("ignore_index", -100))
    ls = float(p.get("label_smoothing") or 0.0)
    if ls < 0:
        w.append(
            msg(
                "label_smoothing is {ls}; PyTorch computes with a negative value, which sharpens the "
                "target beyond one-hot instead of smoothing it. Use a value in [0, 1].",
                ls=format(ls, 'g'),
            )
        )
    if _looks_like_probabilities(x, cdim):
        w.append(
            N_("input rows already look like probabilities (in [0, 1] and summing to 1). CrossEntropyLoss applies "
            "log-softmax itself, so pass raw scores (logits), not softmax outputs; feeding probabilities "
            "squashes the loss and its gradients.")
        )
    return {"input": x, "target": y}, w


def _sample_ce(g: torch.Generator) -> dict[str, Tensor]:
    return {"input": _rand(g, 4, 5), "target": _randint(g, 5, 4)}


register_loss(
    LossSpec(
        name="CrossEntropyLoss",
        cls=nn.CrossEntropyLoss,
        derive=derive_ce,
        symbols={"input": "z"}, dim_names={1: ("class",), 2: ("sample", "class")},
        # per_sample not for vmap's sake but for speed: only the sample that holds the varied logits is
        # recomputed; 'mean' divides by the summed class weights, read off torch
        batch_layout="per_sample_weighted", family=("MultiMarginLoss",),
        landscape_example=LandscapeExample({"input": "[[0.1, 0.2, 0.3], [1.0, -0.5, 0.2]]", "target": "1, 0"}), default_pair=true_and_rival,
        flat_reason=class_index_flat_reason("CrossEntropyLoss", reads_true_class_only=False),
        training=TrainingUse(N_("softmax + negative log-likelihood on the raw scores (supports label smoothing)"),
                             options=("label_smoothing",)),
        title=N_("Cross-entropy loss"),
        task="classification",
        slots=(
            TensorSlot("input", N_("logits z"), "prediction", "float", N_("raw scores: (C), (N, C) or (N, C, d1, ...)"), "input"),
            TensorSlot(
                "target",
                N_("target (class index or probabilities)"),
                "target",
                "any",
                N_("class indices of shape (), (N) or (N, d1, ...); or probabilities with the input's shape"),
                "target",
            ),
        ),
        params=(
            ParamSpec("weight", "tensor", None, N_("a rescaling weight per class (length C)"), low=0.0, optional=True),
            ParamSpec("ignore_index", "int", -100, N_("a target value that is ignored (class indices only)")),
            ParamSpec("label_smoothing", "float", 0.0, N_("mix this much of a uniform distribution into the target"),
                      high=1.0),
        ),
        # two lines (probabilities, then class indices t_n): one line is wider than a laptop's column
        formula=r"\begin{gathered}\ell_n = -\sum_{c} w_c\, y_{n,c} \log \frac{e^{z_{n,c}}}{\sum_{k} e^{z_{n,k}}} \\ "
        r"t_n \in \{0, \dots, C-1\}:\ \ell_n = -w_{t_n}\log\operatorname{softmax}(z_n)_{t_n}\end{gathered}",
        advice=N_("For single-label classification. It takes raw logits and applies log-softmax itself: do not "
        "put a softmax in front. Targets are class indices or probabilities of the input's shape."),
        check=_check_ce,
        sample=_sample_ce,
        continuous=True,
        per_element_means=N_("one loss per sample (per position for (N, C, H, W))"),
    )
)


def _check_nll(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "NLLLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = t["target"]
    cdim, c = _class_dim_info(loss, x)
    _weight_len(loss, p, "weight", c, "classes")
    if y.shape == x.shape and x.dim() >= 1 and y.is_floating_point():
        raise LossvizInputError(
            msg(
                "{loss}: target must be class indices (one whole number per sample), not probabilities; "
                "for probability targets use CrossEntropyLoss or KLDivLoss",
                loss=loss,
            )
        )
    y = _check_index_target(loss, x, y, c, p.get("ignore_index", -100))
    if (x > 1e-6).any():
        w.append(
            N_("NLLLoss expects log-probabilities (all ≤ 0), but the input has positive values. Apply "
            "log_softmax first (choose the log_softmax transform), or use CrossEntropyLoss on raw logits.")
        )
    return {"input": x, "target": y}, w


def _sample_nll(g: torch.Generator) -> dict[str, Tensor]:
    return {"input": torch.log_softmax(_rand(g, 4, 5), dim=1), "target": _randint(g, 5, 4)}


register_loss(
    LossSpec(
        name="NLLLoss",
        cls=nn.NLLLoss,
        derive=derive_nll,
        symbols={"input": "x"}, dim_names={1: ("class",), 2: ("sample", "class")},
        landscape_example=LandscapeExample({"input": "[[0.1, 0.2, 0.3], [1.0, -0.5, 0.2]]", "target": "1, 0"}, transform="log_softmax"), default_pair=true_and_rival,
        flat_reason=class_index_flat_reason("NLLLoss", reads_true_class_only=True),
        training=TrainingUse(N_("negative log-likelihood after log_softmax on the scores"), transform="log_softmax"),
        title=N_("Negative log-likelihood loss"),
        task="classification",
        slots=(
            TensorSlot("input", N_("log-probabilities"), "prediction", "float", N_("log-probabilities: (C), (N, C) or (N, C, d1, ...)"), "input"),
            TensorSlot("target", N_("target class index"), "target", "long", N_("class indices of shape (), (N) or (N, d1, ...)"), "target"),
        ),
        params=(
            ParamSpec("weight", "tensor", None, N_("a rescaling weight per class (length C)"), low=0.0, optional=True),
            ParamSpec("ignore_index", "int", -100, N_("a target value that is ignored")),
        ),
        formula=r"\ell_n = -w_{t_n}\, x_{n, t_n}",
        advice=N_("Picks the log-probability of the true class and negates it. Feed it log_softmax outputs: "
        "LogSoftmax + NLLLoss is exactly CrossEntropyLoss."),
        check=_check_nll,
        sample=_sample_nll,
        transforms=("log_softmax",),
        per_element_means=N_("one loss per sample"),
    )
)


def _check_bce(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "BCELoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = _need_float(loss, "target", t["target"], "Found dtype Long but expected Float",
                    N_("write the labels with decimals (1., 0.), as floats of the input's shape"))
    _need_same(loss, "input", x, "target", y)
    if ((x < 0) | (x > 1)).any():
        v = x[(x < 0) | (x > 1)].flatten()[0].item()
        raise LossvizInputError(
            msg(
                "{loss}: input must be probabilities in [0, 1], but it has {v}; apply a sigmoid first "
                "(choose the sigmoid transform) or use BCEWithLogitsLoss on raw scores",
                loss=loss, v=format(v, 'g'),
            )
        )
    if ((y < 0) | (y > 1)).any():
        raise LossvizInputError(msg("{loss}: target must be in [0, 1] (labels 0 or 1, or soft labels)", loss=loss))
    _weight_broadcast(loss, p, "weight", x)
    if ((x == 0) | (x == 1)).any():
        w.append(
            N_("some inputs are exactly 0 or 1. log(0) is -inf, so PyTorch clamps the log at -100: the loss of "
            "those elements is capped at 100 and their gradient is not the true one.")
        )
    return {"input": x, "target": y}, w


def _weight_broadcast(loss: str, p: dict[str, Any], name: str, x: Tensor) -> None:
    wt = p.get(name)
    if wt is None:
        return
    try:
        torch.broadcast_shapes(wt.shape, x.shape)
    except RuntimeError:
        raise LossvizInputError(
            msg(
                "{loss}: {name} has {numel} values, which cannot line up with input of shape {shape_x}; "
                "give one value per element of the last dimension ({value})",
                loss=loss, name=name, numel=wt.numel(), shape_x=_shape(x), value=x.shape[-1] if x.dim() else 1,
            )
        ) from None
    out = torch.broadcast_shapes(wt.shape, x.shape)
    if out != x.shape:  # torch writes the loss in the input's shape ("output with shape ... doesn't match")
        raise LossvizInputError(msg(
            "{loss}: {name} of shape {shape_w} broadcasts with the input {shape_x} to {out}, but PyTorch writes "
            "the loss in the input's shape; give {name} the input's shape, or fewer dimensions",
            loss=loss, name=name, shape_w=_shape(wt), shape_x=_shape(x), out=tuple(out),
        ))


def _sample_bce(g: torch.Generator) -> dict[str, Tensor]:
    return {
        "input": torch.sigmoid(_rand(g, 4, 3)),
        "target": torch.randint(0, 2, (4, 3), generator=g).to(torch.float32),
    }


register_loss(
    LossSpec(
        name="BCELoss",
        cls=nn.BCELoss,
        derive=derive_bce,
        symbols={"input": "p"}, family=("MSELoss",),
        landscape_example=LandscapeExample({"input": "0.3, 0.8, 0.6", "target": "1., 0., 1."}),
        domain=_bce_domain, flat_reason=zero_weight_flat_reason,
        title=N_("Binary cross-entropy loss"),
        task="binary classification",
        slots=(
            TensorSlot("input", N_("probability p"), "prediction", "float", N_("probabilities in [0, 1]; any shape"), "input"),
            TensorSlot("target", N_("label y"), "target", "float", N_("labels in [0, 1], the input's shape"), "target"),
        ),
        params=(
            ParamSpec("weight", "tensor", None, N_("a rescaling weight per element (broadcast to the input)"), low=0.0,
                      optional=True),
        ),
        formula=r"\ell_i = -w_i\,[\,y_i \log p_i + (1 - y_i) \log(1 - p_i)\,]",
        advice=N_("For binary or multi-label targets, on probabilities: put a sigmoid in front. "
        "BCEWithLogitsLoss does the sigmoid inside and is numerically safer."),
        check=_check_bce,
        sample=_sample_bce,
        transforms=("sigmoid",),
    )
)


def _check_bcel(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "BCEWithLogitsLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = _need_float(loss, "target", t["target"],
                    "result type Float can't be cast to the desired output type Long",
                    N_("write the labels with decimals (1., 0.), as floats of the input's shape"))
    _need_same(loss, "input", x, "target", y)
    if ((y < 0) | (y > 1)).any():
        w.append(Misfit(
            N_("target has values outside [0, 1]. PyTorch computes with them anyway (the loss can then be "
            "negative and has no minimum); labels are 0 or 1, soft labels in between.")
        ))
    _weight_broadcast(loss, p, "weight", x)
    pw = p.get("pos_weight")
    if pw is not None:
        c = x.shape[-1] if x.dim() else 1
        try:
            fits = torch.broadcast_shapes(pw.shape, x.shape) == x.shape
        except RuntimeError:
            fits = False
        if not fits:
            raise LossvizInputError(
                msg(
                    "{loss}: pos_weight has {numel} values but the input's last dimension has {c} classes; "
                    "give one pos_weight per class ({c} values) or a single value",
                    loss=loss, numel=pw.numel(), c=c,
                )
            )
    return {"input": x, "target": y}, w


register_loss(
    LossSpec(
        name="BCEWithLogitsLoss",
        cls=nn.BCEWithLogitsLoss,
        derive=derive_bcel,
        symbols={"input": "z"}, family=("MultiLabelSoftMarginLoss",),
        landscape_example=LandscapeExample({"input": "-0.5, 1.2, 0.3", "target": "1., 0., 1."}),
        flat_reason=zero_weight_flat_reason,
        title=N_("Binary cross-entropy loss with logits"),
        task="binary classification",
        slots=(
            TensorSlot("input", N_("logit z"), "prediction", "float", N_("raw scores; any shape"), "input"),
            TensorSlot("target", N_("label y"), "target", "float", N_("labels in [0, 1], the input's shape"), "target"),
        ),
        params=(
            ParamSpec("weight", "tensor", None, N_("a rescaling weight per element (broadcast to the input)"), low=0.0,
                      optional=True),
            ParamSpec("pos_weight", "tensor", None, N_("weight of positive examples per class (last dimension)"),
                      low=0.0, optional=True),
        ),
        formula=r"\ell_i = -w_i\,[\,p_c\, y_i \log \sigma(z_i) + (1 - y_i) \log(1 - \sigma(z_i))\,]",
        advice=N_("Sigmoid + binary cross-entropy in one numerically stable step; use it on raw scores. "
        "pos_weight > 1 raises recall on rare positive classes."),
        check=_check_bcel,
        sample=lambda g: {"input": _rand(g, 4, 3), "target": torch.randint(0, 2, (4, 3), generator=g).float()},
    )
)



def _check_mlsm(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "MultiLabelSoftMarginLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = _as_float(t["target"])  # torch promotes whole-number labels itself
    if x.dim() == 0:
        raise LossvizInputError(msg("{loss}: input must be (C) or (N, C), one score per class, not a single number", loss=loss))
    _same_or_broadcast(loss, "input", x, "target", y, w)
    wt = p.get("weight")
    if wt is not None:
        try:
            torch.broadcast_shapes(wt.shape, torch.broadcast_shapes(x.shape, y.shape))
        except RuntimeError:
            _weight_len(loss, p, "weight", x.shape[-1], "classes")
    if ((y != 0) & (y != 1)).any():
        w.append(N_("targets should be 0 or 1 (is the label present?); other values are used as soft labels."))
    return {"input": x, "target": y}, w


register_loss(
    LossSpec(
        name="MultiLabelSoftMarginLoss",
        cls=nn.MultiLabelSoftMarginLoss,
        symbols={"input": "z"}, dim_names={1: ("class",), 2: ("sample", "class")}, family=("BCEWithLogitsLoss",),
        title=N_("Multi-label soft margin loss"),
        task="multi-label classification",
        slots=(
            TensorSlot("input", N_("scores z"), "prediction", "float", N_("(C) or (N, C) raw scores"), "input"),
            TensorSlot("target", N_("labels (0/1 per class)"), "target", "float", N_("0 or 1 per class, the input's shape"), "target"),
        ),
        params=(ParamSpec("weight", "tensor", None, N_("a weight per class (length C)"), low=0.0, optional=True),),
        formula=r"\ell_n = -\frac{1}{C}\sum_c w_c\,[\,y_{n,c}\log\sigma(z_{n,c}) + (1-y_{n,c})\log(1-\sigma(z_{n,c}))\,]",
        advice=N_("Multi-label classification (several classes can be on at once): a sigmoid BCE per class, "
        "averaged over classes for each sample."),
        check=_check_mlsm,
        sample=lambda g: {"input": _rand(g, 3, 4), "target": torch.randint(0, 2, (3, 4), generator=g).float()},
        per_element_means=N_("one loss per sample"),
    )
)


def _check_multi_margin(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "MultiMarginLoss"
    x = _as_float(t["input"])
    y = t["target"]
    if x.dim() > 2:
        raise LossvizInputError(msg(
            "{loss}: input must be (C) or (N, C), but it has shape {shape_x}",
            loss=loss, shape_x=_shape(x),
        ))
    c = x.shape[-1] if x.dim() else 1
    _weight_len(loss, p, "weight", c, "classes")
    # torch takes a target () or (1,) for one sample, whether the input is (C) or (1, C)
    if not (x.dim() == 0 or (x.dim() == 2 and x.shape[0] == 1)) or y.dim() > 1 or y.numel() != 1:
        y = _check_index_target(loss, x if x.dim() else x.reshape(1), y, c, None, one_elem_ok=True)
    else:
        y = _class_indices(loss, y, c, None)
    return {"input": x, "target": y}, []


register_loss(
    LossSpec(
        name="MultiMarginLoss",
        cls=nn.MultiMarginLoss,
        derive=derive_multi_margin,
        symbols={"input": "z"}, dim_names={1: ("class",), 2: ("sample", "class")}, batch_layout="per_sample",
        family=("CrossEntropyLoss",), landscape_example=LandscapeExample({"input": "[[0.1, 0.2, 0.3], [1.0, -0.5, 0.2]]", "target": "1, 0"}), default_pair=true_and_rival,
        training=TrainingUse(N_("multi-class hinge loss on the raw scores (wants the right class ahead by a margin)"),
                             options=("margin",), chance=_chance_margin),
        title=N_("Multi-class margin loss (multi-class hinge)"),
        task="classification",
        slots=(
            TensorSlot("input", N_("scores z"), "prediction", "float", N_("(C) or (N, C) raw scores"), "input"),
            TensorSlot("target", N_("target class index"), "target", "long", N_("one class index per sample: () or (N)"), "target"),
        ),
        params=(
            ParamSpec("p", "choice", 1, N_("1 for the hinge, 2 for the squared hinge"), choices=(1, 2)),
            ParamSpec("margin", "float", 1.0, N_("how far the true class must beat every other")),
            ParamSpec("weight", "tensor", None, N_("a weight per class (length C)"), low=0.0, optional=True),
        ),
        formula=r"\ell_n = \frac{1}{C}\sum_{c \ne t_n} \max(0, \Delta - z_{n,t_n} + z_{n,c})^p",
        advice=N_("The multi-class SVM hinge: zero once the true class's score beats every other class by the "
        "margin, so confident correct samples stop contributing."),
        check=_check_multi_margin,
        sample=lambda g: {"input": _rand(g, 4, 5), "target": _randint(g, 5, 4)},
        per_element_means=N_("one loss per sample"),
    )
)


def _check_mlm(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "MultiLabelMarginLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = t["target"]
    if x.dim() > 2:
        raise LossvizInputError(msg(
            "{loss}: input must be (C) or (N, C), but it has shape {shape_x}",
            loss=loss, shape_x=_shape(x),
        ))
    if y.is_floating_point():
        raise LossvizInputError(
            msg(
                "{loss}: target holds class indices padded with -1 (whole numbers such as 3, 0, -1, -1), "
                "not 0/1 flags; for 0/1 flags per class use MultiLabelSoftMarginLoss",
                loss=loss,
            )
        )
    # torch's rule: for (C) or a single score, a target of at most one dimension with C values;
    # for (N, C), the same shape
    if x.dim() <= 1:
        if y.dim() > 1 or y.numel() != (x.numel() if x.dim() else 1):
            _need_same(loss, "input", x, "target", y)
    else:
        _need_same(loss, "input", x, "target", y)
    c = x.shape[-1] if x.dim() else 1
    if ((y < -1) | (y >= c)).any():
        raise LossvizInputError(
            msg(
                "{loss}: target values must be class indices 0..{c}, with -1 to end the list of labels",
                loss=loss, c=c - 1,
            )
        )
    return {"input": x, "target": y}, w


def _sample_mlm(g: torch.Generator) -> dict[str, Tensor]:
    y = torch.full((3, 4), -1, dtype=torch.int64)
    for n in range(3):
        k = int(torch.randint(1, 4, (1,), generator=g))
        y[n, :k] = torch.randperm(4, generator=g)[:k]
    return {"input": _rand(g, 3, 4), "target": y}


register_loss(
    LossSpec(
        name="MultiLabelMarginLoss",
        cls=nn.MultiLabelMarginLoss,
        symbols={"input": "z"}, dim_names={1: ("class",), 2: ("sample", "class")}, batch_layout="per_sample",
        flat_reason=_mlm_flat,
        title=N_("Multi-label margin loss"),
        task="multi-label classification",
        slots=(
            TensorSlot("input", N_("scores z"), "prediction", "float", N_("(C) or (N, C) raw scores"), "input"),
            TensorSlot(
                "target",
                N_("label indices, -1 padded"),
                "target",
                "long",
                N_("the input's shape: the true class indices first, then -1 to pad"),
                "target",
            ),
        ),
        params=(),
        formula=r"\ell_n = \sum_{j \in Y_n}\sum_{i \notin Y_n} \frac{\max(0, 1 - (z_{n,j} - z_{n,i}))}{C}",
        advice=N_("Multi-label hinge: every true label must beat every false label by 1. The target lists the "
        "true class indices and pads with -1 (everything after the first -1 is ignored)."),
        check=_check_mlm,
        sample=_sample_mlm,
        per_element_means=N_("one loss per sample"),
    )
)
