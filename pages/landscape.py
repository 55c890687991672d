"""Loss landscape: loss curves, 2-D/3-D surfaces, gradient fields and descent paths.

The page lays out widgets and calls ``lossviz``; every number comes from
``lossviz.landscape.surfaces`` (batched through the real ``torch.nn`` module) and every
figure from ``lossviz.landscape.figures``. It starts from the explorer's example
(session state, or the ``loss``/``reduction``/``transform``/``t_*``/``s_*``/``p_*``
query parameters) and keeps its own controls in the URL under ``ls_``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from lossviz import LossvizInputError
from lossviz.explore import Example as ExplorerExample
from lossviz.landscape import (
    make_contour_figure,
    make_curve_figure,
    make_descent_animation_figure,
    make_descent_loss_figure,
    make_surface3d_figure,
)
from lossviz.landscape import surfaces as S
from lossviz.losses import get_loss, list_losses

# A deep link (e.g. /landscape) opened before anyone has loaded "/" makes Streamlit run this file
# alone in its legacy pages/ mode, without app.py's navigation and page config. Hand over to app.py's
# st.navigation and rerun, so every first visit sees the page as designed.
if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()

RES_OPTIONS = (21, 41, 61, 81, 101, 151, 201, 251, 301)
TABS = ("Surface", "Descent", "Loss curve", "sum vs mean")
DEFAULT_STEPS = 30
MAX_PAGE_STEPS = 500
SHARED_KEYS = ("loss", "reduction", "transform")
SHARED_PREFIXES = ("t_", "s_", "p_")
#: The explorer's example object in the session (lossviz.explore.example.Example; read through its to_query()).
SHARED_EXAMPLE = "lossviz_example"
#: Set once the page has drawn its controls: links are only checked on the first run.
SEEN = "_ls_seen"


# --------------------------------------------------------------------------- cached computations


@st.cache_resource(max_entries=64, show_spinner=False)
def _setup(ex: S.Example) -> S.Setup:
    return ex.setup()


@st.cache_data(max_entries=64, show_spinner=False)
def _info(ex: S.Example) -> dict[str, Any]:
    s = _setup(ex)
    els = S.prediction_elements(s)
    try:
        pair = tuple(e.key for e in S.default_elements(s))
    except LossvizInputError:
        pair = ()
    return {
        "options": [e.key for e in els],
        "labels": {e.key: S.element_description(s, e) for e in els},
        "short": {e.key: S.element_label(s, e) for e in els},
        "pair": pair,
        "value": s.value,
        "warnings": list(s.warnings),
    }


@st.cache_data(max_entries=64, show_spinner=False)
def _comparable(ex: S.Example) -> tuple[list[str], list[str]]:
    s = _setup(ex)
    return S.comparable_losses(s), S.default_comparison(s)


@st.cache_data(max_entries=128, show_spinner=False)
def _auto_range(ex: S.Example, key: str) -> tuple[float, float]:
    s = _setup(ex)
    return S.auto_range(s, S.parse_element(s, key))


@st.cache_data(max_entries=64, show_spinner="Computing the surface…")
def _surface(
    ex: S.Example, xk: str, yk: str, xr: tuple[float, float], yr: tuple[float, float], res: int
) -> S.Surface:
    s = _setup(ex)
    return S.compute_surface(
        s, S.parse_element(s, xk), S.parse_element(s, yk), x_range=xr, y_range=yr, resolution=res
    )


@st.cache_data(max_entries=64, show_spinner=False)
def _lr(ex: S.Example, xk: str, yk: str, span: float) -> float:
    s = _setup(ex)
    return S.suggest_lr(s, (S.parse_element(s, xk), S.parse_element(s, yk)), span)


@st.cache_data(max_entries=64, show_spinner=False)
def _path(ex: S.Example, keys: tuple[str, ...], lr: float, steps: int) -> S.DescentPath:
    s = _setup(ex)
    return S.descend(s, tuple(S.parse_element(s, k) for k in keys), lr=lr, steps=steps)


@st.cache_data(max_entries=64, show_spinner=False)
def _curves(ex: S.Example, key: str, xr: tuple[float, float], others: tuple[str, ...]) -> list[S.Curve]:
    s = _setup(ex)
    return S.compare_curves(s, S.parse_element(s, key), others, x_range=xr)


@st.cache_data(max_entries=64, show_spinner=False)
def _reductions(ex: S.Example, key: str, xr: tuple[float, float]) -> list[S.Curve]:
    s = _setup(ex)
    return S.compare_reductions(s, S.parse_element(s, key), x_range=xr)


@st.cache_data(max_entries=64, show_spinner=False)
def _reduction_paths(
    ex: S.Example, keys: tuple[str, ...], lr: float, steps: int
) -> list[tuple[str, S.DescentPath]]:
    s = _setup(ex)
    out = []
    for red in s.spec.reductions:
        if red == "none":
            continue
        other = S.Example(ex.loss, ex.texts, red, ex.transform, ex.params, ex.shapes)
        out.append((red, _path(other, keys, lr, steps)))
    return out


@st.cache_data(show_spinner=False)
def _margin() -> list[S.Curve]:
    return S.margin_curves()


# Figures are cached as shared objects (st.plotly_chart only reads them): an unrelated widget does not rebuild them.
@st.cache_resource(max_entries=32, show_spinner=False)
def _fig_contour(
    ex: S.Example, xk: str, yk: str, xr: tuple, yr: tuple, res: int, lr: float, steps: int, arrows: bool
) -> go.Figure:
    return make_contour_figure(
        _surface(ex, xk, yk, xr, yr, res), path=_path(ex, (xk, yk), lr, steps), arrows=17 if arrows else 0
    )


@st.cache_resource(max_entries=32, show_spinner=False)
def _fig_3d(
    ex: S.Example, xk: str, yk: str, xr: tuple, yr: tuple, res: int, lr: float, steps: int
) -> go.Figure:
    return make_surface3d_figure(_surface(ex, xk, yk, xr, yr, res), path=_path(ex, (xk, yk), lr, steps))


@st.cache_resource(max_entries=16, show_spinner=False)
def _fig_anim(
    ex: S.Example, xk: str, yk: str, xr: tuple, yr: tuple, res: int, lr: float, steps: int
) -> go.Figure:
    return make_descent_animation_figure(_surface(ex, xk, yk, xr, yr, res), _path(ex, (xk, yk), lr, steps))


# --------------------------------------------------------------------------- state and URL


def _incoming() -> dict[str, str]:
    """The explorer's example: the shared ``lossviz_example`` in the session (its ``to_query()``),
    else loose session-state keys, else the query parameters."""

    def wanted(k: str) -> bool:
        return k in SHARED_KEYS or k.startswith(SHARED_PREFIXES)

    shared = st.session_state.get(SHARED_EXAMPLE)
    to_query = getattr(shared, "to_query", None)
    if callable(to_query):
        try:
            q = to_query()
            return {str(k): str(v) for k, v in q.items() if wanted(str(k))}
        except Exception:  # noqa: BLE001 - a stale object from another version must not break the page
            pass
    state = {k: v for k, v in st.query_params.items() if wanted(k)}
    for k in list(st.session_state.keys()):
        v = st.session_state[k]
        if isinstance(k, str) and wanted(k) and isinstance(v, str):
            state[k] = v
    return state


def _url_value(key: str) -> str | None:
    try:
        return st.query_params.get(key)
    except Exception:  # noqa: BLE001 - a malformed URL must never break the page
        return None


def _guard(key: str, valid: Callable[[str], bool], what: str, shown: str) -> None:
    """Before a URL-bound widget is drawn: say so when the link holds a value the widget will refuse.

    The bound widget itself drops such a value and starts from its default (``shown``).
    """
    raw = _url_value(key)
    if raw is None or key in st.session_state or st.session_state.get(SEEN):
        return
    if not valid(raw):
        st.warning(f"The link sets {what} to {raw[:40]!r}, which is not allowed; using {shown}.")


def _is_float_in(lo: float, hi: float) -> Callable[[str], bool]:
    def ok(v: str) -> bool:
        try:
            f = float(v)
            return lo <= f <= hi
        except (TypeError, ValueError):
            return False

    return ok


def _write_shared(ex: S.Example, came_in: S.Example) -> None:
    """Put the example in the URL too (the explorer's keys), so a copied link reproduces the page;
    and when this page changed it (another loss or reduction), hand it back to the explorer so both
    pages show the same example."""
    want: dict[str, str] = {"loss": ex.loss, "reduction": ex.reduction}
    if ex.transform != "none":
        want["transform"] = ex.transform
    want.update({f"t_{k}": v for k, v in ex.texts})
    want.update({f"s_{k}": v for k, v in ex.shapes})
    want.update({f"p_{k}": v for k, v in ex.params})
    if (ex.loss, ex.reduction) != (came_in.loss, came_in.reduction):
        shared, _ = ExplorerExample.from_query(want)
        st.session_state[SHARED_EXAMPLE] = shared
    try:
        if any(st.query_params.get(k) != v for k, v in want.items()):
            st.query_params.update(want)
    except Exception:  # noqa: BLE001 - keys bound to the explorer's widgets stay the explorer's
        pass


# --------------------------------------------------------------------------- page

st.title("⛰️ Loss landscape")
st.markdown(
    "Pick two numbers of the prediction and watch how the loss changes as they move: the colours and the "
    "3-D height are the loss, the arrows point **downhill** (−∇L, the direction gradient descent steps), "
    "and the white path is gradient descent starting from your current example (🟠)."
)

incoming = _incoming()
example_in, notes_in = S.read_example(incoming)
for n in notes_in:
    st.warning(n)

names = list_losses()
_guard("ls_loss", lambda v: v in names, "the loss", example_in.loss)

top = st.columns([1.3, 1, 1.6, 1.6])
loss = top[0].selectbox(
    "Loss",
    names,
    index=names.index(example_in.loss),
    key="ls_loss",
    bind="query-params",
    help="The torch.nn loss whose landscape is drawn.",
)
spec = get_loss(loss)

# a new loss: reset the controls that only make sense for the old one (through session state, which
# also rewrites their URL parameters)
reset = st.session_state.get("_ls_prev_loss") not in (None, loss)
st.session_state["_ls_prev_loss"] = loss
if reset:
    st.session_state["ls_range"] = ""
    st.session_state["ls_lr"] = None
    st.session_state.pop("ls_compare", None)

if loss == example_in.loss:
    base = example_in
    shared = S.example_for(loss)
    mine = (base.texts, base.transform, base.params, base.shapes) == (shared.texts, shared.transform, (), ())
    origin = "a small example" if mine else "the example from the explorer"
else:
    base = S.example_for(loss)
    origin = "a small example"

_guard("ls_red", lambda v: v in spec.reductions, "the reduction", base.reduction)
if reset:
    st.session_state["ls_red"] = base.reduction
reduction = top[1].selectbox(
    "Reduction",
    spec.reductions,
    index=spec.reductions.index(base.reduction),
    key="ls_red",
    bind="query-params",
    help="'mean' divides by the number of elements, 'sum' adds them: same shape, different scale.",
)
ex = S.Example(base.loss, base.texts, reduction, base.transform, base.params, base.shapes)

try:
    info = _info(ex)
except LossvizInputError as exc:
    st.error(f"This example cannot be used: {exc}")
    ex = S.example_for(loss)
    ex = S.Example(
        ex.loss, ex.texts, reduction if reduction in spec.reductions else ex.reduction, ex.transform
    )
    origin = "a small example (the explorer's did not fit)"
    try:
        info = _info(ex)
    except LossvizInputError as exc2:
        st.error(f"{exc2}")
        st.stop()
_write_shared(ex, example_in)

opts: list[str] = info["options"]
labels: dict[str, str] = info["labels"]
short: dict[str, str] = info["short"]
if len(opts) < 2 or not info["pair"]:
    st.info(
        "The landscape varies two numbers of the prediction, but this example has only one. "
        "Give the prediction at least two values on the explorer page."
    )
    st.stop()

_guard("ls_i", lambda v: v in opts, "the x element", short[info["pair"][0]])
_guard("ls_j", lambda v: v in opts, "the y element", short[info["pair"][1]])
for k, d in (("ls_i", 0), ("ls_j", 1)):
    if reset or (k in st.session_state and st.session_state[k] not in opts):
        st.session_state[k] = info["pair"][d]
xk = top[2].selectbox(
    "x axis: vary this number",
    opts,
    index=opts.index(info["pair"][0]),
    key="ls_i",
    format_func=labels.get,
    bind="query-params",
)
yk = top[3].selectbox(
    "y axis: and this one",
    opts,
    index=opts.index(info["pair"][1]),
    key="ls_j",
    format_func=labels.get,
    bind="query-params",
)

row = st.columns([1.2, 1.6, 1, 1, 0.8])
_guard(
    "ls_res",
    lambda v: v.isdigit() and int(v) in RES_OPTIONS,
    "the resolution",
    f"{S.DEFAULT_RESOLUTION}×{S.DEFAULT_RESOLUTION} (choose one of {', '.join(map(str, RES_OPTIONS))})",
)
res = row[0].select_slider(
    "Resolution (points per axis)",
    RES_OPTIONS,
    value=S.DEFAULT_RESOLUTION,
    key="ls_res",
    bind="query-params",
    help="Grid points per axis; 301 means 301×301 = 90,601 points.",
)
range_text = row[1].text_input(
    "Ranges: x from, x to, y from, y to",
    value="",
    key="ls_range",
    bind="query-params",
    placeholder="auto",
    help="Leave empty for a range around the current example "
    "that includes the lowest point; e.g. -3, 3, -2, 2.",
)
_guard(
    "ls_lr",
    _is_float_in(1e-6, 1e4),
    "the learning rate",
    "an automatic one (a rate must be from 1e-06 to 10000)",
)
lr_in = row[2].number_input(
    "Learning rate",
    min_value=1e-6,
    max_value=1e4,
    value=None,
    key="ls_lr",
    bind="query-params",
    format="%g",
    placeholder="auto",
    help="Step size of gradient descent. Empty: one chosen so the first step is visible.",
)
_guard(
    "ls_steps",
    _is_float_in(1, MAX_PAGE_STEPS),
    "the number of steps",
    f"{DEFAULT_STEPS} (1 to {MAX_PAGE_STEPS})",
)
steps = int(
    row[3].number_input(
        "Descent steps",
        min_value=1,
        max_value=MAX_PAGE_STEPS,
        value=DEFAULT_STEPS,
        step=1,
        key="ls_steps",
        bind="query-params",
    )
)
arrows = row[4].checkbox(
    "Arrows", value=True, key="ls_arrows", bind="query-params", help="Draw −∇L on the contours."
)

st.session_state[SEEN] = True

if xk == yk:
    st.error("Choose two different numbers for the x and y axes.")
    st.stop()

# ranges: empty -> automatic; a bad text -> a plain error and the automatic ranges
setup = _setup(ex)
try:
    parsed = S.parse_ranges(range_text)
except LossvizInputError as exc:
    st.error(f"{exc}. Using automatic ranges.")
    parsed = None
xr = parsed[0] if parsed else _auto_range(ex, xk)
yr = parsed[1] if parsed and parsed[1] else _auto_range(ex, yk)
try:
    xr, x_note = S.check_range(setup, S.parse_element(setup, xk), xr)
    yr, y_note = S.check_range(setup, S.parse_element(setup, yk), yr)
    for note in (x_note, y_note):
        if note:
            st.info(note)
except LossvizInputError as exc:
    st.error(f"{exc}. Using automatic ranges.")
    xr, yr = _auto_range(ex, xk), _auto_range(ex, yk)
xr, yr = (float(xr[0]), float(xr[1])), (float(yr[0]), float(yr[1]))

span = max(xr[1] - xr[0], yr[1] - yr[0])
lr = float(lr_in) if lr_in else _lr(ex, xk, yk, span)

try:
    surface = _surface(ex, xk, yk, xr, yr, int(res))
    path = _path(ex, (xk, yk), lr, steps)
except LossvizInputError as exc:
    st.error(str(exc))
    st.stop()

c = surface.current
st.markdown(
    f"**{loss}**, reduction `'{reduction}'`, on {origin}"
    + (f" (transform `{ex.transform}`)" if ex.transform != "none" else "")
    + f". At the current example L = **{c.loss:.5g}**, ∂L/∂{surface.x_label} = {c.grad[0]:.4g}, "
    f"∂L/∂{surface.y_label} = {c.grad[1]:.4g}."
    + (
        " With reduction 'none' the landscape shows the *sum* of the per-element losses (what backward() "
        "differentiates)."
        if reduction == "none"
        else ""
    )
)
for n in surface.notes:
    st.info(n)

tabs = st.tabs(list(TABS), key="ls_view", bind="query-params")
lr_note = "" if lr_in else " (automatic)"

with tabs[0]:
    if tabs[0].open is not False:
        st.caption(
            f"Left: contour map (dark = low loss) with arrows of −∇L; right: the same loss as a 3-D surface — drag "
            f"to rotate. ★ marks the lowest point on the grid; the white path is {path.taken} steps of gradient "
            f"descent with learning rate {lr:g}{lr_note}. Hover anywhere for the coordinates, the loss and the gradient."
        )
        left, right = st.columns(2)
        with left:
            st.plotly_chart(
                _fig_contour(ex, xk, yk, xr, yr, int(res), lr, steps, bool(arrows)),
                theme="streamlit",
                key="ls_fig_contour",
            )
        with right:
            st.plotly_chart(
                _fig_3d(ex, xk, yk, xr, yr, int(res), lr, steps), theme="streamlit", key="ls_fig_3d"
            )
        st.caption(
            f"{surface.resolution}×{surface.resolution} grid computed in one batched torch call "
            f"({surface.method}) in {surface.seconds * 1000:.0f} ms."
        )

with tabs[1]:
    if tabs[1].open:
        show = {
            "converged": st.success,
            "descending": st.info,
            "bouncing": st.warning,
            "stuck": st.warning,
            "diverged": st.error,
        }[path.status]
        show(f"Learning rate {lr:g}{lr_note}: {path.message}")
        st.caption(
            "Each step moves against the gradient: x ← x − lr·∇L. With L1 the gradient has the same size "
            "everywhere, so the steps never shrink; with MSE it fades near the minimum, so the steps do too. "
            "Press ▶ to watch; try a larger learning rate to see it diverge."
        )
        left, right = st.columns([1.2, 1])
        with left:
            st.plotly_chart(
                _fig_anim(ex, xk, yk, xr, yr, int(res), lr, steps), theme="streamlit", key="ls_fig_anim"
            )
        with right:
            st.plotly_chart(make_descent_loss_figure(path), theme="streamlit", key="ls_fig_steps")

with tabs[2]:
    if tabs[2].open:
        comparable, family = _comparable(ex)
        held = st.session_state.get("ls_compare")
        if held is not None and any(v not in comparable for v in held):
            st.session_state["ls_compare"] = [v for v in held if v in comparable]
        if comparable:
            chosen = st.multiselect(
                "Overlay other losses on the same example",
                comparable,
                default=family,
                key="ls_compare",
                bind="query-params",
                help="Only losses that accept these very tensors without a warning are offered.",
            )
        else:
            chosen = []
            st.caption("No other catalog loss accepts this example as it is, so there is nothing to overlay.")
        st.caption(
            f"The loss (top) and its slope (bottom) as {short[xk]} sweeps its range and everything else "
            "stays fixed. A slope that stays large far from the target (L1, hinge) keeps pushing hard; one "
            "that fades (MSE near the target, cross-entropy once the class wins) stops pushing."
        )
        try:
            curves = _curves(ex, xk, xr, tuple(chosen))
            st.plotly_chart(make_curve_figure(curves), theme="streamlit", key="ls_fig_curve")
            for a, b in S.coinciding(curves):
                st.caption(f"{a} and {b} draw the same curve here (one hides the other).")
        except LossvizInputError as exc:
            st.error(str(exc))
        margin = st.expander(
            "Classic picture: classification losses against the margin y·z",
            key="ls_margin",
            bind="query-params",
        )
        with margin:
            if margin.open:
                st.caption(
                    "One example with label y = +1 and score z, so the margin is m = y·z. Logistic losses "
                    "(BCEWithLogits, SoftMargin: identical) never reach zero; the hinge is exactly zero "
                    "once m ≥ 1; MSE against the label also punishes being *too* right."
                )
                st.plotly_chart(
                    make_curve_figure(
                        _margin(),
                        title="losses against the margin m = y·z",
                        x_title="margin m = y·z",
                        mark_current=False,
                        loss_range=(-0.2, 4.0),
                        slope_range=(-3.0, 1.5),
                    ),
                    theme="streamlit",
                    key="ls_fig_margin",
                )

with tabs[3]:
    if tabs[3].open:
        try:
            red_curves = _reductions(ex, xk, xr)
            ratios = S.reduction_ratio(red_curves)
            sum_ratio = ratios.get("sum")
            if sum_ratio and sum_ratio == sum_ratio:
                st.markdown(
                    f"Same data, different reduction: here **'sum' = {sum_ratio:.4g} × 'mean'** at the current "
                    f"point, so the surface is {sum_ratio:.4g}× taller, every gradient {sum_ratio:.4g}× longer, and "
                    f"the same learning rate takes {sum_ratio:.4g}× bigger steps."
                )
            st.plotly_chart(
                make_curve_figure(red_curves, title=f"{loss}: the same sweep under each reduction"),
                theme="streamlit",
                key="ls_fig_red",
            )
            pairs = _reduction_paths(ex, (xk, yk), lr, steps)
            st.caption(f"Gradient descent with the same learning rate ({lr:g}) under each reduction:")
            st.plotly_chart(
                make_descent_loss_figure([p for _, p in pairs], labels=[f"'{r}'" for r, _ in pairs]),
                theme="streamlit",
                key="ls_fig_red_steps",
            )
        except LossvizInputError as exc:
            st.error(str(exc))

if info["warnings"]:
    with st.expander("Warnings about this example"):
        for w in info["warnings"]:
            st.write("• " + w)
