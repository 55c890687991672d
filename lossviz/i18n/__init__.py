"""Two languages, the way Python projects do it: GNU gettext catalogs edited as .po files.

Every user-visible string is an English message id. Code marks it for extraction with
``N_("...")`` (data defined at import time) or translates it on the spot with
``gettext(msgid, lang, **params)``; parameters are named placeholders (``{loss}``), filled
after translation, never concatenated. A message that has to travel (an error raised deep in
lossviz, a warning) is a :class:`Message`: the id and its parameters, rendered in the reader's
language at the edge (a page, the CLI).

The Chinese catalog is ``lossviz/locale/zh_CN/LC_MESSAGES/lossviz.po``: that file is what a
translator edits (``make i18n`` extracts new ids with Babel, merges them into the .po and compiles
the .mo). A checkout without a compiled .mo still reads the .po, compiled in memory by Babel.

Example:
    >>> gettext("Loss function", "zh")
    '损失函数'
    >>> Message("{loss} has no parameter {name}", {"loss": "MSELoss", "name": "p"}).render("en")
    'MSELoss has no parameter p'
"""

from __future__ import annotations

import functools
import gettext as _gettext
import io
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

LANGS = {"en": "English", "zh": "中文"}
#: gettext locale folder of each language other than English (the language of the message ids)
LOCALES = {"zh": "zh_CN"}
DOMAIN = "lossviz"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (it is translated where it is shown)."""
    return message


def lang_from(value: object) -> str:
    """A safe language code from user input (URL, widget, browser locale, LANG); unknown values give English.

    ``zh``, ``zh-CN``, ``zh_TW.UTF-8`` … give ``"zh"``.
    """
    v = str(value or "").strip().lower()[:40]
    if v in LANGS:
        return v
    return "zh" if v.startswith("zh") else "en"


def po_path(lang: str) -> Path:
    return LOCALE_DIR / LOCALES[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def translations(lang: str) -> _gettext.NullTranslations:
    """The catalog of ``lang``: the compiled .mo when it is up to date, else the .po compiled in memory."""
    if lang not in LOCALES:
        return _gettext.NullTranslations()
    po = po_path(lang)
    mo = po.with_suffix(".mo")
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            return _gettext.GNUTranslations(fh)
    if not po.is_file():
        return _gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh, locale=LOCALES[lang], domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def gettext(message: str, lang: str = "en", /, **params: object) -> str:
    """``message`` in ``lang`` (English when the catalog lacks it), with its named ``params`` filled in."""
    text = translations(lang).gettext(message) if lang in LOCALES and message else message
    if params:
        params = {k: (render(v, lang) if isinstance(v, Message | BaseException) else v) for k, v in params.items()}
        return text.format(**params)
    return text


_ = gettext


@dataclass(frozen=True)
class Message:
    """A message as data: an English id with named parameters, rendered in the reader's language.

    Parameters may be Messages themselves (a sentence inside a sentence); they are rendered too.
    """

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)

    def render(self, lang: str = "en") -> str:
        return gettext(self.msgid, lang, **dict(self.params))

    def __str__(self) -> str:
        return self.render("en")

    def __hash__(self) -> int:  # notes are de-duplicated in dicts and sets
        return hash((self.msgid, tuple(sorted((k, str(v)) for k, v in self.params.items()))))

    def __contains__(self, text: str) -> bool:  # "converged" in path.message, as for a str
        return text in str(self)


def msg(msgid: str, **params: object) -> Message:
    """Shorthand for ``Message(msgid, params)``; extracted like ``N_``."""
    return Message(msgid, params)


def render(text: object, lang: str = "en") -> str:
    """Any message-like value in ``lang``: a :class:`Message`, an exception carrying one, or a plain msgid."""
    m = getattr(text, "message", text)
    if isinstance(m, Message):
        return m.render(lang)
    return gettext(str(m), lang)


def cli_lang(flag: str | None = None) -> str:
    """The CLI's language: ``--lang`` when given, else ``LC_ALL`` / ``LC_MESSAGES`` / ``LANG``."""
    if flag:
        return lang_from(flag)
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return lang_from(value)
    return "en"


from lossviz.i18n.texts import TEXT  # noqa: E402  (data only: texts imports nothing of lossviz)


def tr(key: str, lang: str = "en", **params: object) -> str:
    """The page text for ``key`` (lossviz/i18n/texts.py) in ``lang``, with ``params`` filled in (a missing key
    raises KeyError)."""
    return gettext(TEXT["en"][key], lang, **params)


__all__ = [
    "DOMAIN",
    "LANGS",
    "LOCALES",
    "LOCALE_DIR",
    "TEXT",
    "Message",
    "N_",
    "_",
    "cli_lang",
    "gettext",
    "lang_from",
    "msg",
    "po_path",
    "render",
    "tr",
    "tr_phrase",
    "translations",
]


def tr_phrase(text: str, lang: str = "en") -> str:
    """A sentence lossviz wrote in English, in ``lang`` (the same as :func:`render`)."""
    return render(text, lang)
