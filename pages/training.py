"""Watch training: the tutorial's CIFAR-10 CNN learning live, batch by batch.

This page only lays out widgets and draws; training, run files and figures live in lossviz/.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from lossviz import LossvizInputError
from lossviz.training import (
    CLASSIFICATION_LOSSES,
    RELU_EXPLANATION,
    JobManager,
    MetricsLog,
    MetricsSnapshot,
    TrainConfig,
    available_devices,
    build_model,
    chance_loss,
    count_parameters,
    describe_model,
    layer_labels_for,
    make_accuracy_figure,
    make_grad_norm_figure,
    make_layer_grad_figure,
    make_loss_figure,
    make_overlay_figure,
    progress_summary,
    recommended_threads,
    steps_per_epoch,
)
from lossviz.training import data as lv_data
from lossviz.training import runs as lv_runs

# A deep link (e.g. /training) opened before anyone has loaded "/" makes Streamlit run this file
# alone in its legacy pages/ mode, without app.py's navigation and page config. Hand over to app.py's
# st.navigation and rerun, so every first visit sees the page as designed.
if PagesManager.uses_pages_directory:
    PagesManager.uses_pages_directory = False
    st.rerun()

REFRESH_S = 1.0
STATUS_ICONS = {
    "running": "🟢",
    "paused": "⏸️",
    "finished": "✅",
    "stopped": "⏹️",
    "diverged": "💥",
    "failed": "⚠️",
    "interrupted": "✂️",
}


@st.cache_resource
def job_manager() -> JobManager:
    """One job manager per server process: it caps concurrent runs and lets reloaded pages reattach."""
    return JobManager()


@st.cache_data(max_entries=32, show_spinner=False)
def disk_snapshot(path: str, size: int, mtime: float) -> MetricsSnapshot:
    """All points of a finished run on disk (cached by file size and time)."""
    log = MetricsLog()
    log.extend(lv_runs.read_metrics(Path(path)))
    return log.snapshot()


OWNER_COOKIE = "lossviz_owner"


def _valid_token(token: object) -> bool:
    return isinstance(token, str) and token.isalnum() and 8 <= len(token) <= 40


def owner_token() -> str:
    """Who this browser is: a random token in the session and, once it starts a run, in a cookie.

    The cookie (not the URL) is what lets a reload keep the pause/stop buttons: a link copied from a
    projected address bar must not hand the controls to a whole class. Another browser has its own
    cookie jar, so it watches read-only.
    """
    token = st.session_state.get("owner")
    if not _valid_token(token):
        try:
            token = st.context.cookies.get(OWNER_COOKIE)
        except Exception:  # noqa: BLE001 - no cookies (e.g. AppTest) is simply a new browser
            token = None
    if not _valid_token(token):
        token = uuid.uuid4().hex[:16]
    st.session_state.owner = str(token)
    if "owner" in st.query_params:  # links from older versions carried the token: drop it
        del st.query_params["owner"]
    return str(token)


def remember_owner(token: str) -> None:
    """Store the token in a first-party cookie (30 days, this site only) so a reload keeps control."""
    if _valid_token(token):
        st.html(
            f"<script>document.cookie = '{OWNER_COOKIE}={token}; path=/; max-age=2592000; SameSite=Strict';</script>",
            unsafe_allow_javascript=True,
        )


def fail(exc: Exception) -> None:
    st.error(str(exc), icon="🚫")


runs_dir = lv_runs.default_runs_dir()
manager = job_manager()
owner = owner_token()

# ----------------------------------------------------------------------------- intro

st.title("Watch a CNN learn")
st.markdown(
    "The network from the classic PyTorch tutorial is learning to sort 32×32 colour images into 10 classes. "
    "After every **batch** of images it measures how wrong it was — the **loss** — and backpropagation computes "
    "the **gradient**: for every weight, which way would make the loss bigger. The optimizer then nudges all "
    "weights a little the other way. Watch the loss fall. The **gradient norm** is the length of that gradient: "
    "big means steep ground and big updates; a sudden jump warns that training is becoming unstable."
)

# ----------------------------------------------------------------------------- settings (sidebar)

with st.sidebar:
    st.header("Run settings")
    data_text = st.text_input(
        "CIFAR-10 folder",
        value=str(lv_data.default_data_dir()),
        key="data_dir",
        help="The folder that holds cifar-10-batches-py/: the server's data folder (LOSSVIZ_DATA) or one "
        "inside it.",
    )
    try:
        data_dir = str(lv_data.page_data_dir(data_text))
    except LossvizInputError as exc:
        st.error(str(exc))
        data_dir = str(lv_data.page_data_dir(None))
    cifar_state = lv_data.cifar10_status(data_dir)
    sources = ["Synthetic images (always available)", "CIFAR-10 (real photos)"]
    source = st.radio("Data", sources, index=1 if cifar_state == "present" else 0, key="data_source")
    use_cifar = source == sources[1]
    if cifar_state == "present":
        st.caption(f"CIFAR-10 found in {data_dir}.")
    else:
        st.caption(
            "CIFAR-10 is not on this machine, so the page trains on a **synthetic** set: ten noisy colour patterns "
            "shaped like CIFAR images. Everything trained on it is labelled *synthetic*."
        )
        if st.button("Download CIFAR-10 (170 MB)", key="download", help="Needs internet access."):
            try:
                with st.spinner("Downloading CIFAR-10…"):
                    lv_data.download_cifar10(data_dir)
                st.success("CIFAR-10 downloaded.")
                st.rerun()
            except LossvizInputError as exc:
                fail(exc)

    st.subheader("Model")
    relu = st.toggle("Add ReLU activations", value=False, key="relu", help="The tutorial's network has none.")
    st.subheader("Loss and optimizer")
    loss_name = st.selectbox(
        "Loss function",
        list(CLASSIFICATION_LOSSES),
        key="loss",
        help="\n\n".join(f"**{k}**: {v}" for k, v in CLASSIFICATION_LOSSES.items()),
    )
    label_smoothing = (
        st.slider("Label smoothing", 0.0, 0.5, 0.0, 0.05, key="label_smoothing")
        if loss_name == "CrossEntropyLoss"
        else 0.0
    )
    margin = (
        st.number_input("Margin", 0.0, 10.0, 1.0, 0.5, key="margin")
        if loss_name == "MultiMarginLoss"
        else 1.0
    )
    optimizer = st.radio(
        "Optimizer",
        ["sgd", "adam"],
        format_func=lambda o: {"sgd": "SGD with momentum", "adam": "Adam"}[o],
        key="optimizer",
        horizontal=True,
    )
    lr = st.number_input(
        "Learning rate",
        min_value=0.0,
        max_value=1e6,
        value=0.01 if optimizer == "sgd" else 0.001,
        format="%g",
        key=f"lr_{optimizer}",
    )
    momentum = st.slider("Momentum", 0.0, 0.99, 0.9, 0.01, key="momentum") if optimizer == "sgd" else 0.0
    batch_size = st.select_slider(
        "Batch size", [1, 4, 8, 16, 32, 64, 128, 256, 512], value=64, key="batch_size"
    )
    epochs = st.number_input("Epochs", 1, 1000, 2, key="epochs")
    max_batches = st.number_input(
        "Stop after this many batches (0 = no limit)", 0, 10**7, 0, key="max_batches"
    )
    seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="seed")
    with st.expander("Machine and synthetic data"):
        device = st.selectbox(
            "Device",
            ["auto", *available_devices()],
            key="device",
            help="auto picks cuda, then mps, then cpu.",
        )
        threads = st.number_input(
            "CPU threads for training",
            1,
            256,
            recommended_threads(),
            key="threads",
            help="By default one core stays free so the charts and the browser stay smooth while training.",
        )
        syn_train = st.number_input("Synthetic training images", 10, 200_000, 10_000, 1000, key="syn_train")
        syn_test = st.number_input("Synthetic test images", 10, 200_000, 2_000, 500, key="syn_test")
    run_label = st.text_input("Run name (optional)", key="run_name", placeholder="e.g. relu-adam")
    start = st.button("▶ Start training", type="primary", key="start", width="stretch")
    st.caption(f"Runs are saved in {runs_dir.resolve()}.")

config = TrainConfig(
    dataset="cifar10" if use_cifar else "synthetic",
    data_dir=data_dir or None,
    relu=bool(relu),
    loss=loss_name,
    label_smoothing=float(label_smoothing),
    margin=float(margin),
    optimizer=optimizer,
    lr=float(lr),
    momentum=float(momentum),
    batch_size=int(batch_size),
    epochs=int(epochs),
    seed=int(seed),
    max_batches=int(max_batches) or None,
    device=device,
    threads=int(threads),
    synthetic_train=int(syn_train),
    synthetic_test=int(syn_test),
)

if start:
    try:
        job = manager.start(config, runs_dir=runs_dir, name=run_label.strip() or None, owner=owner)
        st.session_state.view_run = job.name
        with st.sidebar:
            remember_owner(owner)  # a reload of this browser keeps the pause/stop buttons
        st.toast(f"Started {job.name}", icon="▶️")
    except LossvizInputError as exc:
        fail(exc)
        busy = manager.active_jobs()
        if busy:  # show the run that is in the way, not whatever this tab looked at before
            st.session_state.view_run = busy[0].name

with st.expander("What does the ReLU switch change?", expanded=False):
    st.markdown(RELU_EXPLANATION)
    model = build_model(bool(relu))
    st.caption(f"The network as configured now ({count_parameters(model):,} weights):")
    st.code("\n".join(describe_model(model)), language="text")

# ----------------------------------------------------------------------------- which run is shown

active = manager.latest(runs_dir)
all_runs = lv_runs.list_runs(runs_dir)
run_names = [r.name for r in all_runs]
view = st.session_state.get("view_run")
if active is not None and active.active and (view is None or view not in run_names or view == active.name):
    view = active.name
if view not in run_names:
    view = (
        active.name
        if active is not None and active.name in run_names
        else (run_names[0] if run_names else None)
    )
st.session_state.view_run = view
foreign = [r for r in all_runs if r.live and manager.get(r.name) is None]
if foreign:
    st.sidebar.warning(
        f"Another program is training right now ({foreign[0].name}). A second run at the same time "
        "would slow both down; you can watch it below."
    )


def snapshot_for(name: str) -> tuple[MetricsSnapshot, dict]:
    """Points and state of a run: from this server's trainer if it is ours, else by following its files."""
    job = manager.get(name)
    if job is not None:
        t = job.trainer
        return t.log.snapshot(), {
            "status": "paused" if t.paused else t.status,
            "message": t.message,
            "total": t.total_steps,
            "batch_size": t.config.batch_size,
            "label": t.dataset_label,
            "loss": t.config.loss,
            "chance": chance_loss(t.config.loss, t.config.margin),
            "labels": layer_labels_for(t.config.relu),
            "job": job,
        }
    info = lv_runs.read_run(runs_dir, name)
    base = {
        "status": info.status,
        "message": info.summary.get("message", ""),
        "total": info.config.get("total_steps") or info.summary.get("total_steps") or 1,
        "batch_size": info.config.get("batch_size") or 1,
        "label": info.dataset_label,
        "loss": info.config.get("loss", "loss"),
        "chance": chance_loss(str(info.config.get("loss")), float(info.config.get("margin", 1.0))),
        "labels": layer_labels_for(bool(info.config.get("relu"))),
        "job": None,
    }
    if info.live:  # another process (e.g. the CLI) is writing it: follow metrics.jsonl
        tails = st.session_state.setdefault("tails", {})
        tail = tails.get(name)
        if tail is None:
            tail = tails[name] = lv_runs.MetricsTail(info.path)
        tail.poll()
        return tail.log.snapshot(), base
    mfile = info.path / lv_runs.METRICS_FILE
    stat = mfile.stat() if mfile.exists() else None
    snap = disk_snapshot(str(info.path), stat.st_size if stat else 0, stat.st_mtime if stat else 0.0)
    return snap, base


def run_status(name: str) -> str:
    """The status of a run without reading its points."""
    job = manager.get(name)
    if job is not None:
        return "paused" if job.trainer.paused else job.trainer.status
    try:
        return lv_runs.read_run(runs_dir, name).status
    except LossvizInputError:
        return "unknown"


def draw_run(name: str) -> bool:
    """Status, controls, progress and the four charts; returns True while the run is live."""
    try:
        snap, st_info = snapshot_for(name)
    except LossvizInputError as exc:
        fail(exc)
        return False
    status = st_info["status"]
    live = status in ("running", "paused")
    job = st_info["job"]
    data_note = "**synthetic data**" if st_info["label"] == "synthetic" else "CIFAR-10"
    head, buttons = st.columns([3, 2], vertical_alignment="center")
    head.markdown(f"#### {STATUS_ICONS.get(status, '•')} {status.capitalize()} · {data_note}")
    head.caption(f"run `{name}`")
    if job is not None and job.active and job.can_control(owner):
        b1, b2 = buttons.columns(2)
        if job.trainer.paused:
            b1.button("▶ Resume", key="resume", width="stretch", on_click=job.trainer.resume)
        else:
            b1.button("⏸ Pause", key="pause", width="stretch", on_click=job.trainer.pause)
        b2.button("⏹ Stop", key="stop", width="stretch", on_click=job.trainer.stop)
    elif live:
        buttons.caption(
            "Started from another browser or from the command line: you are watching it read-only."
        )
    prog = progress_summary(snap, st_info["total"], st_info["batch_size"])
    if live or status in ("finished", "stopped"):
        st.progress(
            float(prog["fraction"]),
            text=str(prog["text"]) if live else f"{status}: step {prog['step']:,} of {prog['total']:,}",
        )
    if status == "diverged":
        st.error(st_info["message"] or "Training diverged.", icon="💥")
    elif status == "failed":
        st.error(st_info["message"] or "Training failed.", icon="⚠️")
    elif status == "interrupted":
        st.warning(
            "This run stopped without saying goodbye (the server or the process was killed). Its points so far are shown."
        )
    m = st.columns(4)
    last_loss = snap.last("loss")
    m[0].metric("Batches seen", f"{prog['step']:,}")
    m[1].metric("Loss (last batch)", f"{last_loss:.3f}" if last_loss is not None else "—")
    test_acc = snap.eval["test_accuracy"]
    m[2].metric(
        "Test accuracy",
        f"{100 * test_acc[-1]:.1f}%" if test_acc.size else "—",
        help="Share of test images (never trained on) classified right, measured after each epoch.",
    )
    m[3].metric("Images per second", f"{prog['images_per_s']:,.0f}" if prog["images_per_s"] else "—")
    label = st_info["label"]
    c1, c2 = st.columns(2)
    c1.plotly_chart(
        make_loss_figure(snap, label, loss_name=st_info["loss"], chance=st_info["chance"]),
        key="fig_loss",
        config={"displaylogo": False},
    )
    c2.plotly_chart(make_accuracy_figure(snap, label), key="fig_acc", config={"displaylogo": False})
    c3, c4 = st.columns(2)
    c3.plotly_chart(make_grad_norm_figure(snap, label), key="fig_grad", config={"displaylogo": False})
    layer_chart = c4.container()
    mode = c4.segmented_control(
        "Per-layer view",
        ["lines", "heatmap"],
        default="lines",
        key="layer_mode",
        format_func={"lines": "one line per layer", "heatmap": "layer × step heatmap"}.get,
    )
    layer_chart.plotly_chart(
        make_layer_grad_figure(snap, mode or "lines", label, max_points=300, labels=st_info["labels"]),
        key="fig_layers",
        config={"displaylogo": False},
    )
    return live


if view is None:
    st.info("No runs yet. Pick your settings in the sidebar and press **Start training**.")
else:
    live_now = run_status(view) in ("running", "paused")

    @st.fragment(run_every=REFRESH_S if live_now else None)
    def live_panel() -> None:
        still_live = draw_run(view)
        if live_now and not still_live:
            st.rerun()  # the run just ended: redraw the whole page once (run list, timers off)

    live_panel()

# ----------------------------------------------------------------------------- past runs

st.divider()
st.header("Runs")
if not all_runs:
    st.caption("Finished runs appear here; you can reopen them, compare them and download their numbers.")
else:
    any_live = any(r.live for r in all_runs) or bool(manager.active_jobs())

    @st.fragment(run_every=5 * REFRESH_S if any_live else None)
    def runs_table() -> None:
        """The run list; while something trains it refreshes itself so steps and losses keep up."""
        table = pd.DataFrame(manager.run_rows(runs_dir))
        # As text: the grid draws a missing number as "None" whatever a Styler says; a student reads "—".
        for column, fmt in (("last loss", "{:.4f}"), ("test loss", "{:.4f}"), ("test accuracy", "{:.1%}")):
            table[column] = [fmt.format(v) if pd.notna(v) else "—" for v in table[column]]
        st.dataframe(table, hide_index=True, width="stretch")

    runs_table()
    info_by_name = {r.name: r for r in all_runs}
    labels = {r.name: f"{r.name} ({r.dataset_label}, {r.status})" for r in all_runs}
    col_open, col_dl = st.columns([3, 1], vertical_alignment="bottom")
    st.session_state.open_run = view

    def _open() -> None:
        st.session_state.view_run = st.session_state.open_run

    chosen = col_open.selectbox(
        "Open a run", run_names, format_func=labels.get, key="open_run", on_change=_open
    )
    if chosen:
        col_dl.download_button(
            "⬇ Metrics as CSV",
            data=lambda name=chosen: lv_runs.run_csv(runs_dir, name),
            file_name=f"{chosen}-metrics.csv",
            mime="text/csv",
            key="download_csv",
            width="stretch",
        )
    compare = st.multiselect(
        "Compare runs on one chart",
        run_names,
        default=[],
        format_func=labels.get,
        key="compare_runs",
        max_selections=8,
    )
    if compare:
        metric = st.radio(
            "Compare",
            ["loss", "accuracy", "grad_norm"],
            horizontal=True,
            key="compare_metric",
            format_func={"loss": "training loss", "accuracy": "accuracy", "grad_norm": "gradient norm"}.get,
        )
        try:
            series = [
                (f"{name} ({info_by_name[name].dataset_label})", snapshot_for(name)[0]) for name in compare
            ]
            st.plotly_chart(
                make_overlay_figure(series, metric), key="fig_overlay", config={"displaylogo": False}
            )
        except LossvizInputError as exc:
            fail(exc)
        if len(compare) == 1:
            st.caption("Pick one more run to compare.")

with st.expander("How does this page relate to the tutorial?"):
    st.markdown(
        f"The tutorial loops over CIFAR-10 one image at a time (`batch_size=1`), calls `loss.backward()` and "
        f"`optimizer.step()`, and prints the loss. This page runs the same network and the same calls on batches "
        f"(here {int(batch_size)} images, {steps_per_epoch(int(syn_train) if not use_cifar else 50_000, int(batch_size)):,} "
        "batches per epoch) in a background thread, and records for each batch the loss, the gradient norm "
        "(overall and per layer), the accuracy and the speed. Reloading the page or clicking around never stops "
        "a run. The same training runs without a browser: `python -m lossviz train --synthetic --max-batches 500`."
    )
