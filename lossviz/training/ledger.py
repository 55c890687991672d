"""The job ledger: what every server process (replica) of one data folder knows about the others' jobs.

One small JSON file per job in ``<data>/jobs/ledger/`` (``$LOSSVIZ_LEDGER`` overrides), written
atomically (a ``.``-named temp file in the same folder, then ``os.replace``): a reader sees the
previous complete file or the new one, and a temp file a replica left when it was killed mid-write is
ignored (and removed once old). Admission (checking the cap, then reserving a slot) is serialised by a
lock that is a *directory* (``os.mkdir`` is atomic on local disks and NFS alike); a lock left by a
killed replica is broken after :data:`LOCK_STALE_S`. No ``fcntl``/``flock`` locks anywhere: they do not
hold across NFS clients. Contract: docs/CONTRACTS.md, "The job ledger".

An entry: ``name``, ``kind``, ``owner_hash`` (never the owner's token itself), ``pid``, ``pgid``,
``pid_start`` (the process's start time: a pid alone may be reused), ``host``, ``replica``, ``started``,
``updated``, ``run_dir``, ``runs_dir``, ``probe_dir``, ``workers``, ``label``, ``worker_pids``; a
reservation (made before the process starts) has ``pid`` null; an ended job has ``ended``, ``status``,
``note`` and is removed :data:`ENDED_KEEP_S` later.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lossviz.errors import LossvizInputError
from lossviz.i18n import msg
from lossviz.training import procs

HOST = socket.gethostname()
#: A lock directory older than this belongs to a replica that died holding it.
LOCK_STALE_S = 10.0
#: How long admission waits for another replica's lock before refusing.
LOCK_WAIT_S = 5.0
#: A reservation whose process never got recorded (its replica died while starting it) expires.
RESERVATION_S = 120.0
#: A job of another host counts while its replica refreshed its entry this recently.
REMOTE_STALE_S = 180.0
#: The owning replica refreshes ``updated`` of its live entries this often.
REFRESH_S = 30.0
#: An ended job stays listed (its status and note readable through every replica) this long.
ENDED_KEEP_S = 600.0
#: A temp file older than this is a torn write of a killed replica.
TORN_S = 60.0
#: Entries larger than this are not ledger entries (a file someone put there).
MAX_ENTRY_BYTES = 64 * 1024


def default_ledger_dir(env: Mapping[str, str] | None = None) -> Path:
    """``$LOSSVIZ_LEDGER``, else ``<data folder>/jobs/ledger`` (``$LOSSVIZ_DATA`` or ``./data``), read from
    ``env`` (default: this process's environment; the classroom passes its replicas')."""
    env = os.environ if env is None else env
    if env.get("LOSSVIZ_LEDGER"):
        return Path(env["LOSSVIZ_LEDGER"])
    return Path(env.get("LOSSVIZ_DATA") or "data") / "jobs" / "ledger"


def owner_hash(owner: str | None) -> str | None:
    """What the ledger keeps of an owner token: a hash, so reading the folder reveals no token."""
    if owner is None:
        return None
    return hashlib.sha256(f"lossviz-owner:{owner}".encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _file_id(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:24]


def new_replica_id() -> str:
    """``host:pid:start:random``: one per job manager (each manager is a replica of its own)."""
    return f"{HOST}:{os.getpid()}:{procs.process_start(os.getpid()) or 0}:{uuid.uuid4().hex[:8]}"


def replica_alive(replica: object) -> bool:
    """The server process behind a replica id still runs (on this host)."""
    parts = str(replica or "").rsplit(":", 3)
    if len(parts) != 4 or parts[0] != HOST or not parts[1].isdigit() or not parts[2].isdigit():
        return False
    return procs.pid_alive(int(parts[1]), int(parts[2]) or None)


class Ledger:
    """The ledger folder of one data folder, as one replica uses it."""

    def __init__(self, folder: str | os.PathLike[str], replica: str | None = None) -> None:
        self.folder = Path(folder)
        self.replica = replica or new_replica_id()

    # ------------------------------------------------------------------ files

    def path(self, name: str) -> Path:
        return self.folder / f"{_file_id(name)}.json"

    def write(self, entry: dict[str, Any]) -> None:
        """Write ``entry`` (keyed by its ``name``) atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.path(str(entry["name"]))
        fd, tmp = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(entry, f, allow_nan=False, default=str)
            os.replace(tmp, final)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise

    def update(self, name: str, **fields: Any) -> None:
        """Rewrite the entry of ``name`` with ``fields`` changed (nothing if it is gone)."""
        entry = self.read(name)
        if entry is not None:
            entry.update(fields)
            self.write(entry)

    def remove(self, name: str) -> None:
        try:
            self.path(name).unlink()
        except OSError:
            pass
        seen = self._seen_dir(name)
        try:
            for p in seen.iterdir():
                p.unlink()
            seen.rmdir()
        except OSError:
            pass

    @staticmethod
    def _load(path: Path) -> dict[str, Any] | None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
        except OSError:
            return None
        try:
            st = os.fstat(fd)
            import stat as _stat

            if not _stat.S_ISREG(st.st_mode) or st.st_size > MAX_ENTRY_BYTES:
                return None
            data = os.read(fd, MAX_ENTRY_BYTES + 1)
        except OSError:
            return None
        finally:
            os.close(fd)
        try:
            obj = json.loads(data.decode("utf-8"))
        except (ValueError, UnicodeDecodeError, RecursionError):
            return None
        return obj if isinstance(obj, dict) and isinstance(obj.get("name"), str) else None

    def read(self, name: str) -> dict[str, Any] | None:
        entry = self._load(self.path(name))
        return entry if entry is not None and entry.get("name") == name else None

    def entries(self) -> list[dict[str, Any]]:
        """Every entry, live or recently ended; entries of dead processes on this host, expired
        reservations and old torn temp files are removed on the way."""
        try:
            names = os.listdir(self.folder)
        except OSError:
            return []
        now, out = time.time(), []
        for fname in names:
            path = self.folder / fname
            if fname.startswith("."):
                if fname.endswith(".tmp") and _age(path, now) > TORN_S:
                    _unlink(path)
                continue
            if not fname.endswith(".json"):
                continue
            entry = self._load(path)
            if entry is None:
                continue
            if self._expired(entry, now):
                _unlink(path)
                continue
            out.append(entry)
        return out

    def _expired(self, entry: dict[str, Any], now: float) -> bool:
        ended = entry.get("ended")
        if isinstance(ended, int | float):
            return now - ended > ENDED_KEEP_S
        if not entry_alive(entry, now):
            # The replica that started a job marks its end (status and note, for every replica to read);
            # an entry nobody will mark (its replica died, or went silent) is removed by whoever sees it.
            silent = now - _num(entry.get("updated"))
            if entry.get("host") == HOST:
                return not replica_alive(entry.get("replica")) or silent > 2 * REFRESH_S
            return silent > 2 * REMOTE_STALE_S
        return False

    def live(self) -> list[dict[str, Any]]:
        now = time.time()
        return [e for e in self.entries() if entry_alive(e, now)]

    # ------------------------------------------------------------------ watchers through other replicas

    def _seen_dir(self, name: str) -> Path:
        return self.folder / f"{_file_id(name)}.seen"

    def touch_seen(self, name: str, session_id: str) -> None:
        """A tab served by some replica still shows job ``name`` (its mtime is the heartbeat)."""
        folder = self._seen_dir(name)
        try:
            folder.mkdir(exist_ok=True)
            (folder / hashlib.sha256(session_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]).touch()
        except OSError:
            pass

    def last_seen(self, name: str) -> float | None:
        """The newest heartbeat any replica left for ``name`` (wall-clock seconds), or None."""
        try:
            times = [p.stat().st_mtime for p in self._seen_dir(name).iterdir()]
        except OSError:
            return None
        return max(times) if times else None

    # ------------------------------------------------------------------ admission

    @contextmanager
    def admission(self) -> Iterator[None]:
        """Hold the ledger's lock directory while checking the cap and reserving (milliseconds)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = self.folder / ".admission.lock"
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                os.mkdir(lock)
                break
            except FileExistsError:
                if _age(lock, time.time()) > LOCK_STALE_S:
                    try:
                        os.rmdir(lock)  # its holder died: break it (another replica may do so too: fine)
                    except OSError:
                        pass
                    continue
                if time.monotonic() > deadline:
                    raise LossvizInputError(
                        msg("the server is busy starting another job: try again in a moment")
                    ) from None
                time.sleep(0.01)
        try:
            yield
        finally:
            try:
                os.rmdir(lock)
            except OSError:
                pass


def entry_alive(entry: dict[str, Any], now: float | None = None) -> bool:
    """Whether the job of ``entry`` still runs: its process on this host (same pid and start time), a
    reservation whose replica lives, or another host's entry its replica keeps refreshing."""
    now = time.time() if now is None else now
    if isinstance(entry.get("ended"), int | float):
        return False
    if entry.get("host") != HOST:
        return now - _num(entry.get("updated")) < REMOTE_STALE_S
    pid = entry.get("pid")
    if pid is None:  # a reservation: the process is being started
        return replica_alive(entry.get("replica")) and now - _num(entry.get("started")) < RESERVATION_S
    start = entry.get("pid_start")
    return procs.pid_alive(pid, start if isinstance(start, int) else None)


def _num(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _age(path: Path, now: float) -> float:
    try:
        return now - path.stat().st_mtime
    except OSError:
        return 0.0


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass
