"""Lessons: step-by-step walks through the classic tutorials. Draws only; every number comes
from running the step through lossviz (lossviz/explore/lessons.py)."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from lossviz import LossvizInputError
from lossviz.explore import Example, make_grad_figure, make_loss_figure, snippet
from lossviz.explore.lessons import Computation, Lesson, LessonStep, lesson_from_query, list_lessons
from lossviz.i18n import gettext, lang_from, render, tr

# A deep link opened before anyone loaded "/" runs this file in Streamlit's legacy pages/ mode:
# hand over to app.py's navigation (see pages/explorer.py).
if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()


def L() -> str:
    """The page language: the session's choice, else the URL."""
    if "lossviz_lang" not in st.session_state:
        st.session_state["lossviz_lang"] = lang_from(st.query_params.get("lang"))
    return st.session_state["lossviz_lang"]


# --------------------------------------------------------------------------- choices


def lesson_ui() -> tuple[Lesson, int]:
    """Which lesson and step: from the URL on arrival, then from the picker and Back/Next."""
    if "lessons_pos" not in st.session_state:
        lesson, step, notes = lesson_from_query(st.query_params.to_dict())
        st.session_state["lessons_pos"] = (lesson.key, step)
        if notes:
            st.session_state["lessons_note"] = notes[0]
    lessons = {lesson.key: lesson for lesson in list_lessons()}
    key, step = st.session_state["lessons_pos"]
    titles = {k: gettext(lesson.title, L()) for k, lesson in lessons.items()}
    with st.sidebar:
        picked = st.radio(tr("lessons.pick", L()), list(lessons), index=list(lessons).index(key),
                          format_func=titles.__getitem__, key="lessons_pick")
    if picked != key:
        key, step = picked, 1
        st.session_state["lessons_pos"] = (key, step)
    lesson = lessons[key]
    st.query_params.update({"lesson": key, "step": str(step), "lang": L()})
    return lesson, step


def move(lesson: Lesson, step: int) -> None:
    st.session_state["lessons_pos"] = (lesson.key, step)


def nav_ui(lesson: Lesson, step: int, where: str) -> None:
    """Back / progress / Next."""
    back, mid, nxt = st.columns([1, 3, 1])
    back.button(tr("lessons.back", L()), disabled=step <= 1, on_click=move, args=(lesson, step - 1),
                key=f"lessons_back_{where}", width="stretch")
    mid.progress(step / len(lesson.steps), text=tr("lessons.progress", L(), step=step, n=len(lesson.steps)))
    nxt.button(tr("lessons.next", L()), disabled=step >= len(lesson.steps), on_click=move, args=(lesson, step + 1),
               key=f"lessons_next_{where}", type="primary", width="stretch")


# --------------------------------------------------------------------------- drawing


def open_in_explorer(ex: Example) -> None:
    st.session_state["lossviz_example"] = ex
    st.switch_page("pages/explorer.py", query_params={**ex.to_query(), "lang": L()})


def show_example(ex: Example, key: str) -> None:
    """The step's numbers as the explorer shows them: value, per-element loss, gradient, code."""
    try:
        r = ex.evaluate()
    except LossvizInputError as exc:
        st.error(render(str(exc), L()), icon="🚫")
        st.caption(tr("lessons.refused", L()))
        return
    for w in r.warnings:
        st.warning(render(w, L()), icon="⚠️")
    c1, c2, c3 = st.columns([1, 2, 2])
    label = "explorer.loss_value" if r.is_scalar else "explorer.loss_sum"
    c1.metric(tr(label, L(), reduction=r.reduction, n=r.output.numel()), f"{r.value:.6g}")
    c1.caption(f"nn.{r.spec.cls.__name__}(reduction='{r.reduction}')")
    c2.plotly_chart(make_loss_figure(r.per_element, lang=L()), width="stretch", key=f"lessons_loss_{key}")
    name = next(iter(r.grads))
    c3.plotly_chart(make_grad_figure(r.grads[name], name=name, lang=L()), width="stretch", key=f"lessons_grad_{key}")
    with st.expander(tr("explorer.tab_code", L())):
        st.code(snippet(r, ex.shapes), language="python")
    if st.button(tr("lessons.open_explorer", L()), icon="🔍", key=f"lessons_open_{key}"):
        open_in_explorer(ex)


def show_computation(c: Computation) -> None:
    # A markdown table, not st.metric: long labels wrap instead of being cut at a laptop's width.
    rows = "\n".join(f"| {render(fact.label, L())} | **{fact.value:.6g}** |" for fact in c.facts)
    st.markdown(f"| {tr('lessons.quantity', L())} | {tr('lessons.value', L())} |\n|---|---:|\n{rows}")
    if c.table is not None:
        st.dataframe(pd.DataFrame(list(c.table.rows), columns=[gettext(t, L()) for t in c.table.columns]),
                     hide_index=True, width="stretch")
    with st.expander(tr("explorer.tab_code", L()), expanded=False):
        st.code(c.code, language="python")


@st.cache_data(max_entries=32, show_spinner=False)
def computed(lesson_key: str, step_key: str) -> Computation:
    """A computed step's result (deterministic, seeded), kept so Back/Next is instant."""
    lesson = next(lesson for lesson in list_lessons() if lesson.key == lesson_key)
    return next(s for s in lesson.steps if s.key == step_key).compute()


def show_step(lesson: Lesson, s: LessonStep) -> None:
    st.subheader(gettext(s.title, L()))
    st.markdown(gettext(s.explain, L()))
    if s.example is not None:
        show_example(s.example, f"{lesson.key}_{s.key}")
    elif s.compute is not None:
        with st.spinner(tr("lessons.computing", L())):
            show_computation(computed(lesson.key, s.key))
    st.info(tr("lessons.notice", L(), text=gettext(s.notice, L())), icon="💡")
    if s.opens == "training" and st.button(tr("lessons.watch_train", L()), icon="🏋️", key="lessons_train"):
        st.switch_page("pages/training.py", query_params={"lang": L()})


# --------------------------------------------------------------------------- page

st.title(tr("lessons.title", L()))
st.caption(tr("lessons.intro", L()))
lesson, step = lesson_ui()
note = st.session_state.pop("lessons_note", None)
if note:
    st.warning(tr("lessons.unknown", L(), name=note), icon="🔗")
st.header(gettext(lesson.title, L()))
st.caption(gettext(lesson.source, L()))
nav_ui(lesson, step, "top")
show_step(lesson, lesson.step(step))
nav_ui(lesson, step, "bottom")
