"""evaluate() against torch itself: values, per-element losses and gradients, every loss and reduction."""

from __future__ import annotations

import itertools

import pytest
import torch
import torchvision

from lossviz.cli.json_out import result_json
from lossviz.errors import LossvizInputError
from lossviz.losses import get_loss, list_losses
from lossviz.losses.evaluate import evaluate, evaluate_text

CASES = [(n, r) for n in list_losses() for r in get_loss(n).reductions]


def _reference(name: str, tensors: dict, reduction: str, params: dict | None = None):
    """The plain PyTorch way: module, forward, backward — nothing from lossviz but the slot names."""
    spec = get_loss(name)
    params = params or {}
    leaves = {}
    args = []
    for s in spec.slots:
        t = tensors[s.name].clone()
        if s.role == "prediction":
            t = t.float().requires_grad_(True)
            leaves[s.name] = t
        elif t.is_floating_point() or name not in ("CrossEntropyLoss", "NLLLoss", "MultiMarginLoss",
                                                    "MultiLabelMarginLoss", "CTCLoss"):
            t = t.float() if not t.is_floating_point() else t
        args.append(t)
    if spec.function:  # torchvision's detection losses are functions: call the function itself
        fn = getattr(torchvision.ops, name)
        out = fn(*args, reduction=reduction, **params)
        out.backward(torch.ones_like(out) if out.dim() else None)
        none = fn(*[a.detach() for a in args], reduction="none", **params)
        return out.detach(), none.detach(), {k: v.grad for k, v in leaves.items()}
    out = getattr(torch.nn, name)(reduction=reduction, **params)(*args)
    out.backward(torch.ones_like(out) if out.dim() else None)
    none = getattr(torch.nn, name)(reduction="none", **params)(*[a.detach() for a in args])
    return out.detach(), none.detach(), {k: v.grad for k, v in leaves.items()}


@pytest.mark.parametrize(("name", "reduction"), CASES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_torch(name: str, reduction: str, seed: int) -> None:
    spec = get_loss(name)
    tensors = spec.sample(torch.Generator().manual_seed(seed))
    r = evaluate(name, tensors, reduction=reduction)
    out, none, grads = _reference(name, tensors, reduction)
    torch.testing.assert_close(r.output, out, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(r.per_element, none, rtol=1e-6, atol=1e-7)
    assert set(r.grads) == {s.name for s in spec.predictions}
    for k, g in grads.items():
        torch.testing.assert_close(r.grads[k], g, rtol=1e-6, atol=1e-7)
    js = result_json(r)
    assert set(js) == {"loss", "reduction", "value", "per_element", "grad", "input_shape", "warnings"}
    assert isinstance(js["grad"], dict) == (len(spec.predictions) > 1)


# ---------------------------------------------------------------- CrossEntropyLoss in all its real forms

CE_FORMS = {
    "indices (N, C)": (torch.randn(4, 5), torch.tensor([0, 3, 1, 4])),
    "probabilities (N, C)": (torch.randn(4, 5), torch.softmax(torch.randn(4, 5), 1)),
    "unbatched (C) vs ()": (torch.randn(5), torch.tensor(2)),
    "unbatched (C) vs probabilities (C)": (torch.randn(5), torch.softmax(torch.randn(5), 0)),
    "segmentation (N, C, H, W) vs (N, H, W)": (torch.randn(2, 3, 4, 4), torch.randint(0, 3, (2, 4, 4))),
    "segmentation probabilities": (torch.randn(2, 3, 4, 4), torch.softmax(torch.randn(2, 3, 4, 4), 1)),
}
CE_PARAMS = [
    {},
    {"label_smoothing": 0.1},
    {"weight": "WEIGHT"},
    {"weight": "WEIGHT", "label_smoothing": 0.25},
    {"ignore_index": 1},
]


@pytest.mark.parametrize(("form", "reduction", "params"),
                         list(itertools.product(CE_FORMS, ["none", "mean", "sum"], range(len(CE_PARAMS)))))
def test_cross_entropy_forms(form: str, reduction: str, params: int) -> None:
    torch.manual_seed(0)
    x, y = CE_FORMS[form]
    c = x.shape[0] if x.dim() == 1 else x.shape[1]
    p = dict(CE_PARAMS[params])
    if p.get("weight") == "WEIGHT":
        p["weight"] = torch.linspace(0.5, 2.0, c)
    if "ignore_index" in p and y.is_floating_point():
        with pytest.raises(LossvizInputError, match="ignore_index only applies to class-index targets"):
            evaluate("CrossEntropyLoss", {"input": x, "target": y}, reduction=reduction, params=p)
        with pytest.raises(RuntimeError):  # torch refuses it too
            _reference("CrossEntropyLoss", {"input": x, "target": y}, reduction, p)
        return
    r = evaluate("CrossEntropyLoss", {"input": x, "target": y}, reduction=reduction, params=p)
    out, none, grads = _reference("CrossEntropyLoss", {"input": x, "target": y}, reduction, p)
    torch.testing.assert_close(r.output, out)
    torch.testing.assert_close(r.per_element, none)
    torch.testing.assert_close(r.grads["input"], grads["input"])


# ---------------------------------------------------------------- the tutorials' mistakes, and other bad input


def test_batch_size_mismatch_is_explained() -> None:
    with pytest.raises(LossvizInputError) as err:
        evaluate_text("CrossEntropyLoss", {"input": "[[0.1, 0.2, 0.3]]", "target": "[1, 0, 1]"})
    msg = str(err.value)
    assert "3 class indices" in msg and "1 row" in msg and "batch size 1" in msg


def test_kl_integer_target_is_explained() -> None:
    with pytest.raises(LossvizInputError, match="whole numbers.*probability distribution"):
        evaluate_text("KLDivLoss", {"input": "[[-1.2, -0.5, -2.0]]", "target": "[[0, 1, 0]]"})


def test_hinge_zero_label_warns_but_computes_like_torch() -> None:
    r = evaluate_text("HingeEmbeddingLoss", {"input": "0.3, 1.5, 0.2", "target": "1, 0, -1"})
    assert any("1 or -1" in w and "found 0" in w for w in r.warnings)
    ref = torch.nn.HingeEmbeddingLoss()(torch.tensor([0.3, 1.5, 0.2]), torch.tensor([1.0, 0.0, -1.0]))
    assert r.value == pytest.approx(float(ref.detach()))


@pytest.mark.parametrize(
    ("loss", "texts", "params", "warning"),
    [
        ("CrossEntropyLoss", {"input": "[[0.2, 0.3, 0.5]]", "target": "[2]"}, {}, "already look like probabilities"),
        ("KLDivLoss", {"input": "[[-1.0, -0.5]]", "target": "[[0.4, 0.6]]"}, {}, "batchmean"),  # torch's default 'mean': the batchmean advice only
        ("BCELoss", {"input": "0, 0.5, 1", "target": "0., 1., 1."}, {}, "clamps the log at -100"),
        ("KLDivLoss", {"input": "[-1.0]", "target": "[-0.5]"}, {}, "negative values"),
        ("BCEWithLogitsLoss", {"input": "1., 2.", "target": "1.5, 0."}, {}, "outside [0, 1]"),
        ("SoftMarginLoss", {"input": "0.3, -1", "target": "1, 0"}, {}, "1 or -1"),
        ("NLLLoss", {"input": "[[1.0, 2.0]]", "target": "[0]"}, {}, "log-probabilities"),
        ("MSELoss", {"input": "[[1.0], [2.0]]", "target": "1, 2"}, {}, "broadcasts"),
    ],
)
def test_suspicious_input_warns(loss: str, texts: dict, params: dict, warning: str | None) -> None:
    r = evaluate_text(loss, texts, params=params)
    if warning is None:
        assert r.warnings == []
    else:
        assert any(warning in w for w in r.warnings), r.warnings


def test_kl_mean_points_to_batchmean() -> None:
    r = evaluate_text("KLDivLoss", {"input": "[[-1.0, -0.5]]", "target": "[[0.4, 0.6]]"}, reduction="mean")
    assert any("batchmean" in w for w in r.warnings)


def test_transforms_match_the_tutorials() -> None:
    x = torch.tensor([0.8, -1.2, 0.3])
    y = torch.tensor([1.0, 0.0, 1.0])
    r = evaluate("BCELoss", {"input": x, "target": y}, transform="sigmoid")
    leaf = x.clone().requires_grad_(True)
    ref = torch.nn.BCELoss()(torch.sigmoid(leaf), y)
    ref.backward()
    assert r.value == pytest.approx(float(ref.detach()))
    torch.testing.assert_close(r.grads["input"], leaf.grad)  # gradient w.r.t. the raw score
    torch.testing.assert_close(r.grads["input"], (torch.sigmoid(x) - y) / 3)

    z = torch.randn(3, 4)
    t = torch.tensor([1, 0, 3])
    nll = evaluate("NLLLoss", {"input": z, "target": t}, transform="log_softmax")
    ce = evaluate("CrossEntropyLoss", {"input": z, "target": t})
    assert nll.value == pytest.approx(ce.value)
    torch.testing.assert_close(nll.grads["input"], ce.grads["input"])


def test_reshape_then_evaluate() -> None:
    r = evaluate_text("L1Loss", {"input": "1, 2, 3", "target": "1, 2, 5"}, reduction="sum",
                      shapes={"input": "(1, 1, 1, 3)", "target": "(1, 1, 1, 3)"})
    assert r.value == 2.0
    assert r.input_shape == (1, 1, 1, 3)
    torch.testing.assert_close(r.grads["input"], torch.tensor([[[[0.0, 0.0, -1.0]]]]))


BAD = [
    ("CrossEntropyLoss", {"input": "[[0.1, 0.2, 0.3]]", "target": "[1.0]"}, {}, "whole numbers"),
    ("CrossEntropyLoss", {"input": "[[0.1, 0.2, 0.3]]", "target": "[3]"}, {}, "out of range"),
    ("CrossEntropyLoss", {"input": "[[0.1, 0.2, 0.3]]", "target": "[-1]"}, {}, "out of range"),
    ("CrossEntropyLoss", {"input": "[[0.1, 0.2, 0.3]]", "target": "[1]"}, {"weight": "1, 2"}, "weight has 2"),
    ("CrossEntropyLoss", {"input": "[[0.1, 0.2, 0.3]]", "target": "[1]"}, {"label_smoothing": "2"}, "label_smoothing"),
    ("CrossEntropyLoss", {"input": "0.5", "target": "0"}, {}, "single number"),
    ("NLLLoss", {"input": "[[-0.1, -2.3]]", "target": "[[0.5, 0.5]]"}, {}, "class indices"),
    ("BCELoss", {"input": "1.5, 0.2", "target": "1., 0."}, {}, "sigmoid"),
    ("BCELoss", {"input": "0.5, 0.2", "target": "1, 0"}, {}, "write the labels with decimals"),
    ("BCELoss", {"input": "0.5, 0.2", "target": "2., 0."}, {}, "target must be in"),
    ("BCEWithLogitsLoss", {"input": "[[1, 2, 3]]", "target": "[[1., 0., 1.]]"}, {"pos_weight": "1, 2"}, "pos_weight"),
    ("GaussianNLLLoss", {"input": "1, 2", "target": "1, 2", "var": "-1, 1"}, {}, "negative"),
    ("MSELoss", {"input": "1, 2, 3", "target": "1, 2"}, {}, "same shape"),
    ("HuberLoss", {"input": "1, 2", "target": "1, 2"}, {"delta": "0"}, "delta"),
    ("TripletMarginLoss", {"anchor": "1, 2", "positive": "1, 2", "negative": "1"}, {}, "same shape"),
    ("MultiLabelMarginLoss", {"input": "[[0.1, 0.2]]", "target": "[[0.0, 1.0]]"}, {}, "padded with -1"),
    ("CTCLoss", {"log_probs": "[[-1.0, -0.5]]", "targets": "[1]", "input_lengths": "[1]", "target_lengths": "[2]"},
     {}, "add up"),
    ("MSELoss", {"input": "1, 2", "target": "1, 2"}, {"margin": "1"}, "no parameter 'margin'"),
]


@pytest.mark.parametrize(("loss", "texts", "params", "words"), BAD)
def test_bad_input_gets_a_plain_message(loss: str, texts: dict, params: dict, words: str) -> None:
    with pytest.raises(LossvizInputError, match=words):
        evaluate_text(loss, texts, params=params)


def test_reduction_must_exist() -> None:
    with pytest.raises(LossvizInputError, match="batchmean"):
        evaluate_text("MSELoss", {"input": "1", "target": "1"}, reduction="batchmean")


def test_ctc_impossible_alignment_is_flagged() -> None:
    r = evaluate_text("CTCLoss", {"log_probs": "[[-0.7, -0.7]]", "targets": "[1, 1]",
                                  "input_lengths": "[1]", "target_lengths": "[2]"})
    assert any("zero_infinity" in w for w in r.warnings)
