"""Shared test helpers: the repo root on sys.path and AppTest factories."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# CI gates a release, so there the property tests draw the same examples every run (a fresh
# clone has no example database); on a developer's machine they keep exploring new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)

# The CLI speaks the language of LC_ALL / LC_MESSAGES / LANG: the suite pins English (tests of the
# Chinese CLI set --lang or the variable themselves), so a developer's zh_CN shell changes nothing.
for _var in ("LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_var, None)
os.environ["LANG"] = "C.UTF-8"
# Job managers share a ledger in the data folder (issue 21): the suite keeps its own, so a developer's
# running server (or another checkout's tests) never counts against the tests' caps, nor they against it.
os.environ.setdefault("LOSSVIZ_LEDGER", tempfile.mkdtemp(prefix="lossviz-test-ledger-"))
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _own_job_ledger(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's job managers see only that test's jobs (the job ledger, issue 21)."""
    monkeypatch.setenv("LOSSVIZ_LEDGER", str(tmp_path_factory.mktemp("ledger")))


@pytest.fixture
def root() -> Path:
    return ROOT


def page_test(page: str, query: dict[str, str] | None = None, timeout: float = 120):
    """An AppTest of one page script, with optional URL query params, already run once."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()
