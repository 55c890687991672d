"""Lessons: guided walks through what the five Chinese tutorials on PyTorch losses teach.

A lesson is a list of steps. Each step has a short explanation and one "what to notice"
sentence in English and Chinese, and either an :class:`~lossviz.explore.Example` (the page
shows it live, as the explorer would, and links to the explorer with it) or a computation that
lossviz runs live through torch (the tutorials' own tensor code: maximum likelihood by hand,
LogSoftmax + NLLLoss, one backward pass of the CIFAR-10 network). Nothing shown is typed in:
every number comes from running the step, and ``tests/test_lessons.py`` checks each against a
direct torch call.

Steps have stable keys, so each has its own URL (``?lesson=reduction&step=2``).

Example:
    >>> lesson = get_lesson("reduction")
    >>> round(lesson.steps[0].example.evaluate().value, 4)
    2.0
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from lossviz.errors import LossvizInputError
from lossviz.explore.example import Example
from lossviz.explore.presets import get_preset
from lossviz.losses import format_tensor


@dataclass(frozen=True)
class Text:
    """One sentence in both languages."""

    en: str
    zh: str

    def __call__(self, lang: str = "en") -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Fact:
    """One number a step shows, computed live; ``value`` is what the page prints."""

    key: str
    label: Text
    value: float


@dataclass(frozen=True)
class Table:
    """A small table of intermediate values: column titles and rows of numbers."""

    columns: tuple[Text, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Computation:
    """What a computed step shows: facts, an optional table and the code that reproduces it."""

    facts: tuple[Fact, ...]
    code: str
    table: Table | None = None

    def fact(self, key: str) -> float:
        for f in self.facts:
            if f.key == key:
                return f.value
        raise KeyError(key)


@dataclass(frozen=True)
class LessonStep:
    key: str
    title: Text
    explain: Text
    notice: Text
    example: Example | None = None
    compute: Callable[[], Computation] | None = None
    #: a page this step offers to open next, e.g. "training" ("watch it train")
    opens: str = ""


@dataclass(frozen=True)
class Lesson:
    key: str
    title: Text
    source: Text  # which tutorial it follows
    steps: tuple[LessonStep, ...] = field(default_factory=tuple)

    def step(self, number: int) -> LessonStep:
        """Step ``number`` (1-based), clamped into range."""
        return self.steps[clamp_step(self, number) - 1]


# --------------------------------------------------------------------------- computations

_LOGITS_4x4 = torch.tensor(
    [[0.8, 0.5, 0.2, 0.5], [0.2, 0.9, 0.3, 0.2], [0.4, 0.3, 0.7, 0.1], [0.1, 0.2, 0.4, 0.8]]
)


def _f(x: torch.Tensor) -> float:
    return float(x.detach())


def ce_by_hand_row() -> Computation:
    """The tutorial's manual cross-entropy of row 0: softmax → log → × one-hot → sum → negate."""
    z = _LOGITS_4x4[0]
    y = F.one_hot(torch.tensor(0), 4).to(z.dtype)
    p = torch.softmax(z, dim=0)
    logp = torch.log(p)
    prod = y * logp
    loss = -prod.sum()
    torch_row = F.cross_entropy(_LOGITS_4x4, torch.arange(4), reduction="none")[0]
    rows = tuple(
        (str(j), f"{z[j]:.4f}", f"{p[j]:.4f}", f"{logp[j]:.4f}", f"{y[j]:.0f}", f"{prod[j]:.4f}") for j in range(4)
    )
    return Computation(
        facts=(
            Fact("softmax_sum", Text("sum of the softmax row", "softmax 这一行之和"), _f(p.sum())),
            Fact("by_hand", Text("by hand: −Σ one-hot · log softmax", "手算：−Σ one-hot · log softmax"), _f(loss)),
            Fact("torch", Text("torch: CrossEntropyLoss(reduction='none')[0]", "torch：CrossEntropyLoss(reduction='none')[0]"),
                 _f(torch_row)),
        ),
        table=Table(
            (Text("class j", "类别 j"), Text("logit z", "logit z"), Text("softmax p", "softmax p"),
             Text("log p", "log p"), Text("one-hot y", "one-hot y"), Text("y · log p", "y · log p")),
            rows,
        ),
        code=(
            "import torch\nimport torch.nn as nn\n\n"
            f"z = torch.tensor({format_tensor(_LOGITS_4x4)})\n"
            "y = torch.eye(4)                      # one-hot targets\n"
            "p = torch.softmax(z, dim=1)           # 1. softmax\n"
            "logp = torch.log(p)                   # 2. log\n"
            "per_row = -(y * logp).sum(dim=1)      # 3. multiply by one-hot, 4. sum, negate\n"
            "print(per_row[0])\n"
            "print(nn.CrossEntropyLoss(reduction='none')(z, torch.arange(4))[0])"
        ),
    )


def _tutorial_binary() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The tutorial's data: N = 3,000 samples, 4 features, w of shape (4, 1), seed 420."""
    n = 3 * 10**3
    torch.random.manual_seed(420)
    x = torch.rand((n, 4), dtype=torch.float32)
    w = torch.rand((4, 1), dtype=torch.float32, requires_grad=True)
    y = torch.randint(low=0, high=2, size=(n, 1), dtype=torch.float32)
    return x, w, y


def bce_max_likelihood() -> Computation:
    """Binary cross-entropy from maximum likelihood, by hand and with BCELoss / BCEWithLogitsLoss."""
    x, w, y = _tutorial_binary()
    n = x.shape[0]
    zhat = torch.mm(x, w)
    sigma = torch.sigmoid(zhat)
    by_hand = -(1 / n) * torch.sum((1 - y) * torch.log(1 - sigma) + y * torch.log(sigma))
    bce = nn.BCELoss()(sigma, y)
    bcel = nn.BCEWithLogitsLoss()(zhat, y)
    return Computation(
        facts=(
            Fact("by_hand", Text("by hand: −(1/N) Σ [y·log σ + (1−y)·log(1−σ)]",
                                 "手算：−(1/N) Σ [y·log σ + (1−y)·log(1−σ)]"), _f(by_hand)),
            Fact("bce", Text("nn.BCELoss()(sigma, y)", "nn.BCELoss()(sigma, y)"), _f(bce)),
            Fact("bce_logits", Text("nn.BCEWithLogitsLoss()(zhat, y)", "nn.BCEWithLogitsLoss()(zhat, y)"), _f(bcel)),
            Fact("positives", Text("share of samples with y = 1", "y = 1 的样本比例"), _f(y.mean())),
        ),
        code=(
            "import torch\nimport torch.nn as nn\n\n"
            "N = 3 * 10**3\n"
            "torch.random.manual_seed(420)\n"
            "X = torch.rand((N, 4), dtype=torch.float32)\n"
            "w = torch.rand((4, 1), dtype=torch.float32, requires_grad=True)\n"
            "y = torch.randint(low=0, high=2, size=(N, 1), dtype=torch.float32)\n\n"
            "zhat = torch.mm(X, w)\n"
            "sigma = torch.sigmoid(zhat)\n"
            "loss = -(1 / N) * torch.sum((1 - y) * torch.log(1 - sigma) + y * torch.log(sigma))\n"
            "print(loss)\n"
            "print(nn.BCELoss()(sigma, y))\n"
            "print(nn.BCEWithLogitsLoss()(zhat, y))"
        ),
    )


def _tutorial_multiclass() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The tutorial's data: N = 300 samples, 4 features, 3 classes, w of shape (4, 3), seed 420."""
    n = 3 * 10**2
    torch.random.manual_seed(420)
    x = torch.rand((n, 4), dtype=torch.float32)
    w = torch.rand((4, 3), dtype=torch.float32, requires_grad=True)
    y = torch.randint(low=0, high=3, size=(n,), dtype=torch.float32)
    return x, w, y


def nll_equals_ce() -> Computation:
    """LogSoftmax + NLLLoss equals CrossEntropyLoss on the raw scores; softmax twice does not."""
    x, w, y = _tutorial_multiclass()
    zhat = torch.mm(x, w)
    logsigma = nn.LogSoftmax(dim=1)(zhat)
    nll = nn.NLLLoss()(logsigma, y.long())
    ce = nn.CrossEntropyLoss()(zhat, y.long())
    double = nn.CrossEntropyLoss()(torch.softmax(zhat, dim=1), y.long())
    return Computation(
        facts=(
            Fact("nll", Text("NLLLoss(LogSoftmax(zhat), y)", "NLLLoss(LogSoftmax(zhat), y)"), _f(nll)),
            Fact("ce", Text("CrossEntropyLoss(zhat, y)", "CrossEntropyLoss(zhat, y)"), _f(ce)),
            Fact("double_softmax", Text("the mistake: CrossEntropyLoss(softmax(zhat), y)",
                                        "错误写法：CrossEntropyLoss(softmax(zhat), y)"), _f(double)),
        ),
        code=(
            "import torch\nimport torch.nn as nn\n\n"
            "N = 3 * 10**2\n"
            "torch.random.manual_seed(420)\n"
            "X = torch.rand((N, 4), dtype=torch.float32)\n"
            "w = torch.rand((4, 3), dtype=torch.float32, requires_grad=True)\n"
            "y = torch.randint(low=0, high=3, size=(N,), dtype=torch.float32)\n\n"
            "zhat = torch.mm(X, w)\n"
            "logsigma = nn.LogSoftmax(dim=1)(zhat)\n"
            "print(nn.NLLLoss()(logsigma, y.long()))\n"
            "print(nn.CrossEntropyLoss()(zhat, y.long()))            # the same number\n"
            "print(nn.CrossEntropyLoss()(torch.softmax(zhat, 1), y.long()))  # softmax twice: wrong"
        ),
    )


def segmentation_one_hot() -> Computation:
    """CrossEntropyLoss on (N, C, H, W) logits against a one-hot (N, C, H, W) target and its indices."""
    torch.random.manual_seed(0)
    logits = torch.randn(2, 3, 4, 4)
    scores = torch.randn(2, 3, 4, 4)
    idx = scores.argmax(dim=1)  # (N, H, W): the class of each pixel
    one_hot = F.one_hot(idx, 3).permute(0, 3, 1, 2).to(torch.float32)  # (N, C, H, W)
    with_one_hot = F.cross_entropy(logits, one_hot)
    with_idx = F.cross_entropy(logits, idx)
    return Computation(
        facts=(
            Fact("one_hot", Text("target one-hot (2, 3, 4, 4)", "one-hot 目标 (2, 3, 4, 4)"), _f(with_one_hot)),
            Fact("indices", Text("target indices (2, 4, 4) = argmax over dim 1", "下标目标 (2, 4, 4) = 沿 dim 1 取 argmax"),
                 _f(with_idx)),
            Fact("pixels", Text("pixels averaged over (2 × 4 × 4)", "参与平均的像素数 (2 × 4 × 4)"), float(idx.numel())),
        ),
        code=(
            "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n"
            "torch.random.manual_seed(0)\n"
            "logits = torch.randn(2, 3, 4, 4)            # (N, C, H, W): a score per class per pixel\n"
            "idx = torch.randn(2, 3, 4, 4).argmax(dim=1)  # (N, H, W): the true class of each pixel\n"
            "one_hot = F.one_hot(idx, 3).permute(0, 3, 1, 2).float()  # (N, C, H, W)\n"
            "print(nn.CrossEntropyLoss()(logits, one_hot))\n"
            "print(nn.CrossEntropyLoss()(logits, idx))   # the same number"
        ),
    )


def cnn_backward() -> Computation:
    """One batch of the tutorial's CIFAR-10 CNN: loss → backward → the gradient norm of each layer."""
    from lossviz.training.data import make_synthetic
    from lossviz.training.model import build_model, layer_labels

    torch.random.manual_seed(0)
    model = build_model(relu=False)
    batch = make_synthetic(seed=0, n_train=64, n_test=10).train
    images = batch.images[:64].to(torch.float32) / 255.0
    labels = batch.labels[:64]
    loss = nn.CrossEntropyLoss()(model(images), labels)
    loss.backward()
    labels_of = layer_labels(model)
    rows = []
    facts = [Fact("loss", Text("loss of the first batch (64 images)", "第一个批次（64 张图）的损失"), _f(loss))]
    for name, p in model.named_parameters():
        norm = _f(p.grad.norm())
        rows.append((labels_of.get(name, name), "×".join(str(d) for d in p.shape), f"{norm:.4g}"))
        facts.append(Fact(f"grad_norm/{name}", Text(f"‖grad‖ {labels_of.get(name, name)}",
                                                     f"‖梯度‖ {labels_of.get(name, name)}"), norm))
    return Computation(
        facts=tuple(facts),
        table=Table((Text("layer", "层"), Text("shape", "形状"), Text("gradient norm", "梯度范数")), tuple(rows)),
        code=(
            "import torch\nimport torch.nn as nn\n\n"
            "torch.random.manual_seed(0)\n"
            "model = nn.Sequential(\n"
            "    nn.Conv2d(3, 32, 5, padding=2), nn.MaxPool2d(2),\n"
            "    nn.Conv2d(32, 32, 5, padding=2), nn.MaxPool2d(2),\n"
            "    nn.Conv2d(32, 64, 5, padding=2), nn.MaxPool2d(2),\n"
            "    nn.Flatten(), nn.Linear(1024, 64), nn.Linear(64, 10))\n"
            "loss = nn.CrossEntropyLoss()(model(images), labels)   # one batch of 64 images\n"
            "loss.backward()\n"
            "for name, p in model.named_parameters():\n"
            "    print(name, p.grad.norm())"
        ),
    )


# --------------------------------------------------------------------------- the lessons


def _ex(loss: str, reduction: str, texts: dict[str, str], **kw: object) -> Example:
    return Example(loss=loss, reduction=reduction, texts=texts, **kw)  # type: ignore[arg-type]


_TUTORIAL_1 = Text("Tutorial 1: L1Loss and MSELoss", "教程一：L1Loss 与 MSELoss")
_TUTORIAL_2 = Text("Tutorial 2: CrossEntropyLoss", "教程二：交叉熵 CrossEntropyLoss")
_TUTORIAL_3 = Text("Tutorial 3: binary and multi-class cross-entropy from maximum likelihood",
                   "教程三：由极大似然推导二分类与多分类交叉熵")
_TUTORIAL_4 = Text("Tutorial 4: KLDivLoss, HingeEmbeddingLoss and the rest of torch.nn",
                   "教程四：KLDivLoss、HingeEmbeddingLoss 等 torch.nn 损失")
_TUTORIAL_5 = Text("Tutorial 5: the CIFAR-10 network, backward and training", "教程五：CIFAR-10 网络、反向传播与训练")

_SHAPE_1113 = {"input": "(1, 1, 1, 3)", "target": "(1, 1, 1, 3)"}
_NUMS = {"input": "1, 2, 3", "target": "1, 2, 5"}

LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "reduction",
        Text("1 · What a reduction is: L1Loss and MSELoss", "1 · 什么是 reduction：L1Loss 与 MSELoss"),
        _TUTORIAL_1,
        (
            LessonStep(
                "l1_sum",
                Text("L1Loss with reduction='sum'", "L1Loss，reduction='sum'"),
                Text("The tutorial reshapes [1, 2, 3] and [1, 2, 5] to (1, 1, 1, 3), as if they were a tiny image, "
                     "and adds up |ŷ − y| over every element.",
                     "教程把 [1, 2, 3] 和 [1, 2, 5] reshape 成 (1, 1, 1, 3)，像一张很小的图片，然后把每个元素的 |ŷ − y| 加起来。"),
                Text("Only the last element is wrong (|3 − 5| = 2), so the loss is 2.0 and only that element gets a "
                     "gradient.",
                     "只有最后一个元素错了（|3 − 5| = 2），所以损失是 2.0，也只有这个元素得到梯度。"),
                example=_ex("L1Loss", "sum", dict(_NUMS), shapes=dict(_SHAPE_1113)),
            ),
            LessonStep(
                "l1_mean",
                Text("L1Loss with reduction='mean'", "L1Loss，reduction='mean'"),
                Text("The same per-element losses, now averaged: 'mean' divides the sum by the number of elements.",
                     "同样的逐元素损失，这次取平均：'mean' 把总和除以元素个数。"),
                Text("2 / 3 = 0.6667, and the gradient shrinks by the same factor 3: the reduction rescales the step.",
                     "2 / 3 = 0.6667，梯度也同样缩小为 1/3：reduction 改变的是梯度步长。"),
                example=_ex("L1Loss", "mean", dict(_NUMS), shapes=dict(_SHAPE_1113)),
            ),
            LessonStep(
                "mse_mean",
                Text("MSELoss with reduction='mean'", "MSELoss，reduction='mean'"),
                Text("MSELoss squares each difference before reducing.",
                     "MSELoss 先把每个差值平方，再做 reduction。"),
                Text("(0 + 0 + 2²) / 3 = 1.3333: squaring makes the one big error count four times.",
                     "(0 + 0 + 2²) / 3 = 1.3333：平方让那个大误差的分量变成了 4 倍。"),
                example=_ex("MSELoss", "mean", dict(_NUMS), shapes=dict(_SHAPE_1113)),
            ),
            LessonStep(
                "mse_none",
                Text("MSELoss with reduction='none'", "MSELoss，reduction='none'"),
                Text("With no reduction the loss keeps the input's shape (1, 1, 1, 3): one loss per element.",
                     "不做 reduction 时，损失保持输入的形状 (1, 1, 1, 3)：每个元素一个损失。"),
                Text("'sum' and 'mean' are just two ways of turning these three numbers into one.",
                     "'sum' 和 'mean' 只是把这三个数变成一个数的两种方式。"),
                example=_ex("MSELoss", "none", dict(_NUMS), shapes=dict(_SHAPE_1113)),
            ),
        ),
    ),
    Lesson(
        "ce_batch",
        Text("2 · Cross-entropy needs a batch dimension", "2 · 交叉熵的输入需要 batch 维度"),
        _TUTORIAL_2,
        (
            LessonStep(
                "batched",
                Text("One sample as a batch of one: input (1, 3)", "把一个样本写成批量为 1：输入 (1, 3)"),
                Text("CrossEntropyLoss wants input (N, C): one row of C raw scores per sample, and one class index "
                     "per row as the target.",
                     "CrossEntropyLoss 要求输入为 (N, C)：每个样本一行 C 个原始分数，目标是每行一个类别下标。"),
                Text("−0.2 + log(e^0.1 + e^0.2 + e^0.3) = 1.1019; the gradient is softmax − one-hot.",
                     "−0.2 + log(e^0.1 + e^0.2 + e^0.3) = 1.1019；梯度等于 softmax − one-hot。"),
                example=Example.from_preset(get_preset("ce_single")),
            ),
            LessonStep(
                "mistake",
                Text("The 1-D mistake: three labels for a 1-D input", "一维输入的错误：给一维输入三个标签"),
                Text("Without the batch dimension, a 1-D input (3,) is read as ONE sample with 3 class scores. A "
                     "target of the same shape (3,) is then taken as class probabilities for that one sample, not as "
                     "three labels, and integer probabilities are refused.",
                     "没有 batch 维度时，一维输入 (3,) 会被当作一个样本的 3 个类别分数。形状相同的目标 (3,) "
                     "于是被当作这个样本的类别概率，而不是三个标签；整数概率会被拒绝。"),
                Text("Several samples need input (N, C): one row per sample, so the rows and the labels line up.",
                     "多个样本时输入必须是 (N, C)：每个样本一行，行数与标签一一对应。"),
                example=_ex("CrossEntropyLoss", "mean", {"input": "0.1, 0.2, 0.3", "target": "1, 0, 2"}),
            ),
            LessonStep(
                "rows",
                Text("The fix: one row per sample", "正确写法：每个样本一行"),
                Text("Three samples, three rows of three class scores, three class indices.",
                     "三个样本、三行、每行三个类别分数，对应三个类别下标。"),
                Text("Each row gets its own loss; 'mean' averages them, and each gradient row is "
                     "(softmax − one-hot) / 3.",
                     "每一行有自己的损失；'mean' 取平均，梯度的每一行是 (softmax − one-hot) / 3。"),
                example=_ex("CrossEntropyLoss", "mean",
                            {"input": "[[0.1, 0.2, 0.3],\n [0.1, 0.2, 0.3],\n [0.1, 0.2, 0.3]]", "target": "1, 0, 2"}),
            ),
        ),
    ),
    Lesson(
        "ce_forms",
        Text("3 · One loss, two target forms, and softmax by hand", "3 · 同一个损失、两种目标形式，以及手算 softmax"),
        _TUTORIAL_2,
        (
            LessonStep(
                "none",
                Text("4 × 4 logits, reduction='none'", "4 × 4 logits，reduction='none'"),
                Text("Four samples, four classes, targets [0, 1, 2, 3]: one loss per sample.",
                     "四个样本、四个类别，目标 [0, 1, 2, 3]：每个样本一个损失。"),
                Text("Each row's true class is its largest logit, so every loss is below log 4 ≈ 1.386 (a uniform "
                     "guess).",
                     "每一行的正确类别恰好是最大的 logit，所以每个损失都小于 log 4 ≈ 1.386（均匀猜测的损失）。"),
                example=Example.from_preset(get_preset("ce_4x4_none")),
            ),
            LessonStep(
                "mean",
                Text("reduction='mean': the average", "reduction='mean'：取平均"),
                Text("The average of the four per-sample losses.", "四个样本损失的平均值。"),
                Text("Each gradient row is (softmax − one-hot) / 4.", "梯度的每一行是 (softmax − one-hot) / 4。"),
                example=Example.from_preset(get_preset("ce_4x4_mean")),
            ),
            LessonStep(
                "sum",
                Text("reduction='sum': the total", "reduction='sum'：求和"),
                Text("The same four losses added up.", "把同样的四个损失加起来。"),
                Text("The sum is 4 × the mean, and so is every gradient.", "总和是平均值的 4 倍，梯度也是 4 倍。"),
                example=Example.from_preset(get_preset("ce_4x4_sum")),
            ),
            LessonStep(
                "one_hot",
                Text("The one-hot matrix as the target", "用 one-hot 矩阵作目标"),
                Text("A target of the input's shape holding probabilities: here the one-hot rows of [0, 1, 2, 3].",
                     "与输入形状相同、存放概率的目标：这里是 [0, 1, 2, 3] 的 one-hot 行。"),
                Text("Exactly the same loss as the class indices: two ways of writing the same labels. (Write 1., "
                     "not 1: probabilities are floats.)",
                     "与类别下标得到的损失完全相同：同一组标签的两种写法。（要写 1. 而不是 1：概率必须是浮点数。）"),
                example=Example.from_preset(get_preset("ce_4x4_onehot")),
            ),
            LessonStep(
                "by_hand",
                Text("Row 0 by hand: softmax → log → × one-hot → sum", "手算第 0 行：softmax → log → 乘 one-hot → 求和"),
                Text("The tutorial computes cross-entropy itself: turn the scores into probabilities (softmax), take "
                     "the log, keep the true class's entry by multiplying with the one-hot row, add up and negate.",
                     "教程自己动手计算交叉熵：先用 softmax 把分数变成概率，取 log，乘以 one-hot 行只保留正确类别那一项，"
                     "求和后取负号。"),
                Text("The hand computation equals torch's per-sample loss for row 0.",
                     "手算结果与 torch 给出的第 0 个样本的损失相等。"),
                compute=ce_by_hand_row,
            ),
        ),
    ),
    Lesson(
        "bce_mle",
        Text("4 · Binary cross-entropy from maximum likelihood", "4 · 由极大似然得到二分类交叉熵"),
        _TUTORIAL_3,
        (
            LessonStep(
                "sigmoid",
                Text("A score becomes a probability: sigmoid, then BCELoss", "分数变成概率：先 sigmoid，再 BCELoss"),
                Text("Logistic regression squeezes a score z into σ(z) ∈ (0, 1), the probability of class 1. The "
                     "likelihood of the labels is Π σ^y (1 − σ)^(1−y); its negative log, averaged, is BCELoss.",
                     "逻辑回归用 σ(z) 把分数 z 压缩到 (0, 1)，作为类别 1 的概率。标签的似然是 Π σ^y (1 − σ)^(1−y)，"
                     "取负对数再平均就是 BCELoss。"),
                Text("The gradient with respect to the raw score is simply σ(z) − y (divided by 3 for 'mean').",
                     "对原始分数的梯度就是 σ(z) − y（'mean' 时再除以 3）。"),
                example=Example.from_preset(get_preset("bce_sigmoid")),
            ),
            LessonStep(
                "tutorial",
                Text("The tutorial's tensors: N = 3,000, seed 420", "教程中的张量：N = 3000，随机种子 420"),
                Text("The tutorial builds 3,000 random samples with 4 features and a weight vector w of shape (4, 1), "
                     "writes the loss as a tensor formula, then compares it with BCELoss on σ(Xw) and "
                     "BCEWithLogitsLoss on Xw.",
                     "教程生成 3000 个 4 维特征的随机样本和形状为 (4, 1) 的权重 w，用张量公式写出损失，"
                     "再与 BCELoss(σ(Xw)) 和 BCEWithLogitsLoss(Xw) 比较。"),
                Text("All three agree; BCEWithLogitsLoss takes the raw scores and is the numerically stable choice.",
                     "三者相等；BCEWithLogitsLoss 直接接收原始分数，数值上更稳定，应优先使用。"),
                compute=bce_max_likelihood,
            ),
        ),
    ),
    Lesson(
        "multiclass",
        Text("5 · Multi-class: LogSoftmax + NLLLoss = CrossEntropyLoss", "5 · 多分类：LogSoftmax + NLLLoss = CrossEntropyLoss"),
        _TUTORIAL_3,
        (
            LessonStep(
                "small",
                Text("LogSoftmax, then NLLLoss", "先 LogSoftmax，再 NLLLoss"),
                Text("NLLLoss only picks the entry of the true class and negates it; the log-probabilities must "
                     "come from LogSoftmax first.",
                     "NLLLoss 只是取出正确类别的那一项并取负号；对数概率必须先由 LogSoftmax 算出。"),
                Text("On these three samples, LogSoftmax + NLLLoss equals CrossEntropyLoss on the raw scores.",
                     "在这三个样本上，LogSoftmax + NLLLoss 等于直接对原始分数使用 CrossEntropyLoss。"),
                example=Example.from_preset(get_preset("nll_logsoftmax")),
            ),
            LessonStep(
                "tutorial",
                Text("The tutorial's tensors: N = 300, 3 classes, seed 420", "教程中的张量：N = 300，3 个类别，随机种子 420"),
                Text("300 samples with 4 features, w of shape (4, 3): the scores zhat = Xw go through LogSoftmax and "
                     "NLLLoss, and straight into CrossEntropyLoss. The common mistake is to apply softmax yourself "
                     "before CrossEntropyLoss, which applies it again.",
                     "300 个 4 维样本，w 的形状为 (4, 3)：分数 zhat = Xw 先经过 LogSoftmax 再用 NLLLoss，"
                     "或者直接送入 CrossEntropyLoss。常见错误是先自己做一次 softmax 再交给 CrossEntropyLoss，"
                     "而它内部会再做一次。"),
                Text("The first two numbers are equal; softmax twice gives a different, flatter loss that barely "
                     "moves as the scores change.",
                     "前两个数相等；做两次 softmax 会得到一个不同的、更平坦的损失，几乎不随分数变化。"),
                compute=nll_equals_ce,
            ),
        ),
    ),
    Lesson(
        "kl",
        Text("6 · KLDivLoss: log-probabilities in, batchmean out", "6 · KLDivLoss：输入对数概率，用 batchmean"),
        _TUTORIAL_4,
        (
            LessonStep(
                "batchmean",
                Text("Input as log-probabilities, reduction='batchmean'", "输入为对数概率，reduction='batchmean'"),
                Text("KLDivLoss expects the input as log-probabilities (log_softmax of the scores) and the target as "
                     "probabilities. 'batchmean' sums p·(log p − log q) and divides by the number of rows.",
                     "KLDivLoss 要求输入是对数概率（分数经过 log_softmax），目标是概率。'batchmean' 对 "
                     "p·(log p − log q) 求和后除以行数。"),
                Text("This is the KL divergence of the maths, averaged over the batch.", "这正是数学上的 KL 散度，再对批量取平均。"),
                example=Example.from_preset(get_preset("kl_batchmean")),
            ),
            LessonStep(
                "mean",
                Text("reduction='mean' divides by every element", "reduction='mean' 除以全部元素个数"),
                Text("The same numbers with 'mean': torch divides by all 6 elements instead of the 2 rows.",
                     "同样的数据改用 'mean'：torch 除以全部 6 个元素，而不是 2 行。"),
                Text("The value is 3 × smaller than 'batchmean' (3 classes per row), and torch warns about it.",
                     "结果比 'batchmean' 小 3 倍（每行 3 个类别），torch 也会为此发出警告。"),
                example=Example.from_preset(get_preset("kl_batchmean")).replace(reduction="mean", preset=""),
            ),
            LessonStep(
                "int_target",
                Text("The tutorial's mistake: an integer target", "教程中的错误：整数目标"),
                Text("Writing the target distribution as whole numbers (0, 1, 0) makes an integer tensor, and "
                     "KLDivLoss refuses integer targets.",
                     "把目标分布写成整数 (0, 1, 0) 会得到整数张量，而 KLDivLoss 不接受整数目标。"),
                Text("Write probabilities with a decimal point (0., 1., 0.).", "概率要带小数点书写（0., 1., 0.）。"),
                example=_ex("KLDivLoss", "batchmean", {"input": "[[0.2, 1.1, 0.4],\n [1.0, 0.1, 0.6]]",
                                                        "target": "[[0, 1, 0],\n [1, 0, 0]]"}, transform="log_softmax"),
            ),
        ),
    ),
    Lesson(
        "hinge",
        Text("7 · HingeEmbeddingLoss: labels are 1 and −1", "7 · HingeEmbeddingLoss：标签是 1 和 −1"),
        _TUTORIAL_4,
        (
            LessonStep(
                "zero_label",
                Text("Labels [1, 0, 1]: why 0 is not a label here", "标签 [1, 0, 1]：为什么 0 在这里不是标签"),
                Text("HingeEmbeddingLoss charges x when the label is 1 and max(0, margin − x) when it is −1. A 0 is "
                     "neither, and torch adds both terms for it.",
                     "HingeEmbeddingLoss 在标签为 1 时代价为 x，为 −1 时代价为 max(0, margin − x)。0 两者都不是，"
                     "torch 会把两项都加上。"),
                Text("The middle element (label 0) pays both terms, x + max(0, 1 − x) = 1.5 + 0: below the margin "
                     "it would cost exactly 1 wherever x is, so it never says 'push apart'. Write −1.",
                     "中间元素（标签 0）两项都要付：x + max(0, 1 − x) = 1.5 + 0；若 x 小于 margin，它的代价恒为 1，"
                     "与 x 无关，永远不会表达“推远”的意思。请写 −1。"),
                example=_ex("HingeEmbeddingLoss", "mean", {"input": "0.3, 1.5, 0.2", "target": "1, 0, 1"}),
            ),
            LessonStep(
                "minus_one",
                Text("Labels [1, −1, 1]", "标签 [1, −1, 1]"),
                Text("With −1 for the dissimilar pair, the middle element costs max(0, 1 − 1.5) = 0: it is already "
                     "farther than the margin.",
                     "不相似对用 −1 表示后，中间元素的代价是 max(0, 1 − 1.5) = 0：它已经比 margin 更远了。"),
                Text("Only similar pairs that are far apart, or dissimilar pairs that are too close, cost anything.",
                     "只有距离远的相似对、或距离太近的不相似对才会产生代价。"),
                example=_ex("HingeEmbeddingLoss", "mean", {"input": "0.3, 1.5, 0.2", "target": "1, -1, 1"}),
            ),
        ),
    ),
    Lesson(
        "segmentation",
        Text("8 · Cross-entropy per pixel: segmentation", "8 · 逐像素交叉熵：图像分割"),
        _TUTORIAL_2,
        (
            LessonStep(
                "one_hot",
                Text("(N, C, H, W) logits against a one-hot (N, C, H, W) target", "(N, C, H, W) 的 logits 对 one-hot (N, C, H, W) 目标"),
                Text("For segmentation every pixel is a sample: the class dimension is dim 1. The tutorial makes the "
                     "target from a forward pass: argmax over dim 1 gives each pixel's class (N, H, W), and one_hot "
                     "turns it back into (N, C, H, W).",
                     "在图像分割中每个像素都是一个样本：类别维是 dim 1。教程用一次前向计算得到目标：沿 dim 1 取 argmax "
                     "得到每个像素的类别 (N, H, W)，再用 one_hot 变回 (N, C, H, W)。"),
                Text("The one-hot target and the index target give the same loss, averaged over all 2 × 4 × 4 pixels.",
                     "one-hot 目标与下标目标得到相同的损失，并对全部 2 × 4 × 4 个像素取平均。"),
                compute=segmentation_one_hot,
            ),
        ),
    ),
    Lesson(
        "backward",
        Text("9 · Backward through the CIFAR-10 network", "9 · CIFAR-10 网络的反向传播"),
        _TUTORIAL_5,
        (
            LessonStep(
                "one_batch",
                Text("One batch: loss → backward → gradient norm of each layer",
                     "一个批次：损失 → backward → 每一层的梯度范数"),
                Text("The tutorial's network (Conv 3→32→32→64, 5×5, each followed by MaxPool 2, Flatten, Linear "
                     "1024→64→10) scores a batch of 64 images; CrossEntropyLoss compares the scores with the "
                     "labels, and loss.backward() fills every weight's .grad.",
                     "教程中的网络（卷积 3→32→32→64，5×5，每层后接 MaxPool 2，Flatten，全连接 1024→64→10）"
                     "对 64 张图片打分；CrossEntropyLoss 把分数与标签比较，loss.backward() 为每个权重填好 .grad。"),
                Text("An untrained network guesses: the loss is close to ln 10 ≈ 2.303. The gradient norms differ "
                     "from layer to layer; these are what the training page plots batch by batch.",
                     "未训练的网络只能乱猜：损失接近 ln 10 ≈ 2.303。各层的梯度范数大小不同；训练页面逐批绘制的正是这些数。"),
                compute=cnn_backward,
                opens="training",
            ),
        ),
    ),
)

_BY_KEY = {lesson.key: lesson for lesson in LESSONS}


def list_lessons() -> list[Lesson]:
    return list(LESSONS)


def get_lesson(key: str) -> Lesson:
    """The lesson ``key``; an unknown key raises :class:`LossvizInputError`."""
    lesson = _BY_KEY.get(str(key))
    if lesson is None:
        raise LossvizInputError(f"unknown lesson {str(key)[:40]!r}; choose one of: {', '.join(_BY_KEY)}")
    return lesson


def clamp_step(lesson: Lesson, number: object) -> int:
    """A 1-based step number from user input (URL), clamped into the lesson's range."""
    try:
        n = int(str(number).strip()[:6])
    except (TypeError, ValueError):
        n = 1
    return max(1, min(len(lesson.steps), n))


def lesson_from_query(q: dict[str, object]) -> tuple[Lesson, int, list[str]]:
    """``?lesson=KEY&step=N`` → the lesson, the step number and notes about what was replaced."""
    notes: list[str] = []
    raw = q.get("lesson")
    raw = raw[-1] if isinstance(raw, list | tuple) and raw else raw
    key = str(raw or LESSONS[0].key)[:40]
    if key not in _BY_KEY:
        notes.append(key)
        key = LESSONS[0].key
    lesson = _BY_KEY[key]
    step = q.get("step")
    step = step[-1] if isinstance(step, list | tuple) and step else step
    return lesson, clamp_step(lesson, step if step is not None else 1), notes


__all__ = [
    "LESSONS",
    "Computation",
    "Fact",
    "Lesson",
    "LessonStep",
    "Table",
    "Text",
    "clamp_step",
    "get_lesson",
    "lesson_from_query",
    "list_lessons",
]
