"""Lessons: step-by-step walks through the classic tutorials. Draws only; every number comes
from running the step through lossviz (lossviz/explore/lessons.py).

Every widget key starts with ``le_`` (lossviz.session.LESSONS); the link holds ``lesson`` and ``step``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lossviz import LossvizInputError
from lossviz import session as K
from lossviz.explore import (
    Computation,
    Example,
    Lesson,
    LessonStep,
    lesson_from_query,
    list_lessons,
    snippet,
)
from lossviz.i18n import gettext, render, tr
from pages import chart, deep_link_guard, page_chrome, presenting, query, say, write_link
from pages import evaluated as shared_result  # computed once for every session with the same numbers
from pages import grad_figure as shared_grad_figure
from pages import loss_figure as shared_loss_figure

deep_link_guard()
W = K.LESSONS


# --------------------------------------------------------------------------- choices


def lesson_ui(lang: str) -> tuple[Lesson, int]:
    """Which lesson and step: from the link on arrival, then from the picker and Back/Next."""
    if K.LESSON_POSITION not in st.session_state:
        lesson, step, notes = lesson_from_query(query())
        st.session_state[K.LESSON_POSITION] = (lesson.key, step)
        if notes:
            st.session_state[W + "note"] = notes[0]
    lessons = {lesson.key: lesson for lesson in list_lessons()}
    key, step = st.session_state[K.LESSON_POSITION]
    titles = {k: gettext(lesson.title, lang) for k, lesson in lessons.items()}
    picked = st.sidebar.radio(tr("lessons.pick", lang), list(lessons), index=list(lessons).index(key),
                              format_func=titles.__getitem__, key=W + "pick")
    if picked != key:
        key, step = picked, 1
        st.session_state[K.LESSON_POSITION] = (key, step)
    return lessons[key], step


def move(lesson: Lesson, step: int) -> None:
    st.session_state[K.LESSON_POSITION] = (lesson.key, step)


def nav_ui(lesson: Lesson, step: int, where: str, lang: str) -> None:
    """Back / progress / Next."""
    back, mid, nxt = st.columns([1.3, 2.4, 1.3])  # one row at 1024 px, even with a projector's large text
    back.button(tr("lessons.back", lang), disabled=step <= 1, on_click=move, args=(lesson, step - 1),
                key=f"{W}back_{where}", width="stretch")
    mid.progress(step / len(lesson.steps), text=tr("lessons.progress", lang, step=step, n=len(lesson.steps)))
    nxt.button(tr("lessons.next", lang), disabled=step >= len(lesson.steps), on_click=move, args=(lesson, step + 1),
               key=f"{W}next_{where}", type="primary", width="stretch")


# --------------------------------------------------------------------------- drawing


def show_example(ex: Example, key: str, lang: str) -> None:
    """The step's numbers as the explorer shows them: value, per-element loss, gradient, code."""
    try:
        r = shared_result(ex)
    except LossvizInputError as exc:
        st.error(render(exc, lang), icon="🚫")
        st.caption(tr("lessons.refused", lang))
        return
    for w in r.warnings:
        st.warning(render(w, lang), icon="⚠️")
    label = "explorer.loss_value" if r.is_scalar else "explorer.loss_sum"
    st.metric(tr(label, lang, reduction=r.reduction, n=r.output.numel()), f"{r.value:.6g}")
    if not presenting():  # the code is one click away; on a projector the chart comes first
        st.caption(f"nn.{r.spec.cls.__name__}(reduction='{r.reduction}')")
    c2, c3 = st.container(key="lv_charts_lesson").columns(2)
    chart(c2, shared_loss_figure(r.per_element, lang), key=f"{W}loss_{key}")
    name = next(iter(r.grads))
    chart(c3, shared_grad_figure(r.grads[name], name, lang), key=f"{W}grad_{key}")
    with st.expander(tr("explorer.tab_code", lang)):
        st.code(snippet(r, ex.shapes), language="python")
    if st.button(tr("lessons.open_explorer", lang), icon="🔍", key=f"{W}open_{key}"):
        st.session_state[K.EXAMPLE] = ex
        st.switch_page("pages/explorer.py", query_params={**ex.to_query(), K.LANG_QUERY: lang})


def show_computation(c: Computation, lang: str) -> None:
    # A markdown table, not st.metric: long labels wrap instead of being cut at a laptop's width.
    rows = "\n".join(f"| {render(fact.label, lang)} | **{fact.value:.6g}** |" for fact in c.facts)
    st.markdown(f"| {tr('lessons.quantity', lang)} | {tr('lessons.value', lang)} |\n|---|---:|\n{rows}")
    if c.table is not None:
        st.dataframe(pd.DataFrame([[render(cell, lang) for cell in row] for row in c.table.rows],
                                  columns=[gettext(t, lang) for t in c.table.columns]),
                     hide_index=True, width="stretch")
    with st.expander(tr("explorer.tab_code", lang), expanded=False):
        st.code(gettext(c.code, lang), language="python")  # a code marked N_ has its comments translated


@st.cache_data(max_entries=32, show_spinner=False)
def computed(lesson_key: str, step_key: str) -> Computation:
    """A computed step's result (deterministic, seeded), kept so Back/Next is instant (a few KB each)."""
    lesson = next(lesson for lesson in list_lessons() if lesson.key == lesson_key)
    return next(s for s in lesson.steps if s.key == step_key).compute()


def show_step(lesson: Lesson, s: LessonStep, lang: str) -> None:
    st.subheader(gettext(s.title, lang))
    st.markdown(gettext(s.explain, lang))
    if s.example is not None:
        show_example(s.example, f"{lesson.key}_{s.key}", lang)
    elif s.compute is not None:
        with st.spinner(tr("lessons.computing", lang)):
            show_computation(computed(lesson.key, s.key), lang)
    st.info(tr("lessons.notice", lang, text=gettext(s.notice, lang)), icon="💡")
    if s.opens == "training" and st.button(tr("lessons.watch_train", lang), icon="🏋️", key=W + "train"):
        preset = {K.TRAINING_PRESET_QUERY: s.preset} if s.preset else {}
        st.switch_page("pages/training.py", query_params={K.LANG_QUERY: lang, **preset})


# --------------------------------------------------------------------------- page

lang = page_chrome(W)
demo = presenting()  # a projector shows the step: the lesson's own title, no page title or introduction
if not demo:
    st.title(tr("lessons.title", lang))
    st.caption(tr("lessons.intro", lang))
lesson, step = lesson_ui(lang)
write_link({K.LESSON_KEY: lesson.key, K.LESSON_STEP: str(step)})
note = st.session_state.pop(W + "note", None)
if note:
    say("warning", tr("lessons.unknown", lang, name=note), icon="🔗")
st.header(gettext(lesson.title, lang))
if not demo:
    st.caption(gettext(lesson.source, lang))
nav_ui(lesson, step, "top", lang)
show_step(lesson, lesson.step(step), lang)
nav_ui(lesson, step, "bottom", lang)
