"""Show UTC instants in the viewer's time zone and calendar (Gregorian or Solar Hijri).

Times are stored in UTC everywhere; only presentation converts. The Solar Hijri calendar (official in
Iran) starts its year at the March equinox; jdatetime does the arithmetic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import jdatetime

CalendarName = Literal["gregorian", "solar_hijri"]
CALENDARS: tuple[CalendarName, ...] = ("gregorian", "solar_hijri")

SOLAR_HIJRI_MONTHS = {
    "en": (
        "Farvardin",
        "Ordibehesht",
        "Khordad",
        "Tir",
        "Mordad",
        "Shahrivar",
        "Mehr",
        "Aban",
        "Azar",
        "Dey",
        "Bahman",
        "Esfand",
    ),
    "fa": (
        "فروردین",
        "اردیبهشت",
        "خرداد",
        "تیر",
        "مرداد",
        "شهریور",
        "مهر",
        "آبان",
        "آذر",
        "دی",
        "بهمن",
        "اسفند",
    ),
    "ur": (
        "فروردین",
        "اردیبہشت",
        "خرداد",
        "تیر",
        "مرداد",
        "شہریور",
        "مہر",
        "آبان",
        "آذر",
        "دی",
        "بہمن",
        "اسفند",
    ),
}
GREGORIAN_MONTHS = {
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    "ur": (
        "جنوری",
        "فروری",
        "مارچ",
        "اپریل",
        "مئی",
        "جون",
        "جولائی",
        "اگست",
        "ستمبر",
        "اکتوبر",
        "نومبر",
        "دسمبر",
    ),
    "fa": (
        "ژانویه",
        "فوریه",
        "مارس",
        "آوریل",
        "مه",
        "ژوئن",
        "ژوئیه",
        "اوت",
        "سپتامبر",
        "اکتبر",
        "نوامبر",
        "دسامبر",
    ),
}
PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
NUMBERING_SYSTEMS = {"en": "latn", "ur": "latn", "fa": "arabext"}
"""CLDR's default numbering system per language, as Babel reports it (``Locale.parse(code).default_numbering_system``):
Persian writes Extended Arabic-Indic digits (۰-۹); Urdu (``ur``, ``ur_PK``) writes Western digits (0-9)."""
INTL_CALENDARS = {"gregorian": "gregory", "solar_hijri": "persian"}


def localize_digits(text: str, language: str) -> str:
    """Digits of ``text`` in the language's numbering system (Persian: ۰-۹; English and Urdu: 0-9)."""
    if NUMBERING_SYSTEMS.get(language) == "arabext":
        return text.translate(PERSIAN_DIGITS)
    return text


def intl_locale(language: str, calendar: CalendarName) -> str:
    """The BCP 47 tag a browser's ``Intl.DateTimeFormat``/``NumberFormat`` needs to show what the server shows,
    e.g. ``fa-IR-u-ca-persian-nu-arabext`` or ``ur-PK-u-ca-gregory-nu-latn``."""
    region = {"fa": "fa-IR", "ur": "ur-PK"}.get(language, "en-GB")
    numbering = NUMBERING_SYSTEMS.get(language, "latn")
    return f"{region}-u-ca-{INTL_CALENDARS[calendar]}-nu-{numbering}"


def to_zone(instant: datetime, zone: str) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("naive datetime: sarhad stores aware UTC instants only")
    return instant.astimezone(ZoneInfo(zone))


def calendar_date(instant: datetime, zone: str, calendar: CalendarName) -> tuple[int, int, int]:
    """(year, month, day) of the instant in the zone and calendar."""
    local = to_zone(instant, zone)
    if calendar == "solar_hijri":
        j = jdatetime.date.fromgregorian(date=local.date())
        return j.year, j.month, j.day
    return local.year, local.month, local.day


def format_datetime(
    instant: datetime,
    zone: str,
    calendar: CalendarName = "gregorian",
    language: str = "en",
    *,
    with_time: bool = True,
    seconds: bool = False,
) -> str:
    """Human date (and time) of a UTC instant, e.g. ``2 Azar 1405, 17:30`` or ``۲ آذر ۱۴۰۵، ۱۷:۳۰``;
    ``seconds`` adds them (``17:30:05``), for timelines where the order of steps within a minute matters."""
    local = to_zone(instant, zone)
    year, month, day = calendar_date(instant, zone, calendar)
    months = (SOLAR_HIJRI_MONTHS if calendar == "solar_hijri" else GREGORIAN_MONTHS).get(
        language, (SOLAR_HIJRI_MONTHS if calendar == "solar_hijri" else GREGORIAN_MONTHS)["en"]
    )
    separator = "، " if language in ("fa", "ur") else ", "
    text = f"{day} {months[month - 1]} {year}"
    if with_time:
        text += f"{separator}{local:%H:%M:%S}" if seconds else f"{separator}{local:%H:%M}"
    return localize_digits(text, language)


def format_iso_date(instant: datetime, zone: str, calendar: CalendarName) -> str:
    """Numeric ``YYYY-MM-DD`` in the calendar (Latin digits), for tables and exports."""
    year, month, day = calendar_date(instant, zone, calendar)
    return f"{year:04d}-{month:02d}-{day:02d}"
