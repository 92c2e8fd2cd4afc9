"""Bad input and the four-eyes rule: a clear refusal with a stable code, and nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from intel_helpers import REPORT, actions, counts, create

from sarhad.core.node import Node
from support.pairs import bearer


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"reliability": "G"}, "reliability"),
        ({"reliability": "b"}, "reliability"),
        ({"reliability": ""}, "reliability"),
        ({"credibility": "7"}, "credibility"),
        ({"credibility": "0"}, "credibility"),
        ({"credibility": "B"}, "credibility"),
    ],
)
def test_grading_outside_the_admiralty_scales_is_refused(
    pk: Node, ir: Node, client: TestClient, analyst: dict[str, str], change: dict[str, Any], field: str
) -> None:
    before = counts(pk)
    answer = client.post("/api/v1/intel/reports", json={**REPORT, **change}, headers=analyst)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "bad_grading" and error["details"]["field"] == field
    assert counts(pk) == before and actions(pk, "intel_report.") == []


@pytest.mark.parametrize(
    "change",
    [
        {"classification": "secret"},  # an unknown field
        {"body": ""},
        {"releasable": ""},
        {"report_type": "rumour"},
        {"tlp": "purple"},
        {"release_to": ["pk"]},
        {"incidents": ["PK/no-such-incident"]},
        {"sections": ["NO-SUCH-SECTION"]},
        {"period_start": "2026-12-07T10:00:00+00:00", "period_end": "2026-12-06T10:00:00+00:00"},
        {"period_start": "2026-12-07T10:00:00"},  # no time zone
        {"release_to": ["AF"]},  # not a peer
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    pk: Node, ir: Node, client: TestClient, analyst: dict[str, str], change: dict[str, Any]
) -> None:
    before = counts(pk)
    answer = client.post("/api/v1/intel/reports", json={**REPORT, **change}, headers=analyst)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] in {"invalid", "unknown_incident", "unknown_section", "bad_request"}
    assert counts(pk) == before and actions(pk, "intel_report.") == []


def test_the_author_can_never_approve_their_own_report(
    pk: Node, ir: Node, client: TestClient, commander: dict[str, str]
) -> None:
    created = create(client, commander)  # a commander may write and approve, but not both for one report
    before = counts(pk)
    answer = client.post(f"/api/v1/intel/reports/{created['id']}/approve", headers=commander)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "own_approval"
    assert counts(pk) == before
    assert actions(pk, "intel_report.") == ["intel_report.create"]
    detail = client.get(f"/api/v1/intel/reports/{created['id']}", headers=commander).json()
    assert (detail["status"], detail["approved_by"], detail["releases"]) == ("draft", None, [])


def test_an_unapproved_report_is_not_released(
    pk: Node, ir: Node, client: TestClient, analyst: dict[str, str], commander: dict[str, str]
) -> None:
    created = create(client, analyst)
    before = counts(pk)
    answer = client.post(
        f"/api/v1/intel/reports/{created['id']}/release", json={"to": ["IR"]}, headers=commander
    )
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "not_approved"
    assert counts(pk) == before
    assert "intel_report.release" not in actions(pk, "intel_report.")


def test_a_report_is_approved_once(
    pk: Node, ir: Node, client: TestClient, analyst: dict[str, str], commander: dict[str, str]
) -> None:
    created = create(client, analyst, release_to=[])
    first = client.post(f"/api/v1/intel/reports/{created['id']}/approve", headers=commander)
    assert first.status_code == 200 and first.json()["status"] == "approved"  # approved, released nowhere yet
    before = counts(pk)
    again = client.post(
        f"/api/v1/intel/reports/{created['id']}/approve", headers=bearer(client, "commander2")
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_draft"
    assert counts(pk) == before
    released = client.post(
        f"/api/v1/intel/reports/{created['id']}/release", json={"to": ["IR"]}, headers=commander
    )
    assert released.status_code == 200 and released.json()["status"] == "released"


@pytest.mark.parametrize("username", ["operator", "trade"])
def test_an_operator_or_trade_officer_sees_no_intelligence(
    pk: Node, ir: Node, client: TestClient, analyst: dict[str, str], username: str
) -> None:
    created = create(client, analyst)
    headers = bearer(client, username)
    for method, path in (
        ("GET", "/api/v1/intel/reports"),
        ("GET", f"/api/v1/intel/reports/{created['id']}"),
        ("GET", f"/api/v1/intel/reports/{created['id']}/stix"),
        ("POST", f"/api/v1/intel/reports/{created['id']}/approve"),
    ):
        answer = client.request(method, path, headers=headers)
        assert answer.status_code == 403, (path, answer.text)
    assert actions(pk, "intel_report.read") == []


def test_an_analyst_writes_but_cannot_approve(
    pk: Node, ir: Node, client: TestClient, analyst: dict[str, str], commander: dict[str, str]
) -> None:
    created = create(client, commander)
    answer = client.post(f"/api/v1/intel/reports/{created['id']}/approve", headers=analyst)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"
