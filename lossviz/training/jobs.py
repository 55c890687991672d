"""A process-wide manager for training runs and probes (pure Python; the page keeps one in ``st.cache_resource``).

Each run is its own process group: ``python -m lossviz train ...`` (or ``python -m
torch.distributed.run --standalone --nproc_per_node N -m lossviz train ...`` for several workers),
exactly what a terminal would run. The server never loads data or builds models for training: it
starts the process and follows its run directory. The manager caps how many runs train at once,
remembers the processes it started (so a reloaded page can reattach) and which browser started each
one, so that only that browser may pause, resume or stop it.

Control goes through the run directory's control.json (pause/resume/stop, read by the trainer
before each batch) plus SIGTERM to the whole process group on Stop; a group still alive
STOP_GRACE_S after Stop is killed. On Linux a run also gets SIGTERM when the server process dies
(``PR_SET_PDEATHSIG``), so it ends as "stopped" rather than training on out of everyone's reach;
except behind a proxy of several replicas (``LOSSVIZ_DETACHED_RUNS=1``, set by deploy/classroom.py),
where the other replicas reach it through the ledger: there a run trains on when its replica dies, its
owner controls it through any other replica, and the classroom stops the orphans when it shuts down
(:func:`stop_orphans`).

A *probe* of a run (a weight-space slice, a sharpness estimate: ``python -m lossviz landscape ...`` or a
sibling command) is a process of the same manager under the same cap (:meth:`JobManager.start_probe`);
it writes its results into its probe folder, and a second viewer of the same folder attaches to the
running job (:meth:`JobManager.probe_for`) instead of starting another. The contract is in
docs/CONTRACTS.md ("Probe processes"); docs/ARCHITECTURE.md ("Processes") says how the pieces fit.
"""

from __future__ import annotations

import atexit
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg
from lossviz.training import ledger as lv_ledger
from lossviz.training import procs
from lossviz.training import runs as lv_runs
from lossviz.training.data import DATASET_TAGS, cifar10_status, resolved_kind
from lossviz.training.trainer import TrainConfig, check_workers

KEEP_FINISHED = 8
STOP_GRACE_S = 20.0
#: A cancelled probe still alive this long after SIGTERM is killed (it holds no state worth a batch).
CANCEL_GRACE_S = 5.0
#: A probe no tab has reported (JobManager.heartbeat) for this long is cancelled.
PROBE_GRACE_S = 30.0
#: What a probe's status may be.
PROBE_STATUSES = ("running", "done", "failed", "cancelled")
#: The ``kind`` of a training run; every other kind is a probe ("landscape", "sharpness", ...).
TRAIN = "train"
_KIND_RE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
#: One failed worker in torchrun's failure report on the agent's stderr.
_TORCHRUN_EXIT = re.compile(rb"^\s*exitcode\s*:\s*(-?\d{1,4})\s*\(pid:\s*\d+\)", re.MULTILINE)
_MANAGERS: weakref.WeakSet[JobManager] = weakref.WeakSet()
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
#: What a probe's argv follows: ``python -m lossviz`` (tests put a stand-in process here).
PROBE_PREFIX = [sys.executable, "-m", "lossviz"]


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def _env_count(name: str) -> int | None:
    env = os.environ.get(name, "").strip()
    return int(env) if env.isdigit() and 0 < int(env) < 10_000 else None


def default_max_runs() -> int:
    """Training runs at once: 1 on a CPU-only machine (two runs would just halve each other's speed), one
    per GPU otherwise; ``LOSSVIZ_MAX_RUNS`` overrides, and so does ``LOSSVIZ_MAX_JOBS`` when set alone."""
    return _env_count("LOSSVIZ_MAX_RUNS") or _env_count("LOSSVIZ_MAX_JOBS") or max(1, _cuda_count())


def default_max_jobs() -> int:
    """Processes at once, runs and probes together: the runs' share plus one probe (a CPU-only machine:
    one run and one slice); ``LOSSVIZ_MAX_JOBS`` overrides."""
    return _env_count("LOSSVIZ_MAX_JOBS") or max(1, _cuda_count()) + 1


def default_probe_grace_s() -> float:
    """Seconds a probe runs on after the last tab watching it stopped reporting (``LOSSVIZ_PROBE_GRACE_S``)."""
    try:
        value = float(os.environ.get("LOSSVIZ_PROBE_GRACE_S", ""))
    except ValueError:
        return PROBE_GRACE_S
    return value if 0 < value < 86_400 else PROBE_GRACE_S


def default_max_per_owner(max_jobs: int) -> int:
    """Processes one browser may hold at once: every slot but one, so one browser never takes them all
    (``LOSSVIZ_MAX_JOBS_PER_OWNER`` overrides)."""
    return _env_count("LOSSVIZ_MAX_JOBS_PER_OWNER") or max(1, max_jobs - 1)


def max_workers() -> int:
    """Workers one run may use: the number of GPUs, or half the CPU cores (``LOSSVIZ_MAX_WORKERS`` overrides)."""
    env = os.environ.get("LOSSVIZ_MAX_WORKERS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return _cuda_count() or max(1, (os.cpu_count() or 1) // 2)


#: Run before the training command on Linux: ask the kernel to send signal ``argv[1]`` (SIGTERM; 0:
#: none, a detached run) when the server dies (kept across exec, so it covers torchrun too), then exec
#: the real command. A run then ends as "stopped" with its server instead of training on with nobody
#: able to stop it. It also leaves its pid in ``LOSSVIZ_AGENT_PID``: torchrun's workers check that
#: their parent is that process (procs.guard_torchrun_worker).
_STOP_WITH_PARENT = (
    "import ctypes, os, sys; sig = int(sys.argv[1]); "
    "sig and ctypes.CDLL(None, use_errno=True).prctl(1, sig, 0, 0, 0); "
    "os.getppid() == int(sys.argv[2]) or sys.exit(1); os.environ['LOSSVIZ_AGENT_PID'] = str(os.getpid()); "
    "os.execv(sys.argv[3], sys.argv[3:])"
)
#: Set (to 1) on every replica behind the classroom's proxy: training runs outlive their replica.
DETACHED_RUNS_ENV = "LOSSVIZ_DETACHED_RUNS"


def detached_runs() -> bool:
    """Whether training runs of this server outlive it (``LOSSVIZ_DETACHED_RUNS=1``): only where other
    replicas share its ledger and can reach them. Probes always end with their server."""
    return os.environ.get(DETACHED_RUNS_ENV, "").strip() == "1"


def with_parent_watch(command: list[str], parent: int | None = None, *, stop_with_parent: bool = True) -> list[str]:
    """``command`` wrapped so that it gets SIGTERM when process ``parent`` (default: this one) ends (Linux);
    with ``stop_with_parent=False`` it only leaves its pid for torchrun's workers and outlives ``parent``."""
    if not sys.platform.startswith("linux"):
        return command
    sig = str(int(signal.SIGTERM) if stop_with_parent else 0)
    return [sys.executable, "-S", "-c", _STOP_WITH_PARENT, sig, str(parent or os.getpid()), *command]


def train_command(
    config: TrainConfig, runs_dir: str | os.PathLike[str], name: str, workers: int = 1
) -> list[str]:
    """The command line that trains ``config`` as run ``name`` (torchrun when ``workers > 1``)."""
    c = config
    # English whatever the server's LANG: the page reads the process's last ``error:`` line as English text
    # (Job.note) and shows its own translation from the error file.
    args = ["-m", "lossviz", "train", "--runs-dir", str(runs_dir), "--name", name, "--quiet", "--lang", "en"]
    if c.dataset == "synthetic":
        args.append("--synthetic")
    elif c.dataset == "cifar10":
        args.append("--cifar10")
    elif c.dataset in ("digits", "folder"):  # H6: the real digits offline, or the user's own pictures
        args += ["--digits"] if c.dataset == "digits" else ["--image-folder", str(c.image_folder)]
    args += ["--train-subset", str(c.train_subset)] if c.train_subset else []  # H6: full-batch runs
    args += ["--sharpness-every", str(c.sharpness_every), "--sharpness-images", str(c.sharpness_images)] if c.sharpness_every else []
    if c.data_dir:
        args += ["--data-dir", str(c.data_dir)]
    args += ["--synthetic-train", str(c.synthetic_train), "--synthetic-test", str(c.synthetic_test)]
    if c.relu:
        args.append("--relu")
    args += [
        "--loss",
        c.loss,
        "--label-smoothing",
        repr(float(c.label_smoothing)),
        "--margin",
        repr(float(c.margin)),
    ]
    args += ["--optimizer", c.optimizer, "--lr", repr(float(c.lr)), "--momentum", repr(float(c.momentum))]
    args += ["--batch-size", str(c.batch_size), "--epochs", str(c.epochs), "--seed", str(c.seed)]
    if c.max_batches:
        args += ["--max-batches", str(c.max_batches)]
    if not c.evaluate:
        args.append("--no-eval")
    args += ["--device", c.device]
    if c.threads:
        args += ["--threads", str(c.threads)]
    if c.amp:
        args.append("--amp")
    if workers > 1:
        return [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            str(workers),
            *args,
        ]
    return [sys.executable, *args]


@dataclass
class Job:
    """One process group started by a job manager: a training run (``kind == "train"``) or a probe of a
    run (any other kind, e.g. ``"landscape"``), writing into ``probe_dir``."""

    name: str
    owner: str | None
    runs_dir: Path
    run_dir: Path
    process: subprocess.Popen[bytes] | None  #: None: a job another replica started (see :attr:`entry`)
    stderr: IO[bytes] | None
    workers: int = 1
    label: str = "?"
    created: float = field(default_factory=time.time)
    stop_requested: bool = False
    error_file: Path | None = None  #: where the process leaves an error as message data (runs.record_error)
    kind: str = TRAIN
    probe_dir: Path | None = None
    pgid: int = 0  #: the process group (the leader's pid), signalled even after the leader is gone
    worker_pids: Path | None = None  #: where torchrun workers (sessions of their own) leave their pids
    claim_released: bool = False
    ledger_done: bool = False  #: its end is in the ledger
    pid: int = 0  #: the group leader (the process this manager started)
    pid_start: int | None = None  #: its start time (procs.process_start): a pid alone may be reused
    owner_hash: str | None = None  #: what the ledger keeps of the owner (ledger.owner_hash)
    host: str = lv_ledger.HOST
    entry: dict[str, Any] | None = None  #: the ledger entry of another replica's job, as read

    def __post_init__(self) -> None:
        if self.process is not None:
            self.pid = self.pid or self.process.pid
            self.pid_start = self.pid_start or procs.process_start(self.pid)
        self.pgid = self.pgid or self.pid
        if self.owner is not None and self.owner_hash is None:
            self.owner_hash = lv_ledger.owner_hash(self.owner)

    @property
    def remote(self) -> bool:
        """Started by another server process (replica) of the same data folder."""
        return self.process is None

    @property
    def is_probe(self) -> bool:
        return self.kind != TRAIN

    @property
    def title(self) -> str:
        """How a refusal names the job: the run's name, or ``kind:run`` for a probe."""
        return f"{self.kind}:{self.run_dir.name}" if self.is_probe else self.name

    @property
    def active(self) -> bool:
        """The process (group leader) is still running."""
        if self.process is not None:
            return self.process.poll() is None
        return lv_ledger.entry_alive(self.entry or {})

    def _exit_code(self) -> int | None:
        if self.process is not None:
            return self.process.poll()
        return None

    def summary(self) -> dict[str, Any] | None:
        return None if self.is_probe else lv_runs.read_json(self.run_dir / lv_runs.SUMMARY_FILE)

    @property
    def status(self) -> str:
        """A probe: "running", "done" (exit 0), "failed" or "cancelled". A run: "starting" until the run
        directory has its summary, then the summary's status; a dead process whose summary still says
        running or paused is "interrupted"; one that died before writing any is "failed"."""
        if self.is_probe:
            if self.remote:
                ended = str((self.entry or {}).get("status") or "")
                return "running" if self.active else (ended if ended in PROBE_STATUSES else "failed")
            code = self._exit_code()
            if code is None:
                return "running"
            if code == 0:
                return "done"
            # SIGTERM is how a probe is cancelled, also through another replica or at a server's shutdown
            return "cancelled" if self.stop_requested or code == -signal.SIGTERM else "failed"
        summary = self.summary()
        alive = self.active
        if summary is None:  # the process is loading its data (or ended before making its run)
            return "starting" if alive else ("stopped" if self.stop_requested else "failed")
        status = str(summary.get("status") or "unknown")
        if not alive and status in lv_runs.LIVE_STATUSES:
            return "interrupted"
        return status

    @property
    def message(self) -> str:
        """:attr:`note` in English."""
        return str(self.note)

    @property
    def note(self) -> Message | str:
        """The run's own message (a Message, see runs.summary_message), or the process's last ``error:``
        line (English: the process's own output) when it wrote none; "" while the process runs."""
        text = "" if self.is_probe else lv_runs.summary_message(self.summary())
        if self.active:
            return text
        died = self._worker_death()
        if died is not None:  # a rank killed under torchrun: a plain sentence; torch's text is the detail
            return died
        if text:
            return text
        if self.remote:
            return lv_runs.message_from_json((self.entry or {}).get("note_i18n")) or str(
                (self.entry or {}).get("note") or ""
            )
        return self._error_note()

    @property
    def detail(self) -> str:
        """The raw text behind :attr:`note` when the note says it plainly instead (torch's error of a
        run whose worker died): for a "details" box, never the headline; "" otherwise."""
        if self.active or self._worker_death() is None:
            return ""
        return str(lv_runs.summary_message(self.summary()))

    def _stderr_tail(self, limit: int = 256 * 1024) -> bytes:
        if self.stderr is None:
            return b""
        try:
            size = self.stderr.seek(0, os.SEEK_END)
            self.stderr.seek(max(0, size - limit))
            return self.stderr.read(limit)
        except (OSError, ValueError):
            return b""

    def _worker_death(self) -> Message | None:
        """For a run of several workers that ended failed or interrupted: the signal that ended one of
        them, read from torchrun's failure report (``exitcode : -9 (pid: ...)``) on the agent's stderr."""
        if self.is_probe or self.workers < 2 or self.stderr is None or self.active:
            return None
        if self.status not in ("failed", "interrupted"):
            return None
        codes = [int(m.group(1)) for m in _TORCHRUN_EXIT.finditer(self._stderr_tail())]
        killed = [-c for c in codes if c < 0]
        if not killed:
            return None
        # torchrun sends SIGTERM to the workers still alive once one has died; the report may list that
        # cleanup first (or as its "first observed failure" when it saw both at once): name the other signal
        killed.sort(key=lambda sig: sig == signal.SIGTERM)
        try:
            name = signal.Signals(killed[0]).name
        except ValueError:
            name = "?"
        return msg(
            "a worker process died (signal {signal}, {number}), so the run ended: every worker must stay to "
            "the end",
            signal=name,
            number=killed[0],
        )

    def _error_note(self) -> Message | str:
        if self.stderr is None:
            return ""
        try:
            self.stderr.seek(0)
            lines = self.stderr.read().decode("utf-8", errors="replace").splitlines()
        except (OSError, ValueError):
            return ""
        errors = [ln[len("error: ") :] for ln in lines if ln.startswith("error: ")]
        recorded = lv_runs.summary_message(lv_runs.read_json(self.error_file)) if self.error_file else ""
        if recorded and (not errors or str(recorded) == errors[-1]):
            return recorded
        if errors:
            return errors[-1]
        if self.is_probe and self.status == "failed":
            return exit_message(self._exit_code())
        return ""

    def can_control(self, owner: str | None) -> bool:
        """Only the session that started a job may pause, stop or cancel it; everybody may watch. A job
        of another replica is checked against the owner's hash in the ledger."""
        if owner is None:
            return False
        if self.owner is not None:
            return owner == self.owner
        return self.owner_hash is not None and lv_ledger.owner_hash(owner) == self.owner_hash

    def actions(self, owner: str | None) -> tuple[str, ...]:
        """What ``owner`` may do to the job now: ``()`` for a watcher or an ended job; the owner may stop
        a starting run (it has no folder to pause yet), pause or stop a running one, resume or stop a
        paused one, cancel a probe. True from the moment :meth:`JobManager.start` returns."""
        if not self.can_control(owner) or not self.active:
            return ()
        if self.is_probe:
            return ("cancel",)
        status = self.status
        if status == "paused":
            return ("resume", "stop")
        return ("pause", "stop") if status == "running" else ("stop",)

    def _control(self, state: str) -> None:
        # Only once the run has made its folder: the empty folder claimed for it must stay empty until the
        # trainer renames its own onto it.
        if not self.is_probe and (self.run_dir / lv_runs.SUMMARY_FILE).is_file():
            try:
                lv_runs.write_control(self.run_dir, state)
            except OSError:
                pass  # a full or read-only disk: the trainer fails on its own; Stop still signals

    def pause(self) -> None:
        self._control("pause")

    def resume(self) -> None:
        self._control("run")

    def stop(self) -> None:
        """A run: stop after the current batch (control.json, then SIGTERM to the whole group, SIGKILL
        after STOP_GRACE_S). A probe: :meth:`cancel`."""
        if self.is_probe:
            self.cancel()
            return
        self.stop_requested = True
        self._control("stop")
        self._signal(signal.SIGTERM)
        self._kill_later(STOP_GRACE_S)

    def cancel(self) -> None:
        """End the job: a probe gets SIGTERM on its whole group, then SIGKILL after CANCEL_GRACE_S; a run
        stops as :meth:`stop` says."""
        if not self.is_probe:
            self.stop()
            return
        self.stop_requested = True
        self._signal(signal.SIGTERM)
        self._kill_later(CANCEL_GRACE_S)

    def _kill_later(self, after_s: float) -> None:
        timer = threading.Timer(after_s, self.kill)
        timer.daemon = True
        timer.start()

    def _signal(self, sig: int) -> None:
        if self.remote:
            # Another replica's job: only a leader that is alive on this machine, the same process the
            # ledger names (start time) and one this code started (its environment). Elsewhere
            # control.json reaches a run, and its own replica ends a probe nobody watches.
            if self.host != lv_ledger.HOST or not procs.pid_alive(self.pid, self.pid_start):
                return
            if not procs.has_env(self.pid, procs.JOB_MARKER_ENV):
                return
        signal_group(self.pgid, sig, leader_alive=self.active)
        procs.signal_workers(self.worker_pids, sig)  # torchrun puts each worker in a session of its own

    def kill(self) -> None:
        """End the process group at once (SIGKILL)."""
        self._signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the process; True when it has ended."""
        if self.process is None:
            end = time.monotonic() + (timeout if timeout is not None else 1e9)
            while self.active:
                if time.monotonic() > end:
                    return False
                time.sleep(0.05)
            return True
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True


def signal_group(pgid: int, sig: int, *, leader_alive: bool) -> None:
    """Send ``sig`` to process group ``pgid``, also when its leader is gone (workers a dead torchrun agent
    left behind). Once the leader is reaped, its pid may be reused: a live process with pid ``pgid`` is
    then someone else's group leader, and nothing is sent."""
    if pgid <= 1:
        return
    if not leader_alive and procs.pid_alive(pgid):
        return
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _job_from_entry(entry: dict[str, Any]) -> Job | None:
    """A job another replica recorded, as this replica can show and control it (None if damaged)."""

    def whole(key: str) -> int | None:
        v = entry.get(key)
        return v if isinstance(v, int) and not isinstance(v, bool) and 0 < v < 2**62 else None

    try:
        name, kind = str(entry["name"]), str(entry.get("kind") or TRAIN)
        if kind != TRAIN and not _KIND_RE.match(kind):
            return None
        run_dir = Path(str(entry["run_dir"]))
        runs_dir = Path(str(entry.get("runs_dir") or run_dir.parent))
        probe_dir = Path(str(entry["probe_dir"])) if entry.get("probe_dir") else None
        pids = Path(str(entry["worker_pids"])) if entry.get("worker_pids") else None
        started = entry.get("started")
        created = float(started) if isinstance(started, int | float) and math.isfinite(started) else 0.0
        owner_hash = entry.get("owner_hash") if isinstance(entry.get("owner_hash"), str) else None
        pid = whole("pid") or 0
        pgid = whole("pgid") or pid
        workers = whole("workers") or 1
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    if pgid != pid:
        return None  # every job leads its own group: anything else is not an entry this code wrote
    return Job(name, None, runs_dir, run_dir, None, None, min(workers, 4096), str(entry.get("label") or "?")[:40],
               created=created, kind=kind, probe_dir=probe_dir, pgid=pgid, worker_pids=pids, pid=pid,
               pid_start=whole("pid_start"), owner_hash=owner_hash, host=str(entry.get("host") or ""),
               entry=entry)  # fmt: skip


def _release_claim(run_dir: Path) -> None:
    """Give a claimed run name back when its process ended without making the run (the folder is still empty)."""
    try:
        run_dir.rmdir()  # only an empty folder: a run that wrote anything keeps it
    except OSError:
        pass


def _remove_tree(folder: Path | None) -> None:
    if folder is None:
        return
    try:
        for p in folder.iterdir():
            p.unlink()
        folder.rmdir()
    except OSError:
        pass


def exit_message(code: int | None) -> Message:
    """A plain sentence for a process that ended without an ``error:`` line."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "?"
        return msg("the process was ended by signal {signal} ({number})", signal=name, number=-code)
    return msg("the process ended with exit status {code}", code=code)


class JobManager:
    """Starts training runs and probes as processes under one cap.

    ``max_jobs`` processes at once (runs and probes together), of which at most ``max_runs`` training
    runs, and at most ``max_per_owner`` for one owner (a browser), so one browser never takes every slot.

    Example:
        >>> jm = JobManager(max_jobs=1)
        >>> job = jm.start(TrainConfig(dataset="synthetic", max_batches=3), runs_dir=tmp, owner="me")  # doctest: +SKIP
        >>> jm.start(TrainConfig(dataset="synthetic"), runs_dir=tmp)  # doctest: +SKIP
        Traceback (most recent call last):
        LossvizInputError: a training run is already in progress ...
    """

    def __init__(
        self,
        max_jobs: int | None = None,
        *,
        max_runs: int | None = None,
        max_per_owner: int | None = None,
        probe_grace_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        ledger: lv_ledger.Ledger | str | os.PathLike[str] | bool | None = None,
        detached: bool | None = None,
    ) -> None:
        self.max_jobs = max(1, max_jobs if max_jobs is not None else default_max_jobs())
        # A total given (argument) without the runs' share: runs may use all of it, as before probes.
        runs = (
            max_runs
            if max_runs is not None
            else (self.max_jobs if max_jobs is not None else default_max_runs())
        )
        self.max_runs = max(1, min(self.max_jobs, runs))
        self.max_per_owner = max(
            1, max_per_owner if max_per_owner is not None else default_max_per_owner(self.max_jobs)
        )
        self.probe_grace_s = probe_grace_s if probe_grace_s is not None else default_probe_grace_s()
        #: training runs outlive this manager's process (other replicas reach them through the ledger)
        self.detached = detached_runs() if detached is None else detached
        self._clock = clock
        if ledger is False:
            self.ledger: lv_ledger.Ledger | None = None
        elif isinstance(ledger, lv_ledger.Ledger):
            self.ledger = ledger
        else:
            folder = lv_ledger.default_ledger_dir() if ledger in (None, True) else Path(ledger)  # type: ignore[arg-type]
            self.ledger = lv_ledger.Ledger(folder)
        self._refreshed = 0.0
        self._seen: dict[str, dict[str, float]] = {}  # job name -> {session id: last heartbeat}
        self._watchdog: threading.Thread | None = None
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._download = threading.Lock()
        # The kernel's parent-death signal follows the *thread* that forked the child, and Streamlit
        # runs each script in a thread that ends with the rerun: start processes from one thread
        # that lives as long as the manager.
        self._launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lossviz-launcher")
        _MANAGERS.add(self)

    # ------------------------------------------------------------------ the cap

    def _live(self) -> list[Job]:
        """Live jobs of this replica and of every other replica in the ledger (lock held)."""
        self._tidy()
        return [j for j in self._jobs.values() if j.active] + [j for j in self._remote() if j.active]

    def _tidy(self) -> None:
        """Release the claimed names of runs whose process ended before making the run folder; cancel
        the probes nobody watches any more; tell the ledger which of this replica's jobs ended and that
        the others still run (lock held)."""
        self._reap_unwatched()
        now = time.time()
        refresh = now - self._refreshed > lv_ledger.REFRESH_S
        for job in self._jobs.values():
            active = job.active
            if not job.is_probe and not job.claim_released and not active:
                job.claim_released = True
                _release_claim(job.run_dir)
            if not active and not job.ledger_done:
                job.ledger_done = True
                note = job.note
                self._ledger_do("update", job.name, ended=now, status=job.status, note=str(note),
                                note_i18n=lv_runs.message_json(note) if note else None)  # fmt: skip
            elif active and refresh:
                self._ledger_do("update", job.name, updated=now)
        if refresh:
            self._refreshed = now

    # ------------------------------------------------------------------ the ledger (other replicas)

    def _ledger_do(self, what: str, *args: Any, **kwargs: Any) -> Any:
        """A ledger call that never stops this replica: an unwritable data folder leaves each replica
        with its own cap (lock held)."""
        if self.ledger is None:
            return None
        try:
            return getattr(self.ledger, what)(*args, **kwargs)
        except OSError:
            return None

    def _remote(self) -> list[Job]:
        """The jobs other replicas recorded in the ledger (live or recently ended)."""
        entries = self._ledger_do("entries") or []
        mine = self.ledger.replica if self.ledger is not None else None
        jobs = []
        for entry in entries:
            if entry.get("replica") == mine or entry.get("name") in self._jobs:
                continue
            job = _job_from_entry(entry)
            if job is not None:
                jobs.append(job)
        return jobs

    @contextmanager
    def _admission(self) -> Iterator[None]:
        """Serialise check-and-reserve with every replica (the ledger's lock directory)."""
        if self.ledger is None:
            yield
            return
        try:
            held = self.ledger.admission()
            held.__enter__()
        except OSError:
            yield  # no ledger folder to lock (read-only data folder): this replica's cap still holds
            return
        try:
            yield
        finally:
            held.__exit__(None, None, None)

    def _reserve(self, name: str, kind: str, owner: str | None, run_dir: Path, **extra: Any) -> None:
        """Record a job that is about to start, inside the admission lock, so the next admission counts it."""
        if self.ledger is None:
            return
        now = time.time()
        entry = {"name": name, "kind": kind, "owner_hash": lv_ledger.owner_hash(owner), "pid": None,
                 "pgid": None, "pid_start": None, "host": lv_ledger.HOST, "replica": self.ledger.replica,
                 "started": now, "updated": now, "run_dir": str(run_dir), **extra}  # fmt: skip
        self._ledger_do("write", entry)

    def _record(self, job: Job) -> None:
        """The started job's process in its ledger entry."""
        if self.ledger is None:
            return
        entry = {"name": job.name, "kind": job.kind, "owner_hash": job.owner_hash, "pid": job.pid,
                 "pgid": job.pgid, "pid_start": job.pid_start, "host": job.host, "replica": self.ledger.replica,
                 "started": job.created, "updated": time.time(), "run_dir": str(job.run_dir),
                 "runs_dir": str(job.runs_dir), "probe_dir": str(job.probe_dir) if job.probe_dir else None,
                 "workers": job.workers, "label": job.label,
                 "worker_pids": str(job.worker_pids) if job.worker_pids else None}  # fmt: skip
        self._ledger_do("write", entry)

    def _admit(self, kind: str, owner: str | None) -> None:
        """Raise LossvizInputError when one more job of ``kind`` for ``owner`` would pass a cap (lock held)."""
        live = sorted(self._live(), key=lambda j: j.created)
        runs = [j for j in live if not j.is_probe]
        if kind == TRAIN and len(runs) >= self.max_runs:
            text = (
                N_(
                    "a training run is already in progress ({name}); this machine trains one run at a time. "
                    "Watch it below, or stop it before starting another."
                )
                if self.max_runs == 1
                else N_(
                    "a training run is already in progress ({name}); this machine trains {n} runs at a time. "
                    "Watch it below, or stop it before starting another."
                )
            )
            raise LossvizInputError(Message(text, {"name": runs[0].title, "n": self.max_runs}))
        mine = [j for j in live if j.can_control(owner)]
        if len(mine) >= self.max_per_owner:
            text = (
                N_(
                    "this browser already runs {names}; one browser may run one job at a time here: wait for it "
                    "to end or cancel it"
                )  # fmt: skip
                if self.max_per_owner == 1
                else N_(
                    "this browser already runs {names}; one browser may run {n} jobs at a time here: wait "
                    "for one to end or cancel it"
                )  # fmt: skip
            )
            names = ", ".join(j.title for j in mine)
            raise LossvizInputError(Message(text, {"names": names, "n": self.max_per_owner}))
        if len(live) >= self.max_jobs:
            names = ", ".join(j.title for j in live)
            raise LossvizInputError(
                msg(
                    "the server is busy: {names} use all {n} of its job slots (training runs and probes "
                    "together). Try again when one ends.",
                    names=names,
                    n=self.max_jobs,
                )
            )

    def _popen(
        self, command: list[str], failure: str, extra_env: dict[str, str] | None = None, *, detached: bool = False
    ) -> tuple[subprocess.Popen[bytes], IO[bytes], Path]:
        """Start ``command`` in a process group of its own that ends with this server, or outlives it when
        ``detached`` (lock held)."""
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 - read when the process ends
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
        error_file = Path(tempfile.gettempdir()) / f"lossviz-error-{os.getpid()}-{uuid.uuid4().hex}.json"
        env[lv_runs.ERROR_FILE_ENV] = str(error_file)
        try:
            process = self._launcher.submit(
                subprocess.Popen,
                with_parent_watch(command, stop_with_parent=not detached),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                env=env,
                start_new_session=True,  # its own process group: Stop reaches every worker
            ).result()
        except OSError as exc:
            stderr.close()
            raise LossvizInputError(Message(failure, {"why": exc.strerror or str(exc)})) from exc
        return process, stderr, error_file

    # ------------------------------------------------------------------ training runs

    def start(
        self,
        config: TrainConfig,
        *,
        runs_dir: str | os.PathLike[str] | None = None,
        name: str | None = None,
        owner: str | None = None,
        workers: int = 1,
    ) -> Job:
        """Check the input, then start the training process and return at once (the process loads
        the data); LossvizInputError if the cap is reached, the input is bad or the folder unwritable."""
        config = config.validated()
        limit = max_workers()
        if not isinstance(workers, int) or not 1 <= workers <= limit:
            raise LossvizInputError(
                msg(
                    "workers={n!r} is out of range: give a whole number from 1 to {limit}",
                    n=workers,
                    limit=limit,
                )
            )
        check_workers(config.batch_size, workers)
        if config.dataset == "cifar10" and cifar10_status(config.data_dir) != "present":
            raise LossvizInputError(
                msg(
                    "CIFAR-10 is not in the data folder (expected cifar-10-batches-py/): download it, or train on the "
                    "synthetic set"
                )
            )
        root = Path(runs_dir) if runs_dir is not None else lv_runs.default_runs_dir()
        with self._lock:
            with self._admission():
                self._admit(TRAIN, owner)
                run_name = self._claim_name(root, config, name)
                self._reserve(run_name, TRAIN, owner, root.resolve() / run_name, runs_dir=str(root.resolve()))
            pids = Path(tempfile.mkdtemp(prefix="lossviz-workers-")) if workers > 1 else None
            try:
                process, stderr, error_file = self._popen(
                    train_command(config, root.resolve(), run_name, workers),
                    N_("could not start the training process: {why}"),
                    {procs.WORKER_PIDS_ENV: str(pids)} if pids else None,
                    detached=self.detached and self.ledger is not None,  # reachable only through the ledger
                )
            except LossvizInputError:
                _remove_tree(pids)
                _release_claim(root / run_name)
                self._ledger_do("remove", run_name)
                raise
            label = DATASET_TAGS.get(resolved_kind(config.dataset, config.data_dir, config.download), "CIFAR-10")
            job = Job(run_name, owner, root, root.resolve() / run_name, process, stderr, workers, label,
                      error_file=error_file, worker_pids=pids)  # fmt: skip
            self._jobs[run_name] = job
            self._record(job)
            self._forget_old()
            self._start_watchdog()
            return job

    @staticmethod
    def _claim_name(root: Path, config: TrainConfig, name: str | None) -> str:
        """Claim the run's folder (the user's name, cleaned, or a dated default made unique) with
        ``os.mkdir``, atomic on every file system (NFS too), BEFORE the process starts: of two starts with
        the same name only one gets it, whichever server process they come through. The trainer then
        renames its complete run folder onto the empty one claimed for it."""
        try:
            root.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".probe-", dir=root)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise LossvizInputError(lv_runs.write_failure_message(exc)) from exc
        if name:
            chosen = lv_runs.clean_run_name(name)
            candidates = [chosen]
        else:
            label = resolved_kind(config.dataset, config.data_dir, config.download)
            chosen = lv_runs.auto_run_name({**config.to_dict(), "dataset_label": label})
            candidates = [chosen] + [f"{chosen}-{n}" for n in range(2, 1000)]
        for candidate in candidates:
            try:
                os.mkdir(root / candidate)
            except FileExistsError:
                continue
            except OSError as exc:
                raise LossvizInputError(lv_runs.write_failure_message(exc)) from exc
            return candidate
        if name:
            raise LossvizInputError(
                msg("a run named {name!r} already exists: choose another name", name=chosen)
            )
        raise LossvizInputError(msg("too many runs named {name!r}: choose another name", name=chosen))

    # ------------------------------------------------------------------ probes

    def start_probe(
        self,
        argv: list[str],
        *,
        run_dir: str | os.PathLike[str],
        probe_dir: str | os.PathLike[str],
        owner: str | None,
        kind: str = "landscape",
    ) -> Job:
        """Start ``python -m lossviz <argv>`` as a probe of ``run_dir`` writing into ``probe_dir`` and return
        at once. A live probe of the same ``probe_dir`` is returned instead of starting another (a second
        viewer attaches to it). LossvizInputError when a cap is reached or the process cannot start."""
        if not isinstance(kind, str) or kind == TRAIN or not _KIND_RE.match(kind):
            raise ValueError(f"probe kind {kind!r} must be a short lowercase word other than {TRAIN!r}")
        if (
            not isinstance(argv, list | tuple)
            or not argv
            or not all(isinstance(a, str) and "\0" not in a for a in argv)
        ):
            raise ValueError("argv must be a non-empty list of strings without NUL bytes")
        run_path, probe_path = Path(run_dir).resolve(), Path(probe_dir).resolve()
        with self._lock:
            name = f"{kind}:{run_path.name}:{uuid.uuid4().hex[:8]}"
            with self._admission():
                existing = self._probe_for(probe_path)
                if existing is not None:
                    return existing
                self._admit(kind, owner)
                self._reserve(name, kind, owner, run_path, probe_dir=str(probe_path))
            try:
                process, stderr, error_file = self._popen(
                    [*PROBE_PREFIX, *argv], N_("could not start the probe process: {why}")
                )
            except LossvizInputError:
                self._ledger_do("remove", name)
                raise
            job = Job(name, owner, run_path.parent, run_path, process, stderr, label=kind, error_file=error_file,
                      kind=kind, probe_dir=probe_path)  # fmt: skip
            self._jobs[name] = job
            self._record(job)
            self._seen[name] = {f"owner:{owner}": self._clock()}  # the tab that started it watches it
            self._forget_old()
            self._start_watchdog()
            return job

    def _probe_for(self, probe_path: Path, finished: bool = False) -> Job | None:
        every = [*self._jobs.values(), *self._remote()]
        probes = sorted(
            (j for j in every if j.is_probe and j.probe_dir == probe_path),
            key=lambda j: j.created,
            reverse=True,
        )
        live = [j for j in probes if j.active]
        return (live or (probes if finished else []) or [None])[0]

    def probe_for(self, probe_dir: str | os.PathLike[str], *, finished: bool = False) -> Job | None:
        """The live probe writing into ``probe_dir`` (None if none); with ``finished=True`` the newest one
        even when it has ended (to show that it failed or was cancelled)."""
        with self._lock:
            return self._probe_for(Path(probe_dir).resolve(), finished)

    def probes(self, run_dir: str | os.PathLike[str] | None = None) -> list[Job]:
        """Known probes (of ``run_dir`` if given), newest first."""
        jobs = self.jobs(kind=None)
        root = Path(run_dir).resolve() if run_dir is not None else None
        return [j for j in jobs if j.is_probe and (root is None or j.run_dir == root)]

    # ------------------------------------------------------------------ who watches a probe

    def heartbeat(self, job_name: str | None, session_id: str | None) -> bool:
        """Tab ``session_id`` still shows job ``job_name`` (the page calls this on every poll). A probe
        that no tab has reported for ``probe_grace_s`` is cancelled; a training run is never cancelled
        for lack of watchers (a run is meant to outlive its tab). True when the job is known and live."""
        if not job_name or not isinstance(session_id, str) or not session_id:
            return False
        with self._lock:
            job = self._jobs.get(job_name)
            if job is None:  # another replica's job: leave the heartbeat where its replica looks
                job = self._get_remote(job_name)
                if job is None or not job.active:
                    return False
                self._ledger_do("touch_seen", job_name, session_id[:200])
                return True
            if not job.active:
                return False
            self._seen.setdefault(job_name, {})[session_id[:200]] = self._clock()
            return True

    def watchers(self, job_name: str) -> int:
        """How many tabs reported job ``job_name`` within the grace period."""
        with self._lock:
            now = self._clock()
            return sum(1 for t in self._seen.get(job_name, {}).values() if now - t <= self.probe_grace_s)

    def reap_unwatched(self) -> list[Job]:
        """Cancel every live probe no tab has reported for ``probe_grace_s``; returns them."""
        with self._lock:
            return self._reap_unwatched()

    def _reap_unwatched(self) -> list[Job]:
        now, reaped = self._clock(), []
        for job in self._jobs.values():
            if not job.is_probe or not job.active or job.stop_requested:
                continue
            seen = self._seen.get(job.name) or {}
            if not seen or now - max(seen.values()) > self.probe_grace_s:
                elsewhere = self._ledger_do("last_seen", job.name)  # tabs served by other replicas
                if elsewhere is not None and time.time() - elsewhere <= self.probe_grace_s:
                    continue
                job.cancel()
                reaped.append(job)
        for name in [n for n in self._seen if n not in self._jobs or not self._jobs[n].active]:
            del self._seen[name]
        return reaped

    def _start_watchdog(self) -> None:
        """A small thread that checks the heartbeats while probes run (when every tab is closed nobody
        else calls the manager); it ends when no probe is left (lock held)."""
        if self._watchdog is not None and self._watchdog.is_alive():
            return
        ref = weakref.ref(self)
        period = max(0.05, min(5.0, self.probe_grace_s / 3))

        def watch() -> None:
            while True:
                time.sleep(period)
                manager = ref()
                if manager is None:
                    return
                with manager._lock:
                    manager._tidy()
                    keep = [j for j in manager._jobs.values() if j.active and (j.is_probe or manager.ledger)]
                    if not keep:
                        manager._watchdog = None
                        return
                del manager

        self._watchdog = threading.Thread(target=watch, name="lossviz-probe-watchdog", daemon=True)
        self._watchdog.start()

    # ------------------------------------------------------------------ lists and control

    def _get_remote(self, name: str) -> Job | None:
        return next((j for j in self._remote() if j.name == name), None)

    def _forget_old(self) -> None:
        for probes in (False, True):
            finished = sorted(
                (j for j in self._jobs.values() if j.is_probe == probes and not j.active),
                key=lambda j: j.created,
            )
            for job in finished[:-KEEP_FINISHED] if len(finished) > KEEP_FINISHED else []:
                self._jobs.pop(job.name, None)
                job.stderr.close()
                if job.error_file is not None:
                    job.error_file.unlink(missing_ok=True)
                _remove_tree(job.worker_pids)

    def jobs(self, kind: str | None = TRAIN) -> list[Job]:
        """Known jobs, newest first: training runs (the default), probes of ``kind``, or all (``kind=None``)."""
        with self._lock:
            self._tidy()
            every = [*self._jobs.values(), *self._remote()]
            jobs = [j for j in every if kind is None or j.kind == kind]
        return sorted(jobs, key=lambda j: j.created, reverse=True)

    def active_jobs(self, kind: str | None = TRAIN) -> list[Job]:
        return [j for j in self.jobs(kind) if j.active]

    def get(self, name: str | None) -> Job | None:
        """The run or probe called ``name`` (probe names have a ``:``, which no run name has)."""
        if not name:
            return None
        with self._lock:
            return self._jobs.get(name) or self._get_remote(name)

    def latest(self, runs_dir: str | os.PathLike[str] | None = None) -> Job | None:
        """The newest training job (active ones first), optionally only those writing into ``runs_dir``."""
        jobs = self.jobs()
        if runs_dir is not None:
            root = Path(runs_dir).resolve()
            jobs = [j for j in jobs if j.runs_dir.resolve() == root]
        active = [j for j in jobs if j.active]
        return (active or jobs or [None])[0]

    def may_control(self, owner: str | None) -> bool:
        """Whether ``owner`` holds training control: nothing is training, or its own run is."""
        active = self.active_jobs()
        return owner is not None and all(j.can_control(owner) for j in active)

    def download(self, owner: str | None, fetch: Any) -> Any:
        """Run ``fetch()`` (a data download) for the browser holding training control, one at a time."""
        if not self.may_control(owner):
            raise LossvizInputError(
                msg(
                    "only the browser that controls training may download data: wait until the current run ends"
                )
            )
        if not self._download.acquire(blocking=False):
            raise LossvizInputError(msg("a download is already running: wait for it to finish"))
        try:
            return fetch()
        finally:
            self._download.release()

    def run_rows(self, runs_dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
        """The run table: every run on disk; steps come from metrics.jsonl, and the status of a
        process this server started is checked against the process itself."""
        rows = []
        known = {j.name: j for j in self.jobs()}
        for info in lv_runs.list_runs(runs_dir):
            row = info.row()
            job = known.get(info.name)
            if job is not None:
                row["status"] = job.status
            rows.append(row)
        return rows

    def stop_all(self, timeout: float | None = 10.0) -> None:
        """Stop every run and cancel every probe, and wait; kill what is still alive after ``timeout``."""
        jobs = [j for j in self.active_jobs(kind=None) if not j.remote]  # this replica's own
        for job in jobs:
            job.stop()
        for job in jobs:
            if not job.wait(timeout):
                job.kill()
                job.wait(5)


def stop_orphans(ledger: str | os.PathLike[str] | None = None, timeout: float = 30.0) -> list[str]:
    """Stop every live job of this host in the ledger folder whose replica has died (detached runs that
    trained on after their server was killed): what the classroom does once all its replicas are down.
    Another host's jobs are its own classroom's (their replicas cannot be checked from here). Returns
    their names."""
    manager = JobManager(ledger=ledger if ledger is not None else lv_ledger.default_ledger_dir(), detached=False)
    orphans = [j for j in manager.active_jobs(kind=None)
               if j.host == lv_ledger.HOST and not lv_ledger.replica_alive((j.entry or {}).get("replica"))]
    for job in orphans:
        job.stop()
    end = time.monotonic() + timeout
    for job in orphans:
        if not job.wait(max(0.0, end - time.monotonic())):
            job.kill()
    return [j.name for j in orphans]


def stop_all_managers(timeout: float | None = 10.0) -> None:
    """Stop every job of every manager in this process (tests; and at exit, so runs end as "stopped")."""
    for manager in list(_MANAGERS):
        manager.stop_all(timeout)


atexit.register(stop_all_managers, 5.0)
