"""``GET /api/v1/intel/reports/{id}/stix``: a STIX 2.1 bundle that stix2-validator accepts, round-trips through
``stix2.parse``, carries the TLP 2.0 marking of the record's label, and holds nothing above the tearline."""

from __future__ import annotations

import json

import pytest
import stix2
from fastapi.testclient import TestClient
from intel_helpers import BODY_SECRET, NOTE_SECRET, RELEASABLE, SUMMARY_SECRET, actions, create
from stix2validator import ValidationOptions, validate_instance

from sarhad.core.node import Node
from sarhad.intel.stix import TLP2_EXTENSION_ID, TLP2_MARKING_IDS
from support.inprocess import deliver
from support.pairs import bearer


def validated(bundle: dict[str, object]) -> None:
    results = validate_instance(bundle, ValidationOptions(version="2.1", strict=False))
    errors = [str(e) for e in results.errors]
    assert results.is_valid, errors


@pytest.mark.parametrize("tlp", ["clear", "green", "amber", "amber+strict", "red"])
def test_the_stix_bundle_is_valid_and_marked_with_the_records_tlp(
    pk: Node, ir: Node, client: TestClient, analyst: dict[str, str], tlp: str
) -> None:
    created = create(client, analyst, tlp=tlp, period_start="2026-12-01T00:00:00+05:00")
    answer = client.get(f"/api/v1/intel/reports/{created['id']}/stix", headers=analyst)
    assert answer.status_code == 200, answer.text
    bundle = answer.json()
    validated(bundle)
    parsed = stix2.parse(json.dumps(bundle), allow_custom=True)
    assert json.loads(parsed.serialize()) == bundle  # round trip: what was parsed serializes back the same

    by_type = {obj["type"]: obj for obj in bundle["objects"]}
    marking, report = by_type["marking-definition"], by_type["report"]
    assert marking["id"] == TLP2_MARKING_IDS[tlp]
    assert marking["extensions"][TLP2_EXTENSION_ID]["tlp_2_0"] == tlp
    assert report["object_marking_refs"] == [marking["id"]]
    assert report["description"] == RELEASABLE and report["name"] == created["title"]
    assert report["x_sarhad_source_reliability"] == "B" and report["x_sarhad_information_credibility"] == "2"
    assert report["confidence"] == 70  # STIX 2.1 Appendix A: Admiralty credibility 2 → 70
    assert report["created_by_ref"] == by_type["identity"]["id"]
    for secret in (BODY_SECRET, NOTE_SECRET, SUMMARY_SECRET):
        assert secret not in answer.text
    assert actions(pk, "intel_report.export") == ["intel_report.export"]


def test_the_same_report_has_the_same_stix_ids_on_both_nodes(
    pk: Node,
    ir: Node,
    client: TestClient,
    ir_client: TestClient,
    analyst: dict[str, str],
    commander: dict[str, str],
) -> None:
    created = create(client, analyst, credibility="6")
    client.post(f"/api/v1/intel/reports/{created['id']}/approve", headers=commander)
    deliver(pk, ir)
    here = client.get(f"/api/v1/intel/reports/{created['id']}/stix", headers=analyst).json()
    there = ir_client.get(f"/api/v1/intel/reports/{created['id']}/stix", headers=bearer(ir_client, "liaison"))
    assert there.status_code == 200, there.text
    validated(there.json())
    ids = {o["type"]: o["id"] for o in here["objects"]}
    assert {o["type"]: o["id"] for o in there.json()["objects"]} == ids
    report = next(o for o in there.json()["objects"] if o["type"] == "report")
    assert "confidence" not in report  # credibility 6: "cannot be judged" is no confidence at all
