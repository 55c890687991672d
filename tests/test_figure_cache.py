"""The explorer's and lessons' figures are built once for every session that shows the same numbers.

pages.loss_figure / pages.grad_figure wrap lossviz's figure builders in a cache keyed by the
tensor's values (bench/profile_rerun.py: building the two figures was the largest piece of an
explorer rerun). A cached figure must be exactly the one the builder makes, and different numbers,
names or languages must never share one.
"""

from __future__ import annotations

import torch

from lossviz.explore import make_grad_figure, make_loss_figure
from pages import grad_figure, loss_figure


def test_same_numbers_share_one_figure_equal_to_the_builders() -> None:
    a = torch.tensor([[0.1, 0.2], [0.3, 0.4]])
    first, again = loss_figure(a, "en"), loss_figure(a.clone(), "en")
    assert first is again  # a second session with the same numbers reuses the figure
    assert first.to_dict() == make_loss_figure(a, lang="en").to_dict()
    g = torch.tensor([-0.5, 0.0, 0.5], requires_grad=True) * 1.0
    assert grad_figure(g, "input", "zh").to_dict() == make_grad_figure(g.detach(), name="input", lang="zh").to_dict()


def test_different_values_shapes_names_and_languages_do_not_share() -> None:
    a = torch.tensor([0.1, 0.2, 0.3, 0.4])
    figs = [loss_figure(a, "en"), loss_figure(a + 1, "en"), loss_figure(a.reshape(2, 2), "en"),
            loss_figure(a, "zh"), loss_figure(a.double(), "en")]
    assert len({id(f) for f in figs}) == len(figs)
    assert grad_figure(a, "input", "en") is not grad_figure(a, "target", "en")
    assert grad_figure(a, "target", "en").layout.yaxis.title.text == "∂L/∂target"


def test_one_evaluation_for_the_same_example_and_refusals_are_not_kept() -> None:
    import pytest

    from lossviz import LossvizInputError
    from lossviz.explore import Example
    from lossviz.explore.presets import get_preset
    from pages import evaluated

    ex = Example.from_preset(get_preset("ce_4x4_mean"))
    r = evaluated(ex)
    assert evaluated(Example.from_preset(get_preset("ce_4x4_mean"))) is r  # a second student's same preset
    assert r.value == ex.evaluate().value
    other = evaluated(ex.replace(reduction="sum"))
    assert other is not r and other.value == ex.replace(reduction="sum").evaluate().value
    bad = ex.replace(texts={**ex.texts, "input": "[[1, 2], [3"})
    for _ in range(2):  # raised each time, never cached as a result
        with pytest.raises(LossvizInputError):
            evaluated(bad)
