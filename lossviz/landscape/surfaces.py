"""2-D loss surfaces: the reduced loss and its gradient on a grid of two varied elements.

Ranges default to ``auto_range`` (around the current value, showing where the loss is smallest) and are
clipped to the elements' domains with a note; the notes also say why a surface is flat (the spec's
``flat_reason``) and when its lowest point sits on an edge.

Example:
    >>> setup = prepare("MSELoss", {"input": torch.tensor([2.0, -1.0]), "target": torch.tensor([0.5, 1.0])})
    >>> s = compute_surface(setup, Element("input", 0), Element("input", 1), resolution=21)
    >>> s.z.shape
    (21, 21)
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import Message, msg
from lossviz.landscape.elements import (
    DEFAULT_RESOLUTION,
    DTYPE,
    EPS,
    Element,
    Point,
    Setup,
    axis_title,
    check_element,
    check_range,
    check_resolution,
    domain_box,
    element_domain,
    element_label,
    flat_reason,
    prepare,  # noqa: F401 - used by the docstring example
)
from lossviz.landscape.engine import _in_engine_threads, make_engine

# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Surface:
    """The reduced loss and its gradient on a grid of two varied elements.

    ``z[i, j]`` is the loss at ``(xs[j], ys[i])`` (rows follow y, as plotly draws).
    """

    loss: str
    reduction: str
    x: Element
    y: Element
    x_label: str
    y_label: str
    x_title: str | Message  # the axis titles, rendered in the reader's language by the figures
    y_title: str | Message
    xs: np.ndarray
    ys: np.ndarray
    z: np.ndarray
    gx: np.ndarray
    gy: np.ndarray
    current: Point
    minimum: Point
    method: str
    seconds: float
    notes: tuple[str | Message, ...] = ()  # sentences for the page, rendered in its language
    flat: bool = False

    @property
    def resolution(self) -> int:
        return len(self.xs)





def _nice(v: float, up: bool) -> float:
    """Round outwards to one decimal (or the nearest whole number for wide ranges)."""
    step = 1.0 if abs(v) >= 20 else 0.1
    return (math.ceil(v / step) if up else math.floor(v / step)) * step


@_in_engine_threads
def auto_range(setup: Setup, el: Element) -> tuple[float, float]:
    """A range around the current value that also shows where the loss is smallest along this element."""
    check_element(setup, el)
    v0 = setup.current(el)
    dlo, dhi, _ = element_domain(setup, el)
    blo, bhi = domain_box(setup, el)
    if math.isfinite(dlo) and math.isfinite(dhi):
        return blo, bhi
    w = max(4.0, 2.0 * abs(v0))
    lo, hi = max(v0 - w, blo), min(v0 + w, bhi)
    xs = torch.linspace(lo, hi, 201, dtype=DTYPE)
    fn = make_engine(setup, (el,))
    vals, _ = fn(xs[:, None])
    vals = vals.numpy()
    finite = np.isfinite(vals)
    if finite.any() and np.nanmax(vals[finite]) - np.nanmin(vals[finite]) > 10 * EPS * (
        1 + abs(np.nanmax(vals[finite]))
    ):
        k = int(np.nanargmin(np.where(finite, vals, np.inf)))
        if 0 < k < len(xs) - 1:
            m = float(xs[k])
            a, b = min(v0, m), max(v0, m)
            pad = max(1.0, 0.6 * (b - a))
            lo, hi = a - pad, b + pad
        else:
            lo, hi = v0 - 3.0, v0 + 3.0
    else:
        lo, hi = v0 - 2.0, v0 + 2.0
    lo, hi = _nice(lo, up=False), _nice(hi, up=True)
    return max(lo, blo), min(hi, bhi)





def _notes_for(setup: Setup, el: Element, grads: np.ndarray, extra: list[str]) -> list[str]:
    notes = list(extra)
    why = flat_reason(setup, el)
    if why:
        notes.append(why)
    elif np.all(np.nan_to_num(np.abs(grads), nan=0.0) == 0.0):
        notes.append(msg("{element} does not change the loss anywhere in this range (its gradient is zero "
                         "everywhere here), so the landscape is flat along it.", element=element_label(setup, el)))
    return notes


def _resolve_range(
    setup: Setup, el: Element, rng: Sequence[float] | None, notes: list[str]
) -> tuple[float, float]:
    if rng is None:
        return auto_range(setup, el)
    r, note = check_range(setup, el, rng)
    if note:
        notes.append(note)
    return r


@_in_engine_threads
def compute_surface(
    setup: Setup,
    x: Element,
    y: Element,
    *,
    x_range: Sequence[float] | None = None,
    y_range: Sequence[float] | None = None,
    resolution: int = DEFAULT_RESOLUTION,
) -> Surface:
    """Loss and gradient on a ``resolution`` x ``resolution`` grid of elements ``x`` and ``y``.

    Ranges default to ``auto_range``; they are clipped to the elements' domains (with a note).
    """
    res = check_resolution(resolution)
    check_element(setup, x)
    check_element(setup, y)
    if x == y:
        raise LossvizInputError(msg("choose two different elements for the two axes"))
    notes: list[str] = []
    xr = _resolve_range(setup, x, x_range, notes)
    yr = _resolve_range(setup, y, y_range, notes)
    xs = torch.linspace(xr[0], xr[1], res, dtype=DTYPE)
    ys = torch.linspace(yr[0], yr[1], res, dtype=DTYPE)
    gy_, gx_ = torch.meshgrid(ys, xs, indexing="ij")
    pts = torch.stack([gx_.reshape(-1), gy_.reshape(-1)], dim=1)
    fn = make_engine(setup, (x, y))
    t0 = time.perf_counter()
    vals, grads = fn(pts)
    seconds = time.perf_counter() - t0
    z = vals.reshape(res, res).numpy()
    g = grads.reshape(res, res, 2).numpy()
    cur_pt = torch.tensor([[setup.current(x), setup.current(y)]], dtype=DTYPE)
    cv, cg = fn(cur_pt)
    current = Point((setup.current(x), setup.current(y)), float(cv[0]), (float(cg[0, 0]), float(cg[0, 1])))
    finite = np.isfinite(z)
    if not finite.all():
        notes.append(msg("the loss is not finite at {n} of {total} grid points (left blank).",
                         n=int((~finite).sum()), total=int(z.size)))
    if finite.any():
        k = int(np.argmin(np.where(finite, z, np.inf)))
        i, j = divmod(k, res)
        minimum = Point((float(xs[j]), float(ys[i])), float(z[i, j]), (float(g[i, j, 0]), float(g[i, j, 1])))
        if (i in (0, res - 1) or j in (0, res - 1)) and z[i, j] < np.nanmin(z[1:-1, 1:-1], initial=np.inf):
            edge = None
            for k, v, e in ((j, xs[j], x), (i, ys[i], y)):
                lo_b, hi_b = domain_box(setup, e)
                near = [b for b in (lo_b, hi_b) if math.isclose(float(v), b, rel_tol=1e-5, abs_tol=1e-7)]
                if k in (0, res - 1) and near:
                    dlo, dhi, _ = element_domain(setup, e)
                    edge = (element_label(setup, e), dlo if near[0] == lo_b else dhi)
            notes.append(
                msg("the lowest point on the grid lies at the edge of the values {element} may take: the loss only "
                    "gets smaller in the limit {element} → {limit}, which it never reaches.",
                    element=edge[0], limit=format(edge[1], "g"))
                if edge
                else msg("the lowest point on the grid lies on its edge: the loss keeps going down beyond this range "
                         "(cross-entropy, for example, only reaches 0 as the logits run off to infinity).")
            )
    else:
        minimum = current
    notes = _notes_for(setup, x, g[..., 0], notes)
    notes = _notes_for(setup, y, g[..., 1], notes)
    zf = z[finite]
    flat = bool(zf.size == 0 or (zf.max() - zf.min()) <= 10 * EPS * (1.0 + abs(zf.max())))
    if flat:
        notes.append(msg("the loss is the same at every point of this range: the surface is flat."))
    return Surface(
        loss=setup.loss,
        reduction=setup.reduction,
        x=x,
        y=y,
        x_label=element_label(setup, x),
        y_label=element_label(setup, y),
        x_title=axis_title(setup, x),
        y_title=axis_title(setup, y),
        xs=xs.numpy(),
        ys=ys.numpy(),
        z=z,
        gx=g[..., 0].copy(),
        gy=g[..., 1].copy(),
        current=current,
        minimum=minimum,
        method=getattr(fn, "method", setup.method),
        seconds=seconds,
        notes=tuple(dict.fromkeys(notes)),
        flat=flat,
    )


