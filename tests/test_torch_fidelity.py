"""What torch accepts, lossviz accepts: every catalog loss against torch's own functional call.

The rule (issue 9): for every loss and every combination of shapes, dtypes, parameters and
reductions, lossviz's value, per-element loss and gradient equal torch's functional call on the
same tensors, or torch itself raises and lossviz raises one ``LossvizInputError`` sentence. A
refusal where torch computes is a bug (a warning is fine); a result where torch refuses is a bug.

The cases come from each loss's documented ``Shape:`` section and argument rules in the torch
(and torchvision) docs: every shape form listed there, broadcasting included (``DOC_CASES``), and
hypothesis drawing shapes, dtypes (float32 / int64 as the parser makes them), values, parameters
and reductions around those forms (``test_hypothesis_against_torch``). The reference is always the
functional call (``torch.nn.functional`` / ``torchvision.ops``), never lossviz's module.

How many combinations were compared and how many torch itself refused is printed at the end of
the module and written to ``test-artifacts/torch_fidelity_counts.json``.
"""

from __future__ import annotations

import json
import math
import re
import sys
import warnings
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
import torchvision
import torchvision.ops as tvops
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lossviz.errors import LossvizInputError
from lossviz.explore import agreement, explain, make_loss_figure, snippet
from lossviz.i18n import render
from lossviz.losses import evaluate, evaluate_text, get_loss, list_losses

Tensor = torch.Tensor
Args = dict[str, Tensor]

# --------------------------------------------------------------------------- torch's own calls


def _cosine_distance(x: Tensor, y: Tensor) -> Tensor:
    """The distance in torch's TripletMarginWithDistanceLoss docs: ``1.0 - F.cosine_similarity(x, y)``."""
    return 1.0 - F.cosine_similarity(x, y)


_DISTANCES: dict[str, Callable[[Tensor, Tensor], Tensor]] = {
    "pairwise_distance": F.pairwise_distance,
    "cosine_distance": _cosine_distance,
}


def _kw(params: dict[str, Any], *names: str) -> dict[str, Any]:
    return {k: params[k] for k in names if k in params and params[k] is not None}


#: loss name -> (tensors, params, reduction) -> torch's functional call
REFERENCE: dict[str, Callable[[Args, dict[str, Any], str], Tensor]] = {
    "L1Loss": lambda t, p, r: F.l1_loss(t["input"], t["target"], reduction=r),
    "MSELoss": lambda t, p, r: F.mse_loss(t["input"], t["target"], reduction=r),
    "SmoothL1Loss": lambda t, p, r: F.smooth_l1_loss(t["input"], t["target"], reduction=r, **_kw(p, "beta")),
    "HuberLoss": lambda t, p, r: F.huber_loss(t["input"], t["target"], reduction=r, **_kw(p, "delta")),
    "CrossEntropyLoss": lambda t, p, r: F.cross_entropy(
        t["input"], t["target"], reduction=r, **_kw(p, "weight", "ignore_index", "label_smoothing")),
    "NLLLoss": lambda t, p, r: F.nll_loss(t["input"], t["target"], reduction=r, **_kw(p, "weight", "ignore_index")),
    "BCELoss": lambda t, p, r: F.binary_cross_entropy(t["input"], t["target"], reduction=r, **_kw(p, "weight")),
    "BCEWithLogitsLoss": lambda t, p, r: F.binary_cross_entropy_with_logits(
        t["input"], t["target"], reduction=r, **_kw(p, "weight", "pos_weight")),
    "KLDivLoss": lambda t, p, r: F.kl_div(t["input"], t["target"], reduction=r, **_kw(p, "log_target")),
    "HingeEmbeddingLoss": lambda t, p, r: F.hinge_embedding_loss(
        t["input"], t["target"], reduction=r, **_kw(p, "margin")),
    "SoftMarginLoss": lambda t, p, r: F.soft_margin_loss(t["input"], t["target"], reduction=r),
    "MultiLabelSoftMarginLoss": lambda t, p, r: F.multilabel_soft_margin_loss(
        t["input"], t["target"], reduction=r, **_kw(p, "weight")),
    "MultiMarginLoss": lambda t, p, r: F.multi_margin_loss(
        t["input"], t["target"], reduction=r, **_kw(p, "p", "margin", "weight")),
    "MultiLabelMarginLoss": lambda t, p, r: F.multilabel_margin_loss(t["input"], t["target"], reduction=r),
    "PoissonNLLLoss": lambda t, p, r: F.poisson_nll_loss(
        t["input"], t["target"], reduction=r, **_kw(p, "log_input", "full", "eps")),
    "GaussianNLLLoss": lambda t, p, r: F.gaussian_nll_loss(
        t["input"], t["target"], t["var"], reduction=r, **_kw(p, "full", "eps")),
    "MarginRankingLoss": lambda t, p, r: F.margin_ranking_loss(
        t["input1"], t["input2"], t["target"], reduction=r, **_kw(p, "margin")),
    "CosineEmbeddingLoss": lambda t, p, r: F.cosine_embedding_loss(
        t["input1"], t["input2"], t["target"], reduction=r, **_kw(p, "margin")),
    "TripletMarginLoss": lambda t, p, r: F.triplet_margin_loss(
        t["anchor"], t["positive"], t["negative"], reduction=r, **_kw(p, "margin", "p", "eps", "swap")),
    "TripletMarginWithDistanceLoss": lambda t, p, r: F.triplet_margin_with_distance_loss(
        t["anchor"], t["positive"], t["negative"], reduction=r,
        distance_function=_DISTANCES[p.get("distance_function", "pairwise_distance")], **_kw(p, "margin", "swap")),
    "CTCLoss": lambda t, p, r: F.ctc_loss(
        t["log_probs"], t["targets"], t["input_lengths"], t["target_lengths"], reduction=r,
        **_kw(p, "blank", "zero_infinity")),
    "sigmoid_focal_loss": lambda t, p, r: tvops.sigmoid_focal_loss(
        t["inputs"], t["targets"], reduction=r, **_kw(p, "alpha", "gamma")),
    "generalized_box_iou_loss": lambda t, p, r: tvops.generalized_box_iou_loss(
        t["boxes1"], t["boxes2"], reduction=r, **_kw(p, "eps")),
    "distance_box_iou_loss": lambda t, p, r: tvops.distance_box_iou_loss(
        t["boxes1"], t["boxes2"], reduction=r, **_kw(p, "eps")),
    "complete_box_iou_loss": lambda t, p, r: tvops.complete_box_iou_loss(
        t["boxes1"], t["boxes2"], reduction=r, **_kw(p, "eps")),
}

# --------------------------------------------------------------------------- the comparison

COUNTS: Counter[str] = Counter()
PER_LOSS: dict[str, Counter[str]] = {}
#: refusals explained only by quoting torch's own message (no checker sentence), by loss
QUOTED: dict[str, set[str]] = defaultdict(set)


def _torch_call(name: str, tensors: Args, params: dict[str, Any], reduction: str
                ) -> tuple[Tensor, Tensor, dict[str, Tensor]] | BaseException:
    """Torch's value, per-element loss and gradients, or the exception torch raised."""
    spec = get_loss(name)
    leaves: dict[str, Tensor] = {}
    args: Args = {}
    for slot in spec.slots:
        t = tensors[slot.name]
        if slot.differentiable:  # a prediction is a float leaf (an integer tensor cannot require grad)
            leaf = t.detach().to(t.dtype if t.is_floating_point() else torch.float32).clone().requires_grad_(True)
            leaves[slot.name] = leaf
            args[slot.name] = leaf
        else:
            args[slot.name] = t
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = REFERENCE[name](args, params, reduction)
            per = REFERENCE[name]({k: v.detach() for k, v in args.items()}, params, "none").detach()
            grads: dict[str, Tensor] = {}
            if out.requires_grad:
                got = torch.autograd.grad(out, list(leaves.values()),
                                          grad_outputs=torch.ones_like(out) if out.dim() else None,
                                          allow_unused=True)
                grads = {k: (torch.zeros_like(v) if g is None else g) for (k, v), g in zip(leaves.items(), got,
                                                                                             strict=True)}
            else:
                grads = {k: torch.zeros_like(v) for k, v in leaves.items()}
    except Exception as exc:  # noqa: BLE001 - whatever torch raises is the answer
        return exc
    return out.detach(), per, grads


def compare(name: str, tensors: Args, params: dict[str, Any], reduction: str) -> str:
    """Run both; assert the rule; return "compared" or "torch refuses"."""
    ref = _torch_call(name, tensors, params, reduction)
    try:
        r = evaluate(name, tensors, reduction=reduction, params=params)
        lv_error: LossvizInputError | None = None
    except LossvizInputError as exc:
        lv_error = exc
    per_loss = PER_LOSS.setdefault(name, Counter())
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    dtypes = {k: str(v.dtype).replace("torch.", "") for k, v in tensors.items()}
    where = f"{name} {shapes} {dtypes} params={params} reduction={reduction}"
    if isinstance(ref, BaseException):
        assert lv_error is not None, f"lossviz computed what torch refuses ({type(ref).__name__}: {ref}): {where}"
        message = str(lv_error)
        assert message.strip() and "Traceback" not in message and len(message) < 700, message
        COUNTS["torch refuses"] += 1
        per_loss["torch refuses"] += 1
        if "PyTorch rejected these tensors" in message:  # lossviz's checker had no sentence of its own
            COUNTS["quoted"] += 1
            QUOTED[name].add(message[:160])
        return "torch refuses"
    assert lv_error is None, f"lossviz refused what torch computes: {lv_error} -- {where}"
    out, per, grads = ref
    tol = {"rtol": 1e-5, "atol": 1e-6, "equal_nan": True, "check_dtype": False}
    torch.testing.assert_close(r.output, out, msg=lambda m: f"value: {m} -- {where}", **tol)
    torch.testing.assert_close(r.per_element, per, msg=lambda m: f"per element: {m} -- {where}", **tol)
    assert set(r.grads) == set(grads), where
    for k, g in grads.items():
        torch.testing.assert_close(r.grads[k], g, rtol=1e-4, atol=1e-5, equal_nan=True, check_dtype=False,
                                   msg=lambda m, k=k: f"grad {k}: {m} -- {where}")
    COUNTS["compared"] += 1
    per_loss["compared"] += 1
    return "compared"


@pytest.fixture(scope="module", autouse=True)
def _report_counts() -> Iterator[None]:
    yield
    record = {"compared": COUNTS["compared"], "torch_refuses": COUNTS["torch refuses"],
              "refusals_quoting_torch": COUNTS["quoted"],
              "quoted_messages": {k: sorted(v) for k, v in sorted(QUOTED.items())},
              "per_loss": {k: dict(v) for k, v in sorted(PER_LOSS.items())}}
    out = Path(__file__).resolve().parent.parent / "test-artifacts"
    out.mkdir(exist_ok=True)
    (out / "torch_fidelity_counts.json").write_text(json.dumps(record, indent=1))
    sys.__stdout__.write(f"\ntorch fidelity: {record['compared']} combinations compared with torch, "
                         f"{record['torch_refuses']} refused by torch itself (and explained by lossviz)\n")


def test_reference_covers_the_whole_registry() -> None:
    assert set(REFERENCE) == set(list_losses())


def test_torchvision_is_importable_and_used() -> None:
    """The detection entries call torchvision itself (the partner of the pinned torch)."""
    assert torchvision.__version__
    spec = get_loss("generalized_box_iou_loss")
    assert spec.function == "torchvision.ops.generalized_box_iou_loss"
    assert spec.cls.fn is tvops.generalized_box_iou_loss


# --------------------------------------------------------------------------- documented shape forms


def _f(*shape: int, lo: float = -2.0, hi: float = 2.0, seed: int = 0) -> Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g) * (hi - lo) + lo


def _i(high: int, *shape: int, seed: int = 0) -> Tensor:
    return torch.randint(0, high, shape, generator=torch.Generator().manual_seed(seed))


def _pm(*shape: int, seed: int = 0) -> Tensor:
    return (_i(2, *shape, seed=seed) * 2 - 1).to(torch.float32)


def _boxes(*lead: int, seed: int = 0) -> Tensor:
    xy = _f(*lead, 2, lo=0, hi=4, seed=seed)
    return torch.cat([xy, xy + _f(*lead, 2, lo=0.5, hi=3, seed=seed + 1)], dim=-1)


def _doc_cases() -> Iterator[tuple[str, str, Args, dict[str, Any]]]:
    """(loss, form, tensors, params): each Shape form of the docs, plus the broadcasts they allow."""
    for name in ("L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "SoftMarginLoss", "PoissonNLLLoss"):
        tgt = _pm if name == "SoftMarginLoss" else (lambda *s, seed=0: _f(*s, lo=0, hi=4, seed=seed))
        for shape in [(), (3,), (2, 3), (2, 3, 4)]:
            yield name, f"(*)={shape}", {"input": _f(*shape), "target": tgt(*shape, seed=1)}, {}
        yield name, "broadcast (2,3)/(3,)", {"input": _f(2, 3), "target": tgt(3, seed=1)}, {}
        yield name, "broadcast (2,3)/(2,1)", {"input": _f(2, 3), "target": tgt(2, 1, seed=1)}, {}
        yield name, "no broadcast (2,3)/(2,) (torch refuses)", {"input": _f(2, 3), "target": tgt(2, seed=1)}, {}
    for shape in [(), (3,), (2, 3)]:
        yield "HingeEmbeddingLoss", f"(*)={shape}", {"input": _f(*shape, lo=0), "target": _pm(*shape)}, {}
        yield "KLDivLoss", f"(*)={shape}", {"input": torch.log(_f(*shape, lo=0.1, hi=1)),
                                            "target": _f(*shape, lo=0, hi=1, seed=1)}, {}
        yield "BCELoss", f"(*)={shape}", {"input": _f(*shape, lo=0.05, hi=0.95),
                                          "target": _i(2, *shape).float()}, {}
        yield "BCEWithLogitsLoss", f"(*)={shape}", {"input": _f(*shape), "target": _i(2, *shape).float()}, {}
        yield "sigmoid_focal_loss", f"arbitrary shape {shape}", {"inputs": _f(*shape),
                                                                 "targets": _i(2, *shape).float()}, {}
    yield "KLDivLoss", "broadcast (2,3)/(3,)", {"input": torch.log(_f(2, 3, lo=0.1, hi=1)), "target": _f(3, lo=0, hi=1)}, {}
    yield "BCEWithLogitsLoss", "pos_weight (C)", {"input": _f(4, 3), "target": _i(2, 4, 3).float()}, {
        "pos_weight": torch.tensor([1.0, 2.0, 3.0])}
    yield "BCEWithLogitsLoss", "pos_weight (N,1)", {"input": _f(4, 3), "target": _i(2, 4, 3).float()}, {
        "pos_weight": torch.tensor([[1.0], [2.0], [3.0], [0.5]]).reshape(4, 1)}
    yield "BCELoss", "integer target (torch refuses)", {"input": _f(3, lo=0.1, hi=0.9), "target": _i(2, 3)}, {}
    yield "BCEWithLogitsLoss", "integer target (torch refuses)", {"input": _f(3), "target": _i(2, 3)}, {}
    yield "sigmoid_focal_loss", "integer targets (torch refuses)", {"inputs": _f(3), "targets": _i(2, 3)}, {}
    # classification: (C), (N, C), (N, C, d1, ...); targets (), (N), (N, d1, ...) or probabilities
    for name in ("CrossEntropyLoss", "NLLLoss"):
        x_of = (lambda *s: _f(*s)) if name == "CrossEntropyLoss" else (lambda *s: torch.log_softmax(_f(*s), dim=0 if len(s) == 1 else 1))
        yield name, "(C)/()", {"input": x_of(4), "target": torch.tensor(2)}, {}
        # torch computes the value but its backward fails ("size mismatch"): no gradient, so it counts as refused
        yield name, "(C)/(1,) (torch refuses: backward fails)", {"input": x_of(4), "target": torch.tensor([2])}, {}
        yield name, "(N,C)/(N)", {"input": x_of(3, 4), "target": _i(4, 3)}, {}
        yield name, "(N,C,d1)/(N,d1)", {"input": x_of(2, 4, 3), "target": _i(4, 2, 3)}, {}
        yield name, "(N,C,d1,d2)/(N,d1,d2)", {"input": x_of(2, 4, 3, 2), "target": _i(4, 2, 3, 2)}, {}
        yield name, "(N,C)/(N) weight", {"input": x_of(3, 4), "target": _i(4, 3)}, {"weight": torch.tensor([1., 2, 0.5, 1])}
        yield name, "(N,C)/(N) negative weight", {"input": x_of(3, 4), "target": _i(4, 3)}, {
            "weight": torch.tensor([1., -2, 0.5, 1])}
        yield name, "(N,C)/(N) ignore_index", {"input": x_of(3, 4), "target": torch.tensor([0, -100, 3])}, {}
        yield name, "(N,C)/(N,1) (torch refuses)", {"input": x_of(3, 4), "target": _i(4, 3, 1)}, {}
        yield name, "index out of range (torch refuses)", {"input": x_of(3, 4), "target": torch.tensor([0, 4, 1])}, {}
        yield name, "float indices (torch refuses)", {"input": x_of(3, 4), "target": torch.tensor([0.0, 1.0, 1.0])}, {}
    for shape in [(4,), (3, 4), (2, 4, 3)]:
        cdim = 0 if len(shape) == 1 else 1
        probs = torch.softmax(_f(*shape, seed=2), dim=cdim)
        yield "CrossEntropyLoss", f"probabilities {shape}", {"input": _f(*shape), "target": probs}, {
            "label_smoothing": 0.1}
    onehot = torch.tensor([[1, 0, 0, 0], [0, 1, 0, 0]])
    yield "CrossEntropyLoss", "integer one-hot (torch refuses)", {"input": _f(2, 4), "target": onehot}, {}
    yield "CrossEntropyLoss", "float one-hot", {"input": _f(2, 4), "target": onehot.float()}, {}
    yield "CrossEntropyLoss", "probabilities outside [0, 1]", {"input": _f(2, 3), "target": torch.tensor(
        [[2.0, -1.0, 0.0], [0.0, 1.0, 0.0]])}, {}
    yield "CrossEntropyLoss", "negative label_smoothing", {"input": _f(2, 3), "target": torch.tensor([0, 2])}, {
        "label_smoothing": -0.1}
    # multi-label / multi-class margins
    yield "MultiLabelSoftMarginLoss", "(N,C)", {"input": _f(3, 4), "target": _i(2, 3, 4)}, {}
    yield "MultiLabelSoftMarginLoss", "(C)", {"input": _f(4), "target": _i(2, 4).float()}, {}
    yield "MultiLabelSoftMarginLoss", "(N,C) negative weight", {"input": _f(3, 4), "target": _i(2, 3, 4).float()}, {
        "weight": torch.tensor([1.0, -1.0, 2.0, 0.5])}
    for form, x, y in [("(N,C)/(N)", _f(3, 4), _i(4, 3)), ("(C)/()", _f(4), torch.tensor(1)),
                       ("(C)/(1,)", _f(4), torch.tensor([1])), ("(1,C)/()", _f(1, 4), torch.tensor(1)),
                       ("()/()", _f(), torch.tensor(0)), ("(N,C)/(N,1) (torch refuses)", _f(3, 4), _i(4, 3, 1))]:
        yield "MultiMarginLoss", form, {"input": x, "target": y}, {}
    yield "MultiMarginLoss", "negative weight", {"input": _f(3, 4), "target": _i(4, 3)}, {
        "weight": torch.tensor([1.0, -1.0, 2.0, 0.5]), "p": 2, "margin": 0.5}
    mlm = torch.tensor([[3, 0, -1, 1], [1, 2, 3, -1]])
    for form, x, y in [("(N,C)", _f(2, 4), mlm), ("(C)", _f(4), mlm[0]), ("()/(1,)", _f(), torch.tensor([0])),
                       ("(1,C)/(C) (torch refuses)", _f(1, 4), mlm[0])]:
        yield "MultiLabelMarginLoss", form, {"input": x, "target": y}, {}
    # Gaussian NLL: every form of its Shape section
    x55 = _f(5, 5)
    for form, y, v in [("same", _f(5, 5, seed=1), _f(5, 5, lo=0.1, hi=2, seed=2)),
                       ("target (5,1)", _f(5, 1, seed=1), _f(5, 5, lo=0.1, hi=2, seed=2)),
                       ("target (1,5)", _f(1, 5, seed=1), _f(5, 5, lo=0.1, hi=2, seed=2)),
                       ("target (5,)", _f(5, seed=1), _f(5, 5, lo=0.1, hi=2, seed=2)),
                       ("var (5,1)", _f(5, 5, seed=1), _f(5, 1, lo=0.1, hi=2, seed=2)),
                       ("var (1,5)", _f(5, 5, seed=1), _f(1, 5, lo=0.1, hi=2, seed=2)),
                       ("var (5,) one fewer dim", _f(5, 5, seed=1), _f(5, lo=0.1, hi=2, seed=2)),
                       ("var (1,) (torch refuses)", _f(5, 5, seed=1), _f(1, lo=0.1, hi=2, seed=2)),
                       ("var (5,2) (torch refuses)", _f(5, 5, seed=1), _f(5, 2, lo=0.1, hi=2, seed=2))]:
        yield "GaussianNLLLoss", form, {"input": x55, "target": y, "var": v}, {}
    for form, y, v in [("(*): (5,)/()", _f((), seed=1) if False else _f(seed=1), _f(5, lo=0.1, hi=2)),
                       ("(5,)/(1,)", _f(1, seed=1), _f(5, lo=0.1, hi=2)),
                       ("var ()", _f(5, seed=1), _f(lo=0.1, hi=2)),
                       ("var 0 and integer target", _i(3, 5), torch.zeros(5))]:
        yield "GaussianNLLLoss", form, {"input": _f(5), "target": y, "var": v}, {}
    # ranking and embeddings
    for form, a, b, y in [("(N)", _f(4), _f(4, seed=1), _pm(4)), ("()", _f(), _f(seed=1), _pm()),
                          ("(N,D) matching", _f(2, 3), _f(2, 3, seed=1), _pm(2, 3)),
                          ("broadcast (2,3)/(1,3)/(2,1)", _f(2, 3), _f(1, 3, seed=1), _pm(2, 1)),
                          ("(2,3)/(3,) (torch refuses)", _f(2, 3), _f(3, seed=1), _pm(3))]:
        yield "MarginRankingLoss", form, {"input1": a, "input2": b, "target": y}, {}
    for form, a, b, y in [("(N,D)/(N)", _f(3, 4), _f(3, 4, seed=1), _pm(3)), ("(D)/()", _f(4), _f(4, seed=1), _pm()),
                          ("(N,D)/(1,D) broadcast", _f(3, 4), _f(1, 4, seed=1), _pm(3)),
                          ("(D)/(1,) (torch refuses)", _f(4), _f(4, seed=1), _pm(1))]:
        yield "CosineEmbeddingLoss", form, {"input1": a, "input2": b, "target": y}, {"margin": 0.2}
    yield "CosineEmbeddingLoss", "margin outside [-1, 1]", {"input1": _f(3, 4), "input2": _f(3, 4, seed=1),
                                                            "target": _pm(3)}, {"margin": 2.0}
    for name in ("TripletMarginLoss", "TripletMarginWithDistanceLoss"):
        for form, shapes in [("(N,D)", [(3, 4)] * 3), ("(D)", [(4,)] * 3), ("(N,D,E)", [(2, 3, 4)] * 3),
                             ("broadcast (3,4)/(1,4)/(3,4)", [(3, 4), (1, 4), (3, 4)]),
                             ("(3,4)/(4,)/(3,4) (torch refuses)", [(3, 4), (4,), (3, 4)])]:
            t = {k: _f(*s, seed=i) for i, (k, s) in enumerate(zip(("anchor", "positive", "negative"), shapes,
                                                                   strict=True))}
            yield name, form, t, {"swap": True}
    for form, shapes in [("cosine (N,D)", [(3, 4)] * 3), ("cosine (D) (torch refuses)", [(4,)] * 3)]:
        t = {k: _f(*s, seed=i) for i, (k, s) in enumerate(zip(("anchor", "positive", "negative"), shapes, strict=True))}
        yield "TripletMarginWithDistanceLoss", form, t, {"distance_function": "cosine_distance", "margin": 0.5}
    # CTC: (T, N, C) with padded (N, S) or concatenated targets; (T, C) unbatched
    lp = torch.log_softmax(_f(6, 2, 4), dim=2)
    yield "CTCLoss", "(T,N,C)/(N,S)", {"log_probs": lp, "targets": torch.tensor([[1, 2, 3], [2, 2, 0]]),
                                       "input_lengths": torch.tensor([6, 5]), "target_lengths": torch.tensor([3, 2])}, {}
    yield "CTCLoss", "(T,N,C)/concatenated", {"log_probs": lp, "targets": torch.tensor([1, 2, 3, 2, 2]),
                                              "input_lengths": torch.tensor([6, 5]),
                                              "target_lengths": torch.tensor([3, 2])}, {}
    yield "CTCLoss", "input length 0 (computed: inf)", {"log_probs": lp, "targets": torch.tensor([[1, 2, 3], [2, 2, 0]]),
                                                        "input_lengths": torch.tensor([6, 0]),
                                                        "target_lengths": torch.tensor([3, 2])}, {}
    yield "CTCLoss", "input length > T (torch refuses)", {"log_probs": lp, "targets": torch.tensor([[1, 2, 3], [2, 2, 0]]),
                                                          "input_lengths": torch.tensor([7, 5]),
                                                          "target_lengths": torch.tensor([3, 2])}, {}
    yield "CTCLoss", "(T,C)/(S)", {"log_probs": lp[:, 0], "targets": torch.tensor([1, 2]),
                                   "input_lengths": torch.tensor(6), "target_lengths": torch.tensor(2)}, {}
    # torchvision box losses: Tensor[N, 4] or Tensor[4], (x1, y1, x2, y2)
    for name in ("generalized_box_iou_loss", "distance_box_iou_loss", "complete_box_iou_loss"):
        yield name, "(N,4)", {"boxes1": _boxes(3), "boxes2": _boxes(3, seed=5)}, {}
        yield name, "(4)", {"boxes1": _boxes(), "boxes2": _boxes(seed=5)}, {}
        yield name, "integer boxes2", {"boxes1": _boxes(2), "boxes2": torch.tensor([[0, 0, 2, 2], [1, 1, 4, 3]])}, {}
        yield name, "disjoint boxes", {"boxes1": torch.tensor([0.0, 0.0, 1.0, 1.0]),
                                       "boxes2": torch.tensor([2.0, 0.0, 3.0, 1.0])}, {}
        yield name, "x2 < x1 (computed, warned)", {"boxes1": torch.tensor([2.0, 0.0, 1.0, 1.0]),
                                                   "boxes2": torch.tensor([0.0, 0.0, 1.0, 1.0])}, {}
        yield name, "(N,3) (torch refuses)", {"boxes1": _f(2, 3, lo=0), "boxes2": _f(2, 3, lo=0)}, {}


DOC_CASES = list(_doc_cases())


@pytest.mark.parametrize(("name", "form", "tensors", "params"), DOC_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in DOC_CASES])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_documented_shape_forms(name: str, form: str, tensors: Args, params: dict[str, Any], reduction: str) -> None:
    outcome = compare(name, tensors, params, reduction)
    assert (outcome == "torch refuses") == ("torch refuses" in form), f"{name} {form}: {outcome}"


def test_documented_forms_cover_the_registry() -> None:
    assert {c[0] for c in DOC_CASES} == set(list_losses())


# --------------------------------------------------------------------------- hypothesis


@st.composite
def _shape(draw: st.DrawFn, lo: int = 0, hi: int = 3) -> tuple[int, ...]:
    return tuple(draw(st.lists(st.integers(1, 4), min_size=lo, max_size=hi)))


@st.composite
def _other_shape(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Mostly the same shape; sometimes a broadcastable one; sometimes anything."""
    kind = draw(st.sampled_from(["same", "same", "same", "ones", "drop", "any"]))
    if kind == "same" or not shape:
        return shape if kind != "any" else draw(_shape())
    if kind == "ones":
        return tuple(1 if draw(st.booleans()) else d for d in shape)
    if kind == "drop":
        return shape[draw(st.integers(0, len(shape))):]
    return draw(_shape())


def _rand(g: torch.Generator, shape: tuple[int, ...], lo: float = -3.0, hi: float = 3.0) -> Tensor:
    return torch.rand(shape, generator=g) * (hi - lo) + lo


@st.composite
def _labels(draw: st.DrawFn, g: torch.Generator, shape: tuple[int, ...], values: tuple[float, ...]) -> Tensor:
    """Labels drawn from ``values``, as int64 (typed without a decimal point) or float32."""
    idx = torch.randint(0, len(values), shape, generator=g)
    t = torch.tensor(values)[idx]
    whole = all(float(v).is_integer() for v in values)
    return t.to(torch.int64) if whole and draw(st.booleans()) else t.to(torch.float32)


@st.composite
def _weight(draw: st.DrawFn, n: int, name: str = "weight") -> dict[str, Any]:
    if not draw(st.booleans()):
        return {}
    length = n if draw(st.integers(0, 5)) else draw(st.integers(1, 5))
    vals = draw(st.lists(st.sampled_from([0.5, 1.0, 2.0, 0.0, -1.0]), min_size=length, max_size=length))
    return {name: torch.tensor(vals)}


@st.composite
def case_for(draw: st.DrawFn, name: str) -> tuple[Args, dict[str, Any]]:
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**16)))
    p: dict[str, Any] = {}
    if name in ("L1Loss", "MSELoss", "SmoothL1Loss", "HuberLoss", "SoftMarginLoss", "HingeEmbeddingLoss",
                "PoissonNLLLoss", "KLDivLoss", "BCEWithLogitsLoss", "BCELoss", "sigmoid_focal_loss",
                "MultiLabelSoftMarginLoss"):
        shape = draw(_shape(1 if name == "MultiLabelSoftMarginLoss" else 0))
        tshape = draw(_other_shape(shape))
        x = _rand(g, shape)
        if name in ("SoftMarginLoss", "HingeEmbeddingLoss"):
            y = draw(_labels(g, tshape, (1.0, -1.0) if draw(st.integers(0, 4)) else (1.0, -1.0, 0.0)))
            x = x.abs() if name == "HingeEmbeddingLoss" else x
            p = {"margin": draw(st.sampled_from([1.0, 0.5, -1.0]))} if name == "HingeEmbeddingLoss" else {}
        elif name in ("BCEWithLogitsLoss", "BCELoss", "sigmoid_focal_loss", "MultiLabelSoftMarginLoss"):
            y = draw(_labels(g, tshape, (0.0, 1.0) if draw(st.integers(0, 4)) else (0.0, 1.0, 1.5, -0.5)))
            if name == "BCELoss":
                x = torch.sigmoid(x)
                if x.numel() and draw(st.integers(0, 4)) == 0:
                    x.view(-1)[0] = draw(st.sampled_from([0.0, 1.0, 1.5]))
            if name != "sigmoid_focal_loss":
                p = draw(_weight(shape[-1] if shape else 1))
            if name == "BCEWithLogitsLoss":
                p |= draw(_weight(shape[-1] if shape else 1, "pos_weight"))
            if name == "sigmoid_focal_loss":
                p = {"alpha": draw(st.sampled_from([0.25, 0.0, 1.0, -1.0, 0.5, 2.0])),
                     "gamma": draw(st.sampled_from([2.0, 0.0, 1.0, 5.0]))}
        elif name == "PoissonNLLLoss":
            y = draw(_labels(g, tshape, (0.0, 1.0, 3.0, 7.0) if draw(st.integers(0, 4)) else (2.0, -1.0)))
            log_input = draw(st.booleans())
            x = x if log_input else x.abs()
            p = {"log_input": log_input, "full": draw(st.booleans()), "eps": draw(st.sampled_from([1e-8, 0.0, 0.5]))}
        elif name == "KLDivLoss":
            log_target = draw(st.booleans())
            x = torch.log_softmax(x, dim=-1) if shape else x.clamp(max=0)
            y = _rand(g, tshape, 0.0, 1.0)
            y = torch.log(y + 1e-3) if log_target else y
            if draw(st.integers(0, 5)) == 0:
                y = y.to(torch.int64)
            p = {"log_target": log_target}
        else:
            y = draw(_labels(g, tshape, (0.0, 1.0, 2.0, -1.5))) if draw(st.booleans()) else _rand(g, tshape)
            if name == "SmoothL1Loss":
                p = {"beta": draw(st.sampled_from([1.0, 0.0, 0.5, -1.0]))}
            if name == "HuberLoss":
                p = {"delta": draw(st.sampled_from([1.0, 0.5, 2.0, 0.0]))}
        slots = ("inputs", "targets") if name == "sigmoid_focal_loss" else ("input", "target")
        return {slots[0]: x, slots[1]: y}, p
    if name in ("CrossEntropyLoss", "NLLLoss", "MultiMarginLoss"):
        n, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
        layouts = ["(C)", "(N,C)", "(N,C,d)"] if name != "MultiMarginLoss" else ["()", "(C)", "(N,C)", "(1,C)"]
        layout = draw(st.sampled_from(layouts))
        shape, tshape = {"()": ((), ()), "(C)": ((c,), draw(st.sampled_from([(), (1,)]))),
                         "(N,C)": ((n, c), (n,)), "(1,C)": ((1, c), draw(st.sampled_from([(), (1,)]))),
                         "(N,C,d)": ((n, c, 2), (n, 2))}[layout]
        if draw(st.integers(0, 7)) == 0:
            tshape = draw(_shape())
        x = _rand(g, shape)
        if name == "NLLLoss" and x.dim():
            x = torch.log_softmax(x, dim=0 if x.dim() == 1 else 1)
        cc = shape[1] if len(shape) > 1 else (shape[0] if shape else 1)
        form = draw(st.sampled_from(["index", "index", "index", "prob", "onehot-int", "float-index"]))
        if form == "prob" and name == "CrossEntropyLoss":
            y = torch.softmax(_rand(g, shape), dim=0 if len(shape) == 1 else 1) if shape else _rand(g, ())
        elif form == "onehot-int" and shape:
            y = F.one_hot(torch.randint(0, cc, (shape[0] if len(shape) > 1 else 1,), generator=g), cc)
            y = y.reshape(shape) if y.numel() == math.prod(shape) else y
        else:
            y = torch.randint(0, cc, tshape, generator=g)
            if y.numel() and draw(st.integers(0, 5)) == 0:
                y.view(-1)[0] = draw(st.sampled_from([-100, -1, cc, 1]))
            if form == "float-index":
                y = y.float()
        p = draw(_weight(cc))
        if name in ("CrossEntropyLoss", "NLLLoss") and draw(st.booleans()):
            p["ignore_index"] = draw(st.sampled_from([-100, 0, 1]))
        if name == "CrossEntropyLoss" and draw(st.booleans()):
            p["label_smoothing"] = draw(st.sampled_from([0.0, 0.1, 1.0, -0.1]))
        if name == "MultiMarginLoss":
            p |= {"p": draw(st.sampled_from([1, 2])), "margin": draw(st.sampled_from([1.0, 0.0, -0.5, 2.0]))}
        return {"input": x, "target": y}, p
    if name == "MultiLabelMarginLoss":
        c = draw(st.integers(1, 5))
        shape = draw(st.sampled_from([(), (c,), (draw(st.integers(1, 3)), c)]))
        x = _rand(g, shape)
        y = torch.randint(-1, max(c, 1), shape if draw(st.integers(0, 6)) else draw(_shape()), generator=g)
        if draw(st.integers(0, 6)) == 0 and y.numel():
            y.view(-1)[0] = draw(st.sampled_from([c, -2]))
        return {"input": x, "target": y.float() if draw(st.integers(0, 8)) == 0 else y}, {}
    if name == "GaussianNLLLoss":
        shape = draw(_shape())
        x = _rand(g, shape)
        y = _rand(g, draw(_other_shape(shape)))
        vkind = draw(st.sampled_from(["same", "one fewer", "ones", "any"]))
        vshape = {"same": shape, "one fewer": shape[:-1], "ones": tuple(1 if draw(st.booleans()) else d for d in shape),
                  "any": draw(_shape())}[vkind]
        v = _rand(g, vshape, 0.0, 2.0)
        if v.numel() and draw(st.integers(0, 5)) == 0:
            v.view(-1)[0] = draw(st.sampled_from([0.0, -0.5]))
        return {"input": x, "target": y, "var": v}, {"full": draw(st.booleans()),
                                                    "eps": draw(st.sampled_from([1e-6, 0.0, 0.1]))}
    if name == "MarginRankingLoss":
        shape = draw(_shape())
        t = {"input1": _rand(g, shape), "input2": _rand(g, draw(_other_shape(shape))),
             "target": draw(_labels(g, draw(_other_shape(shape)), (1.0, -1.0)))}
        return t, {"margin": draw(st.sampled_from([0.0, 0.5, -1.0]))}
    if name == "CosineEmbeddingLoss":
        shape = draw(st.sampled_from([(draw(st.integers(1, 4)),), (draw(st.integers(1, 3)), draw(st.integers(1, 4)))]))
        tshape = (shape[0],) if len(shape) == 2 else ()
        if draw(st.integers(0, 6)) == 0:
            tshape = draw(_shape(0, 2))
        t = {"input1": _rand(g, shape), "input2": _rand(g, draw(_other_shape(shape))),
             "target": draw(_labels(g, tshape, (1.0, -1.0) if draw(st.integers(0, 4)) else (1.0, 0.0)))}
        return t, {"margin": draw(st.sampled_from([0.0, 0.5, -0.5, 1.5]))}
    if name in ("TripletMarginLoss", "TripletMarginWithDistanceLoss"):
        shape = draw(_shape(0, 3))
        t = {"anchor": _rand(g, shape), "positive": _rand(g, draw(_other_shape(shape))),
             "negative": _rand(g, draw(_other_shape(shape)))}
        p = {"margin": draw(st.sampled_from([1.0, 0.5, 0.0])), "swap": draw(st.booleans())}
        if name == "TripletMarginLoss":
            p |= {"p": draw(st.sampled_from([2.0, 1.0, 0.5, 3.0])), "eps": draw(st.sampled_from([1e-6, 0.0, 0.1]))}
        else:
            p["distance_function"] = draw(st.sampled_from(["pairwise_distance", "cosine_distance"]))
        return t, p
    if name == "CTCLoss":
        T, N, C = draw(st.integers(1, 6)), draw(st.integers(1, 3)), draw(st.integers(2, 5))
        batched = draw(st.booleans())
        lp = torch.log_softmax(_rand(g, (T, N, C) if batched else (T, C)), dim=-1)
        n = N if batched else 1
        tl = torch.randint(0, 4, (n,), generator=g)
        il = torch.randint(0, T + 1, (n,), generator=g)  # 0 frames: torch computes (inf)
        if draw(st.integers(0, 6)) == 0:
            il[0] = T + 1
        S = max(int(tl.max()), 1)
        tg = torch.randint(1, C, (n, S), generator=g)
        padded = batched and draw(st.booleans())
        targets = tg if padded else torch.cat([tg[i, : int(tl[i])] for i in range(n)])
        if not batched:
            il, tl = il.reshape(()), tl.reshape(())
        return ({"log_probs": lp, "targets": targets, "input_lengths": il, "target_lengths": tl},
                {"blank": draw(st.sampled_from([0, 0, C - 1])), "zero_infinity": draw(st.booleans())})
    # box losses
    lead = draw(st.sampled_from([(), (1,), (3,), (2, 2)]))
    last = 4 if draw(st.integers(0, 8)) else draw(st.sampled_from([2, 3, 5]))
    xy = _rand(g, (*lead, 2), 0.0, 4.0)
    b1 = torch.cat([xy, xy + _rand(g, (*lead, 2), -0.5, 3.0)], dim=-1) if last == 4 else _rand(g, (*lead, last))
    xy2 = _rand(g, (*lead, 2), 0.0, 4.0)
    b2 = torch.cat([xy2, xy2 + _rand(g, (*lead, 2), 0.2, 3.0)], dim=-1)
    if draw(st.booleans()):
        b2 = b2.round().to(torch.int64)
    return {"boxes1": b1, "boxes2": b2}, {"eps": draw(st.sampled_from([1e-7, 0.0, 1e-3]))}


@pytest.mark.parametrize("name", list_losses())
@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(data=st.data())
def test_hypothesis_against_torch(name: str, data: st.DataObject) -> None:
    tensors, params = data.draw(case_for(name), label="case")
    reduction = data.draw(st.sampled_from(get_loss(name).reductions), label="reduction")
    compare(name, tensors, params, reduction)


# --------------------------------------------------------------------------- the examples


def test_integer_one_hot_is_torchs_error_explained_with_the_fix() -> None:
    with pytest.raises(LossvizInputError) as info:
        evaluate_text("CrossEntropyLoss", {"input": "[[1., 2, 3, 4], [1, 2, 3, 4]]",
                                           "target": "[[1,0,0,0],[0,1,0,0]]"})
    msg = str(info.value)
    assert "Expected floating point type for target with class probabilities, got Long" in msg
    assert "1., 0." in msg and "class index" in msg
    r = evaluate_text("CrossEntropyLoss", {"input": "[[1., 2, 3, 4], [1, 2, 3, 4]]",
                                           "target": "[[1.,0,0,0],[0,1,0,0]]"})
    want = F.cross_entropy(torch.tensor([[1.0, 2, 3, 4], [1, 2, 3, 4]]), torch.tensor([[1.0, 0, 0, 0], [0, 1, 0, 0]]))
    assert r.value == pytest.approx(float(want), rel=1e-6)


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
                                  "MultiLabelSoftMarginLoss", "MultiMarginLoss"])
def test_negative_weight_warns_explains_and_computes(name: str) -> None:
    spec = get_loss(name)
    t = spec.sample(torch.Generator().manual_seed(0))
    c = t["input"].shape[-1]
    w = torch.ones(c)
    w[0] = -1.0
    r = evaluate(name, t, params={"weight": w}, reduction="sum")
    assert any("weight has values below 0 (-1)" in m and "reward" in m for m in r.warnings), r.warnings
    want = REFERENCE[name]({k: v.float() if k == "input" else v for k, v in t.items()}, {"weight": w}, "sum")
    assert float(r.output) == pytest.approx(float(want), rel=1e-5, abs=1e-6)


def test_mse_overflow_is_not_called_agreement() -> None:
    r = evaluate_text("MSELoss", {"input": "1e30, 2, 3", "target": "1., 2., 3."})
    assert math.isinf(r.value)
    assert any("float32 overflow" in w for w in r.warnings), r.warnings
    # the warning is a Message: it reads in Chinese too, with the same numbers
    zh = [render(w, "zh") for w in r.warnings if "float32 overflow" in w]
    assert zh and "溢出" in zh[0] and "3.333e+59" in zh[0], zh
    ctc = evaluate_text("CTCLoss", {"log_probs": "[[[-1.0, -2.0]], [[-1.0, -2.0]]]", "targets": "[[1, 1, 1]]",
                                    "input_lengths": "2", "target_lengths": "3"})  # fmt: skip
    hints = [render(w, "zh") for w in ctc.warnings if "not finite" in w]
    assert hints and "zero_infinity" in hints[0] and "对齐" in hints[0], ctc.warnings
    a = agreement(explain(r), r)
    assert not a.agrees and a.status == "overflow"
    assert "float32" in a.reason and "3.33333e+59" in a.reason
    fig = make_loss_figure(r.per_element)
    bar = fig.data[0]
    assert len(bar.y) == 3 and math.isfinite(bar.y[0]) and bar.y[0] > 0, "the inf bar must be drawn"
    assert bar.text[0] == "∞" and bar.marker.pattern.shape[0] == "x"
    assert fig.layout.annotations and "not finite" in fig.layout.annotations[0].text


def test_finite_agreement_still_ticks() -> None:
    r = evaluate_text("MSELoss", {"input": "1, 2, 3", "target": "1., 2., 5."})
    a = agreement(explain(r), r)
    assert a.agrees and a.diff is not None and a.diff < 1e-6


@pytest.mark.parametrize("name", ["sigmoid_focal_loss", "generalized_box_iou_loss", "distance_box_iou_loss",
                                  "complete_box_iou_loss", "TripletMarginWithDistanceLoss"])
def test_new_entries_snippet_runs_and_matches(name: str) -> None:
    """The PyTorch snippet calls the real torchvision function (or nn module) and reproduces lossviz's numbers."""
    spec = get_loss(name)
    t = spec.sample(torch.Generator().manual_seed(3))
    params = {"distance_function": "cosine_distance", "margin": 0.5} if name == "TripletMarginWithDistanceLoss" else {}
    r = evaluate(name, t, params=params, reduction="mean")
    code = snippet(r)
    if spec.function:
        assert f"from torchvision.ops import {name}" in code and f"loss = {name}(" in code
    ns: dict[str, Any] = {}
    exec(compile(code, "<snippet>", "exec"), ns)  # noqa: S102 - our own generated code
    torch.testing.assert_close(ns["loss"].detach(), r.output, rtol=1e-5, atol=1e-6)
    for s in spec.predictions:
        torch.testing.assert_close(ns[s.name].grad, r.grads[s.name], rtol=1e-4, atol=1e-6)


def test_invalid_box_is_explained_plainly() -> None:
    r = evaluate_text("generalized_box_iou_loss", {"boxes1": "2., 0., 1., 1.", "boxes2": "0., 0., 1., 1."})
    assert any("x2 < x1" in w and "(x1, y1, x2, y2)" in w for w in r.warnings), r.warnings


# --------------------------------------------------------------------------- the vision presets


def _preset_result(key: str):
    from lossviz.explore import get_preset

    p = get_preset(key)
    return evaluate_text(p.loss, p.texts, reduction=p.reduction, params=p.params, transform=p.transform,
                         shapes=p.shapes)


def test_focal_preset_stops_easy_negatives_dominating() -> None:
    bce, focal = _preset_result("bce_imbalanced"), _preset_result("focal_imbalanced")
    x = bce.inputs["input"]
    y = bce.inputs["target"]
    torch.testing.assert_close(bce.per_element, F.binary_cross_entropy_with_logits(x, y, reduction="none"))
    torch.testing.assert_close(focal.per_element, tvops.sigmoid_focal_loss(x, y, reduction="none"))
    share = lambda r: float(r.per_element[1:].sum() / r.per_element.sum())  # noqa: E731 - the negatives' share
    assert share(bce) == pytest.approx(0.492, abs=0.001)  # "half the loss"
    assert share(focal) == pytest.approx(0.048, abs=0.001)  # "95% on the hard positive"
    assert float(bce.per_element[0]) == pytest.approx(1.313, abs=5e-4)
    assert float(bce.per_element[1:].sum()) == pytest.approx(1.272, abs=5e-4)
    assert float(focal.per_element[1:].sum()) == pytest.approx(0.0089, abs=5e-5)
    assert focal.value == pytest.approx(0.184, abs=5e-4)
    ratios = bce.per_element[1:] / focal.per_element[1:]
    assert 90 <= float(ratios.min()) and float(ratios.max()) <= 600


def test_giou_preset_has_a_gradient_where_iou_has_none() -> None:
    r = _preset_result("giou_disjoint")
    assert r.value == pytest.approx(1.2, abs=1e-6)
    assert float(r.grads["boxes1"][2]) == pytest.approx(-0.2, abs=1e-6)
    # the IoU loss 1 - IoU of the same boxes: 1 and flat (torchvision's box_iou, with autograd)
    b1 = r.raw["boxes1"].clone().requires_grad_(True)
    iou_loss = 1 - tvops.box_iou(b1[None], r.inputs["boxes2"][None])[0, 0]
    (g,) = torch.autograd.grad(iou_loss, b1)
    assert float(iou_loss.detach()) == 1.0 and torch.count_nonzero(g) == 0


def test_segmentation_presets_one_hot_equals_argmax() -> None:
    onehot, idx = _preset_result("seg_onehot"), _preset_result("seg_argmax")
    assert onehot.raw["input"].shape == (1, 3, 2, 2) and idx.inputs["target"].shape == (1, 2, 2)
    torch.testing.assert_close(idx.inputs["target"], onehot.inputs["target"].argmax(dim=1))
    assert onehot.value == pytest.approx(idx.value, abs=1e-6) and onehot.value == pytest.approx(0.7258, abs=5e-5)
    torch.testing.assert_close(onehot.grads["input"], idx.grads["input"])
    want = F.cross_entropy(onehot.raw["input"], onehot.inputs["target"].argmax(dim=1))
    assert onehot.value == pytest.approx(float(want), abs=1e-6)


# --------------------------------------------------------------------------- NaN and inf, broadcast weights (issue 19)

_NONFINITE_VALUES = (math.nan, math.inf, -math.inf)


def _poison(t: Tensor, flat_index: int, value: float) -> Tensor:
    out = t.detach().to(torch.float32 if not t.is_floating_point() else t.dtype).clone()
    if out.numel():
        out.view(-1)[flat_index % out.numel()] = value
    return out


@pytest.mark.parametrize("value", _NONFINITE_VALUES, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("name", list_losses())
def test_nan_and_inf_in_a_prediction_compute_as_torch(name: str, value: float) -> None:
    """A typed NaN or inf is computed as torch computes it (value, per element, gradient), or refused
    exactly where torch refuses; when computed, one warning says which elements and gradients it reached."""
    from lossviz.losses import Nonfinite

    spec = get_loss(name)
    tensors = dict(spec.sample(torch.Generator().manual_seed(7)))
    first = spec.predictions[0].name
    tensors[first] = _poison(tensors[first], 1, value)
    for reduction in spec.reductions:
        if compare(name, tensors, {}, reduction) == "compared":
            r = evaluate(name, tensors, reduction=reduction)
            notes = [w for w in r.warnings if isinstance(w, Nonfinite)]
            assert len(notes) == 1, r.warnings
            text = str(notes[0])
            assert f"{first} holds" in text and format(value, "g") in text and "IEEE" in text, text
            zh = render(notes[0], "zh")
            assert "IEEE" in zh and not re.search(r"\b(holds|gradient|loss per element)\b", zh), zh


@st.composite
def _broadcastable(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts with ``shape`` (fewer dimensions, ones), or now and then one that does not."""
    if draw(st.integers(0, 5)) == 0:
        return tuple(draw(st.lists(st.integers(1, 4), max_size=3)))
    keep = draw(st.integers(0, len(shape)))
    tail = shape[len(shape) - keep:]
    return tuple(1 if draw(st.booleans()) else d for d in tail)


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hypothesis_broadcast_weights_and_nonfinite(data: st.DataObject) -> None:
    """Random shapes, float/int targets, NaN/inf anywhere and weights / pos_weight of any broadcastable (or
    not) shape through ``evaluate``: torch's value and gradient, or a LossvizInputError exactly where torch raises."""
    name = data.draw(st.sampled_from(["BCELoss", "BCEWithLogitsLoss", "MSELoss", "L1Loss", "SmoothL1Loss",
                                      "MultiLabelSoftMarginLoss", "CrossEntropyLoss", "KLDivLoss"]), label="loss")
    shape = tuple(data.draw(st.lists(st.integers(1, 4), max_size=3), label="shape"))
    g = torch.Generator().manual_seed(data.draw(st.integers(0, 2**16), label="seed"))
    x = torch.rand(shape, generator=g) if name == "BCELoss" else torch.randn(shape, generator=g)
    if name == "CrossEntropyLoss":
        c = shape[1] if len(shape) > 1 else (shape[0] if shape else 1)
        tshape = () if len(shape) <= 1 else (shape[0], *shape[2:])
        y = torch.randint(0, c, tshape, generator=g) if shape else torch.tensor(0)
    else:
        y = torch.randint(0, 2, shape, generator=g).float() if data.draw(st.booleans()) else torch.rand(shape, generator=g)
        if data.draw(st.integers(0, 6)) == 0:
            y = y.to(torch.int64)
    for _ in range(data.draw(st.integers(0, 2), label="nonfinite")):
        which = data.draw(st.sampled_from(["x", "y"]))
        v = data.draw(st.sampled_from(_NONFINITE_VALUES))
        k = data.draw(st.integers(0, 63))
        if which == "x":
            x = _poison(x, k, v)
        elif y.is_floating_point():
            y = _poison(y, k, v)
    params: dict[str, Any] = {}
    if name in ("BCELoss", "BCEWithLogitsLoss", "MultiLabelSoftMarginLoss", "CrossEntropyLoss"):
        if data.draw(st.booleans()):
            params["weight"] = torch.rand(data.draw(_broadcastable(shape), label="weight shape"), generator=g) + 0.1
        if name == "BCEWithLogitsLoss" and data.draw(st.booleans()):
            params["pos_weight"] = torch.rand(data.draw(_broadcastable(shape), label="pos_weight shape"),
                                              generator=g) + 0.5
    reduction = data.draw(st.sampled_from(get_loss(name).reductions), label="reduction")
    compare(name, {"input": x, "target": y}, params, reduction)
