"""Persian and Arabic-Indic digits typed into the numeric and date inputs of page forms are read as ASCII
(``sarhad.web.forms``): the field rule, and every such input of every template is covered by it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from sarhad.web.forms import is_numeric_field, latin_digits, latin_digits_in_form

SOURCE = Path(__file__).resolve().parents[3] / "src" / "sarhad"
INPUT = re.compile(r"<input\b[^>]*>", re.S)
NUMERIC_INPUT = re.compile(r'type="(number|date|datetime-local|time)"|inputmode="(numeric|decimal)"')


def test_persian_and_arabic_indic_digits_and_separators_become_ascii() -> None:
    assert latin_digits("۲۸٫۹۵") == "28.95"
    assert latin_digits("٦١٫٧٠") == "61.70"
    assert latin_digits("۱٬۲۰۰") == "1200"
    assert latin_digits("\u200f۲۰۲۶-۱۲-۰۷T۰۸:۳۰") == "2026-12-07T08:30"
    assert latin_digits("28.95") == "28.95"


def test_only_the_numeric_fields_of_a_form_change() -> None:
    typed = urlencode({"lat": "۲۸٫۹۵", "description": "۶ کیلومتر", "casualty_civilian_killed": "۲"})
    read = dict(parse_qsl(latin_digits_in_form(typed) or ""))
    assert read == {"lat": "28.95", "description": "۶ کیلومتر", "casualty_civilian_killed": "2"}
    assert latin_digits_in_form(urlencode({"lat": "28.95", "description": "۶"})) is None  # passed on as sent


def test_every_numeric_or_date_input_of_every_page_form_is_covered() -> None:
    names: set[str] = set()
    for template in SOURCE.rglob("templates/**/*.html"):
        for tag in INPUT.findall(template.read_text(encoding="utf-8")):
            name = re.search(r'name="([^"]+)"', tag)
            if NUMERIC_INPUT.search(tag) and name:
                names.add(name.group(1))
    assert {"lat", "lon", "occurred_at", "deadline_at", "expires_at", "valid_from", "weeks"} <= names
    for name in names:
        fixed = name.split("{{")[0]  # casualty_{{ c }}: the prefix; {{ key | lower }}: the deadlines below
        if fixed:
            assert is_numeric_field(fixed if "{{" not in name else fixed + "x"), name
    for precedence in ("flash", "immediate", "priority", "routine"):  # the hotline settings' deadlines
        assert is_numeric_field(precedence)
