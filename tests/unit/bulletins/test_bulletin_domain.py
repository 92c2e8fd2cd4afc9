"""The pure rules of liaison bulletins, without a database."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sarhad.bulletins import domain
from sarhad.bulletins.domain import (
    BODY_MAX,
    TITLE_MAX,
    check_body,
    check_bulletin,
    check_place,
    check_title,
    check_validity,
    is_current,
    snapshot,
)
from sarhad.bulletins.schemas import BulletinContent
from sarhad.core.errors import RuleError

PKT = timezone(timedelta(hours=5))


def rule_field(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(RuleError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.field


# --- title and body ---------------------------------------------------------------------------------------------


def test_title_is_trimmed_and_its_whitespace_collapsed() -> None:
    assert check_title("  Road\n closed  ") == "Road closed"


@pytest.mark.parametrize("title", ["", "   ", "\n\t", "x" * (TITLE_MAX + 1)])
def test_title_must_be_1_to_200_characters(title: str) -> None:
    assert rule_field(check_title, title) == "title"


def test_title_of_exactly_the_limit_is_accepted() -> None:
    assert len(check_title("ب" * TITLE_MAX)) == TITLE_MAX  # characters, not bytes


def test_body_keeps_its_lines_and_has_a_configurable_limit() -> None:
    assert check_body("line one\nline two\n") == "line one\nline two"
    assert len(check_body("x" * BODY_MAX)) == BODY_MAX
    assert rule_field(check_body, "x" * (BODY_MAX + 1)) == "body"
    assert rule_field(check_body, "  ") == "body"


# --- place ----------------------------------------------------------------------------------------------------


def test_no_place_a_named_place_a_point_or_both() -> None:
    assert check_place(None, None, None) is None
    assert check_place("  ", None, None) is None
    assert check_place("Taftan", None, None) == domain.Place("Taftan", None, None)
    assert check_place("", 29.0, 61.5) == domain.Place("", 29.0, 61.5)
    assert check_place("Taftan", -90.0, 180.0) == domain.Place("Taftan", -90.0, 180.0)


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [
        (90.0001, 61.0, "place.lat"),
        (-91.0, 61.0, "place.lat"),
        (29.0, 180.5, "place.lon"),
        (29.0, -181.0, "place.lon"),
        (float("nan"), 61.0, "place.lat"),
        (29.0, float("inf"), "place.lon"),
        (29.0, None, "place"),
        (None, 61.0, "place"),
    ],
)
def test_coordinates_must_be_in_range_and_come_in_pairs(
    lat: float | None, lon: float | None, field: str
) -> None:
    assert rule_field(check_place, "x", lat, lon) == field


def test_place_name_has_a_limit() -> None:
    assert rule_field(check_place, "x" * 201, None, None) == "place.name"


@given(st.floats(-90, 90), st.floats(-180, 180))
def test_every_point_on_earth_is_accepted(lat: float, lon: float) -> None:
    place = check_place("", lat, lon)
    assert place is not None and (place.lat, place.lon) == (lat, lon)


# --- validity -----------------------------------------------------------------------------------------------------


def test_validity_is_stored_in_utc_and_must_end_after_it_starts() -> None:
    start = datetime(2026, 11, 24, 6, 0, tzinfo=PKT)
    assert check_validity(start, None) == (datetime(2026, 11, 24, 1, 0, tzinfo=UTC), None)
    assert check_validity(None, start)[1] == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert rule_field(check_validity, start, start) == "valid_until"
    assert rule_field(check_validity, start, start - timedelta(minutes=1)) == "valid_until"


def test_validity_needs_a_time_zone() -> None:
    assert rule_field(check_validity, datetime(2026, 11, 24, 6, 0), None) == "valid_from"
    assert rule_field(check_validity, None, datetime(2026, 11, 24, 6, 0)) == "valid_until"


def test_is_current_treats_missing_ends_as_open() -> None:
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    hour = timedelta(hours=1)
    assert is_current(None, None, now)
    assert is_current(now - hour, None, now) and not is_current(now + hour, None, now)
    assert is_current(None, now + hour, now) and not is_current(None, now, now)


def test_check_bulletin_reports_the_first_broken_rule() -> None:
    fields = check_bulletin(title=" Market closed ", body="Friday", place_name="Gabd", lat=25.1, lon=61.7)
    assert fields.title == "Market closed" and fields.place == domain.Place("Gabd", 25.1, 61.7)
    assert rule_field(check_bulletin, title="ok", body="", lat=1.0, lon=2.0) == "body"


# --- what goes over the link ----------------------------------------------------------------------------------------


@dataclass
class FakeBulletin:
    title: str = "Crossing closed"
    body: str = "Closed for trucks."
    place_name: str | None = "Taftan"
    lat: float | None = 28.96
    lon: float | None = 61.59
    valid_from: datetime | None = datetime(2026, 11, 24, 6, 0, tzinfo=PKT)
    valid_until: datetime | None = None
    created_at: datetime = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    updated_at: datetime = datetime(2026, 11, 23, 9, 30, 15, 250000, tzinfo=UTC)


def test_snapshot_is_json_with_iso_utc_times_and_no_labels() -> None:
    content = snapshot(FakeBulletin())
    assert json.loads(json.dumps(content)) == content
    assert content == {
        "title": "Crossing closed",
        "body": "Closed for trucks.",
        "place": {"name": "Taftan", "lat": 28.96, "lon": 61.59},
        "valid_from": "2026-11-24T01:00:00+00:00",
        "valid_until": None,
        "created_at": "2026-11-23T08:00:00+00:00",
        "updated_at": "2026-11-23T09:30:15.250000+00:00",
    }
    assert "tlp" not in content and "handling" not in content  # they travel on the record, per release


def test_snapshot_without_place_and_the_receivers_schema_accepts_it() -> None:
    content = snapshot(FakeBulletin(place_name=None, lat=None, lon=None))
    assert content["place"] is None
    parsed = BulletinContent.model_validate(content)
    assert parsed.updated_at == datetime(2026, 11, 23, 9, 30, 15, 250000, tzinfo=UTC)


def test_the_receivers_schema_ignores_fields_added_by_a_newer_peer() -> None:
    content = {**snapshot(FakeBulletin()), "severity": "high"}
    assert BulletinContent.model_validate(content).title == "Crossing closed"
