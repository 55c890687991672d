"""The weight-landscape view of the training page through Streamlit's AppTest.

The page starts a probe process through the job manager and reads the files it writes: these tests
find that child process, check the server gains no thread, cancel it, and read a cached slice.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

import lossviz.weightspace as ws
from tests.page_text import english_phrases
from tests.test_weight_landscape import make_run


def _script() -> None:
    import os
    from pathlib import Path

    import streamlit as st

    from lossviz.training import JobManager
    from pages.parts.weight_landscape import weight_landscape_view

    @st.cache_resource
    def manager() -> JobManager:
        return JobManager(max_jobs=2)

    weight_landscape_view(Path(os.environ["WL_RUN"]), lang=os.environ.get("WL_LANG", "en"), manager=manager(),
                          owner=os.environ.get("WL_OWNER", "me"))  # fmt: skip


def _folder(at: AppTest) -> Path:
    return Path(at.session_state["wl_probe"][2])


def _wait(folder: Path, until: tuple[str, ...] = ("done", "failed", "cancelled", "interrupted"), limit_s: float = 180) -> ws.ProbeState:
    end = time.monotonic() + limit_s
    while True:
        state = ws.read_probe(folder)
        if state.state in until:
            return state
        assert time.monotonic() < end, f"the probe did not reach {until}: {state.state}"
        time.sleep(0.1)


def _children() -> set[int]:
    """Pids whose parent is this process (Linux /proc)."""
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == os.getpid():
                out.add(int(entry))
    return out


def _server_threads() -> set[int]:
    # the job manager's own launcher thread (one per manager, started on its first process) is not a
    # computation: everything else must stay as it was
    return {t.ident for t in threading.enumerate() if not t.name.startswith("lossviz-launcher")}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_view_starts_a_probe_process_and_draws_the_slice_path_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    run = make_run(tmp_path)
    monkeypatch.setenv("WL_RUN", str(run))
    monkeypatch.setenv("WL_LANG", lang)
    st.cache_resource.clear()
    at = AppTest.from_function(_script, default_timeout=60)
    at.run()
    assert not at.exception
    at.number_input(key="wl_images").set_value(8)
    at.select_slider(key="wl_grid").set_value(9)
    at.run()
    threads = _server_threads()
    before = _children()
    at.button(key="wl_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    folder = _folder(at)
    assert folder.parent == run / ws.PROBES_DIR and folder.name.startswith("landscape-")
    assert _children() - before, "the slice is computed by a child process"
    state = _wait(folder)
    assert state.state == "done", state.message
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _server_threads() <= threads, "no thread of the server computed anything"
    charts = at.get("plotly_chart")
    assert len(charts) == 3, "contour, surface and line"
    assert not at.error
    texts = " ".join(str(m.value) for m in at.info)
    assert ("主成分" if lang == "zh" else "PCA plane") in texts
    res = json.loads((folder / "result.json").read_text())
    assert len(res["alphas"]) == 9 and len(res["loss"]) == 9


def test_a_second_viewer_reads_the_cached_slice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same slice of the same weights is the same folder: a second browser draws it at once."""
    run = make_run(tmp_path)
    params = ws.SliceParams(grid=9, images=8)
    folder = ws.probe_dir(run, params)
    from lossviz.cli.main import main

    assert main(ws.landscape_command(run, params, folder)) == 0
    monkeypatch.setenv("WL_RUN", str(run))
    monkeypatch.setenv("WL_OWNER", "someone-else")
    st.cache_resource.clear()
    at = AppTest.from_function(_script, default_timeout=60)
    at.run()
    at.number_input(key="wl_images").set_value(8)
    at.select_slider(key="wl_grid").set_value(9)
    before = _children()
    at.run()
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 3 and not (_children() - before), "drawn from the files, nothing started"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_view_says_when_a_run_has_no_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    """The probe's refusal is message data: the page shows it in the reader's language."""
    import shutil

    run = make_run(tmp_path)
    (run / "model.pt").unlink()
    shutil.rmtree(run / "snapshots")
    monkeypatch.setenv("WL_RUN", str(run))
    monkeypatch.setenv("WL_LANG", lang)
    st.cache_resource.clear()
    at = AppTest.from_function(_script, default_timeout=60)
    at.run()
    at.button(key="wl_go").click().run()
    _wait(_folder(at))
    at.run()
    assert not at.exception
    said = str(at.error[0].value) if len(at.error) == 1 else at.error
    assert ("还没有保存的权重" if lang == "zh" else "no saved weights") in said
    assert lang == "en" or english_phrases(said) == [], said


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_nan_weights_give_a_plain_sentence_not_a_linalg_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    """Issue 20 D11: the page said "_LinAlgError: linalg.eigh: The algorithm failed to converge"."""
    import torch

    run = make_run(tmp_path)
    state = torch.load(run / "model.pt", weights_only=True)
    torch.save({k: torch.full_like(v, float("nan")) for k, v in state.items()}, run / "model.pt")
    monkeypatch.setenv("WL_RUN", str(run))
    monkeypatch.setenv("WL_LANG", lang)
    st.cache_resource.clear()
    at = AppTest.from_function(_script, default_timeout=60)
    at.run()
    at.button(key="wl_go").click().run()
    assert _wait(_folder(at)).state == "failed"
    at.run()
    assert not at.exception and len(at.error) == 1
    said = str(at.error[0].value)
    assert "LinAlg" not in said and "Error" not in said and "linalg.eigh" not in said
    assert ("不是有限数" if lang == "zh" else "not finite") in said, said


def test_cancel_ends_the_process_and_keeps_what_was_computed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_run(tmp_path)
    monkeypatch.setenv("WL_RUN", str(run))
    st.cache_resource.clear()
    at = AppTest.from_function(_script, default_timeout=60)
    at.run()
    at.select_slider(key="wl_grid").set_value(41)  # 1,681 points: far longer than the test waits
    at.button(key="wl_go").click().run()
    folder = _folder(at)
    _wait(folder, until=("running",))
    end = time.monotonic() + 120
    while ws.read_probe(folder).picture is None:  # the coarse level is in
        assert time.monotonic() < end
        time.sleep(0.1)
    at.button(key="wl_cancel").click().run()
    state = _wait(folder, until=("cancelled", "interrupted"), limit_s=60)
    assert state.picture is not None and state.result is None
    at.run()
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 2, "the coarse contour and surface stay"


def test_a_full_job_manager_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = make_run(tmp_path)
    monkeypatch.setenv("WL_RUN", str(run))
    monkeypatch.setenv("LOSSVIZ_MAX_JOBS", "1")
    st.cache_resource.clear()
    from lossviz.training import JobManager

    monkeypatch.setattr(JobManager, "_admit", lambda self, kind, owner: (_ for _ in ()).throw(
        __import__("lossviz").LossvizInputError(__import__("lossviz.i18n", fromlist=["msg"]).msg("full"))))
    at = AppTest.from_function(_script, default_timeout=60)
    at.run()
    at.button(key="wl_go").click().run()
    assert not at.exception and not at.error
    assert len(at.warning) == 1 and "full" in str(at.warning[0].value)
