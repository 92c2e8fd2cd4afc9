"""The presentation filters: viewer's calendar, zone and digits; codes as words; arrows; isolation of digits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime

import pytest
from babel import Locale

from sarhad.core.calendars import (
    NUMBERING_SYSTEMS,
    CalendarName,
    format_datetime,
    intl_locale,
    localize_digits,
)
from sarhad.core.i18n import current_language
from sarhad.web.localize import (
    CODE_LABELS,
    format_number,
    joint_title,
    label,
    localize_digits_in_html,
    node_display_name,
    weekly,
)
from sarhad.web.templating import Viewer, arrow, environment, viewer, viewer_datetime

INSTANT = datetime(2026, 12, 7, 14, 5, 9, tzinfo=UTC)


Speak = Callable[..., None]


@pytest.fixture
def speaking() -> Iterator[Speak]:
    """Set the language (and viewer) for one test, as ``render`` does for a page."""
    resets: list[Callable[[], None]] = []

    def use(language: str, zone: str = "Asia/Tehran", calendar: CalendarName = "solar_hijri") -> None:
        language_token = current_language.set(language)
        viewer_token = viewer.set(Viewer(language, zone, calendar))
        resets.append(lambda: current_language.reset(language_token))
        resets.append(lambda: viewer.reset(viewer_token))

    yield use
    for reset in reversed(resets):
        reset()


def test_numbering_systems_follow_cldr_as_babel_reports_it() -> None:
    for language, system in NUMBERING_SYSTEMS.items():
        assert Locale.parse(language).default_numbering_system == system
    assert localize_digits("12:30", "fa") == "۱۲:۳۰"
    assert localize_digits("12:30", "ur") == "12:30"


def test_times_with_seconds_in_the_viewers_calendar_zone_and_digits() -> None:
    assert (
        format_datetime(INSTANT, "Asia/Tehran", "solar_hijri", "fa", seconds=True) == "۱۶ آذر ۱۴۰۵، ۱۷:۳۵:۰۹"
    )
    assert (
        format_datetime(INSTANT, "Asia/Karachi", "gregorian", "ur", seconds=True) == "7 دسمبر 2026، 19:05:09"
    )
    assert format_datetime(INSTANT, "Asia/Karachi", "gregorian", "en") == "7 December 2026, 19:05"


def test_intl_locale_names_calendar_and_digits_for_the_browser() -> None:
    assert intl_locale("fa", "solar_hijri") == "fa-IR-u-ca-persian-nu-arabext"
    assert intl_locale("ur", "gregorian") == "ur-PK-u-ca-gregory-nu-latn"
    assert intl_locale("en", "solar_hijri") == "en-GB-u-ca-persian-nu-latn"


def test_dt_takes_instants_iso_strings_and_days(speaking: Speak) -> None:
    speaking("fa")
    html = str(viewer_datetime("2026-12-07T14:05:09Z", seconds=True))
    assert 'datetime="2026-12-07T14:05:09+00:00"' in html and "۱۷:۳۵:۰۹" in html
    assert "۱۶ آذر ۱۴۰۵" in str(viewer_datetime(date(2026, 12, 7)))
    assert "۱۶ آذر ۱۴۰۵<" in str(viewer_datetime("2026-12-07"))  # a day is not shifted by the zone
    assert str(viewer_datetime(None)) == ""


def test_a_day_west_of_utc_stays_that_day(speaking: Speak) -> None:
    speaking("en", "America/Los_Angeles", "gregorian")
    assert ">7 December 2026<" in str(viewer_datetime("2026-12-07"))


def test_numbers_take_the_languages_digits_and_separators(speaking: Speak) -> None:
    assert format_number(1234.5, "fa", 1) == "۱٬۲۳۴٫۵"
    assert format_number(1234.5, "ur", 1) == "1,234.5"
    assert format_number(3, "en") == "3"
    speaking("fa")
    assert environment().from_string("{{ 1234|num }} {{ 2.25|num(1) }}").render() == "۱٬۲۳۴ ۲٫۲"


def test_codes_show_as_translated_words(speaking: Speak) -> None:
    speaking("fa")
    assert label("seen") == "دیده‌شده"
    assert label("liaison_officer") == "افسر رابط"
    assert label("FLASH") == "آنی"
    assert label("no_such_code") == "no_such_code"
    assert label(None) == ""
    speaking("en")
    assert label("liaison_officer") == "liaison officer"
    assert all(not msgid.count("_") for msgid in CODE_LABELS.values())


def test_arrow_mirrors_on_right_to_left_pages(speaking: Speak) -> None:
    speaking("en")
    assert ">→<" in str(arrow()) and ">←<" in str(arrow("back"))
    speaking("ur")
    assert ">←<" in str(arrow()) and ">→<" in str(arrow("back"))


def test_persian_pages_get_persian_digits_in_text_only() -> None:
    page = (
        '<p title="Version 3">Version 3 · <time>12:30</time> S1 PK-S1-F1 #12 2.5</p>'
        '<a href="/x?page=2">2</a><input value="42"><code>abc 123</code><bdi>user 77</bdi>'
        '<textarea>08:00-16:00</textarea><script>var n = 5;</script><span translate="no">9</span>'
        "<select><option value='7'>7</option></select>"
    )
    out = localize_digits_in_html(page, "fa")
    assert '<p title="Version ۳">Version ۳ · <time>۱۲:۳۰</time> S1 PK-S1-F1 #۱۲ ۲٫۵</p>' in out
    assert '<a href="/x?page=2">۲</a><input value="42"><code>abc 123</code><bdi>user 77</bdi>' in out
    assert '<textarea>08:00-16:00</textarea><script>var n = 5;</script><span translate="no">9</span>' in out
    assert "<option value='7'>۷</option>" in out
    assert localize_digits_in_html(page, "ur") == page
    nested = "<code><code>1</code>2</code>3"
    assert localize_digits_in_html(nested, "fa") == "<code><code>1</code>2</code>۳"


def test_opening_hours_in_the_viewers_language(speaking: Speak) -> None:
    speaking("fa")
    text = str(weekly({"weekly": [{"days": ["sat", "sun"], "open": "08:00", "close": "16:00"}]}))
    assert text == 'شنبه، یکشنبه <span class="num" dir="ltr">08:00–16:00</span>'
    assert str(weekly({"always_open": True})) != ""
    assert str(weekly(None)) == ""


def test_titles_sarhad_writes_are_translated_others_kept(speaking: Speak) -> None:
    speaking("fa")
    own = {"subject": "border.section_impact", "title": "Impact level of border section S5"}
    assert joint_title(own) == "سطح اثر بخش مرزی S5"
    assert joint_title({"subject": "other", "title": "Water sharing"}) == "Water sharing"


def test_a_node_named_after_its_country_is_named_in_the_viewers_language() -> None:
    assert node_display_name("PK", "Pakistan", "fa") == "پاکستان"
    assert node_display_name("IR", "Iran", "ur") == "ایران"
    assert node_display_name("PK", "Pakistan", "en") == "Pakistan"
    assert node_display_name("PK", "Quetta node", "fa") == "Quetta node"
