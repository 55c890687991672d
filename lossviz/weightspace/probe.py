"""The probe: a weight-space slice computed by its own process, written into the run directory.

``python -m lossviz landscape RUN_DIR --probe-dir DIR ...`` (started by the job manager, see
:func:`landscape_command`) computes the slice coarse to fine and writes into ``DIR``, every file
atomically (a temporary file in the same folder, then ``os.replace``), so a reader mid-write always
sees the previous complete file:

``progress.json``
    ``{"state", "fraction", "done", "total", "level", "eta_s", "stage", "updated", "message"}``;
    ``state`` is ``running``, ``done``, ``failed`` or ``cancelled``; ``message`` is a message as data
    (``{"msgid", "params"}``) on failure, rendered in the reader's language.
``meta.json``
    the path in the slice's plane, the notes, where the weights came from (written before the slice).
``level_NN.npz``
    the complete sub-grid of each refinement level (``NN`` points per side): ``alphas``, ``betas``,
    ``loss``, ``accuracy``.
``result.json``, ``directions.safetensors``, ``images.pt``
    the final answer (the CLI's JSON object) and what recomputes any point of it.
``lock``
    held (``flock``) by the process while it computes: a reader that can take it knows nobody is
    computing, so a ``running`` state without the lock is a process that was killed.

The folder is ``RUN_DIR/probes/landscape-<key>/``, ``key`` a hash of the slice's parameters and of the
weights it slices (:func:`probe_key`): a second viewer of the same slice reads it instead of starting
another computation.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg
from lossviz.training import list_snapshot_files
from lossviz.weightspace import directions as D
from lossviz.weightspace.load import Skipped, centre_source, read_regular

PROBES_DIR = "probes"
KIND = "landscape"
PROGRESS_FILE = "progress.json"
META_FILE = "meta.json"
RESULT_FILE = "result.json"
LOCK_FILE = "lock"
DIRECTIONS_FILE = "directions.safetensors"
IMAGES_FILE = "images.pt"
LIVE_STATES = ("starting", "running")
#: Probe folders kept per run (the oldest beyond this are deleted when a new one starts).
KEEP_PROBES = 16
#: Largest file of a probe folder a reader opens (a 41×41 level is ~30 kB).
MAX_READ_BYTES = 16 << 20
#: How often the process rewrites progress.json (a new level is written at once).
PROGRESS_EVERY_S = 0.25

INTERRUPTED = N_("The computation stopped before it finished (its process ended): start it again.")
UNEXPECTED = N_("The computation failed unexpectedly ({error}).")
BUSY = N_("This slice is already being computed by another process: its picture appears here as it grows.")


# ----------------------------------------------------------------------------- parameters and the key


@dataclass(frozen=True)
class SliceParams:
    """What a slice is computed with: everything the key depends on besides the weights."""

    plane: str = "random"
    seed: int = 0
    span: float = D.DEFAULT_SPAN
    images: int = D.DEFAULT_IMAGES
    grid: int = D.DEFAULT_GRID
    line: bool = True

    def checked(self) -> SliceParams:
        """The same parameters, each checked (LossvizInputError with the reason otherwise)."""
        if self.plane not in ("random", "pca"):
            raise LossvizInputError(msg("plane {plane} is unknown: choose random or pca", plane=repr(self.plane)))
        return SliceParams(
            self.plane,
            D.check_seed(self.seed),
            D.check_span(self.span),
            D.check_images(self.images),
            D.check_grid(self.grid),
            bool(self.line),
        )


def probe_key(run_dir: str | os.PathLike[str], params: SliceParams) -> str:
    """A short hash of the slice's parameters and of the weights it slices (file name, size and
    modification time of the centre, and the snapshots that make the path). Costs a few ``stat`` calls."""
    snaps = list_snapshot_files(run_dir)
    ident = {
        "params": asdict(params.checked()),
        "centre": list(centre_source(run_dir)),
        "path": [len(snaps), snaps[0][1].name if snaps else "", snaps[-1][1].name if snaps else ""],
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]


def probe_dir(run_dir: str | os.PathLike[str], params: SliceParams) -> Path:
    """``RUN_DIR/probes/landscape-<key>``: where this slice of this run is (or will be) written."""
    return Path(run_dir) / PROBES_DIR / f"{KIND}-{probe_key(run_dir, params)}"


def landscape_command(run_dir: str | os.PathLike[str], params: SliceParams, where: str | os.PathLike[str]) -> list[str]:
    """The arguments of ``python -m lossviz`` that compute ``params`` of ``run_dir`` into the probe folder
    ``where`` (what ``JobManager.start_probe`` runs).

    English whatever the server's language: the page renders the message data of progress.json itself.
    """
    p = params.checked()
    argv = [KIND, str(run_dir), "--grid", str(p.grid), "--images", str(p.images), "--seed", str(p.seed),
            "--span", repr(float(p.span)), "--plane", p.plane, "--probe-dir", str(where), "--lang", "en"]  # fmt: skip
    if not p.line:
        argv.append("--no-line")
    return argv


# ----------------------------------------------------------------------------- messages as data


def message_data(m: Message | str) -> dict[str, Any]:
    """A message as JSON data (parameters that are messages too, recursively)."""
    if not isinstance(m, Message):
        return {"msgid": str(m), "params": {}}
    params: dict[str, Any] = {}
    for k, v in m.params.items():
        if isinstance(v, Message):
            params[k] = message_data(v)
        elif isinstance(v, bool | int | float) and (not isinstance(v, float) or math.isfinite(v)):
            params[k] = v
        else:
            params[k] = str(v)
    return {"msgid": m.msgid, "params": params}


def probe_message(data: Any) -> Message | None:
    """The Message that :func:`message_data` wrote, or None for anything else."""
    if not isinstance(data, dict) or not isinstance(data.get("msgid"), str):
        return None
    raw = data.get("params") if isinstance(data.get("params"), dict) else {}
    params: dict[str, object] = {}
    for k, v in raw.items():
        inner = probe_message(v)
        params[str(k)] = inner if inner is not None else (v if isinstance(v, int | float | str) else str(v))
    return Message(data["msgid"], params)


# ----------------------------------------------------------------------------- writing (the process)


def _atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_json(path: Path, obj: Any) -> None:
    """``obj`` as JSON at ``path``, atomically."""
    _atomic(path, json.dumps(obj, allow_nan=False).encode("utf-8"))


def _finite(values: Any) -> Any:
    """Nested lists with NaN/inf as null (standard JSON)."""
    if isinstance(values, list | tuple):
        return [_finite(v) for v in values]
    v = float(values)
    return v if math.isfinite(v) else None


class AlreadyComputing(Exception):
    """Another process holds the probe folder's lock."""


class ProbeWriter:
    """What the probe process writes, as it goes. Holds the folder's lock from creation to :meth:`close`."""

    def __init__(self, folder: str | os.PathLike[str], params: SliceParams, *, wait_s: float = 2.0) -> None:
        self.folder = Path(folder)
        self.params = params
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        end = time.monotonic() + wait_s
        while True:  # a reader holds a shared lock for a moment: wait that out, not another writer
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > end:
                    os.close(self._lock)
                    raise AlreadyComputing from None
                time.sleep(0.05)
        for old in self.folder.iterdir():
            if old.name != LOCK_FILE:
                with contextlib.suppress(OSError):
                    old.unlink()
        self._last = 0.0
        self._level = -1
        self.state: dict[str, Any] = {"state": "running", "fraction": 0.0, "done": 0, "total": 0, "level": 0,
                                      "eta_s": None, "stage": "load", "params": asdict(params), "pid": os.getpid()}  # fmt: skip
        self._write_progress()
        _forget_old_probes(self.folder.parent, keep=self.folder)

    def _write_progress(self) -> None:
        self.state["updated"] = time.time()
        write_json(self.folder / PROGRESS_FILE, self.state)

    def stage(self, stage: str) -> None:
        self.state["stage"] = stage
        self._write_progress()

    def meta(self, obj: dict[str, Any]) -> None:
        write_json(self.folder / META_FILE, obj)

    def progress(self, p: Any) -> None:
        """A :class:`~lossviz.weightspace.slices.Progress`: a new complete level is written at once, the
        progress file at most every :data:`PROGRESS_EVERY_S`."""
        res = p.result
        new_level = p.stage == "slice" and res is not None and res.level > self._level
        if new_level:
            self._level = res.level
            alphas, betas, loss, acc = res.picture()
            buf = io.BytesIO()
            np.savez(buf, alphas=alphas, betas=betas, loss=loss, accuracy=acc)
            _atomic(self.folder / f"level_{len(alphas):02d}.npz", buf.getvalue())
            self.state["level"] = int(len(alphas))
        now = time.monotonic()
        if new_level or now - self._last >= PROGRESS_EVERY_S or p.done >= p.total:
            self._last = now
            eta = p.eta_s if p.eta_s is not None and math.isfinite(p.eta_s) else None
            self.state.update(fraction=round(min(1.0, p.fraction), 4), done=int(p.done), total=int(p.total),
                              eta_s=eta, stage=p.stage)  # fmt: skip
            self._write_progress()

    def done(self, result: dict[str, Any]) -> None:
        write_json(self.folder / RESULT_FILE, result)
        self.state.update(state="done", fraction=1.0, eta_s=0.0)
        self._write_progress()

    def cancelled(self) -> None:
        self.state.update(state="cancelled", eta_s=None)
        self._write_progress()

    def failed(self, message: Message | str) -> None:
        self.state.update(state="failed", eta_s=None, message=message_data(message))
        with contextlib.suppress(OSError):
            self._write_progress()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            os.close(self._lock)


def _forget_old_probes(probes: Path, keep: Path, most: int = KEEP_PROBES) -> None:
    """Delete the oldest probe folders of a run beyond ``most`` (never ``keep``, never one being computed)."""
    try:
        found = [p for p in probes.iterdir() if p.is_dir() and not p.is_symlink() and p.name.startswith(f"{KIND}-")]
    except OSError:
        return
    if len(found) <= most:
        return

    def age(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0

    for old in sorted(found, key=age)[: len(found) - most]:
        if old != keep and not _busy(old):
            shutil.rmtree(old, ignore_errors=True)


# ----------------------------------------------------------------------------- reading (the page)


def _busy(folder: Path) -> bool:
    """True while a process holds the folder's lock (computing)."""
    try:
        fd = os.open(folder / LOCK_FILE, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing releases the shared lock at once
    return False


@dataclass
class ProbeState:
    """What a probe folder holds right now, as a page draws it."""

    folder: Path
    state: str = "none"  # none, running, done, failed, cancelled, interrupted
    fraction: float = 0.0
    done: int = 0
    total: int = 0
    eta_s: float | None = None
    stage: str = ""
    message: Message | None = None
    picture: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    result: dict[str, Any] | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def complete(self) -> bool:
        return self.state == "done" and self.result is not None


def _read_json(folder: Path, name: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(read_regular(folder / name, folder, MAX_READ_BYTES).decode("utf-8"))
    except (Skipped, ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def _number(v: Any, default: float = 0.0) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) else default


def _levels(folder: Path) -> Iterator[Path]:
    try:
        names = [p for p in folder.iterdir() if p.name.startswith("level_") and p.name.endswith(".npz")]
    except OSError:
        return iter(())
    return iter(sorted(names, key=lambda p: p.name, reverse=True))


def _picture(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """The finest level that reads back whole (a damaged file is passed over, never raised)."""
    for path in _levels(folder):
        try:
            with np.load(io.BytesIO(read_regular(path, folder, MAX_READ_BYTES)), allow_pickle=False) as z:
                a, b, lo, ac = (np.asarray(z[k], dtype=np.float64) for k in ("alphas", "betas", "loss", "accuracy"))
        except (Skipped, OSError, ValueError, KeyError, EOFError):
            continue
        if a.ndim == 1 and b.ndim == 1 and lo.shape == ac.shape == (b.size, a.size) and a.size >= 2 <= b.size:
            return a, b, lo, ac
    return None


def read_probe(folder: str | os.PathLike[str]) -> ProbeState:
    """The state of a probe folder; never raises and never blocks (regular files only, bounded)."""
    folder = Path(folder)
    out = ProbeState(folder)
    if not folder.is_dir() or folder.is_symlink():
        return out
    prog = _read_json(folder, PROGRESS_FILE)
    if prog is None:
        return out
    state = prog.get("state") if prog.get("state") in (*LIVE_STATES, "done", "failed", "cancelled") else "failed"
    if state in LIVE_STATES:
        state = "running" if _busy(folder) else "interrupted"
    out.state = str(state)
    out.fraction = min(1.0, max(0.0, _number(prog.get("fraction"))))
    out.done, out.total = int(_number(prog.get("done"))), int(_number(prog.get("total")))
    eta = prog.get("eta_s")
    out.eta_s = _number(eta) if isinstance(eta, int | float) else None
    out.stage = str(prog.get("stage") or "")
    out.message = probe_message(prog.get("message"))
    if out.state == "interrupted":
        out.message = Message(INTERRUPTED)
    elif out.state == "failed" and out.message is None:
        out.message = msg(UNEXPECTED, error="?")
    out.meta = _read_json(folder, META_FILE) or {}
    out.picture = _picture(folder)
    if out.state == "done":
        out.result = _read_json(folder, RESULT_FILE)
        if out.result is None:  # removed or damaged since: say so plainly, never draw half of it
            out.state, out.message = "interrupted", Message(INTERRUPTED)
    return out


def meta_notes(meta: dict[str, Any]) -> list[Message]:
    """The notes a probe wrote into meta.json (skipped snapshots and the like)."""
    notes = meta.get("notes") if isinstance(meta.get("notes"), list) else []
    return [m for m in (probe_message(n) for n in notes) if m is not None]
