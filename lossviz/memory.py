"""Give memory that the server has freed back to the operating system (glibc's malloc).

CPython, numpy and torch return freed memory to glibc, which keeps it in its arenas for reuse
instead of giving it back. Streamlit runs every session's script in a thread of its own, and glibc
gives threads arenas of their own (up to eight per core), so the few megabytes a landscape rerun
allocates and frees (a 301x301 surface, its figures, their JSON) stay in the server process as
resident memory after the session has gone (``bench/load_sessions.py --landscape`` measures the
server's RSS before and after a class).

Three remedies, all no-ops where glibc is absent (macOS, musl):

- :func:`limit_arenas`: at most ``n`` arenas for threads created from now on (``mallopt``);
- :func:`fix_mmap_threshold`: blocks of 256 KiB and more (a surface's buffers) always come from mmap and
  go straight back when freed;
- :func:`start_trimmer`: a daemon thread that calls ``malloc_trim(0)`` every few seconds, which
  returns the free pages of every arena (ctypes releases the GIL for the call, so sessions keep
  running meanwhile).

Example:
    >>> from lossviz.memory import start_trimmer
    >>> start_trimmer()   # in app.py: once per server process, later calls do nothing
    True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading

#: glibc's mallopt parameters: the allocation size served by mmap (freed straight back to the system), and
#: the number of arenas.
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
#: Blocks this large or larger are mmapped. Setting it also stops glibc from raising the threshold each
#: time such a block is freed (its default behaviour), which moves a surface's buffers into the arenas.
MMAP_THRESHOLD = 256 * 1024
#: Seconds between trims.
TRIM_EVERY_S = 10.0

_lock = threading.Lock()
_thread: threading.Thread | None = None


_LIBC: list[ctypes.CDLL | None] = []  # looked up once: find_library runs a subprocess (a fork of the server)


def _libc() -> ctypes.CDLL | None:
    if not _LIBC:
        libc: ctypes.CDLL | None
        try:
            try:
                libc = ctypes.CDLL("libc.so.6")
            except OSError:
                libc = ctypes.CDLL(ctypes.util.find_library("c"))
            libc.malloc_trim  # noqa: B018 - present only in glibc
            libc.mallopt  # noqa: B018
        except (OSError, AttributeError, TypeError):
            libc = None
        _LIBC.append(libc)
    return _LIBC[0]


def trim() -> bool:
    """Return free heap memory to the operating system now; False where glibc is absent."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(ctypes.c_size_t(0))
    return True


def limit_arenas(n: int = 2) -> bool:
    """Let threads created from now on share at most ``n`` malloc arenas; False where glibc is absent."""
    libc = _libc()
    return bool(libc is not None and libc.mallopt(ctypes.c_int(_M_ARENA_MAX), ctypes.c_int(n)) == 1)


def fix_mmap_threshold(size: int = MMAP_THRESHOLD) -> bool:
    """Serve blocks of ``size`` bytes or more by mmap, always; False where glibc is absent."""
    libc = _libc()
    return bool(libc is not None and libc.mallopt(ctypes.c_int(_M_MMAP_THRESHOLD), ctypes.c_int(size)) == 1)


def start_trimmer(every_s: float = TRIM_EVERY_S, arenas: int = 2) -> bool:
    """Once per process: limit the arenas, fix the mmap threshold and trim every ``every_s`` seconds in a
    daemon thread.

    Idempotent (later calls do nothing and return whether the trimmer runs). False where glibc is absent.
    """
    global _thread
    with _lock:
        if _thread is not None:
            return True
        if _libc() is None:
            return False
        limit_arenas(arenas)
        fix_mmap_threshold()
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(every_s):
                trim()

        _thread = threading.Thread(target=loop, name="lossviz-malloc-trim", daemon=True)
        _thread.start()
        return True
