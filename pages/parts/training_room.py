"""The training page in a class: presentation mode folds the run list, comparison and CSV into an
expander; the comparison's log scale and its "same settings" note; a clean slate; deleting one's own
finished runs; the popover that closes on Start. Decisions live in lossviz.classroom; this file draws.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import streamlit as st

from lossviz import LossvizInputError
from lossviz.classroom import delete_run, same_settings
from lossviz.i18n import gettext, render

W = "tr_"
CLEAN = "_tr_clean"  #: the runs that existed when the teacher asked for a clean slate


def fold(demo: bool, lang: str) -> AbstractContextManager[Any]:
    """Where the run list, comparison and CSV go: folded into an expander on a projector, else the page."""
    return st.expander(gettext("Runs, comparison and CSV", lang), icon="🗂️") if demo else st.container()


def compare_view(fig: Any, compare: list[str], runs: list[Any], lang: str) -> Any:
    """The comparison chart with its log-scale toggle; says which compared runs share every setting."""
    if st.toggle(gettext("Log scale", lang), key=W + "compare_log",
                 help=gettext("A diverged run's huge loss flattens the others on a linear axis.", lang)):
        fig.update_yaxes(type="log")
    configs = {r.name: r.config for r in runs if r.name in compare}
    for a, b in same_settings(configs):
        st.caption(gettext("{a} and {b} have identical settings.", lang, a=a, b=b))
    if len(compare) == 1:
        st.caption(gettext("Pick one more run to compare.", lang))
    return fig


def clean_slate_ui(all_runs: list[Any], lang: str) -> None:
    """The sidebar's "clean slate": a fresh page state with no earlier run selected (new runs still show)."""

    def clean() -> None:
        for k in [k for k in st.session_state if isinstance(k, str) and k.startswith(W)]:
            del st.session_state[k]
        for k in ("view_run", "refusal", "wl_job"):
            st.session_state.pop(k, None)
        st.session_state[CLEAN] = [r.name for r in all_runs]

    st.sidebar.button(gettext("Clean slate", lang), icon="🧹", key="lv_tr_clean", on_click=clean, width="stretch",
                      help=gettext("Start from a fresh page: no earlier run selected, settings back to their defaults.",
                                   lang))


def visible_runs(all_runs: list[Any]) -> list[Any]:
    hidden = set(st.session_state.get(CLEAN) or ())
    return [r for r in all_runs if r.name not in hidden]


def delete_ui(runs_dir: Path, manager: Any, owner: str, name: str, lang: str) -> None:
    """Delete the chosen run: only for the browser that started it, and only once it has ended."""
    job = manager.get(name)
    if job is None or not job.can_control(owner) or any(j.name == name for j in manager.active_jobs()):
        return

    def delete() -> None:
        try:
            delete_run(runs_dir, name, live=any(j.name == name for j in manager.active_jobs()))
            st.session_state.pop("view_run", None)
            st.session_state.pop(W + "open_run", None)
        except LossvizInputError as exc:
            st.session_state["_tr_delete_error"] = exc.message

    st.button(gettext("Delete this run", lang), icon="🗑️", key=W + "delete_" + name, on_click=delete)
    problem = st.session_state.pop("_tr_delete_error", None)
    if problem is not None:
        st.error(render(problem, lang), icon="🚫")


def after_start(owner: str, cookie: str) -> None:
    """After Start: this browser keeps its owner cookie (a reload keeps pause/stop), and the settings
    popover closes (an Escape key, as a user would press), so it never stays over the charts."""
    with st.sidebar:
        st.html(f"<script>document.cookie = '{cookie}={owner}; path=/; max-age=2592000; SameSite=Strict';"
                "document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape', bubbles: true}));"
                "document.body.click();</script>", unsafe_allow_javascript=True)
