"""The suggested level comes from the last 30 days of incidents in the section (created through the incidents
package's own service); the page shows levels, the pending proposal and the suggestion, and decides."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from impact_helpers import PASSWORD, level_of

from sarhad.accounts.actors import SystemActor
from sarhad.core.node import Node
from sarhad.incidents import writing as incidents
from sarhad.incidents.schemas import IncidentContentIn
from support.inprocess import deliver
from support.pages import post_login

NEAR_TAFTAN = (28.96, 61.59)  # in section S5


def _incident(node: Node, impact_level: str, ago: timedelta) -> str:
    data = IncidentContentIn(
        type="armed_attack",
        occurred_at=node.clock.now() - ago,
        lat=NEAR_TAFTAN[0],
        lon=NEAR_TAFTAN[1],
        description="Exercise: fire exchanged near the post.",
        impact_level=impact_level,
    )
    with node.transaction() as session:
        written = incidents.create_incident(session, node, SystemActor(), data)
        assert written.incident.section_id == "S5"
        return written.incident.id


def test_the_suggestion_counts_only_the_last_30_days_of_incidents_in_the_section(
    pk: Node, ir: Node, pk_client: TestClient, pk_commander: dict[str, str]
) -> None:
    for _ in range(4):
        _incident(pk, "high", timedelta(days=3))
    _incident(pk, "very_high", timedelta(days=31))  # outside the window
    view = level_of(pk_client, pk_commander, "S5")
    assert view["suggested"] == "medium"  # 4 × 6 = 24
    assert "score 24" in view["suggestion_reason"] and "4 incident(s)" in view["suggestion_reason"]
    _incident(pk, "high", timedelta(days=29, hours=23))  # still inside the window: 5 × 6 = 30
    view = level_of(pk_client, pk_commander, "S5")
    assert view["suggested"] == "high" and "score 30" in view["suggestion_reason"]
    assert view["level"] == "low"  # a suggestion changes nothing by itself
    assert level_of(pk_client, pk_commander, "S4")["suggested"] == "low"


def test_the_page_shows_the_pending_proposal_and_the_other_side_accepts_it_there(
    pk: Node, ir: Node, pk_client: TestClient, ir_client: TestClient
) -> None:
    for client in (pk_client, ir_client):
        answer = post_login(client, "commander", PASSWORD)
        assert answer.status_code == 303
    page = pk_client.get("/impact", headers={"Accept": "text/html"})
    assert page.status_code == 200 and 'id="section-S5"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    refused = pk_client.post(
        "/impact/propose", data={"csrf_token": token, "section": "S5", "level": "critical"}
    )
    assert refused.status_code == 422 and "expires_at" in refused.text
    proposed = pk_client.post(
        "/impact/propose",
        follow_redirects=False,
        data={"csrf_token": token, "section": "S5", "level": "high", "reason": "Attacks."},
    )
    assert proposed.status_code == 303
    deliver(pk, ir)
    at_ir = ir_client.get("/impact", headers={"Accept": "text/html"})
    assert "proposed by" in at_ir.text and 'value="accept"' in at_ir.text
    content_hash = re.search(r'name="content_hash" value="([0-9a-f]{64})"', at_ir.text).group(1)  # type: ignore[union-attr]
    ir_token = re.search(r'name="csrf_token" value="([^"]+)"', at_ir.text).group(1)  # type: ignore[union-attr]
    accepted = ir_client.post(
        "/impact/decide",
        follow_redirects=False,
        data={"csrf_token": ir_token, "section": "S5", "content_hash": content_hash, "decision": "accept"},
    )
    assert accepted.status_code == 303
    after = ir_client.get("/impact", headers={"Accept": "text/html"}).text
    row = after.split('id="section-S5"')[1].split("</tr>")[0]
    assert 'class="level level-high"' in row
    history = ir_client.get("/impact/S5", headers={"Accept": "text/html"})
    assert history.status_code == 200 and "Attacks." in history.text and "accept" in history.text
    assert ir_client.get("/impact/S99", headers={"Accept": "text/html"}).status_code == 404
