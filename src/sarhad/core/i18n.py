"""Languages and gettext catalogues (Babel). English is the source language; Urdu and Persian are RTL.

Catalogues are the ``.po`` files in ``sarhad/locale``; they are compiled in memory at first use, so no
compiled ``.mo`` files need to be built or committed. The current language is a context variable set
per request, so templates and services translate for the viewer without passing it around.
"""

from __future__ import annotations

import gettext as gettext_module
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


@dataclass(frozen=True)
class Language:
    code: str
    native_name: str
    direction: str


LANGUAGES: dict[str, Language] = {
    "en": Language("en", "English", "ltr"),
    "ur": Language("ur", "اردو", "rtl"),
    "fa": Language("fa", "فارسی", "rtl"),
}

current_language: ContextVar[str] = ContextVar("current_language", default="en")


@cache
def translations(code: str) -> gettext_module.NullTranslations:
    """The compiled catalogue for a language (NullTranslations for English or a missing catalogue)."""
    path = LOCALE_DIR / code / "LC_MESSAGES" / "messages.po"
    if code == "en" or not path.exists():
        return gettext_module.NullTranslations()
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=code)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext_module.GNUTranslations(buffer)


def gettext(message: str) -> str:
    return translations(current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ngettext(singular, plural, n)


_ = gettext


def pick_name(names: dict[str, str] | None, fallback: str = "") -> str:
    """A multi-script name in the viewer's language, falling back to English, then any script."""
    if not names:
        return fallback
    lang = current_language.get()
    return names.get(lang) or names.get("en") or next(iter(names.values()), fallback)
