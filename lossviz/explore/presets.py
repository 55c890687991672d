"""Runnable examples: the classic tutorial cases, one click each.

Each preset is plain data (texts as the user would type them), so loading one
is the same as typing it, and the URL can carry it.

Example:
    >>> get_preset("l1_sum").loss
    'L1Loss'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, gettext, msg
from lossviz.losses import LossSpec, get_loss, list_losses
from lossviz.losses.parsing import format_tensor


@dataclass(frozen=True)
class Preset:
    key: str
    title: str  # English, marked N_ below; shown through the catalog (preset_titles)
    loss: str
    texts: dict[str, str]  # slot name -> text
    reduction: str = "mean"
    params: dict[str, str] = field(default_factory=dict)  # param name -> text
    transform: str = "none"
    shapes: dict[str, str] = field(default_factory=dict)
    lesson: str = ""  # what this example teaches, one sentence (English, marked N_ below)

    def lesson_in(self, lang: str) -> str:
        """The lesson in ``lang`` through the catalog; English when the catalog lacks it."""
        return gettext(self.lesson, lang) if self.lesson else ""


_LOGITS_4x4 = "[[0.8, 0.5, 0.2, 0.5],\n [0.2, 0.9, 0.3, 0.2],\n [0.4, 0.3, 0.7, 0.1],\n [0.1, 0.2, 0.4, 0.8]]"
_ONE_HOT_4 = "[[1., 0., 0., 0.],\n [0., 1., 0., 0.],\n [0., 0., 1., 0.],\n [0., 0., 0., 1.]]"


#: an imbalanced detection batch: one hard positive (logit -1), fifteen easy negatives
_IMBALANCED_LOGITS = "-1.0, " + ", ".join(["-2.0", "-2.5", "-3.0"] * 5)
_IMBALANCED_LABELS = "1., " + ", ".join(["0."] * 15)
#: segmentation logits (N, C, H, W) = (1, 3, 2, 2): three class maps of 2 x 2 pixels
_SEG_LOGITS = "1.5, -0.3, -2.2, 0.6, -1.1, -1.4, 0.4, 0.8, -0.7, -0.4, -0.6, 0.2"


def _random_texts(n: int, seed: int) -> dict[str, str]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, generator=g)
    y = torch.randn(n, generator=g)
    return {"input": format_tensor(x, digits=4), "target": format_tensor(y, digits=4)}


PRESETS: tuple[Preset, ...] = (
    Preset(
        "l1_sum", N_("L1Loss, sum, reshaped to (1,1,1,3)"), "L1Loss",
        {"input": "1, 2, 3", "target": "1, 2, 5"}, reduction="sum",
        shapes={"input": "(1, 1, 1, 3)", "target": "(1, 1, 1, 3)"},
        lesson=N_("|1−1| + |2−2| + |3−5| = 2: only the last element is wrong, and it alone gets a gradient."),
    ),
    Preset(
        "mse_mean", N_("MSELoss on the same numbers"), "MSELoss",
        {"input": "1, 2, 3", "target": "1, 2, 5"}, reduction="mean",
        shapes={"input": "(1, 1, 1, 3)", "target": "(1, 1, 1, 3)"},
        lesson=N_("(0 + 0 + 2²) / 3 = 1.333: squaring makes the one error count four times, then 'mean' divides by 3."),
    ),
    Preset(
        "ce_single", N_("CrossEntropyLoss of [0.1, 0.2, 0.3] vs class 1"),
        "CrossEntropyLoss", {"input": "0.1, 0.2, 0.3", "target": "[1]"}, shapes={"input": "(1, 3)"},
        lesson=N_("−0.2 + log(e^0.1 + e^0.2 + e^0.3) = 1.1019; the gradient is softmax − one-hot."),
    ),
    Preset(
        "ce_4x4_none", N_("CrossEntropyLoss 4×4, reduction none"), "CrossEntropyLoss",
        {"input": _LOGITS_4x4, "target": "0, 1, 2, 3"}, reduction="none",
        lesson=N_("One loss per sample: each row's true class is its largest logit, so every loss is below log 4."),
    ),
    Preset(
        "ce_4x4_mean", N_("CrossEntropyLoss 4×4, reduction mean"), "CrossEntropyLoss",
        {"input": _LOGITS_4x4, "target": "0, 1, 2, 3"}, reduction="mean",
        lesson=N_("The mean of the four per-sample losses; each gradient row is (softmax − one-hot) / 4."),
    ),
    Preset(
        "ce_4x4_sum", N_("CrossEntropyLoss 4×4, reduction sum"), "CrossEntropyLoss",
        {"input": _LOGITS_4x4, "target": "0, 1, 2, 3"}, reduction="sum",
        lesson=N_("The sum is 4× the mean, and so are the gradients: the reduction rescales the step size."),
    ),
    Preset(
        "ce_4x4_onehot", N_("CrossEntropyLoss 4×4 vs the one-hot matrix"), "CrossEntropyLoss",
        {"input": _LOGITS_4x4, "target": _ONE_HOT_4}, reduction="mean",
        lesson=N_("A one-hot probability target gives exactly the same loss as the class indices [0, 1, 2, 3]."),
    ),
    Preset(
        "bce_sigmoid", N_("BCELoss after sigmoid"), "BCELoss",
        {"input": "0.8, -1.2, 0.3", "target": "1., 0., 1."}, transform="sigmoid",
        lesson=N_("The scores become probabilities σ(x) first; the gradient w.r.t. the raw score is σ(x) − y (÷3)."),
    ),
    Preset(
        "nll_logsoftmax", N_("NLLLoss after LogSoftmax (3 samples, 4 features)"),
        "NLLLoss",
        {"input": "[[1.2, -0.3, 0.5, 0.1],\n [0.2, 0.8, -1.0, 0.4],\n [-0.5, 0.3, 0.1, 1.5]]", "target": "0, 1, 3"},
        transform="log_softmax",
        lesson=N_("LogSoftmax + NLLLoss on these scores equals CrossEntropyLoss on the raw scores."),
    ),
    Preset(
        "kl_batchmean", N_("KLDivLoss with batchmean"), "KLDivLoss",
        {"input": "[[0.2, 1.1, 0.4],\n [1.0, 0.1, 0.6]]", "target": "[[0.1, 0.6, 0.3],\n [0.5, 0.2, 0.3]]"},
        reduction="batchmean", transform="log_softmax",
        lesson=N_("The input goes through log_softmax; 'batchmean' sums p·(log p − log q) and divides by the 2 rows."),
    ),
    Preset(
        "hinge_embedding", N_("HingeEmbeddingLoss with labels ±1"), "HingeEmbeddingLoss",
        {"input": "0.3, 1.5, 0.2, 0.8", "target": "1, -1, -1, 1"}, params={"margin": "1.0"},
        lesson=N_("Similar pairs (1) cost their distance; dissimilar pairs (−1) cost only if closer than the margin."),
    ),
    Preset(
        "bce_imbalanced", N_("BCEWithLogitsLoss on an imbalanced batch (1 positive, 15 negatives)"),
        "BCEWithLogitsLoss",
        {"input": _IMBALANCED_LOGITS, "target": _IMBALANCED_LABELS}, reduction="sum",
        lesson=N_("The one hard positive (logit −1) costs 1.313; the 15 easy negatives, each already classified "
           "right, cost 1.272 together: half the loss (and much of the gradient) is spent on easy background. "
           "Load the focal-loss example next: same batch."),
    ),
    Preset(
        "focal_imbalanced", N_("sigmoid_focal_loss on the same imbalanced batch"),
        "sigmoid_focal_loss",
        {"inputs": _IMBALANCED_LOGITS, "targets": _IMBALANCED_LABELS}, reduction="sum",
        lesson=N_("The factor α_t·(1 − p_t)^γ (α = 0.25, γ = 2) shrinks each easy negative's loss 90–600×: the 15 "
           "negatives now add up to 0.0089 of 0.184, and the hard positive alone carries 95%. That is why "
           "the easy negatives stop dominating a detector's training."),
    ),
    Preset(
        "giou_disjoint", N_("GIoU loss of two boxes that do not overlap"),
        "generalized_box_iou_loss", {"boxes1": "0., 0., 2., 2.", "boxes2": "3., 0., 5., 2."},
        reduction="none",
        lesson=N_("The boxes do not touch, so IoU = 0 and the IoU loss 1 − IoU is 1 wherever box 1 sits while they "
           "stay apart: flat, zero gradient, nothing to learn from. GIoU adds the empty share of the enclosing box "
           "(0,0)–(5,2): (10 − 8)/10 = 0.2, so the loss is 1.2 and its gradient −0.2 on x2 moves box 1's right "
           "edge towards box 2."),
    ),
    Preset(
        "seg_onehot", N_("Segmentation: CrossEntropyLoss of (N,C,H,W) logits vs a one-hot (N,C,H,W) mask"),
        "CrossEntropyLoss",
        {"input": _SEG_LOGITS, "target": "1., 0., 0., 0., 0., 0., 1., 0., 0., 1., 0., 1."},
        shapes={"input": "(1, 3, 2, 2)", "target": "(1, 3, 2, 2)"},
        lesson=N_("A one-hot float mask of the input's shape is read as class probabilities per pixel. The classic "
           "tutorial's forward turns it into class indices with mask.argmax(dim=1), shape (N, H, W) = "
           "[[[0, 2], [1, 2]]]; both give the same loss, 0.7258: the mean over the 4 pixels of −log softmax at "
           "the true class."),
    ),
    Preset(
        "seg_argmax", N_("Segmentation: the same logits vs mask.argmax(dim=1), as the tutorial's forward does"),
        "CrossEntropyLoss",
        {"input": _SEG_LOGITS, "target": "[[[0, 2], [1, 2]]]"}, shapes={"input": "(1, 3, 2, 2)"},
        lesson=N_("Class indices (N, H, W) from argmax over the class dimension: the same 0.7258 as the one-hot "
           "mask, and the same gradient (softmax − one-hot, divided by the 4 pixels)."),
    ),
    Preset(
        "mse_random50", N_("MSELoss on 50 random values"), "MSELoss",
        _random_texts(50, seed=0),
        lesson=N_("Standard normal prediction and target: the expected MSE is 2 (variance of their difference)."),
    ),
)

_BY_KEY = {p.key: p for p in PRESETS}


def preset_titles(lang: str = "en") -> dict[str, str]:
    """Each preset's title in ``lang``, by key (a page's picker labels, computed once per run)."""
    return {p.key: gettext(p.title, lang) for p in PRESETS}


def loss_labels(lang: str = "en") -> dict[str, str]:
    """The loss picker's labels: torch's name, and in Chinese the translated title after it."""
    if lang == "en":
        return {name: name for name in list_losses()}
    return {name: f"{name} · {gettext(get_loss(name).title, lang)}" for name in list_losses()}


def list_presets() -> list[Preset]:
    return list(PRESETS)


def get_preset(key: str) -> Preset:
    if key not in _BY_KEY:
        raise LossvizInputError(msg(
            "unknown example {key}; choose one of: {join_by_key}",
            key=repr(str(key)[:40]), join_by_key=', '.join(_BY_KEY),
        ))
    return _BY_KEY[key]


def random_texts(spec: LossSpec | str, seed: int) -> dict[str, str]:
    """Seeded random valid input for ``spec``, as text for each slot (the page's dice button)."""
    spec = spec if isinstance(spec, LossSpec) else get_loss(spec)
    seed = int(seed)
    if not 0 <= seed < 2**31:
        raise LossvizInputError(msg("seed must be a whole number from 0 to 2147483647"))
    g = torch.Generator().manual_seed(seed)
    tensors = spec.sample(g)
    return {k: format_tensor(v, digits=4) for k, v in tensors.items()}


def default_texts(spec: LossSpec | str) -> dict[str, str]:
    """The example a loss opens with: the first preset that uses it, else seeded random input."""
    spec = spec if isinstance(spec, LossSpec) else get_loss(spec)
    for p in PRESETS:
        if p.loss == spec.name and not p.shapes and p.transform == "none":
            return dict(p.texts)
    return random_texts(spec, 0)
