"""What the training page decides before it draws: which run to show, what state it is in, which
device trains it, and how server paths are shown to students (relative to the server's roots)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lossviz.errors import LossvizInputError
from lossviz.training import runs as lv_runs
from lossviz.training.data import page_data_dir
from lossviz.training.figures import progress_summary
from lossviz.training.metrics_log import MetricsSnapshot
from lossviz.training.model import layer_labels_for
from lossviz.training.trainer import chance_loss

LIVE = ("starting", "running", "paused")

INTRO = (
    "The network from the classic PyTorch tutorial is learning to sort 32×32 colour images into 10 classes. "
    "After every **batch** of images it measures how wrong it was — the **loss** — and backpropagation computes "
    "the **gradient**: for every weight, which way would make the loss bigger. The optimizer then nudges all "
    "weights a little the other way. Watch the loss fall. The **gradient norm** is the length of that gradient: "
    "big means steep ground and big updates; a sudden jump warns that training is becoming unstable."
)
TUTORIAL_NOTE = (
    "The tutorial loops over CIFAR-10 one image at a time (`batch_size=1`), calls `loss.backward()` and "
    "`optimizer.step()`, and prints the loss. This page runs the same network and the same calls on batches in "
    "a separate process — the same `python -m lossviz train` a terminal runs, or `torchrun` with several "
    "workers — and records for each batch the loss, the gradient norm (overall and per layer), the accuracy "
    "and the speed. Reloading the page never stops a run. Each run also writes TensorBoard files: "
    "`tensorboard --logdir runs`."
)


def valid_token(token: object) -> bool:
    """An owner token as the page makes them (8-40 letters and digits); anything else is ignored."""
    return isinstance(token, str) and token.isalnum() and token.isascii() and 8 <= len(token) <= 40


def follow(tail: lv_runs.MetricsTail) -> MetricsSnapshot:
    """New records of a live run, then all its points so far."""
    tail.poll()
    return tail.log.snapshot()


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


def refusal_to_show(refusal: Any, manager: Any, just_pressed: bool) -> str | None:
    """The message of this browser's refused Start, while it still applies: right after the press,
    and afterwards as long as a run that was in the way is still training (so a page redraw, e.g.
    when that run's first point arrives, does not wipe the explanation)."""
    if not (isinstance(refusal, tuple) and len(refusal) == 2):
        return None
    text, blockers = refusal
    if just_pressed:
        return str(text)
    return str(text) if any((job := manager.get(n)) is not None and job.active for n in blockers) else None


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


def without_server_paths(text: str, roots: dict[str, str]) -> str:
    """``text`` with each server root (absolute path, resolved or not) replaced by its name, e.g. a
    failed run's stderr line that quotes ``/srv/lossviz/runs/x``.

    Example:
        >>> without_server_paths("cannot write /srv/runs/a", {"/srv/runs": "the runs folder"})
        'cannot write the runs folder/a'
    """
    for root, name in sorted(roots.items(), key=lambda kv: -len(kv[0])):
        variants = {str(root)}
        try:
            variants.add(str(Path(root).resolve()))
        except (OSError, RuntimeError):
            pass
        for v in sorted(variants, key=len, reverse=True):
            if v and v != "/":
                text = text.replace(v, name)
    return text


def data_folder(text: str, root: str | os.PathLike[str] | None = None) -> tuple[Path, str | None]:
    """The data folder typed in the page box and an error sentence (then the root is used)."""
    try:
        return page_data_dir(text, root), None
    except LossvizInputError as exc:
        return page_data_dir(None, root), str(exc)


def device_text(config: dict[str, Any]) -> str:
    """Which device trains a run: ``"cpu"``, ``"cuda:0"``, ``"cpu × 2 workers (gloo)"``."""
    device = str(config.get("device_resolved") or config.get("device") or "?")
    world = config.get("world_size")
    amp = " · bf16" if config.get("amp") else ""
    if isinstance(world, int) and world > 1:
        device = device.split(":")[0]
        backend = config.get("backend") or ("nccl" if device == "cuda" else "gloo")
        return f"{device} × {world} workers ({backend}){amp}"
    return device + amp


@dataclass
class RunState:
    """One run as the page shows it."""

    name: str
    status: str
    message: str = ""
    total: int = 1
    batch_size: int = 1
    label: str = "?"
    loss: str = "loss"
    chance: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)
    device: str = ""
    path: Path | None = None

    @property
    def live(self) -> bool:
        return self.status in LIVE


def progress_line(state: RunState, snap: MetricsSnapshot) -> tuple[float, str] | None:
    """(fraction, text) for the progress bar, or None when no bar fits (diverged, failed, interrupted)."""
    if state.status == "starting":
        return 0.0, "Starting the training process and loading the data…"
    if not (state.live or state.status in ("finished", "stopped")):
        return None
    prog = progress_summary(snap, state.total, state.batch_size)
    text = str(prog["text"]) if state.live else f"{state.status}: step {prog['step']:,} of {prog['total']:,}"
    return float(prog["fraction"]), text


def metric_cards(state: RunState, snap: MetricsSnapshot) -> list[tuple[str, str, str | None]]:
    """The four figures over the charts: (label, value, help); "—" for what is not measured yet."""
    prog = progress_summary(snap, state.total, state.batch_size)
    loss, acc, speed = snap.last("loss"), snap.eval["test_accuracy"], prog["images_per_s"]
    return [
        ("Batches seen", f"{prog['step']:,}", None),
        ("Loss (last batch)", f"{loss:.3f}" if loss is not None else "—", None),
        (
            "Test accuracy",
            f"{100 * acc[-1]:.1f}%" if acc.size else "—",
            "Share of test images (never trained on) classified right, measured after each epoch.",
        ),
        ("Images per second", f"{speed:,.0f}" if speed else "—", None),
    ]


def run_state(runs_dir: str | os.PathLike[str], name: str, job: Any = None) -> RunState:
    """The state of run ``name``: from its files, with the status and message of the process that
    writes it when this server started it (``job``). A job still loading its data has no files yet."""
    from lossviz.training.data import default_data_dir

    roots = {str(runs_dir): "the runs folder", str(default_data_dir()): "the data folder"}
    try:
        info = lv_runs.read_run(runs_dir, name)
    except LossvizInputError:
        if job is None:
            raise
        return RunState(name, job.status, without_server_paths(job.message, roots), label=job.label)
    c = info.config
    status, message = info.status, str(info.summary.get("message") or "")
    if job is not None:
        status, message = job.status, job.message or message
    return RunState(
        name=name,
        status=status,
        message=without_server_paths(message, roots),
        total=int(c.get("total_steps") or info.summary.get("total_steps") or 1),
        batch_size=int(c.get("batch_size") or 1),
        label=info.dataset_label,
        loss=str(c.get("loss", "loss")),
        chance=chance_loss(str(c.get("loss")), float(c.get("margin", 1.0) or 1.0)),
        labels=layer_labels_for(bool(c.get("relu"))),
        device=device_text(c),
        path=info.path,
    )
