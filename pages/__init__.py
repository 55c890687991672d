"""What every page shares: the deep-link guard, the language, and the link it writes.

This is ``pages/__init__.py`` on purpose: when a deep link makes Streamlit run a page in its legacy
``pages/`` mode, it lists every ``.py`` file in this folder as a page except names starting with a
dot and ``__init__.py``; so the shared helper lives here and never shows up in the menu.
Every page starts with ``deep_link_guard()``.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from lossviz import session as K
from lossviz.explore import Example
from lossviz.i18n import LANGS, lang_from, tr


def deep_link_guard() -> None:
    """A deep link (e.g. /landscape) opened before anyone has loaded "/" makes Streamlit run the page
    alone in its legacy pages/ mode, without app.py's navigation and page config. Hand over to
    app.py's st.navigation and rerun, so every first visit sees the page as designed."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def language() -> str:
    """The session's language: chosen on a page, else the link's ``lang``, else English."""
    if K.LANG not in st.session_state:
        st.session_state[K.LANG] = lang_from(_query_value(K.LANG_QUERY))
    return st.session_state[K.LANG]


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
    """Make the address bar reproduce this page: ``params`` plus the language when it is not English."""
    want = {k: str(v) for k, v in params.items()}
    lang = language()
    if lang != "en":
        want[K.LANG_QUERY] = lang
    if query() != want:
        st.query_params.from_dict(want)
