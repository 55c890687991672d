"""The training page's insight into a run: which data it learns from, its per-layer health heatmap and
alarms, its sharpness against the stability line, and its answers on real test pictures.

``data_ui(...)`` replaces the page's data-source choice (real digits offline, CIFAR-10, your own
pictures, synthetic; the "edge of stability" preset); ``insight_view(...)`` draws the run. Computing
lives in lossviz/training/ (health, curvature, predictions, insight_figures); this file only lays out
and draws. It lives under pages/parts/ so Streamlit's legacy pages/ mode never lists it as a page.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from lossviz import LossvizInputError
from lossviz import session as K
from lossviz import training as lt
from lossviz.i18n import N_, gettext, render
from pages import chart

W = K.TRAINING
PLOT = {"displaylogo": False}
SOURCES = {
    "digits": N_("Handwritten digits (real scans, offline)"),
    "cifar10": N_("CIFAR-10 (real photos)"),
    "folder": N_("Your own pictures (a folder)"),
    "synthetic": N_("Synthetic images (always available)"),
}
SOURCE_NOTES = {
    "digits": N_("1,797 real handwritten digits 0–9 from scikit-learn (8×8 scans, enlarged to 32×32): real pictures with no download."),
    "folder": N_("A folder inside the server's data folder with one subfolder of pictures per class (2 to 10 classes); each picture is resized to 32×32."),
    "synthetic": N_("Ten noisy colour patterns shaped like CIFAR images. Everything trained on it is labelled *synthetic*."),
}


def _apply_preset() -> None:
    """The edge-of-stability preset: full-batch gradient descent, plain SGD, sharpness measured in the run."""
    p = lt.EDGE_OF_STABILITY
    st.session_state.update({W + "data_kind": "digits", W + "relu": p["relu"], W + "optimizer": "sgd", f"{W}lr_sgd": p["lr"],
                             W + "momentum": 0.0, W + "batch_size": p["train_subset"], W + "epochs": p["epochs"],
                             W + "max_batches": 0, W + "train_subset": p["train_subset"], W + "sharp_every": p["sharpness_every"],
                             W + "sharp_images": p["train_subset"]})  # fmt: skip


def data_ui(manager: lt.JobManager, owner: str, root: Path, data_dir: Path, lang: str) -> dict[str, Any]:
    """Which pictures to learn from; returns the TrainConfig fields for the data, full batch and sharpness."""
    if st.query_params.get(K.TRAINING_PRESET_QUERY) == K.EDGE_OF_STABILITY_PRESET:  # a lesson's "watch it train"
        _apply_preset()
        del st.query_params[K.TRAINING_PRESET_QUERY]
    present = lt.cifar10_status(data_dir) == "present"
    kinds = list(SOURCES)
    default = "cifar10" if present else "digits"
    kind = st.radio(gettext("Data", lang), kinds, index=kinds.index(default), key=W + "data_kind", format_func=lambda k: gettext(SOURCES[k], lang))
    folder = None
    if kind == "cifar10" and present:
        st.caption(gettext("CIFAR-10 found in {folder}.", lang, folder=lt.shown_path(data_dir, root, gettext(lt.DATA_ROOT, lang))))
    elif kind == "cifar10":
        st.caption(gettext("CIFAR-10 is not on this machine: download it (needs internet), or train on the handwritten digits.", lang))
        if st.button(gettext("Download CIFAR-10 (170 MB)", lang), key=W + "download", help=gettext("Into the server's data folder.", lang)):
            try:
                with st.spinner(gettext("Downloading CIFAR-10…", lang)):
                    manager.download(owner, lambda: lt.download_cifar10(root, shown_as=gettext(lt.DATA_ROOT, lang)))
                st.rerun()
            except LossvizInputError as exc:
                st.error(render(exc, lang), icon="🚫")
    else:
        st.caption(gettext(SOURCE_NOTES[kind], lang))
    if kind == "folder":
        text = st.text_input(gettext("Picture folder", lang), key=W + "image_folder", placeholder=gettext("e.g. my-pictures", lang))
        try:
            folder = str(lt.page_data_dir(text, root)) if text.strip() else None
        except LossvizInputError as exc:
            st.error(render(exc, lang), icon="🚫")
    st.button(gettext("⚡ Edge-of-stability preset", lang), key=W + "eos", on_click=_apply_preset, width="stretch",
              help=gettext("Full-batch gradient descent with plain SGD on 256 digits, sharpness measured every few steps.", lang))  # fmt: skip
    with st.expander(gettext("Full batch and sharpness", lang)):
        subset = st.number_input(gettext("Train on the first N pictures only (0 = all)", lang), 0, 200_000, 0, key=W + "train_subset")
        every = st.number_input(gettext("Measure sharpness every K steps (0 = off)", lang), 0, 100_000, 0, key=W + "sharp_every")
        images = st.number_input(gettext("Pictures in the sharpness batch", lang), 8, 4096, 512, key=W + "sharp_images")
    return {"dataset": kind, "image_folder": folder, "train_subset": int(subset) or None,
            "sharpness_every": int(every), "sharpness_images": int(images)}  # fmt: skip


@st.cache_resource(max_entries=8)
def _health_tail(path: str, relu: bool) -> lt.MetricsTail:
    """One follower of a run's per-layer health, shared by every viewer."""
    return lt.MetricsTail(Path(path), log=lt.HealthLog(lt.layer_labels_for(relu)))


def insight_view(run_dir: Path, manager: lt.JobManager, owner: str, lang: str, refresh: float | None) -> None:
    """The run's data, its health alarms, and the tabs: sharpness, predictions."""

    @st.fragment(run_every=refresh)
    def panel() -> None:
        cfg = lt.insight_settings(run_dir)
        classes = ", ".join(cfg["classes"])
        data = lt.dataset_text(cfg["dataset_label"], lang)
        st.caption(gettext("Data: **{data}** ({train} training / {test} test pictures) · classes: {classes}", lang,
                           data=data, train=cfg["n_train"] or "?", test=cfg["n_test"] or "?", classes=classes))  # fmt: skip
        tail = _health_tail(str(run_dir), cfg["relu"])
        tail.poll()
        log: lt.HealthLog = tail.log
        alarms = log.alarms()
        if alarms:
            for a in alarms[-3:]:
                st.warning(render(a.message, lang), icon="⚠️")
            if len(alarms) > 3:
                with st.expander(gettext("All {n} health alarms", lang, n=len(alarms))):
                    st.markdown("\n".join(f"- {render(a.message, lang)}" for a in alarms))
        # the per-layer weight norm, update ratio and dead units are registered metrics: the run's per-layer
        # chart above draws them (lines or a layers × steps heatmap); this panel adds what it cannot show
        t_sharp, t_pred = st.tabs([gettext("⛰ Sharpness", lang), gettext("🖼 Predictions", lang)])
        with t_sharp:
            _sharpness(run_dir, cfg, log, manager, owner, data, lang)
        with t_pred:
            got = lt.read_predictions(run_dir)
            c1, c2 = st.columns([3, 2])
            chart(c1, lt.make_prediction_grid_figure(got or {}, data, lang), key=W + "fig_pred", config=PLOT)
            chart(c2, lt.make_confusion_figure((got or {}).get("confusion") or [], (got or {}).get("classes") or [], data, lang),
                  key=W + "fig_confusion", config=PLOT)  # fmt: skip
            if got:
                st.caption(gettext("After step {step}: {acc} of the {n} test pictures right.", lang, step=got["step"],
                                   acc=f"{got.get('accuracy') or 0:.1%}", n=got["n_test"]))  # fmt: skip

    panel()


def _sharpness(run_dir: Path, cfg: dict, log: Any, manager: lt.JobManager, owner: str, data: str, lang: str) -> None:
    threshold = lt.stability_threshold(cfg["optimizer"], cfg["lr"], cfg["momentum"])
    points = log.sharpness_points()
    probe_dir = run_dir / "probes" / "sharpness"
    if not points:
        payload = lt.read_sharpness_probe(probe_dir) or {}
        points = payload.get("points") or []
        job = manager.probe_for(probe_dir)
        if job is None and st.button(gettext("Measure sharpness along this run", lang), key=W + "sharp_start",
                                     help=gettext("A separate process reads the run's weight snapshots and estimates λ_max at each.", lang)):  # fmt: skip
            try:
                argv = ["sharpness", str(run_dir), "--probe-dir", str(probe_dir), "--images", str(cfg["sharpness_images"]), "--lang", "en"]
                manager.start_probe(argv, run_dir=run_dir, probe_dir=probe_dir, owner=owner, kind="sharpness")
                st.rerun(scope="fragment")
            except LossvizInputError as exc:
                st.error(render(exc, lang), icon="🚫")
        elif job is not None:
            st.caption(gettext("Measuring sharpness… ({n} points so far)", lang, n=len(points)))
    chart(st, lt.make_sharpness_figure(points, threshold, data, lang), key=W + "fig_sharp", config=PLOT)
    payload = {"threshold": threshold, "lr": cfg["lr"], "momentum": cfg["momentum"]}
    st.caption(render(lt.threshold_text(payload), lang))
