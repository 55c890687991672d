"""Bad input, everywhere, nothing lost: a matrix over every catalog loss.

Each case starts from valid input for the loss (the loss's own seeded sampler, as the page's
"random valid input" button makes it) and breaks exactly one thing: a tensor's text (shape
mismatch, empty, ragged, words, over the size caps, unbalanced or too deep
brackets, float class indices, class indices out of range or negative, probabilities outside
[0, 1], negative variance or counts...) or one parameter (label_smoothing outside [0, 1],
non-positive margin / beta / delta / eps / p, weight of the wrong length, words...).

Every case is checked three ways:

- the API raises ``LossvizInputError`` (nothing else escapes);
- the explorer page (AppTest, widgets ``w_t_<slot>`` / ``w_p_<param>``) shows one ``st.error``
  sentence naming the problem and the fix, no exception element, no value - and keeps every
  other box as typed; putting the good text back brings the value back;
- the CLI (``lossviz.cli.main`` in-process; a few real subprocesses at the end) exits 2 with one
  line ``error: ...`` on stderr and nothing on stdout.

CLI-only cases cover what no widget can produce (a bool parameter "maybe", a choice outside its
options, unknown names, missing or extra tensors).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from lossviz.cli.main import main as cli_main
from lossviz.errors import LossvizInputError
from lossviz.losses import LossSpec, get_loss, list_losses
from lossviz.losses.evaluate import evaluate_text
from lossviz.losses.parsing import MAX_CHARS, MAX_DEPTH, MAX_ELEMENTS, format_tensor

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "explorer.py")
#: A message tells the student what to do: one of these words must appear in it.
FIX_WORDS = ("must", "use ", "give", "choose", "type", "replace", "write", "remove", "add ", "apply",
             "set ", "pick", "make", "turn on", "should", "close it", "at most", "per ", "needs", "need ", "run from", "may not")
CLASS_INDEX_LOSSES = ("CrossEntropyLoss", "NLLLoss", "MultiMarginLoss")
#: What the parser says about digits other than ASCII 0-9.
NOT_ASCII = "digits that are not 0-9"


@dataclass(frozen=True)
class Case:
    """Valid input for ``loss`` with one thing broken."""

    loss: str
    what: str
    texts: dict[str, str] = field(default_factory=dict)  # slot -> bad text (the rest stay valid)
    params: dict[str, str] = field(default_factory=dict)  # param -> bad text
    expect: tuple[str, ...] = ()  # the message names the problem: one of these (case-insensitive)

    @property
    def id(self) -> str:
        return f"{self.loss}-{self.what}"


def valid_tensors(spec: LossSpec) -> dict[str, torch.Tensor]:
    return spec.sample(torch.Generator().manual_seed(0))


def valid_texts(spec: LossSpec) -> dict[str, str]:
    """What the page's dice button types for seed 0 (presets.random_texts)."""
    return {k: format_tensor(v, digits=4) for k, v in valid_tensors(spec).items()}


def _fmt(t: torch.Tensor) -> str:
    return format_tensor(t, digits=4)


def _generic(spec: LossSpec) -> Iterator[Case]:
    """Broken text in the first prediction box (and words/NaN in every other box)."""
    first = spec.predictions[0].name
    too_many = ", ".join(["1"] * (MAX_ELEMENTS + 1))
    too_long = "1, " * (MAX_CHARS // 3 + 1)
    deep = "[" * (MAX_DEPTH + 1) + "1" + "]" * (MAX_DEPTH + 1)
    yield Case(spec.name, "shape-mismatch", {first: _fmt(torch.randn(7, 11, generator=torch.Generator().manual_seed(1)))},
               expect=("shape", "batch", "per sequence", "rows"))
    yield Case(spec.name, "empty", {first: ""}, expect=("empty",))
    yield Case(spec.name, "only-spaces", {first: "  \n\t "}, expect=("empty",))
    yield Case(spec.name, "ragged", {first: "[[1, 2], [3]]"}, expect=("ragged",))
    yield Case(spec.name, "words", {first: "0.1, 0.2, abc"}, expect=("not a number",))
    # nan, inf and 1e39 (inf in float32) are numbers: torch computes with them, so lossviz does too
    # (issue 19; tests/test_nonfinite.py); "nan!" or "infinity2" are not numbers
    yield Case(spec.name, "nan-with-junk", {first: "0.1, nan!, 0.3"}, expect=("not a number",))
    yield Case(spec.name, "over-element-cap", {first: too_many}, expect=(f"more than {MAX_ELEMENTS}",))
    yield Case(spec.name, "over-char-cap", {first: too_long}, expect=(f"limit of {MAX_CHARS}",))
    yield Case(spec.name, "unclosed-bracket", {first: "[[0.1, 0.2]"}, expect=("never closed",))
    yield Case(spec.name, "too-deep", {first: deep}, expect=("deeper",))
    # whole numbers beyond int64, and beyond Python's 4,300-digit int-string limit (a ValueError once)
    yield Case(spec.name, "huge-integer", {first: "9" * 5000}, expect=("too large",))
    yield Case(spec.name, "int64-plus-one", {first: str(2**63)}, expect=("too large",))
    yield Case(spec.name, "int64-minus-one", {first: str(-(2**63) - 1)}, expect=("too large",))
    # digits of other scripts are refused in words, never read as numbers (\d matched them once)
    yield Case(spec.name, "arabic-indic-digits", {first: "0.1, ١٢٣, 0.3"}, expect=(NOT_ASCII,))
    yield Case(spec.name, "full-width-digits", {first: "0.1, １２, 0.3"}, expect=(NOT_ASCII,))
    for slot in spec.slots[1:]:
        yield Case(spec.name, f"{slot.name}-words", {slot.name: "1, two, 3"}, expect=("not a number",))
        yield Case(spec.name, f"{slot.name}-empty", {slot.name: ""}, expect=("empty",))
        yield Case(spec.name, f"{slot.name}-devanagari-digits", {slot.name: "१, २"}, expect=(NOT_ASCII,))
        yield Case(spec.name, f"{slot.name}-huge-integer", {slot.name: "1" * 4301}, expect=("too large",))
    # every number parameter: the classes of text that once escaped as ValueError / OverflowError
    for p in spec.params:
        if p.kind == "int":
            yield Case(spec.name, f"{p.name}-1e300", params={p.name: "1e300"}, expect=("64 bits",))
            yield Case(spec.name, f"{p.name}-4301-digits", params={p.name: "9" * 4301}, expect=("64 bits",))
            yield Case(spec.name, f"{p.name}-int64-plus-one", params={p.name: str(2**63)}, expect=("64 bits",))
            yield Case(spec.name, f"{p.name}-arabic-digit", params={p.name: "١"}, expect=(NOT_ASCII,))
            yield Case(spec.name, f"{p.name}-underscore", params={p.name: "1_0"}, expect=("must be a number",))
        elif p.kind == "float":
            yield Case(spec.name, f"{p.name}-4301-digits", params={p.name: "9" * 4301}, expect=("finite",))
            yield Case(spec.name, f"{p.name}-full-width-digit", params={p.name: "０.５"}, expect=(NOT_ASCII,))
            yield Case(spec.name, f"{p.name}-underscore", params={p.name: "1_0"}, expect=("must be a number",))
        elif p.kind == "tensor":
            yield Case(spec.name, f"{p.name}-4301-digits", params={p.name: "9" * 4301}, expect=("too large",))
            yield Case(spec.name, f"{p.name}-arabic-digits", params={p.name: "١, ٢"}, expect=(NOT_ASCII,))


def _specific(spec: LossSpec) -> Iterator[Case]:
    t = valid_tensors(spec)
    name = spec.name
    if name in CLASS_INDEX_LOSSES:
        y = t["target"]
        c = t["input"].shape[1]
        yield Case(name, "float-class-index", {"target": _fmt(y.float())}, expect=("decimals", "whole"))
        yield Case(name, "fractional-class-index", {"target": _fmt(y.float() + 0.5)}, expect=("fractions", "whole"))
        big = y.clone()
        big[0] = c
        yield Case(name, "class-index-too-big", {"target": _fmt(big)}, expect=("out of range",))
        neg = y.clone()
        neg[0] = -1
        yield Case(name, "class-index-negative", {"target": _fmt(neg)}, expect=("out of range",))
        yield Case(name, "weight-length", params={"weight": "1, 2"}, expect=("weight has 2 values",))
        yield Case(name, "weight-words", params={"weight": "1, heavy"}, expect=("not a number",))
    if name in ("CrossEntropyLoss", "NLLLoss"):
        yield Case(name, "ignore-index-fraction", params={"ignore_index": "1.5"}, expect=("whole number",))
    if name == "CrossEntropyLoss":
        for bad in ("1.5", "abc", "inf"):
            yield Case(name, f"label-smoothing-{bad}", params={"label_smoothing": bad}, expect=("label_smoothing",))
        onehot = torch.nn.functional.one_hot(t["target"], t["input"].shape[1])
        yield Case(name, "integer-one-hot", {"target": _fmt(onehot)}, expect=("class probabilities",))
    if name == "MultiLabelMarginLoss":
        y = t["target"].clone()
        y[0, 0] = t["input"].shape[1]
        yield Case(name, "label-index-too-big", {"target": _fmt(y)}, expect=("class indices",))
        y = t["target"].clone()
        y[0, 0] = -2
        yield Case(name, "label-index-negative", {"target": _fmt(y)}, expect=("class indices",))
        yield Case(name, "float-label-index", {"target": _fmt(t["target"].float())}, expect=("whole numbers",))
    if name == "MultiLabelSoftMarginLoss":
        yield Case(name, "weight-length", params={"weight": "1, 2"}, expect=("weight has 2 values",))
    if name == "BCELoss":
        for v in (1.5, -0.5):
            x = t["input"].clone()
            x[0, 0] = v
            yield Case(name, f"probability-{v:g}", {"input": _fmt(x)}, expect=("probabilities in [0, 1]",))
        y = t["target"].clone()
        y[0, 0] = 2.0
        yield Case(name, "label-2", {"target": _fmt(y)}, expect=("[0, 1]",))
        yield Case(name, "weight-length", params={"weight": "1, 2"}, expect=("cannot line up",))
        yield Case(name, "integer-labels", {"target": _fmt(t["target"].long())}, expect=("whole numbers",))
    if name == "BCEWithLogitsLoss":
        yield Case(name, "integer-labels", {"target": _fmt(t["target"].long())}, expect=("whole numbers",))
        yield Case(name, "pos-weight-length", params={"pos_weight": "1, 2"}, expect=("pos_weight has 2 values",))
        yield Case(name, "weight-length", params={"weight": "1, 2"}, expect=("cannot line up",))
    if name == "GaussianNLLLoss":
        v = t["var"].clone()
        v[0, 0] = -0.5
        yield Case(name, "negative-var", {"var": _fmt(v)}, expect=("negative",))
        yield Case(name, "var-shape", {"var": "1, 2, 3"}, expect=("var has shape",))
    if name == "HuberLoss":
        for bad in ("0", "-1"):
            yield Case(name, f"delta-{bad}", params={"delta": bad}, expect=("delta must be",))
    if name == "SmoothL1Loss":
        yield Case(name, "beta-negative", params={"beta": "-1"}, expect=("beta must be",))
        yield Case(name, "beta-words", params={"beta": "big"}, expect=("beta must be a number",))
    if name == "TripletMarginLoss":
        for bad in ("0", "-1"):
            yield Case(name, f"margin-{bad}", params={"margin": bad}, expect=("margin must be",))
    if name == "CosineEmbeddingLoss":
        yield Case(name, "target-length", {"target": "1, -1"}, expect=("target",))
    if name == "MarginRankingLoss":
        yield Case(name, "target-length", {"target": "1, -1"}, expect=("shape",))
    if name == "PoissonNLLLoss":
        yield Case(name, "eps-words", params={"eps": "tiny"}, expect=("eps must be a number",))
    if name == "KLDivLoss":
        yield Case(name, "integer-target", {"target": _fmt(t["target"].round().long())}, expect=("whole numbers",))
    if name == "CTCLoss":
        x = t["log_probs"]
        c = x.shape[-1]
        yield Case(name, "float-targets", {"targets": _fmt(t["targets"].float())}, expect=("whole numbers",))
        y = t["targets"].clone()
        y.view(-1)[0] = c
        yield Case(name, "label-too-big", {"targets": _fmt(y)}, expect=("class indices",))
        il = t["input_lengths"].clone()
        il[0] = x.shape[0] + 5
        yield Case(name, "input-length-too-long", {"input_lengths": _fmt(il)}, expect=("input_lengths",))
        yield Case(name, "blank-out-of-range", params={"blank": str(c)}, expect=("blank",))
        yield Case(name, "blank-negative", params={"blank": "-1"}, expect=("blank must be",))


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for name in list_losses():
        spec = get_loss(name)
        cases += list(_generic(spec))
        cases += list(_specific(spec))
    return cases


CASES = all_cases()


def check_message(case: Case, message: str) -> None:
    """One plain sentence that names the problem and the fix."""
    low = message.lower()
    assert any(k.lower() in low for k in case.expect), (case.id, message)
    assert any(w in low for w in FIX_WORDS), f"{case.id}: no fix in {message!r}"
    assert "traceback" not in low and 'file "' not in low, message
    assert "pytorch rejected" not in low, f"{case.id}: torch's own error leaked: {message!r}"
    assert len(message) < 600, message


# --------------------------------------------------------------------------- API


def test_matrix_covers_every_loss_and_every_kind() -> None:
    losses = {c.loss for c in CASES}
    assert losses == set(list_losses())
    kinds = {c.what for c in CASES}
    for kind in ("shape-mismatch", "empty", "ragged", "words", "nan-with-junk", "over-element-cap",
                 "over-char-cap", "float-class-index", "class-index-too-big", "class-index-negative",
                 "probability-1.5", "negative-var", "label-smoothing-1.5", "margin-0", "beta-negative",
                 "integer-one-hot",
                 "delta-0", "weight-length"):
        assert kind in kinds, kind


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_api_raises_input_error(case: Case) -> None:
    spec = get_loss(case.loss)
    texts = {**valid_texts(spec), **case.texts}
    with pytest.raises(LossvizInputError) as info:
        evaluate_text(case.loss, texts, params=case.params)
    check_message(case, str(info.value))


def _odd_but_legal() -> list[tuple[str, str, dict[str, str], dict[str, str], str]]:
    """Input that torch computes (so lossviz must too), but that deserves a warning: (loss, what, texts,
    params, a word of the warning). These were refusals before issue 9."""
    out = []
    for name in ("CrossEntropyLoss", "NLLLoss", "MultiMarginLoss", "BCELoss", "BCEWithLogitsLoss",
                 "MultiLabelSoftMarginLoss"):
        t = valid_tensors(get_loss(name))
        c = t["input"].shape[-1]
        out.append((name, "weight-negative", {}, {"weight": ", ".join(["1"] * (c - 1) + ["-1"])}, "reward"))
    ce = valid_tensors(get_loss("CrossEntropyLoss"))
    probs = torch.softmax(ce["input"], dim=1)
    probs[0, 0] = 1.5
    out += [
        ("CrossEntropyLoss", "soft-target-outside-0-1", {"target": _fmt(probs)}, {}, "outside [0, 1]"),
        ("CrossEntropyLoss", "label-smoothing--0.1", {}, {"label_smoothing": "-0.1"}, "sharpens"),
        ("BCEWithLogitsLoss", "label-negative", {"target": "[[-1., 0., 1.], [0., 1., 0.], [1., 1., 0.], [0., 0., 1.]]"},
         {}, "outside [0, 1]"),
        ("KLDivLoss", "negative-probability", {"target": "[[-0.1, 0.6, 0.3, 0.2], [0.25, 0.25, 0.25, 0.25], "
                                                         "[0.1, 0.2, 0.3, 0.4]]"}, {}, "negative"),
        ("PoissonNLLLoss", "negative-count", {"target": "[[-2., 1., 0.], [1., 2., 3.], [0., 0., 1.], [4., 1., 2.]]"},
         {}, "count"),
        ("GaussianNLLLoss", "eps-0", {}, {"eps": "0"}, "eps"),
        ("GaussianNLLLoss", "eps--1", {}, {"eps": "-1"}, "eps"),
        ("CosineEmbeddingLoss", "margin-2", {}, {"margin": "2"}, "outside [-1, 1]"),
        ("CosineEmbeddingLoss", "margin--1.5", {}, {"margin": "-1.5"}, "outside [-1, 1]"),
        ("TripletMarginLoss", "p-0", {}, {"p": "0"}, "not a distance"),
        ("TripletMarginLoss", "eps-negative", {}, {"eps": "-1"}, "eps is negative"),
    ]
    ctc = valid_tensors(get_loss("CTCLoss"))["targets"].clone()
    ctc.view(-1)[0] = 0
    out.append(("CTCLoss", "blank-in-targets", {"targets": _fmt(ctc)}, {}, "blank"))
    return out


ODD_BUT_LEGAL = _odd_but_legal()


@pytest.mark.parametrize(("loss", "what", "texts", "params", "word"), ODD_BUT_LEGAL,
                         ids=[f"{c[0]}-{c[1]}" for c in ODD_BUT_LEGAL])
def test_odd_but_legal_input_is_computed_with_a_warning(loss: str, what: str, texts: dict[str, str],
                                                        params: dict[str, str], word: str) -> None:
    """Where torch computes, lossviz computes (a refusal would be a bug) and says what is odd."""
    spec = get_loss(loss)
    r = evaluate_text(loss, {**valid_texts(spec), **texts}, params=params)
    assert any(word in w for w in r.warnings), (what, r.warnings)


@pytest.mark.parametrize("name", list_losses())
def test_valid_base_input_evaluates(name: str) -> None:
    """The starting point of every case is itself valid (so each case breaks exactly one thing)."""
    r = evaluate_text(name, valid_texts(get_loss(name)))
    assert torch.isfinite(r.output).all()


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "NLLLoss"])
def test_ignore_index_is_not_out_of_range(name: str) -> None:
    """A negative class index equal to ignore_index is legal: that element is skipped."""
    spec = get_loss(name)
    t = valid_tensors(spec)
    y = t["target"].clone()
    y[0] = -100
    r = evaluate_text(name, {**valid_texts(spec), "target": _fmt(y)})
    assert float(r.per_element[0]) == 0.0
    y[0] = 7
    r = evaluate_text(name, {**valid_texts(spec), "target": _fmt(y)}, params={"ignore_index": "7"})
    assert float(r.per_element[0]) == 0.0


# --------------------------------------------------------------------------- page


class PageCache:
    """One explorer AppTest per loss, reused across cases while it is back in a valid state."""

    def __init__(self) -> None:
        self.pages: dict[str, AppTest] = {}

    def fresh(self, loss: str) -> AppTest:
        spec = get_loss(loss)
        at = AppTest.from_file(PAGE, default_timeout=60)
        at.query_params["loss"] = loss
        at.query_params["reduction"] = spec.default_reduction
        for slot, text in valid_texts(spec).items():
            at.query_params[f"t_{slot}"] = text
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert not at.error, [e.value for e in at.error]
        self.pages[loss] = at
        return at

    def get(self, loss: str) -> AppTest:
        at = self.pages.get(loss)
        if at is None or at.exception or at.error or len(at.metric) != 1:
            at = self.fresh(loss)
        return at


@pytest.fixture(scope="module")
def pages() -> PageCache:
    return PageCache()


def _param_widget(at: AppTest, name: str):
    return at.text_input(key=f"w_p_{name}")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_page_shows_error_and_keeps_input(case: Case, pages: PageCache) -> None:
    spec = get_loss(case.loss)
    good = valid_texts(spec)
    at = pages.get(case.loss)
    value = at.metric[0].value
    expected = f"{evaluate_text(case.loss, good).value:.6g}"
    assert value == expected
    before_params = {p: _param_widget(at, p).value for p in case.params}

    for slot, text in case.texts.items():
        at.text_area(key=f"w_t_{slot}").set_value(text)
    for p, text in case.params.items():
        _param_widget(at, p).set_value(text)
    at.run()

    assert not at.exception, [e.value for e in at.exception]
    assert len(at.error) == 1, [e.value for e in at.error]
    check_message(case, at.error[0].value)
    assert len(at.metric) == 0, "a value is shown next to an error"
    # nothing lost: every box still holds what was typed
    for slot in spec.slots:
        want = case.texts.get(slot.name, good[slot.name])
        assert at.text_area(key=f"w_t_{slot.name}").value == want, slot.name
    for p, text in case.params.items():
        assert _param_widget(at, p).value == text

    # fix it: the value comes back
    for slot in case.texts:
        at.text_area(key=f"w_t_{slot}").set_value(good[slot])
    for p in case.params:
        _param_widget(at, p).set_value(before_params[p])
    at.run()
    assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
    assert [m.value for m in at.metric] == [expected]


# --------------------------------------------------------------------------- CLI


def cli_args(loss: str, texts: dict[str, str], params: dict[str, str]) -> list[str]:
    spec = get_loss(loss)
    argv = ["eval", "--loss", loss]
    for slot in spec.slots:
        argv.append(f"--{slot.cli}={texts[slot.name]}")  # '=' so a text starting with '-' stays a value
    for k, v in params.items():
        argv += ["--param", f"{k}={v}"]
    return argv


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        rc = cli_main(argv)
    except SystemExit as exc:  # argparse usage errors
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def assert_one_error_line(rc: int, out: str, err: str) -> str:
    assert rc == 2, (rc, out, err)
    assert out == "", out
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0][len("error: "):]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_cli_exits_2_with_one_error_line(case: Case, capsys: pytest.CaptureFixture[str]) -> None:
    spec = get_loss(case.loss)
    texts = {**valid_texts(spec), **case.texts}
    rc, out, err = run_cli(cli_args(case.loss, texts, case.params), capsys)
    check_message(case, assert_one_error_line(rc, out, err))


CLI_ONLY: list[tuple[str, list[str], tuple[str, ...]]] = [
    ("bool-maybe", cli_args("TripletMarginLoss", valid_texts(get_loss("TripletMarginLoss")), {"swap": "maybe"}),
     ("true or false",)),
    ("log-target-maybe", cli_args("KLDivLoss", valid_texts(get_loss("KLDivLoss")), {"log_target": "perhaps"}),
     ("true or false",)),
    ("choice-p-3", cli_args("MultiMarginLoss", valid_texts(get_loss("MultiMarginLoss")), {"p": "3"}),
     ("one of 1, 2",)),
    ("unknown-param", cli_args("MSELoss", valid_texts(get_loss("MSELoss")), {"alpha": "1"}), ("no parameter",)),
    ("param-without-equals", ["eval", "--loss", "MSELoss", "--input", "1, 2", "--target", "1, 2", "--param", "beta"],
     ("key=value",)),
    ("unknown-loss", ["eval", "--loss", "FocalLoss", "--input", "1", "--target", "1"], ("unknown loss",)),
    ("unknown-reduction", ["eval", "--loss", "MSELoss", "--input", "1, 2", "--target", "1, 2", "--reduction",
                           "average"], ("no reduction",)),
    ("unknown-transform", ["eval", "--loss", "MSELoss", "--input", "1, 2", "--target", "1, 2", "--transform",
                           "relu"], ("invalid choice",)),
    ("missing-target", ["eval", "--loss", "MSELoss", "--input", "1, 2"], ("needs --target",)),
    ("extra-tensor", ["eval", "--loss", "MSELoss", "--input", "1, 2", "--target", "1, 2", "--var", "1, 1"],
     ("takes no --var",)),
    ("bad-reshape", ["eval", "--loss", "MSELoss", "--input", "1, 2, 3", "--target", "1, 2, 3", "--input-shape",
                     "(2, 2)"], ("cannot reshape",)),
    ("missing-loss", ["eval", "--input", "1"], ("required",)),
]


@pytest.mark.parametrize(("argv", "expect"), [(a, e) for _, a, e in CLI_ONLY], ids=[i for i, _, _ in CLI_ONLY])
def test_cli_only_cases(argv: list[str], expect: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    message = assert_one_error_line(*run_cli(argv, capsys))
    assert any(k in message for k in expect), message


REAL_PROCESS = [
    ["eval", "--loss", "CrossEntropyLoss", "--input", "[[0.1, 0.2, 0.3]]", "--target", "[1, 0, 1]"],
    ["eval", "--loss", "BCELoss", "--input", "1.5, 0.2", "--target", "1, 0", "--json"],
    ["eval", "--loss", "MSELoss", "--input", "1, nan?", "--target", "1, 2"],
    ["eval", "--loss", "CrossEntropyLoss", "--input", "[[1, 2]]", "--target", "[0]", "--param",
     "label_smoothing=2"],
    ["eval", "--loss", "NoSuchLoss", "--input", "1", "--target", "1"],
    ["eval", "--loss", "MSELoss", "--input", "1, 2"],
    # issue 11's reproductions, verbatim: a traceback and exit 1 each before
    ["eval", "--loss", "MSELoss", "--input", "9" * 5000, "--target", "1"],
    ["eval", "--loss", "CrossEntropyLoss", "--input", "[[0.1, 0.2, 0.3]]", "--target", "[1]", "--param",
     "weight=" + "9" * 4301],
    ["eval", "--loss", "CrossEntropyLoss", "--input", "[[0.1, 0.2, 0.3]]", "--target", "[1]", "--param",
     "ignore_index=1e300"],
    ["eval", "--loss", "NLLLoss", "--input", "[[-1.1, -1.2, -1.0]]", "--target", "[1]", "--param",
     "ignore_index=1e300"],
    ["eval", "--loss", "MSELoss", "--input", "١٢٣", "--target", "1"],
]


@pytest.mark.parametrize("argv", REAL_PROCESS, ids=[f"{a[2]}-{i}" for i, a in enumerate(REAL_PROCESS)])
def test_cli_real_process(argv: list[str]) -> None:
    """``python -m lossviz eval`` itself: exit 2, one ``error: ...`` line, no traceback, empty stdout."""
    proc = subprocess.run([sys.executable, "-m", "lossviz", *argv], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parent.parent)
    message = assert_one_error_line(proc.returncode, proc.stdout, proc.stderr)
    assert re.search(r"\w", message)
