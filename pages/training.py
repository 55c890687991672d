"""Watch training: the tutorial's CIFAR-10 CNN learning live, batch by batch.

A run is its own process (``python -m lossviz train``, or torchrun for several workers) started by
the job manager; this page only lays out widgets and follows the run directory.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import streamlit as st

from lossviz import LossvizInputError
from lossviz import training as lt
from lossviz.i18n import tr
from pages import deep_link_guard, language
from pages.parts.weight_landscape import weight_landscape_view

deep_link_guard()

REFRESH_S = 1.0
OWNER_COOKIE = "lossviz_owner"
ICONS = {"starting": "⏳", "running": "🟢", "paused": "⏸️", "finished": "✅", "stopped": "⏹️",
         "diverged": "💥", "failed": "⚠️", "interrupted": "✂️"}  # fmt: skip
PLOT = {"displaylogo": False}


@st.cache_resource
def job_manager() -> lt.JobManager:
    """One job manager per server process: it caps concurrent runs and owns the processes it started."""
    return lt.JobManager()


@st.cache_resource(max_entries=8)
def tail_for(path: str) -> lt.runs.MetricsTail:
    """One follower per live run directory, shared by every viewer."""
    return lt.runs.MetricsTail(Path(path))


@st.cache_data(max_entries=32, max_size="32MB", show_spinner=False)
def disk_snapshot(path: str, size: int, mtime: float) -> lt.MetricsSnapshot:
    """All points of an ended run (cached by file size and time)."""
    log = lt.MetricsLog()
    log.extend(lt.runs.read_metrics(Path(path)))
    return log.snapshot()


def owner_token() -> str:
    """This browser's random token (session, then cookie once it starts a run; never in the URL)."""
    token = st.session_state.get("owner")
    if not lt.view.valid_token(token):
        try:
            token = st.context.cookies.get(OWNER_COOKIE)
        except Exception:  # noqa: BLE001 - no cookies (e.g. AppTest) is simply a new browser
            token = None
    if not lt.view.valid_token(token):
        token = uuid.uuid4().hex[:16]
    st.session_state.owner = token
    if "owner" in st.query_params:  # links from older versions carried the token: drop it
        del st.query_params["owner"]
    return token


def snapshot(state: lt.view.RunState) -> lt.MetricsSnapshot:
    """A live run's points from the shared follower; an ended run's from the cache (keyed by file size and time)."""
    if state.path is None:
        return lt.MetricsLog().snapshot()
    if state.live:
        return lt.view.follow(tail_for(str(state.path)))
    return disk_snapshot(str(state.path), *lt.view.file_key(state.path / lt.runs.METRICS_FILE))


def settings_ui(manager: lt.JobManager, owner: str) -> tuple[lt.TrainConfig, int, str, bool]:
    """The sidebar: returns the config, the number of workers, the run name and whether Start was pressed."""
    root = lt.data.default_data_dir()
    st.header("Run settings")
    text = st.text_input("CIFAR-10 folder", value="", key="data_dir", placeholder="(the server's data folder)",
                         help="Empty: the server's data folder. Or a folder inside it.")  # fmt: skip
    data_dir, problem = lt.view.data_folder(text, root)
    if problem:
        st.error(problem)
    present = lt.data.cifar10_status(data_dir) == "present"
    sources = ["Synthetic images (always available)", "CIFAR-10 (real photos)"]
    use_cifar = st.radio("Data", sources, index=int(present), key="data_source") == sources[1]
    if present:
        st.caption(f"CIFAR-10 found in {lt.view.shown_path(data_dir, root, 'the data folder')}.")
    else:
        st.caption("CIFAR-10 is not on this machine, so the page trains on a **synthetic** set: ten noisy colour "
                   "patterns shaped like CIFAR images. Everything trained on it is labelled *synthetic*.")  # fmt: skip
        if st.button("Download CIFAR-10 (170 MB)", key="download", help="Into the server's data folder."):
            try:
                with st.spinner("Downloading CIFAR-10…"):
                    manager.download(owner, lambda: lt.data.download_cifar10(root, shown_as="the data folder"))
                st.rerun()
            except LossvizInputError as exc:
                st.error(str(exc), icon="🚫")
    relu = st.toggle("Add ReLU activations", value=False, key="relu", help="The tutorial's network has none.")
    loss = st.selectbox("Loss function", list(lt.CLASSIFICATION_LOSSES), key="loss",
                        help="\n\n".join(f"**{k}**: {v}" for k, v in lt.CLASSIFICATION_LOSSES.items()))  # fmt: skip
    smoothing = st.slider("Label smoothing", 0.0, 0.5, 0.0, 0.05, key="label_smoothing") if loss == "CrossEntropyLoss" else 0.0
    margin = st.number_input("Margin", 0.0, 10.0, 1.0, 0.5, key="margin") if loss == "MultiMarginLoss" else 1.0
    optimizer = st.radio("Optimizer", ["sgd", "adam"], key="optimizer", horizontal=True,
                         format_func={"sgd": "SGD with momentum", "adam": "Adam"}.get)  # fmt: skip
    lr = st.number_input("Learning rate", 0.0, 1e6, 0.01 if optimizer == "sgd" else 0.001, format="%g", key=f"lr_{optimizer}")
    momentum = st.slider("Momentum", 0.0, 0.99, 0.9, 0.01, key="momentum") if optimizer == "sgd" else 0.0
    batch = st.select_slider("Batch size", [1, 4, 8, 16, 32, 64, 128, 256, 512], value=64, key="batch_size")
    epochs = st.number_input("Epochs", 1, 1000, 2, key="epochs")
    max_batches = st.number_input("Stop after this many batches (0 = no limit)", 0, 10**7, 0, key="max_batches")
    seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="seed")
    with st.expander("Machine and synthetic data"):
        device = st.selectbox("Device", ["auto", *lt.available_devices()], key="device", help="auto: cuda, then mps, then cpu.")
        workers = st.number_input("Workers (processes)", 1, lt.max_workers(), 1, key="workers",
                                  help="More than one trains with torchrun: one process per GPU, or per two CPU cores.")  # fmt: skip
        threads = st.number_input("CPU threads per worker", 1, 256, lt.recommended_threads(), key="threads",
                                  help="By default one core stays free so the charts stay smooth.")  # fmt: skip
        amp = st.toggle("bf16 autocast (--amp)", value=False, key="amp")
        syn_train = st.number_input("Synthetic training images", 10, 200_000, 10_000, 1000, key="syn_train")
        syn_test = st.number_input("Synthetic test images", 10, 200_000, 2_000, 500, key="syn_test")
    name = st.text_input("Run name (optional)", key="run_name", placeholder="e.g. relu-adam")
    start = st.button("▶ Start training", type="primary", key="start", width="stretch")
    st.caption("Runs are saved in the server's runs folder; each one trains in its own process.")
    config = lt.TrainConfig(
        dataset="cifar10" if use_cifar else "synthetic", data_dir=str(data_dir), relu=bool(relu), loss=loss,
        label_smoothing=float(smoothing), margin=float(margin), optimizer=optimizer, lr=float(lr),
        momentum=float(momentum), batch_size=int(batch), epochs=int(epochs), seed=int(seed),
        max_batches=int(max_batches) or None, device=device, threads=int(threads), amp=bool(amp),
        synthetic_train=int(syn_train), synthetic_test=int(syn_test),
    )  # fmt: skip
    return config, int(workers), name.strip(), start


def controls_ui(state: lt.view.RunState, job: object, owner: str) -> None:
    """Status line and, for the browser that started the run, pause/resume/stop."""
    head, buttons = st.columns([3, 2], vertical_alignment="center")
    data_note = "**synthetic data**" if state.label == "synthetic" else "CIFAR-10"
    head.markdown(f"#### {ICONS.get(state.status, '•')} {state.status.capitalize()} · {data_note}")
    head.caption(f"run `{state.name}`" + (f" · trains on {state.device}" if state.device else ""))
    if job is not None and state.live and job.can_control(owner) and state.status != "starting":
        b1, b2 = buttons.columns(2)
        if state.status == "paused":
            b1.button("▶ Resume", key="resume", width="stretch", on_click=job.resume)
        else:
            b1.button("⏸ Pause", key="pause", width="stretch", on_click=job.pause)
        b2.button("⏹ Stop", key="stop", width="stretch", on_click=job.stop)
    elif state.live:
        buttons.caption("Started from another browser or from the command line: you are watching it read-only.")


def draw_run(runs_dir: Path, name: str, manager: lt.JobManager, owner: str) -> tuple[bool, int]:
    """Status, controls, progress and the four charts; returns whether the run is live and its batch count."""
    job = manager.get(name)
    try:
        state = lt.view.run_state(runs_dir, name, job)
    except LossvizInputError as exc:
        st.error(str(exc), icon="🚫")
        return False, 0
    snap = snapshot(state)
    controls_ui(state, job, owner)
    progress = lt.view.progress_line(state, snap)
    if progress is not None:
        st.progress(*progress)
    if state.status in ("diverged", "failed"):
        st.error(state.message or f"Training {state.status}.", icon=ICONS[state.status])
    elif state.status == "interrupted":
        st.warning("This run stopped without saying goodbye (its process was killed). Its points so far are shown.")
    for col, (label, value, help_text) in zip(st.columns(4), lt.view.metric_cards(state, snap), strict=True):
        col.metric(label, value, help=help_text)
    c1, c2 = st.columns(2)
    c1.plotly_chart(lt.make_loss_figure(snap, state.label, loss_name=state.loss, chance=state.chance), key="fig_loss", config=PLOT)
    c2.plotly_chart(lt.make_accuracy_figure(snap, state.label), key="fig_acc", config=PLOT)
    c3, c4 = st.columns(2)
    c3.plotly_chart(lt.make_grad_norm_figure(snap, state.label), key="fig_grad", config=PLOT)
    chart = c4.container()
    mode = c4.segmented_control("Per-layer view", ["lines", "heatmap"], default="lines", key="layer_mode",
                                format_func={"lines": "one line per layer", "heatmap": "layer × step heatmap"}.get)  # fmt: skip
    chart.plotly_chart(lt.make_layer_grad_figure(snap, mode or "lines", state.label, max_points=300, labels=state.labels),
                       key="fig_layers", config=PLOT)  # fmt: skip
    return state.live, snap.n_batches


def runs_ui(runs_dir: Path, manager: lt.JobManager, all_runs: list, view: str | None) -> None:
    """The run table, reopening a run, its CSV, and the comparison chart."""
    st.divider()
    st.header("Runs")
    if not all_runs:
        st.caption("Finished runs appear here; you can reopen them, compare them and download their numbers.")
        return

    @st.fragment(run_every=5 * REFRESH_S if any(r.live for r in all_runs) or manager.active_jobs() else None)
    def runs_table() -> None:
        table = pd.DataFrame(manager.run_rows(runs_dir))
        for column, fmt in (("last loss", "{:.4f}"), ("test loss", "{:.4f}"), ("test accuracy", "{:.1%}")):
            table[column] = [fmt.format(v) if pd.notna(v) else "—" for v in table[column]]  # "—", not "None"
        st.dataframe(table, hide_index=True, width="stretch")

    runs_table()
    names = [r.name for r in all_runs]
    labels = {r.name: f"{r.name} ({r.dataset_label}, {r.status})" for r in all_runs}
    col_open, col_dl = st.columns([3, 1], vertical_alignment="bottom")
    st.session_state.open_run = view if view in names else names[0]
    chosen = col_open.selectbox("Open a run", names, format_func=labels.get, key="open_run",
                                on_change=lambda: st.session_state.update(view_run=st.session_state.open_run))  # fmt: skip
    col_dl.download_button("⬇ Metrics as CSV", data=lambda: lt.runs.run_csv(runs_dir, chosen), file_name=f"{chosen}-metrics.csv",
                           mime="text/csv", key="download_csv", width="stretch")  # fmt: skip
    compare = st.multiselect("Compare runs on one chart", names, default=[], format_func=labels.get, key="compare_runs", max_selections=8)
    if compare:
        metric = st.radio("Compare", ["loss", "accuracy", "grad_norm"], horizontal=True, key="compare_metric",
                          format_func={"loss": "training loss", "accuracy": "accuracy", "grad_norm": "gradient norm"}.get)  # fmt: skip
        try:
            states = [lt.view.run_state(runs_dir, n, manager.get(n)) for n in compare]
            series = [(f"{s.name} ({s.label})", snapshot(s)) for s in states]
            st.plotly_chart(lt.make_overlay_figure(series, metric), key="fig_overlay", config=PLOT)
        except LossvizInputError as exc:
            st.error(str(exc), icon="🚫")
        if len(compare) == 1:
            st.caption("Pick one more run to compare.")


runs_dir = lt.runs.default_runs_dir()
manager = job_manager()
owner = owner_token()
st.title("Watch a CNN learn")
st.markdown(lt.view.INTRO)
with st.sidebar:
    config, workers, run_label, start = settings_ui(manager, owner)
if start:
    st.session_state.pop("refusal", None)
    try:
        job = manager.start(config, runs_dir=runs_dir, name=run_label or None, owner=owner, workers=workers)
        st.session_state.view_run = job.name
        with st.sidebar:  # a reload of this browser keeps the pause/stop buttons
            st.html(f"<script>document.cookie = '{OWNER_COOKIE}={owner}; path=/; max-age=2592000; SameSite=Strict';</script>",
                    unsafe_allow_javascript=True)  # fmt: skip
        st.toast(f"Started {job.name}", icon="▶️")
    except LossvizInputError as exc:
        st.session_state.refusal = (str(exc), [j.name for j in manager.active_jobs()])
        if manager.active_jobs():  # show the run that is in the way
            st.session_state.view_run = manager.active_jobs()[0].name
refusal = lt.view.refusal_to_show(st.session_state.get("refusal"), manager, just_pressed=start)
if refusal:  # a "run in progress" refusal stays while that run trains (the page redraws meanwhile)
    st.error(refusal, icon="🚫")
with st.expander("What does the ReLU switch change?", expanded=False):
    st.markdown(lt.RELU_EXPLANATION)
    model = lt.build_model(config.relu)
    st.caption(f"The network as configured now ({lt.count_parameters(model):,} weights):")
    st.code("\n".join(lt.describe_model(model)), language="text")

all_runs = lt.runs.list_runs(runs_dir)
view, live_now = lt.view.pick_run(st.session_state.get("view_run"), manager, all_runs, runs_dir)
st.session_state.view_run = view
if any(r.live and manager.get(r.name) is None for r in all_runs):
    st.sidebar.warning("Another program is training right now; a second run would slow both down. You can watch it below.")
if view is None:
    st.info("No runs yet. Pick your settings in the sidebar and press **Start training**.")
else:
    refresh = lt.view.refresh_seconds(live_now, lt.runs.last_step(runs_dir / view) is not None, REFRESH_S)

    @st.fragment(run_every=refresh)
    def live_panel() -> None:
        live, points = draw_run(runs_dir, view, manager, owner)
        if live_now and (not live or (points and refresh != REFRESH_S)):
            st.rerun()  # ended, or its first point arrived: redraw the page once (run list, timer)

    live_panel()
    with st.expander(tr("wl.title", language()), expanded=bool(st.session_state.get("wl_job"))):
        weight_landscape_view(runs_dir / view, lang=language())  # the run's own loss landscape (weights)
runs_ui(runs_dir, manager, all_runs, view)
with st.expander("How does this page relate to the tutorial?"):
    st.markdown(lt.view.TUTORIAL_NOTE)
