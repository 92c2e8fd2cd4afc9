"""Consistency of the reference scenario (src/sarhad/border/reference/pk_ir.json) with the geography rules."""

from __future__ import annotations

import itertools
import json
from importlib.resources import files
from typing import Any

import pytest
from shapely.geometry import LineString, Point

from sarhad.border import geo

SCRIPT_LETTERS = {
    # Persian text must use Persian yeh/keheh/heh, not Arabic yeh/kaf or Urdu heh goal/yeh barree/do-chashmi heh.
    "fa": {"\u064a", "\u0643", "\u06c1", "\u06d2", "\u06be"},
    # Urdu uses heh goal (ہ) and do-chashmi heh (ھ) instead of Arabic heh; no Arabic yeh or kaf.
    "ur": {"\u064a", "\u0643", "\u0647"},
}


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    text = (files("sarhad.border") / "reference" / "pk_ir.json").read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@pytest.fixture(scope="module")
def line(data: dict[str, Any]) -> LineString:
    return geo.parse_border_geojson(json.dumps(data["border"]["geometry"]))


def where(item: dict[str, Any]) -> Point:
    return Point(*item["location"]["coordinates"])


def side(data: dict[str, Any], line: LineString, point: Point) -> str:
    border = data["border"]
    return geo.side_of_line(point, line, border["left_party"], border["right_party"])


def test_top_level_shape(data: dict[str, Any]) -> None:
    assert {p["code"] for p in data["parties"]} == {"PK", "IR"}
    assert {o["iso2"] for o in data["country_outlines"]} == {"PK", "IR", "AF"}
    for key in ("sources", "border", "sections", "posts", "crossings", "markets", "fence"):
        assert key in data


def test_every_cited_source_exists(data: dict[str, Any]) -> None:
    known = set(data["sources"])

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "sources" and isinstance(value, list):
                    assert set(value) <= known, value
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk({k: v for k, v in data.items() if k != "sources"})


def test_names_are_in_three_scripts_with_the_right_letters(data: dict[str, Any]) -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if set(node) == {"en", "ur", "fa"}:
                for lang, bad in SCRIPT_LETTERS.items():
                    assert not bad & set(node[lang]), (lang, node[lang])
                return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data)


def test_border_is_natural_earth_plus_labelled_adjusted_vertices(
    data: dict[str, Any], line: LineString
) -> None:
    border = data["border"]
    adjusted = {v["index"]: v for v in border["adjusted_vertices"]}
    coords = border["geometry"]["coordinates"]
    for index, vertex in adjusted.items():
        assert coords[index] == vertex["coordinates"]
        assert vertex["estimate"] is True
        assert vertex["note"].startswith("adjusted: estimate")
    natural_earth = [c for i, c in enumerate(coords) if i not in adjusted]
    assert len(natural_earth) == 9
    assert round(geo.geodesic_length_m(LineString(natural_earth)) / 1000, 1) == 747.5
    assert {v["near_crossing"] for v in adjusted.values()} == {
        "taftan-mirjaveh",
        "mand-pishin",
        "gabd-rimdan",
    }
    assert geo.geodesic_length_m(line) / 1000 == pytest.approx(border["geodesic_length_km"], abs=0.001)


def test_crossings_lie_on_their_own_side(data: dict[str, Any], line: LineString) -> None:
    assert {c["id"] for c in data["crossings"]} >= {
        "taftan-mirjaveh",
        "gabd-rimdan",
        "mand-pishin",
        "chedgi-kuhak",
    }
    for crossing in data["crossings"]:
        assert set(crossing["sides"]) == {"PK", "IR"}
        for party, end in crossing["sides"].items():
            assert side(data, line, where(end)) == party, (crossing["id"], party)
            assert geo.distance_to_line_m(where(end), line) > 500, (crossing["id"], party)


def test_published_crossing_coordinates_are_kept(data: dict[str, Any]) -> None:
    sides = {c["id"]: c["sides"] for c in data["crossings"]}
    assert sides["taftan-mirjaveh"]["PK"]["location"]["coordinates"] == [61.5844, 28.948]
    assert sides["taftan-mirjaveh"]["IR"]["location"]["coordinates"] == [61.4503, 29.0147]
    assert sides["mand-pishin"]["IR"]["location"]["coordinates"] == [61.7539, 26.0794]
    assert sides["gabd-rimdan"]["PK"]["location"]["coordinates"] == [61.6, 25.3]


def test_sections_cover_the_line_consecutively(data: dict[str, Any], line: LineString) -> None:
    sections = data["sections"]
    assert len(sections) >= 6
    assert [s["order"] for s in sections] == list(range(1, len(sections) + 1))
    assert sections[0]["start_km"] == 0
    for before, after in itertools.pairwise(sections):
        assert before["end_km"] == after["start_km"]
    assert [s["end_km"] for s in sections[:-1]] == data["border"]["cut_points_km"]
    total_km = geo.geodesic_length_m(line) / 1000
    assert sections[-1]["end_km"] == pytest.approx(total_km, abs=0.001)
    pieces = geo.split_into_sections(line, data["border"]["cut_points_km"])
    for section, piece in zip(sections, pieces, strict=True):
        assert geo.geodesic_length_m(piece) / 1000 == pytest.approx(section["length_km"], abs=0.001)
    scale = data["border"]["nominal_length_km"] / total_km
    assert sum(s["nominal_length_km"] for s in sections) == pytest.approx(
        data["border"]["nominal_length_km"], abs=0.01
    )
    for section in sections:
        assert section["nominal_length_km"] == pytest.approx(section["length_km"] * scale, abs=0.001)


def test_posts_are_on_their_side_and_cover_every_section(data: dict[str, Any], line: LineString) -> None:
    sections = {
        s["id"]: piece
        for s, piece in zip(
            data["sections"], geo.split_into_sections(line, data["border"]["cut_points_km"]), strict=True
        )
    }
    for post in data["posts"]:
        assert side(data, line, where(post)) == post["party"], post["id"]
        assert post["estimate"] is True
        assert post["kind"] in {"post", "headquarters"}
        if post["kind"] == "post":
            assert geo.nearest_section(where(post), sections)[0] == post["section"], post["id"]
    covered = {(p["section"], p["party"]) for p in data["posts"]}
    assert covered >= {(s, party) for s in sections for party in ("PK", "IR")}


def test_crossings_and_markets_are_in_their_section(data: dict[str, Any], line: LineString) -> None:
    pieces = geo.split_into_sections(line, data["border"]["cut_points_km"])
    sections = {s["id"]: piece for s, piece in zip(data["sections"], pieces, strict=True)}
    for crossing in data["crossings"]:
        for end in crossing["sides"].values():
            assert geo.nearest_section(where(end), sections)[0] == crossing["section"], crossing["id"]
    crossings = {c["id"] for c in data["crossings"]}
    for market in data["markets"]:
        assert market["crossing"] in crossings
        assert market["status"] in {"planned", "operating"}
        assert side(data, line, where(market)) == market["host_party"]
        assert geo.nearest_section(where(market), sections)[0] == market["section"]
    mand = next(m for m in data["markets"] if m["id"] == "mand-market")
    assert (mand["status"], mand["inaugurated"]) == ("operating", "2023-05-18")


def test_pk_fence_totals_match_the_published_figures(data: dict[str, Any]) -> None:
    nominal = {s["id"]: s["nominal_length_km"] for s in data["sections"]}
    segments = data["fence"]["segments"]

    def total(party: str, statuses: set[str]) -> float:
        return sum(
            (f["end_fraction"] - f["start_fraction"]) * nominal[f["section"]]
            for f in segments
            if f["party"] == party and f["status"] in statuses
        )

    assert total("PK", {"complete"}) == pytest.approx(658.75, rel=0.01)
    assert total("PK", {"complete", "under_construction", "planned"}) == pytest.approx(830.6, rel=0.01)
    assert total("IR", {"complete", "under_construction", "planned"}) > 0
    for segment in segments:
        assert 0 <= segment["start_fraction"] < segment["end_fraction"] <= 1
        assert segment["status"] in {"planned", "under_construction", "complete"}
        length = (segment["end_fraction"] - segment["start_fraction"]) * nominal[segment["section"]]
        assert segment["length_km"] == pytest.approx(length, abs=0.001)
    for party in ("PK", "IR"):
        for section in nominal:
            spans = sorted(
                (f["start_fraction"], f["end_fraction"])
                for f in segments
                if f["party"] == party and f["section"] == section
            )
            for (_, end), (start, _) in itertools.pairwise(spans):
                assert end <= start, (party, section)  # no overlapping fence segments
