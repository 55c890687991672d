"""Lessons: guided walks through what the five Chinese tutorials on PyTorch losses teach.

A lesson is a list of steps. Each step has a short explanation and one "what to notice"
sentence (English message ids, translated through the gettext catalogs), and either an :class:`~lossviz.explore.Example` (the page
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
from lossviz.i18n import N_, Message, msg
from lossviz.losses import format_tensor


@dataclass(frozen=True)
class Fact:
    """One number a step shows, computed live; ``value`` is what the page prints."""

    key: str
    label: str | Message  # an English message id, shown through gettext
    value: float


@dataclass(frozen=True)
class Table:
    """A small table of intermediate values: column titles and rows of numbers."""

    columns: tuple[str, ...]  # message ids
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
    title: str  # message ids (N_), translated where shown
    explain: str
    notice: str
    example: Example | None = None
    compute: Callable[[], Computation] | None = None
    #: a page this step offers to open next, e.g. "training" ("watch it train")
    opens: str = ""
    #: the training page's preset it opens with (``lossviz.session.EDGE_OF_STABILITY_PRESET``), if any
    preset: str = ""


@dataclass(frozen=True)
class Lesson:
    key: str
    title: str
    source: str  # which tutorial it follows
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


def _d4(x: object) -> str:
    """A number with 4 decimals, and never ``-0.0000`` (0 · log p is −0.0 in IEEE; a student reads 0)."""
    text = f"{float(x.detach() if isinstance(x, torch.Tensor) else x):.4f}"
    return text.lstrip("-") if float(text) == 0 else text


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
        (str(j), _d4(z[j]), _d4(p[j]), _d4(logp[j]), f"{y[j]:.0f}", _d4(prod[j])) for j in range(4)
    )
    return Computation(
        facts=(
            Fact("softmax_sum", N_("sum of the softmax row"), _f(p.sum())),
            Fact("by_hand", N_("by hand: −Σ one-hot · log softmax"), _f(loss)),
            Fact("torch", N_("torch: CrossEntropyLoss(reduction='none')[0]"),
                 _f(torch_row)),
        ),
        table=Table(
            (N_("class j"), "logit z", "softmax p",
             "log p", "one-hot y", "y · log p"),
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
    """Binary cross-entropy from maximum likelihood, step by step with live numbers, then BCELoss /
    BCEWithLogitsLoss: P(y=1) = σ(Xw), P(y=0) = 1 − σ, the probability of each observed label, their product
    over the 3,000 samples (0 in floating point: why the log is taken), the log of the product (a sum of logs),
    the minus sign, and the mean."""
    x, w, y = _tutorial_binary()
    n = x.shape[0]
    zhat = torch.mm(x, w)
    sigma = torch.sigmoid(zhat)
    p1, p0 = sigma, 1 - sigma
    observed = torch.where(y == 1, p1, p0)  # σ^y (1 − σ)^(1−y)
    product = torch.prod(observed)  # 3,000 numbers below 1: underflows to exactly 0
    log_likelihood = torch.sum(torch.log(observed))  # log Π = Σ log
    by_hand = -(1 / n) * torch.sum((1 - y) * torch.log(1 - sigma) + y * torch.log(sigma))
    bce = nn.BCELoss()(sigma, y)
    bcel = nn.BCEWithLogitsLoss()(zhat, y)
    rows = tuple(
        (str(i + 1), _d4(zhat[i, 0]), _d4(p1[i, 0]), _d4(p0[i, 0]), f"{y[i, 0]:.0f}", _d4(observed[i, 0]),
         _d4(torch.log(observed[i, 0])))
        for i in range(5)
    )
    return Computation(
        facts=(
            Fact("p1", N_("① P(y=1) = σ(x·w), sample 1"), _f(p1[0, 0])),
            Fact("p0", N_("② P(y=0) = 1 − σ(x·w), sample 1"), _f(p0[0, 0])),
            Fact("observed", N_("③ P(observed label) = σ^y · (1 − σ)^(1−y), sample 1"), _f(observed[0, 0])),
            Fact("product", N_("④ likelihood Π P over the 3,000 samples (float32 underflows to 0)"), _f(product)),
            Fact("log_likelihood", N_("⑤ log-likelihood: log Π P = Σ log P"), _f(log_likelihood)),
            Fact("negative", N_("⑥ the minus sign: −Σ log P (to minimise)"), _f(-log_likelihood)),
            Fact("by_hand", N_("⑦ the mean: −(1/N) Σ [y·log σ + (1−y)·log(1−σ)]"), _f(by_hand)),
            Fact("bce", "nn.BCELoss()(sigma, y)", _f(bce)),
            Fact("bce_logits", "nn.BCEWithLogitsLoss()(zhat, y)", _f(bcel)),
            Fact("positives", N_("share of samples with y = 1"), _f(y.mean())),
        ),
        table=Table(
            (N_("sample"), "z = x·w", "P(y=1) = σ", "P(y=0) = 1 − σ", "y", N_("P(observed)"), "log P"),
            rows,
        ),
        code=(
            "import torch\nimport torch.nn as nn\n\n"
            "N = 3 * 10**3\n"
            "torch.random.manual_seed(420)\n"
            "X = torch.rand((N, 4), dtype=torch.float32)\n"
            "w = torch.rand((4, 1), dtype=torch.float32, requires_grad=True)\n"
            "y = torch.randint(low=0, high=2, size=(N, 1), dtype=torch.float32)\n\n"
            "zhat = torch.mm(X, w)\n"
            "sigma = torch.sigmoid(zhat)                       # P(y=1); 1 - sigma is P(y=0)\n"
            "observed = torch.where(y == 1, sigma, 1 - sigma)  # P(observed label)\n"
            "print(torch.prod(observed))                       # the likelihood underflows to 0\n"
            "print(torch.sum(torch.log(observed)))             # log-likelihood = sum of logs\n"
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
            Fact("nll", "NLLLoss(LogSoftmax(zhat), y)", _f(nll)),
            Fact("ce", "CrossEntropyLoss(zhat, y)", _f(ce)),
            Fact("double_softmax", N_("the mistake: CrossEntropyLoss(softmax(zhat), y)"), _f(double)),
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
            Fact("one_hot", N_("target one-hot (2, 3, 4, 4)"), _f(with_one_hot)),
            Fact("indices", N_("target indices (2, 4, 4) = argmax over dim 1"),
                 _f(with_idx)),
            Fact("pixels", N_("pixels averaged over (2 × 4 × 4)"), float(idx.numel())),
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


#: The parts of a layer the CNN lesson names, in the reader's language ("conv1 weight" -> "conv1 权重").
_LAYER_PARTS = {"weight": N_("{layer} weight"), "bias": N_("{layer} bias")}


def _layer(label: str) -> Message | str:
    """A layer label of lossviz.training.model (``"conv1 weight"``) as a message the page translates."""
    layer, _, part = label.partition(" ")
    return Message(_LAYER_PARTS[part], {"layer": layer}) if part in _LAYER_PARTS else label


def cnn_backward() -> Computation:
    """One batch of the tutorial's CIFAR-10 CNN: loss → backward → the gradient norm of each layer."""
    from lossviz.training import (  # the face only (lazy: torch models)
        build_model,
        layer_labels_for,
        make_synthetic,
    )

    torch.random.manual_seed(0)
    model = build_model(relu=False)
    batch = make_synthetic(seed=0, n_train=64, n_test=10).train
    images = batch.images[:64].to(torch.float32) / 255.0
    labels = batch.labels[:64]
    loss = nn.CrossEntropyLoss()(model(images), labels)
    loss.backward()
    labels_of = layer_labels_for(relu=False)
    rows = []
    facts = [Fact("loss", N_("loss of the first batch (64 images)"), _f(loss))]
    for name, p in model.named_parameters():
        norm = _f(p.grad.norm())
        rows.append((_layer(labels_of.get(name, name)), "×".join(str(d) for d in p.shape), f"{norm:.4g}"))
        facts.append(Fact(f"grad_norm/{name}", msg("‖grad‖ of {layer}", layer=_layer(labels_of.get(name, name))), norm))
    return Computation(
        facts=tuple(facts),
        table=Table((N_("layer"), N_("shape"), N_("gradient norm")), tuple(rows)),
        code=N_(  # a message id: its comment reads in the reader's language (the page translates the code)
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


def edge_of_stability() -> Computation:
    """Why the training page draws a line at 2/η: gradient descent on a quadratic, just under and over it.

    A least-squares fit ``MSELoss(X w, y)`` has a constant Hessian H = 2/n · XᵀX (torch computes it:
    ``torch.autograd.functional.hessian``). Along H's top eigenvector each step multiplies the error by
    (1 − η λ_max): it shrinks while η < 2/λ_max and grows once η passes it. The same 20 steps are run
    with η at 0.9 and 1.1 times that line.
    """
    torch.random.manual_seed(0)
    x = torch.randn(32, 3) * torch.tensor([3.0, 1.0, 0.3])  # three directions of very different curvature
    y = x @ torch.tensor([1.0, -2.0, 0.5])

    def loss_of(w: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(x @ w, y)

    w0 = torch.zeros(3)
    hessian = torch.autograd.functional.hessian(loss_of, w0)
    eigenvalues = torch.linalg.eigvalsh(hessian)  # ascending
    lam = _f(eigenvalues[-1])
    threshold = 2.0 / lam
    rows = []
    finals = {}
    for key, factor in (("under", 0.9), ("over", 1.1)):
        lr = factor * threshold
        w = w0.clone().requires_grad_(True)
        losses = [_f(loss_of(w))]
        for _ in range(20):
            (g,) = torch.autograd.grad(loss_of(w), w)
            with torch.no_grad():
                w -= lr * g
            losses.append(_f(loss_of(w)))
        finals[key] = (lr, losses)
    for i in (0, 1, 2, 5, 10, 20):
        rows.append((str(i), f"{finals['under'][1][i]:.4g}", f"{finals['over'][1][i]:.4g}"))
    return Computation(
        facts=(
            Fact("lambda_max", N_("λ_max, the largest eigenvalue of the Hessian"), lam),
            Fact("lambda_min", N_("λ_min, the smallest eigenvalue"), _f(eigenvalues[0])),
            Fact("threshold", N_("the stability line 2 / λ_max"), threshold),
            Fact("loss_under", N_("loss after 20 steps with η = 0.9 × 2/λ_max"), finals["under"][1][-1]),
            Fact("loss_over", N_("loss after 20 steps with η = 1.1 × 2/λ_max"), finals["over"][1][-1]),
        ),
        table=Table((N_("step"), N_("loss, η just under 2/λ_max"), N_("loss, η just over 2/λ_max")), tuple(rows)),
        code=N_(  # a message id: its comments read in the reader's language
            "import torch\nimport torch.nn.functional as F\n\n"
            "torch.random.manual_seed(0)\n"
            "x = torch.randn(32, 3) * torch.tensor([3.0, 1.0, 0.3])\n"
            "y = x @ torch.tensor([1.0, -2.0, 0.5])\n"
            "loss_of = lambda w: F.mse_loss(x @ w, y)\n"
            "H = torch.autograd.functional.hessian(loss_of, torch.zeros(3))\n"
            "lam = torch.linalg.eigvalsh(H)[-1]          # the sharpness\n"
            "for lr in (0.9 * 2 / lam, 1.1 * 2 / lam):    # just under, just over the line\n"
            "    w = torch.zeros(3, requires_grad=True)\n"
            "    for step in range(20):\n"
            "        g, = torch.autograd.grad(loss_of(w), w)\n"
            "        with torch.no_grad():\n"
            "            w -= lr * g\n"
            "    print(float(lr), float(loss_of(w)))"
        ),
    )


# --------------------------------------------------------------------------- the lessons


def _ex(loss: str, reduction: str, texts: dict[str, str], **kw: object) -> Example:
    return Example(loss=loss, reduction=reduction, texts=texts, **kw)  # type: ignore[arg-type]


_TUTORIAL_1 = N_("Tutorial 1: L1Loss and MSELoss")
_TUTORIAL_2 = N_("Tutorial 2: CrossEntropyLoss")
_TUTORIAL_3 = N_("Tutorial 3: binary and multi-class cross-entropy from maximum likelihood")
_TUTORIAL_4 = N_("Tutorial 4: KLDivLoss, HingeEmbeddingLoss and the rest of torch.nn")
_TUTORIAL_5 = N_("Tutorial 5: the CIFAR-10 network, backward and training")

_SHAPE_1113 = {"input": "(1, 1, 1, 3)", "target": "(1, 1, 1, 3)"}
_NUMS = {"input": "1, 2, 3", "target": "1, 2, 5"}

LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "reduction",
        N_("1 · What a reduction is: L1Loss and MSELoss"),
        _TUTORIAL_1,
        (
            LessonStep(
                "l1_sum",
                N_("L1Loss with reduction='sum'"),
                N_("The tutorial reshapes [1, 2, 3] and [1, 2, 5] to (1, 1, 1, 3), as if they were a tiny image, "
                     "and adds up |ŷ − y| over every element."),
                N_("Only the last element is wrong (|3 − 5| = 2), so the loss is 2.0 and only that element gets a "
                     "gradient."),
                example=_ex("L1Loss", "sum", dict(_NUMS), shapes=dict(_SHAPE_1113)),
            ),
            LessonStep(
                "l1_mean",
                N_("L1Loss with reduction='mean'"),
                N_("The same per-element losses, now averaged: 'mean' divides the sum by the number of elements."),
                N_("2 / 3 = 0.6667, and the gradient shrinks by the same factor 3: the reduction rescales the step."),
                example=_ex("L1Loss", "mean", dict(_NUMS), shapes=dict(_SHAPE_1113)),
            ),
            LessonStep(
                "mse_mean",
                N_("MSELoss with reduction='mean'"),
                N_("MSELoss squares each difference before reducing."),
                N_("(0 + 0 + 2²) / 3 = 1.3333: squaring makes the one big error count four times."),
                example=_ex("MSELoss", "mean", dict(_NUMS), shapes=dict(_SHAPE_1113)),
            ),
            LessonStep(
                "mse_none",
                N_("MSELoss with reduction='none'"),
                N_("With no reduction the loss keeps the input's shape (1, 1, 1, 3): one loss per element."),
                N_("'sum' and 'mean' are just two ways of turning these three numbers into one."),
                example=_ex("MSELoss", "none", dict(_NUMS), shapes=dict(_SHAPE_1113)),
            ),
        ),
    ),
    Lesson(
        "ce_batch",
        N_("2 · Cross-entropy needs a batch dimension"),
        _TUTORIAL_2,
        (
            LessonStep(
                "batched",
                N_("One sample as a batch of one: input (1, 3)"),
                N_("CrossEntropyLoss wants input (N, C): one row of C raw scores per sample, and one class index "
                     "per row as the target."),
                N_("−0.2 + log(e^0.1 + e^0.2 + e^0.3) = 1.1019; the gradient is softmax − one-hot."),
                example=Example.from_preset(get_preset("ce_single")),
            ),
            LessonStep(
                "mistake",
                N_("The 1-D mistake: three labels for a 1-D input"),
                N_("Without the batch dimension, a 1-D input (3,) is read as ONE sample with 3 class scores. A "
                     "target of the same shape (3,) is then taken as class probabilities for that one sample, not as "
                     "three labels, and integer probabilities are refused."),
                N_("Several samples need input (N, C): one row per sample, so the rows and the labels line up."),
                example=_ex("CrossEntropyLoss", "mean", {"input": "0.1, 0.2, 0.3", "target": "1, 0, 2"}),
            ),
            LessonStep(
                "rows",
                N_("The fix: one row per sample"),
                N_("Three samples, three rows of three class scores, three class indices."),
                N_("Each row gets its own loss; 'mean' averages them, and each gradient row is "
                     "(softmax − one-hot) / 3."),
                example=_ex("CrossEntropyLoss", "mean",
                            {"input": "[[0.1, 0.2, 0.3],\n [0.1, 0.2, 0.3],\n [0.1, 0.2, 0.3]]", "target": "1, 0, 2"}),
            ),
        ),
    ),
    Lesson(
        "ce_forms",
        N_("3 · One loss, two target forms, and softmax by hand"),
        _TUTORIAL_2,
        (
            LessonStep(
                "none",
                N_("4 × 4 logits, reduction='none'"),
                N_("Four samples, four classes, targets [0, 1, 2, 3]: one loss per sample."),
                N_("Each row's true class is its largest logit, so every loss is below log 4 ≈ 1.386 (a uniform "
                     "guess)."),
                example=Example.from_preset(get_preset("ce_4x4_none")),
            ),
            LessonStep(
                "mean",
                N_("reduction='mean': the average"),
                N_("The average of the four per-sample losses."),
                N_("Each gradient row is (softmax − one-hot) / 4."),
                example=Example.from_preset(get_preset("ce_4x4_mean")),
            ),
            LessonStep(
                "sum",
                N_("reduction='sum': the total"),
                N_("The same four losses added up."),
                N_("The sum is 4 × the mean, and so is every gradient."),
                example=Example.from_preset(get_preset("ce_4x4_sum")),
            ),
            LessonStep(
                "one_hot",
                N_("The one-hot matrix as the target"),
                N_("A target of the input's shape holding probabilities: here the one-hot rows of [0, 1, 2, 3]."),
                N_("Exactly the same loss as the class indices: two ways of writing the same labels. (Write 1., "
                     "not 1: probabilities are floats.)"),
                example=Example.from_preset(get_preset("ce_4x4_onehot")),
            ),
            LessonStep(
                "by_hand",
                N_("Row 0 by hand: softmax → log → × one-hot → sum"),
                N_("The tutorial computes cross-entropy itself: turn the scores into probabilities (softmax), take "
                     "the log, keep the true class's entry by multiplying with the one-hot row, add up and negate."),
                N_("The hand computation equals torch's per-sample loss for row 0."),
                compute=ce_by_hand_row,
            ),
        ),
    ),
    Lesson(
        "bce_mle",
        N_("4 · Binary cross-entropy from maximum likelihood"),
        _TUTORIAL_3,
        (
            LessonStep(
                "sigmoid",
                N_("A score becomes a probability: sigmoid, then BCELoss"),
                N_("Logistic regression squeezes a score z into σ(z) ∈ (0, 1), the probability of class 1. The "
                     "likelihood of the labels is Π σ^y (1 − σ)^(1−y); its negative log, averaged, is BCELoss."),
                N_("The gradient with respect to the raw score is simply σ(z) − y (divided by 3 for 'mean')."),
                example=Example.from_preset(get_preset("bce_sigmoid")),
            ),
            LessonStep(
                "tutorial",
                N_("The tutorial's tensors: N = 3,000, seed 420"),
                N_("The tutorial builds 3,000 random samples with 4 features and a weight vector w of shape (4, 1), "
                     "writes the loss as a tensor formula, then compares it with BCELoss on σ(Xw) and "
                     "BCEWithLogitsLoss on Xw."),
                N_("All three agree; BCEWithLogitsLoss takes the raw scores and is the numerically stable choice."),
                compute=bce_max_likelihood,
            ),
        ),
    ),
    Lesson(
        "multiclass",
        N_("5 · Multi-class: LogSoftmax + NLLLoss = CrossEntropyLoss"),
        _TUTORIAL_3,
        (
            LessonStep(
                "small",
                N_("LogSoftmax, then NLLLoss"),
                N_("NLLLoss only picks the entry of the true class and negates it; the log-probabilities must "
                     "come from LogSoftmax first."),
                N_("On these three samples, LogSoftmax + NLLLoss equals CrossEntropyLoss on the raw scores."),
                example=Example.from_preset(get_preset("nll_logsoftmax")),
            ),
            LessonStep(
                "tutorial",
                N_("The tutorial's tensors: N = 300, 3 classes, seed 420"),
                N_("300 samples with 4 features, w of shape (4, 3): the scores zhat = Xw go through LogSoftmax and "
                     "NLLLoss, and straight into CrossEntropyLoss. The common mistake is to apply softmax yourself "
                     "before CrossEntropyLoss, which applies it again."),
                N_("The first two numbers are equal; softmax twice gives a different, flatter loss that barely "
                     "moves as the scores change."),
                compute=nll_equals_ce,
            ),
        ),
    ),
    Lesson(
        "kl",
        N_("6 · KLDivLoss: log-probabilities in, batchmean out"),
        _TUTORIAL_4,
        (
            LessonStep(
                "batchmean",
                N_("Input as log-probabilities, reduction='batchmean'"),
                N_("KLDivLoss expects the input as log-probabilities (log_softmax of the scores) and the target as "
                     "probabilities. 'batchmean' sums p·(log p − log q) and divides by the number of rows."),
                N_("This is the KL divergence of the maths, averaged over the batch."),
                example=Example.from_preset(get_preset("kl_batchmean")),
            ),
            LessonStep(
                "mean",
                N_("reduction='mean' divides by every element"),
                N_("The same numbers with 'mean': torch divides by all 6 elements instead of the 2 rows."),
                N_("The value is 3 × smaller than 'batchmean' (3 classes per row), and torch warns about it."),
                example=Example.from_preset(get_preset("kl_batchmean")).replace(reduction="mean", preset=""),
            ),
            LessonStep(
                "int_target",
                N_("The tutorial's mistake: an integer target"),
                N_("Writing the target distribution as whole numbers (0, 1, 0) makes an integer tensor, and "
                     "KLDivLoss refuses integer targets."),
                N_("Write probabilities with a decimal point (0., 1., 0.)."),
                example=_ex("KLDivLoss", "batchmean", {"input": "[[0.2, 1.1, 0.4],\n [1.0, 0.1, 0.6]]",
                                                        "target": "[[0, 1, 0],\n [1, 0, 0]]"}, transform="log_softmax"),
            ),
        ),
    ),
    Lesson(
        "hinge",
        N_("7 · HingeEmbeddingLoss: labels are 1 and −1"),
        _TUTORIAL_4,
        (
            LessonStep(
                "zero_label",
                N_("Labels [1, 0, 1]: why 0 is not a label here"),
                N_("HingeEmbeddingLoss charges x when the label is 1 and max(0, margin − x) when it is −1. A 0 is "
                     "neither, and torch adds both terms for it."),
                N_("The middle element (label 0) pays both terms, x + max(0, 1 − x) = 1.5 + 0: below the margin "
                     "it would cost exactly 1 wherever x is, so it never says 'push apart'. Write −1."),
                example=_ex("HingeEmbeddingLoss", "mean", {"input": "0.3, 1.5, 0.2", "target": "1, 0, 1"}),
            ),
            LessonStep(
                "minus_one",
                N_("Labels [1, −1, 1]"),
                N_("With −1 for the dissimilar pair, the middle element costs max(0, 1 − 1.5) = 0: it is already "
                     "farther than the margin."),
                N_("Only similar pairs that are far apart, or dissimilar pairs that are too close, cost anything."),
                example=_ex("HingeEmbeddingLoss", "mean", {"input": "0.3, 1.5, 0.2", "target": "1, -1, 1"}),
            ),
        ),
    ),
    Lesson(
        "segmentation",
        N_("8 · Cross-entropy per pixel: segmentation"),
        _TUTORIAL_2,
        (
            LessonStep(
                "one_hot",
                N_("(N, C, H, W) logits against a one-hot (N, C, H, W) target"),
                N_("For segmentation every pixel is a sample: the class dimension is dim 1. The tutorial makes the "
                     "target from a forward pass: argmax over dim 1 gives each pixel's class (N, H, W), and one_hot "
                     "turns it back into (N, C, H, W)."),
                N_("The one-hot target and the index target give the same loss, averaged over all 2 × 4 × 4 pixels."),
                compute=segmentation_one_hot,
            ),
        ),
    ),
    Lesson(
        "backward",
        N_("9 · Backward through the CIFAR-10 network"),
        _TUTORIAL_5,
        (
            LessonStep(
                "one_batch",
                N_("One batch: loss → backward → gradient norm of each layer"),
                N_("The tutorial's network (Conv 3→32→32→64, 5×5, each followed by MaxPool 2, Flatten, Linear "
                     "1024→64→10) scores a batch of 64 images; CrossEntropyLoss compares the scores with the "
                     "labels, and loss.backward() fills every weight's .grad."),
                N_("An untrained network guesses: the loss is close to ln 10 ≈ 2.303. The gradient norms differ "
                     "from layer to layer; these are what the training page plots batch by batch."),
                compute=cnn_backward,
                opens="training",
            ),
            LessonStep(
                "edge_of_stability",
                N_("Sharpness and the line at 2/η"),
                N_("The sharpness λ_max is the largest eigenvalue of the loss's Hessian: how steeply the loss curves "
                     "in its most curved direction. Along that direction a gradient-descent step multiplies the error "
                     "by (1 − η λ_max), so the step η is stable only while λ_max < 2/η. On this least-squares fit the "
                     "Hessian is small enough for torch to write out in full."),
                N_("Just under the line the loss falls; at 1.1 × 2/λ_max it grows at every step. A network is not a "
                     "quadratic: with full-batch gradient descent its λ_max rises until it reaches 2/η and then hovers "
                     "there while the loss keeps falling, unevenly (Cohen et al., 2021). The training page's "
                     "edge-of-stability preset shows that live: the sharpness curve against the 2/η line."),
                compute=edge_of_stability,
                opens="training",
                preset="edge_of_stability",
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
        raise LossvizInputError(msg(
            "unknown lesson {key}; choose one of: {join_by_key}",
            key=repr(str(key)[:40]), join_by_key=', '.join(_BY_KEY),
        ))
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
    "clamp_step",
    "get_lesson",
    "lesson_from_query",
    "list_lessons",
]
