"""The training page's view of a run's own loss landscape (weight space), as one function.

``weight_landscape_view(run_dir, lang=...)`` lays out the controls, starts a
:class:`~lossviz.training.weight_landscape_run.LandscapeJob` (a background thread: the page stays
live), and polls it in a fragment: progress bar, time left, Cancel, the coarse 9×9 picture first,
then the refined slice with the training path, the 3-D surface and the 1-D line. All computing is in
lossviz/training/; this file only draws. It lives under pages/parts/ so that Streamlit's legacy
pages/ mode never lists it as a page.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from lossviz import LossvizInputError
from lossviz.i18n import render, tr
from lossviz.training import (
    LandscapeJob,
    make_weight_contour_figure,
    make_weight_line_figure,
    make_weight_surface_figure,
    note_text,
)
from lossviz.weightspace import slices as W

POLL_S = 0.5
GRID_CHOICES = [9, 13, 17, 21, 25, 29, 33, 41]


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"


def _labels(lang: str, land: object | None) -> dict[str, str]:
    keys = [
        "contour_title",
        "surface_title",
        "line_title",
        "loss",
        "accuracy",
        "current",
        "initial",
        "path",
        "step",
    ]
    out = {k: tr(f"wl.{k}", lang) for k in keys}
    out["x"], out["y"], out["alpha"] = tr("wl.axis_x", lang), tr("wl.axis_y", lang), tr("wl.axis_alpha", lang)
    pca = getattr(land, "path_pca", None)
    if getattr(land, "plane", "") == "pca" and pca is not None and pca.explained:
        out["x"] = tr("wl.axis_pc1", lang, pct=f"{100 * pca.explained[0]:.0f}%")
        out["y"] = tr("wl.axis_pc2", lang, pct=f"{100 * pca.explained[1]:.0f}%")
    return out


def _short_axes(labels: dict[str, str]) -> dict[str, str]:
    """Axis titles without their parenthesis (a 3-D scene clips long ones)."""
    return {k: labels[k].split(" (")[0].split("（")[0] for k in ("x", "y")}


def _controls(key: str, lang: str) -> dict[str, object]:
    plane = st.segmented_control(
        tr("wl.plane", lang),
        ["random", "pca"],
        default="random",
        key=f"{key}_plane",
        format_func=lambda p: tr(f"wl.plane_{p}", lang),
    )
    c = st.columns([3, 2, 1, 1])
    grid = c[0].select_slider(tr("wl.grid", lang), GRID_CHOICES, value=W.DEFAULT_GRID, key=f"{key}_grid")
    images = c[1].number_input(
        tr("wl.images", lang),
        min_value=W.MIN_IMAGES,
        max_value=1024,
        value=W.DEFAULT_IMAGES,
        step=32,
        key=f"{key}_images",
    )
    seed = c[2].number_input(
        tr("wl.seed", lang), min_value=0, max_value=2**31 - 1, value=0, key=f"{key}_seed"
    )
    span = c[3].number_input(
        tr("wl.span", lang),
        min_value=0.05,
        max_value=10.0,
        value=W.DEFAULT_SPAN,
        step=0.25,
        key=f"{key}_span",
    )
    return {
        "plane": plane or "random",
        "grid": int(grid),
        "images": int(images),
        "seed": int(seed),
        "span": float(span),
    }


def weight_landscape_view(run_dir: Path, *, lang: str = "en", key: str = "wl") -> None:
    """Controls, progress and figures of the weight landscape of the run in ``run_dir``."""
    st.caption(tr("wl.intro", lang, n=st.session_state.get(f"{key}_images", W.DEFAULT_IMAGES)))
    params = _controls(key, lang)
    job_key = f"{key}_job"
    job: LandscapeJob | None = st.session_state.get(job_key)
    if job is not None and job.run_dir != Path(run_dir):
        job.cancel()
        job = None
        st.session_state.pop(job_key, None)
    b1, b2, _ = st.columns([2, 1, 3])
    if b1.button(tr("wl.compute", lang), key=f"{key}_go", type="primary", disabled=bool(job and job.running)):
        try:
            job = LandscapeJob(run_dir, **params).start()  # type: ignore[arg-type]
            st.session_state[job_key] = job
        except W.JobsBusy:
            st.warning(tr("wl.busy", lang))
            return
        except LossvizInputError as exc:
            st.error(tr("wl.error", lang, message=render(exc, lang)))
            return
    if job is None:
        return
    running = job.running
    b2.button(tr("wl.cancel", lang), key=f"{key}_cancel", disabled=not running, on_click=job.cancel)

    @st.fragment(run_every=POLL_S if running else None)
    def panel() -> None:
        _draw(job, key, lang)
        if running and not job.running:
            st.rerun()  # finished: redraw once with the polling switched off

    panel()


def _draw(job: LandscapeJob, key: str, lang: str) -> None:
    if job.error:
        st.error(tr("wl.error", lang, message=render(job.error, lang)))
        return
    prog = job.progress
    if job.running:
        if prog is None:
            st.progress(0.0, text=tr("wl.progress", lang, done=0, total="…", eta="—"))
        else:
            label = "wl.progress_line" if prog.stage == "line" else "wl.progress"
            st.progress(
                min(1.0, prog.fraction),
                text=tr(label, lang, done=prog.done, total=prog.total, eta=_eta(prog.eta_s)),
            )
    land = job.land
    if land is None:
        return
    if job.cancel_event.is_set() and not job.running:
        st.info(tr("wl.cancelled", lang))
    for note in land.notes:
        st.warning(note_text(note, lang))
    run = land.run
    st.caption(
        tr(
            "wl.weights_at",
            lang,
            source=run.centre_source,
            step=run.centre_step if run.centre_step is not None else "—",
        )
        + (" " + tr("wl.live_note", lang) if run.live else "")
    )
    labels = _labels(lang, land)
    pic = job.picture()
    path = land.path_plane
    left, right = st.columns(2)
    if pic is not None:
        alphas, betas, loss, _acc = pic
        sub = "" if (land.slice is not None and land.slice.complete) else tr("wl.coarse", lang, n=len(alphas))
        left.plotly_chart(
            make_weight_contour_figure(
                alphas,
                betas,
                loss,
                path_x=path.xs if path else None,
                path_y=path.ys if path else None,
                path_steps=path.steps if path else None,
                labels=labels,
                subtitle=sub,
            ),
            key=f"{key}_contour",
            config={"displaylogo": False},
        )
        right.plotly_chart(
            make_weight_surface_figure(alphas, betas, loss, labels={**labels, **_short_axes(labels)}),
            key=f"{key}_surface",
            config={"displaylogo": False},
        )
    if land.why is not None:
        st.info(note_text(land.why, lang), icon="🧭")
    line = land.line
    if line is not None and not line.cancelled:
        st.plotly_chart(
            make_weight_line_figure(line.alphas, line.loss, line.accuracy, labels=labels),
            key=f"{key}_line",
            config={"displaylogo": False},
        )
    if not job.running and land.slice is not None and land.slice.complete:
        n = land.slice.loss.size + (len(line.alphas) if line is not None else 0)
        st.caption(tr("wl.done", lang, points=n, n=land.images, seconds=land.seconds))
