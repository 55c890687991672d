"""The classroom's sidebar: the share box (QR of the page as it is now), follow-the-teacher (start, end,
follow, explore on my own), and the page script (keys, SVG export, Streamlit's words in Chinese).

Decisions live in lossviz.classroom; this file lays out widgets. It is under pages/parts/ so Streamlit's
legacy pages/ mode never lists it as a page.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import streamlit as st

from lossviz import LossvizInputError
from lossviz.classroom import (
    end_class,
    may_lead,
    page_link,
    page_script_js,
    plain_text,
    publish,
    qr_png,
    read_class,
    share_link,
    start_class,
    student_link,
    valid_class_id,
    valid_token,
)
from lossviz.i18n import gettext, render, tr
from lossviz.training import data as _data

#: The page each widget prefix belongs to, and that page's script (for st.switch_page).
PAGE_OF = {"w_": "explore", "ls_": "landscape", "tr_": "training", "le_": "lessons"}
PAGE_FILES = {"explore": "pages/explorer.py", "landscape": "pages/landscape.py", "training": "pages/training.py",
              "lessons": "pages/lessons.py"}
CLASS_QUERY = "class"
CLASS_COOKIE = "lossviz_class"
TEACH = "_lv_teach"  #: (class id, token) of the class this browser leads
JOINED = "_lv_class"  #: the class id this browser follows
FOLLOWING = "_lv_following"  #: True while the student follows (False: exploring on their own)
APPLIED = "_lv_applied"  #: the class version this student's page shows
SLOT = "_lv_share_slot"  #: the share box's placeholder, filled once the page knows its own link
PAGE = "_lv_page"  #: this run's page name
#: Session keys a followed change replaces (the pages read them from the link again).
PAGE_STATE = ("lossviz_example", "lossviz_notes", "_le_pos", "_ls_seen", "_ls_shown", "lossviz_lang")
PAGE_PREFIXES = ("w_", "ls_", "le_", "_ls_", "_le_")
FOLLOW_S = 0.8  #: how often a student's page looks at the class (s)
HEARTBEAT_S = 10.0


def _data_dir() -> Any:
    return _data.default_data_dir()


def _base_url() -> str:
    try:
        url = st.context.url
    except Exception:  # noqa: BLE001 - no browser (AppTest): nothing to share
        return ""
    return url if isinstance(url, str) else ""


def _cookie(name: str) -> str | None:
    try:
        value = st.context.cookies.get(name)
    except Exception:  # noqa: BLE001 - no cookies (AppTest)
        return None
    return value if isinstance(value, str) else None


def _set_cookie(value: str, max_age: int) -> None:
    st.html(f"<script>document.cookie = '{CLASS_COOKIE}={value}; path=/; max-age={max_age}; SameSite=Strict';</script>",
            unsafe_allow_javascript=True)


def say(kind: str, text: object, *, where: Any = st, icon: str | None = None) -> None:
    """Show text that came from a link, a file or another program: always as text, never as markdown."""
    getattr(where, kind)(plain_text(text), **({"icon": icon} if icon else {}))


# --------------------------------------------------------------------------- teacher


def teaching() -> tuple[str, str] | None:
    """The class this browser leads: from the session, else from its cookie (a reload keeps leading)."""
    held = st.session_state.get(TEACH)
    if held is None:
        raw = _cookie(CLASS_COOKIE) or ""
        cid, _, token = raw.partition(".")
        if valid_class_id(cid) and valid_token(token):
            held = (cid, token)
    if held is None:
        return None
    state = read_class(_data_dir(), held[0], now=time.time())
    if not may_lead(state, held[1]):
        st.session_state.pop(TEACH, None)
        return None
    st.session_state[TEACH] = held
    return held


def _start(lang: str) -> None:
    state, token = start_class(_data_dir(), now=time.time())
    st.session_state[TEACH] = (state.id, token)
    st.session_state.pop(JOINED, None)


def _end() -> None:
    held = st.session_state.pop(TEACH, None)
    if held:
        try:
            end_class(_data_dir(), held[0], held[1], now=time.time())
        except LossvizInputError:
            pass
    st.session_state["_lv_clear_cookie"] = True


def class_ui(lang: str) -> None:
    """The sidebar's class box: start / end a class (teacher), follow / explore alone (student)."""
    held = teaching()
    joined = _joined()
    if st.session_state.pop("_lv_clear_cookie", False):
        _set_cookie("", 0)
    with st.sidebar.expander(gettext("Class", lang), icon="🎓", expanded=bool(held or joined)):
        if held:
            _set_cookie(f"{held[0]}.{held[1]}", 12 * 3600)
            st.caption(gettext("You lead class {id}: students who open this link follow your page.", lang, id=held[0]))
            base = _base_url()
            if base:
                try:
                    link = student_link(page_link(base, "explore", {}, "en").rstrip("/"), held[0])
                    st.image(qr_png(link), width="stretch")
                    st.code(link, language=None, wrap_lines=True)
                except LossvizInputError as exc:
                    st.caption(render(exc, lang))
            st.button(gettext("End the class", lang), key="lv_class_end", on_click=_end, width="stretch")
            _heartbeat()
        elif joined:
            _student_ui(joined, lang)
        else:
            st.caption(gettext("Lead a class: students who open its link follow your page live.", lang))
            st.button(gettext("Start a class", lang), key="lv_class_start", on_click=_start, args=(lang,),
                      width="stretch")


@st.fragment(run_every=HEARTBEAT_S)
def _heartbeat() -> None:
    held = st.session_state.get(TEACH)
    shown = st.session_state.get("_lv_published")
    if held and shown:
        try:
            publish(_data_dir(), held[0], held[1], shown[0], shown[1], now=time.time())
        except LossvizInputError:
            pass


def publish_page(page: str, params: Mapping[str, str]) -> None:
    """The teacher's page as it is now goes to the class (called once the page knows its own link)."""
    held = st.session_state.get(TEACH)
    if not held:
        return
    st.session_state["_lv_published"] = (page, dict(params))
    try:
        publish(_data_dir(), held[0], held[1], page, dict(params), now=time.time())
    except LossvizInputError:
        st.session_state.pop(TEACH, None)


# --------------------------------------------------------------------------- student


def _joined() -> str | None:
    """The class this browser follows: a ``class=`` link joins it (and starts following)."""
    try:
        cid = st.query_params.get(CLASS_QUERY)
    except Exception:  # noqa: BLE001
        cid = None
    if valid_class_id(cid) and st.session_state.get(JOINED) != cid and st.session_state.get(TEACH, ("",))[0] != cid:
        st.session_state[JOINED] = cid
        st.session_state[FOLLOWING] = True
        st.session_state.pop(APPLIED, None)
    return st.session_state.get(JOINED)


def joined_class() -> str | None:
    """The class id a student's link keeps (so a reload stays in the class)."""
    return st.session_state.get(JOINED)


def _leave() -> None:
    st.session_state[FOLLOWING] = False


def _back() -> None:
    st.session_state[FOLLOWING] = True
    st.session_state.pop(APPLIED, None)


def _student_ui(cid: str, lang: str) -> None:
    if st.session_state.get(FOLLOWING, True):
        st.caption(gettext("You follow the teacher of class {id}: this page changes with theirs.", lang, id=cid))
        st.button(gettext("Explore on my own", lang), key="lv_class_leave", on_click=_leave, width="stretch")
    else:
        st.caption(gettext("You explore on your own; class {id} goes on without you.", lang, id=cid))
        st.button(gettext("Back to the teacher", lang), key="lv_class_back", on_click=_back, type="primary",
                  width="stretch")
    _follow(cid, lang)


@st.fragment(run_every=FOLLOW_S)
def _follow(cid: str, lang: str) -> None:
    state = read_class(_data_dir(), cid, now=time.time())
    if state is None:
        st.info(gettext("This class has ended.", lang))
        return
    if not st.session_state.get(FOLLOWING, True) or st.session_state.get(APPLIED) == state.version:
        return
    st.session_state[APPLIED] = state.version
    if state.version == 0:
        return  # the teacher has not shown a page yet
    for k in [k for k in st.session_state if isinstance(k, str) and (k.startswith(PAGE_PREFIXES) or k in PAGE_STATE)]:
        del st.session_state[k]
    params = {**state.params, CLASS_QUERY: cid}
    st.switch_page(PAGE_FILES[state.page], query_params=params)


# --------------------------------------------------------------------------- share box and page script


def share_slot(lang: str) -> None:
    """The "share with the class" box; its QR is drawn once the page knows its own link (``share_now``)."""
    with st.sidebar.expander(tr("classroom.share", lang), icon="📱"):
        st.session_state[SLOT] = st.empty()


def share_now(page: str, params: Mapping[str, str], lang: str) -> None:
    """Fill the share box with the link and QR of ``page`` as it is now (never the arriving query)."""
    slot = st.session_state.pop(SLOT, None)
    if slot is None:
        return
    with slot.container():
        base = _base_url()
        if not base:
            st.caption(tr("classroom.no_url", lang))
            return
        try:
            link = share_link(page_link(base, page, params, lang))
            png = qr_png(link.url)
        except LossvizInputError as exc:
            st.caption(render(exc, lang))
            return
        st.image(png, caption=tr("classroom.scan", lang), width="stretch")
        st.code(link.url, language=None, wrap_lines=True)
        if link.loopback:
            st.warning(tr("classroom.loopback", lang), icon="⚠️")


def page_script(lang: str, present: bool) -> None:
    st.sidebar.html(page_script_js(lang, present=present), unsafe_allow_javascript=True)
