"""A process-wide manager for training jobs (pure Python; the page keeps one in ``st.cache_resource``).

It caps how many runs train at once (one on a CPU-only machine), remembers recent jobs so a
reloaded page can reattach, and records which browser session started each job so that other
sessions watch it read-only.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from lossviz.errors import LossvizInputError
from lossviz.training.trainer import TrainConfig, Trainer

KEEP_FINISHED = 8
_MANAGERS: weakref.WeakSet[JobManager] = weakref.WeakSet()


def default_max_jobs() -> int:
    """1 on a CPU-only machine (two runs would just halve each other's speed); one per GPU otherwise."""
    env = os.environ.get("LOSSVIZ_MAX_JOBS")
    if env and env.isdigit() and int(env) > 0:
        return int(env)
    if torch.cuda.is_available():
        return max(1, torch.cuda.device_count())
    return 1


@dataclass
class Job:
    """One training run owned by this process."""

    trainer: Trainer
    owner: str | None
    runs_dir: Path
    created: float = field(default_factory=time.time)

    @property
    def name(self) -> str:
        return self.trainer.run_name

    @property
    def status(self) -> str:
        return self.trainer.status

    @property
    def active(self) -> bool:
        """Training or paused (not yet finished, stopped, diverged or failed)."""
        return not self.trainer.done

    def can_control(self, owner: str | None) -> bool:
        """Only the session that started a job may pause or stop it; everybody may watch."""
        return owner is not None and owner == self.owner


class JobManager:
    """Starts trainers in background threads, at most ``max_jobs`` at a time.

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
        _MANAGERS.add(self)

    def start(
        self,
        config: TrainConfig,
        *,
        runs_dir: str | os.PathLike[str] | None = None,
        name: str | None = None,
        owner: str | None = None,
    ) -> Job:
        """Create the run and start training; LossvizInputError if the cap is reached or the input is bad."""
        with self._lock:
            active = [j for j in self._jobs.values() if j.active]
            if len(active) >= self.max_jobs:
                running = active[0]
                raise LossvizInputError(
                    f"a training run is already in progress ({running.name}, step {running.trainer.step} of "
                    f"{running.trainer.total_steps}); this machine trains {self.max_jobs} run{'' if self.max_jobs == 1 else 's'} at a time. "
                    "Watch it below, or stop it before starting another."
                )
            from lossviz.training.runs import default_runs_dir

            root = Path(runs_dir) if runs_dir is not None else default_runs_dir()
            trainer = Trainer(config, runs_dir=root, run_name=name)
            job = Job(trainer, owner, root)
            self._jobs[trainer.run_name] = job
            self._forget_old()
            trainer.start()
            return job

    def _forget_old(self) -> None:
        finished = sorted((j for j in self._jobs.values() if not j.active), key=lambda j: j.created)
        for job in finished[:-KEEP_FINISHED] if len(finished) > KEEP_FINISHED else []:
            self._jobs.pop(job.name, None)

    def jobs(self) -> list[Job]:
        """Known jobs, newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    def active_jobs(self) -> list[Job]:
        return [j for j in self.jobs() if j.active]

    def get(self, name: str) -> Job | None:
        with self._lock:
            return self._jobs.get(name)

    def latest(self, runs_dir: str | os.PathLike[str] | None = None) -> Job | None:
        """The newest job (active ones first), optionally only those writing into ``runs_dir``."""
        jobs = self.jobs()
        if runs_dir is not None:
            root = Path(runs_dir).resolve()
            jobs = [j for j in jobs if j.runs_dir.resolve() == root]
        active = [j for j in jobs if j.active]
        return (active or jobs or [None])[0]

    def run_rows(self, runs_dir: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
        """The run table: every run on disk, with live figures for the runs this process is training.

        A run's summary.json is refreshed only every few seconds while it trains; for our own jobs
        the trainer's step, status and last loss are current, so the table does not lag the charts.
        """
        from lossviz.training.runs import list_runs

        rows = []
        for info in list_runs(runs_dir):
            row = info.row()
            job = self.get(info.name)
            if job is not None and job.active:
                t = job.trainer
                row["steps"] = t.step
                row["status"] = "paused" if t.paused else t.status
                loss = (t.last_record or {}).get("loss")
                if loss is not None:
                    row["last loss"] = loss
            rows.append(row)
        return rows

    def stop_all(self, timeout: float | None = 10.0) -> None:
        """Stop every job and wait for the threads (used by tests and at shutdown)."""
        for job in self.jobs():
            job.trainer.stop()
            job.trainer.resume()
        for job in self.jobs():
            job.trainer.join(timeout)


def stop_all_managers(timeout: float | None = 10.0) -> None:
    """Stop every job of every manager in this process (tests; and at exit, so runs end as "stopped")."""
    for manager in list(_MANAGERS):
        manager.stop_all(timeout)


atexit.register(stop_all_managers, 5.0)
