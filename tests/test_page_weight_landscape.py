"""The weight-landscape view of the training page through Streamlit's AppTest."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.page_text import english_phrases
from tests.test_weight_landscape import make_run


def _script() -> None:
    import os
    from pathlib import Path

    from pages.parts.weight_landscape import weight_landscape_view

    weight_landscape_view(Path(os.environ["WL_RUN"]), lang=os.environ.get("WL_LANG", "en"))


def _wait_for_job(at: AppTest, limit_s: float = 120) -> None:
    job = at.session_state["wl_job"]
    end = time.monotonic() + limit_s
    while job.running:
        assert time.monotonic() < end, "the landscape job did not finish"
        time.sleep(0.05)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_view_computes_and_draws_the_slice_path_and_line(
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
    at.button(key="wl_go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    _wait_for_job(at)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    charts = at.get("plotly_chart")
    assert len(charts) == 3, "contour, surface and line"
    assert not at.error
    texts = " ".join(str(m.value) for m in at.info)
    assert ("主成分" if lang == "zh" else "PCA plane") in texts
    job = at.session_state["wl_job"]
    assert job.land.slice.complete and job.land.slice.loss.shape == (9, 9)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_view_says_when_a_run_has_no_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    """The job's refusal is a message id: the page shows it in the reader's language."""
    import shutil

    run = make_run(tmp_path)
    (run / "model.pt").unlink()
    shutil.rmtree(run / "snapshots")
    monkeypatch.setenv("WL_RUN", str(run))
    monkeypatch.setenv("WL_LANG", lang)
    at = AppTest.from_function(_script, default_timeout=60)
    at.run()
    at.button(key="wl_go").click().run()
    _wait_for_job(at)
    at.run()
    assert not at.exception
    said = str(at.error[0].value) if len(at.error) == 1 else at.error
    assert ("还没有保存的权重" if lang == "zh" else "no saved weights") in said
    assert lang == "en" or english_phrases(said) == [], said


def test_cancel_stops_the_job_and_keeps_what_was_computed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = make_run(tmp_path)
    monkeypatch.setenv("WL_RUN", str(run))
    at = AppTest.from_function(_script, default_timeout=60)
    at.run()
    at.select_slider(key="wl_grid").set_value(41)  # 1,681 points: far longer than the test waits
    at.button(key="wl_go").click().run()
    job = at.session_state["wl_job"]
    end = time.monotonic() + 60
    while job.progress is None:  # the first chunk is in
        assert time.monotonic() < end
        time.sleep(0.05)
    at.button(key="wl_cancel").click().run()
    assert job.join(60), "the job ended after Cancel"
    at.run()
    assert not at.exception and not at.error
    assert any("Cancelled" in str(m.value) for m in at.info)
    assert job.land is not None and not job.land.slice.complete and job.land.line is None


def test_a_busy_server_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lossviz.weightspace import slices as W

    run = make_run(tmp_path)
    monkeypatch.setenv("WL_RUN", str(run))
    monkeypatch.setattr(W.BackgroundJob, "MAX_JOBS", 0)
    at = AppTest.from_function(_script, default_timeout=60)
    at.run()
    at.button(key="wl_go").click().run()
    assert not at.exception and not at.error
    assert len(at.warning) == 1 and "try again" in str(at.warning[0].value)
