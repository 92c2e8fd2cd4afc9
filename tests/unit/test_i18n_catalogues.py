"""The Urdu and Persian gettext catalogues are complete, keep their placeholders and compile."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from sarhad.core.i18n import LOCALE_DIR, translations

LOCALES = ("ur", "fa")
PLACEHOLDER = re.compile(r"%\(\w+\)s|\{\w+\}|%s")
ARABIC_ONLY = {"\u064a": "ARABIC LETTER YEH (use U+06CC)", "\u0643": "ARABIC LETTER KAF (use U+06A9)"}


def _catalog(locale: str) -> Catalog:
    path: Path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def _messages(locale: str) -> list[Message]:
    return [m for m in _catalog(locale) if m.id]


def _forms(value: str | tuple[str, ...] | list[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text))


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_has_entries(locale: str) -> None:
    assert _messages(locale), f"{locale}: catalogue is empty"


@pytest.mark.parametrize("locale", LOCALES)
def test_no_untranslated_or_fuzzy_entries(locale: str) -> None:
    untranslated = [m.id for m in _messages(locale) if not all(_forms(m.string)) or not _forms(m.string)]
    fuzzy = [m.id for m in _messages(locale) if m.fuzzy]
    assert not untranslated, f"{locale}: {len(untranslated)} untranslated: {untranslated[:10]}"
    assert not fuzzy, f"{locale}: fuzzy entries: {fuzzy[:10]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_plural_entries_fill_every_form(locale: str) -> None:
    catalog = _catalog(locale)
    for message in catalog:
        if message.id and message.pluralizable:
            assert len(_forms(message.string)) == catalog.num_plurals, (locale, message.id)


@pytest.mark.parametrize("locale", LOCALES)
def test_placeholders_are_kept(locale: str) -> None:
    problems = []
    for message in _messages(locale):
        sources = _forms(message.id)
        singular = _placeholders(sources[0])
        plural = _placeholders(sources[-1])
        for index, translated in enumerate(_forms(message.string)):
            found = _placeholders(translated)
            # a plural form may follow the msgid_plural's placeholders, which usually equal the singular's
            if found != singular and not (index > 0 and found == plural):
                problems.append((message.id, translated, found, singular))
    assert not problems, f"{locale}: placeholders differ: {problems[:5]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_no_arabic_only_letters(locale: str) -> None:
    problems = []
    for message in _messages(locale):
        for translated in _forms(message.string):
            for letter, name in ARABIC_ONLY.items():
                if letter in translated:
                    problems.append((message.id, name))
    assert not problems, f"{locale}: Arabic letter forms: {problems[:10]}"


@pytest.mark.parametrize("locale", LOCALES)
def test_catalogue_compiles_and_translates(locale: str) -> None:
    fresh = translations.__wrapped__(locale)  # compile anew, bypassing the process-wide cache
    assert isinstance(fresh, gettext.GNUTranslations)
    signed_in = fresh.gettext("Sign in")
    assert signed_in
    assert signed_in != "Sign in"
    assert isinstance(translations(locale), gettext.GNUTranslations)
