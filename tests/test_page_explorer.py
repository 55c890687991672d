"""The explorer page in AppTest: presets, every loss, switching, bad input, the URL."""

from __future__ import annotations

import pytest

from lossviz.explore.presets import list_presets
from lossviz.i18n import gettext
from lossviz.losses import get_loss, list_losses
from tests.conftest import page_test


def _value(at) -> str:
    assert len(at.metric) == 1
    return at.metric[0].value


def _no_exception(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_default_page() -> None:
    at = page_test("explorer.py")
    _no_exception(at)
    assert _value(at) == "1.10194"  # the tutorial's CE of [0.1, 0.2, 0.3] vs class 1
    assert len(at.get("plotly_chart")) == 2
    assert not at.error
    assert at.query_params["loss"] == ["CrossEntropyLoss"] or at.query_params["loss"] == "CrossEntropyLoss"


@pytest.mark.parametrize("preset", list_presets(), ids=lambda p: p.key)
def test_every_preset_loads(preset) -> None:
    at = page_test("explorer.py")
    at.selectbox(key="w_preset").set_value(preset.key).run()
    at.button(key="w_load").click().run()
    _no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert at.selectbox(key="w_loss").value == preset.loss
    assert len(at.get("plotly_chart")) >= 2
    r_value = float(_value(at))
    from lossviz.explore.example import Example

    assert r_value == pytest.approx(Example.from_preset(preset).evaluate().value, rel=1e-5)
    # the derivation ends agreeing with torch
    assert any("By hand" in s.value and "✓" in s.value for s in at.success)


@pytest.mark.parametrize("name", list_losses())
def test_every_loss_renders(name: str) -> None:
    at = page_test("explorer.py")
    at.selectbox(key="w_loss").set_value(name).run()
    _no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("plotly_chart")) >= 2
    spec = get_loss(name)
    for p in spec.params:  # a widget per parameter, and only the loss's own
        assert p.name in [w.label for w in (*at.text_input, *at.checkbox, *at.selectbox)]
    for r in spec.reductions:
        at.radio(key="w_reduction").set_value(r).run()
        _no_exception(at)
        assert not at.error, (r, [e.value for e in at.error])


def test_reduction_changes_value() -> None:
    at = page_test("explorer.py", {"ex": "ce_4x4_mean"})
    mean = float(_value(at))
    at.radio(key="w_reduction").set_value("sum").run()
    assert float(_value(at)) == pytest.approx(4 * mean, rel=1e-5)


def test_tutorial_mistakes_on_the_page() -> None:
    at = page_test("explorer.py")  # CE, input reshaped to (1, 3)
    at.text_area(key="w_t_target").set_value("[1, 0, 1]").run()
    _no_exception(at)
    assert "batch size 1" in at.error[0].value
    assert len(at.metric) == 0
    at.text_area(key="w_t_target").set_value("[1]").run()  # fixed: the value comes back
    assert not at.error and _value(at) == "1.10194"

    at.selectbox(key="w_loss").set_value("KLDivLoss").run()
    at.text_area(key="w_t_target").set_value("[[0, 1, 0], [1, 0, 0]]").run()
    _no_exception(at)
    assert "whole numbers" in at.error[0].value

    at.selectbox(key="w_loss").set_value("HingeEmbeddingLoss").run()
    at.text_area(key="w_t_input").set_value("0.3, 1.5, 0.2").run()
    at.text_area(key="w_t_target").set_value("1, 0, -1").run()
    _no_exception(at)
    assert not at.error
    assert any("1 or -1" in w.value for w in at.warning)


def test_bad_param_shows_error_and_keeps_page() -> None:
    at = page_test("explorer.py")
    at.text_input(key="w_p_label_smoothing").set_value("1.5").run()
    _no_exception(at)
    assert "label_smoothing" in at.error[0].value
    assert at.text_area(key="w_t_input").value  # the inputs are still there
    at.text_input(key="w_p_label_smoothing").set_value("0.1").run()
    assert not at.error and float(_value(at)) > 0


def test_switching_loss_keeps_fitting_numbers_and_replaces_others() -> None:
    at = page_test("explorer.py", {"ex": "mse_mean"})
    before = at.text_area(key="w_t_input").value
    at.selectbox(key="w_loss").set_value("L1Loss").run()
    assert at.text_area(key="w_t_input").value == before  # MSE's numbers fit L1
    assert not at.info or "do not fit" not in at.info[0].value
    at.selectbox(key="w_loss").set_value("CTCLoss").run()
    _no_exception(at)
    assert not at.error
    assert any("do not fit" in i.value for i in at.info)


def test_random_fill_is_seeded() -> None:
    at = page_test("explorer.py")
    at.number_input(key="w_seed").set_value(7).run()
    at.button(key="w_random").click().run()
    first = at.text_area(key="w_t_input").value
    _no_exception(at)
    assert not at.error
    at.button(key="w_random").click().run()
    assert at.text_area(key="w_t_input").value == first


def test_url_round_trip() -> None:
    at = page_test("explorer.py", {"ex": "l1_sum"})
    assert _value(at) == "2"
    q = {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    again = page_test("explorer.py", q)
    assert _value(again) == "2"
    assert again.text_input(key="w_s_input").value == "(1, 1, 1, 3)"


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"loss": "EvilLoss"}, "unknown loss"),
        ({"loss": "MSELoss", "reduction": "batchmean"}, "no reduction"),
        ({"loss": "MSELoss", "p_margin": "3"}, "no parameter"),
        ({"loss": "MSELoss", "t_input": "1," * 20000}, "over"),
        ({"loss": "MSELoss", "transform": "rm -rf"}, "does not apply"),
    ],
)
def test_crafted_urls_get_messages_and_defaults(query: dict, words: str) -> None:
    at = page_test("explorer.py", query)
    _no_exception(at)
    assert any(words in w.value for w in at.warning), [w.value for w in at.warning]
    assert len(at.metric) == 1


def test_grid_editor_mode() -> None:
    at = page_test("explorer.py", {"ex": "ce_4x4_mean"})
    at.toggle(key="w_grid").set_value(True).run()
    _no_exception(at)
    assert len(at.dataframe) == 2  # one editable grid per tensor
    assert not at.error


def test_chinese_page() -> None:
    at = page_test("explorer.py", {"lang": "zh"})
    _no_exception(at)
    assert at.title[0].value == "🔍 探索损失函数"
    assert at.selectbox(key="w_loss").label == "损失函数"
    assert "损失值" in at.metric[0].label
    spec = get_loss(at.selectbox(key="w_loss").value)
    heading = f"**{gettext(spec.title, 'zh')}**　{gettext(spec.advice, 'zh')}"
    assert "损失" in heading and any(m.value == heading for m in at.markdown)
    at.radio(key="w_lang").set_value("en").run()
    assert at.title[0].value == "🔍 Explore a loss"
    assert any(m.value == f"**{spec.title}**　{spec.advice}" for m in at.markdown)  # the title, not the task


def test_every_page_text_keeps_its_placeholders_in_chinese() -> None:
    import string

    from lossviz.i18n import TEXT, tr

    fields = lambda s: {f for _, f, _, _ in string.Formatter().parse(s) if f}  # noqa: E731
    for key, en in TEXT["en"].items():
        assert fields(en) == fields(tr(key, "zh")), key
    assert tr("explorer.title", "xx") == TEXT["en"]["explorer.title"]


@pytest.mark.parametrize(
    ("query", "words", "fix"),
    [
        # issue 11: "could not evaluate (OverflowError)" / a ValueError once; now the parser's sentence
        ({"loss": "CrossEntropyLoss", "t_input": "[[0.1, 0.2, 0.3]]", "t_target": "[1]", "p_ignore_index": "1e300"},
         "64 bits", ("w_p_ignore_index", "-100")),
        ({"loss": "NLLLoss", "t_input": "[[-1.1, -1.2, -1.0]]", "t_target": "[1]", "p_ignore_index": "9" * 4301},
         "64 bits", ("w_p_ignore_index", "-100")),
        ({"loss": "MSELoss", "t_input": "9" * 5000, "t_target": "1"}, "too large", ("w_t_input", "1.5")),
        ({"loss": "CrossEntropyLoss", "t_input": "[[0.1, 0.2, 0.3]]", "t_target": "[1]", "p_weight": "1" * 4301},
         "too large", ("w_p_weight", "1, 1, 1")),
        ({"loss": "MSELoss", "t_input": "\u0661\u0662\u0663", "t_target": "1"}, "digits that are not 0-9",
         ("w_t_input", "1.5")),
    ],
)
def test_links_with_numbers_beyond_limits_say_so(query: dict, words: str, fix: tuple[str, str]) -> None:
    at = page_test("explorer.py", query)
    _no_exception(at)
    messages = [e.value for e in at.error]
    assert len(messages) == 1 and words in messages[0], messages
    assert "could not evaluate" not in messages[0]
    # the page is still usable: a good value in the same box brings the result back
    key, good = fix
    widget = at.text_area(key=key) if key.startswith("w_t_") else at.text_input(key=key)
    widget.set_value(good).run()
    _no_exception(at)
    assert not at.error, [e.value for e in at.error]
    assert len(at.metric) == 1


def test_chinese_keyboard_punctuation_reads_as_ascii() -> None:
    """， ［ ］ － typed by a Chinese input method read as their ASCII twins; the value is torch's."""
    at = page_test("explorer.py", {"loss": "MSELoss", "t_input": "［1.5，－2，0］", "t_target": "1，2，3"})
    _no_exception(at)
    assert not at.error, [e.value for e in at.error]
    import torch

    want = torch.nn.MSELoss()(torch.tensor([1.5, -2.0, 0.0]), torch.tensor([1.0, 2.0, 3.0]))
    assert _value(at) == f"{float(want):.6g}"
