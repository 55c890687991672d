"""The landscape page's decisions, as plain functions: its URL codec, range and learning-rate fallbacks.

The page keeps its controls in the URL under ``ls_`` keys (lossviz.session) and stores keys there,
never display labels: ``ls_i=input:0``, ``ls_view=Descent``. Reading a link is reading user input,
so ``read_view`` keeps what is valid and returns one plain sentence for each value it refuses.

Example:
    >>> setup = prepare("MSELoss", {"input": torch.tensor([2.0, -1.0]), "target": torch.tensor([0.5, 1.0])})
    >>> values, notes = read_view({"ls_res": "21", "ls_i": "input:1", "ls_steps": "x"}, setup)
    >>> values["ls_res"], values["ls_i"], notes
    (21, 'input:1', ["The link sets the number of steps to 'x', which is not allowed; using 30 (1 to 500)."])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch  # noqa: F401 - used by the docstring example

from lossviz import session as K
from lossviz.errors import LossvizInputError
from lossviz.i18n import LANGS, msg, tr
from lossviz.landscape.curves import comparable_losses
from lossviz.landscape.descent import suggest_lr
from lossviz.landscape.elements import (
    DEFAULT_RESOLUTION,
    Setup,
    check_range,
    default_elements,
    parse_element,
    parse_ranges,
    prediction_elements,
    prepare,  # noqa: F401 - used by the docstring example
)
from lossviz.landscape.surfaces import auto_range
from lossviz.losses import parse_number

RES_OPTIONS = (21, 41, 61, 81, 101, 151, 201, 251, 301)
TABS = ("Surface", "Descent", "Loss curve", "sum vs mean")
DEFAULT_STEPS = 30
MAX_PAGE_STEPS = 500
LR_LOW, LR_HIGH = 1e-6, 1e4

#: Descent verdicts by how the page shows them.
VERDICT_LEVEL = {
    "converged": "success",
    "descending": "info",
    "bouncing": "warning",
    "stuck": "warning",
    "diverged": "error",
}


def defaults(setup: Setup) -> dict[str, Any]:
    """Every control's starting value for this example (element keys from the spec's default pair)."""
    x, y = default_elements(setup)
    return {
        K.LANDSCAPE_X: x.key,
        K.LANDSCAPE_Y: y.key,
        K.LANDSCAPE_RESOLUTION: DEFAULT_RESOLUTION,
        K.LANDSCAPE_RANGE: "",
        K.LANDSCAPE_LR: None,
        K.LANDSCAPE_STEPS: DEFAULT_STEPS,
        K.LANDSCAPE_ARROWS: True,
        K.LANDSCAPE_TAB: TABS[0],
        K.LANDSCAPE_MARGIN: False,
    }


#: Controls a new loss keeps (the others start again from the new loss's defaults).
KEEP_ON_NEW_LOSS = (K.LANDSCAPE_RESOLUTION, K.LANDSCAPE_STEPS, K.LANDSCAPE_ARROWS, K.LANDSCAPE_TAB, K.LANDSCAPE_MARGIN)


def settle(state: Mapping[str, Any], setup: Setup, link: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """What to set before the controls are drawn, and a sentence per link value refused.

    First visit: the link's valid values over the defaults. A new loss: its own elements, ranges, rate and
    overlay (``LANDSCAPE_COMPARE`` None: the family default). Back from another page (the widgets' keys are
    gone): the controls as last drawn (``LANDSCAPE_SAVED``), never the sliders' minimums. Always: an element
    key this example does not have is replaced by the default pair. ``LossvizInputError`` when the example has only one number.
    """
    start = defaults(setup)
    notes: list[str] = []
    out: dict[str, Any] = {}
    if not state.get(K.LANDSCAPE_SEEN):
        values, notes = read_view(link, setup)
        out = {**start, **values}
    elif state.get(K.LANDSCAPE_SHOWN) != setup.loss:
        out = {k: v for k, v in start.items() if k not in KEEP_ON_NEW_LOSS}
        out[K.LANDSCAPE_COMPARE] = None
    # back from another page: Streamlit dropped the widgets' keys; bring the controls back as they were
    saved = state.get(K.LANDSCAPE_SAVED) or {}
    for k in (*start, K.LANDSCAPE_COMPARE):
        if k not in out and k not in state and k in saved:
            out[k] = saved[k]
    keys = {e.key for e in prediction_elements(setup)}
    for k in (K.LANDSCAPE_X, K.LANDSCAPE_Y):
        if out.get(k, state.get(k)) not in keys:
            out[k] = start[k]
    out[K.LANDSCAPE_SEEN], out[K.LANDSCAPE_SHOWN] = True, setup.loss
    return out, notes


def tab_label(key: str, lang: str) -> str:
    """What the tab ``key`` is called in ``lang`` (the URL keeps the key)."""
    return tr(f"landscape.tab.{key}", lang)


def tab_key(label: Any) -> str:
    """The key of a tab from its label in any language (the first tab for anything else)."""
    for key in TABS:
        if label == key or label in {tab_label(key, lang) for lang in LANGS}:
            return key
    return TABS[0]


def _element(setup: Setup) -> Callable[[str], str]:
    keys = {e.key for e in prediction_elements(setup)}

    def ok(v: str) -> str:
        key = parse_element(setup, v).key
        if key not in keys:
            raise LossvizInputError(key)
        return key

    return ok


def _number_in(lo: float, hi: float, integer: bool = False) -> Callable[[str], float]:
    def ok(v: str) -> float:
        f = float(parse_number(v))  # ASCII digits only: float() would read '١' or '１' as 1
        if not lo <= f <= hi or (integer and f != int(f)):
            raise ValueError(v)
        return int(f) if integer else f

    return ok


def _one_of(options: Sequence[Any]) -> Callable[[str], Any]:
    def ok(v: str) -> Any:
        for o in options:
            if str(o) == v:
                return o
        raise ValueError(v)

    return ok


def _flag(v: str) -> bool:
    t = v.strip().lower()
    if t not in ("true", "false", "1", "0"):
        raise ValueError(v)
    return t in ("true", "1")


def read_view(query: Mapping[str, Any], setup: Setup) -> tuple[dict[str, Any], list[str]]:
    """The landscape controls a link sets, checked against this example, and a note per refused value."""
    start = defaults(setup)
    rules: dict[str, tuple[Callable[[str], Any], Any, Any]] = {
        K.LANDSCAPE_X: (_element(setup), msg("the x element"), start[K.LANDSCAPE_X]),
        K.LANDSCAPE_Y: (_element(setup), msg("the y element"), start[K.LANDSCAPE_Y]),
        K.LANDSCAPE_RESOLUTION: (
            _one_of(RES_OPTIONS),
            msg("the resolution"),
            msg("{n}×{n} (choose one of {options})", n=DEFAULT_RESOLUTION, options=", ".join(map(str, RES_OPTIONS))),
        ),
        K.LANDSCAPE_RANGE: (lambda v: v[:200], msg("the ranges"), "auto"),
        K.LANDSCAPE_LR: (
            _number_in(LR_LOW, LR_HIGH),
            msg("the learning rate"),
            msg("an automatic one (a rate must be from {low} to {high})", low=format(LR_LOW, "g"), high=format(LR_HIGH, "g")),
        ),
        K.LANDSCAPE_STEPS: (
            _number_in(1, MAX_PAGE_STEPS, integer=True),
            msg("the number of steps"),
            msg("{n} (1 to {most})", n=DEFAULT_STEPS, most=MAX_PAGE_STEPS),
        ),
        K.LANDSCAPE_ARROWS: (_flag, msg("the arrows"), msg("on")),
        K.LANDSCAPE_TAB: (_one_of(TABS), msg("the tab"), TABS[0]),
        K.LANDSCAPE_MARGIN: (_flag, msg("the margin picture"), msg("closed")),
    }
    values: dict[str, Any] = {}
    notes: list[str] = []
    for key, (parse, what, shown) in rules.items():
        raw = _one(query.get(key))
        if raw is None:
            continue
        try:
            values[key] = parse(raw)
        except (LossvizInputError, ValueError, TypeError, OverflowError):
            notes.append(msg(
                "The link sets {what} to {raw}, which is not allowed; using {shown}.",
                what=what, raw=repr(raw[:40]), shown=shown,
            ))
    raw = _one(query.get(K.LANDSCAPE_COMPARE))
    if raw is not None:
        names = [n for n in raw.split(",") if n]
        ok = set(comparable_losses(setup))
        values[K.LANDSCAPE_COMPARE] = [n for n in names if n in ok]
        bad = [n for n in names if n not in ok]
        if bad:
            notes.append(msg(
                "The link overlays {join_value}, which cannot read this example; left out.",
                join_value=', '.join(b[:30] for b in bad[:3]),
            ))
    return values, notes


def view_query(values: Mapping[str, Any]) -> dict[str, str]:
    """The URL form of the controls (keys, never labels); controls at their default are left out."""
    out: dict[str, str] = {}
    for key in (K.LANDSCAPE_X, K.LANDSCAPE_Y, K.LANDSCAPE_RESOLUTION, K.LANDSCAPE_RANGE, K.LANDSCAPE_LR,
                K.LANDSCAPE_STEPS, K.LANDSCAPE_ARROWS, K.LANDSCAPE_TAB, K.LANDSCAPE_MARGIN):
        v = values.get(key)
        if v is None or v == "":
            continue
        if key == K.LANDSCAPE_TAB:
            v = tab_key(v)
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, float):
            v = f"{v:g}"
        out[key] = str(v)
    compare = values.get(K.LANDSCAPE_COMPARE)
    if compare is not None:
        out[K.LANDSCAPE_COMPARE] = ",".join(compare)
    return out


def _one(v: Any) -> str | None:
    if isinstance(v, list | tuple):
        v = v[-1] if v else None
    return None if v is None else str(v)


@dataclass(frozen=True)
class Ranges:
    """The ranges to draw, and what the page should say about them."""

    x: tuple[float, float]
    y: tuple[float, float]
    notes: tuple[str, ...] = ()  # clipped to a domain: information
    errors: tuple[str, ...] = ()  # the text could not be used: automatic ranges instead

    def messages(self) -> list[tuple[str, str]]:
        """(level, sentence) for the page: ``error`` for refused text, ``info`` for a clipped range."""
        return [("error", e) for e in self.errors] + [("info", n) for n in self.notes]


def resolve_ranges(setup: Setup, xk: str, yk: str, text: str) -> Ranges:
    """Ranges from the text box: empty means automatic; a bad text or a range outside an element's
    domain falls back to the automatic ranges with one sentence saying why."""
    x, y = parse_element(setup, xk), parse_element(setup, yk)
    errors: list[str] = []
    try:
        parsed = parse_ranges(text)
    except LossvizInputError as exc:
        errors.append(f"{exc}. Using automatic ranges.")
        parsed = None
    xr = parsed[0] if parsed else auto_range(setup, x)
    yr = parsed[1] if parsed and parsed[1] else auto_range(setup, y)
    notes: list[str] = []
    try:
        xr, x_note = check_range(setup, x, xr)
        yr, y_note = check_range(setup, y, yr)
        notes = [n for n in (x_note, y_note) if n]
    except LossvizInputError as exc:
        errors.append(f"{exc}. Using automatic ranges.")
        xr, yr = auto_range(setup, x), auto_range(setup, y)
    return Ranges((float(xr[0]), float(xr[1])), (float(yr[0]), float(yr[1])), tuple(notes), tuple(errors))


def learning_rate(setup: Setup, xk: str, yk: str, ranges: Ranges, given: float | None) -> tuple[float, bool]:
    """The user's learning rate, or (when empty) one whose first step covers a tenth of the wider range.

    Returns the rate and whether it was chosen automatically.
    """
    if given is not None and math.isfinite(float(given)) and float(given) > 0:
        return float(given), False
    span = max(ranges.x[1] - ranges.x[0], ranges.y[1] - ranges.y[0])
    return suggest_lr(setup, (parse_element(setup, xk), parse_element(setup, yk)), span), True


def other_reductions(setup: Setup) -> list[str]:
    """The reductions to compare on the 'sum vs mean' tab ('none' draws the same as 'sum')."""
    return [r for r in setup.spec.reductions if r != "none"]
