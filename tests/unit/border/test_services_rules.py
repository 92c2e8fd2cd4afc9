"""Pure rules behind the border services: chainage, section limits, fence progress, hours, validation."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from shapely.geometry import LineString, MultiLineString, Point

from sarhad.border import domain, exports, geo
from sarhad.border.schemas import CrossingPatch, FencePatch, HoursIn, ReferenceScenario
from sarhad.border.seeding import reference_data

# A 2-degree south-north line along 62°E: about 221 km, with a vertex in the middle.
NORTH = LineString([(62.0, 27.0), (62.0, 28.0), (62.0, 29.0)])


# --- chainage ------------------------------------------------------------------------------------------


def test_chainage_of_a_point_is_the_geodesic_distance_along_the_line_to_its_foot() -> None:
    total = domain.line_length_m(NORTH)
    assert total == pytest.approx(geo.geodesic_length_m(NORTH))
    middle = domain.chainage_of_point(NORTH, Point(62.3, 28.0))  # 30 km east of the middle vertex
    assert middle == pytest.approx(geo.geodesic_length_m(LineString([(62.0, 27.0), (62.0, 28.0)])), abs=1.0)


def test_point_at_chainage_and_chainage_of_point_are_inverse() -> None:
    for chainage in (0.0, 12_345.0, 110_000.0, domain.line_length_m(NORTH)):
        point = domain.point_at_chainage(NORTH, chainage)
        assert domain.chainage_of_point(NORTH, point) == pytest.approx(chainage, abs=0.5)


def test_chainage_of_a_multilinestring_counts_parts_in_order_without_the_gap() -> None:
    first = LineString([(62.0, 27.0), (62.0, 27.5)])
    second = LineString([(62.0, 27.6), (62.0, 28.0)])
    line = MultiLineString([first, second])
    assert domain.line_length_m(line) == pytest.approx(
        geo.geodesic_length_m(first) + geo.geodesic_length_m(second)
    )
    start_of_second = domain.chainage_of_point(line, Point(62.0, 27.6))
    assert start_of_second == pytest.approx(geo.geodesic_length_m(first), abs=0.5)


def test_a_stretch_across_a_gap_is_a_multilinestring_of_both_pieces() -> None:
    first = LineString([(62.0, 27.0), (62.0, 27.5)])
    second = LineString([(62.0, 27.6), (62.0, 28.0)])
    line = MultiLineString([first, second])
    a = geo.geodesic_length_m(first)
    stretch = domain.substring_by_chainage(line, a - 1000.0, a + 1000.0)
    assert isinstance(stretch, MultiLineString)
    assert domain.line_length_m(stretch) == pytest.approx(2000.0, abs=0.01)


def test_a_stretch_outside_the_line_is_refused() -> None:
    with pytest.raises(geo.BorderGeometryError, match="need 0 <= start < end"):
        domain.substring_by_chainage(NORTH, 0.0, domain.line_length_m(NORTH) + 10.0)


# --- section limits ----------------------------------------------------------------------------------------


def test_cut_points_make_section_limits_from_start_to_end() -> None:
    total = domain.line_length_m(NORTH)
    assert domain.bounds_from_cut_points([50, 150], total) == [0.0, 50_000.0, 150_000.0, total]


@pytest.mark.parametrize(
    ("cuts", "problem"),
    [([150, 50], "strictly increasing"), ([0], "not inside the line"), ([500], "not inside the line")],
)
def test_bad_cut_points_are_refused_with_the_reason(cuts: list[float], problem: str) -> None:
    with pytest.raises(geo.BorderGeometryError, match=problem):
        domain.bounds_from_cut_points(cuts, domain.line_length_m(NORTH))


def test_section_limits_keep_their_place_on_the_ground_on_a_denser_line() -> None:
    total = domain.line_length_m(NORTH)
    bounds = [0.0, 60_000.0, 150_000.0, total]
    denser = LineString([(62.0, 27.0 + k * 0.05) for k in range(41)])  # same line, 41 vertices
    mapped = domain.map_bounds(NORTH, bounds, denser)
    assert mapped[0] == 0.0
    assert mapped[-1] == pytest.approx(domain.line_length_m(denser))
    for old, new in zip(bounds[1:-1], mapped[1:-1], strict=True):
        assert new == pytest.approx(old, abs=1.0)


def test_section_limits_that_come_out_of_order_are_refused() -> None:
    bounds = [0.0, 60_000.0, 150_000.0, domain.line_length_m(NORTH)]
    # A line that doubles back: the two inner limits project in reverse order.
    folded = LineString([(62.0, 27.0), (62.0, 28.5), (62.5, 28.5), (62.5, 27.2)])
    with pytest.raises(geo.BorderGeometryError, match="do not fall in order"):
        domain.map_bounds(NORTH, bounds, LineString(list(folded.coords)[::-1]))


def test_a_line_that_starts_where_the_old_one_ends_runs_reversed() -> None:
    assert domain.runs_reversed(NORTH, domain.reverse_line(NORTH))
    assert not domain.runs_reversed(NORTH, NORTH)


def test_fence_fractions_map_onto_the_sections_stretch() -> None:
    assert domain.fence_stretch_m(1000.0, 3000.0, 0.25, 0.5) == (1500.0, 2000.0)
    with pytest.raises(ValueError, match="start_fraction < end_fraction"):
        domain.fence_stretch_m(0.0, 1.0, 0.5, 0.5)


# --- fence progress --------------------------------------------------------------------------------------


def test_fence_progress_sums_lengths_by_status_per_section_and_side() -> None:
    segments = [
        domain.FenceSegmentFacts("S1", "PK", "complete", 6000.0, 7.0),
        domain.FenceSegmentFacts("S1", "PK", "planned", 2000.0, 2.0),
        domain.FenceSegmentFacts("S2", "PK", "under_construction", 5000.0, 6.0),
        domain.FenceSegmentFacts("S1", "IR", "complete", 10_000.0, None),
    ]
    rows, totals = domain.fence_progress(segments, {"S1": 10_000.0, "S2": 5_000.0}, ["IR", "PK"])
    by_key = {(r.section_id, r.party): r for r in rows}
    # every pair is listed, also S2/IR, which has no fence at all
    assert set(by_key) == {("S1", "IR"), ("S1", "PK"), ("S2", "IR"), ("S2", "PK")}
    s1_pk = by_key[("S1", "PK")].as_dict()
    assert (s1_pk["complete_km"], s1_pk["planned_km"], s1_pk["under_construction_km"]) == (6.0, 2.0, 0.0)
    assert s1_pk["complete_pct"] == 75.0 and s1_pk["coverage_pct"] == 80.0
    assert by_key[("S2", "IR")].as_dict()["fence_km"] == 0.0
    total_pk = next(t for t in totals if t.party == "PK").as_dict()
    assert total_pk["fence_km"] == 13.0
    assert total_pk["reported_km"] == {"planned": 2.0, "under_construction": 6.0, "complete": 7.0}
    total_ir = next(t for t in totals if t.party == "IR").as_dict()
    assert total_ir["reported_km"] is None  # one segment without a source figure: no partial sum


def test_fence_progress_refuses_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="unknown fence status"):
        domain.fence_progress([domain.FenceSegmentFacts("S1", "PK", "finished", 1.0)], {"S1": 1.0}, ["PK"])


# --- opening hours and market days ---------------------------------------------------------------------

MAND = {
    "time_zone": "Asia/Karachi",
    "weekly": [{"days": ["sat", "sun", "mon", "tue", "wed", "thu"], "open": "08:00", "close": "16:00"}],
}


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        (datetime(2026, 11, 21, 2, 59, tzinfo=UTC), False),  # Saturday 07:59 in Karachi
        (datetime(2026, 11, 21, 3, 0, tzinfo=UTC), True),  # Saturday 08:00
        (datetime(2026, 11, 21, 10, 59, tzinfo=UTC), True),  # Saturday 15:59
        (datetime(2026, 11, 21, 11, 0, tzinfo=UTC), False),  # Saturday 16:00: closed
        (datetime(2026, 11, 20, 6, 0, tzinfo=UTC), False),  # Friday 11:00: no slot
    ],
)
def test_weekly_hours_are_read_in_their_own_time_zone(utc: datetime, expected: bool) -> None:
    assert domain.open_at(MAND, utc) is expected


def test_always_open_wins_and_no_schedule_is_unknown() -> None:
    now = datetime(2026, 11, 20, 23, 0, tzinfo=UTC)
    assert domain.open_at({"always_open": True}, now) is True
    assert domain.open_at({}, now) is None
    assert domain.open_at({"note": "not published"}, now) is None


def test_weekly_text_round_trips_and_names_the_bad_line() -> None:
    slots = domain.parse_weekly_text("sat sun mon 08:00-16:00\n\nfri 09:00–12:00\n")
    assert slots == [
        {"days": ["mon", "sat", "sun"], "open": "08:00", "close": "16:00"},
        {"days": ["fri"], "open": "09:00", "close": "12:00"},
    ]
    assert domain.parse_weekly_text(domain.weekly_text({"weekly": slots})) == slots
    with pytest.raises(ValueError, match="line 2: unknown day"):
        domain.parse_weekly_text("mon 08:00-16:00\nmonday 08:00-16:00")
    with pytest.raises(ValueError, match="line 1: closing time 08:00 must be after opening time 09:00"):
        domain.parse_weekly_text("mon 09:00-08:00")
    with pytest.raises(ValueError, match="line 1: write the days, then the hours"):
        domain.parse_weekly_text("08:00-16:00")


def test_hours_cannot_be_both_always_open_and_weekly() -> None:
    with pytest.raises(ValidationError, match="always open has no weekly slots"):
        HoursIn.model_validate(
            {"always_open": True, "weekly": [{"days": ["mon"], "open": "08:00", "close": "09:00"}]}
        )
    with pytest.raises(ValidationError, match="unknown time zone"):
        HoursIn.model_validate({"time_zone": "Asia/Atlantis"})


def test_an_edit_must_change_something_and_know_its_fields() -> None:
    with pytest.raises(ValidationError, match="nothing to change"):
        CrossingPatch.model_validate({"reason": "just because"})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        FencePatch.model_validate({"status": "complete", "colour": "red"})
    with pytest.raises(ValidationError):
        FencePatch.model_validate({"status": "finished"})


# --- exports and inputs ------------------------------------------------------------------------------------


def test_csv_export_neutralises_spreadsheet_formulas_but_not_negative_numbers() -> None:
    fc = exports.collection(
        [
            exports.feature(
                "p1",
                {"type": "Point", "coordinates": [61.5, 28.9]},
                {"name": '=HYPERLINK("x")', "names": {"en": "@SUM(A1)"}, "offset": "-12.5", "note": "Taftan"},
            )
        ]
    )
    header, row = list(csv.reader(io.StringIO(exports.to_csv(fc))))
    cells = dict(zip(header, row, strict=True))
    assert cells["name"] == '\'=HYPERLINK("x")'
    assert cells["name_en"] == "'@SUM(A1)"
    assert cells["offset"] == "-12.5"
    assert cells["note"] == "Taftan"
    assert (cells["lon"], cells["lat"]) == ("61.5", "28.9")


def test_bbox_parameter_is_four_ordered_numbers() -> None:
    assert domain.parse_bbox("61,25,62.5,26") == (61.0, 25.0, 62.5, 26.0)
    for bad in ("61,25,62", "a,b,c,d", "62,25,61,26", "61,25,62,nan"):
        with pytest.raises(ValueError):
            domain.parse_bbox(bad)


def test_stored_geojson_uses_lists_and_centimetre_precision() -> None:
    stored = domain.to_geojson(LineString([(61.123456789, 25.987654321), (61.2, 26.0)]))
    assert stored == {"type": "LineString", "coordinates": [[61.1234568, 25.9876543], [61.2, 26.0]]}


# --- the reference scenario file -------------------------------------------------------------------------


def test_the_built_in_reference_scenario_validates() -> None:
    scenario = ReferenceScenario.model_validate(reference_data())
    assert len(scenario.sections) >= 6
    assert len(scenario.border.cut_points_km) == len(scenario.sections) - 1


def test_a_scenario_referring_to_an_unknown_section_is_refused() -> None:
    data = reference_data()
    data["posts"][0]["section"] = "S99"
    with pytest.raises(ValidationError, match="unknown section 'S99'"):
        ReferenceScenario.model_validate(data)
