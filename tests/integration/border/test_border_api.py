"""The border HTTP API on a migrated, seeded database: GeoJSON and CSV lists, locate, fence progress, edits."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sarhad.audit.models import AuditEntry
from sarhad.core.node import Node

API = "/api/v1/border"
# endpoint -> the geometry types its features may have (None: a feature without a published position)
LISTS = {
    "sections": {"LineString", "MultiLineString"},
    "crossings": {"Point", None},
    "markets": {"Point", None},
    "posts": {"Point", None},
    "fence": {"LineString", "MultiLineString"},
    "line": {"LineString", "MultiLineString"},
    "countries": {"Polygon", "MultiPolygon"},
}


def _positions(geometry: dict) -> list[list[float]]:
    """Every position of a GeoJSON geometry, flattened."""
    coords = geometry["coordinates"]
    while coords and isinstance(coords[0], list) and isinstance(coords[0][0], list):
        coords = [p for part in coords for p in part]
    return coords if isinstance(coords[0], list) else [coords]


@pytest.mark.parametrize("name", sorted(LISTS))
def test_every_list_is_a_valid_geojson_feature_collection(
    client: TestClient, tokens: dict[str, dict[str, str]], name: str
) -> None:
    answer = client.get(f"{API}/{name}", headers=tokens["reader"])
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/geo+json")
    body = answer.json()
    assert body["type"] == "FeatureCollection"
    assert body["features"], f"{name} is empty"
    ids = [f["id"] for f in body["features"]]
    assert len(set(ids)) == len(ids), "feature ids must be unique"
    for item in body["features"]:
        assert item["type"] == "Feature"
        assert isinstance(item["properties"], dict)
        geometry = item["geometry"]
        assert (geometry["type"] if geometry else None) in LISTS[name]
        if geometry:
            for lon, lat in (p[:2] for p in _positions(geometry)):
                assert -180 <= lon <= 180 and -90 <= lat <= 90
                if (
                    name != "countries"
                ):  # GeoJSON order is [lon, lat]; everything here is near the PK-IR border
                    assert 60 < lon < 65 and 24 < lat < 30.5


@pytest.mark.parametrize("name", sorted(LISTS))
def test_every_list_exports_the_same_features_as_csv(
    client: TestClient, tokens: dict[str, dict[str, str]], name: str
) -> None:
    features = client.get(f"{API}/{name}", headers=tokens["reader"]).json()["features"]
    answer = client.get(f"{API}/{name}", params={"format": "csv"}, headers=tokens["reader"])
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(rows) == len(features)
    assert [r.get("id") or r.get("iso2") for r in rows] == [
        f["properties"].get("id") or f["properties"].get("iso2") for f in features
    ]
    if name != "fence":  # every named thing carries its name in each script
        assert {"name_en", "name_ur", "name_fa"} <= set(rows[0])


def test_crossing_sides_are_paired_features_on_both_sides(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    features = client.get(f"{API}/crossings", headers=tokens["reader"]).json()["features"]
    taftan = {
        f["properties"]["side"]: f for f in features if f["properties"]["crossing"] == "taftan-mirjaveh"
    }
    assert set(taftan) == {"PK", "IR"}
    assert taftan["PK"]["properties"]["name"] == "Taftan"
    assert taftan["PK"]["properties"]["counterpart"] == "Mirjaveh"
    assert taftan["IR"]["properties"]["status"] == "open"
    assert taftan["IR"]["properties"]["modes"] == ["road", "rail"]
    assert taftan["IR"]["properties"]["open_now"] is True


def test_sections_carry_responsible_posts_and_fence_progress_per_side(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    features = client.get(f"{API}/sections", headers=tokens["reader"]).json()["features"]
    assert len(features) >= 6
    s5 = next(f["properties"] for f in features if f["id"] == "S5")
    assert "pk-taftan-post" in s5["posts"]["PK"] and "ir-mirjaveh-post" in s5["posts"]["IR"]
    assert set(s5["fence_progress"]) == {"PK", "IR"}
    for progress in s5["fence_progress"].values():
        assert {"planned_km", "under_construction_km", "complete_km", "complete_pct"} <= set(progress)


def test_fence_progress_per_section_adds_up_to_the_per_side_totals(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    report = client.get(f"{API}/fence/progress", headers=tokens["reader"]).json()
    parties = {row["party"] for row in report["sections"]}
    assert parties == {"PK", "IR"}
    for total in report["totals"]:
        rows = [r for r in report["sections"] if r["party"] == total["party"]]
        for status in ("planned_km", "under_construction_km", "complete_km"):
            assert sum(r[status] for r in rows) == pytest.approx(total[status], abs=0.01)
    # the source's own figure, kept as given
    assert report["published"]["PK-IR"]["PK"]["complete_km"] == 658.75


@pytest.mark.parametrize(
    ("place", "lat", "lon", "side"),
    [("Taftan", 28.948, 61.5844, "PK"), ("Mirjaveh crossing", 29.0147, 61.4503, "IR")],
)
def test_locate_puts_each_crossing_side_on_its_own_side_of_the_line(
    client: TestClient, tokens: dict[str, dict[str, str]], place: str, lat: float, lon: float, side: str
) -> None:
    answer = client.get(f"{API}/locate", params={"lat": lat, "lon": lon}, headers=tokens["reader"])
    assert answer.status_code == 200, answer.text
    where = answer.json()
    assert where["side"] == side, place
    assert where["section"] == "S5"
    assert 0 < where["distance_to_border_m"] < 10_000


def test_locate_refuses_coordinates_outside_the_earth(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    answer = client.get(f"{API}/locate", params={"lat": 95, "lon": 61}, headers=tokens["reader"])
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid"


def test_bbox_keeps_only_what_intersects_it(client: TestClient, tokens: dict[str, dict[str, str]]) -> None:
    south = client.get(f"{API}/sections", params={"bbox": "61,24.5,62,25.5"}, headers=tokens["reader"]).json()
    assert [f["id"] for f in south["features"]] == ["S1"]
    bad = client.get(f"{API}/sections", params={"bbox": "62,25,61"}, headers=tokens["reader"])
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "bad_bbox"


# --- editing ---------------------------------------------------------------------------------------------


def test_editing_a_crossing_needs_a_signed_in_user(client: TestClient) -> None:
    answer = client.patch(f"{API}/crossings/taftan-mirjaveh", json={"status": "closed"})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("crossings/taftan-mirjaveh", {"status": "closed"}),
        ("fence/PK-S2-F2", {"status": "complete"}),
        ("markets/mand-market", {"status": "suspended"}),
    ],
)
def test_editing_is_refused_without_border_edit(
    client: TestClient, tokens: dict[str, dict[str, str]], seeded: Node, path: str, body: dict
) -> None:
    answer = client.patch(f"{API}/{path}", json=body, headers=tokens["reader"])
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden"
    with seeded.sessions() as session:
        assert (
            session.scalars(select(AuditEntry).where(AuditEntry.action.like("border.%.update"))).all() == []
        )


def test_a_crossing_edit_is_applied_and_audited_with_before_and_after(
    client: TestClient, tokens: dict[str, dict[str, str]], seeded: Node
) -> None:
    hours = {
        "always_open": False,
        "time_zone": "Asia/Karachi",
        "weekly": [{"days": ["mon", "tue"], "open": "08:00", "close": "16:00"}],
    }
    answer = client.patch(
        f"{API}/crossings/taftan-mirjaveh",
        headers=tokens["editor"],
        json={"status": "restricted", "hours": hours, "reason": "flood on the road"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "restricted" and answer.json()["updated_by"] == "editor"
    features = client.get(
        f"{API}/crossings", params={"status": "restricted"}, headers=tokens["reader"]
    ).json()["features"]
    assert {f["properties"]["crossing"] for f in features} == {"taftan-mirjaveh"}
    assert features[0]["properties"]["hours_text"] == "mon tue 08:00–16:00"
    with seeded.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "border.crossing.update")).one()
    assert (entry.actor, entry.record_id, entry.outcome) == ("editor", "taftan-mirjaveh", "ok")
    assert entry.details["before"]["status"] == "open"
    assert entry.details["after"]["status"] == "restricted"
    assert entry.details["reason"] == "flood on the road"


def test_a_fence_edit_moves_the_progress_figures(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    def s2_pk() -> dict:
        report = client.get(f"{API}/fence/progress", headers=tokens["reader"]).json()
        return next(r for r in report["sections"] if r["section"] == "S2" and r["party"] == "PK")

    before = s2_pk()
    assert before["under_construction_km"] > 0
    answer = client.patch(f"{API}/fence/PK-S2-F2", json={"status": "complete"}, headers=tokens["editor"])
    assert answer.status_code == 200, answer.text
    after = s2_pk()
    assert after["under_construction_km"] == 0
    assert after["complete_km"] == pytest.approx(
        before["complete_km"] + before["under_construction_km"], abs=0.01
    )


def test_the_other_partys_fence_is_not_edited_on_this_node(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    answer = client.patch(f"{API}/fence/IR-S1-F2", json={"status": "complete"}, headers=tokens["editor"])
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "not_owner"


def test_an_editor_scoped_to_sections_edits_only_there(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    outside = client.patch(
        f"{API}/crossings/taftan-mirjaveh", json={"status": "closed"}, headers=tokens["s1.editor"]
    )
    assert outside.status_code == 403
    assert outside.json()["error"]["code"] == "out_of_scope"
    inside = client.patch(
        f"{API}/crossings/gabd-rimdan", json={"status": "closed"}, headers=tokens["s1.editor"]
    )
    assert inside.status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "problem"),
    [
        ("crossings/taftan-mirjaveh", {"status": "half-open"}, "status"),
        ("crossings/taftan-mirjaveh", {"reason": "nothing else"}, "nothing to change"),
        ("crossings/taftan-mirjaveh", {"status": "open", "colour": "red"}, "colour"),
        (
            "markets/mand-market",
            {"schedule": {"weekly": [{"days": ["mon"], "open": "15:00", "close": "09:00"}]}},
            "closing time 09:00 must be after opening time 15:00",
        ),
        (
            "markets/mand-market",
            {"schedule": {"time_zone": "Asia/Atlantis", "weekly": []}},
            "unknown time zone",
        ),
    ],
)
def test_invalid_edits_are_refused_with_a_clear_reason_and_change_nothing(
    client: TestClient, tokens: dict[str, dict[str, str]], seeded: Node, path: str, body: dict, problem: str
) -> None:
    answer = client.patch(f"{API}/{path}", json=body, headers=tokens["editor"])
    assert answer.status_code == 422
    assert problem in answer.json()["error"]["message"]
    with seeded.sessions() as session:
        assert (
            session.scalars(select(AuditEntry).where(AuditEntry.action.like("border.%.update"))).all() == []
        )


def test_editing_something_that_does_not_exist_is_a_404(
    client: TestClient, tokens: dict[str, dict[str, str]]
) -> None:
    answer = client.patch(f"{API}/markets/nowhere", json={"status": "closed"}, headers=tokens["editor"])
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "not_found"
