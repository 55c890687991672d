"""Small process facts the job manager and its workers share (Linux ``/proc``; elsewhere a best effort).

- :func:`process_start` / :func:`pid_alive`: a pid together with its start time names one process,
  even after the pid number is reused.
- :func:`guard_torchrun_worker`: a torchrun worker (its own session: torchrun starts each worker with
  ``start_new_session``) asks for SIGTERM when its agent dies, and leaves its pid where the job
  manager can signal it even when the agent is gone (issue 20 D4).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

#: Set by the job manager: a folder where each torchrun worker of a run leaves ``<pid>.<start>``.
WORKER_PIDS_ENV = "LOSSVIZ_WORKER_PIDS"
#: Set by the job manager's launcher: the pid of the process it started (torchrun's agent).
AGENT_PID_ENV = "LOSSVIZ_AGENT_PID"
_PR_SET_PDEATHSIG = 1


def process_start(pid: int) -> int | None:
    """The start time of process ``pid`` in clock ticks since boot (``/proc/<pid>/stat`` field 22),
    or None when there is no such process (or no /proc)."""
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return None
    try:
        return int(fields[19])  # field 22 of the whole line; fields[0] is field 3 (the state)
    except (IndexError, ValueError):
        return None


def _state(pid: int) -> bytes | None:
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0]
    except (OSError, ValueError, IndexError):
        return None


def pid_alive(pid: object, start: object = None) -> bool:
    """Process ``pid`` runs (a zombie has ended), and when ``start`` is given it is the same process that
    started then (not a later one that got the number)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if not sys.platform.startswith("linux"):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except OSError:
            return True
        return True
    state = _state(pid)
    if state is None or state in (b"Z", b"X"):
        return False
    return start is None or process_start(pid) == start


def has_env(pid: int, name: str) -> bool:
    """Process ``pid`` was started with environment variable ``name`` (``/proc/<pid>/environ``): how the
    job manager tells its own processes from others before it signals a pid it read from a file."""
    try:
        with open(f"/proc/{int(pid)}/environ", "rb") as f:
            data = f.read(1 << 20)
    except (OSError, ValueError):
        return not sys.platform.startswith("linux")  # no /proc to ask: trust the start time alone
    return any(item.startswith(name.encode() + b"=") for item in data.split(b"\0"))


#: Every process the job manager starts carries this variable (runs.ERROR_FILE_ENV); so do its workers.
JOB_MARKER_ENV = "LOSSVIZ_ERROR_FILE"


def torchrun_worker() -> bool:
    """This process is a worker that torchrun started."""
    return "TORCHELASTIC_RUN_ID" in os.environ or "LOCAL_RANK" in os.environ


def die_with_parent(sig: int = signal.SIGTERM, parent: int | None = None) -> bool:
    """Ask the kernel for ``sig`` when the parent process ends (Linux ``PR_SET_PDEATHSIG``); if the
    parent has already ended (``getppid()`` is not ``parent``, or changed meanwhile), exit at once.
    True when armed."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    parent = parent or os.getppid()
    try:
        armed = ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
    if parent == 1 or os.getppid() != parent:
        raise SystemExit(1)  # the agent died before the guard was armed: nobody would stop this worker
    return armed


def guard_torchrun_worker() -> None:
    """Under torchrun: SIGTERM when the agent dies, and the pid left where the job manager looks."""
    if not torchrun_worker():
        return
    agent = os.environ.get(AGENT_PID_ENV, "")
    die_with_parent(signal.SIGTERM, int(agent) if agent.isdigit() else None)
    folder = os.environ.get(WORKER_PIDS_ENV)
    start = process_start(os.getpid())
    if folder and start is not None:
        try:
            (Path(folder) / f"{os.getpid()}.{start}").touch()
        except OSError:
            pass  # the parent-death signal still ends this worker with its agent


def worker_pids(folder: Path | None) -> list[tuple[int, int]]:
    """The ``(pid, start)`` pairs workers left in ``folder``."""
    pairs = []
    try:
        names = [p.name for p in Path(folder).iterdir()] if folder else []
    except OSError:
        return []
    for name in names:
        pid, _, start = name.partition(".")
        if pid.isdigit() and start.isdigit():
            pairs.append((int(pid), int(start)))
    return pairs


def signal_workers(folder: Path | None, sig: int) -> None:
    """Send ``sig`` to every worker recorded in ``folder`` that is still the same process."""
    for pid, start in worker_pids(folder):
        if pid_alive(pid, start) and has_env(pid, JOB_MARKER_ENV):
            try:
                os.kill(pid, sig)
            except OSError:
                pass
