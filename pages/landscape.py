"""Loss landscape: loss curves, 2-D/3-D surfaces, gradient fields and descent paths. Lays out widgets and
draws; numbers and decisions come from ``lossviz.landscape``. It draws the session's one ``Example`` (checked
through the explorer's input path); its loss and reduction selectors change it for both pages. URL keys: ``ls_``."""

from __future__ import annotations

from typing import Any

import streamlit as st

import lossviz.landscape as ls
from lossviz import LossvizInputError
from lossviz import session as K
from lossviz.explore import Example
from lossviz.i18n import render, tr
from lossviz.losses import get_loss, list_losses
from pages import chart, deep_link_guard, link_notes, page_chrome, query, say, shared_example, write_link
from pages.parts.landscape_cache import (
    _comparable,
    _curves,
    _fig,
    _labels,
    _margin_fig,
    _path,
    _setup,
    _surface,
)

deep_link_guard()
VIEW_KEYS = (K.LANDSCAPE_X, K.LANDSCAPE_Y, K.LANDSCAPE_RESOLUTION, K.LANDSCAPE_RANGE, K.LANDSCAPE_LR,
             K.LANDSCAPE_STEPS, K.LANDSCAPE_ARROWS, K.LANDSCAPE_TAB, K.LANDSCAPE_MARGIN, K.LANDSCAPE_COMPARE)

# --------------------------------------------------------------------------- what the user chose


def _on_loss() -> None:
    loss = st.session_state[K.LANDSCAPE_LOSS]
    st.session_state[K.EXAMPLE] = shared_example().with_loss(loss, fallback=Example.for_landscape)[0]


def _on_reduction() -> None:
    red = st.session_state[K.LANDSCAPE_REDUCTION]
    st.session_state[K.EXAMPLE] = shared_example().replace(reduction=red, preset="")


def example_ui(lang: str, col_loss: Any, col_red: Any) -> Example:
    """The session's example, with this page's loss and reduction selectors (they change it for both pages)."""
    ex = shared_example()
    for n in link_notes():
        say("warning", render(n, lang))
    st.session_state[K.LANDSCAPE_LOSS], st.session_state[K.LANDSCAPE_REDUCTION] = ex.loss, ex.reduction
    col_loss.selectbox(tr("landscape.loss", lang), list_losses(), key=K.LANDSCAPE_LOSS, on_change=_on_loss,
                       help=tr("landscape.loss_help", lang))
    col_red.selectbox(tr("landscape.reduction", lang), get_loss(ex.loss).reductions, key=K.LANDSCAPE_REDUCTION,
                      on_change=_on_reduction, help=tr("landscape.reduction_help", lang))
    return st.session_state[K.EXAMPLE]


def drawable_ui(lang: str, ex: Example) -> tuple[Example, ls.Setup, str]:
    """The example to draw and where it came from; the loss's small example when the session's does not fit."""
    small = Example.for_landscape(ex.loss)
    same = (ex.texts, ex.transform, ex.params, ex.shapes) == (small.texts, small.transform, small.params, small.shapes)
    try:
        return ex, _setup(ex), tr("landscape.from_small" if same else "landscape.from_explorer", lang)
    except LossvizInputError as exc:
        st.error(tr("landscape.cannot_use", lang, exc=exc))
    small = small.replace(reduction=ex.reduction) if ex.reduction in get_loss(ex.loss).reductions else small
    try:
        return small, _setup(small), tr("landscape.from_fallback", lang)
    except LossvizInputError as exc:
        st.error(render(exc, lang))
        st.stop()
        raise


def view_ui(lang: str, ex: Example, setup: ls.Setup, cols: list[Any], row: list[Any]) -> dict[str, Any]:
    """The page's controls: set from the link on the first visit, reset for a new loss, then drawn."""
    try:
        values, notes = ls.settle(st.session_state, setup, query())
    except LossvizInputError:
        st.info(tr("landscape.one_number", lang))
        st.stop()
    for n in notes:
        say("warning", render(n, lang))
    st.session_state.update(values)
    labels = _labels(ex, lang)
    cols[0].selectbox(tr("landscape.x", lang), list(labels), key=K.LANDSCAPE_X, format_func=labels.get)
    cols[1].selectbox(tr("landscape.y", lang), list(labels), key=K.LANDSCAPE_Y, format_func=labels.get)
    row[0].select_slider(tr("landscape.resolution", lang), ls.RES_OPTIONS, key=K.LANDSCAPE_RESOLUTION,
                         help=tr("landscape.resolution_help", lang))
    row[1].text_input(tr("landscape.ranges", lang), key=K.LANDSCAPE_RANGE, placeholder="auto",
                      help=tr("landscape.ranges_help", lang))
    row[2].number_input(tr("landscape.lr", lang), min_value=ls.LR_LOW, max_value=ls.LR_HIGH, key=K.LANDSCAPE_LR,
                        format="%g", placeholder="auto", help=tr("landscape.lr_help", lang))
    row[3].number_input(tr("landscape.steps", lang), min_value=1, max_value=ls.MAX_PAGE_STEPS, step=1,
                        key=K.LANDSCAPE_STEPS)
    row[4].checkbox(tr("landscape.arrows", lang), key=K.LANDSCAPE_ARROWS, help=tr("landscape.arrows_help", lang))
    drawn = {k: st.session_state.get(k) for k in VIEW_KEYS}
    st.session_state[K.LANDSCAPE_SAVED] = drawn  # outlives a visit to another page (ls.settle brings it back)
    return drawn


def link() -> None:
    """The address bar: the shared example and this page's controls, as keys."""
    write_link({**shared_example().to_query(), **ls.view_query({k: st.session_state.get(k) for k in VIEW_KEYS})})


# --------------------------------------------------------------------------- page

L = page_chrome(K.LANDSCAPE)
st.title(tr("landscape.title", L))
st.markdown(tr("landscape.intro", L))
ex, setup, origin = drawable_ui(L, example_ui(L, *st.columns(2)))
# axis pickers: a row of their own, stacked when narrow (the page's longest options, never cut at 1024 px)
view = view_ui(L, ex, setup, st.container(key="lv_wide_axes").columns(2), st.columns([1.2, 1.6, 1, 1, 0.8]))
xk, yk, steps = view[K.LANDSCAPE_X], view[K.LANDSCAPE_Y], int(view[K.LANDSCAPE_STEPS])
res = int(view[K.LANDSCAPE_RESOLUTION] or ls.DEFAULT_RESOLUTION)
link()
if xk == yk:
    st.error(tr("landscape.same_axes", L))
    st.stop()

ranges = ls.resolve_ranges(setup, xk, yk, view[K.LANDSCAPE_RANGE] or "")
for level, text in ranges.messages():
    getattr(st, level)(render(text, L))
xr, yr = ranges.x, ranges.y
lr, automatic = ls.learning_rate(setup, xk, yk, ranges, view[K.LANDSCAPE_LR])
auto = tr("landscape.automatic", L) if automatic else ""
try:
    surface, path = _surface(ex, xk, yk, xr, yr, res), _path(ex, (xk, yk), lr, steps)
except LossvizInputError as exc:
    st.error(render(exc, L))
    st.stop()

c = surface.current
st.markdown(
    tr("landscape.summary", L, loss=ex.loss, reduction=ex.reduction, origin=origin,
       transform=tr("landscape.transform", L, transform=ex.transform) if ex.transform != "none" else "",
       value=f"{c.loss:.5g}", x=surface.x_label, gx=f"{c.grad[0]:.4g}", y=surface.y_label, gy=f"{c.grad[1]:.4g}")
    + (tr("landscape.none_sum", L) if ex.reduction == "none" else "")
)
for n in surface.notes:
    st.info(render(n, L))

st.session_state[K.LANDSCAPE_TAB] = ls.tab_label(ls.tab_key(st.session_state.get(K.LANDSCAPE_TAB)), L)
tabs = st.tabs([ls.tab_label(k, L) for k in ls.TABS], key=K.LANDSCAPE_TAB, on_change="rerun")
grid = (ex, xk, yk, xr, yr, res, lr, steps)

with tabs[0]:
    if tabs[0].open is not False:
        st.caption(tr("landscape.surface_caption", L, steps=path.taken, lr=f"{lr:g}", auto=auto))
        left, right = st.container(key="lv_charts_surface").columns(2)
        chart(left, _fig("contour", *grid, bool(view[K.LANDSCAPE_ARROWS]), lang=L), key="ls_fig_contour")
        chart(right, _fig("3d", *grid, lang=L), key="ls_fig_3d")
        st.caption(tr("landscape.grid_caption", L, n=surface.resolution, method=surface.method,
                      ms=f"{surface.seconds * 1000:.0f}"))

with tabs[1]:
    if tabs[1].open:
        getattr(st, ls.VERDICT_LEVEL[path.status])(tr("landscape.verdict", L, lr=f"{lr:g}", auto=auto,
                                                       message=path.message))
        st.caption(tr("landscape.descent_caption", L))
        left, right = st.container(key="lv_charts_descent").columns([1.2, 1])
        chart(left, _fig("anim", *grid, lang=L), key="ls_fig_anim")
        chart(right, ls.make_descent_loss_figure(path, lang=L), key="ls_fig_steps")

with tabs[2]:
    if tabs[2].open:
        comparable, family = _comparable(ex)
        held = st.session_state.get(K.LANDSCAPE_COMPARE)
        st.session_state[K.LANDSCAPE_COMPARE] = [v for v in (family if held is None else held) if v in comparable]
        overlay = st.multiselect(tr("landscape.overlay", L), comparable, key=K.LANDSCAPE_COMPARE,
                                 help=tr("landscape.overlay_help", L)) if comparable else []
        if not comparable:
            st.caption(tr("landscape.no_overlay", L))
        st.caption(tr("landscape.curve_caption", L, x=ls.element_label(setup, ls.parse_element(setup, xk))))
        try:
            curves = _curves(ex, xk, xr, tuple(overlay))
            chart(st, ls.make_curve_figure(curves, lang=L), key="ls_fig_curve")
            for a, b in ls.coinciding(curves):
                st.caption(tr("landscape.same_curve", L, a=a, b=b))
        except LossvizInputError as exc:
            st.error(render(exc, L))
        margin = st.expander(tr("landscape.margin", L), key=K.LANDSCAPE_MARGIN, on_change="rerun")
        with margin:
            if margin.open:
                st.caption(tr("landscape.margin_caption", L))
                chart(st, _margin_fig(L), key="ls_fig_margin")

with tabs[3]:
    if tabs[3].open:
        try:
            red_curves = _curves(ex, xk, xr, None)
            r = ls.reduction_ratio(red_curves).get("sum")
            if r and r == r:
                st.markdown(tr("landscape.sum_ratio", L, r=f"{r:.4g}"))
            chart(st, ls.make_curve_figure(red_curves, title=tr("landscape.red_title", L, loss=ex.loss), lang=L),
                  key="ls_fig_red")
            reds = ls.other_reductions(setup)
            paths = [_path(ex.replace(reduction=red), (xk, yk), lr, steps) for red in reds]
            st.caption(tr("landscape.red_paths", L, lr=f"{lr:g}"))
            chart(st, ls.make_descent_loss_figure(paths, labels=[f"'{red}'" for red in reds], lang=L),
                  key="ls_fig_red_steps")
        except LossvizInputError as exc:
            st.error(render(exc, L))

if setup.warnings:
    with st.expander(tr("landscape.warnings", L)):
        for w in setup.warnings:
            st.write("• " + render(w, L))

link()
