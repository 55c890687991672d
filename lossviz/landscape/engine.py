"""The batched engine: loss and gradient at many points of the varied elements in one torch call.

Never a Python loop over grid points. Two routes:

- ``vmap`` (most losses): ``torch.func.vmap(torch.func.grad_and_value(f))`` where ``f`` rebuilds the
  example with the varied elements replaced, applies the optional transform (the one
  ``lossviz.losses.apply_transform``) and calls the module; chunked so memory stays bounded.
- ``batch``, for losses whose spec names a ``batch_layout`` (kernels without a vmap batching rule, or
  branching on data in Python): the grid points are stacked into the loss's *own* batch dimension by
  one strategy of ``LAYOUTS``, the module runs once with ``reduction='none'``, each point is reduced
  exactly as torch reduces it (checked against the module at the current point), and one backward
  pass of the sum gives every point's gradient.

Engine calls run with ``ENGINE_THREADS`` (1) intra-op threads: the batched ops are small, and on a
2-core machine shared with a training job two OpenMP threads mostly wait for each other.
"""

from __future__ import annotations

import functools
import math
import warnings as pywarnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import numpy as np
import torch
from torch.func import grad_and_value, vmap

from lossviz.errors import LossvizInputError
from lossviz.i18n import msg
from lossviz.landscape.elements import DTYPE, EPS, Element, Setup, check_element, route
from lossviz.losses.evaluate import apply_transform

#: Most scalar values one engine call may touch (grid points x example size); larger grids are chunked.
CHUNK_BUDGET = 1_000_000
#: Intra-op threads for engine calls. The batched ops are small, and on a 2-core machine shared with a
#: training job two OpenMP threads wait on each other (measured 10-20x slower than one thread).
ENGINE_THREADS = 1

Tensor = torch.Tensor

_F = TypeVar("_F", bound=Callable[..., Any])


@contextmanager
def _threads(n: int) -> Iterator[None]:
    """Run torch ops of this thread with ``n`` intra-op threads, then restore (OpenMP: per thread)."""
    before = torch.get_num_threads()
    if n <= 0 or n == before:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _in_engine_threads(fn: _F) -> _F:
    """Run the whole function (grid building included, not just the engine) with ``ENGINE_THREADS``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _threads(ENGINE_THREADS):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _positions(elements: Sequence[Element]) -> dict[str, list[tuple[int, int]]]:
    """slot -> [(flat index, column of the points array)], sorted by index."""
    out: dict[str, list[tuple[int, int]]] = {}
    for k, el in enumerate(elements):
        out.setdefault(el.slot, []).append((el.index, k))
    return {slot: sorted(v) for slot, v in out.items()}


def _assemble(base: Tensor, items: Sequence[tuple[int, Tensor]], batch: int | None = None) -> Tensor:
    """``base`` (flat) with the positions in ``items`` replaced by values, built by one ``cat``.

    One write of the tensor, and a backward pass that only slices: much cheaper than a masked
    ``where`` per element. ``batch=None`` (inside vmap): values are scalars; else values are (batch,).
    """
    pieces: list[Tensor] = []
    prev = 0
    for pos, val in items:
        if batch is None:
            pieces += [base[prev:pos], val.reshape(1)]
        else:
            pieces += [base[prev:pos].expand(batch, -1), val.reshape(batch, 1)]
        prev = pos + 1
    pieces.append(base[prev:] if batch is None else base[prev:].expand(batch, -1))
    return torch.cat(pieces, dim=-1)


Engine = Callable[[Tensor], tuple[Tensor, Tensor]]


def make_engine(setup: Setup, elements: Sequence[Element]) -> Engine:
    """``fn(points (B, k)) -> (loss (B,), grad (B, k))`` for the k varied elements, batched, chunked."""
    elements = tuple(check_element(setup, e) for e in elements)
    if len(set(elements)) != len(elements):
        raise LossvizInputError(msg("choose different elements for the two axes"))
    method = route(setup)
    one = None
    if method == "batch":
        try:
            one = _batch_engine(setup, elements)
        except _NoBatchRoute:
            method = "vmap"
        except (RuntimeError, ValueError, IndexError) as exc:
            raise _refused(setup, exc) from None
    if one is None:
        one = _vmap_engine(setup, elements)
    size = sum(t.numel() for t in setup.raw.values()) + 1
    chunk = max(1, CHUNK_BUDGET // size)

    def run(points: Tensor) -> tuple[Tensor, Tensor]:
        points = points.to(DTYPE).reshape(-1, len(elements))
        vals, grads = [], []
        with _threads(ENGINE_THREADS), pywarnings.catch_warnings():
            pywarnings.simplefilter("ignore")
            for part in points.split(chunk):
                try:
                    v, g = one(part)
                except (RuntimeError, ValueError, IndexError) as exc:
                    raise _refused(setup, exc) from None
                vals.append(v.detach())
                grads.append(g.detach())
        return torch.cat(vals), torch.cat(grads)

    run.method = method  # type: ignore[attr-defined]
    return run


def _refused(setup: Setup, exc: Exception) -> LossvizInputError:
    """The engine could not batch this example: say so in a sentence instead of a traceback."""
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    return LossvizInputError(
        msg(
            "{loss}: the landscape cannot evaluate this example point by point ({first}); the "
            "explorer still shows its value and gradient",
            loss=setup.loss, first=first,
        )
    )


def _vmap_engine(setup: Setup, elements: Sequence[Element]) -> Engine:
    spec = setup.spec
    module = spec.build(setup.reduction, setup.params)
    where = _positions(elements)
    flat = {slot: setup.raw[slot].reshape(-1) for slot in where}
    first = spec.predictions[0].name
    none = setup.reduction == "none"

    def f(v: Tensor) -> Tensor:
        cur = dict(setup.raw)
        for slot, items in where.items():
            cur[slot] = _assemble(flat[slot], [(i, v[k]) for i, k in items]).reshape(setup.raw[slot].shape)
        cur[first] = apply_transform(setup.transform, cur[first], spec)
        out = module(*[cur[s.name] for s in spec.slots])
        return out.sum() if none else out

    batched = vmap(grad_and_value(f))

    def one(points: Tensor) -> tuple[Tensor, Tensor]:
        g, v = batched(points)
        return v, g

    return one


def _stack(t: Tensor, b: int) -> Tensor:
    return t.unsqueeze(0).expand(b, *t.shape)


PerPoint = Callable[[Tensor], Tensor]


def _elementwise(setup: Setup, elements: Sequence[Element], module: torch.nn.Module) -> PerPoint:
    """Every grid point is a copy of the whole example stacked in front; 'none' output reduced here."""
    spec = setup.spec
    red = setup.reduction
    where = _positions(elements)
    first = spec.predictions[0].name
    flat = {slot: setup.raw[slot].reshape(-1) for slot in where}
    # tensors torch would broadcast against each other (a (1,) target for a (3,) input) are expanded to
    # their common shape per point, so stacking in front cannot change how they pair up
    try:
        common = torch.broadcast_shapes(*(setup.raw[s.name].shape for s in spec.slots))
    except RuntimeError:
        raise _NoBatchRoute from None

    def per_point(points: Tensor) -> Tensor:
        b = points.shape[0]
        cur = {k: _stack(v, b) for k, v in setup.raw.items()}
        for slot, items in where.items():
            cur[slot] = _assemble(flat[slot], [(i, points[:, k]) for i, k in items], b).reshape(
                b, *setup.raw[slot].shape
            )
        cur = {k: v.reshape(b, *([1] * (len(common) - v.dim() + 1)), *v.shape[1:]).expand(b, *common)
               for k, v in cur.items()}
        cur[first] = apply_transform(setup.transform, cur[first], spec, lead=1)
        out = module(*[cur[s.name] for s in spec.slots]).reshape(b, -1)
        return out.mean(dim=1) if red == "mean" else out.sum(dim=1)

    return per_point


def _per_sample(
    setup: Setup, elements: Sequence[Element], module: torch.nn.Module, *, weighted: bool = False
) -> PerPoint:
    """(C) or (N, C) scores: only the samples that hold a varied element are stacked and recomputed.

    ``weighted``: 'mean' divides by what torch divides by (e.g. summed class weights), not by N.
    """
    x = setup.raw["input"]
    if x.dim() > 2:
        raise _NoBatchRoute  # images (N, C, H, W) stay on the vmap route
    spec = setup.spec
    red = setup.reduction
    where = _positions(elements)
    c = x.shape[-1]
    xs = x.reshape(-1, c)  # (N, C); a single sample (C) is one row
    n = xs.shape[0]
    ys = setup.raw["target"].reshape(n, *setup.raw["target"].shape[x.dim() - 1 :])
    rows = sorted({i // c for i, _ in where["input"]})
    others = [r for r in range(n) if r not in rows]
    with torch.no_grad():
        base_none = module(apply_transform(setup.transform, xs, spec), ys).reshape(n)
    const = base_none[others].sum() if others else torch.zeros((), dtype=DTYPE)
    denom = _mean_denominator(setup, module, xs, ys, weighted) if red == "mean" else 1.0
    sub = xs[rows].reshape(-1)
    items_at = [(rows.index(i // c) * c + i % c, k) for i, k in where["input"]]
    y_rows = ys[rows]

    def per_point(points: Tensor) -> Tensor:
        b = points.shape[0]
        xb = _assemble(sub, [(i, points[:, k]) for i, k in items_at], b).reshape(b, len(rows), c)
        xb = apply_transform(setup.transform, xb, spec, lead=1)
        yb = _stack(y_rows, b).reshape(b * len(rows), *y_rows.shape[1:])
        out = module(xb.reshape(b * len(rows), c), yb).reshape(b, len(rows))
        total = const + out.sum(dim=1)
        return total / denom if red == "mean" else total

    return per_point


def _ctc(setup: Setup, elements: Sequence[Element], module: torch.nn.Module) -> PerPoint:
    """CTC: only the sequences that hold a varied element are stacked (T, B·n, C) and recomputed."""
    spec = setup.spec
    red = setup.reduction
    where = _positions(elements)
    lp = setup.raw["log_probs"]
    lp3 = lp if lp.dim() == 3 else lp.unsqueeze(1)  # (T, N, C)
    t_, n, c = lp3.shape
    il = setup.raw["input_lengths"].reshape(-1)
    tl = setup.raw["target_lengths"].reshape(-1)
    y = setup.raw["targets"]
    if lp.dim() == 2:
        seqs = [y.reshape(-1)]
    elif y.dim() == 2:
        seqs = [y[k, : int(tl[k])] for k in range(n)]
    else:
        ends = torch.cumsum(tl, 0).tolist()
        seqs = [y[int(e) - int(tl[k]) : int(e)] for k, e in enumerate(ends)]
    with torch.no_grad():
        base_none = module(
            apply_transform(setup.transform, lp, spec),
            y,
            setup.raw["input_lengths"],
            setup.raw["target_lengths"],
        ).reshape(n)
    per_len = tl.clamp(min=1).to(DTYPE)
    seq_of = {i: int(np.unravel_index(i, (t_, n, c))[1]) for i, _ in where["log_probs"]}
    rows = sorted(set(seq_of.values()))
    others = [r for r in range(n) if r not in rows]
    if red == "mean":
        const = (base_none[others] / per_len[others]).sum() if others else torch.zeros((), dtype=DTYPE)
    else:
        const = base_none[others].sum() if others else torch.zeros((), dtype=DTYPE)
    sub = lp3[:, rows, :].reshape(-1)
    items_at = []
    for i, k in where["log_probs"]:
        ti, ni, ci = (int(v) for v in np.unravel_index(i, (t_, n, c)))
        items_at.append(((ti * len(rows) + rows.index(ni)) * c + ci, k))
    items_at.sort()
    width = max([1, *(int(tl[r]) for r in rows)])
    padded = torch.zeros(len(rows), width, dtype=torch.long)
    for j, r in enumerate(rows):
        padded[j, : len(seqs[r])] = seqs[r]
    il_r, tl_r, len_r = il[rows], tl[rows], per_len[rows]

    def per_point(points: Tensor) -> Tensor:
        b = points.shape[0]
        xb = _assemble(sub, [(i, points[:, k]) for i, k in items_at], b).reshape(b, t_, len(rows), c)
        xb = apply_transform(setup.transform, xb, spec, lead=1)
        xb = xb.permute(1, 0, 2, 3).reshape(t_, b * len(rows), c)
        yb = _stack(padded, b).reshape(b * len(rows), width)
        out = module(xb, yb, _stack(il_r, b).reshape(-1), _stack(tl_r, b).reshape(-1)).reshape(
            b, len(rows)
        )
        if red == "mean":
            return (const + (out / len_r).sum(dim=1)) / n
        return const + out.sum(dim=1)

    return per_point


#: Batch layouts by name (``LossSpec.batch_layout``): setup, elements, module('none') -> per-point loss.
LAYOUTS: dict[str, Callable[[Setup, Sequence[Element], torch.nn.Module], PerPoint]] = {
    "elementwise": _elementwise,
    "per_sample": _per_sample,
    "per_sample_weighted": functools.partial(_per_sample, weighted=True),
    "ctc": _ctc,
}


def _batch_engine(setup: Setup, elements: Sequence[Element]) -> Engine:
    """Grid points stacked into the loss's own batch dimension, ``reduction='none'``, reduced here.

    The spec's ``batch_layout`` picks the strategy from ``LAYOUTS``; each reduces exactly as torch
    does, which ``_self_check`` verifies at the current example.
    """
    layout = setup.spec.batch_layout
    if layout is None:
        raise _NoBatchRoute
    module = setup.spec.build("none", setup.params)
    per_point = LAYOUTS[layout](setup, elements, module)

    def one(points: Tensor) -> tuple[Tensor, Tensor]:
        with torch.enable_grad():
            p = points.detach().clone().requires_grad_(True)
            v = per_point(p)
            (g,) = torch.autograd.grad(v.sum(), p, allow_unused=True)
        return v.detach(), torch.zeros_like(p) if g is None else g

    _self_check(setup, elements, one)
    return one


class _NoBatchRoute(Exception):
    """The batch route cannot reproduce this loss's reduction here; use vmap instead."""


def _mean_denominator(setup: Setup, module: torch.nn.Module, xs: Tensor, ys: Tensor, weighted: bool) -> float:
    """What 'mean' divides the summed per-sample losses by: N, or (``weighted``, e.g. CrossEntropyLoss's
    class weights) read off torch itself: sum('none') / 'mean' on this example's targets."""
    if not weighted:
        return float(xs.shape[0])
    mean = setup.spec.build("mean", setup.params)
    with torch.no_grad(), pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")
        for trial in (apply_transform(setup.transform, xs, setup.spec), torch.zeros_like(xs)):
            total, avg = float(module(trial, ys).sum()), float(mean(trial, ys))
            if math.isfinite(total) and math.isfinite(avg) and avg != 0.0:
                return total / avg
    raise _NoBatchRoute


def _self_check(setup: Setup, elements: Sequence[Element], one: Engine) -> None:
    """The stacked reduction must agree with the module's own at the current example."""
    spec = setup.spec
    cur = dict(setup.raw)
    first = spec.predictions[0].name
    cur[first] = apply_transform(setup.transform, cur[first], spec)
    with torch.no_grad(), pywarnings.catch_warnings():
        pywarnings.simplefilter("ignore")
        want = spec.build(setup.reduction, setup.params)(*[cur[s.name] for s in spec.slots]).sum()
        got, _ = one(torch.tensor([[setup.current(e) for e in elements]], dtype=DTYPE))
    w, g = float(want), float(got[0])
    if not (
        math.isclose(w, g, rel_tol=1e3 * EPS, abs_tol=1e3 * EPS)
        or (math.isnan(w) and math.isnan(g))
        or w == g
    ):
        raise RuntimeError(f"{spec.name}: the batched reduction ({g!r}) disagrees with torch ({w!r})")


@_in_engine_threads
def evaluate_points(
    setup: Setup, elements: Sequence[Element], points: Tensor | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Loss (B,) and gradient (B, k) at arbitrary points (B, k) of the varied elements, in one batched call."""
    pts = torch.as_tensor(np.asarray(points, dtype=np.float64)).to(DTYPE)
    v, g = make_engine(setup, elements)(pts)
    return v.numpy(), g.numpy()


