"""A refused form in the user's words: model paths land on the form's inputs, pydantic and domain messages become
plain sentences in the viewer's language, machine times become the viewer's calendar and zone."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, Field, ValidationError

from sarhad.accounts.domain import Permission
from sarhad.accounts.services import Principal
from sarhad.core.errors import ErrorCode, InvalidInput, RuleError
from sarhad.core.i18n import current_language
from sarhad.web.forms import error_page_text, form_errors, row_message, rule_message

LABELS = {"lat": "Latitude", "lon": "Longitude", "seizures": "Seizures", "casualty_killed": "Killed"}
PATHS = {"casualties.killed": "casualty_killed"}


def viewer(language: str = "en", calendar: str = "gregorian") -> Principal:
    return Principal(
        user_id="u",
        username="u",
        display_name="U",
        roles=(),
        permissions=frozenset({Permission.PROFILE}),
        session_id="s",
        via="cookie",
        csrf_token="t",
        language=language,
        time_zone="Asia/Karachi",
        calendar=calendar,
        scope_sections=(),
    )


class Place(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float


class Seizure(BaseModel):
    unit: str = Field(max_length=3)


class Form(BaseModel):
    place: Place
    seizures: list[Seizure]


def test_every_pydantic_error_lands_on_its_input_in_plain_words() -> None:
    with pytest.raises(ValidationError) as caught:
        Form.model_validate({"place": {"lat": 95, "lon": "east"}, "seizures": [{"unit": "barrels"}]})
    errors = form_errors(viewer(), LABELS, {"place.lat": "lat", "place.lon": "lon"}).add_exception(
        caught.value
    )
    assert errors.of("lat") == ["A latitude is between -90 and 90 degrees."]
    assert errors.of("lon") == ["Write a number."]
    assert errors.of("seizures") == ["Too long: at most 3 characters."]
    assert [row[:2] for row in errors.summary()] == [
        ("lat", "Latitude"),
        ("lon", "Longitude"),
        ("seizures", "Seizures"),
    ]
    assert len(errors) == 3 and not errors.general


def test_a_rule_error_with_an_indexed_path_lands_on_the_input_and_unknown_fields_on_the_form() -> None:
    errors = form_errors(viewer(), LABELS, PATHS)
    errors.add_exception(RuleError("seizures[2].unit", "unit 'barrels' is not one of kg, g, l"))
    errors.add_exception(
        InvalidInput.from_rule(
            RuleError("casualties.killed", "a casualty count is a whole number from 0 to 10000")
        )
    )
    errors.add_exception(InvalidInput("the incident was changed meanwhile", code=ErrorCode.STALE_VERSION))
    assert errors.of("seizures") == ["Choose one of the options."]
    assert errors.of("casualty_killed") == ["Write a whole number, 0 or more."]
    assert errors.general == [
        "Someone saved a newer version meanwhile: reload the page and make your change again."
    ]


def test_a_machine_time_in_a_message_is_written_in_the_viewers_calendar_and_zone() -> None:
    errors = form_errors(viewer(), LABELS)
    text = errors.words("opened at 2026-12-07T17:54:16.123456+00:00, closed")
    assert text == "opened at 7 December 2026, 22:54, closed"
    solar = form_errors(viewer("fa", "solar_hijri"), LABELS).words("at 2026-12-07T17:54:16.123456+00:00")
    assert "2026" not in solar and ".123456" not in solar


def test_messages_are_in_the_viewers_language() -> None:
    token = current_language.set("fa")
    try:
        assert rule_message("latitude 95.0 is outside -90 to 90") == "عرض جغرافیایی بین -90 و 90 درجه است."
        assert row_message("'x' is not yes or no") == "yes یا no بنویسید."
        assert error_page_text(ErrorCode.NOT_FOUND, 404)[0] == "یافت نشد"
    finally:
        current_language.reset(token)
    assert error_page_text(ErrorCode.CSRF, 403)[0] == "This form has expired"
    assert row_message("3 values for 5 columns") == "This line has 3 values for 5 columns."
    assert rule_message("something no pattern knows") == "Something no pattern knows"
