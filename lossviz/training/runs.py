"""Run directories: where every training run lives on disk, and how to read them back.

A run is ``<runs dir>/<name>/`` holding ``config.json``, ``metrics.jsonl`` (one JSON object per
batch, appended and flushed as training goes), ``summary.json`` (status and final figures),
``model.safetensors`` (the weights; older runs have ``model.pt``, read with ``weights_only=True``),
TensorBoard event files (``events.out.tfevents.*``) and, while it trains, ``control.json``: the
file a controller writes (``{"state": "run" | "pause" | "stop"}``) and the trainer reads before
each batch.

JSON files are written atomically (temp file + ``os.replace``) and a new run directory appears
only once its config and first summary are complete. Names are checked so that nothing outside
the runs directory can be addressed.
"""

from __future__ import annotations

import errno
import io
import json
import math
import os
import re
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg
from lossviz.training.metrics_log import MetricsLog

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
MODEL_FILE = "model.safetensors"
LEGACY_MODEL_FILE = "model.pt"
CONTROL_FILE = "control.json"
CONTROL_STATES = ("run", "pause", "stop")
LIVE_STATUSES = ("running", "paused")
FINAL_STATUSES = ("finished", "stopped", "diverged", "failed", "interrupted")
#: A live run whose summary has not been refreshed for this long is considered interrupted.
HEARTBEAT_TIMEOUT_S = 60.0
MAX_NAME_LEN = 80
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# ----------------------------------------------------------------------------- names and paths


def default_runs_dir() -> Path:
    """``$LOSSVIZ_RUNS`` if set, else ``./runs``."""
    return Path(os.environ.get("LOSSVIZ_RUNS") or "runs")


def _runs_root(runs_dir: str | os.PathLike[str] | None) -> Path:
    return Path(runs_dir if runs_dir is not None else default_runs_dir())


def validate_run_name(name: str) -> str:
    """Return ``name`` if it can address a run, else raise LossvizInputError.

    Allowed: letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit, at most 80
    characters, no ``..``. So ``"../x"``, ``"/etc"``, ``"a/b"`` and ``"~"`` are all rejected.
    """
    if not isinstance(name, str) or not name:
        raise LossvizInputError(msg("the run name is empty: give a name such as 'my-run-1'"))
    if len(name) > MAX_NAME_LEN:
        raise LossvizInputError(
            msg("the run name is {n} characters long: use at most {limit}", n=len(name), limit=MAX_NAME_LEN)
        )
    if "/" in name or "\\" in name or ".." in name or os.path.isabs(name) or not _NAME_RE.match(name):
        raise LossvizInputError(
            msg(
                "run name {name!r} is not allowed: use letters, digits, '.', '_' and '-' only "
                "(no '/', no '..'), starting with a letter or digit",
                name=name,
            )
        )
    return name


def clean_run_name(label: str) -> str:
    """Turn a user's label into a valid run name (spaces and odd characters become '-').

    Path-like labels (``"../x"``, ``"/abs"``, ``"a/b"``) are refused rather than silently rewritten.

    Example:
        >>> clean_run_name("  my first run! ")
        'my-first-run'
    """
    label = (label or "").strip()
    if "/" in label or "\\" in label or ".." in label or os.path.isabs(label) or label.startswith("~"):
        raise LossvizInputError(
            msg("run name {name!r} looks like a path: give a plain name such as 'relu-adam-1' (no '/', no '..')", name=label)
        )
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-._")
    cleaned = re.sub(r"-{2,}", "-", cleaned)[:MAX_NAME_LEN].rstrip("-._")
    return validate_run_name(cleaned)


def run_path(runs_dir: str | os.PathLike[str] | None, name: str) -> Path:
    """The directory of run ``name`` inside ``runs_dir``; never a path outside it."""
    validate_run_name(name)
    root = _runs_root(runs_dir).resolve()
    path = (root / name).resolve()
    if path.parent != root:
        raise LossvizInputError(msg("run name {name!r} points outside the runs directory: use a plain name", name=name))
    return path


def auto_run_name(config: Mapping[str, Any], when: float | None = None) -> str:
    """A readable default name: ``20250101-120000-synthetic-sgd-lr0.01``."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(when if when is not None else time.time()))
    dataset = (
        str(config.get("dataset_label") or config.get("dataset") or "data")
        .lower()
        .replace("cifar-10", "cifar10")
    )
    opt = str(config.get("optimizer", "opt"))
    lr = config.get("lr")
    relu = "-relu" if config.get("relu") else ""
    return clean_run_name(
        f"{stamp}-{dataset}-{opt}-lr{lr:g}{relu}" if isinstance(lr, int | float) else f"{stamp}-{dataset}"
    )


# ----------------------------------------------------------------------------- atomic files


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write JSON to ``path`` via a temp file in the same folder and ``os.replace``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(jsonable(obj), f, indent=2, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def jsonable(obj: Any) -> Any:
    """Replace non-finite floats by None so the JSON stays standard."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return obj


# ----------------------------------------------------------------------------- reading run files safely
# Every reader of a run folder goes through open_run_file: only a regular file inside the folder
# is read (a FIFO would block a reader forever, /dev/zero would fill memory, a symlink could
# point anywhere), and never more than a cap per file.

#: Caps on what is read from a run folder (a larger file is skipped with a note).
MAX_JSON_BYTES = 1 << 20  # config.json, summary.json, control.json
MAX_LINE_BYTES = 1 << 20  # one line of metrics.jsonl (a longer one is skipped)
READ_CHUNK = 1 << 20
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)

#: Why a file of a run folder was not read (message ids; ``{file}`` is its name in the folder).
SKIP_NOT_REGULAR = N_("{file} was not read: it is not a regular file (a link, a pipe or a device)")
SKIP_TOO_LARGE = N_("{file} was not read: it is {size} MB, more than the {limit} MB a run's {file} may hold")
SKIP_UNREADABLE = N_("{file} was not read: {why}")


class RunFileSkipped(Exception):
    """A run file that is not read; ``note`` says why (a Message)."""

    def __init__(self, note: Message) -> None:
        super().__init__(str(note))
        self.note = note


def open_run_file(run_dir: str | os.PathLike[str], name: str, max_bytes: int | None = None) -> io.BufferedReader:
    """``run_dir/name`` opened for reading, binary, or RunFileSkipped saying why not.

    Every component of ``name`` (``"snapshots/step_000010.safetensors"``) is opened without
    following links, non-blocking, and the file must be a regular file (``fstat``) of at most
    ``max_bytes``. Example:
        >>> with open_run_file(run, "config.json", MAX_JSON_BYTES) as f: data = f.read()  # doctest: +SKIP
    """
    parts = [p for p in str(name).split("/") if p]
    shown = "/".join(parts) or str(name)
    if not parts or any(p in (".", "..") for p in parts):
        raise RunFileSkipped(msg(SKIP_NOT_REGULAR, file=shown))
    dir_fd = -1
    fd = -1
    try:
        dir_fd = os.open(run_dir, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        for part in parts[:-1]:
            nxt = os.open(part, _DIR_FLAGS, dir_fd=dir_fd)
            os.close(dir_fd)
            dir_fd = nxt
        fd = os.open(parts[-1], _OPEN_FLAGS, dir_fd=dir_fd)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise RunFileSkipped(msg(SKIP_NOT_REGULAR, file=shown))
        if max_bytes is not None and st.st_size > max_bytes:
            raise RunFileSkipped(msg(SKIP_TOO_LARGE, file=shown, size=f"{st.st_size / 2**20:.1f}", limit=f"{max_bytes / 2**20:g}"))
        f = os.fdopen(fd, "rb")
        fd = -1
        return f
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise FileNotFoundError(exc.errno, exc.strerror, shown) from None
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise RunFileSkipped(msg(SKIP_NOT_REGULAR, file=shown)) from None
        raise RunFileSkipped(msg(SKIP_UNREADABLE, file=shown, why=exc.strerror or type(exc).__name__)) from None
    finally:
        if fd >= 0:
            os.close(fd)
        if dir_fd >= 0:
            os.close(dir_fd)


def read_run_bytes(run_dir: str | os.PathLike[str], name: str, max_bytes: int) -> bytes:
    """The bytes of a small run file (at most ``max_bytes``; a file growing meanwhile is cut there)."""
    with open_run_file(run_dir, name, max_bytes) as f:
        return f.read(max_bytes + 1)[: max_bytes]


def read_run_json(run_dir: str | os.PathLike[str], name: str, notes: list[Message] | None = None) -> dict[str, Any] | None:
    """The object in a small JSON file of a run folder, or None (missing, unreadable, not an
    object, or skipped: then a note is appended to ``notes``)."""
    try:
        data = read_run_bytes(run_dir, name, MAX_JSON_BYTES)
    except FileNotFoundError:
        return None
    except RunFileSkipped as skip:
        if notes is not None:
            notes.append(skip.note)
        return None
    try:
        obj = json.loads(data.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def read_json(path: Path) -> dict[str, Any] | None:
    """The object in a small JSON file (a regular file, at most MAX_JSON_BYTES), or None if it is
    missing, unreadable, not a regular file or too large."""
    path = Path(path)
    return read_run_json(path.parent, path.name)


class LineReader:
    """The complete lines of a growing file, a chunk at a time, resumable.

    :meth:`lines` reads from where the last call stopped (:attr:`pos`). A line longer than
    ``max_line`` is skipped whole; an unterminated last line (a live run's record being written)
    is kept in :attr:`pending`, at most ``max_line`` bytes of it, and completed by a later call.
    Memory stays under a chunk plus ``max_line`` whatever the file's size.
    """

    def __init__(self, max_line: int = MAX_LINE_BYTES) -> None:
        self.max_line = max_line
        self.pos = 0
        self.pending = b""
        self.skipping = False  # inside a line that is too long: dropped up to its newline

    def lines(self, f: io.BufferedReader, limit: int | None = None) -> Iterator[bytes]:
        """Complete lines from :attr:`pos` on, reading at most ``limit`` bytes this call."""
        max_line = self.max_line
        f.seek(self.pos)
        budget = limit
        while budget is None or budget > 0:
            chunk = f.read(READ_CHUNK if budget is None else min(READ_CHUNK, budget))
            if not chunk:
                return
            if budget is not None:
                budget -= len(chunk)
            self.pos += len(chunk)
            pieces = chunk.split(b"\n")
            tail = pieces.pop()
            if pieces:
                if self.skipping:
                    pieces[0], self.skipping = b"", False
                elif self.pending:
                    pieces[0] = self.pending + pieces[0]
                self.pending = b""
                for line in pieces:
                    if line and len(line) <= max_line:
                        yield line
            if self.skipping:
                continue
            self.pending += tail
            if len(self.pending) > max_line:
                self.pending, self.skipping = b"", True


def parse_line(line: bytes) -> dict[str, Any] | None:
    """One metrics.jsonl line as a dict, or None (blank, cut short, not an object, nested too deep)."""
    line = line.strip()
    if not line:
        return None
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def iter_metrics(run_dir: str | os.PathLike[str], notes: list[Message] | None = None) -> Iterator[dict[str, Any]]:
    """Every readable record of ``run_dir/metrics.jsonl``, read as it goes (bounded memory)."""
    try:
        f = open_run_file(run_dir, METRICS_FILE)
    except FileNotFoundError:
        return
    except RunFileSkipped as skip:
        if notes is not None:
            notes.append(skip.note)
        return
    with f:
        for line in LineReader().lines(f):
            rec = parse_line(line)
            if rec is not None:
                yield rec


# ----------------------------------------------------------------------------- writing a run


# ----------------------------------------------------------------------------- the column file
# metrics.cols: every record of metrics.jsonl again as one fixed-width little-endian row (the axes
# float64, the metrics float32, NaN where a record has no value); metrics.cols.json names the
# columns. The JSONL stays the contract; the column file is an index a reader may use when it
# agrees with the JSONL (same last step), and ignores otherwise.
COLUMNS_FILE = "metrics.cols"
#: How often appended records are flushed at most (seconds).
FLUSH_S = 0.1
COLUMNS_HEADER = "metrics.cols.json"
_F64 = ("kind", "step", "epoch", "time")


def column_dtype(columns: list[tuple[str, str | None]]) -> Any:
    import numpy as np

    return np.dtype([(f"c{i}", "<f8" if key in _F64 and layer is None else "<f4") for i, (key, layer) in enumerate(columns)])


class ColumnWriter:
    """Appends one row per record to metrics.cols (see :data:`COLUMNS_FILE`)."""

    def __init__(self, run_dir: Path, columns: list[tuple[str, str | None]]) -> None:
        import struct

        self.columns = [(str(k), None if layer is None else str(layer)) for k, layer in columns]
        fmt = "<" + "".join("d" if k in _F64 and layer is None else "f" for k, layer in self.columns)
        self._pack = struct.Struct(fmt).pack
        atomic_write_json(run_dir / COLUMNS_HEADER, {"version": 1, "columns": [list(c) for c in self.columns]})
        self._file = open(run_dir / COLUMNS_FILE, "ab")  # noqa: SIM115 - kept open while training
        self._layout = [(k, layer) for k, layer in self.columns]

    def append(self, record: Mapping[str, Any]) -> None:
        nan = math.nan
        row = []
        for key, layer in self._layout:
            if key == "kind":
                kind = record.get("kind", "batch")
                row.append(0.0 if kind == "batch" else 1.0 if kind == "eval" else nan)
                continue
            v = record.get(key)
            if layer is not None:
                v = v.get(layer) if isinstance(v, Mapping) else None
            row.append(float(v) if isinstance(v, int | float) and not isinstance(v, bool) and abs(v) < 3e38 else nan)
        self._file.write(self._pack(*row))

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()


def read_columns(run_dir: str | os.PathLike[str]) -> tuple[list[tuple[str, str | None]], Any] | None:
    """``(columns, rows)`` of a run's column file (rows: a numpy structured array, one field per
    column, ``c0``...), or None when there is none or it is damaged (then read metrics.jsonl)."""
    import numpy as np

    header = read_run_json(run_dir, COLUMNS_HEADER)
    raw = header.get("columns") if header else None
    if not isinstance(raw, list) or not raw or len(raw) > 20_000:
        return None
    columns: list[tuple[str, str | None]] = []
    for c in raw:
        if not (isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) and (c[1] is None or isinstance(c[1], str))):
            return None
        columns.append((c[0], c[1]))
    if columns[:2] != [("kind", None), ("step", None)]:
        return None
    dtype = column_dtype(columns)
    try:
        with open_run_file(run_dir, COLUMNS_FILE) as f:
            n = os.fstat(f.fileno()).st_size // dtype.itemsize
            rows = np.fromfile(f, dtype=dtype, count=n)
    except (OSError, RunFileSkipped, ValueError):
        return None
    return columns, rows


class RunWriter:
    """Creates a run directory and keeps its files up to date while a run trains.

    Example:
        >>> w = RunWriter.create(tmp_path, "demo", {"lr": 0.01})  # doctest: +SKIP
        >>> w.append({"step": 1, "loss": 2.3}); w.finish("finished")  # doctest: +SKIP
    """

    def __init__(self, path: Path, config: dict[str, Any], summary: dict[str, Any]) -> None:
        self.path = path
        self.name = path.name
        self.config = config
        self.summary = summary
        self._metrics = open(path / METRICS_FILE, "a", encoding="utf-8")  # noqa: SIM115 - kept open while training
        self._last_heartbeat = time.time()
        self._columns: ColumnWriter | None = None
        self._last_flush = -math.inf  # the first record is flushed at once

    @classmethod
    def create(
        cls, runs_dir: str | os.PathLike[str] | None, name: str | None, config: Mapping[str, Any]
    ) -> RunWriter:
        """Make ``<runs_dir>/<name>`` with config.json and a "running" summary.json, atomically.

        ``name=None`` picks :func:`auto_run_name` (adding ``-2``, ``-3``... if taken). An explicit
        name that already exists is a LossvizInputError.
        """
        root = _runs_root(runs_dir)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise LossvizInputError(
                msg("cannot create the runs directory {root}: {why}", root=str(root), why=exc.strerror or str(exc))
            ) from exc
        explicit = name is not None and name != ""
        base = clean_run_name(name) if explicit else auto_run_name(config)
        config = dict(config)
        now = time.time()
        summary = {
            "status": "running",
            "message": "",
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": now,
            "updated": now,
            "steps": 0,
            "dataset": config.get("dataset"),
            "dataset_label": config.get("dataset_label"),
        }
        try:
            tmp = Path(tempfile.mkdtemp(prefix=".creating-", dir=root))
        except OSError as exc:
            raise LossvizInputError(write_failure_message(exc, root)) from exc
        try:
            for attempt in range(1, 1000):
                candidate = base if attempt == 1 else f"{base}-{attempt}"
                final = run_path(root, candidate)
                config["run_name"] = candidate
                summary["run_name"] = candidate
                atomic_write_json(tmp / CONFIG_FILE, config)
                atomic_write_json(tmp / SUMMARY_FILE, summary)
                (tmp / METRICS_FILE).touch()
                try:
                    os.rename(tmp, final)  # fails if the name is taken (non-empty dir) -> try the next
                except OSError:
                    if final.exists():
                        if explicit:
                            raise LossvizInputError(
                                msg("a run named {name!r} already exists: choose another name", name=candidate)
                            ) from None
                        continue
                    raise
                return cls(final, config, summary)
            raise LossvizInputError(msg("too many runs named {name!r}: choose another name", name=base))
        except OSError as exc:  # a full disk or a folder that became read-only while creating
            raise LossvizInputError(write_failure_message(exc, root)) from exc
        finally:
            try:
                if tmp.exists():
                    for p in tmp.iterdir():
                        p.unlink()
                    tmp.rmdir()
            except OSError:
                pass

    def append(self, line: str, record: Mapping[str, Any] | None = None) -> None:
        """Append one already-serialised JSON line (no newline) to metrics.jsonl and flush it; with
        ``record`` and :meth:`start_columns` called, its row of the column file too."""
        self._metrics.write(line + "\n")
        if record is not None and self._columns is not None:
            self._columns.append(record)
        now = time.perf_counter()
        # one flush per FLUSH_S, not per batch (a write syscall each batch cost the loop ~0.1-6 ms on a
        # busy machine); the first record and every eval go out at once, readers poll every 0.25-1 s
        if now - self._last_flush >= FLUSH_S or (record is not None and record.get("kind") != "batch"):
            self.flush()

    def flush(self) -> None:
        """Push what was appended to the files (also done by every summary update and by close)."""
        self._metrics.flush()
        if self._columns is not None:
            self._columns.flush()
        self._last_flush = time.perf_counter()

    def start_columns(self, columns: list[tuple[str, str | None]]) -> None:
        """Keep metrics.cols beside metrics.jsonl: one fixed-width binary row per record, so a run of
        a million batches opens in a fraction of a second (:func:`read_columns`)."""
        self._columns = ColumnWriter(self.path, columns)

    def append_record(self, record: Mapping[str, Any]) -> None:
        self.append(json.dumps(jsonable(record), allow_nan=False))

    def update_summary(self, **fields: Any) -> None:
        """Merge ``fields`` into summary.json (with a fresh ``updated`` heartbeat) and rewrite it atomically."""
        if not self._metrics.closed:
            self.flush()  # the records a summary speaks of are on disk before it
        self.summary.update(fields)
        self.summary["updated"] = self._last_heartbeat = time.time()
        try:
            atomic_write_json(self.path / SUMMARY_FILE, self.summary)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            # A full disk has no room for the temp file; rewriting in place reuses the old file's
            # blocks, so the final "failed" status still reaches the page.
            text = json.dumps(jsonable(self.summary), indent=2, allow_nan=False) + "\n"
            with open(self.path / SUMMARY_FILE, "w", encoding="utf-8") as f:
                f.write(text)

    def heartbeat(self, every_s: float = 5.0, **fields: Any) -> None:
        """Refresh summary.json at most every ``every_s`` seconds (proves the run is alive)."""
        if time.time() - self._last_heartbeat >= every_s:
            self.update_summary(**fields)

    def save_model(self, state_dict: Mapping[str, Any]) -> Path:
        """Save the weights to model.safetensors atomically (no pickle: any tool can read them)."""
        from safetensors.torch import save_file

        target = self.path / MODEL_FILE
        fd, tmp = tempfile.mkstemp(prefix=".model.", suffix=".tmp", dir=self.path)
        os.close(fd)
        try:
            save_file({k: v.detach().cpu().contiguous() for k, v in state_dict.items()}, tmp)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return target

    def close(self) -> None:
        if not self._metrics.closed:
            self._metrics.close()
        if self._columns is not None:
            self._columns.close()


def write_failure_message(exc: OSError, where: str | os.PathLike[str] | None = None) -> Message:
    """A plain sentence for a failed write (full disk, read-only folder, no permission)."""
    why = {
        errno.ENOSPC: msg("the disk is full"),
        errno.EDQUOT: msg("the disk quota is used up"),
        errno.EROFS: msg("the folder is read-only"),
        errno.EACCES: msg("there is no permission to write there"),
        errno.EPERM: msg("there is no permission to write there"),
    }.get(exc.errno or 0, exc.strerror or type(exc).__name__)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        advice = msg("Free some space or choose another runs folder, then start again.")
    else:
        advice = msg("Choose a runs folder you can write to, then start again.")
    if where is None:
        return msg("Training stopped: the run files could not be written because {why}. {advice}", why=why, advice=advice)
    return msg(
        "Training stopped: the run files could not be written ({place}) because {why}. {advice}",
        place=str(where),
        why=why,
        advice=advice,
    )


def message_json(message: object) -> object:
    """A message as JSON data for summary.json: ``{"id": ..., "params": {...}}`` (nested Messages too);
    a plain string stays a string. :func:`message_from_json` reads it back.

    Example:
        >>> message_from_json(message_json(msg("Finished {n} steps.", n=3))).render("en")
        'Finished 3 steps.'
    """
    if isinstance(message, Message):
        params = {k: message_json(v) if isinstance(v, Message) else _param(v) for k, v in message.params.items()}
        return {"id": message.msgid, "params": params}
    return str(message or "")


def _param(value: object) -> object:
    """A message parameter as JSON keeps it: numbers and text as they are, anything else (nan, a path) as text."""
    if isinstance(value, bool | int | str) or (isinstance(value, float) and math.isfinite(value)):
        return value
    return str(value)


def message_from_json(data: object) -> Message | str:
    """The Message (or plain English text) that :func:`message_json` wrote; anything unreadable gives ``""``."""
    if isinstance(data, str):
        return data
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        return ""
    raw = data.get("params")
    params = {
        str(k): message_from_json(v) if isinstance(v, dict) else v for k, v in (raw if isinstance(raw, dict) else {}).items()
    }
    return Message(data["id"], params)


#: Set by the job manager: where a training process that fails before its run directory exists
#: leaves its error as message data (so the page can show it in the reader's language).
ERROR_FILE_ENV = "LOSSVIZ_ERROR_FILE"


def record_error(message: object) -> None:
    """Leave ``message`` (a Message or text) in ``$LOSSVIZ_ERROR_FILE`` when the job manager set it; else nothing."""
    path = os.environ.get(ERROR_FILE_ENV)
    if path:
        try:
            atomic_write_json(Path(path), {"message_i18n": message_json(message), "message": str(message)})
        except OSError:
            pass  # the English ``error:`` line on stderr still says it


def summary_message(summary: Mapping[str, Any] | None) -> Message | str:
    """The message of a run's summary.json: its ``message_i18n`` data when it says the same as the English
    ``message`` (a program that rewrote only ``message`` wins), else the English ``message``."""
    summary = summary or {}
    text = str(summary.get("message") or "")
    data = message_from_json(summary.get("message_i18n"))
    if isinstance(data, Message):
        try:
            if data.render("en") == text:
                return data
        except (KeyError, IndexError, ValueError):  # damaged parameters: the English text is what is left
            pass
    return text


# ----------------------------------------------------------------------------- controlling a run


def write_control(run_dir: str | os.PathLike[str], state: str) -> None:
    """Ask the trainer of ``run_dir`` to run, pause or stop (it reads the file before each batch)."""
    if state not in CONTROL_STATES:
        raise LossvizInputError(
            msg("control state {state!r} is unknown: use one of {choices}", state=state, choices=", ".join(CONTROL_STATES))
        )
    atomic_write_json(Path(run_dir) / CONTROL_FILE, {"state": state, "time": time.time()})


class ControlFile:
    """Reads ``control.json`` when it changes (one ``stat`` per call otherwise)."""

    def __init__(self, run_dir: str | os.PathLike[str]) -> None:
        self.path = Path(run_dir) / CONTROL_FILE
        self._key: tuple[int, int] | None = None
        self.state = "run"

    def poll(self) -> str:
        """The state asked for: "run", "pause" or "stop" (a missing or damaged file means "run")."""
        try:
            st = os.stat(self.path)
        except OSError:
            return self.state
        key = (st.st_mtime_ns, st.st_size)
        if key != self._key:
            self._key = key
            obj = read_json(self.path) or {}
            state = obj.get("state")
            self.state = state if state in CONTROL_STATES else "run"
        return self.state


# ----------------------------------------------------------------------------- reading runs


def parse_metrics_text(text: str) -> list[dict[str, Any]]:
    """Records from metrics.jsonl text; unreadable lines (e.g. a line cut short by a crash) are skipped."""
    records = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except (ValueError, RecursionError):  # cut short by a crash, or nested too deep to read
            continue
        if isinstance(obj, dict):
            records.append(obj)
    return records


def read_metrics(run_dir: Path) -> list[dict[str, Any]]:
    """Every readable record in ``run_dir/metrics.jsonl`` (empty list if the file is missing or is
    not a regular file). For a large run prefer :func:`iter_metrics`, which reads as it goes."""
    return list(iter_metrics(run_dir))


#: The most a live follower reads in one poll (a huge file is taken in over several polls).
POLL_BYTES = 32 << 20


class MetricsTail:
    """Follows a metrics.jsonl that another thread or process is still writing.

    Each :meth:`poll` reads only new bytes (at most POLL_BYTES) and returns only complete lines,
    so a line that is half written now is picked up whole next time; a complete but broken line
    is skipped, and an unterminated line longer than MAX_LINE_BYTES is dropped rather than kept
    growing. A file that is not a regular file of the run folder is not read (:attr:`notes`).
    """

    def __init__(self, run_dir: Path, log: MetricsLog | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / METRICS_FILE
        self.log = log if log is not None else MetricsLog()
        self.notes: list[Message] = []
        self._reader = LineReader()
        self._lock = threading.Lock()

    def poll(self) -> list[dict[str, Any]]:
        """New complete records since the last call (also added to :attr:`log`); safe from several threads."""
        with self._lock:
            return self._poll()

    def _poll(self) -> list[dict[str, Any]]:
        try:
            f = open_run_file(self.run_dir, METRICS_FILE)
        except FileNotFoundError:
            return []
        except RunFileSkipped as skip:
            if not self.notes:
                self.notes.append(skip.note)
            return []
        with f:
            records = [r for r in map(parse_line, self._reader.lines(f, POLL_BYTES)) if r is not None]
        self.log.extend(records)
        return records


TAIL_BYTES = 65536


def last_step(run_dir: str | os.PathLike[str]) -> int | None:
    """The ``step`` of the last readable batch record in metrics.jsonl (reads only the file's end).

    None when the file is missing or its last 64 KB hold no batch record.
    """
    rec = last_batch(run_dir)
    return None if rec is None else rec["step"]


def last_batch(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The last readable batch record with a valid ``step`` (a whole number from 0 to 10¹²) in the
    last 64 KB of metrics.jsonl."""
    from lossviz.training.metrics import clean_int

    try:
        with open_run_file(run_dir, METRICS_FILE) as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - TAIL_BYTES))
            chunk = f.read(TAIL_BYTES)
    except (OSError, RunFileSkipped):
        return None
    lines = chunk.split(b"\n")
    if size > TAIL_BYTES and lines:
        lines = lines[1:]  # the first line of the window may be cut
    for line in reversed(lines[-200:]):
        rec = parse_line(line)
        if rec is None or rec.get("kind", "batch") != "batch":
            continue
        step = clean_int(rec.get("step"))
        if step is not None:
            return {**rec, "step": step}
    return None


def _pid_alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def effective_status(summary: Mapping[str, Any] | None, now: float | None = None) -> str:
    """The status to show: a "running"/"paused" run whose process is gone or silent is "interrupted";
    a status that is not one of ours reads "unknown"."""
    from lossviz.training.metrics import clean_number

    if not summary:
        return "unknown"
    status = summary.get("status")
    if status not in LIVE_STATUSES + FINAL_STATUSES:
        return "unknown"
    if status not in LIVE_STATUSES:
        return status
    now = time.time() if now is None else now
    same_host = summary.get("host") == socket.gethostname()
    if same_host and not _pid_alive(summary.get("pid")):
        return "interrupted"
    updated = clean_number(summary.get("updated"), 0.0, 1e11)
    if updated != updated or now - updated > HEARTBEAT_TIMEOUT_S:
        return "interrupted"
    return status


def config_number(
    data: Mapping[str, Any], key: str, default: float, lo: float, hi: float, *, integer: bool = False
) -> float:
    """``data[key]`` if it is a number in [lo, hi] (a whole number when ``integer``), else ``default``:
    how every reader takes a number from a run's config.json or summary.json (which anyone can edit)."""
    from lossviz.training.metrics import clean_number

    v = clean_number(data.get(key), lo, hi, integer)
    if v != v:
        return default
    return int(v) if integer else v


@dataclass
class RunInfo:
    """One run as the run list shows it. ``notes``: what was skipped when reading its folder."""

    name: str
    path: Path
    status: str
    dataset_label: str
    config: dict[str, Any]
    summary: dict[str, Any]
    notes: list[Message] = field(default_factory=list)

    @property
    def synthetic(self) -> bool:
        return self.config.get("dataset") == "synthetic"

    @property
    def live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def steps(self) -> int:
        """Batches recorded, counted from metrics.jsonl (summary.json is only refreshed every few seconds)."""
        step = last_step(self.path)
        if step is not None:
            return step
        return int(config_number(self.summary, "steps", 0, 0, 10**12, integer=True))

    def last_loss(self) -> float | None:
        """The last batch's loss from the records (the summary's lags while a run trains)."""
        from lossviz.training.metrics import clean_number

        rec = last_batch(self.path)
        loss = clean_number(rec.get("loss") if rec is not None else self.summary.get("last_loss"))
        return None if loss != loss else loss

    @property
    def started(self) -> float:
        """When the run started (seconds since 1970), 0 when summary.json does not say it plainly."""
        return config_number(self.summary, "started", 0.0, 0.0, 1e11)

    def row(self) -> dict[str, Any]:
        """A flat dict for a table (every number checked: a tampered summary cannot break the table)."""
        from lossviz.training.metrics import clean_number

        s, c = self.summary, self.config

        def num(value: Any, lo: float = -1e300, hi: float = 1e300) -> float | None:
            v = clean_number(value, lo, hi)
            return None if v != v else v

        def text(value: Any) -> str | None:
            return value[:80] if isinstance(value, str) else None

        started = self.started
        return {
            "run": self.name,
            "data": self.dataset_label,
            "status": self.status,
            "steps": self.steps,
            "last loss": self.last_loss(),
            "test loss": num(s.get("test_loss")),
            "test accuracy": num(s.get("test_accuracy"), 0.0, 1.0),
            "loss fn": text(c.get("loss")),
            "optimizer": text(c.get("optimizer")),
            "lr": num(c.get("lr"), 0.0),
            "ReLU": c.get("relu") is True,
            "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(started)) if started else "",
        }


def read_run(runs_dir: str | os.PathLike[str] | None, name: str) -> RunInfo:
    """Config, summary and effective status of one run; LossvizInputError if it does not exist.

    Only regular files inside the run folder are read, each at most MAX_JSON_BYTES; what was
    skipped is in ``notes``."""
    path = run_path(runs_dir, name)
    notes: list[Message] = []
    config = read_run_json(path, CONFIG_FILE, notes)
    if config is None:
        raise LossvizInputError(
            notes[0] if notes else msg("no run named {name!r} in the runs folder: pick one from the run list", name=name)
        )
    summary = read_run_json(path, SUMMARY_FILE, notes) or {}
    raw = config.get("dataset_label") or config.get("dataset")
    label = raw[:40] if isinstance(raw, str) and raw else "?"
    return RunInfo(name, path, effective_status(summary), label, config, summary, notes)


def list_runs(runs_dir: str | os.PathLike[str] | None = None) -> list[RunInfo]:
    """All complete runs, newest first. Hidden or half-created folders (and links) are skipped."""
    root = _runs_root(runs_dir)
    if not root.is_dir():
        return []
    runs = []
    for entry in root.iterdir():
        if entry.is_symlink() or not entry.is_dir() or entry.name.startswith(".") or not _NAME_RE.match(entry.name):
            continue
        try:
            runs.append(read_run(root, entry.name))
        except LossvizInputError:
            continue
    runs.sort(key=lambda r: (r.started, r.name), reverse=True)
    return runs


#: The largest weights file a run folder may hold (the tutorial CNN's is about 0.6 MB).
MAX_MODEL_BYTES = 512 << 20


def load_model_state(runs_dir: str | os.PathLike[str] | None, name: str) -> dict[str, Any]:
    """The saved weights of a run: model.safetensors (no pickle), or an older run's model.pt
    loaded with ``weights_only=True``; only a regular file inside the run folder is read."""
    run = run_path(runs_dir, name)
    for file in (MODEL_FILE, LEGACY_MODEL_FILE):
        try:
            data = read_run_bytes(run, file, MAX_MODEL_BYTES)
        except FileNotFoundError:
            continue
        except RunFileSkipped as skip:
            raise LossvizInputError(skip.note) from None
        try:
            if file == MODEL_FILE:
                from safetensors.torch import load as load_safetensors

                return dict(load_safetensors(data))
            import torch

            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - a damaged file: say so plainly
            raise LossvizInputError(msg(SKIP_UNREADABLE, file=file, why=type(exc).__name__)) from None
    raise LossvizInputError(
        msg("run {name!r} has no saved model yet ({file} is written at each epoch's end)", name=name, file=MODEL_FILE)
    )


def csv_columns(layer_names: Mapping[str, list[str]], labels: Mapping[str, str] | None = None) -> list[tuple[str, str, str | None]]:
    """The CSV's columns as ``(column, record key, layer)``, from the metric registry: the axes,
    every scalar metric, then each per-layer metric's layers (``layer_names[key]``)."""
    from lossviz.training import metrics as M

    labels = labels or {}
    cols: list[tuple[str, str, str | None]] = [(k, k, None) for k in ("step", "epoch", "batch")]
    for spec in M.list_metrics():
        if spec.per_layer:
            for layer in layer_names.get(spec.key, []):
                cols.append((spec.csv_column(labels.get(layer, layer)), spec.key, layer))
        else:
            cols.append((spec.csv_column(), spec.key, None))
    cols.append(("time", "time", None))
    return cols


def _cell(value: Any) -> Any:
    """A CSV cell: numbers and short text as they are (a huge integer or a long text is cut)."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else value
    if isinstance(value, int):
        return value if -(10**18) < value < 10**18 else ""
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, str):
        return value[:200]
    return ""


def iter_csv(
    records: Iterable[Mapping[str, Any]],
    run_name: str = "",
    dataset_label: str = "",
    labels: Mapping[str, str] | None = None,
    layer_names: Mapping[str, list[str]] | None = None,
) -> Iterator[str]:
    """CSV text in pieces (the header, then a block of rows at a time): every record, batch and eval,
    one column per registered field, each row labelled with its run and data. ``layer_names``
    (metric key -> layers) fixes the per-layer columns; without it they are taken from the records
    (so ``records`` is then read into memory: give it for a large run)."""
    import csv

    if layer_names is None:
        records = list(records)
        layer_names = layer_names_in(records)
    columns = csv_columns(layer_names, labels)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["run", "data", "kind", *(c[0] for c in columns)])
    for i, rec in enumerate(records, 1):
        row: list[Any] = [run_name, dataset_label, rec.get("kind", "batch") if rec.get("kind") in ("batch", "eval") else ""]
        for _, key, layer in columns:
            value = rec.get(key)
            if layer is not None:
                value = value.get(layer) if isinstance(value, Mapping) else None
            row.append(_cell(value))
        writer.writerow(row)
        if i % 2000 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def layer_names_in(records: Iterable[Mapping[str, Any]], limit: int = 10_000) -> dict[str, list[str]]:
    """Per-layer metric key -> layer names seen in (the first ``limit`` of) ``records``, in order."""
    from lossviz.training import metrics as M

    keys = [s.key for s in M.list_metrics(per_layer=True)]
    found: dict[str, dict[str, None]] = {k: {} for k in keys}
    for i, rec in enumerate(records):
        if i >= limit:
            break
        for k in keys:
            v = rec.get(k)
            if isinstance(v, Mapping):
                for layer in v:
                    if isinstance(layer, str) and len(layer) <= 200 and len(found[k]) < 1000:
                        found[k].setdefault(layer, None)
    return {k: list(v) for k, v in found.items() if v}


def metrics_csv(
    records: list[Mapping[str, Any]],
    run_name: str = "",
    dataset_label: str = "",
    labels: Mapping[str, str] | None = None,
) -> str:
    """All records as CSV text (batch and eval rows, one column per field)."""
    return "".join(iter_csv(records, run_name, dataset_label, labels))


def run_csv(runs_dir: str | os.PathLike[str] | None, name: str) -> str:
    """CSV of one run's metrics.jsonl, every row labelled with the run and its data (e.g. "synthetic")."""
    return "".join(iter_run_csv(runs_dir, name))


def iter_run_csv(runs_dir: str | os.PathLike[str] | None, name: str) -> Iterator[str]:
    """:func:`run_csv` in pieces, reading metrics.jsonl as it goes (memory stays small whatever its size)."""
    from lossviz.training.model import layer_labels_for

    info = read_run(runs_dir, name)
    labels = layer_labels_for(info.config.get("relu") is True)
    layer_names = layer_names_in(iter_metrics(info.path))
    yield from iter_csv(iter_metrics(info.path), info.name, info.dataset_label, labels, layer_names)
