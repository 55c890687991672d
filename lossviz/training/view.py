"""What the training page decides before it draws: which run to show, what state it is in, which
device trains it, and how server paths are shown to students (relative to the server's roots)."""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, gettext, render
from lossviz.training import runs as lv_runs
from lossviz.training.data import page_data_dir
from lossviz.training.figures import dataset_text, progress_summary
from lossviz.training.metrics_log import MetricsSnapshot
from lossviz.training.model import layer_labels_for
from lossviz.training.trainer import chance_loss

LIVE = ("starting", "running", "paused")
#: The icon in front of each status.
STATUS_ICONS = {"starting": "⏳", "running": "🟢", "paused": "⏸️", "finished": "✅", "stopped": "⏹️",
                "diverged": "💥", "failed": "⚠️", "interrupted": "✂️"}  # fmt: skip
#: Each status as the page names it.
STATUS_TEXT = {
    "starting": N_("Starting"),
    "running": N_("Running"),
    "paused": N_("Paused"),
    "finished": N_("Finished"),
    "stopped": N_("Stopped"),
    "diverged": N_("Diverged"),
    "failed": N_("Failed"),
    "interrupted": N_("Interrupted"),
}
#: Two charts side by side only while each gets 400 px; narrower (a 1024 px laptop) they stack.
CHART_COLUMNS_CSS = """<style>
[data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] .stPlotlyChart) { flex-wrap: wrap; }
[data-testid="stColumn"]:has(.stPlotlyChart) { min-width: min(400px, 100%); flex: 1 1 400px; }
</style>"""
#: Where the server keeps runs and data, as the page names them instead of their paths.
RUNS_ROOT, DATA_ROOT = N_("the runs folder"), N_("the data folder")


#: The run table's columns (``JobManager.run_rows`` keys) as the page heads them.
RUN_COLUMNS = {
    "run": N_("run"),
    "data": N_("data"),
    "status": N_("status"),
    "steps": N_("steps"),
    "last loss": N_("last loss"),
    "test loss": N_("test loss"),
    "test accuracy": N_("test accuracy"),
    "loss fn": N_("loss fn"),
    "optimizer": N_("optimizer"),
    "lr": "lr",
    "ReLU": "ReLU",
    "started": N_("started"),
}


def run_table(rows: Sequence[dict[str, Any]], lang: str = "en") -> list[dict[str, Any]]:
    """The run list as the page shows it: figures formatted ("—" for none), the data and status words
    and the column heads in ``lang`` (in English the status stays the plain key, e.g. ``stopped``)."""

    def fmt(value: Any, pattern: str) -> str:
        return pattern.format(value) if isinstance(value, int | float) and value == value else "—"

    out = []
    for row in rows:
        row = dict(row)
        for column, pattern in (("last loss", "{:.4f}"), ("test loss", "{:.4f}"), ("test accuracy", "{:.1%}")):
            row[column] = fmt(row.get(column), pattern)
        row["data"] = dataset_text(row.get("data"), lang)
        if lang != "en":
            row["status"] = status_text(str(row.get("status")), lang)
        out.append({gettext(RUN_COLUMNS[k], lang) if k in RUN_COLUMNS else k: v for k, v in row.items()})
    return out


def run_label(run: Any, lang: str = "en") -> str:
    """A run as the pickers list it: ``"first (synthetic, finished)"``, data and status in ``lang``."""
    status = status_text(run.status, lang) if lang != "en" else run.status
    return f"{run.name} ({dataset_text(run.dataset_label, lang)}, {status})"


def ended_text(state: RunState, lang: str = "en") -> str:
    """What a run that diverged or failed says about it, in ``lang``."""
    if state.note:
        return render(state.note, lang)
    return gettext("Training ended: {status}.", lang, status=status_text(state.status, lang))


def status_text(status: str, lang: str = "en") -> str:
    """``"finished"`` -> ``"Finished"`` (or its translation); an unknown status is shown capitalised."""
    return gettext(STATUS_TEXT[status], lang) if status in STATUS_TEXT else str(status).capitalize()

#: The page's introduction and its note on the tutorial (message ids: ``gettext(INTRO, lang)``).
INTRO = N_(
    "The network from the classic PyTorch tutorial is learning to sort 32×32 colour images into 10 classes. "
    "After every **batch** of images it measures how wrong it was — the **loss** — and backpropagation computes "
    "the **gradient**: for every weight, which way would make the loss bigger. The optimizer then nudges all "
    "weights a little the other way. Watch the loss fall. The **gradient norm** is the length of that gradient: "
    "big means steep ground and big updates; a sudden jump warns that training is becoming unstable."
)
TUTORIAL_NOTE = N_(
    "The tutorial loops over CIFAR-10 one image at a time (`batch_size=1`), calls `loss.backward()` and "
    "`optimizer.step()`, and prints the loss. This page runs the same network and the same calls on batches in "
    "a separate process — the same `python -m lossviz train` a terminal runs, or `torchrun` with several "
    "workers — and records for each batch the loss, the gradient norm (overall and per layer), the accuracy "
    "and the speed. Reloading the page never stops a run. Each run also writes TensorBoard files: "
    "`tensorboard --logdir runs`."
)


def smoothing_from_link(text: object) -> float:
    """The charts' smoothing from the link's ``smooth`` value (the safe number parser, 0 to 0.999,
    rounded to the slider's 0.01 steps); anything else gives the default.

    Example:
        >>> smoothing_from_link("0.9"), smoothing_from_link("abc"), smoothing_from_link(None)
        (0.9, 0.6, 0.6)
    """
    from lossviz.losses import parse_number
    from lossviz.training.figures import DEFAULT_SMOOTHING

    if not isinstance(text, str) or len(text) > 20:
        return DEFAULT_SMOOTHING
    try:
        value = float(parse_number(text, name="smooth"))
    except LossvizInputError:
        return DEFAULT_SMOOTHING
    return round(value, 2) if 0.0 <= value <= 0.99 else DEFAULT_SMOOTHING


#: The smoothing slider's help (a msgid).
SMOOTHING_HELP = N_(
    "How much the bold curves are smoothed (an exponential moving average, as in TensorBoard); the faint "
    "curve behind is every batch. 0: no smoothing."
)


def valid_token(token: object) -> bool:
    """An owner token as the page makes them (8-40 letters and digits); anything else is ignored."""
    return isinstance(token, str) and token.isalnum() and token.isascii() and 8 <= len(token) <= 40


def read_snapshot(run_dir: Path) -> MetricsSnapshot:
    """All points of an ended run: from its column file when it agrees with metrics.jsonl (same
    last step: a million batches in a fraction of a second), else metrics.jsonl read as it goes."""
    from lossviz.training.metrics_log import MetricsLog, snapshot_from_columns

    found = lv_runs.read_columns(Path(run_dir))
    if found is not None:
        snap = snapshot_from_columns(*found)
        last = snap.batch["step"][-1] if snap.n_batches else math.nan
        if last == lv_runs.last_step(Path(run_dir)):
            return snap
    log = MetricsLog()
    log.extend(lv_runs.iter_metrics(Path(run_dir)))
    return log.snapshot()


def follow(tail: lv_runs.MetricsTail) -> MetricsSnapshot:
    """New records of a live run, then all its points so far."""
    tail.poll()
    return tail.log.snapshot()


#: Ended runs' snapshots kept in memory, newest last, up to this many bytes (the newest always stays).
SNAPSHOT_CACHE_BYTES = 128 * 2**20
_SNAPSHOTS: OrderedDict[tuple[str, int, float], MetricsSnapshot] = OrderedDict()
_SNAPSHOTS_LOCK = threading.Lock()


def _nbytes(snap: MetricsSnapshot) -> int:
    total = sum(a.nbytes for a in (*snap.batch.values(), *snap.eval.values()))
    for steps, cols in snap.per_layer.values():
        total += steps.nbytes + sum(a.nbytes for a in cols.values())
    return total + sum(s.nbytes + v.nbytes for s, v in snap.sparse.values())


def run_snapshot(state: RunState, follower: Callable[[str], lv_runs.MetricsTail]) -> MetricsSnapshot:
    """The points of the run ``state`` shows: a live run's from ``follower(path)`` (the page's one
    shared follower per run), an ended run's from a bounded in-process cache keyed by the file's
    size and time (so a second viewer or a redraw does not read the file again)."""
    from lossviz.training.metrics_log import MetricsLog

    if state.path is None:
        return MetricsLog().snapshot()
    if state.live:
        return follow(follower(str(state.path)))
    key = (str(state.path), *file_key(state.path / lv_runs.METRICS_FILE))
    with _SNAPSHOTS_LOCK:
        snap = _SNAPSHOTS.get(key)
        if snap is not None:
            _SNAPSHOTS.move_to_end(key)
            return snap
    snap = read_snapshot(state.path)
    with _SNAPSHOTS_LOCK:
        _SNAPSHOTS[key] = snap
        for old in [k for k in _SNAPSHOTS if k[0] == key[0] and k != key]:
            del _SNAPSHOTS[old]  # an older version of the same file
        while len(_SNAPSHOTS) > 1 and sum(_nbytes(s) for s in _SNAPSHOTS.values()) > SNAPSHOT_CACHE_BYTES:
            _SNAPSHOTS.popitem(last=False)
    return snap


def file_key(path: Path) -> tuple[int, float]:
    """(size, mtime) of a file, (0, 0.0) when it is missing: a cache key that changes with the file."""
    try:
        stat = path.stat()
    except OSError:
        return 0, 0.0
    return stat.st_size, stat.st_mtime


def choose_view(requested: str | None, active: str | None, run_names: Sequence[str]) -> str | None:
    """The run the page shows: the live run while one trains (unless the viewer picked another
    existing run), else the requested run if it exists, else the newest run, else None.

    Example:
        >>> choose_view(None, "live", ["old"])
        'live'
        >>> choose_view("old", "live", ["live", "old"])
        'old'
        >>> choose_view("gone", None, ["b", "a"])
        'b'
    """
    if requested and requested in run_names and requested != active:
        return requested
    if active is not None:
        return active
    if requested in run_names:
        return requested
    return run_names[0] if run_names else None


def pick_run(asked: str | None, manager: Any, all_runs: Sequence[Any], runs_dir: Any) -> tuple[str | None, bool]:
    """The run to show (see :func:`choose_view`) and whether it is live. The live run is the
    manager's active job (possibly still starting, without a folder); ``asked`` also counts when it
    is this server's job that failed before writing its folder, so its message can be shown."""
    latest = manager.latest(runs_dir)
    live_job = latest.name if latest is not None and latest.active else None
    names = [r.name for r in all_runs]
    known = names + ([asked] if asked and asked not in names and manager.get(asked) is not None else [])
    view = choose_view(asked, live_job, known)
    live = view is not None and (view == live_job or any(r.name == view and r.live for r in all_runs))
    return view, live


FIRST_POINT_REFRESH_S = 0.25


def refresh_seconds(live: bool, has_points: bool, every_s: float = 1.0) -> float | None:
    """How often the live panel redraws: not at all for an ended run, every FIRST_POINT_REFRESH_S
    until a just-started run's first batch is recorded (so it shows within a quarter second), then
    every ``every_s``.

    Example:
        >>> refresh_seconds(True, False), refresh_seconds(True, True), refresh_seconds(False, True)
        (0.25, 1.0, None)
    """
    if not live:
        return None
    return every_s if has_points else FIRST_POINT_REFRESH_S


def refusal_to_show(refusal: Any, manager: Any, just_pressed: bool) -> Any:
    """The message of this browser's refused Start, while it still applies: right after the press,
    and afterwards as long as a run that was in the way is still training (so a page redraw, e.g.
    when that run's first point arrives, does not wipe the explanation)."""
    if not (isinstance(refusal, tuple) and len(refusal) == 2):
        return None
    text, blockers = refusal
    if just_pressed:
        return text
    return text if any((job := manager.get(n)) is not None and job.active for n in blockers) else None


def shown_path(path: str | os.PathLike[str], root: str | os.PathLike[str], root_name: str) -> str:
    """``path`` as a student may see it: relative to the server's ``root``, named ``root_name``.

    Example:
        >>> shown_path("/srv/data/cifar", "/srv/data", "data folder")
        'data folder/cifar'
        >>> shown_path("/etc/passwd", "/srv/data", "data folder")
        'data folder'
    """
    try:
        rel = Path(path).resolve().relative_to(Path(root).resolve())
    except (ValueError, OSError):
        return root_name
    return root_name if str(rel) in ("", ".") else f"{root_name}/{rel.as_posix()}"


def without_server_paths(text: Any, roots: dict[str, str]) -> Any:
    """``text`` with each server root (absolute path, resolved or not) replaced by its name, e.g. a
    failed run's stderr line that quotes ``/srv/lossviz/runs/x``.

    Example:
        >>> without_server_paths("cannot write /srv/runs/a", {"/srv/runs": "the runs folder"})
        'cannot write the runs folder/a'

    A :class:`Message` keeps its id; its text parameters (and those of nested Messages) are cleaned.
    """
    if isinstance(text, Message):
        params = {k: without_server_paths(v, roots) if isinstance(v, str | Message) else v for k, v in text.params.items()}
        return Message(text.msgid, params)
    for root, name in sorted(roots.items(), key=lambda kv: -len(kv[0])):
        variants = {str(root)}
        try:
            variants.add(str(Path(root).resolve()))
        except (OSError, RuntimeError):
            pass
        for v in sorted(variants, key=len, reverse=True):
            if v and v != "/" and os.path.isabs(v):  # a relative root ("data") would match any word
                text = text.replace(v, name)
    return text


def data_folder(
    text: str, root: str | os.PathLike[str] | None = None, lang: str = "en"
) -> tuple[Path, str | None]:
    """The data folder typed in the page box and an error sentence in ``lang`` (then the root is used)."""
    try:
        return page_data_dir(text, root), None
    except LossvizInputError as exc:
        return page_data_dir(None, root), render(exc, lang)


def device_text(config: dict[str, Any], lang: str = "en") -> str:
    """Which device trains a run: ``"cpu"``, ``"cuda:0"``, ``"cpu × 2 workers (gloo)"``."""
    device = str(config.get("device_resolved") or config.get("device") or "?")[:40]
    world = config.get("world_size")
    amp = " · bf16" if config.get("amp") else ""
    if isinstance(world, int) and not isinstance(world, bool) and 1 < world < 10**6:
        device = device.split(":")[0]
        backend = str(config.get("backend") or ("nccl" if device == "cuda" else "gloo"))[:20]
        return gettext("{device} × {n} workers ({backend})", lang, device=device, n=world, backend=backend) + amp
    return device + amp


@dataclass
class RunState:
    """One run as the page shows it."""

    name: str
    status: str
    message: str = ""  #: in English; ``note`` is the same message as data, for the reader's language
    total: int = 1
    batch_size: int = 1
    label: str = "?"
    loss: str = "loss"
    chance: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)
    device: str = ""
    path: Path | None = None
    note: Message | str = ""
    notes: list[Message] = field(default_factory=list)  #: files of the run folder that were not read

    @property
    def live(self) -> bool:
        return self.status in LIVE


def progress_line(state: RunState, snap: MetricsSnapshot, lang: str = "en") -> tuple[float, str] | None:
    """(fraction, text) for the progress bar, or None when no bar fits (diverged, failed, interrupted)."""
    if state.status == "starting":
        return 0.0, gettext("Starting the training process and loading the data…", lang)
    if not (state.live or state.status in ("finished", "stopped")):
        return None
    prog = progress_summary(snap, state.total, state.batch_size, lang)
    if state.live:
        return float(prog["fraction"]), str(prog["text"])
    text = gettext(
        "{status}: step {done:,} of {total:,}",
        lang,
        status=state.status if lang == "en" else status_text(state.status, lang),  # English: the plain key
        done=prog["step"],
        total=prog["total"],
    )
    return float(prog["fraction"]), text


def metric_cards(state: RunState, snap: MetricsSnapshot, lang: str = "en") -> list[tuple[str, str, str | None]]:
    """The four figures over the charts: (label, value, help); "—" for what is not measured yet."""
    prog = progress_summary(snap, state.total, state.batch_size, lang)
    loss, acc, speed = snap.last("loss"), snap.eval["test_accuracy"], prog["images_per_s"]
    return [
        (gettext("Batches seen", lang), f"{prog['step']:,}", None),
        (gettext("Loss (last batch)", lang), f"{loss:.3f}" if loss is not None else "—", None),
        (
            gettext("Test accuracy", lang),
            f"{100 * acc[-1]:.1f}%" if acc.size else "—",
            gettext("Share of test images (never trained on) classified right, measured after each epoch.", lang),
        ),
        (gettext("Images per second", lang), f"{speed:,.0f}" if speed else "—", None),
    ]


def run_state(runs_dir: str | os.PathLike[str], name: str, job: Any = None, lang: str = "en") -> RunState:
    """The state of run ``name``: from its files, with the status and message of the process that
    writes it when this server started it (``job``). A job still loading its data has no files yet."""
    from lossviz.training.data import default_data_dir

    roots = {str(runs_dir): gettext(RUNS_ROOT, lang), str(default_data_dir()): gettext(DATA_ROOT, lang)}
    try:
        info = lv_runs.read_run(runs_dir, name)
    except LossvizInputError:
        if job is None:
            raise
        note = without_server_paths(job.note, roots)
        return RunState(name, job.status, str(note), label=job.label, note=note)
    c = info.config
    status, note = info.status, lv_runs.summary_message(info.summary)
    if job is not None:
        status, note = job.status, job.note or note
    note = without_server_paths(note, roots)
    # every number from config.json / summary.json is checked: a tampered file shows, never crashes
    total = lv_runs.config_number(c, "total_steps", 0, 1, 10**12, integer=True) or lv_runs.config_number(
        info.summary, "total_steps", 1, 1, 10**12, integer=True
    )
    loss = c.get("loss") if isinstance(c.get("loss"), str) else "loss"
    try:
        chance = chance_loss(loss, lv_runs.config_number(c, "margin", 1.0, 0.0, 100.0) or 1.0)
    except (LossvizInputError, ValueError, TypeError):
        chance = math.nan
    return RunState(
        name=name,
        status=status,
        message=str(note),
        note=note,
        total=int(total),
        batch_size=int(lv_runs.config_number(c, "batch_size", 1, 1, 10**9, integer=True)),
        label=info.dataset_label,
        loss=loss[:80],
        chance=chance,
        labels=layer_labels_for(c.get("relu") is True),
        device=device_text(c, lang),
        path=info.path,
        notes=list(info.notes),
    )


def insight_settings(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """What the insight panel reads of a run's config.json, every value checked (a tampered or missing
    file gives defaults, never a crash): relu, classes, picture counts, optimizer, lr, momentum, the
    sharpness batch and the data label."""
    c = lv_runs.read_run_json(run_dir, lv_runs.CONFIG_FILE) or {}
    classes = c.get("classes") if isinstance(c.get("classes"), list) else []
    optimizer = c.get("optimizer") if c.get("optimizer") in ("sgd", "adam") else "sgd"
    label = c.get("dataset_label")
    return {
        "relu": c.get("relu") is True,
        "classes": [str(x)[:40] for x in classes[:100]],
        "n_train": int(lv_runs.config_number(c, "n_train", 0, 0, 10**9, integer=True)),
        "n_test": int(lv_runs.config_number(c, "n_test", 0, 0, 10**9, integer=True)),
        "optimizer": optimizer,
        "lr": float(lv_runs.config_number(c, "lr", 0.0, 0.0, 1e6)),
        "momentum": float(lv_runs.config_number(c, "momentum", 0.0, 0.0, 0.999)) if optimizer == "sgd" else 0.0,
        "sharpness_images": int(lv_runs.config_number(c, "sharpness_images", 512, 8, 4096, integer=True)),
        "dataset_label": label[:80] if isinstance(label, str) else None,
    }
