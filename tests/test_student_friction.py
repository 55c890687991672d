"""A student's friction (issue 19), on the explorer page (AppTest) and in the library under it: the one-click
float cast of one-hot targets, the ``log`` transform of the KLDivLoss tutorial, a reshape that no longer fits
new numbers, ``-0.0000``, torch's own words folded away in Chinese, an uploaded tensor."""

from __future__ import annotations

import io
import re

import numpy as np
import torch
import torch.nn.functional as F

from lossviz.explore import Example
from lossviz.losses import NeedsFloat, evaluate_text, format_tensor
from tests.conftest import page_test

CJK = re.compile(r"[\u4e00-\u9fff]")
ONE_HOT = {"loss": "CrossEntropyLoss", "t_input": "[[1., 2, 3, 4], [1, 2, 3, 4]]", "t_target": "1, 0, 0, 0\n0, 1, 0, 0"}


def test_one_hot_integers_get_a_one_click_cast_that_matches_torch() -> None:
    at = page_test("explorer.py", ONE_HOT)
    assert at.error and not at.metric
    cast = [b for b in at.button if b.key == "w_cast"]
    assert cast and "target" in cast[0].label
    assert any("float32" in c.value and ".float()" in c.value for c in at.caption), "the cast says what it does"
    cast[0].click().run()
    assert not at.error and at.metric
    want = F.cross_entropy(torch.tensor([[1.0, 2, 3, 4], [1, 2, 3, 4]]), torch.tensor([[1.0, 0, 0, 0], [0, 1, 0, 0]]))
    assert float(at.metric[0].value) == float(f"{float(want.detach()):.6g}")


def test_torchs_words_are_folded_and_labelled_in_chinese() -> None:
    at = page_test("explorer.py", {**ONE_HOT, "lang": "zh"})
    text = at.error[0].value
    assert CJK.search(text) and "Expected floating point type" not in text, text  # explained, not quoted
    folded = [e for e in at.expander if "PyTorch" in e.label]
    assert folded and CJK.search(folded[0].label)
    assert any("Expected floating point type for target with class probabilities, got Long" in c.value
               for c in folded[0].code)


def test_parser_position_reads_in_chinese() -> None:
    at = page_test("explorer.py", {"loss": "MSELoss", "t_input": "1, 2, abc", "t_target": "1., 2., 3.", "lang": "zh"})
    assert "第 1 行第 7 列" in at.error[0].value and "line 1" not in at.error[0].value, at.error[0].value


def test_log_transform_for_kldiv_matches_the_tutorial() -> None:
    p = torch.tensor([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1]])
    q = torch.tensor([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    r = evaluate_text("KLDivLoss", {"input": format_tensor(p), "target": format_tensor(q)}, transform="log",
                      reduction="batchmean")
    leaf = p.clone().requires_grad_(True)
    want = F.kl_div(torch.log(leaf), q, reduction="batchmean")
    (g,) = torch.autograd.grad(want, leaf)
    assert r.value == float(want.detach())
    torch.testing.assert_close(r.grads["input"], g)
    at = page_test("explorer.py", {"loss": "KLDivLoss", "reduction": "batchmean", "t_input": format_tensor(p),
                                   "t_target": format_tensor(q)})
    at.radio(key="w_transform").set_value("log").run()
    assert not at.error and float(at.metric[0].value) == float(f"{float(want.detach()):.6g}")


def test_a_reshape_that_no_longer_fits_is_dropped_with_a_note() -> None:
    at = page_test("explorer.py", {"ex": "ce_single"})  # the default: input 0.1, 0.2, 0.3 reshaped to (1, 3)
    assert at.text_input(key="w_s_input").value == "(1, 3)"
    at.text_area(key="w_t_input").set_value("[[1., 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4]]").run()
    at.text_area(key="w_t_target").set_value("0, 1, 2, 3").run()
    assert not at.error, [e.value for e in at.error]
    assert at.text_input(key="w_s_input").value == ""
    ex, note = Example("CrossEntropyLoss", "mean", texts={"input": "1, 2, 3", "target": "1"},
                       shapes={"input": "(1, 3)"}).with_text("input", "1, 2, 3, 4")
    assert ex.shapes == {} and note is not None and "(1, 3)" in str(note) and "4 numbers" in str(note)
    kept, none = Example("MSELoss", "mean", texts={"input": "1., 2"}, shapes={"input": "(2, 1)"}).with_text(
        "input", "3., 4")
    assert kept.shapes == {"input": "(2, 1)"} and none is None


def test_zero_times_log_prints_zero() -> None:
    assert format_tensor(torch.tensor([-0.0, 1.0]), digits=4) == "[0.0, 1.0]"
    from lossviz.explore.lessons import ce_by_hand_row

    cells = [c for row in ce_by_hand_row().table.rows for c in row]
    assert "-0.0000" not in cells and "0.0000" in cells


def test_integer_one_hot_error_is_a_needs_float() -> None:
    try:
        evaluate_text("CrossEntropyLoss", {"input": "[[1., 2]]", "target": "[[1, 0]]"})
    except NeedsFloat as exc:
        assert exc.slot == "target" and "got Long" in exc.torch_said
    else:
        raise AssertionError("integer one-hot must be refused as torch refuses it")


def test_uploaded_tensor_fills_a_slot_and_stays_out_of_the_link() -> None:
    lp = torch.log_softmax(torch.randn(50, 1, 20, generator=torch.Generator().manual_seed(0)), dim=-1)
    buf = io.BytesIO()
    np.save(buf, lp.numpy())
    ex = Example("CTCLoss", "mean", texts={"log_probs": "", "targets": "[[1, 2, 3]]", "input_lengths": "50",
                                             "target_lengths": "3"}).with_file("log_probs", "lp.npy", buf.getvalue())
    r = ex.evaluate()
    want = F.ctc_loss(lp, torch.tensor([[1, 2, 3]]), torch.tensor([50]), torch.tensor([3]))
    assert abs(r.value - float(want)) < 1e-5
    assert "t_log_probs" not in ex.to_query() and ex.files == {"log_probs": "lp.npy"}
