"""The landscape page's cached computations: the example's setup, surfaces, descent paths, curves and
the figures many sessions share (bounded: README, "Caches"). Computes through lossviz.landscape only."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

import lossviz.landscape as ls
from lossviz.explore import Example
from lossviz.i18n import tr

BIG_CACHE_TTL_S = 120  # seconds a surface or figure stays cached (README: Serving a classroom, Caches)

# --------------------------------------------------------------------------- cached computations


@st.cache_resource(max_entries=64, show_spinner=False)
def _setup(ex: Example) -> ls.Setup:
    return ls.setup_for(ex.finite_for_landscape())  # NaN/inf: the explorer's business, never a NaN surface


@st.cache_data(max_entries=64, show_spinner=False)
def _labels(ex: Example, lang: str) -> dict[str, str]:
    s = _setup(ex)
    return {e.key: ls.element_description(s, e, lang) for e in ls.prediction_elements(s)}


@st.cache_data(max_entries=64, show_spinner=False)
def _comparable(ex: Example) -> tuple[list[str], list[str]]:
    s = _setup(ex)
    return ls.comparable_losses(s), ls.default_comparison(s)


@st.cache_data(max_entries=64, max_size="48MB", ttl=BIG_CACHE_TTL_S, show_spinner="Computing the surface…")
def _surface(ex: Example, xk: str, yk: str, xr: tuple, yr: tuple, res: int) -> ls.Surface:
    s = _setup(ex)
    return ls.compute_surface(s, ls.parse_element(s, xk), ls.parse_element(s, yk), x_range=xr, y_range=yr,
                              resolution=res)


@st.cache_data(max_entries=64, show_spinner=False)
def _path(ex: Example, keys: tuple[str, ...], lr: float, steps: int) -> ls.DescentPath:
    s = _setup(ex)
    return ls.descend(s, tuple(ls.parse_element(s, k) for k in keys), lr=lr, steps=steps)


@st.cache_data(max_entries=64, show_spinner=False)
def _curves(ex: Example, key: str, xr: tuple, others: tuple[str, ...] | None) -> list[ls.Curve]:
    """The loss with ``others`` overlaid; ``None``: the same sweep under each reduction."""
    s, el = _setup(ex), ls.parse_element(_setup(ex), key)
    return ls.compare_reductions(s, el, x_range=xr) if others is None else ls.compare_curves(s, el, others, x_range=xr)


# Shared figure objects (st.plotly_chart only reads them), bounded by entries: <= 2.5 MB each (README: Caches).
@st.cache_resource(max_entries=12, ttl=BIG_CACHE_TTL_S, show_spinner=False)
def _fig(kind: str, ex: Example, xk: str, yk: str, xr: tuple, yr: tuple, res: int, lr: float, steps: int,
         arrows: bool = False, lang: str = "en") -> go.Figure:
    surface, path = _surface(ex, xk, yk, xr, yr, res), _path(ex, (xk, yk), lr, steps)
    if kind == "contour":
        return ls.make_contour_figure(surface, path=path, arrows=17 if arrows else 0, lang=lang)
    make = ls.make_surface3d_figure if kind == "3d" else ls.make_descent_animation_figure
    return make(surface, path=path, lang=lang)


@st.cache_resource(max_entries=2, show_spinner=False)  # one per language
def _margin_fig(lang: str) -> go.Figure:
    return ls.make_margin_figure(tr("landscape.margin_title", lang), tr("landscape.margin_x", lang), lang=lang)
