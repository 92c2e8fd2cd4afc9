"""Issue 15, hole 10: a new version of a released incident crosses the border, so only someone who may release
records makes one. An operator (incidents.write, no records.release) edits an incident while it is unreleased;
once it is released, every change it tries is refused (403 ``release_required``), nothing is written, and the
receiver keeps the version it had. A liaison officer's change still follows the release."""

from __future__ import annotations

from fastapi.testclient import TestClient
from incident_helpers import body, deliver, snapshot_counts

from sarhad.core.node import Node

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_an_operator_cannot_change_a_released_red_incident_and_nothing_crosses(
    client: TestClient,
    liaison: dict[str, str],
    operator: dict[str, str],
    pk: Node,
    ir: Node,
    ir_client: TestClient,
    ir_liaison: dict[str, str],
) -> None:
    created = client.post("/api/v1/incidents", json=body(pk, tlp="red", release_to=["IR"]), headers=liaison)
    assert created.status_code == 201, created.text
    incident_id = created.json()["id"]
    deliver(pk, ir)
    before = snapshot_counts(pk)

    edit = client.put(
        f"/api/v1/incidents/{incident_id}",
        json=body(pk, description="Changed by an operator"),
        headers=operator,
    )
    assert edit.status_code == 403, edit.text
    assert edit.json()["error"]["code"] == "release_required"
    assert "released to IR" in edit.json()["error"]["message"]
    attach = client.post(
        f"/api/v1/incidents/{incident_id}/attachments",
        files={"file": ("photo.png", PNG, "image/png")},
        headers=operator,
    )
    assert attach.status_code == 403 and attach.json()["error"]["code"] == "release_required"
    assert snapshot_counts(pk) == before  # no version, attachment, envelope or audit entry

    deliver(pk, ir)
    held = ir_client.get(f"/api/v1/incidents/PK/{incident_id}", headers=ir_liaison).json()
    assert held["version"] == 1 and held["description"] == body(pk)["description"]

    # Whoever may release records still changes it, and that version follows the release.
    edit = client.put(
        f"/api/v1/incidents/{incident_id}",
        json=body(pk, description="Corrected by the liaison"),
        headers=liaison,
    )
    assert edit.status_code == 200, edit.text
    deliver(pk, ir)
    held = ir_client.get(f"/api/v1/incidents/PK/{incident_id}", headers=ir_liaison).json()
    assert held["version"] == 2 and held["description"] == "Corrected by the liaison"


def test_an_operator_still_edits_an_unreleased_incident(
    client: TestClient, liaison: dict[str, str], operator: dict[str, str], pk: Node
) -> None:
    created = client.post("/api/v1/incidents", json=body(pk, tlp="red"), headers=operator)
    assert created.status_code == 201, created.text
    edit = client.put(
        f"/api/v1/incidents/{created.json()['id']}",
        json=body(pk, description="Seen again at dusk"),
        headers=operator,
    )
    assert edit.status_code == 200, edit.text
    assert edit.json()["version"] == 2
