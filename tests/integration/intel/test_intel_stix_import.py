"""``POST /api/v1/intel/import/stix``: a STIX 2.1 bundle becomes a DRAFT report (round trip with the export),
and a bundle that fails validation, is too large, holds no report, or comes from someone who may not write
intelligence is refused with nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest
import stix2
from fastapi.testclient import TestClient
from intel_helpers import BODY_SECRET, NOTE_SECRET, RELEASABLE, actions, counts, create

from sarhad.core.node import Node
from sarhad.intel.stix import TLP2_MARKING_IDS
from sarhad.intel.stix_import import BUNDLE_MAX_BYTES, OBJECTS_MAX, credibility_of
from support.pairs import bearer

URL = "/api/v1/intel/import/stix"


def post(client: TestClient, headers: dict[str, str], bundle: Any) -> Any:
    data = bundle if isinstance(bundle, bytes) else json.dumps(bundle).encode()
    return client.post(URL, content=data, headers={**headers, "content-type": "application/json"})


def test_an_exported_report_imports_as_a_matching_draft(
    pk: Node, client: TestClient, analyst: dict[str, str]
) -> None:
    created = create(
        client,
        analyst,
        release_to=[],
        tlp="amber+strict",
        report_type="pattern_of_activity",
        period_start="2026-12-01T00:00:00+00:00",
        period_end="2026-12-03T00:00:00+00:00",
    )
    bundle = client.get(f"/api/v1/intel/reports/{created['id']}/stix", headers=analyst).json()
    answer = post(client, analyst, bundle)
    assert answer.status_code == 201, answer.text
    draft = answer.json()
    assert draft["id"] != created["id"] and draft["status"] == "draft"
    for field in ("title", "releasable", "report_type", "tlp", "period_start", "period_end"):
        assert draft[field] == created[field], field
    assert draft["grading"]["reliability"] == "B" and draft["grading"]["credibility"] == "2"
    assert draft["releasable"] == RELEASABLE and draft["body"].startswith(RELEASABLE)
    assert draft["release_to"] == [] and draft["releases"] == []  # a draft: nothing released
    assert "Imported from STIX 2.1 report--" in draft["source_note"]
    assert BODY_SECRET not in answer.text and NOTE_SECRET not in answer.text  # the export never held them
    assert actions(pk, "intel_report.import") == ["intel_report.import"]


def _partner_bundle(**report_changes: Any) -> dict[str, Any]:
    identity = stix2.v21.Identity(name="Partner CERT", identity_class="organization")
    actor = stix2.v21.ThreatActor(name="Jundallah cell", threat_actor_types=["terrorist"], aliases=["JA-7"])
    group = stix2.v21.IntrusionSet(name="Route 180 network")
    indicator = stix2.v21.Indicator(
        name="Courier phone",
        pattern="[x-sarhad-phone:value = '+923001234567']",
        pattern_type="stix",
        valid_from="2026-12-01T00:00:00Z",
        allow_custom=True,
    )
    place = stix2.v21.Location(name="Panjgur crossing", latitude=26.96, longitude=64.09)
    uses = stix2.v21.Relationship(actor, "attributed-to", group)
    seen = stix2.v21.Relationship(actor, "located-at", place)
    fields: dict[str, Any] = {
        "name": "Cell moving fuel and arms",
        "description": "A cell moves arms hidden in fuel tankers.",
        "published": "2026-12-02T00:00:00Z",
        "report_types": ["threat-actor"],
        "created_by_ref": identity.id,
        "object_refs": [actor.id, group.id, indicator.id, place.id, uses.id, seen.id],
        "confidence": 65,
        "object_marking_refs": [stix2.TLP_GREEN.id],
        **report_changes,
    }
    report = stix2.v21.Report(**fields)
    objects = [stix2.TLP_GREEN, identity, actor, group, indicator, place, uses, seen, report]
    parsed: dict[str, Any] = json.loads(stix2.v21.Bundle(objects=objects, allow_custom=True).serialize())
    return parsed


def test_a_partners_bundle_is_summarised_into_the_draft(
    pk: Node, client: TestClient, analyst: dict[str, str]
) -> None:
    answer = post(client, analyst, _partner_bundle())
    assert answer.status_code == 201, answer.text
    draft = answer.json()
    assert draft["title"] == "Cell moving fuel and arms"
    assert draft["releasable"] == "A cell moves arms hidden in fuel tankers."
    assert draft["tlp"] == "green"  # TLP 1.0 green
    # no Admiralty grading in the bundle: reliability left for the analyst, credibility from confidence 65
    assert draft["grading"]["reliability"] == "F" and draft["grading"]["credibility"] == "2"
    body = draft["body"]
    for line in (
        "Threat actors:\n- Jundallah cell (terrorist) — also known as JA-7",
        "Intrusion sets:\n- Route 180 network",
        "- Courier phone — pattern [x-sarhad-phone:value = '+923001234567']",
        "- Panjgur crossing (26.96, 64.09)",
        "- Jundallah cell attributed to Route 180 network",
        "- Jundallah cell located at Panjgur crossing",
        "Identities:\n- Partner CERT (organization)",
    ):
        assert line in body, line
    assert "created by Partner CERT" in draft["source_note"]


def test_the_strictest_tlp_marking_wins(client: TestClient, analyst: dict[str, str]) -> None:
    bundle = _partner_bundle(object_marking_refs=[stix2.TLP_GREEN.id, TLP2_MARKING_IDS["red"]])
    answer = post(client, analyst, bundle)
    assert answer.status_code == 201, answer.text
    assert answer.json()["tlp"] == "red"


@pytest.mark.parametrize(
    ("confidence", "credibility"),
    [(100, "1"), (80, "1"), (79, "2"), (50, "3"), (20, "4"), (0, "5"), (None, "6")],
)
def test_confidence_maps_to_admiralty_credibility(confidence: int | None, credibility: str) -> None:
    assert credibility_of(confidence) == credibility


def _refused(pk: Node, answer: Any, status: int, code: str, before: tuple[int, int, int, int]) -> None:
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code
    assert counts(pk) == before
    assert actions(pk, "intel_report.import") == []


@pytest.mark.parametrize(
    "bundle",
    [
        b"not json",
        b"[1, 2]",
        {"type": "bundle", "id": "bundle--not-a-uuid", "objects": []},
        {
            "type": "bundle",
            "id": "bundle--6b0d3b6f-6a4e-4c7c-9b9e-2f1f0d6c1a11",
            "objects": [{"type": "report"}],
        },
    ],
    ids=["not-json", "not-an-object", "bad-id", "report-missing-properties"],
)
def test_an_invalid_bundle_is_refused_with_nothing_written(
    pk: Node, client: TestClient, analyst: dict[str, str], bundle: Any
) -> None:
    before = counts(pk)
    _refused(pk, post(client, analyst, bundle), 422, "bad_stix", before)


def test_a_bundle_with_a_bad_property_is_refused(
    pk: Node, client: TestClient, analyst: dict[str, str]
) -> None:
    bundle = _partner_bundle()
    report = next(o for o in bundle["objects"] if o["type"] == "report")
    report["published"] = "yesterday"
    before = counts(pk)
    _refused(pk, post(client, analyst, bundle), 422, "bad_stix", before)


def test_a_bundle_without_a_report_is_refused(pk: Node, client: TestClient, analyst: dict[str, str]) -> None:
    bundle = _partner_bundle()
    bundle["objects"] = [o for o in bundle["objects"] if o["type"] != "report"]
    before = counts(pk)
    _refused(pk, post(client, analyst, bundle), 422, "no_stix_report", before)


def test_an_oversize_bundle_is_refused(pk: Node, client: TestClient, analyst: dict[str, str]) -> None:
    bundle = _partner_bundle(description="x" * BUNDLE_MAX_BYTES)
    before = counts(pk)
    _refused(pk, post(client, analyst, bundle), 413, "too_large", before)
    many = _partner_bundle()
    many["objects"] = many["objects"] + [stix2.TLP_GREEN.serialize()] * OBJECTS_MAX
    many["objects"] = [json.loads(o) if isinstance(o, str) else o for o in many["objects"]]
    _refused(pk, post(client, analyst, many), 413, "too_large", before)


@pytest.mark.parametrize("user", ["operator", "trade"])
def test_only_intelligence_writers_import(pk: Node, client: TestClient, user: str) -> None:
    before = counts(pk)
    _refused(pk, post(client, bearer(client, user), _partner_bundle()), 403, "forbidden", before)
