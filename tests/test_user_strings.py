"""No string literal reaches a reader without being a message id (issue 17, "one way to say a sentence").

The code is read with ``ast`` (nothing is imported or run), so the rules see exactly what a reader
would see. A literal *reaches a user* when it is

1. the text of an error a reader sees: ``raise LossvizInputError("...")`` or any of its subclasses
   (found in lossviz/ by their bases);
2. a note, reason or warning: returned by a function whose name says so (``*_note``, ``*_reason``,
   ``why*``, ``*warning*``, ``*hint*``, a spec's ``*_domain`` / ``*_flat`` rule), assigned to such a name, or appended to a list of them
   (``notes``, ``warns``, ``warnings``, ``messages``, ``reasons``);
3. text on a figure: a ``title``/``*_title``/``title_text``/``text`` keyword of any call, the ``name``
   of a plotly trace (``go.Scatter(name=...)``), the values of a ``LABELS``/``TITLES`` dict;
4. page text: the first argument or the ``label``/``help``/``placeholder``/``caption`` keyword of a
   Streamlit text call (``st.error``, ``col.button``, ``st.sidebar.markdown`` ...) in pages/ and app.py.

A literal that contains no word (``"{:.4g}"``, ``"—"``, ``"σ²"``, ``"%{x:.3g}"``) is not text; nor is
one of the code names in :data:`ALLOWED` (names a reader types or reads as code, in every language).
What the rules accept instead: ``N_("...")``, ``msg("...", x=...)`` / ``Message(...)``, ``gettext(...)``
/ ``tr(...)`` / ``render(...)`` calls, or a variable (the text was marked where it was made).

Besides, the first argument of ``msg`` / ``Message`` / ``N_`` is itself a plain literal: an f-string or
a ``+``-built id is a different id for every value, which no catalog can hold.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = sorted((ROOT / "lossviz").rglob("*.py"))
PAGE_FILES = sorted([*(ROOT / "pages").rglob("*.py"), ROOT / "app.py"])
SOURCES = LIBRARY + PAGE_FILES

#: Literals that are code names or symbols: the same in every language, never translated.
#: Keep this list short; a sentence never belongs here.
ALLOWED = frozenset({
    "Adam",  # the optimizer's name, as in torch.optim
    "CIFAR-10",  # the data set's name
    "PyTorch",
    "TensorBoard",
    "auto",  # the keyword the landscape's range box accepts (typed as shown, in every language)
    "log10 ‖g‖",  # an axis in maths notation (training figures)
    "nn.",  # code: f"nn.{cls}(reduction='{r}')", the torch call shown under a value
    "(reduction='",  # code, as above
})

#: Calls whose result is already in the reader's language, or a message id rendered later.
MARKERS = frozenset({"N_", "msg", "Message", "gettext", "_", "tr", "render", "tr_phrase", "ngettext"})
#: Calls whose first argument must be a plain literal (the msgid the catalog holds).
MSGID_CALLS = frozenset({"N_", "msg", "Message"})

NOTE_FUNC = re.compile(r"(^|_)(note|notes|reason|why|warning|warnings|hint|domain|flat)($|_)|^why")
NOTE_VAR = re.compile(r"^(note|notes|why|reason|warning|hint|warns|warnings|messages|reasons|message)$")
NOTE_LIST = re.compile(r"^(notes|warns|warnings|messages|reasons|out_notes)$")
LABEL_DICT = re.compile(r"(^|_)(LABELS?|TITLES?|CAPTIONS?)($|_)")
TITLE_KW = re.compile(r"^(title|title_text|text|legend_title|legendgrouptitle_text|[a-z]*axis[0-9]*_title|[a-z]*axis[0-9]*_title_text|subtitle)$")
ST_TEXT = frozenset({
    "error", "warning", "info", "success", "exception", "toast", "markdown", "caption", "write", "header",
    "subheader", "title", "text", "button", "download_button", "link_button", "form_submit_button", "toggle",
    "checkbox", "radio", "selectbox", "multiselect", "select_slider", "slider", "number_input", "text_input",
    "text_area", "expander", "popover", "metric", "page_link", "spinner", "tabs", "status", "segmented_control",
    "pills", "color_picker", "date_input", "file_uploader",
})
ST_TEXT_KW = frozenset({"label", "help", "placeholder", "caption", "text", "body"})

# A word: two letters in a row (Latin or CJK), once placeholders, HTML tags and escapes are removed.
_PLACEHOLDER = re.compile(r"%\{[^}]*\}|\{[^{}]*\}|<[^>]*>|\\[a-zA-Z]+|%[-+ #0]*[0-9.]*[a-zA-Z]|&[a-z]+;")
_WORD = re.compile(r"[A-Za-z]{2,}|[\u4e00-\u9fff]")


def is_text(value: str) -> bool:
    """True when ``value`` holds a word a reader reads (not a format, a symbol or an allowed code name)."""
    if value.strip() in ALLOWED:
        return False
    return bool(_WORD.search(_PLACEHOLDER.sub(" ", value)))


def _name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def bare_text(node: ast.expr | None) -> bool:
    """A literal with a word in it that no marker wraps: ``"..."``, ``f"..."``, ``"a" + x``, ``"..." % x``,
    ``"...".format(...)``, or a conditional either branch of which is one."""
    if node is None:
        return False
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and is_text(node.value)
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.Constant) and is_text(str(v.value)) for v in node.values)
    if isinstance(node, ast.BinOp):
        return bare_text(node.left) or bare_text(node.right)
    if isinstance(node, ast.IfExp):
        return bare_text(node.body) or bare_text(node.orelse)
    if isinstance(node, ast.Call):
        if _name(node.func) == "format" and isinstance(node.func, ast.Attribute):
            return bare_text(node.func.value)
        if _name(node.func) == "join" and isinstance(node.func, ast.Attribute):
            return False  # a separator, and parts that are checked where they are made
        return False
    return False


def tuple_note(node: ast.expr | None) -> bool:
    """A message as a ``("key", {params})`` tuple: a second way of saying a sentence (use ``Message``)."""
    return (
        isinstance(node, ast.Tuple)
        and len(node.elts) == 2
        and isinstance(node.elts[0], ast.Constant)
        and isinstance(node.elts[0].value, str)
        and isinstance(node.elts[1], ast.Dict | ast.Name)
    )


def _error_classes() -> set[str]:
    """LossvizInputError and every class in lossviz/ that derives from it (by name, transitively)."""
    bases: dict[str, set[str]] = {}
    for path in LIBRARY:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(n for b in node.bases if (n := _name(b)))
    found = {"LossvizInputError"}
    changed = True
    while changed:
        changed = False
        for cls, bs in bases.items():
            if cls not in found and bs & found:
                found.add(cls)
                changed = True
    return found


ERRORS = _error_classes()


def _is_st_call(call: ast.Call) -> bool:
    """``st.x(...)``, ``st.sidebar.x(...)``, ``col.x(...)``: an attribute call named like a Streamlit text call."""
    return isinstance(call.func, ast.Attribute) and call.func.attr in ST_TEXT


def user_strings(source: str, *, page: bool = False, errors: frozenset[str] | set[str] = frozenset(ERRORS)) -> list[str]:
    """Each place in ``source`` where a bare literal reaches a reader, as ``line: code``."""
    tree = ast.parse(source)
    hits: list[str] = []

    def hit(node: ast.AST, why: str) -> None:
        hits.append(f"{getattr(node, 'lineno', '?')}: {why}: {ast.unparse(node)[:110]}")

    # functions by name, so a return can be judged by the function it is in
    owner: dict[int, str] = {}
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            name = getattr(fn, "name", "<lambda>")
            for sub in ast.walk(fn):
                if isinstance(sub, ast.Return):
                    owner[id(sub)] = name  # innermost wins: inner functions are walked later

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _name(node.func)
            if name in MSGID_CALLS and node.args:
                first = node.args[0]
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)) and (
                    isinstance(first, ast.JoinedStr | ast.BinOp)
                ):
                    hit(node, f"{name}() needs a plain literal msgid")
            if name in MARKERS:
                continue
            if name in errors and node.args and bare_text(node.args[0]):
                hit(node, "an error a reader sees")
            for kw in node.keywords:
                if kw.arg and TITLE_KW.match(kw.arg) and bare_text(kw.value):
                    hit(kw.value, f"figure text {kw.arg}=")
                if kw.arg in ("warning", "note", "reason", "why") and bare_text(kw.value):
                    hit(kw.value, f"{kw.arg}=")
            if (
                isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "go"
            ):
                for kw in node.keywords:
                    if kw.arg == "name" and bare_text(kw.value):
                        hit(kw.value, "trace name")
            if (
                name in ("append", "extend", "insert")
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and NOTE_LIST.match(node.func.value.id)
                and node.args
            ):
                arg = node.args[-1]
                items = arg.elts if isinstance(arg, ast.List | ast.Tuple) and name == "extend" else [arg]
                for item in items:
                    if bare_text(item) or tuple_note(item):
                        hit(node, f"a {node.func.value.id} entry")
            if page and _is_st_call(node):
                args = list(node.args[:1])
                if node.func.attr == "tabs" and node.args and isinstance(node.args[0], ast.List | ast.Tuple):
                    args = list(node.args[0].elts)
                args += [kw.value for kw in node.keywords if kw.arg in ST_TEXT_KW]
                for a in args:
                    if bare_text(a):
                        hit(node, f"page text .{node.func.attr}()")
        elif isinstance(node, ast.Return) and node.value is not None:
            fn = owner.get(id(node), "")
            if NOTE_FUNC.search(fn):
                if tuple_note(node.value):
                    hit(node, f"a (key, params) tuple returned by {fn}()")
                    continue
                values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                for v in values:
                    if bare_text(v):
                        hit(node, f"returned by {fn}()")
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                tname = t.id if isinstance(t, ast.Name) else None
                if tname and NOTE_VAR.match(tname) and (bare_text(node.value) or tuple_note(node.value)):
                    hit(node, f"assigned to {tname}")
                if tname and LABEL_DICT.search(tname) and isinstance(node.value, ast.Dict):
                    if any(bare_text(v) for v in node.value.values):
                        hit(node, f"a {tname} dict of English text handed on")
    return hits


#: Files whose findings another helper's branch removes (it rewrites or moves them). The lead deletes
#: an entry after merging that branch; :func:`test_every_expiring_entry_still_finds_something` fails once
#: the file is clean or gone, so an entry cannot outlive its reason and hide new English.


def _check(path: Path) -> list[str]:
    page = path.is_relative_to(ROOT / "pages") or path.name == "app.py"
    return user_strings(path.read_text(), page=page)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_bare_literal_reaches_a_reader(path: Path) -> None:
    hits = _check(path)
    assert not hits, (
        "text a reader sees must be a message id: N_(\"...\"), msg(\"... {x} ...\", x=...), tr(\"key\", lang)"
        " (docs/ARCHITECTURE.md, 'Translation layer'):\n" + "\n".join(hits)
    )


BAD_LIBRARY = [
    'raise LossvizInputError("a slice needs at least 2 points")',
    'raise JobsBusy(f"{n} jobs are running")',
    'def why_flat(x):\n    return f"{x} does not change the loss"',
    'def _nonfinite_note(x):\n    if x:\n        return "the loss is not finite"\n    return None',
    'note = f"{label}: {why}; the range was clipped to [{lo:.4g}, {hi:.4g}]."',
    'notes.append("the path left the plane")',
    'warns.extend(["loss overflowed", msg("fine")])',
    'fig.update_layout(title="Loss over a 2-D slice")',
    'fig.update_layout(xaxis_title="x direction (a)")',
    'go.Scatter(x=x, y=y, name="training path")',
    'LABELS_EN = {"contour_title": "Loss over a 2-D slice of weight space"}',
    'm = msg(f"{n} points")',
    'N_("a " + "b")',
    'def domain_reason(x):\n    return 0.0, 1.0, "p must stay between 0 and 1"',
    'messages.append(("wl.snapshot_mismatch", {"file": name}))',
    'def why_random_plane_note(n):\n    return ("wl.why_random", params)',
    'def _bce_domain(slot, p, transform):\n    if slot:\n        return 0.0, 1.0, "BCELoss takes probabilities"',
    'def _ctc_flat(slot, idx, label):\n    return (f"{label} does not change the loss: time step {idx[0]} "\n            f"is past the input length")',
]
BAD_PAGE = [
    'st.error("The landscape could not be computed")',
    'left.button("Cancel", key="x")',
    'st.sidebar.markdown(f"**Run** {name}")',
    'st.number_input(gettext("Margin", lang), help="Bigger is stricter")',
    'st.tabs(["Loss", tr("tab.grad", lang)])',
    'st.caption("CIFAR-10 found" if ok else "missing")',
]
GOOD = [
    'raise LossvizInputError(msg("plane {plane} is unknown", plane=repr(plane)))',
    "raise LossvizInputError(message) from exc",
    'def why_flat(x):\n    return msg("{x} does not change the loss", x=x)',
    'note = msg("{label}: {why}", label=label, why=why)',
    'notes.append(Message(spec.nonfinite_hint))',
    'fig.update_layout(title=gettext(TITLE, lang), xaxis_title="α")',
    'go.Scatter(x=x, y=y, name="ŷ₀", hovertemplate="%{x:.3g}")',
    'LABELS = {"contour_title": N_("Loss over a 2-D slice of weight space")}',
    'st.error(tr("wl.error", lang, message=render(exc, lang)))',
    'st.metric(tr("loss", lang), f"{value:.4g}")',
    'st.caption(" · ".join(parts))',
    'st.markdown("---")',
    'st.button("⏹", key="stop")',
    'optimizers = {"sgd": gettext("SGD with momentum", lang), "adam": "Adam"}',
    'def f():\n    """>>> raise LossvizInputError("an example in a docstring")"""',
    '# raise LossvizInputError("in a comment")',
    'raise ValueError(f"internal: bad shape {s}")',  # not a reader's error: a programming error
]


@pytest.mark.parametrize("source", BAD_LIBRARY)
def test_the_check_finds_english_in_the_library(source: str) -> None:
    assert user_strings(source, errors=ERRORS | {"JobsBusy"}), source


@pytest.mark.parametrize("source", BAD_PAGE)
def test_the_check_finds_english_on_a_page(source: str) -> None:
    assert user_strings(source, page=True), source


@pytest.mark.parametrize("source", GOOD)
def test_the_check_accepts_message_ids_symbols_and_code_names(source: str) -> None:
    assert not user_strings(source, page=True), (source, user_strings(source, page=True))


def test_the_error_classes_are_found_from_the_code() -> None:
    """Subclasses of LossvizInputError are readers' errors too, found from their bases, not listed here."""
    assert "LossvizInputError" in ERRORS
    assert len(ERRORS) > 1, ERRORS
