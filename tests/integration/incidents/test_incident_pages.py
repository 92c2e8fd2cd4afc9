"""The incident pages on PK: the picture with filters and list, the form (refusals shown on the form), the
detail with history and workflow, the daily report (page and PDF) and the statistics."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from incident_helpers import PASSWORD, body, deliver

from sarhad.core.node import Node
from sarhad.incidents import reports
from support.pages import post_login


def sign_in(client: TestClient, username: str = "liaison") -> str:
    answer = post_login(client, username, PASSWORD)
    assert answer.status_code in (302, 303), answer.text
    home = client.get("/incidents")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/incidents/new").text)
    assert token, home.text[:500]
    return token.group(1)


def test_form_creates_an_incident_and_the_picture_lists_it(
    client: TestClient, liaison: dict[str, str], pk: Node
) -> None:
    csrf = sign_in(client)
    occurred = (pk.clock.now() - timedelta(hours=3)).astimezone().strftime("%Y-%m-%dT%H:%M")
    form = {
        "csrf_token": csrf,
        "type": "fuel_smuggling",
        "occurred_at": occurred,
        "lat": "28.95",
        "lon": "61.70",
        "description": "Pickup with 40 jerrycans of diesel stopped near Taftan",
        "impact_level": "low",
        "seizures": "diesel; 800; l",
        "casualty_security_injured": "1",
        "persons_apprehended": "1",
        "source_reliability": "A",
        "info_credibility": "1",
        "exercise": "1",
    }
    answer = client.post("/incidents/new", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    detail = client.get(answer.headers["location"])
    assert detail.status_code == 200
    assert "S5" in detail.text and "EXERCISE" in detail.text and "<bdi>diesel</bdi> 800 l" in detail.text
    picture = client.get("/incidents?days=7&type=fuel_smuggling")
    assert picture.status_code == 200
    assert 'id="picture-config"' in picture.text and "incidents-map.js" in picture.text
    assert answer.headers["location"].split("/")[-1] in picture.text
    empty = client.get("/incidents?days=7&type=kidnapping")
    assert "No incidents match." in empty.text


def test_form_refusal_is_shown_with_the_reason_and_nothing_is_saved(
    client: TestClient, liaison: dict[str, str], pk: Node
) -> None:
    csrf = sign_in(client)
    future = (pk.clock.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    form = {
        "csrf_token": csrf,
        "type": "kidnapping",
        "occurred_at": future,
        "lat": "28.95",
        "lon": "61.70",
        "description": "x",
        "impact_level": "high",
    }
    answer = client.post("/incidents/new", data=form)
    assert answer.status_code == 422 and "future" in answer.text
    assert client.get("/api/v1/incidents", headers=liaison).json() == []


def test_detail_shows_history_and_workflow_buttons(
    client: TestClient, liaison: dict[str, str], pk: Node
) -> None:
    created = client.post("/api/v1/incidents", json=body(pk), headers=liaison).json()
    csrf = sign_in(client)
    url = f"/incidents/PK/{created['id']}"
    moved = client.post(
        f"{url}/transition", data={"csrf_token": csrf, "action": "validate"}, follow_redirects=False
    )
    assert moved.status_code == 303
    page = client.get(url)
    assert "validated" in page.text and "History" in page.text
    assert page.text.count('<tr><td data-label="Version">') >= 2  # two versions in the history table


def test_daily_report_page_json_and_pdf(client: TestClient, liaison: dict[str, str], pk: Node) -> None:
    client.post("/api/v1/incidents", json=body(pk, impact_level="very_high"), headers=liaison)
    client.post(
        "/api/v1/incidents",
        json=body(pk, type="armed_attack", casualties={"security_killed": 1}, description="حمله به پاسگاه"),
        headers=liaison,
    )
    day = (pk.clock.now() - timedelta(hours=2)).astimezone(reports.node_zone(pk)).date().isoformat()
    report = client.get(f"/api/v1/incidents/reports/daily?day={day}", headers=liaison).json()
    assert report["total"] == 2
    assert report["by_type"] == {"armed_attack": 1, "drug_smuggling": 1}
    assert report["by_section"] == {"S5": 2}
    assert {n["type"] for n in report["notable"]} == {"armed_attack", "drug_smuggling"}
    pdf = client.get(f"/api/v1/incidents/reports/daily?day={day}&format=pdf", headers=liaison)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    sign_in(client)
    page = client.get(f"/incidents/reports/daily?day={day}")
    assert page.status_code == 200 and 'id="report-total">2<' in page.text
    stats = client.get("/incidents/reports/statistics")
    assert stats.status_code == 200 and 'class="chart-data"' in stats.text
    # one chart per seizure unit, and the figures table as the fallback without JavaScript
    assert 'id="chart-seizures-kg"' in stats.text and "kilograms" in stats.text
    assert "<table" in stats.text.split('id="chart-per-section-week"')[1].split("</figure>")[0]
    numbers = client.get("/api/v1/incidents/reports/statistics?weeks=4", headers=liaison).json()
    assert sum(sum(v) for v in numbers["incidents_per_section_week"].values()) == 2
    assert numbers["seizures_per_month"]["hashish (kg)"][-1] >= 120


def test_received_incident_page_offers_no_edit_or_workflow(
    client: TestClient, liaison: dict[str, str], pk: Node, ir: Node, ir_client: TestClient
) -> None:
    created = client.post("/api/v1/incidents", json=body(pk, release_to=["IR"]), headers=liaison).json()
    deliver(pk, ir)
    csrf = sign_in(ir_client)
    page = ir_client.get(f"/incidents/PK/{created['id']}")
    assert page.status_code == 200 and "Received from PK" in page.text
    assert f"/incidents/PK/{created['id']}/edit" not in page.text and "/transition" not in page.text
    refused = ir_client.post(
        f"/incidents/PK/{created['id']}/transition", data={"csrf_token": csrf, "action": "close"}
    )
    assert refused.status_code == 403
    picture = ir_client.get("/incidents?origin=PK")
    assert f'data-key="PK/{created["id"]}"' in picture.text and "origin-badge received" in picture.text


def test_release_form_sends_the_incident(
    client: TestClient, liaison: dict[str, str], pk: Node, ir: Node
) -> None:
    created = client.post("/api/v1/incidents", json=body(pk), headers=liaison).json()
    csrf = sign_in(client)
    answer = client.post(
        f"/incidents/PK/{created['id']}/release",
        data={"csrf_token": csrf, "to": "IR"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    got = client.get(f"/api/v1/incidents/PK/{created['id']}", headers=liaison).json()
    assert [r["party"] for r in got["releases"]] == ["IR"]
