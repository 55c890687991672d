"""Query parameters are input too: crafted URLs get a clear message and safe defaults.

Every page is opened (AppTest) with a hostile or absurd URL; it must run without an exception
element, say in a plain sentence what it ignored, and fall back to something that works.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lossviz.explore.example import DEFAULT_LOSS, Example
from lossviz.losses.parsing import MAX_CHARS

PAGES = Path(__file__).resolve().parent.parent / "pages"
DEFAULT_VALUE = f"{Example.default().evaluate().value:.6g}"  # the explorer's opening example


def open_page(page: str, query: dict[str, str | list[str]]) -> AppTest:
    at = AppTest.from_file(str(PAGES / page), default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def notes(at: AppTest) -> str:
    """Everything the page said in warnings, infos and errors, as one text."""
    return "\n".join(e.value for e in (*at.warning, *at.info, *at.error))


# --------------------------------------------------------------------------- explorer


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ({"loss": "FocalLoss"}, "unknown loss 'FocalLoss'"),
        ({"loss": "<script>alert(1)</script>"}, "unknown loss"),
        ({"loss": "../../etc/passwd"}, "unknown loss"),
        ({"loss": "x" * 5000}, "unknown loss"),
        ({"loss": "CrossEntropyLoss", "reduction": "average"}, "no reduction 'average'"),
        ({"loss": "CrossEntropyLoss", "transform": "relu"}, "Transform 'relu'"),
        ({"loss": "CrossEntropyLoss", "p_alpha": "1"}, "no parameter 'alpha'"),
        ({"ex": "no-such-example"}, "unknown example"),
    ],
    ids=["unknown-loss", "script-tag", "path", "5000-chars", "reduction", "transform", "param", "preset"],
)
def test_explorer_names_what_it_ignored(query: dict[str, str], said: str) -> None:
    at = open_page("explorer.py", query)
    assert said in notes(at), notes(at)
    assert not at.error, [e.value for e in at.error]
    assert len(at.metric) == 1  # a working example is shown
    assert at.selectbox(key="w_loss").value in (DEFAULT_LOSS, query.get("loss"))


def test_explorer_unknown_loss_falls_back_to_the_default_example() -> None:
    at = open_page("explorer.py", {"loss": "FocalLoss", "t_input": "1, 2", "t_target": "1, 2"})
    assert at.selectbox(key="w_loss").value == DEFAULT_LOSS
    assert at.metric[0].value == DEFAULT_VALUE
    assert at.query_params["loss"] in (DEFAULT_LOSS, [DEFAULT_LOSS])  # the URL is rewritten to what is shown


@pytest.mark.parametrize("size", [MAX_CHARS + 1, 300_000])
def test_explorer_huge_t_input_is_replaced(size: int) -> None:
    at = open_page("explorer.py", {"loss": "MSELoss", "t_input": "1, " * (size // 3 + 1), "t_target": "1, 2"})
    assert f"over {MAX_CHARS} characters" in notes(at), notes(at)
    assert len(at.text_area(key="w_t_input").value) <= MAX_CHARS
    assert len(at.query_params["t_input"][0] if isinstance(at.query_params["t_input"], list)
               else at.query_params["t_input"]) <= MAX_CHARS


def test_explorer_megabyte_link_opens_the_default_example() -> None:
    """Streamlit itself drops a query string over 524,288 characters: the page opens as if there were none."""
    at = open_page("explorer.py", {"loss": "MSELoss", "t_input": "1, " * 400_000, "t_target": "1, 2"})
    assert at.selectbox(key="w_loss").value == DEFAULT_LOSS
    assert [m.value for m in at.metric] == [DEFAULT_VALUE]
    assert not at.error


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ({"loss": "MSELoss", "t_input": "1, 2, abc", "t_target": "1, 2, 3"}, "not a number"),
        ({"loss": "MSELoss", "t_input": "1, 2", "t_target": "1, 2", "s_input": "(1000000, 1000000)"},
         "cannot reshape 2 numbers"),
        ({"loss": "CrossEntropyLoss", "t_input": "[[1, 2]]", "t_target": "[0]", "p_label_smoothing": "5"},
         "label_smoothing must be"),
        ({"loss": "CrossEntropyLoss", "t_input": "[[1, 2]]", "t_target": "[7]"}, "out of range"),
        ({"loss": "BCELoss", "t_input": "2, 0.5", "t_target": "1., 0."}, "probabilities in [0, 1]"),
    ],
    ids=["words", "shape", "label-smoothing", "class-index", "bce-range"],
)
def test_explorer_bad_values_in_the_link_are_errors_not_crashes(query: dict[str, str], said: str) -> None:
    """A link can carry any text a student could type: the same plain error, the boxes keep the text."""
    at = open_page("explorer.py", query)
    assert len(at.error) == 1 and said in at.error[0].value, [e.value for e in at.error]
    assert len(at.metric) == 0
    assert at.text_area(key="w_t_input").value == query["t_input"]


def test_explorer_repeated_keys_use_the_last() -> None:
    at = open_page("explorer.py", {"loss": ["L1Loss", "MSELoss"], "t_input": ["9", "1, 2"], "t_target": "1, 3"})
    assert at.selectbox(key="w_loss").value == "MSELoss"
    assert at.metric[0].value == "0.5"  # ((1-1)² + (2-3)²) / 2


def test_explorer_unknown_language_is_english() -> None:
    at = open_page("explorer.py", {"lang": "../../xx"})
    assert at.title[0].value.startswith("🔍") and "Explore" in at.title[0].value


# --------------------------------------------------------------------------- landscape


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ({"ls_res": "100000"}, "resolution to '100000'"),
        ({"ls_res": "-5"}, "resolution"),
        ({"ls_res": "abc"}, "resolution"),
        ({"ls_steps": "1000000000"}, "number of steps"),
        ({"ls_lr": "-1"}, "learning rate"),
        ({"ls_lr": "nan"}, "learning rate"),
        ({"ls_i": "bogus", "ls_j": "../x"}, "x element"),
        ({"ls_range": "1, 2, 3"}, "ranges need 4 numbers"),
        ({"ls_range": "1e30, 1e31, 0, 1"}, "must stay within"),
        ({"loss": "Nope", "t_input": "1"}, "unknown loss 'Nope'"),
        ({"loss": "MSELoss", "t_input": "1, " * 10_000, "t_target": "1, 2"}, "over 20000 characters"),  # the explorer's sentence
    ],
    ids=["res-huge", "res-negative", "res-words", "steps", "lr-negative", "lr-nan", "elements",
         "range-3", "range-huge", "shared-loss", "shared-huge-input"],
)
def test_landscape_absurd_links(query: dict[str, str], said: str) -> None:
    at = open_page("landscape.py", query)
    assert said in notes(at), notes(at)
    assert len(at.get("plotly_chart")) >= 2  # the surface is drawn with safe defaults


def test_landscape_absurd_resolution_computes_the_default_grid() -> None:
    at = open_page("landscape.py", {"ls_res": "100000"})
    assert at.select_slider(key="ls_res").value == 101
    assert any(c.value.startswith("101×101 grid") for c in at.caption), [c.value for c in at.caption]


# --------------------------------------------------------------------------- training


@pytest.fixture
def training_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private runs dir inside a sandbox folder, no CIFAR-10, fresh caches."""
    runs = tmp_path / "sandbox" / "runs"
    monkeypatch.setenv("LOSSVIZ_RUNS", str(runs))
    monkeypatch.setenv("LOSSVIZ_DATA", str(tmp_path / "data"))
    st.cache_resource.clear()
    st.cache_data.clear()
    yield runs
    from lossviz.training.jobs import stop_all_managers

    stop_all_managers(30)
    st.cache_resource.clear()


def _files_outside(root: Path, runs: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and runs not in p.parents]


@pytest.mark.parametrize(
    "query",
    [
        {"run": "../../etc/passwd"},
        {"run": "..", "view_run": "../x", "name": "/etc"},
        {"owner": "../../x"},
        {"owner": "a" * 10_000},
        {"run": "x" * 100_000},
    ],
    ids=["run-dotdot", "several", "owner-dotdot", "owner-huge", "run-huge"],
)
def test_training_hostile_links_are_harmless(training_env: Path, query: dict[str, str]) -> None:
    at = open_page("training.py", query)
    assert not at.error, [e.value for e in at.error]
    owner = at.session_state["owner"]
    assert owner.isalnum() and len(owner) <= 40  # a hostile owner token is replaced by a fresh one
    sandbox = training_env.parent
    assert _files_outside(sandbox.parent, training_env) == []


@pytest.mark.parametrize("name", ["../escape", "/etc/evil", "a/../../b", "..", "~root"])
def test_training_run_name_with_a_path_is_refused(training_env: Path, name: str) -> None:
    at = open_page("training.py", {})
    at.number_input(key="tr_syn_train").set_value(64)
    at.number_input(key="tr_syn_test").set_value(10)
    at.text_input(key="tr_run_name").set_value(name)
    at.button(key="tr_start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1, [e.value for e in at.error]
    message = at.error[0].value
    assert "plain name" in message or "not allowed" in message, message
    sandbox = training_env.parent
    assert _files_outside(sandbox.parent, training_env) == []
    assert not training_env.exists() or not any(p.name != ".creating" for p in training_env.iterdir() if
                                                 not p.name.startswith("."))
