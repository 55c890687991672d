"""The message catalogs: every id the code marks has a Chinese translation that keeps its placeholders.

Ids are extracted from the source exactly as ``make i18n`` does (Babel's Python extractor with the
keywords ``N_``, ``msg``, ``Message`` and ``gettext``), so a new string added without a translation,
or a translation that drops or renames a ``{placeholder}``, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from lossviz.i18n import LOCALES, Message, cli_lang, gettext, lang_from, msg, po_path, render, tr
from lossviz.i18n.texts import TEXT

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"N_": None, "msg": (1,), "Message": (1,), "gettext": (1,)}
PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)(?:[!:][^}]*)?\}(?!\})")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _extracted() -> dict[str, str]:
    """msgid -> file, for every marked string in lossviz/, pages/ and app.py."""
    out: dict[str, str] = {}
    for sub in ("lossviz", "pages"):
        for filename, _lineno, message, _comments, _ctx in extract_from_dir(
            ROOT / sub, method_map=[("**.py", "python")], keywords=KEYWORDS, comment_tags=()
        ):
            if isinstance(message, str) and message:
                out.setdefault(message, f"{sub}/{filename}")
    return out


def _catalog(lang: str):
    with po_path(lang).open("rb") as fh:
        return read_po(fh, locale=LOCALES[lang])


def _placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("lang", sorted(LOCALES))
def test_every_marked_message_is_translated(lang: str) -> None:
    catalog = _catalog(lang)
    missing = []
    for msgid, where in _extracted().items():
        entry = catalog.get(msgid)
        if entry is None or not entry.string or entry.fuzzy:
            missing.append(f"{where}: {msgid[:70]!r}")
    assert not missing, f"{len(missing)} message(s) without a {lang} translation:\n" + "\n".join(missing[:40])


@pytest.mark.parametrize("lang", sorted(LOCALES))
def test_every_translated_message_is_marked_in_the_code(lang: str) -> None:
    """``make i18n`` drops a catalog entry no marked string asks for (``--ignore-obsolete``): a text used
    through a variable but never marked would lose its translation the next time anyone runs it."""
    extracted = _extracted()
    unmarked = [repr(e.id[:70]) for e in _catalog(lang) if e.id and e.id not in extracted]
    assert not unmarked, f"{len(unmarked)} {lang} entries no code marks (mark them with N_):\n" + "\n".join(unmarked[:40])


@pytest.mark.parametrize("lang", sorted(LOCALES))
def test_translations_keep_their_placeholders(lang: str) -> None:
    bad = []
    for entry in _catalog(lang):
        if entry.id and entry.string and _placeholders(entry.id) != _placeholders(entry.string):
            bad.append(f"{entry.id[:60]!r}: {sorted(_placeholders(entry.id))} vs {sorted(_placeholders(entry.string))}")
    assert not bad, "\n".join(bad)


def test_extraction_sees_the_marked_strings() -> None:
    ids = _extracted()
    assert TEXT["en"]["explorer.title"] in ids  # N_ in lossviz/i18n/texts.py
    assert "‖grad‖ of {layer}" in ids  # msg(...) in lossviz/explore/lessons.py
    assert len(ids) > 150


@pytest.mark.parametrize("lang", sorted(LOCALES))
def test_loss_titles_advice_and_preset_texts_are_marked_and_translated(lang: str) -> None:
    """Titles, advice and lessons are English ids in the data; their other languages live only in the .po."""
    from lossviz.explore.presets import list_presets
    from lossviz.losses import get_loss, list_losses

    texts = [t for n in list_losses() for t in (get_loss(n).title, get_loss(n).advice)]
    texts += [t for p in list_presets() for t in (p.title, p.lesson) if t]
    ids, catalog = _extracted(), _catalog(lang)
    unmarked = [t[:70] for t in texts if t not in ids]
    assert not unmarked, "not marked with N_ (make i18n would drop them):\n" + "\n".join(unmarked)
    untranslated = [t[:70] for t in texts if not (catalog.get(t) and catalog.get(t).string)]
    assert not untranslated, "\n".join(untranslated)
    if lang == "zh":
        assert [t[:70] for t in texts if not CJK.search(gettext(t, lang))] == []


def test_every_page_key_reads_in_chinese() -> None:
    for key, en in TEXT["en"].items():
        zh = tr(key, "zh")
        assert zh and (zh != en or CJK.search(en)), key
        assert CJK.search(zh) or not re.search(r"[A-Za-z]{3,} [A-Za-z]{3,} [A-Za-z]{3,}", zh), (key, zh)


def test_messages_render_in_each_language_with_named_parameters() -> None:
    m = msg("‖grad‖ of {layer}", layer="conv1 weight")
    assert m.render("en") == "‖grad‖ of conv1 weight"
    assert m.render("zh") == "conv1 weight 的‖梯度‖"
    assert str(m) == m.render("en")
    nested = Message("{inner}", {"inner": msg("Loss function")})
    assert nested.render("zh") == "损失函数"
    assert render(RuntimeError(), "zh") == ""  # no message: an empty sentence, not a crash
    assert gettext("a sentence nobody translated", "zh") == "a sentence nobody translated"


def test_language_codes_from_users_and_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [lang_from(v) for v in ("zh", "zh-CN", "ZH_tw.UTF-8", "en-US", "", None, "fr", "x" * 10_000)] == [
        "zh", "zh", "zh", "en", "en", "en", "en", "en"]
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert cli_lang() == "en"
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert cli_lang() == "zh"
    assert cli_lang("en") == "en"


def test_the_mo_file_when_present_agrees_with_the_po(tmp_path: Path) -> None:
    """`make i18n-compile` writes the .mo; a stale or absent one falls back to the .po itself."""
    from babel.messages.mofile import read_mo

    mo = po_path("zh").with_suffix(".mo")
    if not mo.is_file():
        pytest.skip("no compiled catalog in this checkout (make i18n-compile builds it)")
    with mo.open("rb") as fh:
        compiled = read_mo(fh)
    source = _catalog("zh")
    if mo.stat().st_mtime >= po_path("zh").stat().st_mtime:
        assert {m.id for m in compiled if m.id} == {m.id for m in source if m.id and m.string}


@pytest.mark.parametrize("lang", sorted(LOCALES))
def test_the_catalog_passes_pybabel_compile_checks(lang: str) -> None:
    """`pybabel compile` (make run / make test) refuses a catalog its checkers flag, e.g. a msgid
    where "{pct}% of" reads as a %-format: every entry must pass them."""
    catalog = _catalog(lang)
    problems = [(m.id[:60], [str(e) for e in errs]) for m, errs in catalog.check() if errs]
    assert not problems, problems
    assert not [m.id[:60] for m in catalog if m.id and m.python_format], "ids use {named} placeholders, never %"
