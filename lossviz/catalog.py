"""The loss catalog: one typed spec per ``torch.nn`` loss.

A registry in the spirit of timm's ``_registry.py``: ``register_loss`` adds a
spec, ``list_losses()`` and ``get_loss(name)`` read them. Tests are
parametrized over the registry, so a newly registered loss is tested for free.

Each spec says what the tensors mean (slots), which constructor parameters the
loss has (with type, default and valid range), its formula in LaTeX, advice in
English and Chinese, a checker that turns legal-but-odd input into warnings and
illegal input into a plain ``LossvizInputError``, and a seeded sampler of valid
inputs.

Example:
    >>> spec = get_loss("CrossEntropyLoss")
    >>> [s.name for s in spec.slots]
    ['input', 'target']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from lossviz.errors import LossvizInputError

Tensor = torch.Tensor
Role = Literal["prediction", "target", "aux"]
ParamKind = Literal["float", "int", "bool", "choice", "tensor"]


@dataclass(frozen=True)
class TensorSlot:
    """One tensor argument of the loss's ``forward``, in call order."""

    name: str  # torch's argument name: input, target, input1, var, anchor, log_probs, ...
    label: str  # what the page calls it
    role: Role  # prediction slots get gradients; target/aux do not
    dtype: Literal["float", "long", "any"]
    doc: str  # the shape and dtype rule, one sentence
    cli: str  # CLI option name without dashes: input, target, input2, var, ...

    @property
    def differentiable(self) -> bool:
        return self.role == "prediction"


@dataclass(frozen=True)
class ParamSpec:
    """A constructor parameter with its valid range."""

    name: str
    kind: ParamKind
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # True: the bound itself is not allowed
    high_open: bool = False
    choices: tuple[Any, ...] = ()
    optional: bool = False  # tensor params: None means "not given"

    def range_text(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(map(str, self.choices))
        if self.low is None and self.high is None:
            return "any value"
        lo = "" if self.low is None else (f"> {self.low:g}" if self.low_open else f"≥ {self.low:g}")
        hi = "" if self.high is None else (f"< {self.high:g}" if self.high_open else f"≤ {self.high:g}")
        return " and ".join(x for x in (lo, hi) if x)

    def coerce(self, value: Any, loss: str) -> Any:
        """Check one user value (already a Python scalar or tensor); return the clean value."""
        where = f"{loss}: parameter {self.name}"
        if self.kind == "tensor":
            if value is None:
                return None
            if not isinstance(value, torch.Tensor):
                raise LossvizInputError(f"{where} must be a list of numbers")
            if value.dim() == 0:
                value = value.reshape(1)
            value = value.to(torch.float32)
            if not torch.isfinite(value).all():
                raise LossvizInputError(f"{where} must hold finite numbers")
            if self.low is not None and (value < self.low).any():
                raise LossvizInputError(f"{where} must be {self.range_text()}; found {value.min().item():g}")
            return value
        if self.kind == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on", "false", "0", "no", "off"):
                return value.strip().lower() in ("true", "1", "yes", "on")
            if isinstance(value, int | float) and value in (0, 1):
                return bool(value)
            raise LossvizInputError(f"{where} must be true or false, not {value!r}")
        if self.kind == "choice":
            for c in self.choices:
                if value == c or str(value).strip() == str(c):
                    return c
            raise LossvizInputError(f"{where} must be {self.range_text()}, not {value!r}")
        # numbers
        try:
            num = float(value) if not isinstance(value, str) else float(value.strip())
        except (TypeError, ValueError):
            raise LossvizInputError(f"{where} must be a number, not {value!r}") from None
        if not math.isfinite(num):
            raise LossvizInputError(f"{where} must be a finite number, not {value!r}")
        if self.kind == "int":
            if num != int(num):
                raise LossvizInputError(f"{where} must be a whole number, not {value!r}")
            num = int(num)
        bad = (
            (self.low is not None and (num <= self.low if self.low_open else num < self.low))
            or (self.high is not None and (num >= self.high if self.high_open else num > self.high))
        )
        if bad:
            raise LossvizInputError(f"{where} must be {self.range_text()}, not {value!r}")
        return num


Checker = Callable[[dict[str, Tensor], dict[str, Any]], tuple[dict[str, Tensor], list[str]]]
Sampler = Callable[[torch.Generator], dict[str, Tensor]]


@dataclass(frozen=True)
class LossSpec:
    """Everything lossviz knows about one loss."""

    name: str
    cls: type[nn.Module]
    title_zh: str
    task: str  # regression, classification, multi-label, probabilistic, ranking, embedding, sequence
    slots: tuple[TensorSlot, ...]
    params: tuple[ParamSpec, ...]
    formula: str  # LaTeX
    advice: str
    advice_zh: str
    check: Checker
    sample: Sampler
    reductions: tuple[str, ...] = ("none", "mean", "sum")
    default_reduction: str = "mean"
    transforms: tuple[str, ...] = ()  # optional transforms of the prediction the tutorials use
    continuous: bool = True  # the prediction is continuous (the landscape can vary it)
    #: what one element of ``reduction='none'`` output stands for
    per_element_means: str = "one loss per element of the input"
    #: legal reductions that deserve a warning, with the sentence to show
    reduction_warnings: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def predictions(self) -> tuple[TensorSlot, ...]:
        return tuple(s for s in self.slots if s.role == "prediction")

    def slot(self, name: str) -> TensorSlot:
        for s in self.slots:
            if s.name == name:
                return s
        raise KeyError(name)

    def param(self, name: str) -> ParamSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def build(self, reduction: str, params: Mapping[str, Any]) -> nn.Module:
        """The torch module itself, with the chosen reduction and checked params."""
        kwargs = {k: v for k, v in params.items() if v is not None}
        return self.cls(reduction=reduction, **kwargs)


_REGISTRY: dict[str, LossSpec] = {}


def register_loss(spec: LossSpec) -> LossSpec:
    """Add ``spec`` to the catalog (names are unique)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"loss {spec.name} is registered twice")
    _REGISTRY[spec.name] = spec
    return spec


def list_losses() -> list[str]:
    """Names of every registered loss, in catalog order."""
    return list(_REGISTRY)


def get_loss(name: str) -> LossSpec:
    """The spec for ``name`` (case-insensitive; ``nn.`` prefix and ``Loss`` suffix optional)."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    key = str(name).strip().removeprefix("nn.").removeprefix("torch.nn.").lower()
    for n, spec in _REGISTRY.items():
        if key in (n.lower(), n.lower().removesuffix("loss")):
            return spec
    shown = str(name)[:60]
    raise LossvizInputError(f"unknown loss {shown!r}; choose one of: {', '.join(_REGISTRY)}")


# --------------------------------------------------------------------------- helpers


def _shape(t: Tensor) -> str:
    return "(" + ", ".join(str(d) for d in t.shape) + ("," if t.dim() == 1 else "") + ")"


def _as_float(t: Tensor) -> Tensor:
    return t if t.is_floating_point() else t.to(torch.float32)


def _same_or_broadcast(loss: str, a: str, ta: Tensor, b: str, tb: Tensor, warnings: list[str]) -> None:
    if ta.shape == tb.shape:
        return
    try:
        out = torch.broadcast_shapes(ta.shape, tb.shape)
    except RuntimeError:
        raise LossvizInputError(
            f"{loss}: {a} has shape {_shape(ta)} but {b} has shape {_shape(tb)}; give them the same shape "
            f"(one {b} value per {a} value)"
        ) from None
    warnings.append(
        f"{a} has shape {_shape(ta)} but {b} has shape {_shape(tb)}; PyTorch broadcasts them to "
        f"{tuple(out)}, pairing every {a} value with every {b} value. That is almost always a bug: "
        "give them the same shape."
    )


def _need_same(loss: str, a: str, ta: Tensor, b: str, tb: Tensor) -> None:
    if ta.shape != tb.shape:
        raise LossvizInputError(
            f"{loss}: {a} has shape {_shape(ta)} but {b} has shape {_shape(tb)}; they must have the same shape"
        )


def _pm_one(loss: str, slot: str, t: Tensor, warnings: list[str], zero_note: str) -> None:
    vals = t.to(torch.float32)
    odd = ~((vals == 1) | (vals == -1))
    if odd.any():
        found = sorted({float(v) for v in vals[odd].flatten()[:5].tolist()})
        shown = ", ".join(f"{v:g}" for v in found)
        warnings.append(
            f"{slot} labels should be 1 or -1, but found {shown}. {zero_note} "
            "Write -1 for the negative class (labels 0/1 belong to BCE-style losses)."
        )


def _class_indices(loss: str, t: Tensor, n_classes: int, ignore_index: int | None, slot: str = "target") -> Tensor:
    if t.is_floating_point():
        if torch.isfinite(t).all() and (t == t.round()).all():
            raise LossvizInputError(
                f"{loss}: {slot} holds class indices written as decimals ({t.flatten()[0].item():g}); "
                "class indices must be whole numbers such as 0, 1, 2 (write 1, not 1.0)"
            )
        raise LossvizInputError(
            f"{loss}: {slot} must hold whole class indices such as 0, 1, 2, but it has fractions; "
            "for soft labels give a probability for every class (the same shape as the input)"
        )
    bad = (t < 0) | (t >= n_classes)
    if ignore_index is not None:
        bad &= t != ignore_index
    if bad.any():
        v = int(t[bad].flatten()[0])
        extra = f" (or the ignore_index {ignore_index})" if ignore_index is not None else ""
        raise LossvizInputError(
            f"{loss}: class index {v} is out of range; with {n_classes} classes (input's class dimension) "
            f"the indices run from 0 to {n_classes - 1}{extra}"
        )
    return t


_SINGULAR = {"classes": "class"}


def _weight_len(loss: str, params: dict[str, Any], name: str, n: int, what: str) -> None:
    w = params.get(name)
    if w is not None and w.numel() != n:
        raise LossvizInputError(
            f"{loss}: {name} has {w.numel()} values but there are {n} {what}; give exactly one {name} per "
            f"{_SINGULAR.get(what, what)}"
        )


def _rand(g: torch.Generator, *shape: int) -> Tensor:
    return torch.randn(*shape, generator=g)


def _randint(g: torch.Generator, high: int, *shape: int) -> Tensor:
    return torch.randint(0, high, shape, generator=g)


def _pm(g: torch.Generator, *shape: int) -> Tensor:
    return (torch.randint(0, 2, shape, generator=g) * 2 - 1).to(torch.float32)


REDUCTION_DOC = {
    "none": "keep one loss per element (no reduction)",
    "mean": "average the per-element losses",
    "sum": "add the per-element losses",
    "batchmean": "sum, then divide by the batch size (the KL divergence of the maths)",
}


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


_IN = TensorSlot("input", "prediction ŷ", "prediction", "float", "any shape; floats", "input")
_TGT_SAME = TensorSlot("target", "target y", "target", "float", "the same shape as the input", "target")

register_loss(
    LossSpec(
        name="L1Loss",
        cls=nn.L1Loss,
        title_zh="L1 损失（平均绝对误差）",
        task="regression",
        slots=(_IN, _TGT_SAME),
        params=(),
        formula=r"\ell_i = \lvert \hat y_i - y_i \rvert",
        advice="Mean absolute error for regression: robust to outliers, but its gradient is ±1 whatever the "
        "error, so it keeps taking full-size steps near the minimum.",
        advice_zh="回归用的平均绝对误差：对离群点不敏感，但梯度恒为 ±1，接近最优点时步子也不会变小。",
        check=_pair_float("L1Loss"),
        sample=_sample_pair,
    )
)

register_loss(
    LossSpec(
        name="MSELoss",
        cls=nn.MSELoss,
        title_zh="均方误差损失（MSE）",
        task="regression",
        slots=(_IN, _TGT_SAME),
        params=(),
        formula=r"\ell_i = (\hat y_i - y_i)^2",
        advice="Mean squared error for regression: smooth, with a gradient that shrinks near the target, "
        "but one outlier with a large error dominates the loss.",
        advice_zh="回归用的均方误差：处处光滑，越接近目标梯度越小；但误差大的离群点会主导整个损失。",
        check=_pair_float("MSELoss"),
        sample=_sample_pair,
    )
)


register_loss(
    LossSpec(
        name="SmoothL1Loss",
        cls=nn.SmoothL1Loss,
        title_zh="平滑 L1 损失",
        task="regression",
        slots=(_IN, _TGT_SAME),
        params=(
            ParamSpec("beta", "float", 1.0, "where the quadratic part turns linear; 0 gives plain L1", low=0.0),
        ),
        formula=r"\ell_i = \begin{cases} 0.5\,(\hat y_i - y_i)^2/\beta & \lvert \hat y_i - y_i\rvert < \beta \\ "
        r"\lvert \hat y_i - y_i\rvert - 0.5\,\beta & \text{otherwise} \end{cases}",
        advice="Quadratic for small errors, linear for large ones (used for bounding-box regression): "
        "smooth near the minimum like MSE, robust to outliers like L1.",
        advice_zh="误差小时是二次的、误差大时是线性的（目标检测框回归常用）：兼顾 MSE 的平滑与 L1 的稳健。",
        check=_pair_float("SmoothL1Loss"),
        sample=_sample_pair,
    )
)

register_loss(
    LossSpec(
        name="HuberLoss",
        cls=nn.HuberLoss,
        title_zh="Huber 损失",
        task="regression",
        slots=(_IN, _TGT_SAME),
        params=(ParamSpec("delta", "float", 1.0, "where the quadratic part turns linear", low=0.0, low_open=True),),
        formula=r"\ell_i = \begin{cases} 0.5\,(\hat y_i - y_i)^2 & \lvert \hat y_i - y_i\rvert \le \delta \\ "
        r"\delta\,(\lvert \hat y_i - y_i\rvert - 0.5\,\delta) & \text{otherwise} \end{cases}",
        advice="Like SmoothL1Loss but scaled by δ: equals δ·SmoothL1 with β = δ. Large errors get a gradient "
        "of at most δ, so outliers cannot dominate.",
        advice_zh="与平滑 L1 相似，但乘了 δ（等于 β=δ 时的 δ·SmoothL1）。大误差的梯度不超过 δ，离群点不会主导。",
        check=_pair_float("HuberLoss"),
        sample=_sample_pair,
    )
)


# --------------------------------------------------------------------------- classification


def _class_dim_info(loss: str, x: Tensor) -> tuple[int, int]:
    """(class dim, number of classes) for (C), (N, C) or (N, C, d1, ...) inputs."""
    if x.dim() == 0:
        raise LossvizInputError(
            f"{loss}: input is a single number; give one score per class, e.g. [0.1, 0.2, 0.3] "
            "(one sample) or one row per sample"
        )
    cdim = 0 if x.dim() == 1 else 1
    return cdim, x.shape[cdim]


def _index_target_shape(x: Tensor) -> tuple[int, ...]:
    return () if x.dim() == 1 else (x.shape[0], *x.shape[2:])


def _check_index_target(loss: str, x: Tensor, y: Tensor, n_classes: int, ignore_index: int | None) -> Tensor:
    want = _index_target_shape(x)
    if tuple(y.shape) != want:
        if x.dim() == 1:
            raise LossvizInputError(
                f"{loss}: input {_shape(x)} is one sample with {n_classes} class scores, so target must be "
                f"one class index (a single number such as 1), but it has shape {_shape(y)}; "
                f"for several samples give input one row per sample"
            )
        if y.dim() == 1 and x.dim() == 2:
            raise LossvizInputError(
                f"{loss}: target has {y.shape[0]} class indices but input has {x.shape[0]} row(s) "
                f"(batch size {x.shape[0]}); give one class index per input row "
                f"(target of shape ({x.shape[0]},)), or add rows to the input"
            )
        raise LossvizInputError(
            f"{loss}: input has shape {_shape(x)}, so class-index targets must have shape "
            f"{want} (the input's shape without the class dimension {1 if x.dim() > 1 else 0}), "
            f"but target has shape {_shape(y)}"
        )
    return _class_indices(loss, y, n_classes, ignore_index)


def _looks_like_probabilities(x: Tensor, cdim: int) -> bool:
    if x.numel() == 0 or x.shape[cdim] < 2:
        return False
    s = x.sum(dim=cdim)
    return bool(((x >= 0) & (x <= 1)).all() and torch.allclose(s, torch.ones_like(s), atol=1e-3))


def _check_ce(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "CrossEntropyLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = t["target"]
    cdim, c = _class_dim_info(loss, x)
    _weight_len(loss, p, "weight", c, "classes")
    if y.shape == x.shape and not (x.dim() == 1 and y.dim() == 0):
        y = _as_float(y)
        if ((y < 0) | (y > 1)).any():
            raise LossvizInputError(
                f"{loss}: target has the input's shape, so it is read as class probabilities, but it holds "
                "values outside [0, 1]; use probabilities (rows summing to 1) or one class index per sample"
            )
        s = y.sum(dim=cdim)
        if not torch.allclose(s, torch.ones_like(s), atol=1e-3):
            w.append(
                "target is read as class probabilities (it has the input's shape), but its rows do not sum "
                "to 1; soft labels are normally a probability distribution over the classes."
            )
        if p.get("ignore_index", -100) != -100:
            raise LossvizInputError(
                f"{loss}: ignore_index only applies to class-index targets, and this target is read as "
                "probabilities (it has the input's shape); set ignore_index back to -100 or give class indices"
            )
    else:
        if y.dim() == x.dim() and y.dim() >= 1 and not y.is_floating_point() and x.dim() > 1:
            raise LossvizInputError(
                f"{loss}: target has shape {_shape(y)} but input has shape {_shape(x)}; give either one class "
                f"index per sample (shape {_index_target_shape(x)}) or probabilities of the input's shape"
            )
        y = _check_index_target(loss, x, y, c, p.get("ignore_index", -100))
    if _looks_like_probabilities(x, cdim):
        w.append(
            "input rows already look like probabilities (in [0, 1] and summing to 1). CrossEntropyLoss applies "
            "log-softmax itself, so pass raw scores (logits), not softmax outputs; feeding probabilities "
            "squashes the loss and its gradients."
        )
    return {"input": x, "target": y}, w


def _sample_ce(g: torch.Generator) -> dict[str, Tensor]:
    return {"input": _rand(g, 4, 5), "target": _randint(g, 5, 4)}


register_loss(
    LossSpec(
        name="CrossEntropyLoss",
        cls=nn.CrossEntropyLoss,
        title_zh="交叉熵损失",
        task="classification",
        slots=(
            TensorSlot("input", "logits z", "prediction", "float", "raw scores: (C), (N, C) or (N, C, d1, ...)", "input"),
            TensorSlot(
                "target",
                "target (class index or probabilities)",
                "target",
                "any",
                "class indices of shape (), (N) or (N, d1, ...); or probabilities with the input's shape",
                "target",
            ),
        ),
        params=(
            ParamSpec("weight", "tensor", None, "a rescaling weight per class (length C)", low=0.0, optional=True),
            ParamSpec("ignore_index", "int", -100, "a target value that is ignored (class indices only)"),
            ParamSpec("label_smoothing", "float", 0.0, "mix this much of a uniform distribution into the target",
                      low=0.0, high=1.0),
        ),
        formula=r"\ell_n = -\sum_{c} w_c\, y_{n,c} \log \frac{e^{z_{n,c}}}{\sum_{k} e^{z_{n,k}}}"
        r"\quad(\text{class index } t_n:\ \ell_n = -w_{t_n}\log\operatorname{softmax}(z_n)_{t_n})",
        advice="For single-label classification. It takes raw logits and applies log-softmax itself: do not "
        "put a softmax in front. Targets are class indices or probabilities of the input's shape.",
        advice_zh="单标签分类用。输入是未归一化的 logits，内部会做 log-softmax，前面不要再加 softmax。"
        "目标可以是类别下标，也可以是与输入同形状的概率。",
        check=_check_ce,
        sample=_sample_ce,
        continuous=True,
        per_element_means="one loss per sample (per position for (N, C, H, W))",
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
            f"{loss}: target must be class indices (one whole number per sample), not probabilities; "
            "for probability targets use CrossEntropyLoss or KLDivLoss"
        )
    y = _check_index_target(loss, x, y, c, p.get("ignore_index", -100))
    if (x > 1e-6).any():
        w.append(
            "NLLLoss expects log-probabilities (all ≤ 0), but the input has positive values. Apply "
            "log_softmax first (choose the log_softmax transform), or use CrossEntropyLoss on raw logits."
        )
    return {"input": x, "target": y}, w


def _sample_nll(g: torch.Generator) -> dict[str, Tensor]:
    return {"input": torch.log_softmax(_rand(g, 4, 5), dim=1), "target": _randint(g, 5, 4)}


register_loss(
    LossSpec(
        name="NLLLoss",
        cls=nn.NLLLoss,
        title_zh="负对数似然损失",
        task="classification",
        slots=(
            TensorSlot("input", "log-probabilities", "prediction", "float", "log-probabilities: (C), (N, C) or (N, C, d1, ...)", "input"),
            TensorSlot("target", "target class index", "target", "long", "class indices of shape (), (N) or (N, d1, ...)", "target"),
        ),
        params=(
            ParamSpec("weight", "tensor", None, "a rescaling weight per class (length C)", low=0.0, optional=True),
            ParamSpec("ignore_index", "int", -100, "a target value that is ignored"),
        ),
        formula=r"\ell_n = -w_{t_n}\, x_{n, t_n}",
        advice="Picks the log-probability of the true class and negates it. Feed it log_softmax outputs: "
        "LogSoftmax + NLLLoss is exactly CrossEntropyLoss.",
        advice_zh="取出正确类别的对数概率再取负。输入应是 log_softmax 的输出：LogSoftmax + NLLLoss 恰好等于交叉熵。",
        check=_check_nll,
        sample=_sample_nll,
        transforms=("log_softmax",),
        per_element_means="one loss per sample",
    )
)


def _check_bce(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "BCELoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = _as_float(t["target"])
    _need_same(loss, "input", x, "target", y)
    if ((x < 0) | (x > 1)).any():
        v = x[(x < 0) | (x > 1)].flatten()[0].item()
        raise LossvizInputError(
            f"{loss}: input must be probabilities in [0, 1], but it has {v:g}; apply a sigmoid first "
            "(choose the sigmoid transform) or use BCEWithLogitsLoss on raw scores"
        )
    if ((y < 0) | (y > 1)).any():
        raise LossvizInputError(f"{loss}: target must be in [0, 1] (labels 0 or 1, or soft labels)")
    _weight_broadcast(loss, p, "weight", x)
    if ((x == 0) | (x == 1)).any():
        w.append(
            "some inputs are exactly 0 or 1. log(0) is -inf, so PyTorch clamps the log at -100: the loss of "
            "those elements is capped at 100 and their gradient is not the true one."
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
            f"{loss}: {name} has {wt.numel()} values, which cannot line up with input of shape {_shape(x)}; "
            f"give one value per element of the last dimension ({x.shape[-1] if x.dim() else 1})"
        ) from None
    if torch.broadcast_shapes(wt.shape, x.shape) != x.shape:
        raise LossvizInputError(f"{loss}: {name} is larger than the input; give at most one value per input element")


def _sample_bce(g: torch.Generator) -> dict[str, Tensor]:
    return {
        "input": torch.sigmoid(_rand(g, 4, 3)),
        "target": torch.randint(0, 2, (4, 3), generator=g).to(torch.float32),
    }


register_loss(
    LossSpec(
        name="BCELoss",
        cls=nn.BCELoss,
        title_zh="二元交叉熵损失",
        task="binary classification",
        slots=(
            TensorSlot("input", "probability p", "prediction", "float", "probabilities in [0, 1]; any shape", "input"),
            TensorSlot("target", "label y", "target", "float", "labels in [0, 1], the input's shape", "target"),
        ),
        params=(
            ParamSpec("weight", "tensor", None, "a rescaling weight per element (broadcast to the input)", low=0.0,
                      optional=True),
        ),
        formula=r"\ell_i = -w_i\,[\,y_i \log p_i + (1 - y_i) \log(1 - p_i)\,]",
        advice="For binary or multi-label targets, on probabilities: put a sigmoid in front. "
        "BCEWithLogitsLoss does the sigmoid inside and is numerically safer.",
        advice_zh="二分类或多标签分类用，输入必须是概率：前面先做 sigmoid。BCEWithLogitsLoss 把 sigmoid 放在内部，数值上更稳定。",
        check=_check_bce,
        sample=_sample_bce,
        transforms=("sigmoid",),
    )
)


def _check_bcel(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "BCEWithLogitsLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = _as_float(t["target"])
    _need_same(loss, "input", x, "target", y)
    if ((y < 0) | (y > 1)).any():
        raise LossvizInputError(f"{loss}: target must be in [0, 1] (labels 0 or 1, or soft labels)")
    _weight_broadcast(loss, p, "weight", x)
    pw = p.get("pos_weight")
    if pw is not None:
        c = x.shape[-1] if x.dim() else 1
        if pw.numel() not in (1, c):
            raise LossvizInputError(
                f"{loss}: pos_weight has {pw.numel()} values but the input's last dimension has {c} "
                f"classes; give one pos_weight per class ({c} values) or a single value"
            )
    return {"input": x, "target": y}, w


register_loss(
    LossSpec(
        name="BCEWithLogitsLoss",
        cls=nn.BCEWithLogitsLoss,
        title_zh="带 Logits 的二元交叉熵损失",
        task="binary classification",
        slots=(
            TensorSlot("input", "logit z", "prediction", "float", "raw scores; any shape", "input"),
            TensorSlot("target", "label y", "target", "float", "labels in [0, 1], the input's shape", "target"),
        ),
        params=(
            ParamSpec("weight", "tensor", None, "a rescaling weight per element (broadcast to the input)", low=0.0,
                      optional=True),
            ParamSpec("pos_weight", "tensor", None, "weight of positive examples per class (last dimension)",
                      low=0.0, optional=True),
        ),
        formula=r"\ell_i = -w_i\,[\,p_c\, y_i \log \sigma(z_i) + (1 - y_i) \log(1 - \sigma(z_i))\,]",
        advice="Sigmoid + binary cross-entropy in one numerically stable step; use it on raw scores. "
        "pos_weight > 1 raises recall on rare positive classes.",
        advice_zh="把 sigmoid 和二元交叉熵合成一步，数值稳定，直接用在原始分数上。pos_weight > 1 可提高稀有正类的召回率。",
        check=_check_bcel,
        sample=lambda g: {"input": _rand(g, 4, 3), "target": torch.randint(0, 2, (4, 3), generator=g).float()},
    )
)


def _check_kl(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "KLDivLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = t["target"]
    if not y.is_floating_point():
        raise LossvizInputError(
            f"{loss}: target is whole numbers ({y.dtype}), but KLDivLoss needs a probability distribution "
            "as floats (e.g. 0.2, 0.5, 0.3), and PyTorch refuses integer targets. Write the target with "
            "decimals (a one-hot row as 0., 1., 0.); for class labels use CrossEntropyLoss or NLLLoss instead"
        )
    _same_or_broadcast(loss, "input", x, "target", y, w)
    if p.get("log_target"):
        if (y > 1e-6).any():
            w.append("log_target is on, so target should be log-probabilities (≤ 0), but it has positive values.")
    elif (y < 0).any():
        raise LossvizInputError(
            f"{loss}: target has negative values; it must be probabilities (≥ 0), or turn on log_target "
            "if you are giving log-probabilities"
        )
    if (x > 1e-6).any():
        w.append(
            "KLDivLoss expects its input as log-probabilities (all ≤ 0), but it has positive values: apply "
            "log_softmax first (the log_softmax transform)."
        )
    return {"input": x, "target": y}, w


def _sample_kl(g: torch.Generator) -> dict[str, Tensor]:
    return {
        "input": torch.log_softmax(_rand(g, 3, 4), dim=1),
        "target": torch.softmax(_rand(g, 3, 4), dim=1),
    }


register_loss(
    LossSpec(
        name="KLDivLoss",
        cls=nn.KLDivLoss,
        title_zh="KL 散度损失",
        task="distribution matching",
        slots=(
            TensorSlot("input", "log-probabilities log q", "prediction", "float", "log-probabilities; any shape", "input"),
            TensorSlot("target", "target distribution p", "target", "float", "probabilities (floats), the input's shape", "target"),
        ),
        params=(
            ParamSpec("log_target", "bool", False, "the target is given as log-probabilities"),
        ),
        formula=r"\ell_i = p_i\,(\log p_i - \log q_i)",
        advice="Distance from the target distribution p to the predicted q (distillation, VAEs). The input "
        "must be log-probabilities (log_softmax) and the target probabilities; use reduction 'batchmean' "
        "for the true KL divergence.",
        advice_zh="衡量目标分布 p 与预测分布 q 的差异（知识蒸馏、VAE）。输入必须是对数概率（log_softmax），目标是概率；"
        "要得到数学上的 KL 散度请用 reduction='batchmean'。",
        check=_check_kl,
        sample=_sample_kl,
        reductions=("none", "mean", "sum", "batchmean"),
        default_reduction="batchmean",
        reduction_warnings={
            "mean": "reduction 'mean' divides by the number of elements, not the batch size, so it is not the "
            "KL divergence of the maths; use reduction 'batchmean'."
        },
        transforms=("log_softmax",),
    )
)


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
        "A label that is neither 1 nor -1 (such as 0) gets both terms: x + max(0, margin − x).",
    )
    return {"input": x, "target": y}, w


register_loss(
    LossSpec(
        name="HingeEmbeddingLoss",
        cls=nn.HingeEmbeddingLoss,
        title_zh="Hinge 嵌入损失",
        task="embedding",
        slots=(
            TensorSlot("input", "distance x", "prediction", "float", "distances (e.g. L1 between a pair); any shape", "input"),
            TensorSlot("target", "label y (1 or -1)", "target", "float", "1 (similar) or -1 (dissimilar), the input's shape", "target"),
        ),
        params=(ParamSpec("margin", "float", 1.0, "dissimilar pairs are pushed at least this far apart"),),
        formula=r"\ell_i = \begin{cases} x_i & y_i = 1 \\ \max(0, \Delta - x_i) & y_i = -1 \end{cases}",
        advice="Learns whether two inputs are similar from a distance x: similar pairs (y = 1) are pulled to "
        "zero, dissimilar ones (y = -1) pushed beyond the margin. Labels are 1 and -1, never 0.",
        advice_zh="根据距离 x 学习两个输入是否相似：相似对（y=1）拉近到 0，不相似对（y=-1）推到 margin 之外。标签是 1 和 -1，不是 0。",
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
    _pm_one(loss, "target", y, w, "With label 0 the loss is log 2 whatever the input, so nothing is learnt.")
    return {"input": x, "target": y}, w


register_loss(
    LossSpec(
        name="SoftMarginLoss",
        cls=nn.SoftMarginLoss,
        title_zh="软间隔损失",
        task="binary classification",
        slots=(
            TensorSlot("input", "score x", "prediction", "float", "raw scores; any shape", "input"),
            TensorSlot("target", "label y (1 or -1)", "target", "float", "1 or -1, the input's shape", "target"),
        ),
        params=(),
        formula=r"\ell_i = \log(1 + e^{-y_i x_i})",
        advice="Logistic loss with labels ±1: a smooth version of the hinge. Equal to BCEWithLogitsLoss "
        "after mapping labels -1/1 to 0/1.",
        advice_zh="标签为 ±1 的逻辑斯蒂损失，是 hinge 损失的平滑版；把标签 -1/1 换成 0/1 后与 BCEWithLogitsLoss 相同。",
        check=_check_soft_margin,
        sample=lambda g: {"input": _rand(g, 6), "target": _pm(g, 6)},
    )
)


def _check_mlsm(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "MultiLabelSoftMarginLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = _as_float(t["target"])
    if x.dim() not in (1, 2):
        raise LossvizInputError(f"{loss}: input must be (C) or (N, C), but it has shape {_shape(x)}")
    _need_same(loss, "input", x, "target", y)
    _weight_len(loss, p, "weight", x.shape[-1], "classes")
    if ((y != 0) & (y != 1)).any():
        w.append("targets should be 0 or 1 (is the label present?); other values are used as soft labels.")
    return {"input": x, "target": y}, w


register_loss(
    LossSpec(
        name="MultiLabelSoftMarginLoss",
        cls=nn.MultiLabelSoftMarginLoss,
        title_zh="多标签软间隔损失",
        task="multi-label classification",
        slots=(
            TensorSlot("input", "scores z", "prediction", "float", "(C) or (N, C) raw scores", "input"),
            TensorSlot("target", "labels (0/1 per class)", "target", "float", "0 or 1 per class, the input's shape", "target"),
        ),
        params=(ParamSpec("weight", "tensor", None, "a weight per class (length C)", low=0.0, optional=True),),
        formula=r"\ell_n = -\frac{1}{C}\sum_c w_c\,[\,y_{n,c}\log\sigma(z_{n,c}) + (1-y_{n,c})\log(1-\sigma(z_{n,c}))\,]",
        advice="Multi-label classification (several classes can be on at once): a sigmoid BCE per class, "
        "averaged over classes for each sample.",
        advice_zh="多标签分类（一个样本可以同时属于多个类别）：每个类别一个 sigmoid 二元交叉熵，再对类别取平均。",
        check=_check_mlsm,
        sample=lambda g: {"input": _rand(g, 3, 4), "target": torch.randint(0, 2, (3, 4), generator=g).float()},
        per_element_means="one loss per sample",
    )
)


def _check_multi_margin(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "MultiMarginLoss"
    x = _as_float(t["input"])
    y = t["target"]
    if x.dim() not in (1, 2):
        raise LossvizInputError(f"{loss}: input must be (C) or (N, C), but it has shape {_shape(x)}")
    c = x.shape[-1]
    _weight_len(loss, p, "weight", c, "classes")
    if y.dim() == 1 and y.numel() == 1 and x.dim() == 1:
        y = y.reshape(())
    y = _check_index_target(loss, x, y, c, None)
    return {"input": x, "target": y}, []


register_loss(
    LossSpec(
        name="MultiMarginLoss",
        cls=nn.MultiMarginLoss,
        title_zh="多分类间隔损失（多类 hinge）",
        task="classification",
        slots=(
            TensorSlot("input", "scores z", "prediction", "float", "(C) or (N, C) raw scores", "input"),
            TensorSlot("target", "target class index", "target", "long", "one class index per sample: () or (N)", "target"),
        ),
        params=(
            ParamSpec("p", "choice", 1, "1 for the hinge, 2 for the squared hinge", choices=(1, 2)),
            ParamSpec("margin", "float", 1.0, "how far the true class must beat every other"),
            ParamSpec("weight", "tensor", None, "a weight per class (length C)", low=0.0, optional=True),
        ),
        formula=r"\ell_n = \frac{1}{C}\sum_{c \ne t_n} \max(0, \Delta - z_{n,t_n} + z_{n,c})^p",
        advice="The multi-class SVM hinge: zero once the true class's score beats every other class by the "
        "margin, so confident correct samples stop contributing.",
        advice_zh="多类 SVM 的 hinge 损失：当正确类别的分数比其他类别都高出 margin 时损失为 0，已分对的样本不再贡献梯度。",
        check=_check_multi_margin,
        sample=lambda g: {"input": _rand(g, 4, 5), "target": _randint(g, 5, 4)},
        per_element_means="one loss per sample",
    )
)


def _check_mlm(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "MultiLabelMarginLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = t["target"]
    if x.dim() not in (1, 2):
        raise LossvizInputError(f"{loss}: input must be (C) or (N, C), but it has shape {_shape(x)}")
    if y.is_floating_point():
        raise LossvizInputError(
            f"{loss}: target holds class indices padded with -1 (whole numbers such as 3, 0, -1, -1), "
            "not 0/1 flags; for 0/1 flags per class use MultiLabelSoftMarginLoss"
        )
    _need_same(loss, "input", x, "target", y)
    c = x.shape[-1]
    if ((y < -1) | (y >= c)).any():
        raise LossvizInputError(
            f"{loss}: target values must be class indices 0..{c - 1}, with -1 to end the list of labels"
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
        title_zh="多标签间隔损失",
        task="multi-label classification",
        slots=(
            TensorSlot("input", "scores z", "prediction", "float", "(C) or (N, C) raw scores", "input"),
            TensorSlot(
                "target",
                "label indices, -1 padded",
                "target",
                "long",
                "the input's shape: the true class indices first, then -1 to pad",
                "target",
            ),
        ),
        params=(),
        formula=r"\ell_n = \sum_{j \in Y_n}\sum_{i \notin Y_n} \frac{\max(0, 1 - (z_{n,j} - z_{n,i}))}{C}",
        advice="Multi-label hinge: every true label must beat every false label by 1. The target lists the "
        "true class indices and pads with -1 (everything after the first -1 is ignored).",
        advice_zh="多标签 hinge：每个正确标签的分数都要比每个错误标签高出 1。目标列出正确类别的下标，用 -1 补齐（第一个 -1 之后的都被忽略）。",
        check=_check_mlm,
        sample=_sample_mlm,
        per_element_means="one loss per sample",
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
        raise LossvizInputError(f"{loss}: target is a count and must be ≥ 0")
    if not p.get("log_input", True) and (x < 0).any():
        raise LossvizInputError(
            f"{loss}: with log_input off the input is the rate λ itself and must be ≥ 0; "
            "turn log_input on if you are giving log-rates"
        )
    return {"input": x, "target": y}, w


register_loss(
    LossSpec(
        name="PoissonNLLLoss",
        cls=nn.PoissonNLLLoss,
        title_zh="泊松负对数似然损失",
        task="count regression",
        slots=(
            TensorSlot("input", "log-rate (or rate λ)", "prediction", "float", "any shape", "input"),
            TensorSlot("target", "count k", "target", "float", "non-negative counts, the input's shape", "target"),
        ),
        params=(
            ParamSpec("log_input", "bool", True, "the input is log λ (recommended) rather than λ"),
            ParamSpec("full", "bool", False, "add the Stirling term of log k!"),
            ParamSpec("eps", "float", 1e-8, "added to λ before the log when log_input is off", low=0.0, low_open=True),
        ),
        formula=r"\ell_i = e^{x_i} - k_i\,x_i \quad(\text{log\_input});\qquad \lambda_i - k_i \log(\lambda_i + \epsilon)",
        advice="For counts (events per interval). Predict the log-rate and keep log_input on: the rate e^x "
        "is then always positive.",
        advice_zh="用于计数数据（单位时间的事件数）。预测对数速率并保持 log_input 开启，这样速率 e^x 总是正的。",
        check=_check_poisson,
        sample=lambda g: {"input": _rand(g, 4, 3), "target": torch.randint(0, 6, (4, 3), generator=g).float()},
    )
)


def _check_gauss(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "GaussianNLLLoss"
    w: list[str] = []
    x = _as_float(t["input"])
    y = _as_float(t["target"])
    v = _as_float(t["var"])
    _need_same(loss, "input", x, "target", y)
    ok = v.shape == x.shape or (x.dim() > 0 and (v.shape == x.shape[:-1] or v.shape == (*x.shape[:-1], 1)))
    if not ok and v.numel() == 1 and x.dim() == 1:
        ok = True
    if not ok:
        raise LossvizInputError(
            f"{loss}: var has shape {_shape(v)} but input has shape {_shape(x)}; give one variance per input "
            "element (the same shape), or one per sample (the input's shape without its last dimension)"
        )
    if (v < 0).any():
        raise LossvizInputError(
            f"{loss}: var has a negative value ({v[v < 0].flatten()[0].item():g}); a variance must be positive"
        )
    if (v == 0).any():
        w.append(f"var has zeros; PyTorch clamps the variance up to eps = {p.get('eps', 1e-6):g}.")
    return {"input": x, "target": y, "var": v}, w


register_loss(
    LossSpec(
        name="GaussianNLLLoss",
        cls=nn.GaussianNLLLoss,
        title_zh="高斯负对数似然损失",
        task="regression with uncertainty",
        slots=(
            TensorSlot("input", "mean μ", "prediction", "float", "predicted means; any shape", "input"),
            TensorSlot("target", "target y", "target", "float", "the input's shape", "target"),
            TensorSlot("var", "variance σ²", "prediction", "float", "positive; the input's shape (or one per sample)", "var"),
        ),
        params=(
            ParamSpec("full", "bool", False, "add the constant ½ log 2π"),
            ParamSpec("eps", "float", 1e-6, "the variance is clamped to at least eps", low=0.0, low_open=True),
        ),
        formula=r"\ell_i = \tfrac12\Big(\log \max(\sigma_i^2, \epsilon) + \frac{(\mu_i - y_i)^2}{\max(\sigma_i^2, \epsilon)}\Big)",
        advice="Regression that also predicts its own uncertainty: a large variance makes errors cheap but "
        "costs log σ², so the network learns how sure it is.",
        advice_zh="同时预测不确定性的回归：方差大时误差的代价小，但要付出 log σ² 的代价，网络因此学会估计自己有多确定。",
        check=_check_gauss,
        sample=lambda g: {"input": _rand(g, 4, 2), "target": _rand(g, 4, 2), "var": _rand(g, 4, 2).abs() + 0.1},
    )
)


# --------------------------------------------------------------------------- ranking and embeddings


def _check_ranking(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "MarginRankingLoss"
    w: list[str] = []
    a = _as_float(t["input1"])
    b = _as_float(t["input2"])
    y = _as_float(t["target"])
    _need_same(loss, "input1", a, "input2", b)
    if a.dim() > 1:
        raise LossvizInputError(f"{loss}: inputs must be (N) or a single number, not shape {_shape(a)}")
    _need_same(loss, "input1", a, "target", y)
    _pm_one(loss, "target", y, w, "Label 0 makes the loss max(0, margin), whatever the inputs.")
    return {"input1": a, "input2": b, "target": y}, w


register_loss(
    LossSpec(
        name="MarginRankingLoss",
        cls=nn.MarginRankingLoss,
        title_zh="间隔排序损失",
        task="ranking",
        slots=(
            TensorSlot("input1", "score x₁", "prediction", "float", "(N) scores", "input"),
            TensorSlot("input2", "score x₂", "prediction", "float", "(N) scores, like input1", "input2"),
            TensorSlot("target", "y = 1 if x₁ should rank higher, -1 otherwise", "target", "float", "(N) of ±1", "target"),
        ),
        params=(ParamSpec("margin", "float", 0.0, "how far the better item must be ahead"),),
        formula=r"\ell_i = \max(0, -y_i\,(x_{1,i} - x_{2,i}) + \Delta)",
        advice="Learning to rank: for each pair, the item marked better (y = 1 for x₁, -1 for x₂) must score "
        "higher by the margin.",
        advice_zh="排序学习：对每一对，被标为更好的那一项（y=1 表示 x₁，-1 表示 x₂）的分数要高出 margin。",
        check=_check_ranking,
        sample=lambda g: {"input1": _rand(g, 5), "input2": _rand(g, 5), "target": _pm(g, 5)},
        per_element_means="one loss per pair",
    )
)


def _check_cosine(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "CosineEmbeddingLoss"
    w: list[str] = []
    a = _as_float(t["input1"])
    b = _as_float(t["input2"])
    y = _as_float(t["target"])
    _need_same(loss, "input1", a, "input2", b)
    if a.dim() not in (1, 2):
        raise LossvizInputError(f"{loss}: inputs must be (D) or (N, D) vectors, not shape {_shape(a)}")
    want = (a.shape[0],) if a.dim() == 2 else ()
    if y.dim() == 1 and y.numel() == 1 and want == ():
        y = y.reshape(())
    if tuple(y.shape) != want:
        raise LossvizInputError(
            f"{loss}: target needs one label per pair of vectors, shape {want}, but it has shape {_shape(y)}"
        )
    _pm_one(loss, "target", y, w, "")
    return {"input1": a, "input2": b, "target": y}, w


register_loss(
    LossSpec(
        name="CosineEmbeddingLoss",
        cls=nn.CosineEmbeddingLoss,
        title_zh="余弦嵌入损失",
        task="embedding",
        slots=(
            TensorSlot("input1", "vector u", "prediction", "float", "(D) or (N, D)", "input"),
            TensorSlot("input2", "vector v", "prediction", "float", "the shape of input1", "input2"),
            TensorSlot("target", "y (1 similar, -1 dissimilar)", "target", "float", "(N) or () of ±1", "target"),
        ),
        params=(ParamSpec("margin", "float", 0.0, "dissimilar pairs are pushed below this cosine", low=-1.0, high=1.0),),
        formula=r"\ell_n = \begin{cases} 1 - \cos(u_n, v_n) & y_n = 1 \\ \max(0, \cos(u_n, v_n) - \Delta) & y_n = -1 \end{cases}",
        advice="Learns embeddings by angle: similar pairs point the same way, dissimilar pairs are pushed "
        "below the margin in cosine similarity. The vectors' lengths do not matter.",
        advice_zh="按夹角学习嵌入：相似对方向一致，不相似对的余弦相似度被推到 margin 以下；向量长度无关紧要。",
        check=_check_cosine,
        sample=lambda g: {"input1": _rand(g, 3, 4), "input2": _rand(g, 3, 4), "target": _pm(g, 3)},
        per_element_means="one loss per pair",
    )
)


def _check_triplet(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "TripletMarginLoss"
    a = _as_float(t["anchor"])
    pos = _as_float(t["positive"])
    neg = _as_float(t["negative"])
    if a.dim() not in (1, 2):
        raise LossvizInputError(f"{loss}: anchor must be (D) or (N, D) vectors, not shape {_shape(a)}")
    _need_same(loss, "anchor", a, "positive", pos)
    _need_same(loss, "anchor", a, "negative", neg)
    return {"anchor": a, "positive": pos, "negative": neg}, []


register_loss(
    LossSpec(
        name="TripletMarginLoss",
        cls=nn.TripletMarginLoss,
        title_zh="三元组间隔损失",
        task="embedding",
        slots=(
            TensorSlot("anchor", "anchor a", "prediction", "float", "(D) or (N, D)", "input"),
            TensorSlot("positive", "positive p", "prediction", "float", "the anchor's shape", "positive"),
            TensorSlot("negative", "negative n", "prediction", "float", "the anchor's shape", "negative"),
        ),
        params=(
            ParamSpec("margin", "float", 1.0, "the negative must be this much farther than the positive",
                      low=0.0, low_open=True),
            ParamSpec("p", "float", 2.0, "the norm of the distance", low=0.0, low_open=True),
            ParamSpec("eps", "float", 1e-6, "added inside the distance for stability", low=0.0),
            ParamSpec("swap", "bool", False, "use the closer of d(a,n) and d(p,n) (distance swap)"),
        ),
        formula=r"\ell_n = \max(0,\ \lVert a_n - p_n \rVert_p - \lVert a_n - n_n \rVert_p + \Delta)",
        advice="Metric learning (face recognition): pull the anchor towards a positive of the same identity "
        "and push it from a negative until the gap exceeds the margin.",
        advice_zh="度量学习（如人脸识别）：把锚点拉向同类的正样本，推离负样本，直到距离差超过 margin。",
        check=_check_triplet,
        sample=lambda g: {"anchor": _rand(g, 3, 4), "positive": _rand(g, 3, 4), "negative": _rand(g, 3, 4)},
        per_element_means="one loss per triplet",
    )
)


# --------------------------------------------------------------------------- sequences


def _check_ctc(t: dict[str, Tensor], p: dict[str, Any]) -> tuple[dict[str, Tensor], list[str]]:
    loss = "CTCLoss"
    w: list[str] = []
    x = _as_float(t["log_probs"])
    y = t["targets"]
    il = t["input_lengths"]
    tl = t["target_lengths"]
    if x.dim() not in (2, 3):
        raise LossvizInputError(
            f"{loss}: log_probs must be (T, N, C) or (T, C) (time steps, batch, classes), not shape {_shape(x)}"
        )
    if any(v.is_floating_point() for v in (y, il, tl)):
        raise LossvizInputError(f"{loss}: targets, input_lengths and target_lengths must be whole numbers")
    T = x.shape[0]
    C = x.shape[-1]
    N = x.shape[1] if x.dim() == 3 else None
    blank = int(p.get("blank", 0))
    if not 0 <= blank < C:
        raise LossvizInputError(f"{loss}: blank is {blank} but there are {C} classes; use 0..{C - 1}")
    il = il.reshape(-1) if il.dim() == 0 else il
    tl = tl.reshape(-1) if tl.dim() == 0 else tl
    n = N if N is not None else 1
    if il.numel() != n or tl.numel() != n:
        raise LossvizInputError(
            f"{loss}: give one input length and one target length per sequence ({n}), "
            f"got {il.numel()} and {tl.numel()}"
        )
    if ((il < 1) | (il > T)).any():
        raise LossvizInputError(f"{loss}: input_lengths must be between 1 and T = {T} (log_probs' first dimension)")
    if (tl < 0).any():
        raise LossvizInputError(f"{loss}: target_lengths must be ≥ 0")
    if y.dim() == 2 and N is not None:
        if y.shape[0] != N:
            raise LossvizInputError(f"{loss}: targets has {y.shape[0]} rows but the batch has {N} sequences")
        if (tl > y.shape[1]).any():
            raise LossvizInputError(f"{loss}: a target length is longer than the targets' rows ({y.shape[1]})")
        used = torch.cat([y[i, : int(tl[i])] for i in range(N)]) if N else y.flatten()
    else:
        y = y.reshape(-1)
        if int(tl.sum()) != y.numel():
            raise LossvizInputError(
                f"{loss}: targets holds {y.numel()} labels but target_lengths add up to {int(tl.sum())}; "
                "they must match (concatenated targets) or give targets one padded row per sequence"
            )
        used = y
    if ((used < 0) | (used >= C)).any():
        raise LossvizInputError(f"{loss}: target labels must be class indices 0..{C - 1}")
    if (used == blank).any():
        raise LossvizInputError(f"{loss}: targets contain the blank index {blank}; the blank may not appear in targets")
    if x.dim() == 2:
        il = il.reshape(())
        tl = tl.reshape(())
        if y.dim() != 1:
            y = y.reshape(-1)
    if (x > 1e-6).any():
        w.append("log_probs should be log-probabilities (≤ 0): apply log_softmax over the classes first.")
    return {"log_probs": x, "targets": y, "input_lengths": il, "target_lengths": tl}, w


def _sample_ctc(g: torch.Generator) -> dict[str, Tensor]:
    return {
        "log_probs": torch.log_softmax(_rand(g, 6, 2, 4), dim=2),
        "targets": torch.randint(1, 4, (2, 3), generator=g),
        "input_lengths": torch.tensor([6, 5]),
        "target_lengths": torch.tensor([3, 2]),
    }


register_loss(
    LossSpec(
        name="CTCLoss",
        cls=nn.CTCLoss,
        title_zh="CTC 连接时序分类损失",
        task="sequence",
        slots=(
            TensorSlot("log_probs", "log-probabilities (T, N, C)", "prediction", "float", "(T, N, C) or (T, C) log_softmax outputs", "input"),
            TensorSlot("targets", "target labels", "target", "long", "(N, S) padded, or all targets concatenated", "target"),
            TensorSlot("input_lengths", "input lengths", "aux", "long", "(N): time steps used per sequence", "input-lengths"),
            TensorSlot("target_lengths", "target lengths", "aux", "long", "(N): labels per sequence", "target-lengths"),
        ),
        params=(
            ParamSpec("blank", "int", 0, "the index of the blank label", low=0),
            ParamSpec("zero_infinity", "bool", False, "replace infinite losses (impossible alignments) by zero"),
        ),
        formula=r"\ell_n = -\log \sum_{\pi \in \mathcal{B}^{-1}(y_n)} \prod_{t} p_{t, \pi_t}",
        advice="Speech and handwriting recognition: sums the probability of every alignment of the label "
        "sequence to the frames (blanks between). 'mean' divides each loss by its target length.",
        advice_zh="语音与手写识别用：对标签序列与各帧之间所有可能对齐（中间插入空白）的概率求和。'mean' 会先除以各目标长度。",
        check=_check_ctc,
        sample=_sample_ctc,
        transforms=("log_softmax",),
        per_element_means="one loss per sequence",
    )
)
