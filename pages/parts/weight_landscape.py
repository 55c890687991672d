"""The training page's view of a run's own loss landscape (weight space), as one function.

``weight_landscape_view(run_dir, lang=..., manager=..., owner=...)`` lays out the controls, starts the
probe process (``python -m lossviz landscape ... --probe-dir``) through the page's job manager, and
polls the probe folder in a fragment: progress bar, time left, Cancel (ends the process), the coarse
9×9 picture first, then the refined slice with the training path, the 3-D surface and the 1-D line.
The server computes nothing: it reads the files the probe writes into the run directory, so a
second viewer of the same slice reads the same folder instead of computing it again. It lives under
pages/parts/ so that Streamlit's legacy pages/ mode never lists it as a page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

import lossviz.weightspace as ws
from lossviz import LossvizInputError
from lossviz.i18n import render, tr
from pages import chart

POLL_S = 0.5
GRID_CHOICES = [9, 13, 17, 21, 25, 29, 33, 41]


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


def _controls(key: str, lang: str) -> ws.SliceParams:
    plane = st.segmented_control(tr("wl.plane", lang), ["random", "pca"], default="random", key=f"{key}_plane",
                                 format_func=lambda p: tr(f"wl.plane_{p}", lang))  # fmt: skip
    c = st.columns([3, 2, 1, 1])
    grid = c[0].select_slider(tr("wl.grid", lang), GRID_CHOICES, value=ws.DEFAULT_GRID, key=f"{key}_grid")
    images = c[1].number_input(tr("wl.images", lang), min_value=ws.MIN_IMAGES, max_value=1024,
                               value=ws.DEFAULT_IMAGES, step=32, key=f"{key}_images")  # fmt: skip
    seed = c[2].number_input(tr("wl.seed", lang), min_value=0, max_value=2**31 - 1, value=0, key=f"{key}_seed")
    span = c[3].number_input(tr("wl.span", lang), min_value=0.05, max_value=10.0, value=ws.DEFAULT_SPAN, step=0.25,
                             key=f"{key}_span")  # fmt: skip
    return ws.SliceParams(plane or "random", int(seed), float(span), int(images), int(grid))


def weight_landscape_view(run_dir: Path, *, lang: str = "en", manager: Any, owner: str | None,
                          key: str = "wl") -> None:  # fmt: skip
    """Controls, progress and figures of the weight landscape of the run in ``run_dir``."""
    st.caption(tr("wl.intro", lang, n=st.session_state.get(f"{key}_images", ws.DEFAULT_IMAGES)))
    params = _controls(key, lang)
    try:
        folder = ws.probe_dir(run_dir, params)
    except LossvizInputError as exc:
        st.error(tr("wl.error", lang, message=render(exc, lang)))
        return
    started = st.session_state.get(f"{key}_probe")
    if started and started[:2] == (str(run_dir), params):  # the slice this browser started, even if the
        folder = Path(started[2])  # run has saved newer weights since
    job = manager.probe_for(folder, finished=True)
    running = _live(ws.read_probe(folder), job)
    b1, b2, _ = st.columns([2, 1, 3])
    if b1.button(tr("wl.compute", lang), key=f"{key}_go", type="primary", disabled=running):
        try:
            job = manager.start_probe(ws.landscape_command(run_dir, params, folder), run_dir=run_dir,
                                      probe_dir=folder, owner=owner, kind="landscape")  # fmt: skip
        except LossvizInputError as exc:  # a cap reached: the sentence says which
            st.warning(render(exc, lang))
            return
        st.session_state[f"{key}_probe"] = (str(run_dir), params, str(folder))
        running = True
    mine = job is not None and job.active and job.can_control(owner)
    b2.button(tr("wl.cancel", lang), key=f"{key}_cancel", disabled=not mine, on_click=job.cancel if mine else None)

    @st.fragment(run_every=POLL_S if running else None)
    def panel() -> None:
        state = ws.read_probe(folder)
        live = _live(state, job)
        _draw(state, job, live, key, lang)
        if running and not live:
            st.rerun()  # finished: redraw once with the polling switched off

    panel()


def _live(state: ws.ProbeState, job: Any) -> bool:
    """Computing: the probe holds its folder, or its process has started and not written yet."""
    return state.running or (state.state == "none" and bool(job and job.active))


def _draw(state: ws.ProbeState, job: Any, live: bool, key: str, lang: str) -> None:
    if not live and state.state in ("none", "failed", "interrupted"):
        note = job.note if job is not None and state.state == "none" else state.message
        if note:  # a plain sentence in the reader's language, never a traceback
            st.error(tr("wl.error", lang, message=render(note, lang)))
        if state.state == "none":
            return
    if live:
        if state.stage in ("slice", "line"):
            label = "wl.progress_line" if state.stage == "line" else "wl.progress"
            text = tr(label, lang, done=state.done, total=state.total, eta=_eta(state.eta_s))
        else:
            text = tr("wl.progress", lang, done=0, total="…", eta="—")
        st.progress(state.fraction, text=text)
    if state.state == "cancelled":
        st.info(tr("wl.cancelled", lang))
    meta = state.meta
    for note in ws.meta_notes(meta):
        st.warning(render(note, lang))
    if meta:
        step = meta.get("weights_step")
        st.caption(tr("wl.weights_at", lang, source=str(meta.get("weights", "?")), step="—" if step is None else step)
                   + (" " + tr("wl.live_note", lang) if meta.get("live") else ""))  # fmt: skip
    _figures(state, key, lang)


def _figures(state: ws.ProbeState, key: str, lang: str) -> None:
    meta, pic = state.meta, state.picture
    pca = meta.get("pca_explained") if meta.get("plane") == "pca" else None
    x_title, y_title = ws.axis_titles(tuple(pca) if isinstance(pca, list) and len(pca) == 2 else None)
    path = meta.get("path") if isinstance(meta.get("path"), dict) else {}
    if pic is not None:
        alphas, betas, loss, _acc = pic
        if not state.complete:
            st.caption(tr("wl.coarse", lang, n=len(alphas)))
        left, right = st.columns(2)
        xs, ys = path.get("x"), path.get("y")
        ok = isinstance(xs, list) and isinstance(ys, list) and len(xs) == len(ys)
        fig = ws.make_weight_contour_figure(
            alphas, betas, loss, path_x=[v if v is not None else float("nan") for v in xs] if ok else None,
            path_y=[v if v is not None else float("nan") for v in ys] if ok else None,
            path_steps=path.get("steps") if ok and len(path.get("steps") or []) == len(xs) else None,
            x_title=x_title, y_title=y_title, lang=lang,
        )  # fmt: skip
        chart(left, fig, key=f"{key}_contour", config={"displaylogo": False})
        surface = ws.make_weight_surface_figure(alphas, betas, loss, x_title=x_title, y_title=y_title, lang=lang)
        chart(right, surface, key=f"{key}_surface", config={"displaylogo": False})
    why = ws.probe_message(meta.get("why"))
    if why is not None:
        st.info(render(why, lang), icon="🧭")
    line = (state.result or {}).get("line")
    if isinstance(line, dict) and state.complete:
        lo = [v if v is not None else float("nan") for v in line.get("loss") or []]
        acc = line.get("accuracy")
        acc = [v if v is not None else float("nan") for v in acc] if isinstance(acc, list) else None
        fig = ws.make_weight_line_figure(line.get("alphas") or [], lo, acc, lang=lang)
        chart(st, fig, key=f"{key}_line", config={"displaylogo": False})
    if state.complete:
        res = state.result or {}
        n = len(res.get("alphas") or []) * len(res.get("betas") or []) + (len(line.get("alphas") or []) if isinstance(line, dict) else 0)
        st.caption(tr("wl.done", lang, points=n, n=res.get("images", "?"), seconds=float(res.get("seconds") or 0.0)))
