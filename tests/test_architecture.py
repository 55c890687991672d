"""Issue 8's rules, checked on the source and on the registry.

- A loss is one registry entry: no module outside lossviz/losses/ compares anything with a loss's name,
  and every landscape/training fact the specs carry is usable (parametrized over the catalog).
- lossviz never imports streamlit; pages import only from package faces.
- Pages lay out widgets and draw: each page file stays under ~250 lines.
- Bad-input errors carry a message id (``msg(...)``), never an English sentence: a page or the CLI
  renders them in the reader's language.
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import pytest
import torch
from torch import nn

import lossviz.landscape as L
from lossviz import LossvizInputError
from lossviz import session as K
from lossviz.explore import Example, agreement, explain, get_preset, grid_rows, grid_text
from lossviz.explore.grid import EmptyCell
from lossviz.i18n import render
from lossviz.losses import (
    BATCH_LAYOUTS,
    chance_loss,
    class_dim,
    get_loss,
    list_losses,
    training_loss,
    training_losses,
)
from lossviz.theme import PALETTE, legend_below, tint

ROOT = Path(__file__).resolve().parents[1]
#: Every page script (pages/__init__.py is the helpers they share).
PAGES = [ROOT / "pages" / n for n in ("__init__.py", "explorer.py", "landscape.py", "lessons.py", "training.py")]
LIBRARY = [p for p in (ROOT / "lossviz").rglob("*.py") if "losses" not in p.relative_to(ROOT / "lossviz").parts]
NAME = re.compile(r"""(==|!=|\bin\b)\s*[\(\[\{]?\s*["'][A-Z][A-Za-z0-9]*Loss["']|["'][A-Z][A-Za-z0-9]*Loss["']\s*(==|!=|\bin\b)""")


@pytest.mark.parametrize("path", LIBRARY + PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_outside_losses_branches_on_a_loss_name(path: Path) -> None:
    hits = [f"{i}: {line.strip()}" for i, line in enumerate(path.read_text().splitlines(), 1) if NAME.search(line)]
    assert not hits, hits


def test_the_name_check_can_fail() -> None:
    assert NAME.search('if spec.name == "CTCLoss":') and NAME.search('if name in ("BCELoss", "X"):')
    assert not NAME.search('prepare("MSELoss", {"input": m})')


@pytest.mark.parametrize("path", sorted((ROOT / "lossviz").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_lossviz_never_imports_streamlit(path: Path) -> None:
    tree = ast.parse(path.read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert not [n for n in names if n.split(".")[0] == "streamlit"]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_pages_import_only_from_faces_and_stay_short(path: Path) -> None:
    tree = ast.parse(path.read_text())
    deep = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
             and n.module.startswith(("lossviz.landscape.", "lossviz.explore.", "lossviz.losses.", "lossviz.training."))]
    assert not deep, deep
    assert len(path.read_text().splitlines()) <= 260, "~250 lines: a page lays out widgets and draws; decisions live in lossviz"


def english_error_calls(source: str) -> list[str]:
    """The ``LossvizInputError(...)`` calls in ``source`` whose first argument is a string literal or an
    f-string (also one built with ``+`` or ``%`` from them): English that no reader can get in Chinese.
    Text in docstrings and comments is not a call, so it is not counted."""

    def literal(node: ast.expr) -> bool:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) or isinstance(node, ast.JoinedStr):
            return True
        if isinstance(node, ast.BinOp):
            return literal(node.left) or literal(node.right)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
            return literal(node.func.value)
        return False

    hits = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name == "LossvizInputError" and literal(node.args[0]):
            hits.append(f"{node.lineno}: {ast.unparse(node)[:120]}")
    return hits


SOURCES = sorted([*(ROOT / "lossviz").rglob("*.py"), *(ROOT / "pages").rglob("*.py")])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_input_errors_carry_a_message_id_not_english(path: Path) -> None:
    hits = english_error_calls(path.read_text())
    assert not hits, "raise LossvizInputError(msg(\"...\", name=value)) instead:\n" + "\n".join(hits)


def test_the_english_error_check_can_fail() -> None:
    bad = [
        'raise LossvizInputError("a slice needs at least 2 points")',
        'raise LossvizInputError(f"plane {plane!r} is unknown")',
        'raise errors.LossvizInputError("grid " + str(n))',
        'raise LossvizInputError("grid {n}".format(n=n)) from exc',
    ]
    for source in bad:
        assert english_error_calls(source), source
    good = [
        'raise LossvizInputError(msg("plane {plane} is unknown", plane=repr(plane)))',
        "raise LossvizInputError(message) from exc",
        'def f():\n    """>>> raise LossvizInputError("an example in a docstring")"""',
        '# raise LossvizInputError("in a comment")',
    ]
    for source in good:
        assert not english_error_calls(source), source


# --------------------------------------------------------------------------- every spec's facts are usable


@pytest.mark.parametrize("name", list_losses())
def test_spec_landscape_facts_fit_the_catalog(name: str) -> None:
    spec = get_loss(name)
    assert spec.batch_layout is None or spec.batch_layout in L.LAYOUTS
    assert set(L.LAYOUTS) == set(BATCH_LAYOUTS)
    assert all(get_loss(other).name == other for other in spec.family)
    assert set(spec.symbols) <= {s.name for s in spec.slots}
    ex = Example.for_landscape(name)
    ex.evaluate()  # the explorer accepts the landscape's example
    setup = L.setup_for(ex)
    x, y = L.default_elements(setup)
    L.check_element(setup, x)
    L.check_element(setup, y)
    assert x != y
    for el in (x, y):
        lo, hi, why = L.element_domain(setup, el)
        assert lo < hi and (why is None) == (math.isinf(lo) and math.isinf(hi))
        assert lo <= setup.current(el) <= hi


@pytest.mark.parametrize("name", list(training_losses()))
def test_training_use_matches_a_direct_torch_call(name: str) -> None:
    g = torch.Generator().manual_seed(0)
    scores, labels = torch.randn(8, 10, generator=g), torch.randint(0, 10, (8,), generator=g)
    direct = {
        "CrossEntropyLoss": lambda: nn.CrossEntropyLoss(label_smoothing=0.1)(scores, labels),
        "NLLLoss": lambda: nn.NLLLoss()(torch.log_softmax(scores, dim=1), labels),
        "MultiMarginLoss": lambda: nn.MultiMarginLoss(margin=2.0)(scores, labels),
    }[name]()
    got = training_loss(name, label_smoothing=0.1 if name == "CrossEntropyLoss" else 0.0, margin=2.0)(scores, labels)
    torch.testing.assert_close(got, direct)
    flat = torch.zeros(4, 10)  # a network that cannot tell the classes apart
    want = training_loss(name, margin=2.0)(flat, torch.tensor([0, 3, 5, 9]))
    assert chance_loss(name, 10, margin=2.0) == pytest.approx(float(want), rel=1e-6)


def test_training_loss_refuses_a_loss_that_does_not_train_a_classifier() -> None:
    with pytest.raises(LossvizInputError, match="does not fit 10-class training"):
        training_loss("MSELoss")


def test_one_class_dimension_rule() -> None:
    assert [class_dim(n) for n in (1, 2, 3, 4)] == [0, 1, 1, 1]
    assert get_loss("CTCLoss").class_dim(3) == -1 and get_loss("CrossEntropyLoss").class_dim(2) == 1


def test_the_nonfinite_hint_comes_from_the_spec() -> None:
    r = Example("CTCLoss", "mean", texts={"log_probs": "[[-1.0, -2.0]]", "targets": "[1, 1]",
                                          "input_lengths": "1", "target_lengths": "2"}).evaluate()
    assert any(get_loss("CTCLoss").nonfinite_hint in w for w in r.warnings)


def test_switching_to_kldiv_takes_torchs_default_and_warns_and_back() -> None:
    ex, _ = Example("MSELoss", "mean", texts={"input": "0.1, 0.2", "target": "0.5, 0.5"}).with_loss("KLDivLoss")
    assert ex.reduction == "mean" == get_loss("KLDivLoss").default_reduction  # nn.KLDivLoss()'s own default
    assert any("batchmean" in w for w in ex.evaluate().warnings)  # the advice stays, as a warning
    back, _ = ex.replace(reduction="mean").with_loss("MSELoss")
    assert back.reduction == "mean" == get_loss("MSELoss").default_reduction


# --------------------------------------------------------------------------- the landscape page's decisions


def _mse() -> L.Setup:
    return L.setup_for(Example("MSELoss", "mean", texts={"input": "2.0, -1.0, 0.5", "target": "0.5, 1.0, 0.5"}))


def test_view_round_trips_through_the_url_as_keys() -> None:
    setup = _mse()
    chosen = {**L.defaults(setup), K.LANDSCAPE_Y: "input:2", K.LANDSCAPE_RANGE: "-1, 3, -2, 2",
              K.LANDSCAPE_LR: 0.25, K.LANDSCAPE_TAB: "Descent", K.LANDSCAPE_COMPARE: ["L1Loss"]}
    q = L.view_query(chosen)
    assert q[K.LANDSCAPE_Y] == "input:2" and q[K.LANDSCAPE_LR] == "0.25"
    values, notes = L.read_view(q, setup)
    assert notes == []
    assert {k: values[k] for k in q} == {k: chosen[k] for k in q}


def test_read_view_refuses_labels_and_nonsense_in_one_sentence_each() -> None:
    values, notes = L.read_view({K.LANDSCAPE_X: "ŷ₀ — prediction ŷ = 2", K.LANDSCAPE_RESOLUTION: "7",
                                 K.LANDSCAPE_TAB: "Hidden", K.LANDSCAPE_COMPARE: "L1Loss,Bogus"}, _mse())
    assert K.LANDSCAPE_X not in values and values[K.LANDSCAPE_COMPARE] == ["L1Loss"]
    assert len(notes) == 4 and all(str(n).endswith(".") and render(n, "zh").endswith("。") for n in notes)


def test_range_fallbacks() -> None:
    setup = _mse()
    auto = L.resolve_ranges(setup, "input:0", "input:1", "")
    assert auto.x == L.auto_range(setup, L.Element("input", 0)) and not auto.errors
    bad = L.resolve_ranges(setup, "input:0", "input:1", "1, 2, 3")
    assert bad.x == auto.x and "ranges need 4" in bad.errors[0]
    given = L.resolve_ranges(setup, "input:0", "input:1", "-1, 1, -2, 2")
    assert given.x == (-1.0, 1.0) and given.y == (-2.0, 2.0)
    bce = L.setup_for(Example("BCELoss", "mean", texts={"input": "0.2, 0.9", "target": "1., 0."}))
    clipped = L.resolve_ranges(bce, "input:0", "input:1", "-1, 2, 0.1, 0.5")
    assert clipped.x[0] > 0 and clipped.x[1] < 1 and "between 0 and 1" in clipped.notes[0]


def test_learning_rate_fallback() -> None:
    setup = _mse()
    ranges = L.resolve_ranges(setup, "input:0", "input:1", "")
    assert L.learning_rate(setup, "input:0", "input:1", ranges, 0.3) == (0.3, False)
    lr, automatic = L.learning_rate(setup, "input:0", "input:1", ranges, None)
    span = max(ranges.x[1] - ranges.x[0], ranges.y[1] - ranges.y[0])
    assert automatic and lr == L.suggest_lr(setup, (L.Element("input", 0), L.Element("input", 1)), span)


# --------------------------------------------------------------------------- the explorer's decisions


def test_agreement_of_a_derivation_with_torch() -> None:
    r = Example("MSELoss", "mean", texts={"input": "1, 2, 3", "target": "1, 2, 5"}).evaluate()
    d = explain(r)
    assert d is not None
    a = agreement(d, r)
    assert a.agrees and a.diff is not None and a.diff < 1e-6
    d.result.add_(1.0)  # a derivation that disagrees is flagged
    a = agreement(d, r)
    assert not a.agrees and a.status == "differ" and a.diff == pytest.approx(1.0)


def test_grid_edits() -> None:
    assert grid_rows("[[1, 2], [3, 4]]", "input").shape == (2, 2)
    assert grid_rows("1", "input") is None and grid_rows("[[[1]]]", "input") is None and grid_rows("x", "t") is None
    assert grid_text([[1.0, 2.0], [3.0, 5.0]], "[[1, 2], [3, 4]]", "target") == "[[1, 2], [3, 5]]"
    assert grid_text([[1.0, 2.0]], "1., 2.", "input") is None  # nothing changed
    assert grid_text([[1.5, 2.0]], "1, 2", "input") == "[1.5, 2.0]"  # a fraction in an integer tensor counts
    with pytest.raises(EmptyCell):
        grid_text([[float("nan"), 2.0]], "1, 2", "input")


def test_one_palette_and_legend() -> None:
    assert len(set(PALETTE)) == len(PALETTE) >= 6
    assert legend_below(-0.3) == {"orientation": "h", "yanchor": "top", "y": -0.3, "xanchor": "left", "x": 0.0}
    assert tint("#0072B2", 0.0) == "#0072b2" and tint("#0072B2", 1.0) == "#ffffff"


def test_settle_reads_the_link_once_then_resets_only_for_a_new_loss() -> None:
    setup = _mse()
    first, notes = L.settle({}, setup, {K.LANDSCAPE_Y: "input:2", K.LANDSCAPE_STEPS: "x"})
    assert first[K.LANDSCAPE_Y] == "input:2" and first[K.LANDSCAPE_STEPS] == 30 and len(notes) == 1
    state = {**first, K.LANDSCAPE_RANGE: "-1, 1", K.LANDSCAPE_RESOLUTION: 21}
    again, notes = L.settle(state, setup, {K.LANDSCAPE_Y: "input:0"})  # the link is read only once
    assert K.LANDSCAPE_Y not in again and K.LANDSCAPE_RANGE not in again and not notes
    other = L.setup_for(Example.for_landscape("GaussianNLLLoss"))
    moved, _ = L.settle(state, other, {})
    assert moved[K.LANDSCAPE_RANGE] == "" and moved[K.LANDSCAPE_Y] == "var:0" and moved[K.LANDSCAPE_COMPARE] is None
    assert K.LANDSCAPE_RESOLUTION not in moved  # kept across losses
    one = L.setup_for(Example("MSELoss", "mean", texts={"input": "1", "target": "2"}))
    with pytest.raises(LossvizInputError):
        L.settle({}, one, {})


def test_edits_and_parameter_widget_values() -> None:
    ex = Example.from_preset(get_preset("l1_sum"))
    edited = ex.edited("texts", "input", "4, 5, 6")
    assert edited.texts["input"] == "4, 5, 6" and edited.preset == "" and ex.texts["input"] == "1, 2, 3"
    ce = Example("CrossEntropyLoss", "mean", params={"label_smoothing": "0.2"})
    spec = get_loss("CrossEntropyLoss")
    assert ce.param_value(spec.param("label_smoothing")) == "0.2"
    assert ce.param_value(spec.param("weight")) == ""
    mm = Example("MultiMarginLoss", "mean", params={"p": "2"})
    assert mm.param_value(get_loss("MultiMarginLoss").param("p")) == 2
    assert Example("CTCLoss", "mean").param_value(get_loss("CTCLoss").param("zero_infinity")) is False


def test_tabs_are_keys_in_the_link_and_labels_in_each_language() -> None:
    assert L.tab_key(L.tab_label("Descent", "zh")) == "Descent" == L.tab_key("Descent")
    assert L.tab_key("Hidden") == L.TABS[0]
    assert L.view_query({K.LANDSCAPE_TAB: L.tab_label("sum vs mean", "zh")})[K.LANDSCAPE_TAB] == "sum vs mean"
    assert [m[0] for m in L.resolve_ranges(_mse(), "input:0", "input:1", "1, 2, 3").messages()] == ["error"]
