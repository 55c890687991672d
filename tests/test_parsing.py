"""The safe parser: forms it reads, messages for what it refuses, caps, fuzzing."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from lossviz.errors import LossvizInputError
from lossviz.losses.parsing import (
    MAX_CHARS,
    MAX_DEPTH,
    MAX_ELEMENTS,
    format_tensor,
    parse_shape,
    parse_tensor,
)


@pytest.mark.parametrize(
    ("text", "shape", "dtype"),
    [
        ("1, 2, 3", (3,), torch.int64),
        ("0.1 0.2 0.3", (3,), torch.float32),
        ("2.5", (), torch.float32),
        ("-7", (), torch.int64),
        ("[[1, 2], [3, 4]]", (2, 2), torch.int64),
        ("((1, 2), (3, 4))", (2, 2), torch.int64),
        ("1 2\n3 4", (2, 2), torch.int64),
        ("1 2; 3 4", (2, 2), torch.int64),
        ("0\n1\n2", (3,), torch.int64),
        ("[1e-3, -2E+2, .5, 3.]", (4,), torch.float32),
        ("[[0.1,0.2]]\n", (1, 2), torch.float32),
        ("[1, 2] [3, 4]", (2, 2), torch.int64),
        ("[[[1],[2]],[[3],[4]]]", (2, 2, 1), torch.int64),
        ("  +1 ,\t-2  ", (2,), torch.int64),
    ],
)
def test_forms(text: str, shape: tuple[int, ...], dtype: torch.dtype) -> None:
    t = parse_tensor(text)
    assert tuple(t.shape) == shape
    assert t.dtype == dtype


def test_values_are_exact() -> None:
    t = parse_tensor("[[0.8, 0.5], [0.2, -0.9]]")
    assert torch.equal(t, torch.tensor([[0.8, 0.5], [0.2, -0.9]]))


def test_reshape_like_the_tutorial() -> None:
    t = parse_tensor("1, 2, 3", shape="(1, 1, 1, 3)")
    assert tuple(t.shape) == (1, 1, 1, 3)
    assert tuple(parse_tensor("1 2 3 4 5 6", shape="-1, 2").shape) == (3, 2)
    assert tuple(parse_tensor("1 2 3 4 5 6", shape="2x3").shape) == (2, 3)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", ["empty"]),
        ("   \n ", ["empty"]),
        ("[]", ["empty"]),
        ("[[1, 2], [3]]", ["row 2", "same length"]),
        ("1 2\n3", ["row 2", "same length"]),
        ("1, a, 3", ["'a'", "column 4", "not a number"]),
        ("1, 2, three", ["'three'", "not a number"]),
        ("0x10", ["'0x10'", "not a number"]),
        ("1.2.3", ["'1.2.3'"]),
        ("nan", ["NaN", "replace"]),
        ("1, inf", ["infinite", "column 4"]),
        ("-inf", ["infinite"]),
        ("1e999", ["too large"]),
        ("[1, 2", ["never closed"]),
        ("1, 2]", ["never", "opened"]),
        ("[1, 2)", ["does not match"]),
        ("[1; 2]", ["inside brackets"]),
        ("__import__('os')", ["not a number"]),
        ("99999999999999999999999", ["too large"]),
    ],
)
def test_refusals_name_the_problem(text: str, words: list[str]) -> None:
    with pytest.raises(LossvizInputError) as err:
        parse_tensor(text)
    for w in words:
        assert w in str(err.value), str(err.value)


def test_position_is_line_and_column() -> None:
    with pytest.raises(LossvizInputError, match="line 2, column 3"):
        parse_tensor("1 2\n3 x")


def test_caps() -> None:
    with pytest.raises(LossvizInputError, match="characters"):
        parse_tensor("1," * (MAX_CHARS // 2 + 1))
    with pytest.raises(LossvizInputError, match=f"more than {MAX_ELEMENTS}"):
        parse_tensor(" ".join(["1"] * (MAX_ELEMENTS + 1)))
    assert parse_tensor(" ".join(["1"] * MAX_ELEMENTS)).numel() == MAX_ELEMENTS
    with pytest.raises(LossvizInputError, match="nest deeper"):
        parse_tensor("[" * (MAX_DEPTH + 1) + "1" + "]" * (MAX_DEPTH + 1))


def test_nonfinite_on_purpose() -> None:
    t = parse_tensor("nan, inf, -inf, 1e999", allow_nonfinite=True)
    assert math.isnan(t[0]) and t[1] == math.inf and t[2] == -math.inf and t[3] == math.inf


@pytest.mark.parametrize(
    ("shape", "numel", "words"),
    [
        ("(2, 2)", 3, "cannot reshape 3"),
        ("(-1, -1)", 4, "only one dimension"),
        ("(0, 3)", 0, "not a valid size"),
        ("(a, 3)", 3, "not a whole number"),
        ("(-1, 4)", 6, "not a multiple"),
    ],
)
def test_bad_shapes(shape: str, numel: int, words: str) -> None:
    with pytest.raises(LossvizInputError, match=words):
        parse_shape(shape, numel)


def test_no_eval_in_the_code() -> None:
    """The brief forbids eval of any kind: no call to eval/exec/literal_eval, no pickle, in lossviz/ or pages/."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    files = [*root.joinpath("lossviz").glob("*.py"), *root.joinpath("pages").glob("*.py"), root / "app.py"]
    assert len(files) > 5
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            fn = node.func
            where = f"{path.name}:{node.lineno}"
            if isinstance(fn, ast.Name):  # model.eval() is a method, not the builtin
                assert fn.id not in ("eval", "exec", "compile", "__import__"), f"{where} calls {fn.id}"
            if isinstance(fn, ast.Attribute):
                owner = fn.value.id if isinstance(fn.value, ast.Name) else ""
                assert fn.attr != "literal_eval", f"{where} calls literal_eval"
                assert not (owner == "pickle" and fn.attr in ("load", "loads")), f"{where} unpickles"
                if owner == "torch" and fn.attr == "load":
                    kw = {k.arg: k.value for k in node.keywords}
                    assert "weights_only" in kw and getattr(kw["weights_only"], "value", None) is True, (
                        f"{where}: torch.load without weights_only=True"
                    )


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=200))
def test_fuzz_any_text_gives_tensor_or_input_error(text: str) -> None:
    try:
        t = parse_tensor(text)
    except LossvizInputError as exc:
        assert str(exc)
    else:
        assert isinstance(t, torch.Tensor)
        assert t.numel() >= 1
        assert bool(torch.isfinite(t.to(torch.float64)).all())


_ALPHABET = st.sampled_from(list("0123456789.,;[]() \n-+eEinaf"))


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=80).map("".join))
def test_fuzz_numberish_text(text: str) -> None:
    try:
        parse_tensor(text, shape=None)
    except LossvizInputError:
        pass


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(1, 4), min_size=1, max_size=3).flatmap(
        lambda dims: st.lists(
            st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32),
            min_size=math.prod(dims),
            max_size=math.prod(dims),
        ).map(lambda vals: torch.tensor(vals, dtype=torch.float32).reshape(dims))
    )
)
def test_format_round_trips(t: torch.Tensor) -> None:
    back = parse_tensor(format_tensor(t))
    assert back.shape == t.shape
    assert torch.equal(back.to(torch.float32), t)
    pretty = parse_tensor(format_tensor(t, pretty=True))
    assert torch.equal(pretty.to(torch.float32), t)


# --------------------------------------------------------------------------- issue 11 / issue 9: digits and limits


def test_int64_bounds_are_both_accepted() -> None:
    t = parse_tensor("-9223372036854775808, 9223372036854775807")
    assert t.dtype == torch.int64 and t.tolist() == [-(2**63), 2**63 - 1]
    for text in (str(2**63), str(-(2**63) - 1)):
        with pytest.raises(LossvizInputError, match="too large"):
            parse_tensor(text)


def test_whole_number_past_pythons_digit_limit_is_refused_in_words() -> None:
    for digits in (4300, 4301, 5000):
        with pytest.raises(LossvizInputError, match=f"{digits:,} digits"):
            parse_tensor("-" + "9" * digits)
    # a decimal point makes it a float: too large for float32, said as such
    with pytest.raises(LossvizInputError, match="too large"):
        parse_tensor("9" * 5000 + ".0")


@pytest.mark.parametrize("text", ["\u0661\u0662\u0663", "\uff11\uff12", "(\u0661,\u0662)", "1, \u0966", "\u0967.5"])
def test_digits_of_other_scripts_are_refused(text: str) -> None:
    with pytest.raises(LossvizInputError, match="digits that are not 0-9"):
        parse_tensor(text)


def test_digits_of_other_scripts_in_a_shape_are_refused() -> None:
    with pytest.raises(LossvizInputError, match="digits that are not 0-9"):
        parse_shape("(\u0661, 3)")
    with pytest.raises(LossvizInputError, match="digits that are not 0-9"):
        parse_tensor("1, 2, 3", shape="\uff11x3")


@pytest.mark.parametrize(
    ("typed", "ascii"),
    [
        ("\uff3b1\uff0c \uff0d2\uff3d", "[1, -2]"),  # ［1， －2］
        ("\uff08\uff081\uff0c2\uff09\uff0c\uff083\uff0c4\uff09\uff09", "((1,2),(3,4))"),  # （（1，2），（3，4））
        ("0\uff0e5\u30001\u3001\u22122", "0.5 1,-2"),  # full stop, ideographic space and comma, minus sign
        ("1 2\uff1b3 4", "1 2;3 4"),
    ],
)
def test_full_width_punctuation_reads_as_its_ascii_twin(typed: str, ascii: str) -> None:
    got, want = parse_tensor(typed), parse_tensor(ascii)
    assert got.dtype == want.dtype and torch.equal(got, want)
    assert parse_shape("\uff081\uff0c\uff0d1\uff09", 4) == (1, 4)


def test_parse_number_follows_the_parser() -> None:
    from lossviz.losses.parsing import parse_number

    assert parse_number("\uff0d2.5") == -2.5
    assert parse_number("1e3", whole=True) == 1000 and isinstance(parse_number("1e3", whole=True), int)
    assert parse_number("-9223372036854775808", whole=True) == -(2**63)
    for bad, words in (("1_000", "must be a number"), ("\u0661", "digits that are not 0-9"), ("1e300", "64 bits"),
                       ("9" * 5000, "64 bits"), ("1.5", "whole number"), ("nan", "finite"), ("", "empty")):
        with pytest.raises(LossvizInputError, match=words):
            parse_number(bad, whole=True)


def test_leading_zeros_do_not_count_against_the_digit_limit() -> None:
    """Python's int() limit counts leading zeros; 5,000 zeros before a 7 is still 7 (found by hypothesis)."""
    from lossviz.losses.parsing import parse_number

    assert int(parse_tensor("-" + "0" * 5000 + "7")) == -7
    assert parse_number("0" * 5000 + "12", whole=True) == 12
