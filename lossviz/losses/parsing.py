"""Text -> tensor, safely: the only place user text becomes numbers.

A hand-written tokenizer and recursive-descent reader; there is no ``eval`` and
no ``ast.literal_eval`` anywhere. Every size is capped before any work is done.

Accepted forms (numbers separated by commas, spaces, tabs or new lines):

- ``0.1, 0.2, 0.3``                 -> shape (3,)
- ``2.5``                           -> shape () (a scalar)
- ``[[1, 2], [3, 4]]`` or ``((1, 2), (3, 4))`` -> shape (2, 2)
- ``1 2\\n3 4`` or ``1 2; 3 4``      -> shape (2, 2) (one row per line or ``;``)
- an optional shape to reshape to: ``(1, 1, 1, 3)``, ``1x3``, ``-1, 2``

Whole numbers only (``1, 0, 2``) give an int64 tensor (class indices; any
int64, however many digits are typed, else "too large"); anything with a
decimal point or exponent gives float32. ``nan`` and ``inf`` are numbers too, but
refused unless the caller asks for them (``allow_nonfinite``): the loss inputs do
(``parse_inputs``: torch computes with them and the result says where they went),
parameters and ranges do not. Digits are ASCII 0-9
only (``١٢٣`` or ``１２`` are refused in words, never read); the punctuation a
Chinese input method types (``，［］（）－`` ...) reads as its ASCII twin.
``parse_number`` applies the same rules to one number (parameters, ranges).

Example:
    >>> parse_tensor("[[0.8, 0.2], [0.1, 0.9]]").shape
    torch.Size([2, 2])
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from lossviz.errors import LossvizInputError
from lossviz.i18n import Message, msg

#: Most characters one box may hold (checked before anything else).
MAX_CHARS = 20_000
#: Most numbers one tensor may hold.
MAX_ELEMENTS = 4_096
#: Deepest bracket nesting (and most dimensions of a shape).
MAX_DEPTH = 6
#: Largest magnitude accepted: float32's finite range.
MAX_ABS = 3.4e38
#: Largest whole number accepted as an integer (int64 range).
MAX_INT = 2**63 - 1
#: Smallest whole number accepted as an integer (int64 range).
MIN_INT = -(2**63)
#: Most digits a whole number may have and still fit in int64 (checked before ``int()``, whose
#: own limit of 4,300 digits would otherwise raise a ValueError).
_MAX_INT_DIGITS = len(str(MAX_INT))

# ASCII digits only: ``\d`` would also match Arabic-Indic, Devanagari or full-width digits.
_NUMBER = re.compile(
    r"[+-]?(?:(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?|nan|inf(?:inity)?)",
    re.IGNORECASE,
)
_INTEGER = re.compile(r"[+-]?[0-9]+")

#: Punctuation a Chinese (or Japanese) input method types instead of its ASCII twin; read as the twin.
#: One character for one, so every position in a message still points at what was typed.
FULL_WIDTH = {
    "\uff0c": ",",  # ， full-width comma
    "\u3001": ",",  # 、 ideographic comma
    "\uff1b": ";",  # ； full-width semicolon
    "\uff3b": "[",  # ［
    "\uff3d": "]",  # ］
    "\uff08": "(",  # （
    "\uff09": ")",  # ）
    "\uff0d": "-",  # － full-width hyphen-minus
    "\u2212": "-",  # − minus sign
    "\uff0b": "+",  # ＋
    "\uff0e": ".",  # ． full-width full stop
    "\u3000": " ",  # ideographic space
}
_FULL_WIDTH_TABLE = str.maketrans(FULL_WIDTH)


def ascii_twins(text: str) -> str:
    """``text`` with full-width punctuation (``，［］（）－`` ...) replaced by its ASCII twin.

    Digits are not touched: a digit of another script is refused by the parser, never read.

    Example:
        >>> ascii_twins("［1，－2］")
        '[1,-2]'
    """
    return text.translate(_FULL_WIDTH_TABLE)


def _foreign_digits(word: str) -> Message | None:
    """A message fragment when ``word`` holds digits other than ASCII 0-9 (else None)."""
    odd = [ch for ch in word if ch.isdigit() and not ("0" <= ch <= "9")]
    if not odd:
        return None
    try:
        import unicodedata

        twin = "".join(str(unicodedata.digit(ch)) if ch in odd else ch for ch in word)
        fix = (msg("type it with the digits 0-9 ({twin})", twin=repr(twin)) if _NUMBER.fullmatch(twin)
               else msg("type it with the digits 0-9"))
    except (TypeError, ValueError):
        fix = msg("type it with the digits 0-9")
    return msg(
        "is written with digits that are not 0-9 ({odd}); lossviz reads only the digits 0-9, so {fix}",
        odd="".join(dict.fromkeys(odd)), fix=fix,
    )


_OPEN = "[("
_CLOSE = "])"
_PAIR = {"[": "]", "(": ")"}


@dataclass(frozen=True)
class _Tok:
    kind: str  # "num", "open", "close", "row" (a ; or a new line outside brackets)
    text: str
    pos: int


def _where(text: str, pos: int) -> Message:
    """Human position: line and column (1-based) of character ``pos``, in the reader's language
    ("line 1, column 11", "第 1 行第 11 列")."""
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return msg("line {line}, column {col}", line=line, col=col)


def _not_a_number(text: str, i: int, word: str, name: str) -> None:
    foreign = _foreign_digits(word)
    if foreign:
        raise LossvizInputError(msg(
            "{name}: {word} at {where_text} {foreign}",
            name=name, word=repr(word), where_text=_where(text, i), foreign=foreign,
        ))
    raise LossvizInputError(
        msg(
            "{name}: {word} at {where_text} is not a number; use numbers like 0.5, -2, 1e-3 separated"
            " by commas or spaces",
            name=name, word=repr(word), where_text=_where(text, i),
        )
    )


def _tokenize(text: str, name: str, max_elements: int) -> list[_Tok]:
    toks: list[_Tok] = []
    depth = 0
    numbers = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r,":
            i += 1
            continue
        if ch == "\n" or ch == ";":
            if depth == 0:
                toks.append(_Tok("row", ch, i))
            elif ch == ";":
                raise LossvizInputError(
                    msg(
                        "{name}: ';' at {where_text} is inside brackets; inside brackets separate numbers with "
                        "commas and rows with ], [",
                        name=name, where_text=_where(text, i),
                    )
                )
            i += 1
            continue
        if ch in _OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                raise LossvizInputError(
                    msg(
                        "{name}: brackets nest deeper than {max_depth} levels at {where_text}; lossviz takes "
                        "tensors of at most {max_depth} dimensions",
                        name=name, max_depth=MAX_DEPTH, where_text=_where(text, i),
                    )
                )
            toks.append(_Tok("open", ch, i))
            i += 1
            continue
        if ch in _CLOSE:
            depth -= 1
            toks.append(_Tok("close", ch, i))
            i += 1
            continue
        m = _NUMBER.match(text, i)
        if m is None or m.end() == i:
            bad = re.match(r"\S+?(?=[\s,;\[\]()]|$)", text[i:])
            _not_a_number(text, i, bad.group(0) if bad else ch, name)
        end = m.end()
        if end < n and (text[end].isalnum() or text[end] in "._"):
            bad = re.match(r"[^\s,;\[\]()]+", text[i:])
            _not_a_number(text, i, bad.group(0) if bad else text[i : end + 1], name)
        numbers += 1
        if numbers > max_elements:
            raise LossvizInputError(
                msg(
                    "{name}: more than {max_elements} numbers; lossviz takes at most {max_elements} numbers "
                    "per box, so use a smaller example",
                    name=name, max_elements=max_elements,
                )
            )
        toks.append(_Tok("num", m.group(0), i))
        i = end
    return toks


class _Reader:
    """Recursive descent over tokens: value := num | open value* close."""

    def __init__(self, text: str, toks: list[_Tok], name: str):
        self.text = text
        self.toks = toks
        self.i = 0
        self.name = name

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def value(self) -> object:
        tok = self.toks[self.i]
        self.i += 1
        if tok.kind == "num":
            return tok
        if tok.kind == "close":
            raise LossvizInputError(
                msg(
                    "{name}: '{text}' at {where_text} closes a bracket that was never opened; remove it or "
                    "add the matching opening bracket",
                    name=self.name, text=tok.text, where_text=_where(self.text, tok.pos),
                )
            )
        # open bracket: read children until the matching close
        items: list[object] = []
        while True:
            nxt = self.peek()
            if nxt is None:
                raise LossvizInputError(
                    msg(
                        "{name}: '{text}' at {where_text} is never closed; add '{pair}' at the end",
                        name=self.name, text=tok.text, where_text=_where(self.text, tok.pos), pair=_PAIR[tok.text],
                    )
                )
            if nxt.kind == "close":
                if nxt.text != _PAIR[tok.text]:
                    raise LossvizInputError(
                        msg(
                            "{name}: '{text}' at {where_text} does not match '{text2}' at {where_text2}; close it "
                            "with '{pair}'",
                            name=self.name, text=nxt.text, where_text=_where(self.text, nxt.pos), text2=tok.text, where_text2=_where(self.text, tok.pos), pair=_PAIR[tok.text],
                        )
                    )
                self.i += 1
                return (tok, items)
            items.append(self.value())


def _shape_of(node: object, text: str, name: str) -> tuple[int, ...]:
    if isinstance(node, _Tok):
        return ()
    tok, items = node  # type: ignore[misc]
    if not items:
        return (0,)
    shapes = [_shape_of(child, text, name) for child in items]
    first = shapes[0]
    for k, s in enumerate(shapes[1:], start=2):
        if s != first:
            child = items[k - 1]
            at = child.pos if isinstance(child, _Tok) else child[0].pos
            what, want = _describe(s), _describe(first)
            raise LossvizInputError(
                msg(
                    "{name}: row {k} at {where_text} has {what} but row 1 has {want}; every row needs the "
                    "same length (ragged rows cannot form a tensor)",
                    name=name, k=k, where_text=_where(text, at), what=what, want=want,
                )
            )
    return (len(items), *first)


def _describe(shape: tuple[int, ...]) -> Message:
    if shape == ():
        return msg("a single number")
    if len(shape) == 1:
        return msg("1 number") if shape[0] == 1 else msg("{n} numbers", n=shape[0])
    return msg("shape {shape}", shape="(" + ", ".join(map(str, shape)) + ")")


def _flatten(node: object, out: list[_Tok]) -> None:
    if isinstance(node, _Tok):
        out.append(node)
        return
    for child in node[1]:  # type: ignore[index]
        _flatten(child, out)


def _whole(s: str) -> int:
    """``int(s)`` for an ASCII whole number of at most 19 significant digits, however many leading zeros
    (Python's 4,300-digit limit counts them too)."""
    body = s.lstrip("+-").lstrip("0") or "0"
    return -int(body) if s.startswith("-") else int(body)


def _to_number(tok: _Tok, text: str, name: str, allow_nonfinite: bool, as_int: bool) -> float | int:
    s = tok.text
    if as_int:
        digits = len(s.lstrip("+-").lstrip("0"))
        v = _whole(s) if digits <= _MAX_INT_DIGITS else None  # never int() a 5,000-digit text
        if v is None or not MIN_INT <= v <= MAX_INT:
            shown = s if len(s) <= 30 else f"{s[:12]}…{s[-6:]} ({digits:,} digits)"
            raise LossvizInputError(
                msg(
                    "{name}: {shown} at {where_text} is too large; whole numbers must fit in 64 bits (from "
                    "{min_int} to {max_int})",
                    name=name, shown=shown, where_text=_where(text, tok.pos), min_int=MIN_INT, max_int=MAX_INT,
                )
            )
        return v
    v = float(s)
    if math.isnan(v) or math.isinf(v) or abs(v) > MAX_ABS:
        if not allow_nonfinite:
            kind = "NaN (not a number)" if math.isnan(v) else "infinite" if "inf" in s.lower() else "too large"
            raise LossvizInputError(
                msg(
                    "{name}: {s} at {where_text} is {kind}; losses need finite numbers (between -{max_abs} "
                    "and {max_abs}), so replace it",
                    name=name, s=s, where_text=_where(text, tok.pos), kind=kind, max_abs=format(MAX_ABS, 'g'),
                )
            )
        if not math.isnan(v) and not math.isinf(v):
            v = math.copysign(math.inf, v)
    return v


def parse_tensor(
    text: str,
    *,
    name: str = "input",
    shape: str | Sequence[int] | None = None,
    allow_nonfinite: bool = False,
    max_elements: int = MAX_ELEMENTS,
    max_chars: int = MAX_CHARS,
) -> torch.Tensor:
    """Parse ``text`` into a tensor (int64 if every number is whole, else float32).

    Raises ``LossvizInputError`` naming the position and the fix for anything
    that is not a clean, rectangular list of at most ``max_elements`` numbers.

    Example:
        >>> parse_tensor("1, 2, 3", shape="(1, 1, 1, 3)").shape
        torch.Size([1, 1, 1, 3])
    """
    if not isinstance(text, str):
        raise LossvizInputError(msg("{name}: expected text, got {name2}", name=name, name2=type(text).__name__))
    if len(text) > max_chars:
        raise LossvizInputError(
            msg(
                "{name}: {n_text} characters is over the limit of {max_chars}; use a smaller example",
                name=name, n_text=len(text), max_chars=max_chars,
            )
        )
    text = ascii_twins(text)
    toks = _tokenize(text, name, max_elements)
    if not any(t.kind == "num" for t in toks):
        if any(t.kind in ("open", "close") for t in toks):
            # still check bracket structure so an unbalanced "[[" says so
            _read_nodes(text, toks, name)
        raise LossvizInputError(msg("{name} is empty; type some numbers, e.g. 0.1, 0.2, 0.3", name=name))
    nodes = _read_nodes(text, toks, name)
    if len(nodes) == 1:
        root = nodes[0]
    else:
        root = (_Tok("open", "[", 0), nodes)
    dims = _shape_of(root, text, name)
    flat: list[_Tok] = []
    _flatten(root, flat)
    as_int = all(_INTEGER.fullmatch(t.text) for t in flat)
    values = [_to_number(t, text, name, allow_nonfinite, as_int) for t in flat]
    if as_int:
        tensor = torch.tensor(values, dtype=torch.int64).reshape(dims)
    else:
        tensor = torch.tensor(values, dtype=torch.float32).reshape(dims)
    if shape is not None:
        tensor = reshape(tensor, shape, name=name)
    return tensor


def parse_number(text: str, *, name: str = "value", whole: bool = False) -> float | int:
    """One number typed by a user (a parameter, a range end): the parser's own rules, nothing looser.

    ASCII digits only (``float()`` would read ``'١٢٣'``, ``'１２'`` and ``'1_000'``), full-width
    punctuation read as its ASCII twin, finite, and with ``whole`` an integer within int64 (also
    written ``1e3`` or ``2.0``). Raises ``LossvizInputError`` naming the value and the fix.

    Example:
        >>> parse_number("－2.5")
        -2.5
        >>> parse_number("1e3", whole=True)
        1000
    """
    if not isinstance(text, str):
        raise LossvizInputError(msg("{name}: expected text, got {name2}", name=name, name2=type(text).__name__))
    t = ascii_twins(text).strip()
    shown = t if len(t) <= 30 else f"{t[:12]}…{t[-6:]} ({len(t):,} characters)"
    m = _NUMBER.fullmatch(t)
    if m is None:
        if not t:
            raise LossvizInputError(msg("{name} is empty; type a number such as 0.5", name=name))
        foreign = _foreign_digits(t[:200])
        if foreign:
            raise LossvizInputError(msg("{name}: {shown} {foreign}", name=name, shown=repr(shown), foreign=foreign))
        raise LossvizInputError(msg(
            "{name} must be a number such as 0.5, -2 or 1e-3, not {shown}",
            name=name, shown=repr(shown),
        ))
    if whole and _INTEGER.fullmatch(t):
        digits = len(t.lstrip("+-").lstrip("0"))
        if digits > _MAX_INT_DIGITS or not MIN_INT <= _whole(t) <= MAX_INT:  # never int() 5,000 digits
            raise LossvizInputError(
                msg(
                    "{name}: {shown} is too large; whole numbers must fit in 64 bits (from {min_int} to "
                    "{max_int})",
                    name=name, shown=shown, min_int=MIN_INT, max_int=MAX_INT,
                )
            )
        return _whole(t)
    v = float(t)  # float() has no digit limit: a 5,000-digit number is inf, refused below
    if not math.isfinite(v):
        raise LossvizInputError(msg("{name} must be a finite number, not {shown}", name=name, shown=repr(shown)))
    if not whole:
        return v
    if v != math.floor(v):
        raise LossvizInputError(msg("{name} must be a whole number, not {shown}", name=name, shown=repr(shown)))
    if not MIN_INT <= int(v) <= MAX_INT:
        raise LossvizInputError(
            msg(
                "{name}: {shown} is too large; whole numbers must fit in 64 bits (from {min_int} to "
                "{max_int})",
                name=name, shown=shown, min_int=MIN_INT, max_int=MAX_INT,
            )
        )
    return int(v)


def _read_nodes(text: str, toks: list[_Tok], name: str) -> list[object]:
    """Top level: bracketed values and bare numbers; ';' or new lines split rows."""
    reader = _Reader(text, toks, name)
    rows: list[list[object]] = [[]]
    while reader.peek() is not None:
        tok = reader.peek()
        assert tok is not None
        if tok.kind == "row":
            reader.i += 1
            if rows[-1]:
                rows.append([])
            continue
        rows[-1].append(reader.value())
    rows = [r for r in rows if r]
    if len(rows) == 1:
        return rows[0]
    # several lines: each line is one row (a line holding one bracketed row is that row);
    # a column of single numbers is read as a plain list
    if all(len(r) == 1 and isinstance(r[0], _Tok) for r in rows):
        return [r[0] for r in rows]
    out: list[object] = []
    for r in rows:
        if len(r) == 1 and not isinstance(r[0], _Tok):
            out.append(r[0])
        else:
            out.append((_Tok("open", "[", r[0].pos if isinstance(r[0], _Tok) else r[0][0].pos), r))
    return out


def parse_shape(text: str | Sequence[int], numel: int | None = None, *, name: str = "shape") -> tuple[int, ...]:
    """Parse a shape such as ``(1, 1, 1, 3)``, ``1x3`` or ``-1, 2``; ``()`` is a scalar.

    With ``numel`` given, one ``-1`` is inferred and the product is checked.
    """
    if isinstance(text, str):
        if len(text) > 200:
            raise LossvizInputError(msg("{name}: too long; write a shape like (1, 1, 1, 3)", name=name))
        body = ascii_twins(text).strip()
        if body.startswith(("(", "[")) and body.endswith((")", "]")):
            body = body[1:-1]
        parts = [p for p in re.split(r"[\s,x×*]+", body.strip()) if p]
        dims: list[int] = []
        for p in parts:
            if not re.fullmatch(r"-?[0-9]{1,9}", p):
                foreign = _foreign_digits(p)
                if foreign:
                    raise LossvizInputError(msg("{name}: {p} {foreign}", name=name, p=repr(p), foreign=foreign))
                if re.fullmatch(r"-?[0-9]+", p):
                    raise LossvizInputError(
                        msg(
                            "{name}: a size of {digits} digits is more than the {most} numbers a tensor may "
                            "hold here; every size must be at most the number of values",
                            name=name, digits=len(p.lstrip("-")), most=format(MAX_ELEMENTS if numel is None else numel, ","),
                        )
                    )
                raise LossvizInputError(
                    msg(
                        "{name}: {p} is not a whole number; write a shape like (1, 1, 1, 3) or 2x3",
                        name=name, p=repr(p[:40]),
                    )
                )
            dims.append(int(p))
    else:
        dims = [int(d) for d in text]
    if len(dims) > MAX_DEPTH:
        raise LossvizInputError(msg(
            "{name}: {n_dims} dimensions is more than the {max_depth} lossviz takes",
            name=name, n_dims=len(dims), max_depth=MAX_DEPTH,
        ))
    if dims.count(-1) > 1:
        raise LossvizInputError(msg("{name}: only one dimension can be -1 (the one PyTorch works out)", name=name))
    most = MAX_ELEMENTS if numel is None else max(numel, 1)
    for d in dims:
        if numel is None and d > most:  # with the values known, the product check below says it better
            raise LossvizInputError(
                msg(
                    "{name}: a size of {d} is more than the {most} numbers a tensor may hold here; every size "
                    "must be at most the number of values",
                    name=name, d=format(d, ","), most=format(most, ","),
                )
            )
        if d < -1 or d == 0:
            raise LossvizInputError(
                msg(
                    "{name}: {d} is not a valid size; each size is a positive whole number (or one -1)",
                    name=name, d=d,
                )
            )
    if numel is not None:
        known = math.prod(d for d in dims if d != -1)
        if -1 in dims:
            if known == 0 or numel % known:
                raise LossvizInputError(
                    msg(
                        "{name}: cannot fit {numel} numbers into {dims}; {numel} is not a multiple of {known}",
                        name=name, numel=numel, dims=tuple(dims), known=known,
                    )
                )
            dims[dims.index(-1)] = numel // known
        elif known != numel:
            raise LossvizInputError(
                msg(
                    "{name}: cannot reshape {numel} numbers to {dims}, which holds {known}; make the sizes "
                    "multiply to the number of values",
                    name=name, numel=numel, dims=tuple(dims), known=known,
                )
            )
    return tuple(dims)


def reshape(tensor: torch.Tensor, shape: str | Sequence[int], *, name: str = "input") -> torch.Tensor:
    """Reshape with a clear message when the sizes do not multiply out."""
    if isinstance(shape, str) and not shape.strip():
        return tensor
    dims = parse_shape(shape, tensor.numel(), name=f"{name} shape")
    return tensor.reshape(dims)


def format_tensor(t: torch.Tensor, *, digits: int | None = None, pretty: bool = False) -> str:
    """Tensor -> text the parser reads back (nested brackets; shortest float32 repr).

    ``digits=None`` writes the shortest text that reads back to the same
    float32 (exact round trip); a number rounds for display. With ``pretty``
    each row of a matrix (or higher) goes on its own line.
    """
    import numpy as np

    def fmt(v: object) -> str:
        if isinstance(v, bool):
            return "1" if v else "0"
        if isinstance(v, int):
            return str(v)
        f = np.float32(v)
        if not np.isfinite(f):
            return "nan" if np.isnan(f) else ("inf" if f > 0 else "-inf")
        s = np.format_float_positional(f, precision=digits, unique=True, trim="-")
        if len(s) > 12:
            s = np.format_float_scientific(f, precision=digits, unique=True, trim="-")
        if s.startswith("-") and float(s) == 0:  # -0.0 (0 · log p) or a rounding to zero: a student reads 0
            s = s[1:]
        if t.is_floating_point() and "." not in s and "e" not in s:
            s += ".0"
        return s

    def rec(x: object, depth: int = 0) -> str:
        if isinstance(x, list):
            nested = pretty and x and isinstance(x[0], list)
            sep = ",\n" + " " * (depth + 1) if nested else ", "
            return "[" + sep.join(rec(v, depth + 1) for v in x) + "]"
        return fmt(x)

    data = t.detach().cpu().tolist()
    return rec(data)
