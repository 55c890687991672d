"""Every piece of text a page shows, collected from an AppTest run, and the checks for the wrong language.

``page_texts(at)`` walks the whole element tree (main area and sidebar) and returns each visible
string with where it came from: titles, markdown, captions, alerts, metric labels and values, widget
labels, help, placeholders and options, tab and expander labels, button labels, and in every Plotly
chart the title, axis titles, legend names and annotations. Code blocks and LaTeX are left out: they
are code, not prose.

``english_phrases(text)`` finds three or more English words in a row once code (``...``), LaTeX,
links and API names (``CrossEntropyLoss``, ``reduction='mean'``, ``nn.L1Loss``, ``log_softmax``) are
taken out; a page in Chinese must have none. ``chinese(text)`` finds Chinese characters; a page in
English must have none outside the language switch.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from google.protobuf.message import Message as Proto

SKIP_TYPES = {"code", "latex"}
#: Text that is the same in every language: the language switch itself.
LANGUAGE_SWITCH = {"Language · 语言", "English", "中文"}

_CODE = re.compile(r"`[^`]*`")
#: PyTorch's own words, quoted (“…”) inside a lossviz sentence: what torch prints, not lossviz's prose.
_QUOTED = re.compile(r"“[^”]*”")
_LATEX = re.compile(r"\$\$.*?\$\$|\$[^$]*\$", re.DOTALL)
_URL = re.compile(r"https?://\S+|\b[\w.-]+/[\w./-]+")
# API names and code-like tokens: CamelCase, dotted, snake_case, calls, key=value, option flags.
_API = re.compile(
    r"\b[A-Za-z_]*[a-z][A-Z][A-Za-z0-9_]*\b"  # CrossEntropyLoss, BCEWithLogitsLoss
    r"|\b[A-Z]{2,}[a-z]*[A-Z]?\w*\b"  # MSE, CIFAR-10, ReLU, SGD
    r"|\b\w+(?:\.\w+)+(?:\(\))?"  # nn.L1Loss, torch.load(), 0.5
    r"|\b\w*_\w*\b"  # log_softmax, label_smoothing
    r"|\b\w+=\S+"  # reduction='mean'
    r"|--?[a-z][\w-]*"  # --lang, -m
    r"|\b\w+\([^)]*\)"  # f(x), softmax(z)
)
_WORD_RUN = re.compile(r"(?:\b[A-Za-z][a-z]+\b[\s,;:'’-]*){3,}")
_CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")
#: Single letters, symbols and units mathematics uses in any language.
_FINE = {"x", "y", "z", "p", "q", "e", "i", "j", "k", "n"}


def english_phrases(text: str) -> list[str]:
    """Runs of three or more English words left after code, LaTeX, links and API names are removed."""
    t = _CODE.sub(" ", str(text))
    t = _QUOTED.sub(" ", t)
    t = _LATEX.sub(" ", t)
    t = _URL.sub(" ", t)
    t = _API.sub(" ", t)
    out = []
    for m in _WORD_RUN.finditer(t):
        words = [w for w in re.findall(r"[A-Za-z]+", m.group(0)) if w.lower() not in _FINE]
        if len(words) >= 3:
            out.append(m.group(0).strip())
    return out


def chinese(text: str) -> list[str]:
    return _CJK.findall(str(text))


def _repeated(field: Any) -> bool:
    rep = getattr(field, "is_repeated", None)
    if rep is not None:
        return bool(rep() if callable(rep) else rep)
    return field.label == field.LABEL_REPEATED


def _proto_strings(msg: Proto) -> Iterator[str]:
    for field, value in msg.ListFields():
        name = field.name
        if name in ("id", "form_id", "spec", "theme", "type", "default", "value", "format", "icon", "key",
                    "element_type", "url", "page_script_hash", "script_hash", "color", "width_config",
                    "height_config", "text_alignment_config", "gap_config"):
            continue
        if field.type == field.TYPE_STRING:
            vals = value if _repeated(field) else [value]
            yield from (v for v in vals if isinstance(v, str) and v.strip())
        elif field.type == field.TYPE_MESSAGE:
            vals = value if _repeated(field) else [value]
            for v in vals:
                if isinstance(v, Proto):
                    yield from _proto_strings(v)


def _figure_strings(spec: str) -> Iterator[str]:
    fig = json.loads(spec)
    layout = fig.get("layout", {})

    def title(obj: Any) -> Iterator[str]:
        t = (obj or {}).get("title")
        if isinstance(t, dict):
            t = t.get("text")
        if isinstance(t, str) and t.strip():
            yield re.sub(r"<[^>]+>", " ", t)

    yield from title(layout)
    for key, val in layout.items():
        if key.startswith(("xaxis", "yaxis")) and isinstance(val, dict):
            yield from title(val)
        if key.startswith("scene") and isinstance(val, dict):
            for ax in ("xaxis", "yaxis", "zaxis"):
                yield from title(val.get(ax))
    for ann in layout.get("annotations", []) or []:
        if isinstance(ann.get("text"), str):
            yield re.sub(r"<[^>]+>", " ", ann["text"])
    for trace in fig.get("data", []):
        if isinstance(trace.get("name"), str) and trace.get("showlegend", True) is not False:
            yield trace["name"]
        cb = (trace.get("colorbar") or {}) if isinstance(trace.get("colorbar"), dict) else {}
        yield from title(cb)


def _nodes(node: Any) -> Iterator[Any]:
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        children = list(children.values())
    for child in children or []:
        yield from _nodes(child)


def page_texts(at: Any) -> list[tuple[str, str]]:
    """(element type, text) for every visible string of an AppTest run, sidebar included."""
    out: list[tuple[str, str]] = []
    for node in _nodes(at._tree):
        kind = getattr(node, "type", "")
        if kind in SKIP_TYPES:
            continue
        proto = getattr(node, "proto", None)
        if kind == "plotly_chart" and proto is not None:
            out += [(kind, s) for s in _figure_strings(proto.spec)]
            continue
        if isinstance(proto, Proto):
            out += [(kind, s) for s in _proto_strings(proto)]
    # CSS injected with st.markdown(..., unsafe_allow_html=True) styles the page and the formula-fitting
    # script (st.html) runs in it; nobody reads either.
    return [(k, s) for k, s in out if s not in LANGUAGE_SWITCH and not s.lstrip().startswith(("<style", "<script"))]
