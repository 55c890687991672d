"""Step-by-step derivations that agree with torch to 1e-6.

Each derivation recomputes the loss by hand from the tensors the torch module
saw (``LossResult.inputs``), one named step at a time, with the formula of the
step in LaTeX and the intermediate tensor. Tests check every derivation's
result against the module's own output.

Each loss's derivation is its spec's ``derive`` (set in the family files); lossviz.explore.explain
calls it.

Example:
    >>> from lossviz.losses.evaluate import evaluate_text
    >>> r = evaluate_text("CrossEntropyLoss", {"input": "[[0.1, 0.2, 0.3]]", "target": "[1]"})
    >>> [s.title for s in derive_ce(r).steps][:3]
    ['softmax', 'log', 'pick the true class']
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from lossviz.i18n import N_, msg
from lossviz.losses.evaluate import LossResult

Tensor = torch.Tensor


@dataclass(frozen=True)
class Step:
    """One line of a derivation: what is done, its formula, the tensor it gives."""

    title: str
    latex: str
    value: Tensor
    note: str = ""


@dataclass(frozen=True)
class Derivation:
    loss: str
    steps: tuple[Step, ...]
    result: Tensor  # the hand-computed output for the chosen reduction

    @property
    def value(self) -> float:
        return float(self.result.sum()) if self.result.dim() else float(self.result)


# --------------------------------------------------------------------------- helpers


def _d(t: Tensor) -> Tensor:
    return t.detach().to(torch.float64)


def _transform_steps(r: LossResult) -> list[Step]:
    if r.transform == "none":
        return []
    first = r.spec.predictions[0].name
    title, latex = {
        "sigmoid": (N_("sigmoid"), r"p = \sigma(x) = \frac{1}{1 + e^{-x}}"),
        "softmax": (N_("softmax"), r"p_c = \frac{e^{x_c}}{\sum_k e^{x_k}}"),
        "log_softmax": (N_("log_softmax"), r"\log p_c = x_c - \log \sum_k e^{x_k}"),
        "log": (N_("log"), r"\log q_i"),
    }[r.transform]
    return [Step(title, latex, _d(r.inputs[first]), msg("applied to the typed {first} before the loss", first=first))]


def _reduce(per: Tensor, reduction: str, steps: list[Step], *, denom: Tensor | None = None,
            denom_text: str = "", batch: int | None = None) -> Tensor:
    if reduction == "none":
        return per
    if reduction == "sum":
        out = per.sum()
        steps.append(Step(N_("sum"), r"L = \sum_i \ell_i", out))
        return out
    if reduction == "batchmean":
        n = batch if batch is not None else 1
        out = per.sum() / n
        steps.append(Step(N_("batchmean"), rf"L = \frac{{1}}{{N}} \sum_i \ell_i,\quad N = {n}", out,
                          N_("sum, divided by the batch size")))
        return out
    # mean
    if denom is None:
        out = per.mean()
        steps.append(Step(N_("mean"), rf"L = \frac{{1}}{{{per.numel()}}} \sum_i \ell_i", out))
    else:
        out = per.sum() / denom
        steps.append(Step(N_("mean"), r"L = \frac{\sum_i \ell_i}{" + denom_text + "}", out,
                          msg("divided by {denom}", denom=format(float(denom), '.6g'))))
    return out


def _class_last(x: Tensor) -> tuple[Tensor, tuple[int, ...]]:
    """(C) -> (1, C); (N, C, d...) -> (N*d..., C). Returns the flat view and the 'none' shape."""
    if x.dim() == 1:
        return x.unsqueeze(0), ()
    moved = x.movedim(1, -1)
    return moved.reshape(-1, x.shape[1]), (x.shape[0], *x.shape[2:])


# --------------------------------------------------------------------------- classification


def derive_ce(r: LossResult) -> Derivation:
    x = _d(r.inputs["input"])
    y = r.inputs["target"]
    eps = float(r.params.get("label_smoothing") or 0.0)
    w = r.params.get("weight")
    ignore = int(r.params.get("ignore_index", -100))
    X, none_shape = _class_last(x)
    C = X.shape[1]
    W = torch.ones(C, dtype=torch.float64) if w is None else _d(w)
    steps = _transform_steps(r)
    P = torch.softmax(X, dim=1)
    steps.append(Step(N_("softmax"), r"p_{n,c} = \frac{e^{z_{n,c}}}{\sum_k e^{z_{n,k}}}", P.reshape(*none_shape, C)
                      if none_shape else P[0], N_("each row now sums to 1")))
    logP = torch.log_softmax(X, dim=1)
    steps.append(Step(N_("log"), r"\log p_{n,c}", logP.reshape(*none_shape, C) if none_shape else logP[0]))
    if y.is_floating_point():  # probabilities
        T = _d(y)
        T, _ = _class_last(T)
        if eps:
            T = T * (1 - eps) + eps / C
            steps.append(Step(N_("smooth the target"), rf"y' = (1-\varepsilon)\,y + \varepsilon/C,\ \varepsilon={eps:g}",
                              T.reshape(*none_shape, C) if none_shape else T[0]))
        per = -(T * logP * W).sum(dim=1)
        wtxt = r"w_c\," if w is not None else ""
        steps.append(Step(N_("multiply by the target and add up"), rf"\ell_n = -\sum_c {wtxt}y_{{n,c}} \log p_{{n,c}}",
                          per.reshape(none_shape)))
        out = _reduce(per.reshape(none_shape), r.reduction, steps, denom=torch.tensor(float(per.numel())),
                      denom_text=r"N" if per.numel() else "1")
        return Derivation(r.spec.name, tuple(steps), out)
    Y = y.reshape(-1)
    keep = Y != ignore
    safe = torch.where(keep, Y, torch.zeros_like(Y))
    picked = logP.gather(1, safe.unsqueeze(1)).squeeze(1)
    wy = W[safe] * keep
    nll = -picked * wy
    steps.append(Step(N_("pick the true class"), r"-\log p_{n,t_n}" + (r"\cdot w_{t_n}" if w is not None else ""),
                      nll.reshape(none_shape),
                      "" if keep.all() else msg("targets equal to ignore_index {ignore} give 0", ignore=ignore)))
    per = nll
    if eps:
        smooth = -(logP * W).sum(dim=1) * keep
        steps.append(Step(N_("uniform part (label smoothing)"), r"-\sum_c " + (r"w_c " if w is not None else "")
                          + r"\log p_{n,c}", smooth.reshape(none_shape)))
        per = (1 - eps) * nll + eps / C * smooth
        steps.append(Step(N_("mix"), rf"\ell_n = (1-\varepsilon)\,(-\log p_{{n,t_n}}) + \frac{{\varepsilon}}{{C}}\,"
                          rf"(-\sum_c \log p_{{n,c}}),\ \varepsilon = {eps:g},\ C = {C}", per.reshape(none_shape)))
    denom_text = r"\sum_n w_{t_n}" if w is not None else r"\#\{n : t_n \neq \texttt{ignore\_index}\}"
    out = _reduce(per.reshape(none_shape), r.reduction, steps, denom=wy.sum(), denom_text=denom_text)
    return Derivation(r.spec.name, tuple(steps), out)


def derive_nll(r: LossResult) -> Derivation:
    x = _d(r.inputs["input"])
    y = r.inputs["target"]
    w = r.params.get("weight")
    ignore = int(r.params.get("ignore_index", -100))
    X, none_shape = _class_last(x)
    C = X.shape[1]
    W = torch.ones(C, dtype=torch.float64) if w is None else _d(w)
    steps = _transform_steps(r)
    Y = y.reshape(-1)
    keep = Y != ignore
    safe = torch.where(keep, Y, torch.zeros_like(Y))
    picked = X.gather(1, safe.unsqueeze(1)).squeeze(1)
    steps.append(Step(N_("pick the true class"), r"x_{n,t_n}", (picked * keep).reshape(none_shape),
                      N_("the log-probability the model gave the right answer")))
    wy = W[safe] * keep
    per = -picked * wy
    steps.append(Step(N_("negate and weight") if w is not None else N_("negate"),
                      r"\ell_n = -" + (r"w_{t_n}\," if w is not None else "") + r"x_{n,t_n}", per.reshape(none_shape)))
    denom_text = r"\sum_n w_{t_n}" if w is not None else r"N"
    out = _reduce(per.reshape(none_shape), r.reduction, steps, denom=wy.sum(), denom_text=denom_text)
    return Derivation(r.spec.name, tuple(steps), out)


def _clamped_log(t: Tensor) -> Tensor:
    return torch.clamp(torch.log(t), min=-100.0)


def derive_bce(r: LossResult) -> Derivation:
    p = _d(r.inputs["input"])
    y = _d(r.inputs["target"])
    w = r.params.get("weight")
    steps = _transform_steps(r)
    lp = _clamped_log(p)
    l1p = _clamped_log(1 - p)
    steps.append(Step(N_("log p"), r"\max(\log p_i,\ -100)", lp))
    steps.append(Step(N_("log (1 − p)"), r"\max(\log (1 - p_i),\ -100)", l1p))
    per = -(y * lp + (1 - y) * l1p)
    if w is not None:
        per = per * _d(w)
    steps.append(Step(N_("combine"), r"\ell_i = -" + (r"w_i" if w is not None else "") +
                      r"[\,y_i \log p_i + (1-y_i)\log(1-p_i)\,]", per))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


def derive_bcel(r: LossResult) -> Derivation:
    z = _d(r.inputs["input"])
    y = _d(r.inputs["target"])
    w = r.params.get("weight")
    pw = r.params.get("pos_weight")
    steps = _transform_steps(r)
    p = torch.sigmoid(z)
    steps.append(Step(N_("sigmoid"), r"\sigma(z_i) = \frac{1}{1+e^{-z_i}}", p, N_("done inside the loss")))
    log_p = -torch.nn.functional.softplus(-z)
    log_1mp = -torch.nn.functional.softplus(z)
    steps.append(Step(N_("log σ(z), stably"), r"\log\sigma(z) = -\log(1 + e^{-z})", log_p))
    pos = y * log_p
    if pw is not None:
        pos = pos * _d(pw)
    per = -(pos + (1 - y) * log_1mp)
    if w is not None:
        per = per * _d(w)
    steps.append(Step(N_("combine"), r"\ell_i = -" + (r"w_i" if w is not None else "") + r"[\," +
                      (r"p_c\," if pw is not None else "") + r"y_i \log\sigma(z_i) + (1-y_i)\log(1-\sigma(z_i))\,]",
                      per))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


def derive_kl(r: LossResult) -> Derivation:
    x = _d(r.inputs["input"])
    t = _d(r.inputs["target"])
    steps = _transform_steps(r)
    if r.params.get("log_target"):
        steps.append(Step(N_("target probabilities"), r"p_i = e^{t_i}", torch.exp(t), N_("the target was given as log p")))
        per = torch.exp(t) * (t - x)
        steps.append(Step(N_("pointwise KL (log target)"), r"\ell_i = e^{t_i}\,(t_i - x_i)", per))
    else:
        logt = torch.where(t > 0, torch.log(torch.where(t > 0, t, torch.ones_like(t))), torch.zeros_like(t))
        steps.append(Step(N_("log of the target"), r"\log p_i \ (0 \log 0 = 0)", logt))
        per = torch.xlogy(t, t) - t * x
        steps.append(Step(N_("pointwise KL"), r"\ell_i = p_i\,(\log p_i - \log q_i)", per))
    batch = x.shape[0] if x.dim() else 1
    out = _reduce(per, r.reduction, steps, batch=batch)
    return Derivation(r.spec.name, tuple(steps), out)


def derive_hinge(r: LossResult) -> Derivation:
    x = _d(r.inputs["input"])
    y = _d(r.inputs["target"])
    m = float(r.params.get("margin", 1.0))
    steps = _transform_steps(r)
    margin_part = torch.where(y != 1, torch.clamp(m - x, min=0), torch.zeros_like(x))
    self_part = torch.where(y != -1, x, torch.zeros_like(x))
    steps.append(Step(N_("y = 1 term"), r"x_i \cdot [\,y_i \ne -1\,]", self_part))
    steps.append(Step(N_("y = −1 term"), rf"\max(0, \Delta - x_i) \cdot [\,y_i \ne 1\,],\ \Delta = {m:g}", margin_part))
    per = self_part + margin_part
    odd = bool(((y != 1) & (y != -1)).any())
    steps.append(Step(N_("add"), r"\ell_i", per, N_("labels other than ±1 get both terms") if odd else ""))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


def derive_soft_margin(r: LossResult) -> Derivation:
    x = _d(r.inputs["input"])
    y = _d(r.inputs["target"])
    steps = _transform_steps(r)
    yx = y * x
    steps.append(Step(N_("margin"), r"y_i x_i", yx, N_("positive when the sign is right")))
    per = torch.nn.functional.softplus(-yx)
    steps.append(Step(N_("logistic"), r"\ell_i = \log(1 + e^{-y_i x_i})", per))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


# --------------------------------------------------------------------------- regression


def _diff(r: LossResult, steps: list[Step]) -> Tensor:
    x = _d(r.inputs["input"])
    y = _d(r.inputs["target"])
    d = x - y
    steps.append(Step(N_("error"), r"d_i = \hat y_i - y_i", d))
    return d


def derive_mse(r: LossResult) -> Derivation:
    steps = _transform_steps(r)
    d = _diff(r, steps)
    per = d * d
    steps.append(Step(N_("square"), r"\ell_i = d_i^2", per))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


def derive_l1(r: LossResult) -> Derivation:
    steps = _transform_steps(r)
    d = _diff(r, steps)
    per = d.abs()
    steps.append(Step(N_("absolute value"), r"\ell_i = \lvert d_i \rvert", per))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


def derive_smooth_l1(r: LossResult) -> Derivation:
    beta = float(r.params.get("beta", 1.0))
    steps = _transform_steps(r)
    d = _diff(r, steps).abs()
    if beta == 0:
        per = d
        steps.append(Step(N_("β = 0: plain L1"), r"\ell_i = \lvert d_i \rvert", per))
    else:
        quad = d < beta
        steps.append(Step(N_("which part"), rf"\lvert d_i \rvert < \beta = {beta:g}", quad.to(torch.float64),
                          N_("1 = quadratic part, 0 = linear part")))
        per = torch.where(quad, 0.5 * d * d / beta, d - 0.5 * beta)
        steps.append(Step(N_("piecewise"), r"\ell_i = \begin{cases} 0.5\,d_i^2/\beta & \lvert d_i\rvert < \beta \\ \lvert d_i\rvert - 0.5\,\beta & \lvert d_i\rvert \ge \beta \end{cases}", per))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


def derive_huber(r: LossResult) -> Derivation:
    delta = float(r.params.get("delta", 1.0))
    steps = _transform_steps(r)
    d = _diff(r, steps).abs()
    quad = d <= delta
    steps.append(Step(N_("which part"), rf"\lvert d_i \rvert \le \delta = {delta:g}", quad.to(torch.float64),
                      N_("1 = quadratic part, 0 = linear part")))
    per = torch.where(quad, 0.5 * d * d, delta * (d - 0.5 * delta))
    steps.append(Step(N_("piecewise"), r"\ell_i = \begin{cases} 0.5\,d_i^2 & \lvert d_i\rvert \le \delta \\ \delta(\lvert d_i\rvert - 0.5\,\delta) & \lvert d_i\rvert > \delta \end{cases}", per))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


def derive_gauss(r: LossResult) -> Derivation:
    x = _d(r.inputs["input"])
    y = _d(r.inputs["target"])
    v = _d(r.inputs["var"])
    eps = float(r.params.get("eps", 1e-6))
    steps = _transform_steps(r)
    if v.shape != x.shape and x.dim() > 0 and v.shape == x.shape[:-1]:
        v = v.unsqueeze(-1)
    v = torch.clamp(v, min=eps)
    steps.append(Step(N_("clamp the variance"), rf"\sigma_i^2 \leftarrow \max(\sigma_i^2, {eps:g})", v.expand_as(x)))
    per = 0.5 * (torch.log(v) + (x - y) ** 2 / v)
    if r.params.get("full"):
        per = per + 0.5 * math.log(2 * math.pi)
    steps.append(Step(N_("negative log-likelihood"), r"\ell_i = \tfrac12\big(\log\sigma_i^2 + (\mu_i - y_i)^2/\sigma_i^2\big)"
                      + (r" + \tfrac12\log 2\pi" if r.params.get("full") else ""), per))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


def derive_poisson(r: LossResult) -> Derivation:
    x = _d(r.inputs["input"])
    k = _d(r.inputs["target"])
    eps = float(r.params.get("eps", 1e-8))
    steps = _transform_steps(r)
    if r.params.get("log_input", True):
        steps.append(Step(N_("rate"), r"\lambda_i = e^{x_i}", torch.exp(x)))
        per = torch.exp(x) - k * x
        steps.append(Step(N_("negative log-likelihood"), r"\ell_i = e^{x_i} - k_i x_i", per))
    else:
        per = x - k * torch.log(x + eps)
        steps.append(Step(N_("negative log-likelihood"), r"\ell_i = \lambda_i - k_i \log(\lambda_i + \epsilon)", per))
    if r.params.get("full"):
        safe = torch.where(k > 1, k, torch.ones_like(k))
        stirling = torch.where(k > 1, safe * torch.log(safe) - safe + 0.5 * torch.log(2 * math.pi * safe),
                               torch.zeros_like(k))
        per = per + stirling
        steps.append(Step(N_("Stirling term"), r"+\,k\log k - k + \tfrac12\log(2\pi k)\ \ (k > 1)", per))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


# --------------------------------------------------------------------------- ranking, margins


def derive_ranking(r: LossResult) -> Derivation:
    a = _d(r.inputs["input1"])
    b = _d(r.inputs["input2"])
    y = _d(r.inputs["target"])
    m = float(r.params.get("margin", 0.0))
    steps = _transform_steps(r)
    gap = -y * (a - b) + m
    steps.append(Step(N_("signed gap"), rf"-y_i\,(x_{{1,i}} - x_{{2,i}}) + \Delta,\ \Delta = {m:g}", gap))
    per = torch.clamp(gap, min=0)
    steps.append(Step(N_("hinge"), r"\ell_i = \max(0, \cdot)", per))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


def derive_multi_margin(r: LossResult) -> Derivation:
    x = _d(r.inputs["input"])
    y = r.inputs["target"]
    pnorm = int(r.params.get("p", 1))
    m = float(r.params.get("margin", 1.0))
    w = r.params.get("weight")
    X = x.unsqueeze(0) if x.dim() == 1 else x
    Y = y.reshape(-1)
    C = X.shape[1]
    steps = _transform_steps(r)
    true = X.gather(1, Y.unsqueeze(1))
    h = torch.clamp(m - true + X, min=0) ** pnorm
    h = h.scatter(1, Y.unsqueeze(1), 0.0)
    if w is not None:
        h = h * _d(w)[Y].unsqueeze(1)
    steps.append(Step(N_("hinge per wrong class"), rf"\max(0, \Delta - z_{{n,t_n}} + z_{{n,c}})^{{{pnorm}}},\ c \ne t_n", h))
    per = h.sum(dim=1) / C
    per = per.reshape(()) if x.dim() == 1 else per
    steps.append(Step(N_("sum and divide by C"), rf"\ell_n = \frac{{1}}{{{C}}}\sum_{{c\ne t_n}} \cdots", per))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


def derive_cosine(r: LossResult) -> Derivation:
    u = _d(r.inputs["input1"])
    v = _d(r.inputs["input2"])
    y = _d(r.inputs["target"])
    m = float(r.params.get("margin", 0.0))
    steps = _transform_steps(r)
    e = 1e-12
    cos = (u * v).sum(-1) / torch.sqrt(((u * u).sum(-1) + e) * ((v * v).sum(-1) + e))
    steps.append(Step(N_("cosine similarity"), r"\cos(u_n, v_n) = \frac{u_n \cdot v_n}{\lVert u_n\rVert\,\lVert v_n\rVert}", cos))
    per = torch.where(y == 1, 1 - cos, torch.zeros_like(cos)) + torch.where(
        y == -1, torch.clamp(cos - m, min=0), torch.zeros_like(cos))
    steps.append(Step(N_("by label"), rf"1-\cos \ (y=1);\quad \max(0, \cos - \Delta)\ (y=-1),\ \Delta={m:g}", per))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


# --------------------------------------------------------------------------- detection (torchvision.ops)


def derive_focal(r: LossResult) -> Derivation:
    z = _d(r.inputs["inputs"])
    y = _d(r.inputs["targets"])
    alpha = float(r.params.get("alpha", 0.25))
    gamma = float(r.params.get("gamma", 2.0))
    steps: list[Step] = []
    p = torch.sigmoid(z)
    steps.append(Step(N_("sigmoid"), r"p_i = \sigma(z_i)", p))
    ce = torch.nn.functional.softplus(z) - y * z  # BCE with logits, stably: log(1 + e^z) - y z
    steps.append(Step(N_("binary cross-entropy"), r"\mathrm{CE}_i = -[\,y_i \log p_i + (1-y_i)\log(1-p_i)\,]", ce))
    p_t = p * y + (1 - p) * (1 - y)
    steps.append(Step(N_("probability of the true label"), r"p_{t,i} = p_i y_i + (1-p_i)(1-y_i)", p_t))
    per = ce * (1 - p_t) ** gamma
    steps.append(Step(N_("focus on the hard examples"), rf"\mathrm{{CE}}_i\,(1-p_{{t,i}})^{{\gamma}},\ \gamma = {gamma:g}",
                      per, N_("easy examples (p_t near 1) are scaled down the most")))
    if alpha >= 0:
        alpha_t = alpha * y + (1 - alpha) * (1 - y)
        per = alpha_t * per
        steps.append(Step(N_("weigh the classes"), rf"\ell_i = \alpha_t\,\mathrm{{CE}}_i\,(1-p_{{t,i}})^{{\gamma}},\ "
                          rf"\alpha_t = \alpha y_i + (1-\alpha)(1-y_i),\ \alpha = {alpha:g}", per))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


def _box_parts(r: LossResult, steps: list[Step], eps: float) -> tuple[Tensor, Tensor, tuple[Tensor, ...]]:
    """Intersection, union and IoU of boxes1 and boxes2 (x1, y1, x2, y2), as torchvision computes them."""
    b1 = _d(r.inputs["boxes1"])
    b2 = _d(r.inputs["boxes2"])
    x1, y1, x2, y2 = b1.unbind(-1)
    x1g, y1g, x2g, y2g = b2.unbind(-1)
    w = (torch.minimum(x2, x2g) - torch.maximum(x1, x1g))
    h = (torch.minimum(y2, y2g) - torch.maximum(y1, y1g))
    inter = torch.where((w > 0) & (h > 0), w * h, torch.zeros_like(w))
    steps.append(Step(N_("intersection"), r"\lvert A \cap B\rvert = (\min x_2 - \max x_1)^+\,(\min y_2 - \max y_1)^+",
                      inter))
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter
    steps.append(Step(N_("union"), r"\lvert A \cup B\rvert = \lvert A\rvert + \lvert B\rvert - \lvert A \cap B\rvert", union))
    iou = inter / (union + eps)
    steps.append(Step(N_("IoU"), r"\mathrm{IoU} = \frac{\lvert A \cap B\rvert}{\lvert A \cup B\rvert + \epsilon}", iou,
                      N_("0 whenever the boxes do not overlap, wherever they are")))
    return iou, union, (x1, y1, x2, y2, x1g, y1g, x2g, y2g)


def derive_giou(r: LossResult) -> Derivation:
    eps = float(r.params.get("eps", 1e-7))
    steps: list[Step] = []
    iou, union, (x1, y1, x2, y2, x1g, y1g, x2g, y2g) = _box_parts(r, steps, eps)
    area_c = (torch.maximum(x2, x2g) - torch.minimum(x1, x1g)) * (torch.maximum(y2, y2g) - torch.minimum(y1, y1g))
    steps.append(Step(N_("smallest enclosing box"), r"\lvert C\rvert = (\max x_2 - \min x_1)(\max y_2 - \min y_1)", area_c))
    per = 1 - iou + (area_c - union) / (area_c + eps)
    steps.append(Step(N_("GIoU loss"), r"\ell = 1 - \mathrm{IoU} + \frac{\lvert C\rvert - \lvert A \cup B\rvert}"
                      r"{\lvert C\rvert + \epsilon}", per, N_("the empty share of C still has a gradient")))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


def _diou(r: LossResult, steps: list[Step], eps: float) -> tuple[Tensor, Tensor, tuple[Tensor, ...]]:
    iou, _, c = _box_parts(r, steps, eps)
    x1, y1, x2, y2, x1g, y1g, x2g, y2g = c
    diag = (torch.maximum(x2, x2g) - torch.minimum(x1, x1g)) ** 2 + (torch.maximum(y2, y2g) - torch.minimum(y1, y1g)) ** 2
    steps.append(Step(N_("enclosing box's diagonal²"), r"c^2 = (\max x_2 - \min x_1)^2 + (\max y_2 - \min y_1)^2", diag))
    rho = ((x1 + x2) / 2 - (x1g + x2g) / 2) ** 2 + ((y1 + y2) / 2 - (y1g + y2g) / 2) ** 2
    steps.append(Step(N_("centre distance²"), r"\rho^2 = \bigl(\tfrac{x_1 + x_2}{2} - \tfrac{x^{gt}_1 + x^{gt}_2}{2}\bigr)^2 + \bigl(\tfrac{y_1 + y_2}{2} - \tfrac{y^{gt}_1 + y^{gt}_2}{2}\bigr)^2", rho))
    per = 1 - iou + rho / (diag + eps)
    steps.append(Step(N_("DIoU loss"), r"\ell = 1 - \mathrm{IoU} + \frac{\rho^2}{c^2 + \epsilon}", per))
    return per, iou, c


def derive_diou(r: LossResult) -> Derivation:
    steps: list[Step] = []
    per, _, _ = _diou(r, steps, float(r.params.get("eps", 1e-7)))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)


def derive_ciou(r: LossResult) -> Derivation:
    eps = float(r.params.get("eps", 1e-7))
    steps: list[Step] = []
    # torchvision computes the DIoU part with its default eps (1e-7); eps enters only alpha
    diou, iou, (x1, y1, x2, y2, x1g, y1g, x2g, y2g) = _diou(r, steps, 1e-7)
    v = (4 / math.pi**2) * (torch.atan((x2g - x1g) / (y2g - y1g)) - torch.atan((x2 - x1) / (y2 - y1))) ** 2
    steps.append(Step(N_("aspect-ratio difference"), r"v = \tfrac{4}{\pi^2}\big(\arctan\tfrac{w^{gt}}{h^{gt}} - "
                      r"\arctan\tfrac{w}{h}\big)^2", v))
    alpha = v / (1 - iou + v + eps)
    steps.append(Step(N_("its weight"), r"\alpha = \frac{v}{1 - \mathrm{IoU} + v + \epsilon}", alpha,
                      N_("treated as a constant by the gradient (torch.no_grad)")))
    per = diou + alpha * v
    steps.append(Step(N_("CIoU loss"), r"\ell = \ell_{\mathrm{DIoU}} + \alpha v", per))
    out = _reduce(per, r.reduction, steps)
    return Derivation(r.spec.name, tuple(steps), out)
