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
from lossviz.i18n import lang_from


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
