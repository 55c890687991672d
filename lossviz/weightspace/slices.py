"""The network's own loss landscape: the loss over a 2-D slice of weight space, and the training path.

Following Li et al., "Visualizing the Loss Landscape of Neural Nets" (NeurIPS 2018):

* two random directions, **filter-normalised**: each filter (a conv output channel, a row of a
  linear layer) of a Gaussian direction is rescaled to the norm of the same filter of the weights,
  so the slice's scale follows the network's own; biases and other 1-D parameters get a zero
  direction (the paper's default ``--xignore biasbn``);
* the loss at ``centre + a·x + b·y`` on a grid of ``(a, b)``, on a fixed evaluation set of test
  images, computed coarse to fine (a 9×9 picture first), with progress, time left and cancellation
  checked per chunk of points;
* the loss along the straight line from the initial weights to the current ones (Goodfellow et al.
  2015), α ∈ [-0.5, 1.5];
* the training path (weight snapshots) projected onto the random plane and onto the top two PCA
  directions of the path.

Under ``torchrun`` the grid points are split across ranks (``rank::world_size``) and summed with
one all-reduce. This module never imports streamlit; :class:`BackgroundJob` runs any of it in a
thread the page polls.

Example:
    >>> ev = Evaluator(build_model(), make_loss(cfg), x, y)  # doctest: +SKIP
    >>> dx, dy = random_directions(centre, seed=0)  # doctest: +SKIP
    >>> res = compute_slice(ev, centre, dx, dy, grid_axis(21, 1.0), grid_axis(21, 1.0))  # doctest: +SKIP
"""

from __future__ import annotations

import math
import threading
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

Params = dict[str, torch.Tensor]
#: A message as data: a translation key and its named parameters (see lossviz.i18n.tr).
Note = tuple[str, dict[str, Any]]

MIN_GRID, MAX_GRID, DEFAULT_GRID = 3, 41, 21
COARSE_GRID = 9
MIN_IMAGES, MAX_IMAGES, DEFAULT_IMAGES = 1, 2048, 128
DEFAULT_SPAN = 1.0
MAX_SPAN = 100.0
LINE_ALPHAS = (-0.5, 1.5)
LINE_POINTS = 41
DEFAULT_CHUNK = 8
METHODS = ("loop", "vmap")


# ----------------------------------------------------------------------------- input checks


def check_grid(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not MIN_GRID <= n <= MAX_GRID:
        raise LossvizInputError(
            msg(
                "grid={n} is out of range: give a whole number of points per side from {low} to {high}",
                n=repr(n),
                low=MIN_GRID,
                high=MAX_GRID,
            )
        )
    return n


def check_images(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or not MIN_IMAGES <= n <= MAX_IMAGES:
        raise LossvizInputError(
            msg(
                "images={n} is out of range: give a whole number of test images from {low} to {high}",
                n=repr(n),
                low=MIN_IMAGES,
                high=MAX_IMAGES,
            )
        )
    return n


def check_span(r: Any) -> float:
    if isinstance(r, bool) or not isinstance(r, int | float) or not math.isfinite(r) or not 0 < r <= MAX_SPAN:
        raise LossvizInputError(
            msg(
                "span={r} is out of range: give a number greater than 0 and at most {high}",
                r=repr(r),
                high=f"{MAX_SPAN:g}",
            )
        )
    return float(r)


def check_seed(s: Any) -> int:
    if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2**63:
        raise LossvizInputError(
            msg("seed={s} is out of range: give a whole number from 0 upwards", s=repr(s))
        )
    return s


# ----------------------------------------------------------------------------- directions


def is_filtered(t: torch.Tensor) -> bool:
    """True for parameters with filters (conv kernels, linear weights); 1-D ones (biases) are not."""
    return t.dim() > 1


def filter_normalize(direction: Mapping[str, torch.Tensor], weights: Mapping[str, torch.Tensor]) -> Params:
    """``direction`` rescaled filter by filter to the norm of the weights' filters (Li et al. 2018).

    Filter ``i`` of a parameter is its slice ``[i]`` (an output channel of a conv kernel, an output
    row of a linear weight). 1-D parameters (biases) get a zero direction.
    """
    out: Params = {}
    for name, w in weights.items():
        d = direction[name]
        if not is_filtered(w):
            out[name] = torch.zeros_like(w)
            continue
        dn = d.flatten(1).norm(dim=1)
        wn = w.flatten(1).norm(dim=1)
        scale = (wn / dn.clamp_min(1e-12)).view(-1, *([1] * (w.dim() - 1)))
        out[name] = d * scale
    return out


def random_directions(weights: Mapping[str, torch.Tensor], seed: int = 0) -> tuple[Params, Params]:
    """Two filter-normalised Gaussian directions drawn from ``seed`` (same seed, same directions)."""
    gen = torch.Generator().manual_seed(int(seed))
    raw = [
        {k: torch.randn(v.shape, generator=gen, dtype=torch.float32).to(v.dtype) for k, v in weights.items()}
        for _ in range(2)
    ]
    return filter_normalize(raw[0], weights), filter_normalize(raw[1], weights)


def flatten(params: Mapping[str, torch.Tensor], names: Sequence[str]) -> torch.Tensor:
    return torch.cat([params[n].reshape(-1).to(torch.float64) for n in names])


def unflatten(vector: torch.Tensor, like: Mapping[str, torch.Tensor]) -> Params:
    out: Params = {}
    i = 0
    for name, t in like.items():
        n = t.numel()
        out[name] = vector[i : i + n].reshape(t.shape).to(t.dtype)
        i += n
    return out


# ----------------------------------------------------------------------------- grid and levels


def grid_axis(n: int, span: float) -> np.ndarray:
    """``n`` evenly spaced coordinates from ``-span`` to ``span`` (0 in the middle when ``n`` is odd)."""
    check_grid(n)
    axis = np.linspace(-span, span, n)
    if n % 2:
        axis[n // 2] = 0.0
    return axis


def refinement_levels(n: int, coarse: int = COARSE_GRID) -> list[np.ndarray]:
    """Index subsets of an ``n``-point axis, coarse to fine; the last one is every index.

    Level 0 is ~``coarse`` evenly spread indices (always both ends and, for odd ``n``, the middle),
    each next level roughly doubles the resolution, so a coarse picture comes first and no point is
    computed twice.

    Example:
        >>> [len(l) for l in refinement_levels(41)]
        [9, 17, 33, 41]
    """
    levels: list[np.ndarray] = []
    size = coarse
    while size < n:
        idx = np.unique(np.round(np.linspace(0, n - 1, size)).astype(int))
        if not levels or len(idx) > len(levels[-1]):
            levels.append(idx)
        size = 2 * size - 1
    levels.append(np.arange(n))
    return levels


def point_order(
    n_alpha: int, n_beta: int
) -> list[tuple[list[tuple[int, int]], tuple[np.ndarray, np.ndarray]]]:
    """Grid points ``(row i over betas, column j over alphas)`` grouped by refinement level.

    Each level lists only its new points, with the index sets that make its complete sub-grid.
    """
    la, lb = refinement_levels(n_alpha), refinement_levels(n_beta)
    depth = max(len(la), len(lb))
    la += [la[-1]] * (depth - len(la))
    lb += [lb[-1]] * (depth - len(lb))
    seen = np.zeros((n_beta, n_alpha), dtype=bool)
    out = []
    for ia, ib in zip(la, lb, strict=True):
        pts = [(int(i), int(j)) for i in ib for j in ia if not seen[i, j]]
        for i, j in pts:
            seen[i, j] = True
        out.append((pts, (ia, ib)))
    return out


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


def _cancelled(cancel: CancelFn | threading.Event | None) -> bool:
    if cancel is None:
        return False
    return cancel.is_set() if isinstance(cancel, threading.Event) else bool(cancel())


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
    cancel: CancelFn | threading.Event | None = None,
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
    cancel: CancelFn | threading.Event | None = None,
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


# ----------------------------------------------------------------------------- the path


@dataclass
class PathProjection:
    """The path's coordinates in a plane, one per snapshot, final weights at (0, 0)."""

    steps: list[int]
    xs: np.ndarray
    ys: np.ndarray
    #: Fraction of each snapshot's displacement from the final weights that the plane shows (0..1).
    captured: np.ndarray
    #: For PCA: the share of the path's variance along each direction; None for a random plane.
    explained: tuple[float, float] | None = None


def path_deltas(
    path: Sequence[Mapping[str, torch.Tensor]], centre: Mapping[str, torch.Tensor]
) -> torch.Tensor:
    """The path as one float32 matrix: row ``i`` is ``w_i − centre`` flattened (parameter order of ``centre``)."""
    names = list(centre)
    c = torch.cat([centre[n].reshape(-1).float() for n in names])
    return torch.stack([torch.cat([p[n].reshape(-1).float() for n in names]) for p in path]) - c


def project_deltas(
    deltas: torch.Tensor, steps: Sequence[int], dx_flat: torch.Tensor, dy_flat: torch.Tensor
) -> PathProjection:
    """Least-squares coordinates of each row of ``deltas`` in the plane spanned by two flat directions."""
    basis = torch.stack([dx_flat.float(), dy_flat.float()])  # 2×P
    gram = (basis @ basis.T).double()
    coords = torch.linalg.solve(gram, (basis @ deltas.T).double())  # 2×S
    # |projection|² = cᵀ G c: no P-sized work
    proj_len = torch.einsum("is,ij,js->s", coords, gram, coords).clamp_min(0).sqrt()
    lengths = deltas.double().norm(dim=1)
    captured = torch.where(lengths > 0, proj_len / lengths.clamp_min(1e-300), torch.ones_like(lengths))
    return PathProjection(list(steps), coords[0].numpy(), coords[1].numpy(), captured.clamp(0, 1).numpy())


def project_path(
    path: Sequence[Mapping[str, torch.Tensor]],
    steps: Sequence[int],
    centre: Mapping[str, torch.Tensor],
    dx: Mapping[str, torch.Tensor],
    dy: Mapping[str, torch.Tensor],
) -> PathProjection:
    """Least-squares coordinates of each ``path`` point in the plane ``centre + a·dx + b·dy``.

    The directions need not be orthogonal (two random ones almost are); ``captured`` is the
    length of each projected displacement over its true length.
    """
    names = list(centre)
    return project_deltas(path_deltas(path, centre), steps, flatten(dx, names), flatten(dy, names))


def pca_of_deltas(deltas: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, tuple[float, float]]:
    """Top two principal directions (flat, unit, orthogonal) of the rows of ``deltas`` and their shares
    of the variance. Uses the small S×S Gram matrix (S snapshots ≪ P weights)."""
    if deltas.shape[0] < 3:
        raise LossvizInputError(
            msg("the path needs at least 3 saved weight snapshots for PCA directions: train a little longer")
        )
    centred = deltas - deltas.mean(dim=0, keepdim=True)
    k = (centred @ centred.T).double()
    evals, evecs = torch.linalg.eigh(k)  # ascending
    evals = evals.flip(0).clamp_min(0)
    evecs = evecs.flip(1)
    total = float(evals.sum())
    if total <= 0 or float(evals[1]) <= total * 1e-12:
        raise LossvizInputError(
            msg("the saved weights do not move in two directions, so there is no PCA plane")
        )
    d1 = centred.T @ evecs[:, 0].float()
    d1 = d1 / d1.norm()
    d2 = centred.T @ evecs[:, 1].float()
    d2 = d2 - (d2 @ d1) * d1  # re-orthogonalise after float32 rounding
    d2 = d2 / d2.norm()
    # orient each so the path starts at negative coordinates (a reproducible picture)
    if float(deltas[0] @ d1) > 0:
        d1 = -d1
    if float(deltas[0] @ d2) > 0:
        d2 = -d2
    return d1, d2, (float(evals[0]) / total, float(evals[1]) / total)


def pca_directions(
    path: Sequence[Mapping[str, torch.Tensor]], final: Mapping[str, torch.Tensor]
) -> tuple[Params, Params, tuple[float, float]]:
    """The top two principal directions of the path ``{w_i − w_final}`` (unit length, orthogonal) and
    the share of the path's variance each explains (Li et al. 2018, section 7)."""
    d1, d2, explained = pca_of_deltas(path_deltas(path, final))
    return unflatten(d1, final), unflatten(d2, final), explained


def project_path_pca(
    path: Sequence[Mapping[str, torch.Tensor]],
    steps: Sequence[int],
    final: Mapping[str, torch.Tensor],
    deltas: torch.Tensor | None = None,
) -> tuple[PathProjection, Params, Params]:
    """The path on its own PCA plane through the final weights, and the two directions."""
    deltas = path_deltas(path, final) if deltas is None else deltas
    d1, d2, explained = pca_of_deltas(deltas)
    proj = project_deltas(deltas, steps, d1, d2)
    proj.explained = explained
    return proj, unflatten(d1, final), unflatten(d2, final)


def why_random_plane_note(n_params: int, random_capture: float, pca_capture: float | None) -> Note:
    """The sentence explaining why a random plane shows almost none of the path (as a message)."""
    params = {
        "n": f"{n_params:,}",
        "overlap": f"{1 / math.sqrt(max(1, n_params)):.4f}",
        "random": f"{100 * random_capture:.2f}%",
    }
    if pca_capture is None:
        return ("wl.why_random", params)
    return ("wl.why_random_pca", {**params, "pca": f"{100 * pca_capture:.0f}%"})


# ----------------------------------------------------------------------------- background job


class JobsBusy(LossvizInputError):
    """Too many landscapes are being computed in this process right now."""


class BackgroundJob:
    """Runs ``work(progress, cancel)`` in a daemon thread; a page polls :meth:`state`.

    ``work`` receives a progress callback (store the latest :class:`Progress`) and a
    ``threading.Event`` to check. Errors end the job with ``error`` set to a message (a
    LossvizInputError's text, or the exception's type and text) instead of a traceback.
    At most :data:`MAX_JOBS` run at once in a process (a shared server): a further
    :meth:`start` raises :class:`JobsBusy` (a LossvizInputError).
    """

    MAX_JOBS = 2
    _running = 0
    _count_lock = threading.Lock()

    def __init__(self, work: Callable[[ProgressFn, threading.Event], Any]) -> None:
        self._work = work
        self.cancel_event = threading.Event()
        self.progress: Progress | None = None
        self.result: Any = None
        self.error: object = ""  # "" or the sentence: a Message (bad input) or a str (an unexpected error)
        self.started = 0.0
        self.finished = 0.0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> BackgroundJob:
        with BackgroundJob._count_lock:
            if BackgroundJob._running >= BackgroundJob.MAX_JOBS:
                raise JobsBusy(
                    "the server is already computing other weight landscapes: try again in a minute"
                )
            BackgroundJob._running += 1
        self.started = time.time()
        self._thread = threading.Thread(target=self._run, name="lossviz-weight-landscape", daemon=True)
        self._thread.start()
        return self

    def _on_progress(self, p: Progress) -> None:
        with self._lock:
            self.progress = p

    def _run(self) -> None:
        try:
            self.result = self._work(self._on_progress, self.cancel_event)
        except LossvizInputError as exc:
            self.error = exc.message  # rendered in the reader's language by the page
        except Exception as exc:  # the page must get a sentence, never a dead thread
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.finished = time.time()
            with BackgroundJob._count_lock:
                BackgroundJob._running -= 1

    def cancel(self) -> None:
        self.cancel_event.set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running
