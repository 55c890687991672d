"""The slice engine: the loss over ``centre + a·x + b·y`` on a grid of ``(a, b)``, and along a line.

The loss is evaluated on a fixed set of test images, coarse to fine (a 9×9 picture first, see
:func:`~lossviz.weightspace.directions.point_order`), with progress, time left and cancellation checked
per chunk of points; the 1-D line from the initial weights to the current ones follows Goodfellow et
al. (2015), α ∈ [-0.5, 1.5]. Under ``torchrun`` the grid points are split across ranks
(``rank::world_size``) and summed with one all-reduce. This module never starts a thread or a process:
:mod:`lossviz.weightspace.probe` is the process that runs it.

Example:
    >>> ev = Evaluator(build_model(), make_loss(cfg), x, y)  # doctest: +SKIP
    >>> dx, dy = random_directions(centre, seed=0)  # doctest: +SKIP
    >>> res = compute_slice(ev, centre, dx, dy, grid_axis(21, 1.0), grid_axis(21, 1.0))  # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from lossviz.errors import LossvizInputError
from lossviz.i18n import msg
from lossviz.weightspace.directions import (
    DEFAULT_CHUNK,
    LINE_ALPHAS,
    LINE_POINTS,
    METHODS,
    Params,
    point_order,
)

# ----------------------------------------------------------------------------- evaluation


class Evaluator:
    """The loss and accuracy of ``model`` with given weights on fixed images ``(x, y)``.

    ``evaluate(params_list)`` runs one forward pass per weight set (``method="loop"``) or several
    at once with ``torch.func.vmap`` over ``functional_call`` (``method="vmap"``); on the tutorial
    CNN on CPU the loop measured faster (bench/bench_weight_landscape.py), so it is the default.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
        x: torch.Tensor,
        y: torch.Tensor,
        *,
        method: str = "loop",
    ) -> None:
        if method not in METHODS:
            raise LossvizInputError(
                msg("method {method} is unknown: choose loop or vmap", method=repr(method))
            )
        self.model = model.eval()
        self.loss_fn = loss_fn
        # On CPU, convolutions over channels-last images take oneDNN's fast path: the tutorial CNN's
        # forward on 128 images drops from about 24 ms to 7 ms (bench/bench_weight_landscape.py). The
        # values are the same up to float rounding.
        if x.dim() == 4 and x.device.type == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        self.x = x
        self.y = y
        self.method = method
        self.forwards = 0  # weight sets evaluated so far (tests count them)
        self._vmapped: Callable[..., torch.Tensor] | None = None

    @property
    def device(self) -> torch.device:
        return self.x.device

    @torch.no_grad()
    def evaluate(self, params_list: Sequence[Mapping[str, torch.Tensor]]) -> tuple[list[float], list[float]]:
        """``(losses, accuracies)`` for each weight set, copied to the host once."""
        if not params_list:
            return [], []
        if self.method == "vmap" and len(params_list) > 1:
            stacked = {k: torch.stack([p[k] for p in params_list]) for k in params_list[0]}
            if self._vmapped is None:
                self._vmapped = torch.func.vmap(
                    lambda p, x: functional_call(self.model, p, (x,)), in_dims=(0, None)
                )
            all_scores = self._vmapped(stacked, self.x)
            scores_list = list(all_scores.unbind(0))
        else:
            scores_list = [functional_call(self.model, dict(p), (self.x,)) for p in params_list]
        self.forwards += len(params_list)
        return self.reduce(scores_list)

    def reduce(self, scores_list: Sequence[torch.Tensor]) -> tuple[list[float], list[float]]:
        """The loss and accuracy of each set of scores, copied to the host in one transfer."""
        losses = torch.stack([self.loss_fn(s, self.y).reshape(()).float() for s in scores_list])
        accs = torch.stack([(s.argmax(dim=1) == self.y).float().mean() for s in scores_list])
        host = torch.cat([losses, accs]).tolist()
        k = len(scores_list)
        return host[:k], host[k:]


class PlaneEvaluator:
    """Evaluates points ``centre + a·dx + b·dy`` of one plane with ``evaluator``.

    When the model is an ``nn.Sequential`` starting with a convolution or a linear layer (the
    tutorial CNN), that first layer is linear in its weights and bias together, so its output at
    any point is ``f(x; centre) + a·f(x; dx) + b·f(x; dy)``: the three are computed once per plane
    and each point runs only the rest of the network (exact up to float rounding; about a fifth of
    the tutorial CNN's multiply-adds are in its first convolution).
    """

    def __init__(
        self,
        evaluator: Evaluator,
        centre: Mapping[str, torch.Tensor],
        dx: Mapping[str, torch.Tensor],
        dy: Mapping[str, torch.Tensor],
    ) -> None:
        self.ev = evaluator
        self.centre, self.dx, self.dy = centre, dx, dy
        m = evaluator.model
        self.split = (
            evaluator.method == "loop"
            and isinstance(m, nn.Sequential)
            and len(m) > 1
            and isinstance(m[0], nn.Conv2d | nn.Linear)
        )
        if not self.split:
            return
        first_name = next(iter(m._modules))
        first = m[0]
        self.first_keys = {f"{first_name}.{k}" for k, _ in first.named_parameters()}
        self.rest = m[1:]  # keeps the original module names, so parameter names match
        with torch.no_grad():

            def out(p: Mapping[str, torch.Tensor]) -> torch.Tensor:
                return functional_call(
                    first, {k.split(".", 1)[1]: p[k] for k in self.first_keys}, (evaluator.x,)
                )

            self.h_c, self.h_x, self.h_y = out(centre), out(dx), out(dy)

    @torch.no_grad()
    def evaluate(self, coords: Sequence[tuple[float, float]]) -> tuple[list[float], list[float]]:
        """``(losses, accuracies)`` at each ``(a, b)``."""
        if not self.split:
            return self.ev.evaluate([combine(self.centre, self.dx, self.dy, a, b) for a, b in coords])
        ev = self.ev
        scores_list = []
        # one buffer for the first layer's output, reused point after point: a fresh 16 MB tensor per
        # point (128 images) costs the allocator's page faults, more than the convolution it saves
        h = torch.empty_like(self.h_c)
        for a, b in coords:
            torch.add(self.h_c, self.h_x, alpha=a, out=h).add_(self.h_y, alpha=b)
            params = {
                k: self.centre[k] + a * self.dx[k] + b * self.dy[k]
                for k in self.centre
                if k not in self.first_keys
            }
            scores_list.append(functional_call(self.rest, params, (h,)))
        ev.forwards += len(coords)
        return ev.reduce(scores_list)


def combine(
    centre: Mapping[str, torch.Tensor],
    dx: Mapping[str, torch.Tensor],
    dy: Mapping[str, torch.Tensor],
    a: float,
    b: float,
) -> Params:
    """The weights ``centre + a·dx + b·dy``."""
    return {k: centre[k] + a * dx[k] + b * dy[k] for k in centre}


# ----------------------------------------------------------------------------- the 2-D slice


@dataclass
class SliceResult:
    """A (possibly partial) slice: ``loss[i][j]`` is at ``alphas[j]`` along x and ``betas[i]`` along y.

    Points not computed yet are NaN (``done`` False). ``level`` is the finest refinement level whose
    sub-grid is complete (-1 before the first); :meth:`picture` returns that sub-grid.
    """

    alphas: np.ndarray
    betas: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    done: np.ndarray
    levels: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)
    level: int = -1
    seconds: float = 0.0
    cancelled: bool = False

    @property
    def complete(self) -> bool:
        return bool(self.done.all())

    @property
    def points_done(self) -> int:
        return int(self.done.sum())

    def picture(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
        """``(alphas, betas, loss, accuracy)`` of the finest complete level, or None before the first."""
        if self.level < 0:
            return None
        ia, ib = self.levels[self.level]
        return self.alphas[ia], self.betas[ib], self.loss[np.ix_(ib, ia)], self.accuracy[np.ix_(ib, ia)]


@dataclass(frozen=True)
class Progress:
    """What a progress callback receives after each chunk."""

    done: int
    total: int
    elapsed: float
    eta_s: float | None
    stage: str  # "slice" or "line"
    result: Any = None

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


ProgressFn = Callable[[Progress], None]
CancelFn = Callable[[], bool]


def _cancelled(cancel: CancelFn | None) -> bool:
    return cancel is not None and bool(cancel())


def compute_slice(
    evaluator: Evaluator,
    centre: Mapping[str, torch.Tensor],
    dx: Mapping[str, torch.Tensor],
    dy: Mapping[str, torch.Tensor],
    alphas: Sequence[float] | np.ndarray,
    betas: Sequence[float] | np.ndarray,
    *,
    chunk: int = DEFAULT_CHUNK,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    rank: int = 0,
    world_size: int = 1,
    offset_points: int = 0,
    total_points: int | None = None,
) -> SliceResult:
    """The loss over ``centre + a·dx + b·dy`` for ``a`` in ``alphas`` and ``b`` in ``betas``.

    Points go coarse to fine (:func:`point_order`) in chunks of ``chunk``; before each chunk
    ``cancel`` is checked and after each ``progress`` is called with the time left at the speed so
    far. With ``world_size > 1`` this rank computes every ``world_size``-th point of each level and,
    when ``torch.distributed`` is initialised, the grid is summed across ranks at the end (so
    every rank returns the full slice). ``offset_points``/``total_points`` let a caller fold this
    slice into a larger progress count.
    """
    alphas = np.asarray(alphas, dtype=np.float64)
    betas = np.asarray(betas, dtype=np.float64)
    dev = evaluator.device
    centre = {k: v.to(dev) for k, v in centre.items()}
    dx = {k: v.to(dev) for k, v in dx.items()}
    dy = {k: v.to(dev) for k, v in dy.items()}
    shape = (len(betas), len(alphas))
    res = SliceResult(
        alphas, betas, np.full(shape, np.nan), np.full(shape, np.nan), np.zeros(shape, dtype=bool)
    )
    order = point_order(len(alphas), len(betas))
    res.levels = [sub for _, sub in order]
    mine = [[p for k, p in enumerate(pts) if k % world_size == rank] for pts, _ in order]
    todo = sum(len(m) for m in mine)
    total = total_points if total_points is not None else todo
    t0 = time.perf_counter()
    plane = PlaneEvaluator(evaluator, centre, dx, dy) if todo else None
    done = 0
    chunk = max(1, int(chunk))
    for lvl, pts in enumerate(mine):
        for start in range(0, len(pts), chunk):
            if _cancelled(cancel):
                res.cancelled = True
                res.seconds = time.perf_counter() - t0
                return res
            part = pts[start : start + chunk]
            losses, accs = plane.evaluate([(float(alphas[j]), float(betas[i])) for i, j in part])
            for (i, j), lo, ac in zip(part, losses, accs, strict=True):
                res.loss[i, j] = lo
                res.accuracy[i, j] = ac
                res.done[i, j] = True
            done += len(part)
            if start + chunk >= len(pts) and world_size == 1:
                res.level = lvl
            if progress is not None:
                elapsed = time.perf_counter() - t0
                eta = elapsed / done * (todo - done)
                progress(Progress(offset_points + done, total, elapsed, eta, "slice", res))
        if world_size == 1 and not pts:
            res.level = lvl
    if world_size > 1:
        _gather(res)
        res.level = len(order) - 1
    res.seconds = time.perf_counter() - t0
    return res


def _gather(res: SliceResult) -> None:
    """Sum each rank's points into the full grid on every rank (gloo or nccl all-reduce)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    backend = dist.get_backend()
    dev = torch.device("cuda", torch.cuda.current_device()) if backend == "nccl" else torch.device("cpu")
    packed = torch.from_numpy(
        np.stack(
            [
                np.where(res.done, res.loss, 0.0),
                np.where(res.done, res.accuracy, 0.0),
                res.done.astype(np.float64),
            ]
        )
    ).to(dev)
    # a non-finite loss would poison the sum: send it as a flag and restore it after
    nonfinite = torch.from_numpy((res.done & ~np.isfinite(res.loss)).astype(np.float64)).to(dev)
    packed[0][nonfinite.bool()] = 0.0
    dist.all_reduce(packed)
    dist.all_reduce(nonfinite)
    out = packed.cpu().numpy()
    res.loss = np.where(nonfinite.cpu().numpy() > 0, np.inf, out[0])
    res.accuracy = out[1]
    res.done = out[2] > 0
    res.loss[~res.done] = np.nan
    res.accuracy[~res.done] = np.nan


# ----------------------------------------------------------------------------- 1-D line


@dataclass
class LineResult:
    """The loss along ``start + α·(end − start)``: α = 0 is the initial weights, α = 1 the current."""

    alphas: np.ndarray
    loss: np.ndarray
    accuracy: np.ndarray
    cancelled: bool = False


def interpolate_line(
    evaluator: Evaluator,
    start: Mapping[str, torch.Tensor],
    end: Mapping[str, torch.Tensor],
    *,
    points: int = LINE_POINTS,
    lo: float = LINE_ALPHAS[0],
    hi: float = LINE_ALPHAS[1],
    chunk: int = DEFAULT_CHUNK,
    progress: ProgressFn | None = None,
    cancel: CancelFn | None = None,
    offset_points: int = 0,
    total_points: int | None = None,
) -> LineResult:
    """The 1-D interpolation of Goodfellow et al. (2015), α from ``lo`` to ``hi`` (0 and 1 included)."""
    alphas = np.linspace(lo, hi, points)
    # make sure α = 0 and α = 1 are exact grid values when they fall near one
    for target in (0.0, 1.0):
        k = int(np.argmin(np.abs(alphas - target)))
        if abs(alphas[k] - target) < 1e-9 + (hi - lo) / (points - 1) / 2 and lo <= target <= hi:
            alphas[k] = target
    dev = evaluator.device
    start = {k: v.to(dev) for k, v in start.items()}
    diff = {k: end[k].to(dev) - start[k] for k in start}
    zero = {k: torch.zeros_like(v) for k, v in start.items()}
    res = LineResult(alphas, np.full(points, np.nan), np.full(points, np.nan))
    plane = PlaneEvaluator(evaluator, start, diff, zero)
    total = total_points if total_points is not None else points
    t0 = time.perf_counter()
    for s in range(0, points, max(1, chunk)):
        if _cancelled(cancel):
            res.cancelled = True
            return res
        idx = list(range(s, min(points, s + chunk)))
        losses, accs = plane.evaluate([(float(alphas[i]), 0.0) for i in idx])
        res.loss[idx] = losses
        res.accuracy[idx] = accs
        if progress is not None:
            elapsed = time.perf_counter() - t0
            d = idx[-1] + 1
            progress(Progress(offset_points + d, total, elapsed, elapsed / d * (points - d), "line", res))
    return res


