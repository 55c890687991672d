"""The explorer in Chinese: every sentence lossviz writes has a translation, and English stays as it was.

The catalog, the derivations and the checkers write English (other tests compare it); the page
shows it through ``lossviz.i18n.tr_phrase``. These tests walk every loss, reduction and a spread
of inputs (the presets, seeded random input, each loss's own parameters, and the suspicious inputs
that trigger warnings), so a step, a warning or a help text added later without a Chinese
translation fails here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import torch

from lossviz.errors import LossvizInputError
from lossviz.explore.example import Example
from lossviz.explore.explain import explain
from lossviz.explore.figures import make_grad_figure, make_loss_figure
from lossviz.explore.presets import get_preset, list_presets, loss_labels, preset_titles, random_texts
from lossviz.i18n import TEXT, gettext, msg, tr, tr_phrase
from lossviz.losses import REDUCTION_DOC, get_loss, list_losses
from lossviz.losses.evaluate import TRANSFORMS, LossResult, evaluate_text
from tests.conftest import page_test

CJK = re.compile(r"[\u4e00-\u9fff]")


def _assert_zh(text: str) -> None:
    zh = tr_phrase(text, "zh")
    assert zh != str(text) and CJK.search(zh), f"no Chinese for {text!r}"
    assert tr_phrase(text, "en") == str(text)


@dataclass(frozen=True)
class Case:
    loss: str
    texts: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)
    transform: str = "none"
    shapes: dict[str, str] = field(default_factory=dict)


# Each loss's own parameters and variants, on small hand-written inputs.
PARAM_CASES: tuple[Case, ...] = (
    Case("CrossEntropyLoss", {"input": "[[0.2, 1.0, -0.3], [0.5, 0.1, 0.9]]", "target": "0, 2"},
         {"weight": "1, 2, 0.5"}),
    Case("CrossEntropyLoss", {"input": "[[0.2, 1.0, -0.3], [0.5, 0.1, 0.9]]", "target": "0, 2"},
         {"label_smoothing": "0.1", "weight": "1, 2, 0.5"}),
    Case("CrossEntropyLoss", {"input": "[[0.2, 1.0, -0.3], [0.5, 0.1, 0.9]]", "target": "0, 2"},
         {"ignore_index": "2"}),
    Case("CrossEntropyLoss", {"input": "[[0.2, 1.0, -0.3], [0.5, 0.1, 0.9]]",
                              "target": "[[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]"}, {"label_smoothing": "0.2"}),
    Case("CrossEntropyLoss", {"input": "[[0.2, 1.0, -0.3], [0.5, 0.1, 0.9]]",
                              "target": "[[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]"}, {"weight": "1, 2, 0.5"},
         transform="none"),
    Case("CrossEntropyLoss", {"input": "[[[0.2, 1.0], [0.1, 0.3]], [[0.5, 0.1], [0.9, -1.0]]]",
                              "target": "[[[1, 0], [0, 1]]]"}, shapes={"input": "(1, 2, 2, 2)"}),
    Case("NLLLoss", {"input": "[[1.2, -0.3, 0.5], [0.2, 0.8, -1.0]]", "target": "0, 2"},
         {"weight": "1, 2, 0.5"}, transform="log_softmax"),
    Case("NLLLoss", {"input": "[[1.2, -0.3, 0.5], [0.2, 0.8, -1.0]]", "target": "0, 2"},
         {"ignore_index": "0"}, transform="log_softmax"),
    Case("BCELoss", {"input": "0.2, 0.7, 0.9", "target": "0., 1., 1."}, {"weight": "1, 2, 0.5"}),
    Case("BCELoss", {"input": "0.8, -1.2, 0.3", "target": "1., 0., 1."}, transform="sigmoid"),
    Case("BCEWithLogitsLoss", {"input": "[[0.8, -1.2], [0.3, 2.0]]", "target": "[[1., 0.], [1., 1.]]"},
         {"weight": "1, 2", "pos_weight": "3, 0.5"}),
    Case("KLDivLoss", {"input": "[[0.2, 1.1, 0.4], [1.0, 0.1, 0.6]]",
                       "target": "[[-2.3, -0.51, -1.2], [-0.69, -1.6, -1.2]]"},
         {"log_target": "true"}, transform="log_softmax"),
    Case("HingeEmbeddingLoss", {"input": "0.3, 1.5, 0.2, 0.8", "target": "1, -1, -1, 1"}, {"margin": "2"}),
    Case("SmoothL1Loss", {"input": "1, 2, 3", "target": "1.5, 2, 5"}, {"beta": "0"}),
    Case("SmoothL1Loss", {"input": "1, 2, 3", "target": "1.5, 2, 5"}, {"beta": "0.5"}),
    Case("HuberLoss", {"input": "1, 2, 3", "target": "1.5, 2, 5"}, {"delta": "0.5"}),
    Case("PoissonNLLLoss", {"input": "0.5, 1.0, 2.0", "target": "1., 3., 0."}, {"full": "true"}),
    Case("PoissonNLLLoss", {"input": "0.5, 1.0, 2.0", "target": "1., 3., 0."}, {"log_input": "false"}),
    Case("GaussianNLLLoss", {"input": "1, 2", "target": "1.5, 1", "var": "0.5, 2"}, {"full": "true"}),
    Case("MarginRankingLoss", {"input1": "1, 2", "input2": "2, 1", "target": "1, -1"}, {"margin": "0.5"}),
    Case("MultiMarginLoss", {"input": "[[0.1, 0.9, 0.4], [0.3, 0.2, 0.6]]", "target": "1, 0"},
         {"p": "2", "margin": "0.5", "weight": "1, 2, 1"}),
    Case("CosineEmbeddingLoss", {"input1": "[[1, 0], [0, 1]]", "input2": "[[1, 1], [1, 0]]", "target": "1, -1"},
         {"margin": "0.2"}),
    Case("TripletMarginLoss", {"anchor": "[[1, 0], [0, 1]]", "positive": "[[1, 1], [0, 2]]",
                               "negative": "[[3, 0], [0, -1]]"}, {"swap": "true"}),
)

# Legal but suspicious input: each must give at least one warning (the teaching moments).
WARNING_CASES: tuple[Case, ...] = (
    Case("HingeEmbeddingLoss", {"input": "0.3, 1.5, 0.2", "target": "1, 0, -1"}),
    Case("SoftMarginLoss", {"input": "0.3, 1.5, 0.2", "target": "1, 0, 2"}),
    Case("MarginRankingLoss", {"input1": "1, 2", "input2": "2, 1", "target": "1, 0"}),
    Case("CosineEmbeddingLoss", {"input1": "[[1, 0], [0, 1]]", "input2": "[[1, 1], [1, 0]]", "target": "1, 0.5"}),
    Case("CrossEntropyLoss", {"input": "[[0.2, 1.0, -0.3], [0.5, 0.1, 0.9]]",
                              "target": "[[0.5, 0.2, 0.1], [0.1, 0.1, 0.2]]"}),
    Case("CrossEntropyLoss", {"input": "[[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]]", "target": "1, 0"}),
    Case("NLLLoss", {"input": "[[1.2, -0.3, 0.5], [0.2, 0.8, -1.0]]", "target": "0, 2"}),
    Case("BCELoss", {"input": "0., 0.5, 1.", "target": "1., 0., 1."}),
    Case("KLDivLoss", {"input": "[[0.2, 1.1, 0.4], [1.0, 0.1, 0.6]]", "target": "[[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]]"}),
    Case("KLDivLoss", {"input": "[[-1.2, -1.1, -1.0]]", "target": "[[0.1, 0.6, 0.3]]"}, {"log_target": "true"}),
    Case("MultiLabelSoftMarginLoss", {"input": "[[0.1, 0.9, 0.4]]", "target": "[[1., 0.5, 0.]]"}),
    Case("GaussianNLLLoss", {"input": "1, 2", "target": "1.5, 1", "var": "0., 2"}),
    Case("MSELoss", {"input": "[[1], [2], [3]]", "target": "1, 2, 5"}),
    Case("L1Loss", {"input": "1, 2, 3", "target": "[2]"}),
    Case("CTCLoss", {"log_probs": "[[0.5, 0.2, 0.3], [0.1, 0.7, 0.2], [0.3, 0.3, 0.4]]", "targets": "1, 2",
                     "input_lengths": "3", "target_lengths": "2"}),
    Case("CTCLoss", {"log_probs": "[[-1.1, -1.1, -1.1], [-1.1, -1.1, -1.1]]", "targets": "1, 2, 1, 2",
                     "input_lengths": "2", "target_lengths": "4"}),
)


def _preset_cases() -> Iterator[Case]:
    for p in list_presets():
        yield Case(p.loss, dict(p.texts), dict(p.params), p.transform, dict(p.shapes))


def _random_cases() -> Iterator[Case]:
    for name in list_losses():
        spec = get_loss(name)
        for seed in range(4):
            texts = random_texts(spec, seed)
            for transform in ("none", *spec.transforms):
                yield Case(name, texts, transform=transform)


def _results(cases: Iterator[Case] | tuple[Case, ...]) -> Iterator[tuple[Case, LossResult]]:
    for case in cases:
        for reduction in get_loss(case.loss).reductions:
            try:
                r = evaluate_text(case.loss, case.texts, reduction=reduction, params=case.params,
                                  transform=case.transform, shapes=case.shapes)
            except LossvizInputError:
                continue  # errors may stay English
            yield case, r


def _all_results() -> list[tuple[Case, LossResult]]:
    return [*_results(_preset_cases()), *_results(_random_cases()), *_results(PARAM_CASES),
            *_results(WARNING_CASES)]


@pytest.fixture(scope="module")
def results() -> list[tuple[Case, LossResult]]:
    return _all_results()


# ----------------------------------------------------------------------------- (a) every phrase


def test_every_case_evaluates() -> None:
    """The hand-written cases are valid input: a typo here would silently test nothing."""
    for case in (*PARAM_CASES, *WARNING_CASES):
        got = list(_results((case,)))
        assert got, case


def test_every_loss_and_reduction_is_covered(results: list[tuple[Case, LossResult]]) -> None:
    seen = {(r.loss, r.reduction) for _, r in results}
    for name in list_losses():
        for reduction in get_loss(name).reductions:
            assert (name, reduction) in seen


def test_derivation_steps_are_translated(results: list[tuple[Case, LossResult]]) -> None:
    titles: set[str] = set()
    for _, r in results:
        d = explain(r)
        if d is None:
            continue
        for step in d.steps:
            titles.add(step.title)
            _assert_zh(step.title)
            if step.note:
                _assert_zh(step.note)
    assert {"softmax", "pick the true class", "smooth the target", "mix", "negate and weight"} <= titles


def test_warnings_are_translated(results: list[tuple[Case, LossResult]]) -> None:
    for _, r in results:
        for w in r.warnings:
            _assert_zh(w)


def test_warning_cases_warn() -> None:
    for case, r in _results(WARNING_CASES):
        if not r.warnings and r.reduction == get_loss(case.loss).default_reduction:
            pytest.fail(f"no warning for {case}")


def test_catalog_texts_are_translated() -> None:
    for name in list_losses():
        spec = get_loss(name)
        _assert_zh(spec.per_element_means)
        for slot in spec.slots:
            _assert_zh(slot.label)
            _assert_zh(slot.doc)
        for p in spec.params:
            _assert_zh(p.doc)
            rng = p.range_text()
            if re.search(r"[a-z]", str(rng)):  # "≥ 0" has no words to translate
                _assert_zh(rng)
        for w in spec.reduction_warnings.values():
            _assert_zh(w)
    for doc in REDUCTION_DOC.values():
        _assert_zh(doc)
    for doc in TRANSFORMS.values():
        _assert_zh(doc)


def test_presets_have_chinese_lessons() -> None:
    zh_titles = preset_titles("zh")
    for p in list_presets():
        assert CJK.search(zh_titles[p.key]), p.key
        assert preset_titles("en")[p.key] == p.title
        if p.lesson:
            assert CJK.search(p.lesson_in("zh")), p.key
            assert p.lesson_in("zh") == gettext(p.lesson, "zh")
            assert p.lesson_in("en") == p.lesson


def test_loss_titles_and_advice_read_in_chinese() -> None:
    labels = loss_labels("zh")
    assert labels["MSELoss"] == "MSELoss · 均方误差损失（MSE）"
    assert loss_labels("en")["MSELoss"] == "MSELoss"
    for name in list_losses():
        spec = get_loss(name)
        assert CJK.search(gettext(spec.title, "zh")), name
        assert CJK.search(gettext(spec.advice, "zh")), name
        assert labels[name] == f"{name} · {gettext(spec.title, 'zh')}"


def test_formatted_phrases() -> None:
    # Sentences with numbers are Messages at their source: the number is a parameter, never matched in text.
    assert tr_phrase(msg("divided by {denom}", denom="4"), "zh") == "除以 4"
    assert tr_phrase(msg("targets equal to ignore_index {ignore} give 0", ignore=2), "zh") == (
        "等于 ignore_index（2）的目标，损失记为 0")
    assert tr_phrase(get_loss("BCEWithLogitsLoss").param("pos_weight").range_text(), "zh") != ""
    assert tr_phrase(msg("{lo} and {hi}", lo="≥ 0", hi="≤ 1"), "zh") == "≥ 0 且 ≤ 1"
    assert tr_phrase("divided by 4", "zh") == "divided by 4"  # a finished English sentence is not re-parsed
    hinge = evaluate_text("HingeEmbeddingLoss", {"input": "0.3, 1.5, 0.2", "target": "1, 0, -1"})
    zh = tr_phrase(hinge.warnings[0], "zh")
    assert zh.startswith("target 的标签应为 1 或 -1，但出现了 0。既不是 1 也不是 -1 的标签"), zh
    cos = evaluate_text("CosineEmbeddingLoss", {"input1": "[[1, 0]]", "input2": "[[1, 1]]", "target": "[0.5]"})
    assert tr_phrase(cos.warnings[0], "zh") == (
        "target 的标签应为 1 或 -1，但出现了 0.5。负类请写 -1（0/1 标签属于 BCE 一类的损失）。"
    )


def test_torch_warnings_and_link_notes() -> None:
    assert tr_phrase(msg("PyTorch warns: {text}", text="something odd"), "zh") == "PyTorch 警告：something odd"
    assert tr_phrase("the loss is not finite (inf or NaN).", "zh") == "损失不是有限值（inf 或 NaN）。"
    for query in ({"loss": "EvilLoss"}, {"loss": "MSELoss", "reduction": "batchmean"},
                  {"loss": "MSELoss", "p_margin": "3"}, {"loss": "MSELoss", "transform": "rm -rf"},
                  {"loss": "MSELoss", "t_input": "1," * 20000}):
        _, notes = Example.from_query(query)
        assert notes
        for note in notes:
            _assert_zh(note)
    ex = Example.from_preset(get_preset("mse_mean"))
    for loss in ("CTCLoss", "CrossEntropyLoss", "TripletMarginLoss"):
        _, why = ex.with_loss(loss)
        assert why
        if "takes" in str(why):
            _assert_zh(why)


def test_unknown_text_falls_back_to_english() -> None:
    assert tr_phrase("something lossviz never wrote", "zh") == "something lossviz never wrote"
    assert tr_phrase("", "zh") == ""
    assert tr_phrase("softmax", "xx") == "softmax"


def test_figures_in_both_languages() -> None:
    t = torch.tensor([[0.1, 0.2], [0.3, 0.4]])
    en_loss, en_grad = make_loss_figure(t), make_grad_figure(t, name="input")
    assert en_loss.layout.title.text == "loss per element"
    assert en_grad.layout.title.text == "gradient ∂L/∂input"
    assert en_loss.layout.yaxis.title.text == "sample / row" and en_loss.layout.xaxis.title.text == "class / column"
    assert list(en_loss.data[0].y) == ["row 0", "row 1"]
    zh_loss, zh_grad = make_loss_figure(t, lang="zh"), make_grad_figure(t, name="input", lang="zh")
    assert zh_loss.layout.title.text == "每个元素的损失"
    assert zh_grad.layout.title.text == "梯度 ∂L/∂input"
    assert zh_loss.layout.yaxis.title.text == "样本 / 行" and zh_loss.layout.xaxis.title.text == "类别 / 列"
    bars = make_loss_figure(torch.tensor([0.1, 0.2]), lang="zh")
    assert bars.layout.xaxis.title.text == "元素"
    assert make_loss_figure(torch.tensor([0.1, 0.2])).layout.xaxis.title.text == "element"


def test_navigation_titles() -> None:
    assert [tr(k, "en") for k in ("nav.explore", "nav.landscape", "nav.training")] == [
        "Explore a loss", "Loss landscape", "Watch training"]
    assert all(CJK.search(tr(k, "zh")) for k in ("nav.explore", "nav.landscape", "nav.training"))
    assert all(CJK.search(tr(k, "zh")) for k in TEXT["en"] if k.startswith(("fig.", "nav.")))


# ----------------------------------------------------------------------------- (b) the page in Chinese


def _step_titles(at) -> list[str]:
    return [m.value for m in at.markdown if re.match(r"\*\*\d+\. ", m.value)]


@pytest.mark.parametrize("key", ["ce_4x4_mean", "hinge_embedding", "kl_batchmean", "bce_sigmoid", "l1_sum"])
def test_chinese_page_presets(key: str) -> None:
    at = page_test("explorer.py", {"ex": key, "lang": "zh"})
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    steps = _step_titles(at)
    assert steps
    for s in steps:
        title = re.match(r"\*\*\d+\. (.*?)\*\*", s)
        assert title and CJK.search(title.group(1)), s
    preset = get_preset(key)
    assert any(i.value == preset.lesson_in("zh") and CJK.search(i.value) for i in at.info)
    assert any(m.value.startswith("**每个元素的损失**") for m in at.markdown)
    spec = get_loss(preset.loss)
    for slot in spec.slots:
        area = at.text_area(key=f"w_t_{slot.name}")
        assert CJK.search(area.label) and slot.name in area.label, area.label
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert titles[0] == "每个元素的损失" and titles[1].startswith("梯度 ∂L/∂"), titles


def test_chinese_page_cross_entropy_steps() -> None:
    at = page_test("explorer.py", {"ex": "ce_4x4_mean", "lang": "zh"})
    steps = _step_titles(at)
    assert steps[0] == "**1. softmax：变成概率** — 现在每一行之和都是 1"
    assert steps[-1] == "**4. 取平均** — 除以 4"
    assert at.text_area(key="w_t_input").label == "logits（原始分数）z · input"


def test_chinese_page_warnings() -> None:
    at = page_test("explorer.py", {"lang": "zh"})
    at.selectbox(key="w_loss").set_value("HingeEmbeddingLoss").run()
    at.text_area(key="w_t_input").set_value("0.3, 1.5, 0.2").run()
    at.text_area(key="w_t_target").set_value("1, 0, -1").run()
    assert not at.exception
    assert any("的标签应为 1 或 -1" in w.value for w in at.warning), [w.value for w in at.warning]
    at.selectbox(key="w_loss").set_value("KLDivLoss").run()
    at.radio(key="w_reduction").set_value("mean").run()
    assert not at.exception
    assert any("batchmean" in w.value and CJK.search(w.value) for w in at.warning), [w.value for w in at.warning]


def test_language_switch_both_ways() -> None:
    at = page_test("explorer.py", {"ex": "ce_4x4_mean", "lang": "zh"})
    at.radio(key="w_lang").set_value("en").run()
    assert "**1. softmax** — each row now sums to 1" in [m.value for m in at.markdown]
    at.radio(key="w_lang").set_value("zh").run()
    assert not at.exception
    assert "**1. softmax：变成概率** — 现在每一行之和都是 1" in [m.value for m in at.markdown]
    assert at.metric[0].value == page_test("explorer.py", {"ex": "ce_4x4_mean"}).metric[0].value


def test_app_navigation_in_chinese() -> None:
    """app.py with ?lang=zh: the navigation builds its Chinese titles and the pages still run."""
    from streamlit.testing.v1 import AppTest

    from tests.conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["lang"] = "zh"
    at.query_params["ex"] = "kl_batchmean"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "🔍 探索损失函数"
    at.switch_page("pages/landscape.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("pages/explorer.py").run()
    assert not at.exception and at.title[0].value == "🔍 探索损失函数"


def test_chinese_grid_editor() -> None:
    at = page_test("explorer.py", {"ex": "ce_4x4_mean", "lang": "zh"})
    at.toggle(key="w_grid").set_value(True).run()
    assert not at.exception and not at.error
    captions = [c.value for c in at.caption]
    assert "logits（原始分数）z · input · 4 行 × 4 列" in captions, captions
    assert "目标（类别下标或概率） · target · 1 行 × 4 列" in captions, captions


# ----------------------------------------------------------------------------- (c) English unchanged


def test_english_page_unchanged() -> None:
    at = page_test("explorer.py", {"ex": "ce_4x4_mean"})
    assert not at.exception
    md = [m.value for m in at.markdown]
    assert "**1. softmax** — each row now sums to 1" in md
    assert "**3. pick the true class**" in md
    assert "**4. mean** — divided by 4" in md
    assert ("**Loss per element** — one loss per sample (per position for (N, C, H, W)); "
            "**reduction 'mean'**: average the per-element losses.") in md
    assert any(i.value == get_preset("ce_4x4_mean").lesson for i in at.info)
    assert at.text_area(key="w_t_input").label == "logits z · input"
    assert at.text_area(key="w_t_target").label == "target (class index or probabilities)"
    assert at.text_input(key="w_s_input").placeholder == "e.g. (1, 1, 1, 3)"
    assert at.text_input(key="w_p_weight").placeholder == "e.g. 1, 2, 0.5 (one per class)"
    assert not any(CJK.search(m) for m in md if m.startswith("**"))


def test_english_warning_unchanged() -> None:
    at = page_test("explorer.py", {"loss": "KLDivLoss", "reduction": "mean"})
    want = get_loss("KLDivLoss").reduction_warnings["mean"]
    assert want in [w.value for w in at.warning]
    assert Example.from_query({"loss": "KLDivLoss", "reduction": "mean"})[0].evaluate().warnings[-1] == want
