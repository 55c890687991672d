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
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lossviz.errors import LossvizInputError
from lossviz.i18n import Message, msg
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


def read_json(path: Path) -> dict[str, Any] | None:
    """The object in a JSON file, or None if it is missing or unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except (OSError, ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


# ----------------------------------------------------------------------------- writing a run


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

    def append(self, line: str) -> None:
        """Append one already-serialised JSON line (no newline) to metrics.jsonl and flush it."""
        self._metrics.write(line + "\n")
        self._metrics.flush()

    def append_record(self, record: Mapping[str, Any]) -> None:
        self.append(json.dumps(jsonable(record), allow_nan=False))

    def update_summary(self, **fields: Any) -> None:
        """Merge ``fields`` into summary.json (with a fresh ``updated`` heartbeat) and rewrite it atomically."""
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
    """Every readable record in ``run_dir/metrics.jsonl`` (empty list if the file is missing)."""
    try:
        with open(Path(run_dir) / METRICS_FILE, encoding="utf-8", errors="replace") as f:
            return parse_metrics_text(f.read())
    except OSError:
        return []


class MetricsTail:
    """Follows a metrics.jsonl that another thread or process is still writing.

    Each :meth:`poll` reads only new bytes and returns only complete lines, so a line that is
    half written now is picked up whole next time; a complete but broken line is skipped.
    """

    def __init__(self, run_dir: Path, log: MetricsLog | None = None) -> None:
        self.path = Path(run_dir) / METRICS_FILE
        self.log = log if log is not None else MetricsLog()
        self._offset = 0
        self._pending = b""
        self._lock = threading.Lock()

    def poll(self) -> list[dict[str, Any]]:
        """New complete records since the last call (also added to :attr:`log`); safe from several threads."""
        with self._lock:
            return self._poll()

    def _poll(self) -> list[dict[str, Any]]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
        except OSError:
            return []
        if not chunk:
            return []
        self._offset += len(chunk)
        data = self._pending + chunk
        cut = data.rfind(b"\n")
        if cut < 0:
            self._pending = data
            return []
        self._pending = data[cut + 1 :]
        records = parse_metrics_text(data[: cut + 1].decode("utf-8", errors="replace"))
        self.log.extend(records)
        return records


TAIL_BYTES = 65536


def last_step(run_dir: str | os.PathLike[str]) -> int | None:
    """The ``step`` of the last readable batch record in metrics.jsonl (reads only the file's end).

    None when the file is missing or its last 64 KB hold no batch record.
    """
    rec = last_batch(run_dir)
    return None if rec is None else max(0, rec["step"])


def last_batch(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The last readable batch record (with a whole-number ``step``) in the last 64 KB of metrics.jsonl."""
    path = Path(run_dir) / METRICS_FILE
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - TAIL_BYTES))
            chunk = f.read()
    except OSError:
        return None
    lines = chunk.decode("utf-8", errors="replace").splitlines()
    if size > TAIL_BYTES and lines:
        lines = lines[1:]  # the first line of the window may be cut
    for rec in reversed(parse_metrics_text("\n".join(lines[-200:]))):
        step = rec.get("step")
        if rec.get("kind", "batch") == "batch" and isinstance(step, int) and not isinstance(step, bool):
            return rec
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
    """The status to show: a "running"/"paused" run whose process is gone or silent is "interrupted"."""
    if not summary:
        return "unknown"
    status = str(summary.get("status") or "unknown")
    if status not in LIVE_STATUSES:
        return status
    now = time.time() if now is None else now
    same_host = summary.get("host") == socket.gethostname()
    if same_host and not _pid_alive(summary.get("pid")):
        return "interrupted"
    updated = summary.get("updated")
    if not isinstance(updated, int | float) or now - updated > HEARTBEAT_TIMEOUT_S:
        return "interrupted"
    return status


@dataclass
class RunInfo:
    """One run as the run list shows it."""

    name: str
    path: Path
    status: str
    dataset_label: str
    config: dict[str, Any]
    summary: dict[str, Any]

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
        steps = self.summary.get("steps", 0)
        return steps if isinstance(steps, int) and not isinstance(steps, bool) else 0

    def last_loss(self) -> float | None:
        """The last batch's loss from the records (the summary's lags while a run trains)."""
        rec = last_batch(self.path)
        loss = rec.get("loss") if rec is not None else self.summary.get("last_loss")
        return float(loss) if isinstance(loss, int | float) and not isinstance(loss, bool) else None

    def row(self) -> dict[str, Any]:
        """A flat dict for a table."""
        s, c = self.summary, self.config
        started = s.get("started")
        return {
            "run": self.name,
            "data": self.dataset_label,
            "status": self.status,
            "steps": self.steps,
            "last loss": self.last_loss(),
            "test loss": s.get("test_loss"),
            "test accuracy": s.get("test_accuracy"),
            "loss fn": c.get("loss"),
            "optimizer": c.get("optimizer"),
            "lr": c.get("lr"),
            "ReLU": bool(c.get("relu")),
            "started": time.strftime("%Y-%m-%d %H:%M", time.localtime(started))
            if isinstance(started, int | float)
            else "",
        }


def read_run(runs_dir: str | os.PathLike[str] | None, name: str) -> RunInfo:
    """Config, summary and effective status of one run; LossvizInputError if it does not exist."""
    path = run_path(runs_dir, name)
    config = read_json(path / CONFIG_FILE)
    if config is None:
        raise LossvizInputError(msg("no run named {name!r} in the runs folder: pick one from the run list", name=name))
    summary = read_json(path / SUMMARY_FILE) or {}
    label = str(config.get("dataset_label") or config.get("dataset") or "?")
    return RunInfo(name, path, effective_status(summary), label, config, summary)


def list_runs(runs_dir: str | os.PathLike[str] | None = None) -> list[RunInfo]:
    """All complete runs, newest first. Hidden or half-created folders are skipped."""
    root = _runs_root(runs_dir)
    if not root.is_dir():
        return []
    runs = []
    for entry in root.iterdir():
        if not entry.is_dir() or entry.name.startswith(".") or not _NAME_RE.match(entry.name):
            continue
        try:
            runs.append(read_run(root, entry.name))
        except LossvizInputError:
            continue
    runs.sort(key=lambda r: (r.summary.get("started") or 0, r.name), reverse=True)
    return runs


def load_model_state(runs_dir: str | os.PathLike[str] | None, name: str) -> dict[str, Any]:
    """The saved weights of a run: model.safetensors (no pickle), or an older run's model.pt
    loaded with ``weights_only=True``."""
    run = run_path(runs_dir, name)
    path = run / MODEL_FILE
    if path.is_file():
        from safetensors.torch import load_file

        return dict(load_file(str(path), device="cpu"))
    legacy = run / LEGACY_MODEL_FILE
    if legacy.is_file():
        import torch

        return torch.load(legacy, map_location="cpu", weights_only=True)
    raise LossvizInputError(
        msg("run {name!r} has no saved model yet ({file} is written at each epoch's end)", name=name, file=MODEL_FILE)
    )


def records_to_rows(
    records: list[Mapping[str, Any]],
    run_name: str = "",
    dataset_label: str = "",
    labels: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Flat rows for CSV: ``layer_grad_norms`` become ``grad_norm[<layer label>]`` columns (``labels``
    maps ``0.weight`` to ``conv1 weight``, as on the charts); each row names its run and data."""
    labels = labels or {}
    rows = []
    for rec in records:
        row: dict[str, Any] = {"run": run_name, "data": dataset_label, "kind": rec.get("kind", "batch")}
        for key, value in rec.items():
            if key == "kind":
                continue
            if key == "layer_grad_norms" and isinstance(value, Mapping):
                for layer, v in value.items():
                    row[f"grad_norm[{labels.get(str(layer), layer)}]"] = v
            elif not isinstance(value, Mapping | list):
                row[key] = value
        rows.append(row)
    return rows


def metrics_csv(
    records: list[Mapping[str, Any]],
    run_name: str = "",
    dataset_label: str = "",
    labels: Mapping[str, str] | None = None,
) -> str:
    """All records as CSV text (batch and eval rows, one column per field)."""
    import csv

    rows = records_to_rows(records, run_name, dataset_label, labels)
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns or ["run", "data", "kind"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def run_csv(runs_dir: str | os.PathLike[str] | None, name: str) -> str:
    """CSV of one run's metrics.jsonl, every row labelled with the run and its data (e.g. "synthetic")."""
    from lossviz.training.model import layer_labels_for

    info = read_run(runs_dir, name)
    labels = layer_labels_for(bool(info.config.get("relu")))
    return metrics_csv(read_metrics(info.path), info.name, info.dataset_label, labels)
