"""lossviz.memory: freed heap memory goes back to the operating system (glibc)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from lossviz import memory

GLIBC = memory._libc() is not None


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_trim_returns_freed_heap_pages() -> None:
    """200 MB of small malloc blocks freed behind one that stays: glibc keeps them; trim() gives them back."""
    code = textwrap.dedent(
        """
        import ctypes, ctypes.util
        from lossviz import memory
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.malloc.restype = ctypes.c_void_p
        libc.free.argtypes = [ctypes.c_void_p]
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD high: free() itself never shrinks the heap
        def rss():
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")) * 1024
        blocks = [libc.malloc(2000) for _ in range(100_000)]
        for b in blocks:
            ctypes.memset(b, 1, 2000)
        keep = libc.malloc(2000)  # on top of the heap: the freed blocks below it are not at the end
        for b in blocks:
            libc.free(b)
        before = rss()
        assert memory.trim()
        print(before - rss())
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    released = int(out.stdout.strip())
    assert released > 100 * 2**20, released


def test_start_trimmer_is_once_per_process() -> None:
    code = textwrap.dedent(
        """
        import threading
        from lossviz import memory
        first, second = memory.start_trimmer(every_s=0.05), memory.start_trimmer(every_s=0.05)
        names = [t.name for t in threading.enumerate()]
        print(first, second, names.count("lossviz-malloc-trim"))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    want = "True True 1" if GLIBC else "False False 0"
    assert out.stdout.strip() == want


def test_trimming_starts_no_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """A trim every few seconds must not fork the server (ctypes.util.find_library runs ldconfig)."""
    import subprocess as sp

    memory._libc()  # looked up once, possibly at import time of the server
    calls: list[object] = []
    monkeypatch.setattr(sp.Popen, "__init__", lambda *a, **k: calls.append(a) or (_ for _ in ()).throw(OSError))
    for _ in range(3):
        memory.trim()
    assert calls == []
