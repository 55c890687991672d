"""What the pages share, over app.py in one session: the one Example, and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lossviz import session as K
from lossviz.explore import DEFAULT_LOSS, Example, default_texts
from lossviz.i18n import tr
from lossviz.landscape import tab_label, view_query
from lossviz.losses import get_loss, list_losses

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _app(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def test_explorer_landscape_explorer_round_trip_keeps_the_students_numbers() -> None:
    """Issue 8's first bug: the landscape used to overwrite the explorer's example with its own."""
    at = _app(ex="l1_sum")
    _ok(at)
    assert at.text_area(key="w_t_input").value == "1, 2, 3"
    at.switch_page("pages/landscape.py").run()
    _ok(at)
    assert "explorer" in at.markdown[1].value and "L1Loss" in at.markdown[1].value
    at.session_state[K.LANDSCAPE_TAB] = "Descent"
    at.run()
    _ok(at)
    at.switch_page("pages/explorer.py").run()
    _ok(at)
    at.selectbox(key="w_loss").set_value("MSELoss").run()
    _ok(at)
    at.switch_page("pages/landscape.py").run()
    _ok(at)
    text = at.markdown[1].value
    assert "MSELoss" in text and "the example from the explorer" in text and "small example" not in text
    at.switch_page("pages/explorer.py").run()
    _ok(at)
    assert at.selectbox(key="w_loss").value == "MSELoss"
    assert at.text_area(key="w_t_input").value == "1, 2, 3"
    assert at.text_area(key="w_t_target").value == "1, 2, 5"


@pytest.mark.parametrize("first", ["explorer", "training"])
def test_a_training_choice_never_changes_the_landscape_or_the_explorer(first: str) -> None:
    """Issue 8's second bug: both pages used the session key "loss". Whichever page opens first, a loss
    picked for training stays on the training page."""
    at = AppTest.from_file(APP, default_timeout=120)
    if first == "explorer":
        at.query_params["ex"] = "l1_sum"
        at.run()
        _ok(at)
        want = "L1Loss"
    else:
        want = DEFAULT_LOSS
    at.switch_page("pages/training.py").run()
    _ok(at)
    box = next(b for b in at.selectbox if b.options and "MultiMarginLoss" in b.options)
    box.set_value("MultiMarginLoss").run()  # the training page's loss (whatever its key is called)
    _ok(at)
    at.switch_page("pages/landscape.py").run()
    _ok(at)
    assert at.selectbox(key=K.LANDSCAPE_LOSS).value == want
    at.switch_page("pages/explorer.py").run()
    _ok(at)
    assert at.selectbox(key="w_loss").value == want


def test_a_landscape_link_reopens_as_it_was_without_warnings() -> None:
    """Change axis, range and tab, copy the address, open it in a new session: same page, no warning."""
    at = _app(loss="MSELoss", t_input="2.0, -1.0, 0.5", t_target="0.5, 1.0, 0.5", lang="zh")
    at.switch_page("pages/landscape.py").run()
    _ok(at)
    at.selectbox(key=K.LANDSCAPE_Y).set_value("input:2").run()
    at.text_input(key=K.LANDSCAPE_RANGE).set_value("-1, 3, -2, 2").run()
    at.session_state[K.LANDSCAPE_TAB] = "Loss curve"
    at.run()
    _ok(at)
    link = {k: at.query_params[k][0] if isinstance(at.query_params[k], list) else at.query_params[k]
            for k in at.query_params}
    assert link[K.LANDSCAPE_Y] == "input:2"  # a key, never the label with its current value
    assert link[K.LANDSCAPE_TAB] == "Loss curve" and link["lang"] == "zh"
    again = AppTest.from_file(str(ROOT / "pages" / "landscape.py"), default_timeout=120)
    for k, v in link.items():
        again.query_params[k] = v
    again.run()
    _ok(again)
    assert not again.warning and not again.error
    assert again.selectbox(key=K.LANDSCAPE_Y).value == "input:2"
    assert again.text_input(key=K.LANDSCAPE_RANGE).value == "-1, 3, -2, 2"
    assert again.session_state[K.LANDSCAPE_TAB] == tab_label("Loss curve", "zh")  # the key, shown in Chinese
    assert again.session_state[K.LANG] == "zh"
    assert again.title[0].value == tr("landscape.title", "zh")  # the page reopens in the link's language
    assert again.session_state[K.EXAMPLE].texts["input"] == "2.0, -1.0, 0.5"


def _accepted_examples(name: str) -> list[Example]:
    """Examples the explorer accepts for ``name``: its own, the landscape's, and its seeded sample."""
    spec = get_loss(name)
    out = [Example(spec.name, spec.default_reduction, texts=default_texts(spec)), Example.for_landscape(name)]
    accepted = []
    for ex in out:
        ex.evaluate()  # the explorer accepts it (raises otherwise)
        accepted.append(ex)
    return accepted


@pytest.mark.parametrize("name", list_losses())
def test_every_example_the_explorer_accepts_renders_on_the_landscape(name: str) -> None:
    for ex in _accepted_examples(name):
        at = AppTest.from_file(str(ROOT / "pages" / "landscape.py"), default_timeout=120)
        for k, v in {**ex.to_query(), **view_query({K.LANDSCAPE_RESOLUTION: 21})}.items():
            at.query_params[k] = v
        at.run()
        _ok(at)
        assert at.get("plotly_chart") or at.info, (name, "draws or explains")


def test_the_softmargin_link_from_the_issue_draws_or_explains() -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "landscape.py"), default_timeout=120)
    for k, v in {"loss": "SoftMarginLoss", "t_input": "1.5,-0.3,-2.2", "t_target": "1."}.items():
        at.query_params[k] = v
    at.run()
    _ok(at)
    assert len(at.get("plotly_chart")) == 2
    assert any("broadcasts" in str(m.value) for m in at.markdown) or at.expander
