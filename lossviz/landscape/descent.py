"""Plain gradient descent on the varied elements, with a verdict on what the path did.

Example:
    >>> setup = prepare("MSELoss", {"input": torch.tensor([2.0, -1.0]), "target": torch.tensor([0.5, 1.0])})
    >>> descend(setup, (Element("input", 0), Element("input", 1)), lr=0.5, steps=50).status
    'converged'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import Message, msg
from lossviz.landscape.elements import (
    DTYPE,
    EPS,
    MAX_ABS_RANGE,
    MAX_LR,
    MAX_STEPS,
    Element,
    Setup,
    check_element,
    domain_box,
    prepare,  # noqa: F401 - used by the docstring example
)
from lossviz.landscape.engine import _in_engine_threads, make_engine

# --------------------------------------------------------------------------- gradient descent


@dataclass(frozen=True)
class DescentPath:
    """Plain gradient descent on the varied elements from the current example."""

    elements: tuple[Element, ...]
    lr: float
    steps: int  # steps asked for
    points: np.ndarray  # (n + 1, k), the start first
    losses: np.ndarray  # (n + 1,)
    grads: np.ndarray  # (n + 1, k)
    status: str  # converged | diverged | bouncing | descending | stuck
    message: Message  # the verdict in words, rendered in the page's language
    clamped: bool = False

    @property
    def taken(self) -> int:
        return len(self.points) - 1

    @property
    def step_lengths(self) -> np.ndarray:
        return np.linalg.norm(np.diff(self.points, axis=0), axis=1)


def check_descent(lr: Any, steps: Any) -> tuple[float, int]:
    """Validated (learning rate, steps)."""
    try:
        lr_f = float(lr)
    except (TypeError, ValueError):
        raise LossvizInputError(msg("the learning rate must be a number, not {lr}", lr=repr(str(lr)[:20]))) from None
    if not math.isfinite(lr_f) or not 0 < lr_f <= MAX_LR:
        raise LossvizInputError(
            msg(
                "the learning rate must be greater than 0 and at most {max_lr}, not {lr_f}",
                max_lr=format(MAX_LR, 'g'), lr_f=format(lr_f, 'g'),
            )
        )
    try:
        st = int(steps)
        ok = float(steps) == st
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok or not 1 <= st <= MAX_STEPS:
        raise LossvizInputError(
            msg(
                "steps must be a whole number from 1 to {max_steps}, not {steps}",
                max_steps=MAX_STEPS, steps=repr(str(steps)[:20]),
            )
        )
    return lr_f, st


@_in_engine_threads
def descend(
    setup: Setup,
    elements: Sequence[Element],
    *,
    lr: float,
    steps: int,
    start: Sequence[float] | None = None,
) -> DescentPath:
    """Gradient descent x ← x − lr·∇L on the varied elements; stops early on convergence or divergence.

    A step that leaves an element's domain (BCELoss probabilities, variances) is clamped back to
    its edge, and the path says so.
    """
    lr, steps = check_descent(lr, steps)
    elements = tuple(check_element(setup, e) for e in elements)
    fn = make_engine(setup, elements)
    box = np.array([domain_box(setup, e) for e in elements])
    p = np.array([setup.current(e) for e in elements] if start is None else list(start), dtype=np.float64)
    if p.shape != (len(elements),) or not np.isfinite(p).all():
        raise LossvizInputError(msg("the start of the descent needs one finite number per varied element"))
    p = np.clip(p, box[:, 0], box[:, 1])
    pts, losses, grads = [p.copy()], [], []
    clamped = False
    status = ""
    v, g = fn(torch.from_numpy(p[None]))
    losses.append(float(v[0]))
    grads.append(g[0].numpy().copy())
    span0 = 1.0 + float(np.abs(p).max())
    for _ in range(steps):
        gk = grads[-1]
        if not (np.isfinite(gk).all() and math.isfinite(losses[-1])):
            status = "diverged"
            break
        new = pts[-1] - lr * gk
        clipped = np.clip(new, box[:, 0], box[:, 1])
        clamped |= bool((clipped != new).any())
        if np.abs(clipped).max() > 1e4 * span0 + MAX_ABS_RANGE * 1e-3:
            pts.append(clipped)
            status = "diverged"
            v, g = fn(torch.from_numpy(clipped[None]))
            losses.append(float(v[0]))
            grads.append(g[0].numpy().copy())
            break
        pts.append(clipped)
        v, g = fn(torch.from_numpy(clipped[None]))
        losses.append(float(v[0]))
        grads.append(g[0].numpy().copy())
        if np.abs(pts[-1] - pts[-2]).max() <= EPS * (1.0 + np.abs(pts[-2]).max()):
            status = "converged"
            break
    P, L, G = np.array(pts), np.array(losses), np.array(grads)
    status, message = _judge(P, L, G, lr, status, clamped)
    return DescentPath(elements, lr, steps, P, L, G, status, message, clamped)


def _judge(
    P: np.ndarray, L: np.ndarray, G: np.ndarray, lr: float, status: str, clamped: bool
) -> tuple[str, str]:
    """Name what the path did: converged, diverged, bouncing (no shrinking), stuck or still descending."""
    n = len(P) - 1
    gnorm = float(np.linalg.norm(G[-1])) if np.isfinite(G[-1]).all() else math.inf
    g0 = float(np.linalg.norm(G[0])) if np.isfinite(G[0]).all() else math.inf
    tol = 10 * EPS * (1 + abs(L[0])) if math.isfinite(L[0]) else 0.0
    lengths = np.linalg.norm(np.diff(P, axis=0), axis=1) if n else np.zeros(0)
    tail = G[max(1, n - 9) :]
    flips = int(np.sum(np.any(np.sign(tail[1:]) * np.sign(tail[:-1]) < 0, axis=1))) if len(tail) > 1 else 0
    zigzag = len(tail) > 3 and flips >= (len(tail) - 1) // 2
    if status != "diverged":
        if not np.isfinite(L).all() or L[-1] > L[0] + tol:
            status = "diverged"
        elif status == "converged" or gnorm <= 30 * EPS * (1.0 + g0):
            status = "converged"
        elif zigzag and lengths[-10:].min() > 0 and lengths[-1] >= 0.7 * lengths[-min(10, n)]:
            status = "bouncing"
        elif L[-1] >= L[0] - tol:
            status = "stuck"
        else:
            status = "descending"
    text = {
        "converged": (msg("converged after {n} step: the gradient is (almost) zero here.", n=n) if n == 1 else
                      msg("converged after {n} steps: the gradient is (almost) zero here.", n=n)),
        "diverged": msg("diverged after {n} steps: the loss ended at {end}, higher than where it started ({start}), "
                        "because the steps overshoot. The learning rate {lr} is too large for this curvature; "
                        "try a smaller one.", n=n, end=format(L[-1], ".4g"), start=format(L[0], ".4g"),
                        lr=format(lr, "g")),
        "bouncing": msg("after {n} steps the path bounces back and forth across the minimum without the steps "
                        "shrinking: either the gradient does not fade near the minimum (L1, hinge), or the learning "
                        "rate sits at the edge of stability, so each step overshoots as much as it corrects. A "
                        "smaller learning rate makes the bounce smaller.", n=n),
        "stuck": msg("after {n} steps the loss has not gone down: the path sits on a flat part of the landscape.", n=n),
        "descending": (
            msg("still going down after {n} steps (loss {start} → {end}), zig-zagging across the valley; more "
                "steps or a larger learning rate would get closer to the minimum.",
                n=n, start=format(L[0], ".4g"), end=format(L[-1], ".4g"))
            if zigzag else
            msg("still going down after {n} steps (loss {start} → {end}); more steps or a larger learning rate "
                "would get closer to the minimum.", n=n, start=format(L[0], ".4g"), end=format(L[-1], ".4g"))
        ),
    }[status]
    if clamped:
        text = msg("{verdict} Some steps left the allowed values and were clamped back to the edge.", verdict=text)
    return status, text


@_in_engine_threads
def suggest_lr(setup: Setup, elements: Sequence[Element], span: float) -> float:
    """A round learning rate whose first step covers about a tenth of ``span`` (1, 2, 5 × 10^k)."""
    fn = make_engine(setup, elements)
    _, g = fn(torch.tensor([[setup.current(e) for e in elements]], dtype=DTYPE))
    gn = float(torch.linalg.vector_norm(g[0]))
    if not math.isfinite(gn) or gn < 1e-12:
        return 0.1
    raw = max(min(span / 10.0 / gn, MAX_LR), 1e-6)
    k = math.floor(math.log10(raw))
    for m in (5, 2, 1):
        if m * 10**k <= raw:
            return float(f"{m * 10**k:.6g}")
    return float(f"{10**k:.6g}")


