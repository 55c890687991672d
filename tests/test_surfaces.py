"""The batched landscape engine against direct torch.nn calls, and its edges."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

import lossviz.landscape as S
from lossviz.errors import LossvizInputError
from lossviz.explore import DEFAULT_LOSS, Example, default_texts
from lossviz.i18n import render
from lossviz.losses import get_loss, list_losses

TOL = 1e-5


def _old_example(
    loss: str, texts: tuple[tuple[str, str], ...], reduction: str, transform: str = "none",
    params: tuple[tuple[str, str], ...] = (),
) -> Example:
    """The explorer's Example from the positional form these tests were written in."""
    return Example(loss, reduction, transform, texts=dict(texts), params=dict(params))


def _old_setup(*args: object, **kwargs: object) -> S.Setup:
    return S.setup_for(_old_example(*args, **kwargs))  # type: ignore[arg-type]


def direct(
    setup: S.Setup, elements: tuple[S.Element, ...], values: tuple[float, ...]
) -> tuple[float, list[float]]:
    """The loss and gradient at one point the slow, obvious way: tensors, torch.nn module, backward."""
    spec = setup.spec
    cur = {k: v.clone() for k, v in setup.raw.items()}
    for el, v in zip(elements, values, strict=True):
        flat = cur[el.slot].reshape(-1).clone()
        flat[el.index] = float(v)
        cur[el.slot] = flat.reshape(cur[el.slot].shape)
    leaves = {s.name: cur[s.name].requires_grad_(True) for s in spec.predictions}
    args = dict(cur)
    first = spec.predictions[0].name
    if setup.transform == "sigmoid":
        args[first] = torch.sigmoid(cur[first])
    elif setup.transform in ("softmax", "log_softmax"):
        x = cur[first]
        dim = -1 if spec.name == "CTCLoss" else (1 if x.dim() >= 2 else 0)
        args[first] = torch.softmax(x, dim) if setup.transform == "softmax" else torch.log_softmax(x, dim)
    out = spec.build(setup.reduction, setup.params)(*[args[s.name] for s in spec.slots])
    total = out.sum()
    grads = torch.autograd.grad(total, [leaves[e.slot] for e in elements], allow_unused=True)
    return float(total.detach()), [
        0.0 if g is None else float(g.reshape(-1)[e.index]) for g, e in zip(grads, elements, strict=True)
    ]


def _close(a: float, b: float) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= TOL * max(1.0, abs(b))


def _pairs(setup: S.Setup) -> list[tuple[S.Element, S.Element]]:
    """The default pair, plus one across two prediction slots when the loss has several."""
    pairs = [S.default_elements(setup)]
    preds = setup.spec.predictions
    if len(preds) >= 2:
        pairs.append(
            (S.Element(preds[0].name, 0), S.Element(preds[-1].name, setup.raw[preds[-1].name].numel() - 1))
        )
    return pairs


def _setups(name: str) -> list[S.Setup]:
    """The page's example (with its transform) and the catalog's seeded sample, for every reduction."""
    spec = get_loss(name)
    out = []
    ex = Example.for_landscape(name)
    sample = spec.sample(torch.Generator().manual_seed(3))
    for red in spec.reductions:
        out.append(S.setup_for(ex.replace(reduction=red)))
        out.append(S.prepare(spec, sample, reduction=red))
    return out


@pytest.mark.parametrize("name", list_losses())
def test_surface_values_and_gradients_match_torch(name: str) -> None:
    rng = np.random.default_rng(0)
    for setup in _setups(name):
        for x, y in _pairs(setup):
            surf = S.compute_surface(setup, x, y, resolution=9)
            assert surf.z.shape == surf.gx.shape == surf.gy.shape == (9, 9)
            for i, j in [(0, 0), (8, 8), (4, 4), *rng.integers(0, 9, size=(3, 2)).tolist()]:
                v, (gx, gy) = direct(setup, (x, y), (surf.xs[j], surf.ys[i]))
                where = f"{name} {setup.reduction} {x.key},{y.key} at ({surf.xs[j]:.3f}, {surf.ys[i]:.3f})"
                assert _close(float(surf.z[i, j]), v), where
                assert _close(float(surf.gx[i, j]), gx), where
                assert _close(float(surf.gy[i, j]), gy), where
            # the current point agrees with evaluate()'s value at the example
            assert _close(surf.current.loss, setup.value) or not math.isfinite(setup.value)


@pytest.mark.parametrize("name", list_losses())
def test_curve_matches_torch(name: str) -> None:
    setup = S.setup_for(Example.for_landscape(name))
    el = S.default_elements(setup)[0]
    curve = S.compute_curve(setup, el, resolution=7)
    for k in (0, 3, 6):
        v, (g,) = direct(setup, (el,), (curve.xs[k],))
        assert _close(float(curve.values[k]), v) and _close(float(curve.slope[k]), g), (name, k)


def test_engine_is_batched_not_a_loop_over_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """The module is called a handful of times whatever the grid size (once per chunk), never once per point."""
    for cls, name in (
        (nn.MSELoss, "MSELoss"),
        (nn.MultiMarginLoss, "MultiMarginLoss"),
        (nn.CTCLoss, "CTCLoss"),
    ):
        calls = {"n": 0}
        orig = cls.forward

        def counting(self, *a, _orig=orig, _calls=calls, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
            _calls["n"] += 1
            return _orig(self, *a, **k)

        monkeypatch.setattr(cls, "forward", counting)
        setup = S.setup_for(Example.for_landscape(name))
        x, y = S.default_elements(setup)
        counts = []
        for res in (11, 61):
            calls["n"] = 0
            S.compute_surface(setup, x, y, x_range=(-1, 1), y_range=(-1, 1), resolution=res)
            counts.append(calls["n"])
        assert counts[0] == counts[1] <= 6, (name, counts)  # 121 or 3721 points: same few calls


def test_both_routes_are_documented_and_used() -> None:
    assert S.setup_for(Example.for_landscape("MSELoss")).method == "vmap"
    for name in [n for n in list_losses() if get_loss(n).batch_layout]:
        assert S.setup_for(Example.for_landscape(name)).method == "batch"


# --------------------------------------------------------------------------- descent


def _one(loss: str, x: float, y: float, reduction: str = "mean") -> S.Setup:
    return S.prepare(loss, {"input": torch.tensor([x]), "target": torch.tensor([y])}, reduction=reduction)


def test_mse_descent_converges_with_lr_half() -> None:
    setup = _one("MSELoss", 3.0, 1.0)
    path = S.descend(setup, (S.Element("input", 0),), lr=0.5, steps=20)
    assert path.status == "converged"
    assert path.points[-1, 0] == pytest.approx(1.0, abs=1e-9)
    assert path.losses[-1] == pytest.approx(0.0, abs=1e-12)
    assert path.taken < 20  # stopped early


def test_small_lr_keeps_descending_and_shrinking_steps() -> None:
    setup = _one("MSELoss", 3.0, 1.0)
    path = S.descend(setup, (S.Element("input", 0),), lr=0.05, steps=10)
    assert path.status == "descending"
    assert np.all(np.diff(path.losses) < 0)
    assert np.all(np.diff(path.step_lengths) < 0)  # MSE: steps shrink near the minimum


def test_huge_lr_diverges_and_is_flagged() -> None:
    setup = _one("MSELoss", 3.0, 1.0)
    path = S.descend(setup, (S.Element("input", 0),), lr=10.0, steps=50)
    assert path.status == "diverged"
    assert "too large" in path.message
    assert path.losses[-1] > path.losses[0]


def test_l1_takes_constant_steps_and_bounces() -> None:
    setup = _one("L1Loss", 3.0, 1.0)
    path = S.descend(setup, (S.Element("input", 0),), lr=0.3, steps=40)
    lengths = path.step_lengths
    assert np.allclose(lengths, 0.3)  # |∂L/∂ŷ| = 1 everywhere: every step is exactly lr
    assert path.status == "bouncing"


def test_descent_in_two_dimensions_lowers_cross_entropy() -> None:
    setup = S.setup_for(Example.for_landscape("CrossEntropyLoss"))
    x, y = S.default_elements(setup)
    path = S.descend(setup, (x, y), lr=1.0, steps=25)
    assert path.points.shape[1] == 2
    assert path.losses[-1] < path.losses[0]
    assert path.status in ("descending", "converged")


def test_descent_is_clamped_to_the_bce_domain() -> None:
    setup = S.prepare("BCELoss", {"input": torch.tensor([0.5, 0.5]), "target": torch.tensor([1.0, 0.0])})
    path = S.descend(setup, (S.Element("input", 0), S.Element("input", 1)), lr=100.0, steps=5)
    assert path.clamped and "clamped" in path.message
    assert np.all((path.points > 0) & (path.points < 1))


@pytest.mark.parametrize(
    ("lr", "steps"),
    [
        (0, 10),
        (-1, 10),
        (float("nan"), 10),
        (1e9, 10),
        (0.1, 0),
        (0.1, -3),
        (0.1, 10**6),
        (0.1, 2.5),
        ("abc", 10),
    ],
)
def test_bad_descent_settings_are_refused(lr: object, steps: object) -> None:
    setup = _one("MSELoss", 3.0, 1.0)
    with pytest.raises(LossvizInputError):
        S.descend(setup, (S.Element("input", 0),), lr=lr, steps=steps)  # type: ignore[arg-type]


def test_suggested_lr_is_round_and_positive() -> None:
    setup = S.setup_for(Example.for_landscape("MSELoss"))
    lr = S.suggest_lr(setup, S.default_elements(setup), span=4.0)
    assert lr > 0
    mant = lr / 10 ** math.floor(math.log10(lr))
    assert round(mant, 6) in (1.0, 2.0, 5.0)


# --------------------------------------------------------------------------- domains and validation


def test_bce_range_is_clipped_to_open_unit_interval() -> None:
    setup = S.setup_for(Example.for_landscape("BCELoss"))
    el = S.Element("input", 0)
    (lo, hi), note = S.check_range(setup, el, (-1.0, 2.0))
    assert 0 < lo < 0.01 and 0.99 < hi < 1
    assert note and "between 0 and 1" in note
    surf = S.compute_surface(
        setup, el, S.Element("input", 1), x_range=(-1, 2), y_range=(0.2, 0.8), resolution=11
    )
    assert surf.xs.min() > 0 and surf.xs.max() < 1
    assert np.isfinite(surf.z).all()
    assert any("clipped" in n for n in surf.notes)
    with pytest.raises(LossvizInputError):
        S.check_range(setup, el, (2.0, 3.0))


def test_bce_with_sigmoid_transform_needs_no_clipping() -> None:
    setup = _old_setup("BCELoss", (("input", "0.8, -1.2"), ("target", "1., 0.")), "mean", "sigmoid")
    (lo, hi), note = S.check_range(setup, S.Element("input", 0), (-5.0, 5.0))
    assert (lo, hi) == (-5.0, 5.0) and note is None


def test_gaussian_variance_stays_positive() -> None:
    setup = S.setup_for(Example.for_landscape("GaussianNLLLoss"))
    var = S.Element("var", 0)
    lo, hi = S.auto_range(setup, var)
    assert lo > 0
    (lo, _), note = S.check_range(setup, var, (-2.0, 3.0))
    assert lo > 0 and note and "positive" in note
    surf = S.compute_surface(setup, S.Element("input", 0), var, y_range=(-2.0, 3.0), resolution=15)
    assert surf.ys.min() > 0 and np.isfinite(surf.z).all()


@pytest.mark.parametrize("res", [0, 1, 302, 100000, 2.5, "abc", None, -5])
def test_bad_resolution_is_refused(res: object) -> None:
    setup = S.setup_for(Example.for_landscape("MSELoss"))
    x, y = S.default_elements(setup)
    with pytest.raises(LossvizInputError, match="resolution"):
        S.compute_surface(setup, x, y, resolution=res)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "rng", [(3.0, 1.0), (1.0, 1.0), (float("nan"), 1.0), (0.0, float("inf")), (0.0, 1e9), ("a", 1)]
)
def test_bad_range_is_refused(rng: tuple) -> None:
    setup = S.setup_for(Example.for_landscape("MSELoss"))
    x, y = S.default_elements(setup)
    with pytest.raises(LossvizInputError):
        S.compute_surface(setup, x, y, x_range=rng, resolution=5)


def test_bad_elements_are_refused() -> None:
    setup = S.setup_for(Example.for_landscape("MSELoss"))
    with pytest.raises(LossvizInputError, match="different"):
        S.compute_surface(setup, S.Element("input", 0), S.Element("input", 0), resolution=5)
    with pytest.raises(LossvizInputError, match="index"):
        S.compute_surface(setup, S.Element("input", 0), S.Element("input", 99), resolution=5)
    with pytest.raises(LossvizInputError, match="not a prediction"):
        S.compute_surface(setup, S.Element("target", 0), S.Element("input", 1), resolution=5)
    with pytest.raises(LossvizInputError):
        S.parse_element(setup, "input:x")
    assert S.parse_element(setup, "2") == S.Element("input", 2)
    assert S.parse_element(setup, "input:1").key == "input:1"


def test_one_number_cannot_make_a_surface_but_makes_a_curve() -> None:
    setup = _one("MSELoss", 3.0, 1.0)
    with pytest.raises(LossvizInputError, match="two"):
        S.default_elements(setup)
    curve = S.compute_curve(setup, S.Element("input", 0), resolution=11)
    assert curve.values.shape == (11,)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("", None),
        ("auto", None),
        ("-3, 3, -2, 2", ((-3.0, 3.0), (-2.0, 2.0))),
        ("0 1", ((0.0, 1.0), None)),
        ("-1 to 1; 0 to 2", ((-1.0, 1.0), (0.0, 2.0))),
    ],
)
def test_parse_ranges(text: str, want: object) -> None:
    assert S.parse_ranges(text) == want


@pytest.mark.parametrize("text", ["a, b", "1, 2, 3", "2, 1", "0, nan", "1, 1, 0, 1"])
def test_parse_ranges_refuses_nonsense(text: str) -> None:
    with pytest.raises(LossvizInputError):
        S.parse_ranges(text)


# --------------------------------------------------------------------------- flat landscapes say why


def test_ignored_sample_makes_a_flat_surface_and_says_why() -> None:
    setup = _old_setup(
        "CrossEntropyLoss", (("input", "[[0.1, 0.2, 0.3], [1.0, -0.5, 0.2]]"), ("target", "-100, 0")), "mean"
    )
    surf = S.compute_surface(setup, S.Element("input", 0), S.Element("input", 1), resolution=7)
    assert surf.flat
    assert np.all(surf.gx == 0) and np.all(surf.gy == 0)
    assert any("ignore_index" in n for n in surf.notes)


def test_multilabel_margin_sample_without_labels_is_flat() -> None:
    setup = _old_setup(
        "MultiLabelMarginLoss",
        (("input", "[[0.1, 0.2, 0.4], [0.3, 0.9, 0.2]]"), ("target", "[[-1, 0, 0], [1, -1, 0]]")),
        "mean",
    )
    surf = S.compute_surface(setup, S.Element("input", 0), S.Element("input", 1), resolution=7)
    assert surf.flat and any("no true labels" in n for n in surf.notes)


def test_nll_without_log_softmax_ignores_other_classes() -> None:
    setup = _old_setup("NLLLoss", (("input", "[[-1.2, -0.9, -1.3]]"), ("target", "[1]")), "mean")
    surf = S.compute_surface(setup, S.Element("input", 1), S.Element("input", 2), resolution=7)
    assert np.all(surf.gy == 0) and not np.all(surf.gx == 0)
    assert any("NLLLoss reads only" in n for n in surf.notes)


def test_ctc_time_step_past_input_length_is_flat() -> None:
    spec = get_loss("CTCLoss")
    t = spec.sample(torch.Generator().manual_seed(0))  # input_lengths [6, 5]: time 5 of sequence 1 is unused
    setup = S.prepare(spec, t)
    shape = tuple(t["log_probs"].shape)
    el = S.Element("log_probs", int(np.ravel_multi_index((5, 1, 0), shape)))
    assert "past sequence 1's input length" in (S.flat_reason(setup, el) or "")


# --------------------------------------------------------------------------- comparisons and reductions


def test_sum_is_n_times_mean() -> None:
    setup = S.setup_for(Example.for_landscape("MSELoss"))  # 3 elements
    el = S.default_elements(setup)[0]
    curves = S.compare_reductions(setup, el, x_range=(-2, 2), resolution=21)
    by = {c.reduction: c for c in curves}
    assert set(by) == {"mean", "sum"}
    np.testing.assert_allclose(by["sum"].values, 3 * by["mean"].values, rtol=1e-6)
    np.testing.assert_allclose(by["sum"].slope, 3 * by["mean"].slope, rtol=1e-6)
    assert S.reduction_ratio(curves)["sum"] == pytest.approx(3.0, rel=1e-6)


def test_regression_family_is_compared_on_the_same_example() -> None:
    setup = S.setup_for(Example.for_landscape("MSELoss"))
    assert S.default_comparison(setup) == ["L1Loss", "SmoothL1Loss", "HuberLoss"]
    el = S.default_elements(setup)[0]
    curves = S.compare_curves(setup, el, S.default_comparison(setup), x_range=(-2, 4), resolution=61)
    assert [c.name for c in curves] == ["MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss"]
    l1 = curves[1]
    assert set(np.round(np.abs(l1.slope[np.abs(l1.xs - 2.0) > 0.1]) * 3, 9)) == {
        1.0
    }  # |slope| = 1/3 (mean of 3)
    assert "CrossEntropyLoss" not in S.comparable_losses(setup)


def test_margin_curves_are_the_classic_shapes() -> None:
    bce, soft, hinge, mse = S.margin_curves(x_range=(-3, 3), resolution=61)
    np.testing.assert_allclose(bce.values, soft.values, rtol=1e-6)  # logistic loss, twice
    np.testing.assert_allclose(bce.values, np.log1p(np.exp(-bce.xs.astype(float))), rtol=1e-6)
    np.testing.assert_allclose(hinge.values, np.maximum(0, 1 - hinge.xs), atol=1e-6)
    np.testing.assert_allclose(mse.values, (mse.xs - 1) ** 2, atol=1e-5)


# --------------------------------------------------------------------------- the example the page starts from


def test_the_landscape_reads_the_explorer_keys() -> None:
    ex, notes = Example.from_query(
        {
            "loss": "CrossEntropyLoss",
            "t_input": "[[1., 2.]]",
            "t_target": "[1]",
            "reduction": "sum",
            "p_label_smoothing": "0.1",
        }
    )
    assert notes == []
    assert (
        ex.loss == "CrossEntropyLoss"
        and ex.reduction == "sum"
        and dict(ex.params) == {"label_smoothing": "0.1"}
    )
    assert S.setup_for(ex).value > 0


def test_one_url_reader_falls_back_with_a_plain_note() -> None:
    ex, notes = Example.from_query({"loss": "NoSuchLoss"})
    assert ex.loss == DEFAULT_LOSS and notes and "unknown loss" in notes[0]
    ex, notes = Example.from_query({"loss": "L1Loss", "t_input": "1, 2", "t_target": "0, 0", "reduction": "max"})
    assert ex.reduction == "mean" and "reduction" in notes[0]
    ex, _ = Example.from_query({"loss": "HuberLoss"})  # no texts: the one example for Huber
    assert ex.texts == default_texts("HuberLoss")
    ex, _ = Example.from_query({})
    assert ex.loss == DEFAULT_LOSS


@pytest.mark.parametrize("name", list_losses())
def test_every_loss_has_a_working_landscape_example(name: str) -> None:
    setup = S.setup_for(Example.for_landscape(name))
    x, y = S.default_elements(setup)
    surf = S.compute_surface(setup, x, y, resolution=5)
    assert np.isfinite(surf.z).any()
    assert not surf.flat, f"{name}'s default pair should show a landscape, not a flat plane"
    for lang in ("en", "zh"):
        assert S.element_label(setup, x) in render(surf.x_title, lang)


def test_coinciding_curves_are_reported() -> None:
    setup = S.setup_for(Example.for_landscape("MSELoss"))
    el = S.default_elements(setup)[0]
    curves = S.compare_curves(
        setup, el, ["L1Loss", "SmoothL1Loss", "HuberLoss"], x_range=(-2, 4), resolution=31
    )
    assert S.coinciding(curves) == [("SmoothL1Loss", "HuberLoss")]  # Huber(δ=1) == SmoothL1(β=1)


def _ctc(**kw: object) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(7)
    return {"log_probs": torch.log_softmax(torch.randn(5, 3, 4, generator=g), 2), **kw}  # type: ignore[dict-item]


BATCH_CASES = {
    "ctc concatenated targets, two sequences varied": (
        "CTCLoss",
        _ctc(
            targets=torch.tensor([1, 2, 3, 1, 2]),
            input_lengths=torch.tensor([5, 4, 5]),
            target_lengths=torch.tensor([2, 1, 2]),
        ),
        ("log_probs", int(np.ravel_multi_index((0, 0, 1), (5, 3, 4)))),
        ("log_probs", int(np.ravel_multi_index((1, 2, 2), (5, 3, 4)))),
        "log_softmax",
    ),
    "ctc padded targets, one unused time step": (
        "CTCLoss",
        _ctc(
            targets=torch.tensor([[1, 2], [3, 3], [2, 0]]),
            input_lengths=torch.tensor([5, 3, 4]),
            target_lengths=torch.tensor([2, 2, 1]),
        ),
        ("log_probs", int(np.ravel_multi_index((2, 1, 3), (5, 3, 4)))),
        ("log_probs", int(np.ravel_multi_index((4, 1, 0), (5, 3, 4)))),
        "none",
    ),
    "ctc unbatched (T, C)": (
        "CTCLoss",
        {
            "log_probs": torch.log_softmax(torch.randn(6, 4, generator=torch.Generator().manual_seed(1)), 1),
            "targets": torch.tensor([1, 3]),
            "input_lengths": torch.tensor(6),
            "target_lengths": torch.tensor(2),
        },
        ("log_probs", 1),
        ("log_probs", 7),
        "none",
    ),
    "multimargin one sample (C)": (
        "MultiMarginLoss",
        {"input": torch.tensor([0.3, -0.2, 0.9]), "target": torch.tensor(1)},
        ("input", 0),
        ("input", 1),
        "none",
    ),
    "multimargin two rows varied": (
        "MultiMarginLoss",
        {
            "input": torch.tensor([[0.3, -0.2, 0.9], [0.1, 0.5, 0.2], [1.0, 0.0, -1.0]]),
            "target": torch.tensor([1, 2, 0]),
        },
        ("input", 1),
        ("input", 7),
        "softmax",
    ),
    "multilabel margin one sample (C)": (
        "MultiLabelMarginLoss",
        {"input": torch.tensor([0.3, -0.2, 0.9, 0.1]), "target": torch.tensor([2, 0, -1, 1])},
        ("input", 0),
        ("input", 3),
        "none",
    ),
}


@pytest.mark.parametrize("case", list(BATCH_CASES))
def test_batch_route_edge_layouts_match_torch(case: str) -> None:
    name, tensors, (sx, ix), (sy, iy), transform = BATCH_CASES[case]
    spec = get_loss(name)
    params = {"weight": "1.0, 2.0, 0.5"} if name == "MultiMarginLoss" else None
    for red in spec.reductions:
        setup = S.prepare(spec, tensors, reduction=red, transform=transform, params=params)
        x, y = S.Element(sx, ix), S.Element(sy, iy)
        surf = S.compute_surface(setup, x, y, x_range=(-3, 1), y_range=(-2, 2), resolution=5)
        for i, j in [(0, 0), (2, 3), (4, 4), (1, 4)]:
            v, (gx, gy) = direct(setup, (x, y), (surf.xs[j], surf.ys[i]))
            assert _close(float(surf.z[i, j]), v), (case, red, i, j)
            assert _close(float(surf.gx[i, j]), gx) and _close(float(surf.gy[i, j]), gy), (case, red, i, j)


CE_LOGITS = "[[0.2, -0.4, 1.1, 0.3], [0.5, 0.1, -0.2, 0.9], [1.5, 0.2, 0.0, -1.0]]"
CE_CASES = {
    "weights and ignore_index": ({"target": "2, -100, 0"}, {"weight": "1.0, 2.0, 0.5, 3.0"}),
    "label smoothing with weights": (
        {"target": "2, 1, 0"},
        {"weight": "1.0, 2.0, 0.5, 3.0", "label_smoothing": "0.2"},
    ),
    "probability targets": (
        {"target": "[[0.1, 0.2, 0.6, 0.1], [0., 1., 0., 0.], [0.25, 0.25, 0.25, 0.25]]"},
        {"weight": "1.0, 2.0, 0.5, 3.0"},
    ),
    "one sample (C)": ({"input": "0.2, -0.4, 1.1, 0.3", "target": "2"}, {}),
    "every sample ignored": ({"target": "-100, -100, -100"}, {}),
    "image-shaped (N, C, H, W)": (
        {"input": "[[[[0.2, 0.1]], [[-0.4, 0.3]], [[1.1, -0.2]]]]", "target": "[[[2, 0]]]"},
        {},
    ),
}


@pytest.mark.parametrize("case", list(CE_CASES))
def test_cross_entropy_fast_route_matches_torch(case: str) -> None:
    texts, params = CE_CASES[case]
    texts = {"input": CE_LOGITS, **texts}
    for red in ("mean", "sum", "none"):
        setup = _old_setup(
            "CrossEntropyLoss", tuple(texts.items()), red, "none", tuple(params.items())
        )
        n = setup.raw["input"].numel()
        x, y = S.Element("input", 0), S.Element("input", n - 1)
        surf = S.compute_surface(setup, x, y, x_range=(-2, 2), y_range=(-1, 3), resolution=5)
        want_method = (
            "vmap" if case.startswith("image") or (case.startswith("every") and red == "mean") else "batch"
        )
        assert surf.method == want_method, (case, red)
        for i, j in [(0, 0), (2, 3), (4, 4)]:
            v, (gx, gy) = direct(setup, (x, y), (surf.xs[j], surf.ys[i]))
            assert _close(float(surf.z[i, j]), v), (case, red, i, j, float(surf.z[i, j]), v)
            assert _close(float(surf.gx[i, j]), gx) and _close(float(surf.gy[i, j]), gy), (case, red, i, j)


def test_focal_loss_curves_overlay_its_gamma_family() -> None:
    """The loss-curve view of sigmoid_focal_loss draws one curve per γ (the spec's curve_family), each equal to
    torchvision's own sigmoid_focal_loss at that γ."""
    import torch
    from torchvision.ops import sigmoid_focal_loss

    from lossviz.landscape import Element, compare_curves, family_curves, prepare
    from lossviz.losses import get_loss

    spec = get_loss("sigmoid_focal_loss")
    z = torch.tensor([0.5, -1.0, 2.0])
    y = torch.tensor([1.0, 0.0, 0.0])
    setup = prepare(spec, {"inputs": z, "targets": y}, reduction="sum")
    el = Element("inputs", 0)
    fam = family_curves(setup, el, x_range=(-4.0, 4.0), resolution=41)
    name, gammas = spec.curve_family
    assert name == "gamma" and [c.name for c in fam] == [f"gamma = {g:g}" for g in gammas]
    for curve, g in zip(fam, gammas, strict=True):
        for i in (0, 17, 40):
            zz = z.clone()
            zz[0] = float(curve.xs[i])
            want = float(sigmoid_focal_loss(zz, y, alpha=0.25, gamma=g, reduction="sum"))
            assert curve.values[i] == pytest.approx(want, rel=1e-5, abs=1e-6)
    # the larger γ, the smaller the loss of the well-classified end (z ≫ 0 with y = 1)
    ends = [c.values[-1] for c in fam]
    assert ends == sorted(ends, reverse=True)
    assert [c.name for c in compare_curves(setup, el, [], x_range=(-4.0, 4.0), resolution=41)][1:] == [c.name for c in fam]
    assert family_curves(prepare(get_loss("MSELoss"), {"input": z, "target": y}), Element("input", 0)) == []
