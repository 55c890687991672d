"""Loss landscape: loss curves, 2-D/3-D surfaces, gradient fields and descent paths.

The page lays out widgets and draws; every number comes from ``lossviz.landscape`` (batched through
the real ``torch.nn`` module) and every decision (defaults, link checking, range and learning-rate
fallbacks) from ``lossviz.landscape.view``. It draws the session's one ``Example`` (the explorer's),
checked through the explorer's own input path; its loss and reduction selectors change that example
for both pages. Its own controls live in the URL under ``ls_`` keys.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
import streamlit as st

from lossviz import LossvizInputError
from lossviz import session as K
from lossviz.explore import Example
from lossviz.landscape import (
    DEFAULT_RESOLUTION,
    LR_HIGH,
    LR_LOW,
    MAX_PAGE_STEPS,
    RES_OPTIONS,
    TABS,
    VERDICT_LEVEL,
    Curve,
    DescentPath,
    Setup,
    Surface,
    coinciding,
    comparable_losses,
    compare_curves,
    compare_reductions,
    compute_surface,
    default_comparison,
    defaults,
    descend,
    element_description,
    element_label,
    learning_rate,
    make_contour_figure,
    make_curve_figure,
    make_descent_animation_figure,
    make_descent_loss_figure,
    make_surface3d_figure,
    margin_curves,
    other_reductions,
    parse_element,
    prediction_elements,
    read_view,
    reduction_ratio,
    resolve_ranges,
    setup_for,
    view_query,
)
from lossviz.losses import get_loss, list_losses
from pages import deep_link_guard, query, write_link

deep_link_guard()

# --------------------------------------------------------------------------- cached computations


@st.cache_resource(max_entries=64, show_spinner=False)
def _setup(ex: Example) -> Setup:
    return setup_for(ex)


@st.cache_data(max_entries=64, show_spinner="Computing the surface…")
def _surface(ex: Example, xk: str, yk: str, xr: tuple, yr: tuple, res: int) -> Surface:
    s = _setup(ex)
    return compute_surface(s, parse_element(s, xk), parse_element(s, yk), x_range=xr, y_range=yr, resolution=res)


@st.cache_data(max_entries=64, show_spinner=False)
def _path(ex: Example, keys: tuple[str, ...], lr: float, steps: int) -> DescentPath:
    s = _setup(ex)
    return descend(s, tuple(parse_element(s, k) for k in keys), lr=lr, steps=steps)


@st.cache_data(max_entries=64, show_spinner=False)
def _curves(ex: Example, key: str, xr: tuple, others: tuple[str, ...]) -> list[Curve]:
    s = _setup(ex)
    return compare_curves(s, parse_element(s, key), others, x_range=xr)


@st.cache_data(max_entries=64, show_spinner=False)
def _reductions(ex: Example, key: str, xr: tuple) -> list[Curve]:
    s = _setup(ex)
    return compare_reductions(s, parse_element(s, key), x_range=xr)


@st.cache_data(show_spinner=False)
def _margin() -> list[Curve]:
    return margin_curves()


# Figures are cached as shared objects (st.plotly_chart only reads them): an unrelated widget does not rebuild them.
@st.cache_resource(max_entries=32, show_spinner=False)
def _fig(kind: str, ex: Example, xk: str, yk: str, xr: tuple, yr: tuple, res: int, lr: float, steps: int,
         arrows: bool) -> go.Figure:
    surface, path = _surface(ex, xk, yk, xr, yr, res), _path(ex, (xk, yk), lr, steps)
    if kind == "contour":
        return make_contour_figure(surface, path=path, arrows=17 if arrows else 0)
    if kind == "3d":
        return make_surface3d_figure(surface, path=path)
    return make_descent_animation_figure(surface, path)


# --------------------------------------------------------------------------- what the user chose


def _shared() -> Example:
    if K.EXAMPLE not in st.session_state:
        ex, notes = Example.from_query(query())
        st.session_state[K.EXAMPLE] = ex
        for n in notes:
            st.warning(n)
    return st.session_state[K.EXAMPLE]


def _on_loss() -> None:
    ex, _ = _shared().with_loss(st.session_state[K.LANDSCAPE_LOSS], fallback=Example.for_landscape)
    st.session_state[K.EXAMPLE] = ex


def _on_reduction() -> None:
    st.session_state[K.EXAMPLE] = _shared().replace(reduction=st.session_state[K.LANDSCAPE_REDUCTION], preset="")


def example_ui(col_loss: Any, col_red: Any) -> Example:
    """The session's example, with this page's loss and reduction selectors (they change it for both pages)."""
    ex = _shared()
    st.session_state[K.LANDSCAPE_LOSS] = ex.loss
    st.session_state[K.LANDSCAPE_REDUCTION] = ex.reduction
    col_loss.selectbox("Loss", list_losses(), key=K.LANDSCAPE_LOSS, on_change=_on_loss,
                       help="The torch.nn loss whose landscape is drawn.")
    col_red.selectbox("Reduction", get_loss(ex.loss).reductions, key=K.LANDSCAPE_REDUCTION, on_change=_on_reduction,
                      help="'mean' divides by the number of elements, 'sum' adds them: same shape, different scale.")
    return st.session_state[K.EXAMPLE]


def drawable_ui(ex: Example) -> tuple[Example, Setup, str]:
    """The example to draw and where it came from; the loss's small example when the session's does not fit."""
    small = Example.for_landscape(ex.loss)
    same = (ex.texts, ex.transform, ex.params, ex.shapes) == (small.texts, small.transform, small.params, small.shapes)
    try:
        return ex, _setup(ex), "a small example" if same else "the example from the explorer"
    except LossvizInputError as exc:
        st.error(f"This example cannot be used: {exc}")
    small = small.replace(reduction=ex.reduction) if ex.reduction in get_loss(ex.loss).reductions else small
    try:
        return small, _setup(small), "a small example (the explorer's did not fit)"
    except LossvizInputError as exc:
        st.error(str(exc))
        st.stop()
        raise


def view_ui(setup: Setup, cols: list[Any], row: list[Any]) -> dict[str, Any]:
    """The page's controls: set from the link on the first visit, reset for a new loss, then drawn."""
    try:
        start = defaults(setup)
    except LossvizInputError:
        st.info("The landscape varies two numbers of the prediction, but this example has only one. "
                "Give the prediction at least two values on the explorer page.")
        st.stop()
    if not st.session_state.get(K.LANDSCAPE_SEEN):
        values, notes = read_view(query(), setup)
        for n in notes:
            st.warning(n)
        st.session_state.update({**start, **values})
    elif st.session_state.get(K.LANDSCAPE_SHOWN) != setup.loss:  # a new loss: its own elements, ranges, rate
        keep = (K.LANDSCAPE_RESOLUTION, K.LANDSCAPE_STEPS, K.LANDSCAPE_ARROWS, K.LANDSCAPE_TAB, K.LANDSCAPE_MARGIN)
        st.session_state.update({k: v for k, v in start.items() if k not in keep})
        st.session_state.pop(K.LANDSCAPE_COMPARE, None)
    keys = [e.key for e in prediction_elements(setup)]
    for k in (K.LANDSCAPE_X, K.LANDSCAPE_Y):
        if st.session_state.get(k) not in keys:
            st.session_state[k] = start[k]
    st.session_state[K.LANDSCAPE_SEEN] = True
    st.session_state[K.LANDSCAPE_SHOWN] = setup.loss
    labels = {e.key: element_description(setup, e) for e in prediction_elements(setup)}
    cols[0].selectbox("x axis: vary this number", keys, key=K.LANDSCAPE_X, format_func=labels.get)
    cols[1].selectbox("y axis: and this one", keys, key=K.LANDSCAPE_Y, format_func=labels.get)
    row[0].select_slider("Resolution (points per axis)", RES_OPTIONS, key=K.LANDSCAPE_RESOLUTION,
                         help="Grid points per axis; 301 means 301×301 = 90,601 points.")
    row[1].text_input("Ranges: x from, x to, y from, y to", key=K.LANDSCAPE_RANGE, placeholder="auto",
                      help="Leave empty for a range around the current example that includes the lowest point; "
                      "e.g. -3, 3, -2, 2.")
    row[2].number_input("Learning rate", min_value=LR_LOW, max_value=LR_HIGH, key=K.LANDSCAPE_LR, format="%g",
                        placeholder="auto", help="Step size of gradient descent. Empty: one chosen so the first "
                        "step is visible.")
    row[3].number_input("Descent steps", min_value=1, max_value=MAX_PAGE_STEPS, step=1, key=K.LANDSCAPE_STEPS)
    row[4].checkbox("Arrows", key=K.LANDSCAPE_ARROWS, help="Draw −∇L on the contours.")
    return {k: st.session_state.get(k) for k in (*start, K.LANDSCAPE_COMPARE)}


def link() -> None:
    """The address bar: the shared example and this page's controls, as keys."""
    values = {k: st.session_state.get(k) for k in (*defaults_keys(), K.LANDSCAPE_COMPARE)}
    write_link({**_shared().to_query(), **view_query(values)})


def defaults_keys() -> tuple[str, ...]:
    return (K.LANDSCAPE_X, K.LANDSCAPE_Y, K.LANDSCAPE_RESOLUTION, K.LANDSCAPE_RANGE, K.LANDSCAPE_LR,
            K.LANDSCAPE_STEPS, K.LANDSCAPE_ARROWS, K.LANDSCAPE_TAB, K.LANDSCAPE_MARGIN)


# --------------------------------------------------------------------------- page

st.title("⛰️ Loss landscape")
st.markdown(
    "Pick two numbers of the prediction and watch how the loss changes as they move: the colours and the "
    "3-D height are the loss, the arrows point **downhill** (−∇L, the direction gradient descent steps), "
    "and the white path is gradient descent starting from your current example (🟠)."
)
top = st.columns([1.3, 1, 1.6, 1.6])
chosen = example_ui(top[0], top[1])
ex, setup, origin = drawable_ui(chosen)
view = view_ui(setup, top[2:], st.columns([1.2, 1.6, 1, 1, 0.8]))
xk, yk, steps = view[K.LANDSCAPE_X], view[K.LANDSCAPE_Y], int(view[K.LANDSCAPE_STEPS])
res = int(view[K.LANDSCAPE_RESOLUTION] or DEFAULT_RESOLUTION)
link()
if xk == yk:
    st.error("Choose two different numbers for the x and y axes.")
    st.stop()

ranges = resolve_ranges(setup, xk, yk, view[K.LANDSCAPE_RANGE] or "")
for e in ranges.errors:
    st.error(e)
for n in ranges.notes:
    st.info(n)
xr, yr = ranges.x, ranges.y
lr, automatic = learning_rate(setup, xk, yk, ranges, view[K.LANDSCAPE_LR])
lr_note = " (automatic)" if automatic else ""
try:
    surface = _surface(ex, xk, yk, xr, yr, res)
    path = _path(ex, (xk, yk), lr, steps)
except LossvizInputError as exc:
    st.error(str(exc))
    st.stop()

c = surface.current
st.markdown(
    f"**{ex.loss}**, reduction `'{ex.reduction}'`, on {origin}"
    + (f" (transform `{ex.transform}`)" if ex.transform != "none" else "")
    + f". At the current example L = **{c.loss:.5g}**, ∂L/∂{surface.x_label} = {c.grad[0]:.4g}, "
    f"∂L/∂{surface.y_label} = {c.grad[1]:.4g}."
    + (" With reduction 'none' the landscape shows the *sum* of the per-element losses (what backward() "
       "differentiates)." if ex.reduction == "none" else "")
)
for n in surface.notes:
    st.info(n)

tabs = st.tabs(list(TABS), key=K.LANDSCAPE_TAB, on_change="rerun")
figure_args = (ex, xk, yk, xr, yr, res, lr, steps)
arrows = bool(view[K.LANDSCAPE_ARROWS])

with tabs[0]:
    if tabs[0].open is not False:
        st.caption(
            f"Left: contour map (dark = low loss) with arrows of −∇L; right: the same loss as a 3-D surface — drag "
            f"to rotate. ★ marks the lowest point on the grid; the white path is {path.taken} steps of gradient "
            f"descent with learning rate {lr:g}{lr_note}. Hover anywhere for the coordinates, the loss and the gradient."
        )
        left, right = st.columns(2)
        left.plotly_chart(_fig("contour", *figure_args, arrows), theme="streamlit", key="ls_fig_contour")
        right.plotly_chart(_fig("3d", *figure_args, False), theme="streamlit", key="ls_fig_3d")
        st.caption(f"{surface.resolution}×{surface.resolution} grid computed in one batched torch call "
                   f"({surface.method}) in {surface.seconds * 1000:.0f} ms.")

with tabs[1]:
    if tabs[1].open:
        getattr(st, VERDICT_LEVEL[path.status])(f"Learning rate {lr:g}{lr_note}: {path.message}")
        st.caption(
            "Each step moves against the gradient: x ← x − lr·∇L. With L1 the gradient has the same size "
            "everywhere, so the steps never shrink; with MSE it fades near the minimum, so the steps do too. "
            "Press ▶ to watch; try a larger learning rate to see it diverge."
        )
        left, right = st.columns([1.2, 1])
        left.plotly_chart(_fig("anim", *figure_args, False), theme="streamlit", key="ls_fig_anim")
        right.plotly_chart(make_descent_loss_figure(path), theme="streamlit", key="ls_fig_steps")

with tabs[2]:
    if tabs[2].open:
        comparable = comparable_losses(setup)
        if K.LANDSCAPE_COMPARE not in st.session_state:
            st.session_state[K.LANDSCAPE_COMPARE] = default_comparison(setup)
        st.session_state[K.LANDSCAPE_COMPARE] = [v for v in st.session_state[K.LANDSCAPE_COMPARE] if v in comparable]
        if comparable:
            overlay = st.multiselect("Overlay other losses on the same example", comparable, key=K.LANDSCAPE_COMPARE,
                                     help="Only losses that accept these very tensors without a warning are offered.")
        else:
            overlay = []
            st.caption("No other catalog loss accepts this example as it is, so there is nothing to overlay.")
        st.caption(
            f"The loss (top) and its slope (bottom) as {element_label(setup, parse_element(setup, xk))} sweeps its "
            "range and everything else stays fixed. A slope that stays large far from the target (L1, hinge) keeps "
            "pushing hard; one that fades (MSE near the target, cross-entropy once the class wins) stops pushing."
        )
        try:
            curves = _curves(ex, xk, xr, tuple(overlay))
            st.plotly_chart(make_curve_figure(curves), theme="streamlit", key="ls_fig_curve")
            for a, b in coinciding(curves):
                st.caption(f"{a} and {b} draw the same curve here (one hides the other).")
        except LossvizInputError as exc:
            st.error(str(exc))
        margin = st.expander("Classic picture: classification losses against the margin y·z", key=K.LANDSCAPE_MARGIN,
                             on_change="rerun")
        with margin:
            if margin.open:
                st.caption(
                    "One example with label y = +1 and score z, so the margin is m = y·z. Logistic losses "
                    "(BCEWithLogits, SoftMargin: identical) never reach zero; the hinge is exactly zero "
                    "once m ≥ 1; MSE against the label also punishes being *too* right."
                )
                st.plotly_chart(
                    make_curve_figure(_margin(), title="losses against the margin m = y·z", x_title="margin m = y·z",
                                      mark_current=False, loss_range=(-0.2, 4.0), slope_range=(-3.0, 1.5)),
                    theme="streamlit", key="ls_fig_margin",
                )

with tabs[3]:
    if tabs[3].open:
        try:
            red_curves = _reductions(ex, xk, xr)
            sum_ratio = reduction_ratio(red_curves).get("sum")
            if sum_ratio and sum_ratio == sum_ratio:
                st.markdown(
                    f"Same data, different reduction: here **'sum' = {sum_ratio:.4g} × 'mean'** at the current "
                    f"point, so the surface is {sum_ratio:.4g}× taller, every gradient {sum_ratio:.4g}× longer, and "
                    f"the same learning rate takes {sum_ratio:.4g}× bigger steps."
                )
            st.plotly_chart(make_curve_figure(red_curves, title=f"{ex.loss}: the same sweep under each reduction"),
                            theme="streamlit", key="ls_fig_red")
            reds = other_reductions(setup)
            paths = [_path(ex.replace(reduction=r), (xk, yk), lr, steps) for r in reds]
            st.caption(f"Gradient descent with the same learning rate ({lr:g}) under each reduction:")
            st.plotly_chart(make_descent_loss_figure(paths, labels=[f"'{r}'" for r in reds]),
                            theme="streamlit", key="ls_fig_red_steps")
        except LossvizInputError as exc:
            st.error(str(exc))

if setup.warnings:
    with st.expander("Warnings about this example"):
        for w in setup.warnings:
            st.write("• " + w)

link()
