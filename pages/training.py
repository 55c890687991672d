"""Watch training: the tutorial's CIFAR-10 CNN learning live, batch by batch. A run is its own process
(``python -m lossviz train``, or torchrun) started by the job manager; this page lays out widgets and
follows the run directory. Widget keys start with ``tr_``; every sentence goes through gettext."""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import streamlit as st

from lossviz import LossvizInputError
from lossviz import session as K
from lossviz import training as lt
from lossviz.i18n import gettext, render, tr
from pages import chart, deep_link_guard, page_chrome, presenting, say, write_link
from pages.parts import training_insight, training_room, weight_landscape

deep_link_guard()
W = K.TRAINING
REFRESH_S = 1.0
OWNER_COOKIE = "lossviz_owner"


@st.cache_resource
def job_manager() -> lt.JobManager:
    """One job manager per server process: it caps concurrent runs and owns the processes it started."""
    return lt.JobManager()


@st.cache_resource(max_entries=8)
def tail_for(path: str) -> lt.MetricsTail:
    """One follower per live run directory, shared by every viewer."""
    return lt.MetricsTail(Path(path))


def owner_token() -> str:
    """This browser's random token (session, then cookie once it starts a run; never in the URL)."""
    token = st.session_state.get("owner")
    if not lt.valid_token(token):
        try:
            token = st.context.cookies.get(OWNER_COOKIE)
        except Exception:  # noqa: BLE001 - no cookies (e.g. AppTest) is simply a new browser
            token = None
    if not lt.valid_token(token):
        token = uuid.uuid4().hex[:16]
    st.session_state.owner = token
    if "owner" in st.query_params:  # links from older versions carried the token: drop it
        del st.query_params["owner"]
    return token


def snapshot(state: lt.RunState) -> lt.MetricsSnapshot:
    """A live run's points from the shared follower; an ended run's from lossviz's bounded cache."""
    return lt.run_snapshot(state, tail_for)


def settings_ui(manager: lt.JobManager, owner: str, lang: str) -> tuple[lt.TrainConfig, int, str, bool]:
    """The sidebar: returns the config, the number of workers, the run name and whether Start was pressed."""
    root = lt.default_data_dir()
    st.header(gettext("Run settings", lang))
    text = st.text_input(gettext("CIFAR-10 folder", lang), value="", key=W + "data_dir", placeholder=gettext("(the server's data folder)", lang),
                         help=gettext("Empty: the server's data folder. Or a folder inside it.", lang))  # fmt: skip
    data_dir, problem = lt.data_folder(text, root, lang)
    if problem:
        st.error(problem)
    extra = training_insight.data_ui(manager, owner, root, data_dir, lang)  # real digits, CIFAR-10, your pictures, synthetic; full batch, sharpness
    relu = st.toggle(gettext("Add ReLU activations", lang), value=False, key=W + "relu", help=gettext("The tutorial's network has none.", lang))
    loss = st.selectbox(gettext("Loss function", lang), list(lt.CLASSIFICATION_LOSSES), key=K.TRAINING_LOSS,
                        help="\n\n".join(f"**{k}**: {gettext(v, lang)}" for k, v in lt.CLASSIFICATION_LOSSES.items()))  # fmt: skip
    options = lt.training_options(loss)
    smoothing = st.slider(gettext("Label smoothing", lang), 0.0, 0.5, 0.0, 0.05, key=W + "label_smoothing") if "label_smoothing" in options else 0.0
    margin = st.number_input(gettext("Margin", lang), 0.0, 10.0, 1.0, 0.5, key=W + "margin") if "margin" in options else 1.0
    optimizers = {"sgd": gettext("SGD with momentum", lang), "adam": "Adam"}
    optimizer = st.radio(gettext("Optimizer", lang), list(optimizers), key=W + "optimizer", horizontal=True, format_func=optimizers.get)
    lr = st.number_input(gettext("Learning rate", lang), 0.0, 1e6, 0.01 if optimizer == "sgd" else 0.001, format="%g", key=f"{W}lr_{optimizer}")
    momentum = st.slider(gettext("Momentum", lang), 0.0, 0.99, 0.9, 0.01, key=W + "momentum") if optimizer == "sgd" else 0.0
    batch = st.select_slider(gettext("Batch size", lang), [1, 4, 8, 16, 32, 64, 128, 256, 512], value=64, key=W + "batch_size")
    epochs = st.number_input(gettext("Epochs", lang), 1, 1000, 2, key=W + "epochs")
    max_batches = st.number_input(gettext("Stop after this many batches (0 = no limit)", lang), 0, 10**7, 0, key=W + "max_batches")
    seed = st.number_input(gettext("Seed", lang), 0, 2**31 - 1, 0, key=W + "seed")
    with st.expander(gettext("Machine and synthetic data", lang)):
        device = st.selectbox(gettext("Device", lang), ["auto", *lt.available_devices()], key=W + "device", help=gettext("auto: cuda, then mps, then cpu.", lang))
        workers = st.number_input(gettext("Workers (processes)", lang), 1, lt.max_workers(), 1, key=W + "workers", help=gettext("More than one trains with torchrun: one process per GPU, or per two CPU cores.", lang))
        threads = st.number_input(gettext("CPU threads per worker", lang), 1, 256, lt.recommended_threads(), key=W + "threads", help=gettext("By default one core stays free so the charts stay smooth.", lang))
        amp = st.toggle(gettext("bf16 autocast (--amp)", lang), value=False, key=W + "amp")
        syn_train = st.number_input(gettext("Synthetic training images", lang), 10, 200_000, 10_000, 1000, key=W + "syn_train")
        syn_test = st.number_input(gettext("Synthetic test images", lang), 10, 200_000, 2_000, 500, key=W + "syn_test")
    name = st.text_input(gettext("Run name (optional)", lang), key=W + "run_name", placeholder=gettext("e.g. relu-adam", lang))
    start = st.button(gettext("▶ Start training", lang), type="primary", key=W + "start", width="stretch")
    st.caption(gettext("Runs are saved in the server's runs folder; each one trains in its own process.", lang))
    config = lt.TrainConfig(**extra, data_dir=str(data_dir), relu=bool(relu), loss=loss,
        label_smoothing=float(smoothing), margin=float(margin), optimizer=optimizer, lr=float(lr), momentum=float(momentum),
        batch_size=int(batch), epochs=int(epochs), seed=int(seed), max_batches=int(max_batches) or None, device=device,
        threads=int(threads), amp=bool(amp), synthetic_train=int(syn_train), synthetic_test=int(syn_test))  # fmt: skip
    return config, int(workers), name.strip(), start


def controls_ui(state: lt.RunState, job: object, owner: str, lang: str) -> None:
    """Status line and, for the browser that started the run, pause/resume/stop."""
    head, buttons = st.columns([3, 2], vertical_alignment="center")
    data_note = gettext("**synthetic data**", lang) if state.label == "synthetic" else lt.dataset_text(state.label, lang)
    head.markdown(f"#### {lt.STATUS_ICONS.get(state.status, '•')} {lt.status_text(state.status, lang)} · {data_note}")
    where = gettext("run `{name}` · trains on {device}", lang, name=state.name, device=state.device) if state.device else None
    head.caption(where or gettext("run `{name}`", lang, name=state.name))
    if job is not None and state.live and job.can_control(owner) and state.status != "starting":
        b1, b2 = buttons.columns(2)
        paused = state.status == "paused"
        b1.button(gettext("▶ Resume", lang) if paused else gettext("⏸ Pause", lang), key=W + ("resume" if paused else "pause"), width="stretch", on_click=job.resume if paused else job.pause)
        b2.button(gettext("⏹ Stop", lang), key=W + "stop", width="stretch", on_click=job.stop)
    elif state.live and not (job is not None and job.can_control(owner)):  # the owner owns it from Start on
        buttons.caption(gettext("Started from another browser or from the command line: you are watching it read-only.", lang))


def draw_run(runs_dir: Path, name: str, manager: lt.JobManager, owner: str, lang: str) -> tuple[bool, int]:
    """Status, controls, progress and the four charts; returns whether the run is live and its batch count."""
    job = manager.get(name)
    try:
        state = lt.run_state(runs_dir, name, job, lang)
    except LossvizInputError as exc:
        st.error(render(exc, lang), icon="🚫")
        return False, 0
    snap = snapshot(state)
    controls_ui(state, job, owner, lang)
    for note in state.notes:  # files of the run folder that were not read (a pipe, a link, too large)
        st.warning(render(note, lang), icon="📄")
    progress = lt.progress_line(state, snap, lang)
    if progress is not None:
        st.progress(*progress)
    if state.status in ("diverged", "failed"):
        say("error", lt.ended_text(state, lang), icon=lt.STATUS_ICONS[state.status])
    elif state.status == "interrupted":
        st.warning(gettext("This run stopped without saying goodbye (its process was killed). Its points so far are shown.", lang))
    for col, (label, value, help_text) in zip(st.columns(4), lt.metric_cards(state, snap, lang), strict=True):
        col.metric(label, value, help=help_text)
    st.markdown(lt.CHART_COLUMNS_CSS, unsafe_allow_html=True)
    st.session_state.setdefault(K.TRAINING_SMOOTHING, lt.smoothing_from_link(st.query_params.get(K.TRAINING_SMOOTHING_QUERY)))
    if presenting():  # a projector shows the charts first: the smoothing the link or the last setting chose
        sm = float(st.session_state[K.TRAINING_SMOOTHING])
    elif (sm := st.columns([1, 3])[0].slider(gettext("Smoothing", lang), 0.0, 0.99, step=0.01, key=K.TRAINING_SMOOTHING, help=gettext(lt.SMOOTHING_HELP, lang))) != lt.DEFAULT_SMOOTHING or K.TRAINING_SMOOTHING_QUERY in st.query_params:
        st.query_params[K.TRAINING_SMOOTHING_QUERY] = f"{sm:g}"  # the link keeps the setting
    (c1, c2), (c3, c4) = st.columns(2), st.columns(2)
    chart(c1, lt.make_loss_figure(snap, state.label, loss_name=state.loss, chance=state.chance, lang=lang, smoothing=sm), key=W + "fig_loss")
    chart(c2, lt.make_accuracy_figure(snap, state.label, lang=lang, smoothing=sm), key=W + "fig_acc")
    chart(c3, lt.make_grad_norm_figure(snap, state.label, lang=lang, smoothing=sm), key=W + "fig_grad")
    where = c4.container()
    modes = {"lines": gettext("one line per layer", lang), "heatmap": gettext("layer × step heatmap", lang)}
    picks = {s.key: gettext(s.label, lang) for s in lt.layer_metrics()}  # every registered per-layer metric is a choice
    pick = (c4.segmented_control(gettext("Per-layer metric", lang), list(picks), default="layer_grad_norms", key=W + "layer_metric", format_func=picks.get) if len(picks) > 1 else None) or "layer_grad_norms"
    mode = c4.segmented_control(gettext("Per-layer view", lang), list(modes), default="lines", key=W + "layer_mode", format_func=modes.get)
    chart(where, lt.make_layer_figure(snap, pick, mode or "lines", state.label, max_points=300, labels=state.labels, lang=lang, smoothing=sm), key=W + "fig_layers")
    for spec in lt.own_chart_metrics():  # registered scalar metrics with a chart of their own
        chart(st, lt.make_metric_figure(snap, spec.key, state.label, lang=lang, smoothing=sm), key=W + "fig_" + spec.key)
    return state.live, snap.n_batches


def runs_ui(runs_dir: Path, manager: lt.JobManager, all_runs: list, view: str | None, lang: str) -> None:
    """The run table, reopening a run, its CSV, and the comparison chart."""
    st.divider()
    st.header(gettext("Runs", lang))
    if not all_runs:
        st.caption(gettext("Finished runs appear here; you can reopen them, compare them and download their numbers.", lang))
        return

    @st.fragment(run_every=5 * REFRESH_S if any(r.live for r in all_runs) or manager.active_jobs() else None)
    def runs_table() -> None:
        st.dataframe(pd.DataFrame(lt.run_table(manager.run_rows(runs_dir), lang)), hide_index=True, width="stretch")

    runs_table()
    names = [view] * (view is not None and view not in {r.name for r in all_runs}) + [r.name for r in all_runs]  # a starting run is listed (never swapped for the newest)
    labels = {n: n for n in names} | {r.name: lt.run_label(r, lang) for r in all_runs}
    col_open, col_dl = st.columns([2, 1], vertical_alignment="bottom")
    st.session_state[W + "open_run"] = view if view in names else names[0]
    chosen = col_open.selectbox(gettext("Open a run", lang), names, format_func=labels.get, key=W + "open_run", on_change=lambda: st.session_state.update(view_run=st.session_state[W + "open_run"]))
    training_room.delete_ui(runs_dir, manager, owner_token(), chosen, lang)
    col_dl.download_button(gettext("⬇ Metrics as CSV", lang), data=lambda: lt.run_csv(runs_dir, chosen), file_name=f"{chosen}-metrics.csv", mime="text/csv", key=W + "download_csv", width="stretch")
    compare = st.multiselect(gettext("Compare runs on one chart", lang), names, default=[], format_func=labels.get, key=W + "compare_runs", max_selections=8, placeholder=gettext("Choose runs", lang))
    if compare:
        metrics = {"loss": gettext("training loss", lang), "accuracy": gettext("accuracy", lang), "grad_norm": gettext("gradient norm", lang)}
        metric = st.radio(gettext("Compare", lang), list(metrics), horizontal=True, key=W + "compare_metric", format_func=metrics.get)
        try:
            states = [lt.run_state(runs_dir, n, manager.get(n), lang) for n in compare]
            series = [(f"{s.name} ({lt.dataset_text(s.label, lang)})", snapshot(s)) for s in states]
            chart(st, training_room.compare_view(lt.make_overlay_figure(series, metric, lang=lang), compare, all_runs, lang), key=W + "fig_overlay")
        except LossvizInputError as exc:
            st.error(render(exc, lang), icon="🚫")


lang = page_chrome(W)
demo = presenting()  # a projector shows the run: status, controls and charts; the settings fold away
runs_dir = lt.default_runs_dir()
manager = job_manager()
owner = owner_token()
(st.subheader if demo else st.title)(gettext("Watch a CNN learn", lang))  # a projector: the run first
if not demo:
    st.markdown(gettext(lt.INTRO, lang))
with st.sidebar, st.popover(gettext("Run settings", lang), icon="⚙️") if demo else st.container():  # folded away on a projector
    config, workers, run_label, start = settings_ui(manager, owner, lang)
if start:
    st.session_state.pop("refusal", None)
    try:
        job = manager.start(config, runs_dir=runs_dir, name=run_label or None, owner=owner, workers=workers)
        st.session_state.view_run = job.name
        training_room.after_start(owner, OWNER_COOKIE)  # a reload keeps pause/stop; the popover closes
        st.toast(gettext("Started {name}", lang, name=job.name), icon="▶️")
    except LossvizInputError as exc:
        st.session_state.refusal = (exc.message, [j.name for j in manager.active_jobs()])
        if manager.active_jobs():  # show the run that is in the way
            st.session_state.view_run = manager.active_jobs()[0].name
refusal = lt.refusal_to_show(st.session_state.get("refusal"), manager, just_pressed=start)
if refusal:  # a "run in progress" refusal stays while that run trains (the page redraws meanwhile)
    st.error(render(refusal, lang), icon="🚫")
if not demo:
    with st.expander(gettext("What does the ReLU switch change?", lang), expanded=False):
        st.markdown(gettext(lt.RELU_EXPLANATION, lang))
        st.caption(gettext("The network as configured now ({n:,} weights):", lang, n=lt.count_parameters(model := lt.build_model(config.relu))))
        st.code("\n".join(lt.describe_model(model)), language="text")

all_runs = lt.list_runs(runs_dir)
training_room.clean_slate_ui(all_runs, lang)  # a fresh page: earlier runs stay listed, none is picked
view, live_now = lt.pick_run(st.session_state.get("view_run"), manager, training_room.visible_runs(all_runs), runs_dir)
st.session_state.view_run = view
if any(r.live and manager.get(r.name) is None for r in all_runs):
    st.sidebar.warning(gettext("Another program is training right now; a second run would slow both down. You can watch it below.", lang))
if view is None:
    st.info(gettext("No runs yet. Pick your settings in the sidebar and press **Start training**.", lang))
else:
    refresh = lt.refresh_seconds(live_now, lt.last_step(runs_dir / view) is not None, REFRESH_S)

    @st.fragment(run_every=refresh)
    def live_panel() -> None:
        live, points = draw_run(runs_dir, view, manager, owner, lang)
        if live_now and (not live or (points and refresh != REFRESH_S)):
            st.rerun()  # ended, or its first point arrived: redraw the page once (run list, timer)

    live_panel()
    training_insight.insight_view(runs_dir / view, manager, owner, lang, refresh and 2 * REFRESH_S)  # health, sharpness, predictions
    with st.expander(tr("wl.title", lang), expanded=bool(st.session_state.get("wl_probe"))):
        weight_landscape.weight_landscape_view(runs_dir / view, lang=lang, manager=manager, owner=owner)  # a probe process
with training_room.fold(demo, lang):  # on a projector folded away, never removed
    runs_ui(runs_dir, manager, all_runs, view, lang)
if not demo:
    with st.expander(gettext("How does this page relate to the tutorial?", lang)):
        st.markdown(gettext(lt.TUTORIAL_NOTE, lang))
write_link({})  # the share box and a class get this page (its settings are not in links)
