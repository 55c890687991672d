"""A process-wide manager for training processes (pure Python; the page keeps one in ``st.cache_resource``).

Each run is its own process group: ``python -m lossviz train ...`` (or ``python -m
torch.distributed.run --standalone --nproc_per_node N -m lossviz train ...`` for several workers),
exactly what a terminal would run. The server never loads data or builds models for training: it
starts the process and follows its run directory. The manager caps how many runs train at once,
remembers the processes it started (so a reloaded page can reattach) and which browser started each
one, so that only that browser may pause, resume or stop it.

Control goes through the run directory's control.json (pause/resume/stop, read by the trainer
before each batch) plus SIGTERM to the whole process group on Stop; a group still alive
STOP_GRACE_S after Stop is killed. On Linux a run also gets SIGTERM when the server process dies
(``PR_SET_PDEATHSIG``), so it ends as "stopped" rather than training on out of everyone's reach.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from lossviz.errors import LossvizInputError
from lossviz.i18n import N_, Message, msg
from lossviz.training import runs as lv_runs
from lossviz.training.data import DATASET_LABELS, cifar10_status, resolved_kind
from lossviz.training.trainer import TrainConfig, check_workers

KEEP_FINISHED = 8
STOP_GRACE_S = 20.0
_MANAGERS: weakref.WeakSet[JobManager] = weakref.WeakSet()
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


def _cuda_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def default_max_jobs() -> int:
    """1 on a CPU-only machine (two runs would just halve each other's speed); one per GPU otherwise."""
    env = os.environ.get("LOSSVIZ_MAX_JOBS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, _cuda_count())


def max_workers() -> int:
    """Workers one run may use: the number of GPUs, or half the CPU cores (``LOSSVIZ_MAX_WORKERS`` overrides)."""
    env = os.environ.get("LOSSVIZ_MAX_WORKERS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    return _cuda_count() or max(1, (os.cpu_count() or 1) // 2)


#: Run before the training command on Linux: ask the kernel to send SIGTERM when the server dies
#: (kept across exec, so it covers torchrun too), then exec the real command. A run then ends as
#: "stopped" with its server instead of training on with nobody able to stop it.
_STOP_WITH_PARENT = (
    "import ctypes, os, sys; ctypes.CDLL(None, use_errno=True).prctl(1, 15, 0, 0, 0); "
    "os.getppid() == int(sys.argv[1]) or sys.exit(1); os.execv(sys.argv[2], sys.argv[2:])"
)


def with_parent_watch(command: list[str], parent: int | None = None) -> list[str]:
    """``command`` wrapped so that it gets SIGTERM when process ``parent`` (default: this one) ends (Linux)."""
    if not sys.platform.startswith("linux"):
        return command
    return [sys.executable, "-S", "-c", _STOP_WITH_PARENT, str(parent or os.getpid()), *command]


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
    """One training process group started by this server."""

    name: str
    owner: str | None
    runs_dir: Path
    run_dir: Path
    process: subprocess.Popen[bytes]
    stderr: IO[bytes]
    workers: int = 1
    label: str = "?"
    created: float = field(default_factory=time.time)
    stop_requested: bool = False
    error_file: Path | None = None  #: where the process leaves an error as message data (runs.record_error)

    @property
    def active(self) -> bool:
        """The process (group leader) is still running."""
        return self.process.poll() is None

    def summary(self) -> dict[str, Any] | None:
        return lv_runs.read_json(self.run_dir / lv_runs.SUMMARY_FILE)

    @property
    def status(self) -> str:
        """ "starting" until the run directory exists; then its summary's status. A dead process whose
        summary still says running or paused is "interrupted"; one that died before writing any is "failed"."""
        summary = self.summary()
        alive = self.active
        if summary is None:
            return "starting" if alive else "failed"
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
        line (English: the process's own output) when it wrote none."""
        text = lv_runs.summary_message(self.summary())
        if text or self.active:
            return text
        try:
            self.stderr.seek(0)
            lines = self.stderr.read().decode("utf-8", errors="replace").splitlines()
        except (OSError, ValueError):
            return ""
        errors = [ln[len("error: ") :] for ln in lines if ln.startswith("error: ")]
        recorded = lv_runs.summary_message(lv_runs.read_json(self.error_file)) if self.error_file else ""
        if recorded and (not errors or str(recorded) == errors[-1]):
            return recorded
        return errors[-1] if errors else ""

    def can_control(self, owner: str | None) -> bool:
        """Only the session that started a job may pause or stop it; everybody may watch."""
        return owner is not None and owner == self.owner

    def _control(self, state: str) -> None:
        if self.run_dir.is_dir():
            try:
                lv_runs.write_control(self.run_dir, state)
            except OSError:
                pass  # a full or read-only disk: the trainer fails on its own; Stop still signals

    def pause(self) -> None:
        self._control("pause")

    def resume(self) -> None:
        self._control("run")

    def stop(self) -> None:
        """Ask the run to stop after the current batch: control.json, then SIGTERM to the whole group."""
        self.stop_requested = True
        self._control("stop")
        self._signal(signal.SIGTERM)
        timer = threading.Timer(STOP_GRACE_S, self.kill)
        timer.daemon = True
        timer.start()

    def _signal(self, sig: int) -> None:
        if self.active:
            try:
                os.killpg(self.process.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass

    def kill(self) -> None:
        """End the process group at once (SIGKILL)."""
        self._signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the process; True when it has ended."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            return False
        return True


class JobManager:
    """Starts training processes, at most ``max_jobs`` at a time.

    Example:
        >>> jm = JobManager(max_jobs=1)
        >>> job = jm.start(TrainConfig(dataset="synthetic", max_batches=3), runs_dir=tmp, owner="me")  # doctest: +SKIP
        >>> jm.start(TrainConfig(dataset="synthetic"), runs_dir=tmp)  # doctest: +SKIP
        Traceback (most recent call last):
        LossvizInputError: a training run is already in progress ...
    """

    def __init__(self, max_jobs: int | None = None) -> None:
        self.max_jobs = max_jobs if max_jobs is not None else default_max_jobs()
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._download = threading.Lock()
        # The kernel's parent-death signal follows the *thread* that forked the child, and Streamlit
        # runs each script in a thread that ends with the rerun: start processes from one thread
        # that lives as long as the manager.
        self._launcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lossviz-launcher")
        _MANAGERS.add(self)

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
                msg("workers={n!r} is out of range: give a whole number from 1 to {limit}", n=workers, limit=limit)
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
            active = [j for j in self._jobs.values() if j.active]
            if len(active) >= self.max_jobs:
                running = active[0]
                text = (
                    N_(
                        "a training run is already in progress ({name}); this machine trains one run at a time. "
                        "Watch it below, or stop it before starting another."
                    )
                    if self.max_jobs == 1
                    else N_(
                        "a training run is already in progress ({name}); this machine trains {n} runs at a time. "
                        "Watch it below, or stop it before starting another."
                    )
                )
                raise LossvizInputError(Message(text, {"name": running.name, "n": self.max_jobs}))
            run_name = self._free_name(root, config, name)
            stderr = tempfile.TemporaryFile()  # noqa: SIM115 - read when the process ends
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH", "")) if p)
            error_file = Path(tempfile.gettempdir()) / f"lossviz-error-{os.getpid()}-{uuid.uuid4().hex}.json"
            env[lv_runs.ERROR_FILE_ENV] = str(error_file)
            try:
                process = self._launcher.submit(
                    subprocess.Popen,
                    with_parent_watch(train_command(config, root.resolve(), run_name, workers)),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stderr,
                    env=env,
                    start_new_session=True,  # its own process group: Stop reaches every worker
                ).result()
            except OSError as exc:
                stderr.close()
                raise LossvizInputError(
                    msg("could not start the training process: {why}", why=exc.strerror or str(exc))
                ) from exc
            label = DATASET_LABELS.get(resolved_kind(config.dataset, config.data_dir, config.download), "CIFAR-10")
            job = Job(run_name, owner, root, root.resolve() / run_name, process, stderr, workers, label,
                      error_file=error_file)  # fmt: skip
            self._jobs[run_name] = job
            self._forget_old()
            return job

    @staticmethod
    def _free_name(root: Path, config: TrainConfig, name: str | None) -> str:
        """The run's name (the user's, cleaned, or a dated default made unique); checks the folder is writable."""
        try:
            root.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".probe-", dir=root)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise LossvizInputError(lv_runs.write_failure_message(exc)) from exc
        if name:
            chosen = lv_runs.clean_run_name(name)
            if (root / chosen).exists():
                raise LossvizInputError(msg("a run named {name!r} already exists: choose another name", name=chosen))
            return chosen
        label = resolved_kind(config.dataset, config.data_dir, config.download)
        base = lv_runs.auto_run_name({**config.to_dict(), "dataset_label": label})
        for attempt in range(1, 1000):
            candidate = base if attempt == 1 else f"{base}-{attempt}"
            if not (root / candidate).exists():
                return candidate
        raise LossvizInputError(msg("too many runs named {name!r}: choose another name", name=base))

    def _forget_old(self) -> None:
        finished = sorted((j for j in self._jobs.values() if not j.active), key=lambda j: j.created)
        for job in finished[:-KEEP_FINISHED] if len(finished) > KEEP_FINISHED else []:
            self._jobs.pop(job.name, None)
            job.stderr.close()
            if job.error_file is not None:
                job.error_file.unlink(missing_ok=True)

    def jobs(self) -> list[Job]:
        """Known jobs, newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    def active_jobs(self) -> list[Job]:
        return [j for j in self.jobs() if j.active]

    def get(self, name: str | None) -> Job | None:
        with self._lock:
            return self._jobs.get(name) if name else None

    def latest(self, runs_dir: str | os.PathLike[str] | None = None) -> Job | None:
        """The newest job (active ones first), optionally only those writing into ``runs_dir``."""
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
                msg("only the browser that controls training may download data: wait until the current run ends")
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
        for info in lv_runs.list_runs(runs_dir):
            row = info.row()
            job = self.get(info.name)
            if job is not None:
                row["status"] = job.status
            rows.append(row)
        return rows

    def stop_all(self, timeout: float | None = 10.0) -> None:
        """Stop every job and wait for it; kill what is still alive after ``timeout`` (tests, shutdown)."""
        jobs = self.active_jobs()
        for job in jobs:
            job.stop()
        for job in jobs:
            if not job.wait(timeout):
                job.kill()
                job.wait(5)


def stop_all_managers(timeout: float | None = 10.0) -> None:
    """Stop every job of every manager in this process (tests; and at exit, so runs end as "stopped")."""
    for manager in list(_MANAGERS):
        manager.stop_all(timeout)


atexit.register(stop_all_managers, 5.0)
