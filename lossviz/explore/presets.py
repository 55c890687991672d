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
from lossviz.i18n import gettext, msg
from lossviz.losses import LossSpec, get_loss, list_losses
from lossviz.losses.parsing import format_tensor


@dataclass(frozen=True)
class Preset:
    key: str
    title: str
    title_zh: str
    loss: str
    texts: dict[str, str]  # slot name -> text
    reduction: str = "mean"
    params: dict[str, str] = field(default_factory=dict)  # param name -> text
    transform: str = "none"
    shapes: dict[str, str] = field(default_factory=dict)
    lesson: str = ""  # what this example teaches, one sentence
    lesson_zh: str = ""  # the same in Chinese

    def lesson_in(self, lang: str) -> str:
        """The lesson in ``lang`` ("en" or "zh"); English when there is no Chinese one."""
        return self.lesson_zh if lang == "zh" and self.lesson_zh else self.lesson


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
        "l1_sum", "L1Loss, sum, reshaped to (1,1,1,3)", "L1 损失（求和，reshape 为 (1,1,1,3)）", "L1Loss",
        {"input": "1, 2, 3", "target": "1, 2, 5"}, reduction="sum",
        shapes={"input": "(1, 1, 1, 3)", "target": "(1, 1, 1, 3)"},
        lesson="|1−1| + |2−2| + |3−5| = 2: only the last element is wrong, and it alone gets a gradient.",
        lesson_zh="|1−1| + |2−2| + |3−5| = 2：只有最后一个元素预测错了，也只有它得到了梯度。",
    ),
    Preset(
        "mse_mean", "MSELoss on the same numbers", "均方误差（同一组数据）", "MSELoss",
        {"input": "1, 2, 3", "target": "1, 2, 5"}, reduction="mean",
        shapes={"input": "(1, 1, 1, 3)", "target": "(1, 1, 1, 3)"},
        lesson="(0 + 0 + 2²) / 3 = 1.333: squaring makes the one error count four times, then 'mean' divides by 3.",
        lesson_zh="(0 + 0 + 2²) / 3 = 1.333：唯一的误差 2 平方后变成 4，'mean' 再除以 3。",
    ),
    Preset(
        "ce_single", "CrossEntropyLoss of [0.1, 0.2, 0.3] vs class 1", "交叉熵：[0.1, 0.2, 0.3]，类别 1",
        "CrossEntropyLoss", {"input": "0.1, 0.2, 0.3", "target": "[1]"}, shapes={"input": "(1, 3)"},
        lesson="−0.2 + log(e^0.1 + e^0.2 + e^0.3) = 1.1019; the gradient is softmax − one-hot.",
        lesson_zh="−0.2 + log(e^0.1 + e^0.2 + e^0.3) = 1.1019；梯度等于 softmax − one-hot（独热编码）。",
    ),
    Preset(
        "ce_4x4_none", "CrossEntropyLoss 4×4, reduction none", "交叉熵 4×4，reduction='none'", "CrossEntropyLoss",
        {"input": _LOGITS_4x4, "target": "0, 1, 2, 3"}, reduction="none",
        lesson="One loss per sample: each row's true class is its largest logit, so every loss is below log 4.",
        lesson_zh="每个样本一个损失：每一行的正确类别恰好是该行最大的 logit，所以每个损失都小于 log 4。",
    ),
    Preset(
        "ce_4x4_mean", "CrossEntropyLoss 4×4, reduction mean", "交叉熵 4×4，reduction='mean'", "CrossEntropyLoss",
        {"input": _LOGITS_4x4, "target": "0, 1, 2, 3"}, reduction="mean",
        lesson="The mean of the four per-sample losses; each gradient row is (softmax − one-hot) / 4.",
        lesson_zh="四个样本损失的平均值；梯度的每一行是 (softmax − one-hot) / 4。",
    ),
    Preset(
        "ce_4x4_sum", "CrossEntropyLoss 4×4, reduction sum", "交叉熵 4×4，reduction='sum'", "CrossEntropyLoss",
        {"input": _LOGITS_4x4, "target": "0, 1, 2, 3"}, reduction="sum",
        lesson="The sum is 4× the mean, and so are the gradients: the reduction rescales the step size.",
        lesson_zh="求和是平均值的 4 倍，梯度也是 4 倍：归约方式改变的是梯度下降的步长。",
    ),
    Preset(
        "ce_4x4_onehot", "CrossEntropyLoss 4×4 vs the one-hot matrix", "交叉熵 4×4，one-hot 目标", "CrossEntropyLoss",
        {"input": _LOGITS_4x4, "target": _ONE_HOT_4}, reduction="mean",
        lesson="A one-hot probability target gives exactly the same loss as the class indices [0, 1, 2, 3].",
        lesson_zh="用独热编码（one-hot）的概率作目标，得到的损失与类别下标 [0, 1, 2, 3] 完全相同。",
    ),
    Preset(
        "bce_sigmoid", "BCELoss after sigmoid", "先 sigmoid 再 BCELoss", "BCELoss",
        {"input": "0.8, -1.2, 0.3", "target": "1., 0., 1."}, transform="sigmoid",
        lesson="The scores become probabilities σ(x) first; the gradient w.r.t. the raw score is σ(x) − y (÷3).",
        lesson_zh="分数先经过 σ(x) 变成概率；对原始分数的梯度是 σ(x) − y（再 ÷3）。",
    ),
    Preset(
        "nll_logsoftmax", "NLLLoss after LogSoftmax (3 samples, 4 features)", "先 LogSoftmax 再 NLLLoss（4 个特征）",
        "NLLLoss",
        {"input": "[[1.2, -0.3, 0.5, 0.1],\n [0.2, 0.8, -1.0, 0.4],\n [-0.5, 0.3, 0.1, 1.5]]", "target": "0, 1, 3"},
        transform="log_softmax",
        lesson="LogSoftmax + NLLLoss on these scores equals CrossEntropyLoss on the raw scores.",
        lesson_zh="对这些分数先做 LogSoftmax 再用 NLLLoss，结果等于直接对原始分数用 CrossEntropyLoss。",
    ),
    Preset(
        "kl_batchmean", "KLDivLoss with batchmean", "KL 散度（batchmean）", "KLDivLoss",
        {"input": "[[0.2, 1.1, 0.4],\n [1.0, 0.1, 0.6]]", "target": "[[0.1, 0.6, 0.3],\n [0.5, 0.2, 0.3]]"},
        reduction="batchmean", transform="log_softmax",
        lesson="The input goes through log_softmax; 'batchmean' sums p·(log p − log q) and divides by the 2 rows.",
        lesson_zh="输入先经过 log_softmax；'batchmean' 对 p·(log p − log q) 求和，再除以行数 2。",
    ),
    Preset(
        "hinge_embedding", "HingeEmbeddingLoss with labels ±1", "Hinge 嵌入损失（标签 ±1）", "HingeEmbeddingLoss",
        {"input": "0.3, 1.5, 0.2, 0.8", "target": "1, -1, -1, 1"}, params={"margin": "1.0"},
        lesson="Similar pairs (1) cost their distance; dissimilar pairs (−1) cost only if closer than the margin.",
        lesson_zh="相似对（1）的代价就是它们的距离；不相似对（−1）只有在距离小于 margin 时才有代价。",
    ),
    Preset(
        "bce_imbalanced", "BCEWithLogitsLoss on an imbalanced batch (1 positive, 15 negatives)",
        "BCEWithLogitsLoss：不平衡的批次（1 个正样本，15 个负样本）", "BCEWithLogitsLoss",
        {"input": _IMBALANCED_LOGITS, "target": _IMBALANCED_LABELS}, reduction="sum",
        lesson="The one hard positive (logit −1) costs 1.313; the 15 easy negatives, each already classified "
        "right, cost 1.272 together: half the loss (and much of the gradient) is spent on easy background. "
        "Load the focal-loss example next: same batch.",
        lesson_zh="唯一的困难正样本（logit −1）损失 1.313；15 个已经分对的简单负样本加起来损失 1.272："
        "一半的损失（和大量梯度）花在了简单的背景上。接着加载焦点损失的例子：同一个批次。",
    ),
    Preset(
        "focal_imbalanced", "sigmoid_focal_loss on the same imbalanced batch",
        "sigmoid_focal_loss：同一个不平衡批次", "sigmoid_focal_loss",
        {"inputs": _IMBALANCED_LOGITS, "targets": _IMBALANCED_LABELS}, reduction="sum",
        lesson="The factor α_t·(1 − p_t)^γ (α = 0.25, γ = 2) shrinks each easy negative's loss 90–600×: the 15 "
        "negatives now add up to 0.0089 of 0.184, and the hard positive alone carries 95%. That is why "
        "the easy negatives stop dominating a detector's training.",
        lesson_zh="因子 α_t·(1 − p_t)^γ（α = 0.25，γ = 2）把每个简单负样本的损失缩小 90–600 倍：15 个负样本"
        "加起来只有 0.0089（总损失 0.184），困难正样本占了 95%。这就是简单负样本不再主导检测器训练的原因。",
    ),
    Preset(
        "giou_disjoint", "GIoU loss of two boxes that do not overlap", "两个不重叠框的 GIoU 损失",
        "generalized_box_iou_loss", {"boxes1": "0., 0., 2., 2.", "boxes2": "3., 0., 5., 2."},
        reduction="none",
        lesson="The boxes do not touch, so IoU = 0 and the IoU loss 1 − IoU is 1 wherever box 1 sits while they "
        "stay apart: flat, zero gradient, nothing to learn from. GIoU adds the empty share of the enclosing box "
        "(0,0)–(5,2): (10 − 8)/10 = 0.2, so the loss is 1.2 and its gradient −0.2 on x2 moves box 1's right "
        "edge towards box 2.",
        lesson_zh="两个框不相交，IoU = 0，只要它们不重叠，IoU 损失 1 − IoU 无论框 1 在哪里都是 1："
        "平坦、梯度为零，学不到任何东西。GIoU 加上外接框 (0,0)–(5,2) 中空着的比例 (10 − 8)/10 = 0.2，"
        "所以损失是 1.2，x2 上的梯度 −0.2 会把框 1 的右边缘推向框 2。",
    ),
    Preset(
        "seg_onehot", "Segmentation: CrossEntropyLoss of (N,C,H,W) logits vs a one-hot (N,C,H,W) mask",
        "语义分割：(N,C,H,W) 的 logits 对 one-hot (N,C,H,W) 掩码的交叉熵", "CrossEntropyLoss",
        {"input": _SEG_LOGITS, "target": "1., 0., 0., 0., 0., 0., 1., 0., 0., 1., 0., 1."},
        shapes={"input": "(1, 3, 2, 2)", "target": "(1, 3, 2, 2)"},
        lesson="A one-hot float mask of the input's shape is read as class probabilities per pixel. The classic "
        "tutorial's forward turns it into class indices with mask.argmax(dim=1), shape (N, H, W) = "
        "[[[0, 2], [1, 2]]]; both give the same loss, 0.7258: the mean over the 4 pixels of −log softmax at "
        "the true class.",
        lesson_zh="与输入同形状的 one-hot 浮点掩码会被当作每个像素的类别概率。经典教程的 forward 用 "
        "mask.argmax(dim=1) 把它变成类别下标，形状 (N, H, W) = [[[0, 2], [1, 2]]]；两者的损失相同，都是 0.7258："
        "4 个像素上正确类别的 −log softmax 的平均值。",
    ),
    Preset(
        "seg_argmax", "Segmentation: the same logits vs mask.argmax(dim=1), as the tutorial's forward does",
        "语义分割：同一组 logits 对 mask.argmax(dim=1)（教程 forward 的做法）", "CrossEntropyLoss",
        {"input": _SEG_LOGITS, "target": "[[[0, 2], [1, 2]]]"}, shapes={"input": "(1, 3, 2, 2)"},
        lesson="Class indices (N, H, W) from argmax over the class dimension: the same 0.7258 as the one-hot "
        "mask, and the same gradient (softmax − one-hot, divided by the 4 pixels).",
        lesson_zh="沿类别维度 argmax 得到的类别下标 (N, H, W)：损失同样是 0.7258，与 one-hot 掩码相同，"
        "梯度也相同（softmax − one-hot，再除以 4 个像素）。",
    ),
    Preset(
        "mse_random50", "MSELoss on 50 random values", "均方误差：50 个随机数", "MSELoss",
        _random_texts(50, seed=0),
        lesson="Standard normal prediction and target: the expected MSE is 2 (variance of their difference).",
        lesson_zh="预测值和目标值都服从标准正态分布：MSE 的期望是 2（即二者之差的方差）。",
    ),
)

_BY_KEY = {p.key: p for p in PRESETS}


def preset_titles(lang: str = "en") -> dict[str, str]:
    """Each preset's title in ``lang``, by key (a page's picker labels, computed once per run)."""
    return {p.key: gettext(p.title, lang) for p in PRESETS}


def loss_labels(lang: str = "en") -> dict[str, str]:
    """The loss picker's labels: torch's name, and in Chinese the Chinese name after it."""
    return {name: (f"{name} · {get_loss(name).title_zh}" if lang == "zh" else name) for name in list_losses()}


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
