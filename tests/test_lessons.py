"""Lessons: every number a step shows is checked against a direct torch call on the same tensors,
and the page walks every step in both languages without an exception."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from lossviz import LossvizInputError
from lossviz.explore.lessons import LESSONS, clamp_step, get_lesson, lesson_from_query
from lossviz.i18n import gettext
from lossviz.losses import parse_tensor, reshape
from tests.conftest import page_test

EXAMPLE_STEPS = [(lesson.key, s.key) for lesson in LESSONS for s in lesson.steps if s.example is not None]


def _step(lesson_key: str, step_key: str):
    return next(s for s in get_lesson(lesson_key).steps if s.key == step_key)


def _tensors(ex) -> dict[str, torch.Tensor]:
    out = {}
    for name, text in ex.texts.items():
        t = parse_tensor(text, name=name)
        if ex.shapes.get(name):
            t = reshape(t, ex.shapes[name], name=name)
        out[name] = t
    return out


def test_the_issue_asks_for_nine_lessons_with_text_in_both_languages() -> None:
    assert len(LESSONS) >= 9
    for lesson in LESSONS:
        assert lesson.steps
        for s in lesson.steps:
            for text in (s.title, s.explain, s.notice):
                assert text and gettext(text, "zh") != text  # translated in the catalog
            assert (s.example is None) != (s.compute is None)


@pytest.mark.parametrize(("lesson_key", "step_key"), EXAMPLE_STEPS)
def test_example_steps_match_torch(lesson_key: str, step_key: str) -> None:
    ex = _step(lesson_key, step_key).example
    t = _tensors(ex)
    x = t["input"].clone().to(torch.float32)
    if ex.transform == "sigmoid":
        x = torch.sigmoid(x)
    elif ex.transform == "log_softmax":
        x = torch.log_softmax(x, dim=-1)
    module = getattr(nn, ex.loss)(reduction=ex.reduction, **{k: float(v) for k, v in ex.params.items()})
    try:
        want = module(x, t["target"])
    except RuntimeError:
        with pytest.raises(LossvizInputError):
            ex.evaluate()
        return
    got = ex.evaluate()
    assert got.value == pytest.approx(float(want.sum()), rel=1e-5, abs=1e-7)


def test_the_tutorials_numbers() -> None:
    """The values the tutorials print: 2.0, 1.3333 and 1.1019."""
    assert _step("reduction", "l1_sum").example.evaluate().value == pytest.approx(2.0)
    assert _step("reduction", "mse_mean").example.evaluate().value == pytest.approx(4 / 3, rel=1e-6)
    assert _step("ce_batch", "batched").example.evaluate().value == pytest.approx(1.1019, abs=1e-4)


def test_one_hot_and_indices_give_the_same_cross_entropy() -> None:
    mean = _step("ce_forms", "mean").example.evaluate().value
    one_hot = _step("ce_forms", "one_hot").example.evaluate().value
    assert one_hot == pytest.approx(mean, rel=1e-6)


def test_ce_by_hand_row_equals_torch() -> None:
    c = _step("ce_forms", "by_hand").compute()
    z = torch.tensor([[0.8, 0.5, 0.2, 0.5], [0.2, 0.9, 0.3, 0.2], [0.4, 0.3, 0.7, 0.1], [0.1, 0.2, 0.4, 0.8]])
    want = float(nn.CrossEntropyLoss(reduction="none")(z, torch.arange(4))[0])
    assert c.fact("by_hand") == pytest.approx(want, rel=1e-6)
    assert c.fact("torch") == pytest.approx(want, rel=1e-6)
    assert c.fact("softmax_sum") == pytest.approx(1.0, abs=1e-6)
    assert len(c.table.rows) == 4


def test_bce_from_maximum_likelihood_matches_the_tutorial_code() -> None:
    c = _step("bce_mle", "tutorial").compute()
    n = 3000
    torch.random.manual_seed(420)
    x = torch.rand((n, 4))
    w = torch.rand((4, 1))
    y = torch.randint(0, 2, (n, 1), dtype=torch.float32)
    z = x @ w
    want = float(nn.BCEWithLogitsLoss()(z, y))
    for key in ("by_hand", "bce", "bce_logits"):
        assert c.fact(key) == pytest.approx(want, rel=1e-5)
    assert c.fact("positives") == pytest.approx(float(y.mean()))


def test_logsoftmax_nll_equals_cross_entropy_and_double_softmax_differs() -> None:
    c = _step("multiclass", "tutorial").compute()
    torch.random.manual_seed(420)
    x = torch.rand((300, 4))
    w = torch.rand((4, 3))
    y = torch.randint(0, 3, (300,), dtype=torch.float32).long()
    z = x @ w
    want = float(F.cross_entropy(z, y))
    assert c.fact("nll") == pytest.approx(want, rel=1e-6)
    assert c.fact("ce") == pytest.approx(want, rel=1e-6)
    assert c.fact("double_softmax") == pytest.approx(float(F.cross_entropy(torch.softmax(z, 1), y)), rel=1e-6)
    assert abs(c.fact("double_softmax") - want) > 1e-3


def test_segmentation_one_hot_equals_indices() -> None:
    c = _step("segmentation", "one_hot").compute()
    torch.random.manual_seed(0)
    logits = torch.randn(2, 3, 4, 4)
    idx = torch.randn(2, 3, 4, 4).argmax(dim=1)
    want = float(F.cross_entropy(logits, idx))
    assert c.fact("one_hot") == pytest.approx(want, rel=1e-6)
    assert c.fact("indices") == pytest.approx(want, rel=1e-6)
    assert c.fact("pixels") == 32


def test_cnn_backward_gradient_norms_match_a_direct_backward() -> None:
    from lossviz.training.data import make_synthetic
    from lossviz.training.model import build_model

    c = _step("backward", "one_batch").compute()
    torch.random.manual_seed(0)
    model = build_model(relu=False)
    split = make_synthetic(seed=0, n_train=64, n_test=10).train
    loss = nn.CrossEntropyLoss()(model(split.images[:64].float() / 255.0), split.labels[:64])
    loss.backward()
    assert c.fact("loss") == pytest.approx(float(loss.detach()), rel=1e-5)
    assert abs(c.fact("loss") - math.log(10)) < 0.5  # an untrained network guesses
    for name, p in model.named_parameters():
        assert c.fact(f"grad_norm/{name}") == pytest.approx(float(p.grad.norm()), rel=1e-4)


def test_edge_of_stability_step_matches_a_dense_hessian_and_gradient_descent() -> None:
    from lossviz import session as K

    step = _step("backward", "edge_of_stability")
    assert step.opens == "training" and step.preset == K.EDGE_OF_STABILITY_PRESET
    c = step.compute()
    torch.random.manual_seed(0)
    x = torch.randn(32, 3) * torch.tensor([3.0, 1.0, 0.3])
    y = x @ torch.tensor([1.0, -2.0, 0.5])
    hessian = 2.0 / 32 * (x.double().T @ x.double())  # MSE's Hessian in closed form, not torch's autograd
    eig = torch.linalg.eigvalsh(hessian)
    assert c.fact("lambda_max") == pytest.approx(float(eig[-1]), rel=1e-4)
    assert c.fact("lambda_min") == pytest.approx(float(eig[0]), rel=1e-4)
    assert c.fact("threshold") == pytest.approx(2.0 / float(eig[-1]), rel=1e-4)
    start = float(F.mse_loss(torch.zeros(32), y))
    for key, factor in (("loss_under", 0.9), ("loss_over", 1.1)):
        lr, w = factor * 2.0 / c.fact("lambda_max"), torch.zeros(3, dtype=torch.float64)
        for _ in range(20):
            w = w - lr * (2.0 / 32) * (x.double().T @ (x.double() @ w - y.double()))  # the gradient by hand
        assert c.fact(key) == pytest.approx(float(((x.double() @ w - y.double()) ** 2).mean()), rel=1e-3)
    assert c.fact("loss_under") < 0.01 * start < start * 100 < c.fact("loss_over")


def test_kl_mean_is_batchmean_over_the_classes() -> None:
    bm = _step("kl", "batchmean").example.evaluate()
    mean = _step("kl", "mean").example.evaluate()
    assert mean.value * 3 == pytest.approx(bm.value, rel=1e-5)
    assert mean.warnings


def test_hinge_zero_label_is_warned() -> None:
    r = _step("hinge", "zero_label").example.evaluate()
    assert r.warnings
    assert float(r.per_element[1]) == pytest.approx(1.5)


def test_lesson_urls_are_read_safely() -> None:
    lesson, step, notes = lesson_from_query({"lesson": "kl", "step": "2"})
    assert (lesson.key, step, notes) == ("kl", 2, [])
    lesson, step, notes = lesson_from_query({"lesson": "nope", "step": "x" * 10_000})
    assert (lesson.key, step, notes) == (LESSONS[0].key, 1, ["nope"])
    assert clamp_step(get_lesson("kl"), 99) == len(get_lesson("kl").steps)
    assert clamp_step(get_lesson("kl"), -5) == 1
    with pytest.raises(LossvizInputError):
        get_lesson("../etc")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_lessons_page_walks_every_step(lang: str) -> None:
    for lesson in LESSONS:
        at = page_test("lessons.py", {"lesson": lesson.key, "step": "1", "lang": lang})
        for n in range(1, len(lesson.steps) + 1):
            assert not at.exception, (lesson.key, n, at.exception)
            assert at.query_params["step"] == [str(n)] or at.query_params["step"] == str(n)
            assert any(gettext(lesson.steps[n - 1].notice, lang) in i.value for i in at.info)
            if n < len(lesson.steps):
                at = at.button(key="le_next_bottom").click().run()
        assert at.button(key="le_next_bottom").disabled


def test_lessons_page_back_and_unknown_link() -> None:
    at = page_test("lessons.py", {"lesson": "unknown", "step": "3"})
    assert not at.exception
    assert at.warning and "unknown" in at.warning[0].value
    at = page_test("lessons.py", {"lesson": "reduction", "step": "3"})
    assert at.metric[0].value == "1.33333"
    at = at.button(key="le_back_top").click().run()
    assert at.metric[0].value == "0.666667"


def test_presentation_mode_from_the_link_and_the_toggle() -> None:
    at = page_test("lessons.py", {"lesson": "reduction", "step": "1", "present": "1"})
    assert not at.exception
    assert at.toggle(key="le_present").value is True
    assert any("font-size: 22px" in m.value for m in at.markdown)
    assert at.query_params["present"] in ("1", ["1"])
    at = at.toggle(key="le_present").set_value(False).run()
    assert not any("font-size: 22px" in m.value for m in at.markdown)
    assert "present" not in at.query_params
