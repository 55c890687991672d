"""The maximum-likelihood lesson shows its steps with live numbers, checked against torch; lesson 9's
labels and code comment read in Chinese (issue 19 / issue 18's "English in Chinese mode")."""

from __future__ import annotations

import re

import pytest
import torch
import torch.nn as nn

from lossviz.explore.lessons import bce_max_likelihood, cnn_backward
from lossviz.i18n import gettext, render

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_mle_steps_are_torchs_numbers() -> None:
    n = 3 * 10**3
    torch.random.manual_seed(420)
    x = torch.rand((n, 4), dtype=torch.float32)
    w = torch.rand((4, 1), dtype=torch.float32)
    y = torch.randint(low=0, high=2, size=(n, 1), dtype=torch.float32)
    sigma = torch.sigmoid(x @ w)
    facts = {f.key: f.value for f in bce_max_likelihood().facts}
    assert facts["p1"] == pytest.approx(float(sigma[0, 0]), rel=1e-6)
    assert facts["p0"] == pytest.approx(float(1 - sigma[0, 0]), rel=1e-6)
    p_obs = torch.where(y == 1, sigma, 1 - sigma)
    assert facts["observed"] == pytest.approx(float(p_obs[0, 0]), rel=1e-6)
    assert facts["product"] == 0.0  # 3,000 probabilities below 1: the likelihood underflows, hence the log
    ll = float(torch.log(p_obs).sum())
    assert facts["log_likelihood"] == pytest.approx(ll, rel=1e-5) and facts["negative"] == pytest.approx(-ll, rel=1e-5)
    bce = float(nn.BCELoss()(sigma, y))
    assert facts["by_hand"] == pytest.approx(bce, rel=1e-5) and facts["negative"] / n == pytest.approx(bce, rel=1e-5)
    assert facts["bce"] == pytest.approx(bce, rel=1e-6) and facts["bce_logits"] == pytest.approx(bce, rel=1e-5)
    labels = [f.label for f in bce_max_likelihood().facts]
    for mark in "①②③④⑤⑥⑦":
        assert any(str(lab).startswith(mark) for lab in labels), mark
    assert all(CJK.search(gettext(lab, "zh")) for lab in labels if str(lab)[0] in "①②③④⑤⑥⑦")


def test_mle_table_shows_the_first_samples() -> None:
    t = bce_max_likelihood().table
    assert t is not None and len(t.rows) == 5 and "P(y=1) = σ" in t.columns and "P(y=0) = 1 − σ" in t.columns
    for row in t.rows:
        p1, p0 = float(row[2]), float(row[3])
        assert p1 + p0 == pytest.approx(1.0, abs=2e-4)


def test_lesson_nine_reads_in_chinese() -> None:
    c = cnn_backward()
    grads = [f for f in c.facts if f.key.startswith("grad_norm/")]
    assert grads
    for f in grads:
        zh = render(f.label, "zh")
        assert "weight" not in zh and "bias" not in zh and ("权重" in zh or "偏置" in zh), zh
    assert all("weight" not in render(row[0], "zh") and "bias" not in render(row[0], "zh") for row in c.table.rows)
    assert "# 一批 64 张图像" in gettext(c.code, "zh") and "# one batch of 64 images" in gettext(c.code, "en")
