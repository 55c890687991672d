"""What every page shares: the deep-link guard, the language, and the link it writes.

This is ``pages/__init__.py`` on purpose: when a deep link makes Streamlit run a page in its legacy
``pages/`` mode, it lists every ``.py`` file in this folder as a page except names starting with a
dot and ``__init__.py``; so the shared helper lives here and never shows up in the menu.
Every page starts with ``deep_link_guard()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import plotly.graph_objects as go
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from lossviz import session as K
from lossviz.classroom import (
    figure_title,
    fit_formulas_js,
    layout_css,
    plot_config,
    present_from,
    presentation_css,
    style_figure,
)
from lossviz.explore import Example, make_grad_figure, make_loss_figure
from lossviz.i18n import LANGS, lang_from, tr
from pages.parts import room


def deep_link_guard() -> None:
    """A deep link (e.g. /landscape) opened before anyone has loaded "/" makes Streamlit run the page
    alone in its legacy pages/ mode, without app.py's navigation and page config. Hand over to
    app.py's st.navigation and rerun, so every first visit sees the page as designed."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def language() -> str:
    """The session's language: chosen on a page, else the link's ``lang``, else the browser's language
    (``zh*`` gives Chinese), else English."""
    if K.LANG not in st.session_state:
        st.session_state[K.LANG] = lang_from(_query_value(K.LANG_QUERY) or _browser_locale())
    return st.session_state[K.LANG]


def _browser_locale() -> str | None:
    try:
        return st.context.locale
    except Exception:  # noqa: BLE001 - no browser (AppTest, bare mode): no preference
        return None


def presenting() -> bool:
    """Presentation mode: switched on the sidebar, else the link's ``present=1``."""
    if K.PRESENT not in st.session_state:
        st.session_state[K.PRESENT] = present_from(_query_value(K.PRESENT_QUERY))
    return bool(st.session_state[K.PRESENT])


def classroom_ui(prefix: str) -> bool:
    """The presentation toggle, the class box and the "share with the class" QR box (sidebar); returns
    presentation mode. In presentation mode the page's text and charts are sized for a projector."""
    key = prefix + "present"
    st.session_state[key] = presenting()

    def toggled() -> None:
        st.session_state[K.PRESENT] = bool(st.session_state[key])

    lang = language()
    st.sidebar.toggle(tr("classroom.present", lang), key=key, on_change=toggled, help=tr("classroom.present_help", lang))
    room.class_ui(lang)
    room.share_slot(lang)
    if presenting():
        st.sidebar.markdown(presentation_css(), unsafe_allow_html=True)
    return presenting()


def page_chrome(prefix: str) -> str:
    """Every page's sidebar controls: the language switch, presentation mode, the class and share boxes, the
    page script (keys, SVG export); returns the language."""
    st.session_state[room.PAGE] = room.PAGE_OF.get(prefix, "explore")
    lang = language_ui(prefix)
    classroom_ui(prefix)
    st.sidebar.markdown(layout_css(), unsafe_allow_html=True)  # styles the whole page; the main area stays as drawn
    st.sidebar.html(fit_formulas_js(), unsafe_allow_javascript=True)  # our own script: formulas fit their column
    room.page_script(lang, presenting())
    return lang


def chart(where: Any, fig: go.Figure, *, key: str, **kwargs: Any) -> None:
    """Draw ``fig`` in ``where`` (st or a column), sized for the projector in presentation mode."""
    fig = style_figure(go.Figure(fig), present=presenting())  # a copy: cached figures stay as they were
    kwargs["config"] = {**kwargs.get("config", {}), **plot_config(figure_title(fig) or key, language())}
    where.plotly_chart(fig, theme="streamlit", key=key, **{"width": "stretch", **kwargs})


def config_for(fig: go.Figure, key: str) -> dict[str, Any]:
    """The chart config of ``fig`` (PNG at 3x named after its title, toolbar in the reader's language)."""
    return plot_config(figure_title(fig) or key, language())


def say(kind: str, text: object, icon: str | None = None) -> None:
    """Text from a link, a file or another program, shown as text (never markdown): ``st.<kind>``."""
    room.say(kind, text, icon=icon)


def language_ui(prefix: str) -> str:
    """The language switch (in the sidebar, keyed with the page's ``prefix``); returns the language."""
    key = prefix + "lang"
    st.session_state[key] = language()

    def chosen() -> None:
        st.session_state[K.LANG] = lang_from(st.session_state[key])

    st.sidebar.radio(tr("lang.label", language()), list(LANGS), key=key, format_func=LANGS.get, horizontal=True,
                     on_change=chosen)
    return language()


def shared_example() -> Example:
    """The session's one Example: read once from the link (``Example.from_query``), then kept for every page.

    What the link held that could not be used is kept for ``link_notes()``.
    """
    if K.EXAMPLE not in st.session_state:
        ex, notes = Example.from_query(query())
        st.session_state[K.EXAMPLE] = ex
        st.session_state[K.LINK_NOTES] = notes
    return st.session_state[K.EXAMPLE]


def link_notes() -> list[str]:
    """The sentences about a link's unusable values, once (the page that reads them shows them)."""
    return list(st.session_state.pop(K.LINK_NOTES, None) or [])


def _query_value(key: str) -> str | None:
    try:
        return st.query_params.get(key)
    except Exception:  # noqa: BLE001 - a malformed URL must never break the page
        return None


def query() -> dict[str, str]:
    """The link's parameters (last value of each)."""
    try:
        return {k: v for k, v in st.query_params.to_dict().items() if isinstance(v, str)}
    except Exception:  # noqa: BLE001 - a malformed URL must never break the page
        return {}


def write_link(params: Mapping[str, str]) -> None:
    """Make the address bar reproduce this page: ``params`` plus the language when it is not English.

    The share box's QR and a class the browser leads get the same page state (never the arriving query)."""
    want = {k: str(v) for k, v in params.items()}
    lang = language()
    page = st.session_state.get(room.PAGE, "explore")
    room.share_now(page, want, lang)
    room.publish_page(page, {**want, K.LANG_QUERY: lang})
    if room.joined_class():
        want[room.CLASS_QUERY] = room.joined_class()
    if lang != "en":
        want[K.LANG_QUERY] = lang
    if presenting():
        want[K.PRESENT_QUERY] = "1"
    if query() != want:
        st.query_params.from_dict(want)


# --------------------------------------------------------------------------- figures many sessions share


def _tensor_key(t: Any) -> tuple[str, tuple[int, ...], bytes]:
    """What a figure of ``t`` depends on: its dtype, shape and values."""
    t = t.detach().cpu()
    return str(t.dtype), tuple(t.shape), t.numpy().tobytes()


#: A class on one preset or one lesson step shows the same numbers in every tab: each figure is built once
#: (building one costs ~40-100 ms of plotly validation, the largest piece of an explorer rerun, bench/profile_rerun.py)
#: and shared read-only (``chart`` copies before changing it; Streamlit serializes a copy). At most 128 small
#: figures (a 4,096-element heatmap is the largest, ~0.3 MB), gone 2 minutes after they were made.
_BY_VALUE = {"torch.Tensor": _tensor_key}


@st.cache_resource(max_entries=128, ttl=120, show_spinner=False)
def evaluated(ex: Example) -> Any:
    """``ex.evaluate()`` (a LossResult), computed once for every session on the same example (a preset, a lesson
    step); read-only. A refusal (LossvizInputError) is never cached: it is raised again each time."""
    return ex.evaluate()


@st.cache_resource(max_entries=128, ttl=120, show_spinner=False, hash_funcs=_BY_VALUE)
def loss_figure(per_element: Any, lang: str) -> go.Figure:
    """``make_loss_figure(per_element, lang=lang)``, built once for every session that shows the same numbers."""
    return make_loss_figure(per_element, lang=lang)


@st.cache_resource(max_entries=128, ttl=120, show_spinner=False, hash_funcs=_BY_VALUE)
def grad_figure(grad: Any, name: str, lang: str) -> go.Figure:
    """``make_grad_figure(grad, name=name, lang=lang)``, built once for every session that shows the same numbers."""
    return make_grad_figure(grad, name=name, lang=lang)
