"""The argparse flavour every ``python -m lossviz`` command shares.

The help is in the user's language, so the language is known before the parser is built:
:func:`argv_lang` reads ``--lang X`` / ``--lang=X`` from the command line, else ``LC_ALL`` /
``LC_MESSAGES`` / ``LANG``. Option help is translated where it is written (``gettext(N_(...), lang)``);
argparse's own words (``usage:``, the section titles, ``-h``'s help) come from our catalog too
(:func:`localize`), not from the stdlib's ``argparse`` gettext domain.

Example:
    >>> parser = OneLineErrorParser(prog="demo", lang="zh")
    >>> parser.format_usage()
    '用法：demo [-h]\\n'
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import unicodedata
from collections.abc import Sequence
from typing import Any, NoReturn

from lossviz.i18n import N_, cli_lang, gettext

EXIT_BAD_INPUT = 2

USAGE = N_("usage: ")
POSITIONALS = N_("positional arguments")
OPTIONALS = N_("options")
HELP = N_("show this help message and exit")
#: The help of every command's ``--lang``.
LANG_HELP = N_(
    "language of the help, messages and progress: en or zh (default: from LC_ALL / LC_MESSAGES / LANG)"
)


def argv_lang(argv: Sequence[str] | None = None) -> str:
    """The language of a command line before it is parsed: its last ``--lang X`` / ``--lang=X``
    (``--lan`` too, as argparse accepts), else the environment's (:func:`lossviz.i18n.cli_lang`).

    Example:
        >>> argv_lang(["eval", "--lang=zh"]), argv_lang(["--lang", "en", "list"])
        ('zh', 'en')
    """
    args = list(sys.argv[1:] if argv is None else argv)
    found: str | None = None
    for i, token in enumerate(args):
        if token == "--":
            break
        name, eq, value = str(token).partition("=")
        if len(name) < 5 or not "--lang".startswith(name):
            continue
        if eq:
            found = value
        elif i + 1 < len(args):
            found = args[i + 1]
    return cli_lang(found)


#: One Chinese character (or full-width sign) is one token a line may break before or after.
_WIDE = "\u2e80-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
_TOKEN = re.compile(rf"[{_WIDE}]|[^\s{_WIDE}]+|\s+")
#: Signs a line never starts with: they stay on the line of the word before them.
_NO_LINE_START = set("，。、；：！？）》」』,.;:!?)")


def _columns(text: str) -> int:
    """The width of ``text`` on a terminal: a Chinese character takes two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` terminal columns, broken between words or between Chinese
    characters (never inside an option name like ``--input``, never before a closing sign).

    Example:
        >>> wrap("预测值（文本），例如 '[[0.1, 0.2]]'", 16)
        ['预测值（文本），', "例如 '[[0.1,", "0.2]]'"]
    """
    tokens: list[str] = []
    for token in _TOKEN.findall(" ".join(text.split())):
        if tokens and not tokens[-1].isspace() and token[0] in _NO_LINE_START:
            tokens[-1] += token
        else:
            tokens.append(token)
    lines: list[str] = []
    line, space = "", ""
    for token in tokens:
        if token.isspace():
            space = " "
            continue
        if line and _columns(line + space + token) > width:
            lines.append(line)
            line = token
        else:
            line += space + token
        space = ""
    if line:
        lines.append(line)
    return lines


class LocalizedHelpFormatter(argparse.HelpFormatter):
    """argparse's formatter with the ``usage:`` prefix in :attr:`lang`; in a language other than English
    the help text is wrapped by terminal columns, between Chinese characters too."""

    lang = "en"

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        if prefix is None:
            prefix = gettext(USAGE, self.lang)
        super().add_usage(usage, actions, groups, prefix)

    def _split_lines(self, text: str, width: int) -> list[str]:
        if self.lang == "en":
            return super()._split_lines(text, width)
        return wrap(text, width)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if self.lang == "en":
            return super()._fill_text(text, width, indent)
        return "\n".join(indent + line for line in wrap(text, width - len(indent)))


@functools.cache
def help_formatter(lang: str) -> type[argparse.HelpFormatter]:
    """The formatter class (argparse's ``formatter_class``) that writes ``usage:`` in ``lang``."""
    return type(f"LocalizedHelpFormatter_{lang}", (LocalizedHelpFormatter,), {"lang": lang})


def localize(parser: argparse.ArgumentParser, lang: str) -> argparse.ArgumentParser:
    """Put argparse's own words of ``parser`` in ``lang``: ``usage:``, the two section titles and the
    help of ``-h``. Works on any ArgumentParser (a subcommand's parser class is the caller's choice)."""
    parser.formatter_class = help_formatter(lang)
    parser._positionals.title = gettext(POSITIONALS, lang)
    parser._optionals.title = gettext(OPTIONALS, lang)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            action.help = gettext(HELP, lang)
    return parser


def add_subcommand(subparsers: Any, name: str, lang: str, **kwargs: Any) -> argparse.ArgumentParser:
    """``subparsers.add_parser(name, **kwargs)`` with argparse's own words in ``lang``."""
    return localize(subparsers.add_parser(name, formatter_class=help_formatter(lang), **kwargs), lang)


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse that reports a usage error as one ``error: ...`` line on stderr and exit status 2,
    and writes its help in ``lang``."""

    def __init__(self, *args: Any, lang: str = "en", **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", help_formatter(lang))
        super().__init__(*args, **kwargs)
        localize(self, lang)

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(EXIT_BAD_INPUT)
