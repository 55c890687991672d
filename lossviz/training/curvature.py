"""Curvature of the training loss: Hessian-vector products, the top eigenvalue λ_max ("sharpness") by
Lanczos warm-started from the last eigenvector, power iteration, Hutchinson's trace, and the stability
threshold of the optimizer.

The Hessian of the CNN has ~145,000² entries, so it is never formed: :class:`HessianOperator` gives
Hessian-vector products by double backward on a fixed batch. The gradient's graph is built once per
set of weights and every product reuses it (``retain_graph``), so a product costs one extra backward
instead of a forward and two backwards. :func:`lanczos_top` runs Lanczos (with full
re-orthogonalisation, so the few vectors stay orthogonal in float32) started from the previous
estimate's eigenvector: along a run the top direction turns slowly, and a warm start needs a few
products where a cold one needs twenty.

:func:`stability_threshold` is the line to draw: gradient descent with step η on a quadratic with
curvature λ is stable only while λ < 2/η (with heavy-ball momentum β: λ < (2 + 2β)/η). Cohen et al.
(ICLR 2021) found that with full-batch gradient descent λ_max rises until it reaches 2/η and then
hovers there ("edge of stability") while the loss keeps falling, not monotonically.

The trainer measures it every ``sharpness_every`` steps (a batch-record field ``sharpness``); the
probe ``python -m lossviz sharpness`` (:mod:`lossviz.weightspace.sharpness`) does it for any run
from its weight snapshots.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg
from lossviz.training.metrics import MetricSpec, register_metric

SHARPNESS_FILE = "sharpness.json"
DEFAULT_IMAGES = 512
#: The training page's "edge of stability" preset: full-batch gradient descent with plain SGD on the
#: first 256 handwritten digits, λ_max measured in the run every few steps (checked on this CPU: see README).
EDGE_OF_STABILITY = {"train_subset": 256, "lr": 0.2, "relu": True, "epochs": 400, "sharpness_every": 20}
DEFAULT_ITERS = 20
WARM_ITERS = 8
MAX_IMAGES = 4096

ADAM_NOTE = N_(
    "Adam divides each weight's step by its own running gradient size, so the step is not one number η "
    "times the gradient and no single curvature line such as 2/η marks where it becomes unstable; "
    "the curve shows how sharp the loss is, without a threshold."
)


def stability_threshold(optimizer: str, lr: float, momentum: float = 0.0) -> float | None:
    """2/η for SGD, (2 + 2β)/η with momentum β; None for Adam (see :data:`ADAM_NOTE`).

    Example:
        >>> stability_threshold("sgd", 0.1), stability_threshold("sgd", 0.1, 0.9), stability_threshold("adam", 1e-3)
        (20.0, 38.0, None)
    """
    if str(optimizer).lower() != "sgd" or not lr or lr <= 0:
        return None
    return (2.0 + 2.0 * float(momentum)) / float(lr)


class HessianOperator:
    """``v ↦ H v`` for the loss of ``model`` on ``(x, y)`` at the model's current weights.

    The products come from one graph of the gradient (built by :meth:`reset`, or lazily); call
    :meth:`reset` after the weights change.
    """

    def __init__(self, model: nn.Module, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
                 x: torch.Tensor, y: torch.Tensor) -> None:  # fmt: skip
        self.model, self.loss_fn, self.x, self.y = model, loss_fn, x, y
        self.params = [p for p in model.parameters() if p.requires_grad]
        self.n = sum(p.numel() for p in self.params)
        self.products = 0
        self._grads: tuple[torch.Tensor, ...] | None = None
        self.loss: float | None = None

    def reset(self) -> None:
        self._grads = None

    def _graph(self) -> tuple[torch.Tensor, ...]:
        if self._grads is None:
            loss = self.loss_fn(self.model(self.x), self.y)
            self.loss = float(loss.detach())
            self._grads = torch.autograd.grad(loss, self.params, create_graph=True)
        return self._grads

    def gradient(self) -> torch.Tensor:
        return torch.cat([g.detach().reshape(-1) for g in self._graph()])

    def __call__(self, v: torch.Tensor) -> torch.Tensor:
        grads = self._graph()
        parts, k = [], 0
        for p in self.params:
            parts.append(v[k : k + p.numel()].view_as(p))
            k += p.numel()
        dot = sum((g * u).sum() for g, u in zip(grads, parts, strict=True))
        hv = torch.autograd.grad(dot, self.params, retain_graph=True)
        self.products += 1
        return torch.cat([h.reshape(-1) for h in hv]).detach()


@dataclass
class Estimate:
    """λ_max, its unit eigenvector, how many Hessian-vector products it took and the residual ‖Hv − λv‖/|λ|."""

    value: float
    vector: torch.Tensor
    products: int
    residual: float
    ritz: list[float] = field(default_factory=list)


def lanczos_top(hvp: Callable[[torch.Tensor], torch.Tensor], n: int, iters: int = DEFAULT_ITERS,
                start: torch.Tensor | None = None, seed: int = 0, tol: float = 1e-4) -> Estimate:  # fmt: skip
    """The largest (algebraic) eigenvalue of the symmetric operator ``hvp`` by Lanczos.

    ``start`` (e.g. the previous eigenvector) warm-starts it; iteration stops early when the top Ritz
    value's residual falls below ``tol`` relative. Computation in float64 for the small problem,
    products in the model's precision.
    """
    iters = max(1, min(int(iters), n))
    if start is None or start.numel() != n or not torch.isfinite(start).all() or float(start.norm()) == 0:
        g = torch.Generator().manual_seed(seed)
        start = torch.randn(n, generator=g)
    q = (start / start.norm()).to(torch.float32)
    Q: list[torch.Tensor] = [q]
    alphas: list[float] = []
    betas: list[float] = []
    best = Estimate(float("nan"), q, 0, float("inf"))
    for j in range(iters):
        w = hvp(Q[j]).to(torch.float32)
        alpha = float(torch.dot(w, Q[j]))
        if not math.isfinite(alpha) or not torch.isfinite(w).all():
            return Estimate(float("nan"), q, j + 1, float("inf"))  # the weights blew up: no curvature to report
        alphas.append(alpha)
        # full re-orthogonalisation (twice is enough): the basis is a handful of vectors
        basis = torch.stack(Q)
        for _ in range(2):
            w = w - basis.T @ (basis @ w)
        beta = float(w.norm())
        T = torch.diag(torch.tensor(alphas, dtype=torch.float64))
        if betas:
            off = torch.tensor(betas, dtype=torch.float64)
            T += torch.diag(off, 1) + torch.diag(off, -1)
        evals, evecs = torch.linalg.eigh(T)
        theta = float(evals[-1])
        s = evecs[:, -1]
        vec = (basis.T.to(torch.float64) @ s).to(torch.float32)
        residual = abs(beta * float(s[-1])) / max(abs(theta), 1e-30)
        best = Estimate(theta, vec / vec.norm(), j + 1, residual, evals.tolist())
        if residual < tol or beta < 1e-10 * max(1.0, abs(theta)) or j + 1 == iters:
            break
        betas.append(beta)
        Q.append(w / beta)
    return best


def power_iteration(hvp: Callable[[torch.Tensor], torch.Tensor], n: int, iters: int = 100,
                    start: torch.Tensor | None = None, seed: int = 0, tol: float = 1e-6) -> Estimate:  # fmt: skip
    """The eigenvalue of largest magnitude by power iteration (PyHessian's method; slower than Lanczos)."""
    v = start if start is not None and start.numel() == n else torch.randn(n, generator=torch.Generator().manual_seed(seed))
    v = v / v.norm()
    lam = 0.0
    for k in range(iters):
        hv = hvp(v).to(v.dtype)
        new = float(torch.dot(hv, v))
        norm = float(hv.norm())
        if norm == 0:
            return Estimate(0.0, v, k + 1, 0.0)
        v = hv / norm
        if k and abs(new - lam) <= tol * max(abs(new), 1e-30):
            lam = new
            break
        lam = new
    residual = float((hvp(v).to(v.dtype) - lam * v).norm()) / max(abs(lam), 1e-30)
    return Estimate(lam, v, k + 2, residual)


def hutchinson_trace(hvp: Callable[[torch.Tensor], torch.Tensor], n: int, samples: int = 10, seed: int = 0) -> float:
    """Hutchinson's estimate of tr H: the mean of vᵀHv over Rademacher vectors v."""
    g = torch.Generator().manual_seed(seed)
    total = 0.0
    for _ in range(samples):
        v = torch.randint(0, 2, (n,), generator=g).to(torch.float32) * 2 - 1
        total += float(torch.dot(hvp(v), v))
    return total / max(1, samples)


def check_images(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not 8 <= n <= MAX_IMAGES:
        raise LossvizInputError(msg("images={n!r} is out of range: give a whole number from 8 to {hi}", n=n, hi=MAX_IMAGES))
    return n


def fixed_batch(config: Mapping[str, Any], n_images: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``n_images`` of the run's own training images (its subset for a full-batch run): a
    batch that never changes, so the curve follows the weights, not the sampling."""
    from lossviz.training.data import dataset_from_config

    bundle = dataset_from_config(dict(config))
    train = bundle.train
    subset = config.get("train_subset")
    limit = min(len(train), int(subset) if subset else len(train), n_images)
    idx = torch.arange(limit)
    return train.batch(idx)


@dataclass
class SharpnessTracker:
    """λ_max at successive weights of one run, each warm-started from the last eigenvector."""

    model: nn.Module
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    x: torch.Tensor
    y: torch.Tensor
    iters: int = DEFAULT_ITERS
    warm_iters: int = WARM_ITERS
    trace_samples: int = 0
    _vector: torch.Tensor | None = None

    def measure(self, weights: Mapping[str, torch.Tensor] | None = None) -> dict[str, Any]:
        if weights is not None:
            self.model.load_state_dict(dict(weights))
        op = HessianOperator(self.model, self.loss_fn, self.x, self.y)
        t0 = time.perf_counter()
        warm = self._vector is not None
        est = lanczos_top(op, op.n, self.warm_iters if warm else self.iters, start=self._vector)
        self._vector = est.vector
        point: dict[str, Any] = {
            "lambda_max": est.value,
            "hvps": op.products,
            "residual": est.residual,
            "loss": op.loss,
            "warm": warm,
        }
        if self.trace_samples:
            point["trace"] = hutchinson_trace(op, op.n, self.trace_samples)
        point["seconds"] = time.perf_counter() - t0
        return point


def threshold_text(payload: Mapping[str, Any]) -> Message:
    """The sentence under the chart: what the dashed line is, or why Adam has none."""
    thr = payload.get("threshold")
    if thr is None:
        return Message(ADAM_NOTE, {})
    if payload.get("momentum"):
        return msg(
            "Dashed line: (2 + 2β)/η = {value} for SGD with momentum β = {beta} and η = {lr}. Above it, gradient "
            "descent on a bowl this curved overshoots and grows instead of settling.",
            value=f"{thr:.4g}", beta=f"{payload['momentum']:g}", lr=f"{payload['lr']:g}",
        )  # fmt: skip
    return msg(
        "Dashed line: 2/η = {value} for plain SGD with η = {lr}. Above it, gradient descent on a bowl this curved "
        "overshoots and grows instead of settling.",
        value=f"{thr:.4g}", lr=f"{payload['lr']:g}",
    )  # fmt: skip


def dense_top_eigenvalue(model: nn.Module, loss_fn: Callable[..., torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> float:
    """λ_max of the dense Hessian (``torch.autograd.functional.hessian``): tests, on small models only."""
    names = [n for n, _ in model.named_parameters()]
    shapes = [p.shape for p in model.parameters()]
    flat0 = torch.cat([p.detach().reshape(-1) for p in model.parameters()])

    def f(flat: torch.Tensor) -> torch.Tensor:
        params, k = {}, 0
        for name, shape in zip(names, shapes, strict=True):
            m = math.prod(shape)
            params[name] = flat[k : k + m].view(shape)
            k += m
        return loss_fn(torch.func.functional_call(model, params, (x,)), y)

    H = torch.autograd.functional.hessian(f, flat0)
    H = 0.5 * (H + H.T)
    return float(torch.linalg.eigvalsh(H.double())[-1])




def in_run_tracker(model: nn.Module, loss_fn: Callable[..., torch.Tensor], train: Any, n_images: int) -> SharpnessTracker:
    """The trainer's tracker: on the first ``n_images`` of its own training split, already in memory."""
    idx = torch.arange(min(len(train), int(n_images)), device=train.images.device)
    x, y = train.batch(idx)
    return SharpnessTracker(model, loss_fn, x, y)


def record_fields(tracker: SharpnessTracker, step: int) -> dict[str, Any]:
    """``{"sharpness": λ_max, "sharpness_hvps": n, "sharpness_s": seconds}`` for a batch record."""
    point = tracker.measure()
    return {"sharpness": point["lambda_max"], "sharpness_hvps": point["hvps"], "sharpness_s": point["seconds"]}


def read_probe(probe_dir: Any) -> dict[str, Any] | None:
    """What a sharpness probe wrote so far into ``probe_dir/sharpness.json`` (None before its first point)."""
    from pathlib import Path

    from lossviz.training.runs import read_json

    data = read_json(Path(probe_dir) / SHARPNESS_FILE)
    return data if isinstance(data, dict) and isinstance(data.get("points"), list) else None


#: λ_max measured inside the run (``--sharpness-every K``): a record field on every K-th batch, through the
#: registry so the CSV and TensorBoard carry it; the training page draws it on its sharpness tab.
register_metric(MetricSpec(
    "sharpness", N_("sharpness λ_max"), tb_tag="train/sharpness", csv="sharpness", lo=-1e12, hi=1e12,
    decimate="stride", doc=N_("the top eigenvalue of the training loss's Hessian on a fixed batch"),
))  # fmt: skip
