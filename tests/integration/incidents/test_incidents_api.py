"""The incident API on PK (and IR where sharing is involved): create, place, workflow, versions, refusals,
sharing through the exchange, exports — through real HTTP calls."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from incident_helpers import TAFTAN_BBOX, body, deliver, snapshot_counts

from sarhad.accounts.actors import SystemActor
from sarhad.core.node import Node
from sarhad.incidents import reading
from sarhad.incidents.models import Incident

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%fake but well-formed header\n"


def create(client: TestClient, headers: dict[str, str], node: Node, **changes: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/incidents", json=body(node, **changes), headers=headers)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_created_near_taftan_gets_section_s5_and_pakistans_side(
    client: TestClient, liaison: dict[str, str], pk: Node
) -> None:
    created = create(client, liaison, pk)
    assert created["id"] and created["origin"] == "PK" and created["own"] is True
    assert created["section"] == "S5" and created["side"] == "PK"
    assert created["status"] == "reported" and created["reported_at"] is not None
    assert 0 < created["distance_to_border_m"] < 50_000
    assert created["version"] == 1 and created["warnings"] == []


def test_the_minimal_body_of_the_issue_is_accepted_and_released(
    client: TestClient, liaison: dict[str, str], pk: Node, ir: Node
) -> None:
    minimal = {
        "type": "drug_smuggling",
        "occurred_at": (pk.clock.now() - timedelta(hours=1)).isoformat(),
        "lat": 28.95,
        "lon": 61.70,
        "description": "Smugglers fled towards the border",
        "impact_level": "high",
        "release_to": ["IR"],
    }
    answer = client.post("/api/v1/incidents", json=minimal, headers=liaison)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert (created["section"], created["side"]) == ("S5", "PK")
    assert [(d["party"], d["state"]) for d in created["deliveries"]] == [("IR", "queued")]
    assert [r["party"] for r in created["releases"]] == ["IR"]


def test_released_incident_appears_at_ir_in_the_bbox_with_origin_pk_and_later_versions_follow(
    client: TestClient,
    liaison: dict[str, str],
    pk: Node,
    ir: Node,
    ir_client: TestClient,
    ir_liaison: dict[str, str],
) -> None:
    created = create(client, liaison, pk, release_to=["IR"])
    deliver(pk, ir)
    answer = ir_client.get(
        f"/api/v1/incidents?bbox={TAFTAN_BBOX}&days=30&type=drug_smuggling", headers=ir_liaison
    )
    assert answer.status_code == 200, answer.text
    rows = answer.json()
    assert [(r["origin"], r["id"], r["section"], r["side"], r["own"]) for r in rows] == [
        ("PK", created["id"], "S5", "PK", False)
    ]
    # outside the box, or another type: not there
    assert ir_client.get("/api/v1/incidents?bbox=60,25,61,26", headers=ir_liaison).json() == []
    assert ir_client.get("/api/v1/incidents?type=kidnapping", headers=ir_liaison).json() == []

    # PK validates it: version 2 reaches IR
    moved = client.post(
        f"/api/v1/incidents/{created['id']}/transition", json={"action": "validate"}, headers=liaison
    )
    assert moved.status_code == 200, moved.text
    deliver(pk, ir)
    got = ir_client.get(f"/api/v1/incidents/PK/{created['id']}", headers=ir_liaison).json()
    assert got["version"] == 2 and got["status"] == "validated"
    history = ir_client.get(f"/api/v1/incidents/PK/{created['id']}/history", headers=ir_liaison).json()
    assert [h["version"] for h in history] == [2, 1]


def test_received_incident_is_never_editable_by_the_receiver(
    client: TestClient,
    liaison: dict[str, str],
    pk: Node,
    ir: Node,
    ir_client: TestClient,
    ir_liaison: dict[str, str],
) -> None:
    created = create(client, liaison, pk, release_to=["IR"])
    deliver(pk, ir)
    before = snapshot_counts(ir)
    for path in (f"/api/v1/incidents/{created['id']}", f"/api/v1/incidents/PK/{created['id']}"):
        answer = ir_client.put(path, json=body(ir, description="changed by IR"), headers=ir_liaison)
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "not_originator"
        assert "received from PK" in answer.json()["error"]["message"]
    answer = ir_client.post(
        f"/api/v1/incidents/{created['id']}/transition", json={"action": "close"}, headers=ir_liaison
    )
    assert answer.status_code == 403
    answer = ir_client.post(
        f"/api/v1/incidents/{created['id']}/attachments",
        files={"file": ("photo.png", PNG, "image/png")},
        headers=ir_liaison,
    )
    assert answer.status_code == 403
    # Nor released onward or withdrawn: only its originator decides where an incident goes.
    for action, payload in (("release", {"to": ["PK"]}), ("withdraw", {"reason": "not ours"})):
        answer = ir_client.post(
            f"/api/v1/incidents/{created['id']}/{action}", json=payload, headers=ir_liaison
        )
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "not_originator"
    assert snapshot_counts(ir) == before


def test_bad_input_is_refused_and_nothing_is_written(
    client: TestClient, liaison: dict[str, str], pk: Node
) -> None:
    before = snapshot_counts(pk)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"lat": 95.0}, 422, "lat"),
        ({"lon": -181.0}, 422, "lon"),
        ({"type": "alien_landing"}, 422, "type"),
        ({"occurred_at": (pk.clock.now() + timedelta(hours=1)).isoformat()}, 422, "future"),
        ({"seizures": [{"item": "opium", "quantity": -3, "unit": "kg"}]}, 422, "negative"),
        ({"seizures": [{"item": "opium", "quantity": 3, "unit": "bushels"}]}, 422, "unit"),
        ({"impact_level": "critical"}, 422, "impact"),
        ({"source_reliability": "G"}, 422, "reliability"),
        ({"casualties": {"civilian_killed": -1}}, 422, "casualty"),
        ({"release_to": ["XX"]}, 422, "configured peer"),
        ({"draft": True, "release_to": ["PK"]}, 422, "own party"),
        ({"lat": 33.7, "lon": 73.1}, 422, "km from the border"),  # Islamabad: far from the border
    ]
    for changes, status, words in cases:
        answer = client.post("/api/v1/incidents", json=body(pk, **changes), headers=liaison)
        assert answer.status_code == status, (changes, answer.text)
        assert words in answer.text, (changes, answer.text)
    assert snapshot_counts(pk) == before


def test_far_from_the_border_is_accepted_with_confirmation_and_keeps_the_warning(
    client: TestClient, liaison: dict[str, str], pk: Node
) -> None:
    created = create(client, liaison, pk, lat=33.7, lon=73.1, confirm_far=True)
    assert created["side"] == "PK" and created["warnings"] and "km from the border" in created["warnings"][0]


def test_small_clock_skew_is_allowed(client: TestClient, liaison: dict[str, str], pk: Node) -> None:
    created = create(client, liaison, pk, occurred_at=(pk.clock.now() + timedelta(minutes=2)).isoformat())
    assert created["status"] == "reported"


def test_workflow_versions_and_history(client: TestClient, liaison: dict[str, str], pk: Node) -> None:
    draft = create(client, liaison, pk, draft=True)
    assert draft["status"] == "draft" and draft["reported_at"] is None
    iid = draft["id"]
    refused = client.post(f"/api/v1/incidents/{iid}/release", json={"to": ["IR"]}, headers=liaison)
    assert refused.status_code == 422 and "draft" in refused.text
    edited = client.put(
        f"/api/v1/incidents/{iid}",
        json=body(pk, impact_level="high", version=1, occurred_at=draft["occurred_at"]),
        headers=liaison,
    )
    assert edited.status_code == 200 and edited.json()["version"] == 2
    stale = client.put(f"/api/v1/incidents/{iid}", json=body(pk, version=1), headers=liaison)
    assert stale.status_code == 409
    for action in ("report", "validate", "close"):
        answer = client.post(f"/api/v1/incidents/{iid}/transition", json={"action": action}, headers=liaison)
        assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "closed" and answer.json()["version"] == 5
    again = client.post(f"/api/v1/incidents/{iid}/transition", json={"action": "validate"}, headers=liaison)
    assert again.status_code == 422 and "closed" in again.text
    history = client.get(f"/api/v1/incidents/PK/{iid}/history", headers=liaison).json()
    assert [h["change"] for h in history] == ["close", "validate", "report", "update", "create"]
    assert history[3]["changed"] == ["impact_level"]


def test_dismiss_needs_a_reason_and_operator_cannot_validate(
    client: TestClient, liaison: dict[str, str], operator: dict[str, str], pk: Node
) -> None:
    created = create(client, operator, pk)
    iid = created["id"]
    answer = client.post(f"/api/v1/incidents/{iid}/transition", json={"action": "validate"}, headers=operator)
    assert answer.status_code == 403
    answer = client.post(f"/api/v1/incidents/{iid}/transition", json={"action": "dismiss"}, headers=liaison)
    assert answer.status_code == 422 and "reason" in answer.text
    answer = client.post(
        f"/api/v1/incidents/{iid}/transition",
        json={"action": "dismiss", "reason": "duplicate of an earlier report"},
        headers=liaison,
    )
    assert answer.status_code == 200 and answer.json()["status_reason"] == "duplicate of an earlier report"


def test_follow_up_is_linked_to_the_first_report(
    client: TestClient, liaison: dict[str, str], pk: Node
) -> None:
    first = create(client, liaison, pk)
    follow = create(client, liaison, pk, follow_up_of={"origin": "PK", "id": first["id"]})
    assert follow["follow_up_of"] == {"origin": "PK", "id": first["id"]}
    got = client.get(f"/api/v1/incidents/PK/{first['id']}", headers=liaison).json()
    assert [f["id"] for f in got["follow_ups"]] == [follow["id"]]
    missing = client.post(
        "/api/v1/incidents", json=body(pk, follow_up_of={"origin": "PK", "id": "nope"}), headers=liaison
    )
    assert missing.status_code == 422


def test_draft_older_than_24_hours_is_flagged(client: TestClient, liaison: dict[str, str], pk: Node) -> None:
    draft = create(client, liaison, pk, draft=True)
    assert draft["draft_overdue"] is False
    with pk.transaction() as session:
        row = session.get(Incident, ("PK", draft["id"]))
        assert row is not None
        row.created_at = pk.clock.now() - timedelta(hours=25)
    got = client.get(f"/api/v1/incidents/PK/{draft['id']}", headers=liaison).json()
    assert got["draft_overdue"] is True
    with pk.sessions() as session:
        assert [i.id for i in reading.drafts_overdue(session, pk, SystemActor())] == [draft["id"]]


def test_attachments_checked_by_content_and_size(
    client: TestClient, liaison: dict[str, str], pk: Node
) -> None:
    iid = create(client, liaison, pk)["id"]
    url = f"/api/v1/incidents/{iid}/attachments"
    before = snapshot_counts(pk)
    disguised = client.post(
        url, files={"file": ("photo.png", b"MZ\x90\x00 an executable", "image/png")}, headers=liaison
    )
    assert disguised.status_code == 422 and "content" in disguised.text
    renamed = client.post(url, files={"file": ("photo.png", PDF, "image/png")}, headers=liaison)
    assert renamed.status_code == 422 and "disguised" in renamed.text
    big = client.post(
        url, files={"file": ("big.png", PNG + b"\x00" * (5 * 1024 * 1024), "image/png")}, headers=liaison
    )
    assert big.status_code == 413
    assert snapshot_counts(pk) == before
    ok = client.post(url, files={"file": ("report.pdf", PDF, "application/octet-stream")}, headers=liaison)
    assert ok.status_code == 201, ok.text
    attachment = ok.json()["attachments"][0]
    assert attachment["media_type"] == "application/pdf" and ok.json()["version"] == 2
    got = client.get(f"/api/v1/incidents/PK/{iid}/attachments/{attachment['id']}", headers=liaison)
    assert got.status_code == 200 and got.content == PDF


def test_list_filters_and_exports(client: TestClient, liaison: dict[str, str], pk: Node) -> None:
    a = create(client, liaison, pk)
    b = create(
        client,
        liaison,
        pk,
        type="fuel_smuggling",
        occurred_at=(pk.clock.now() - timedelta(days=40)).isoformat(),
    )
    ids = lambda q: [r["id"] for r in client.get(f"/api/v1/incidents?{q}", headers=liaison).json()]  # noqa: E731
    assert ids("days=30") == [a["id"]]
    assert ids("type=fuel_smuggling") == [b["id"]]
    assert ids("status=reported&side=PK") == [a["id"], b["id"]]
    assert ids("origin=IR") == []
    assert client.get("/api/v1/incidents?bbox=1,2,3", headers=liaison).status_code == 422
    assert client.get("/api/v1/incidents?type=nope", headers=liaison).status_code == 422
    exported = client.get("/api/v1/incidents?format=csv", headers=liaison)
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["id"] for r in rows} == {a["id"], b["id"]} and rows[0]["section"] == "S5"
    exported = client.get("/api/v1/incidents?format=geojson", headers=liaison)
    # a download: the browser saves it as a file with a sensible name
    disposition = exported.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="incidents-PK-') and disposition.endswith('.geojson"')
    assert exported.headers["content-type"].startswith("application/geo+json")
    geo = exported.json()
    assert geo["type"] == "FeatureCollection"
    assert geo["features"][0]["geometry"]["coordinates"] == [a["lon"], a["lat"]]


def test_section_counts_and_incident_exists(client: TestClient, liaison: dict[str, str], pk: Node) -> None:
    create(client, liaison, pk, impact_level="high")
    create(client, liaison, pk, impact_level="high")
    dismissed = create(client, liaison, pk, impact_level="low")
    client.post(
        f"/api/v1/incidents/{dismissed['id']}/transition",
        json={"action": "dismiss", "reason": "false alarm"},
        headers=liaison,
    )
    now = pk.clock.now()
    with pk.sessions() as session:
        counts = reading.section_counts(session, since=now - timedelta(days=30), until=now)
        assert counts == {"S5": {"high": 2}}
        assert (
            reading.section_counts(session, since=now - timedelta(days=60), until=now - timedelta(days=30))
            == {}
        )
        assert reading.incident_exists(session, "PK", dismissed["id"]) is True
        assert reading.incident_exists(session, "IR", dismissed["id"]) is False


def test_withdrawn_incident_disappears_at_the_receiver(
    client: TestClient,
    liaison: dict[str, str],
    pk: Node,
    ir: Node,
    ir_client: TestClient,
    ir_liaison: dict[str, str],
) -> None:
    created = create(client, liaison, pk, release_to=["IR"])
    deliver(pk, ir)
    assert [r["id"] for r in ir_client.get("/api/v1/incidents", headers=ir_liaison).json()] == [created["id"]]
    answer = client.post(
        f"/api/v1/incidents/{created['id']}/withdraw", json={"reason": "entered twice"}, headers=liaison
    )
    assert answer.status_code == 200 and answer.json()["withdrawn_at"]
    deliver(pk, ir)
    assert ir_client.get("/api/v1/incidents", headers=ir_liaison).json() == []
    gone = ir_client.get(f"/api/v1/incidents/PK/{created['id']}", headers=ir_liaison)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "withdrawn"
    with ir.sessions() as session:
        assert reading.incident_exists(session, "PK", created["id"]) is False
