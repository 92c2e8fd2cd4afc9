"""``GET /api/v1/intel/reports/{id}/misp``: a MISP core-format event with the TLP and Admiralty grading as MISP
taxonomy tags, holding only the releasable portion — on the originator and on the receiver."""

from __future__ import annotations

from fastapi.testclient import TestClient
from intel_helpers import BODY_SECRET, NOTE_SECRET, RELEASABLE, SUMMARY_SECRET, actions, create

from sarhad.core.node import Node
from support.inprocess import deliver
from support.pairs import bearer


def test_the_misp_event_carries_grading_tags_and_the_releasable_text(
    pk: Node, client: TestClient, analyst: dict[str, str]
) -> None:
    created = create(
        client,
        analyst,
        release_to=[],
        tlp="amber+strict",
        period_start="2026-12-01T00:00:00+00:00",
        period_end="2026-12-03T00:00:00+00:00",
    )
    answer = client.get(f"/api/v1/intel/reports/{created['id']}/misp", headers=analyst)
    assert answer.status_code == 200, answer.text
    event = answer.json()["Event"]
    assert event["info"] == created["title"] and event["date"] == "2026-12-01"
    assert event["threat_level_id"] == "1"  # a threat warning: high
    assert event["analysis"] == "1" and event["published"] is False  # a draft: ongoing, not published
    assert event["distribution"] == "0"  # amber+strict: your organisation only
    assert [t["name"] for t in event["Tag"]] == [
        "tlp:amber+strict",
        'admiralty-scale:source-reliability="b"',
        'admiralty-scale:information-credibility="2"',
    ]
    by_category = {(a["category"], a["type"]): a for a in event["Attribute"]}
    assert by_category[("External analysis", "text")]["value"] == RELEASABLE
    assert by_category[("Internal reference", "text")]["value"] == f"PK/{created['id']}/v1"
    assert {a["value"] for a in event["Attribute"] if a["type"] == "datetime"} == {
        "2026-12-01T00:00:00+00:00",
        "2026-12-03T00:00:00+00:00",
    }
    assert all(a["to_ids"] is False and a["distribution"] == "5" for a in event["Attribute"])
    assert len({a["uuid"] for a in event["Attribute"]}) == len(event["Attribute"])
    stix = client.get(f"/api/v1/intel/reports/{created['id']}/stix", headers=analyst).json()
    report = next(o for o in stix["objects"] if o["type"] == "report")
    assert report["id"] == f"report--{event['uuid']}"  # both exports name the same report
    for secret in (BODY_SECRET, NOTE_SECRET, SUMMARY_SECRET):
        assert secret not in answer.text  # even on the originator: the event is for a partner
    assert actions(pk, "intel_report.export") == ["intel_report.export", "intel_report.export"]
    assert "intel_report.read" in actions(pk, "intel_report.read")


def test_the_receiver_exports_the_same_event_from_the_released_portion(
    pk: Node,
    ir: Node,
    client: TestClient,
    ir_client: TestClient,
    analyst: dict[str, str],
    commander: dict[str, str],
) -> None:
    created = create(client, analyst)
    assert client.post(f"/api/v1/intel/reports/{created['id']}/approve", headers=commander).status_code == 200
    deliver(pk, ir)
    here = client.get(f"/api/v1/intel/reports/{created['id']}/misp", headers=analyst).json()["Event"]
    answer = ir_client.get(
        f"/api/v1/intel/reports/{created['id']}/misp", headers=bearer(ir_client, "liaison")
    )
    assert answer.status_code == 200, answer.text
    there = answer.json()["Event"]
    assert there["analysis"] == "2" and there["published"] is True
    assert there["uuid"] == here["uuid"] and there["Tag"] == here["Tag"]
    assert there["Orgc"] == here["Orgc"]
    assert [a["value"] for a in there["Attribute"]] == [a["value"] for a in here["Attribute"]]
    for secret in (BODY_SECRET, NOTE_SECRET, SUMMARY_SECRET):
        assert secret not in answer.text


def test_who_may_not_read_intelligence_gets_no_misp_event(
    pk: Node, client: TestClient, analyst: dict[str, str]
) -> None:
    created = create(client, analyst, release_to=[])
    answer = client.get(f"/api/v1/intel/reports/{created['id']}/misp", headers=bearer(client, "operator"))
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"
    assert actions(pk, "intel_report.export") == []
