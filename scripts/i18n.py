#!/usr/bin/env python3
"""Extract translatable text and update the Urdu and Persian catalogues.

    python scripts/i18n.py update   # extract from src/sarhad (Python and templates) and merge into each .po
    python scripts/i18n.py check    # list entries without a translation; exit 1 if any

Strings are marked with ``_()``/``gettext()``/``ngettext()`` in Python and ``{{ _("…") }}`` in templates;
navigation labels given to ``add_nav_item(path, label, permission)`` are extracted too.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "sarhad"
LOCALES = ("ur", "fa")
METHODS = [("**/templates/**.html", "jinja2.ext:babel_extract"), ("**.py", "python")]
OPTIONS = {
    "**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
}
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "add_nav_item": (2,), "N_": None}


def template() -> Catalog:
    catalog = Catalog(project="sarhad", msgid_bugs_address="", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(SOURCE),
        METHODS,
        OPTIONS,
        keywords=KEYWORDS,
        comment_tags=("TRANSLATORS:",),
        strip_comment_tags=True,
    ):
        if message:
            catalog.add(
                message, None, [(f"src/sarhad/{filename}", lineno)], auto_comments=comments, context=context
            )
    return catalog


def po_path(locale: str) -> Path:
    return SOURCE / "locale" / locale / "LC_MESSAGES" / "messages.po"


def update() -> None:
    pot = template()
    for locale in LOCALES:
        path = po_path(locale)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            with path.open("rb") as handle:
                catalog = read_po(handle, locale=locale)
        else:
            catalog = Catalog(locale=locale, project="sarhad", charset="utf-8")
        catalog.update(pot, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        catalog.fuzzy = False  # the header is maintained here, not a draft
        catalog.version = "0.1"
        catalog.msgid_bugs_address = ""
        catalog.last_translator = "sarhad developers"
        catalog.language_team = {"ur": "Urdu", "fa": "Persian"}[locale]
        with path.open("wb") as handle:
            write_po(handle, catalog, width=0, sort_output=True, omit_header=False)
        missing = sum(1 for m in catalog if m.id and not m.string)
        print(f"{locale}: {len(catalog)} messages, {missing} without a translation")


def check() -> int:
    status = 0
    for locale in LOCALES:
        with po_path(locale).open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        missing = [m.id for m in catalog if m.id and not m.string]
        if missing:
            status = 1
            print(f"{locale}: {len(missing)} untranslated: {missing[:10]}")
    return status


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "update"
    if command == "update":
        update()
    elif command == "check":
        sys.exit(check())
    else:
        sys.exit(__doc__)
