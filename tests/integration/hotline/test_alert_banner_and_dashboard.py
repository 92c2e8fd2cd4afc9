"""The layout's alert banner (FLASH and IMMEDIATE messages waiting for the viewer's positions, on every page),
the home dashboard's panels per role, and the navigation per role."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from hotline_helpers import PASSWORD, audit_actions, deliver, token

from sarhad.core.node import Node
from sarhad.incidents.models import Incident
from support.pages import post_login


def sign_in(client: TestClient, username: str) -> None:
    client.cookies.clear()
    answer = post_login(client, username, PASSWORD)
    assert answer.status_code == 303, answer.text


def send(client: TestClient, headers: dict[str, str], precedence: str, subject: str) -> str:
    body = {"to_position": "IR-S1-CDR", "precedence": precedence, "subject": subject, "body": "At pillar 12."}
    answer = client.post("/api/v1/hotline/messages", json=body, headers=headers)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def banner_items(html: str) -> list[tuple[str, str]]:
    """(precedence, message id) of each banner item, in page order."""
    return re.findall(
        r'class="urgent-alert[^"]*"[^>]*\s+data-message="([^"]+)" data-precedence="([^"]+)"', html
    )


def nav_paths(html: str) -> list[str]:
    nav = html.split('id="mainnav"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="([^"]+)"', nav)


def test_the_banner_shows_urgent_messages_waiting_for_the_viewer_on_every_page_until_acknowledged(
    pk: Node, ir: Node, pk_client: TestClient, ir_client: TestClient
) -> None:
    pk_cmd = token(pk_client, "commander")
    immediate = send(pk_client, pk_cmd, "IMMEDIATE", "Vehicles massing")
    flash = send(pk_client, pk_cmd, "FLASH", "Armed group crossing")
    send(pk_client, pk_cmd, "PRIORITY", "Weekly figures")
    deliver(pk, ir)

    sign_in(ir_client, "commander")
    for path in ("/bulletins", "/incidents", "/me", "/"):
        page = ir_client.get(path)
        assert page.status_code == 200
        # FLASH first, then IMMEDIATE; a PRIORITY message is no alert
        assert [(m, p) for m, p in banner_items(page.text)] == [(flash, "FLASH"), (immediate, "IMMEDIATE")], (
            path
        )
        assert 'data-count="2" data-flash="1"' in page.text
        assert 'src="/static/alerts.js"' in page.text and "<script>" not in page.text
    fragment = ir_client.get("/alerts/banner")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert [m for m, _ in banner_items(fragment.text)] == [flash, immediate]

    # the banner's no-JavaScript form acknowledges through the hotline (CSRF token in the form)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', fragment.text)
    assert csrf
    refused = ir_client.post(
        f"/hotline/messages/{flash}/ack", data={"next": "/bulletins"}, follow_redirects=False
    )
    assert refused.status_code == 403  # no CSRF token: refused, nothing acknowledged
    assert [m for m, _ in banner_items(ir_client.get("/alerts/banner").text)] == [flash, immediate]
    done = ir_client.post(
        f"/hotline/messages/{flash}/ack",
        data={"csrf_token": csrf.group(1), "next": "/bulletins"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert [m for m, _ in banner_items(ir_client.get("/bulletins").text)] == [immediate]
    # the script's way: the hotline API with the X-CSRF-Token header
    answer = ir_client.post(
        f"/api/v1/hotline/messages/{immediate}/ack", json={}, headers={"X-CSRF-Token": csrf.group(1)}
    )
    assert answer.status_code == 200, answer.text
    quiet = ir_client.get("/bulletins").text
    assert banner_items(quiet) == [] and 'data-count="0"' in quiet
    assert re.search(r'<section id="alerts"[^>]*\bhidden>', quiet)

    # not for those who hold none of the addressed positions, nor for those who may not read the hotline
    send(pk_client, pk_cmd, "FLASH", "Second crossing")
    deliver(pk, ir)
    for username in ("deputy", "operator", "admin"):
        sign_in(ir_client, username)
        page = ir_client.get("/bulletins").text
        assert banner_items(page) == [], username
    assert "data-live-after" not in ir_client.get("/bulletins").text  # the admin opens no stream


def test_the_dashboard_shows_each_role_only_its_panels_and_the_navigation_what_it_may_use(
    pk: Node, ir: Node, pk_client: TestClient, ir_client: TestClient
) -> None:
    pk_cmd = token(pk_client, "commander")
    send(pk_client, pk_cmd, "PRIORITY", "Weekly figures")
    deliver(pk, ir)

    sign_in(ir_client, "commander")
    reads = len(audit_actions(ir, "hotline.list"))
    home = ir_client.get("/").text
    for panel in ("messages", "requests", "incidents"):
        assert f'id="panel-{panel}"' in home, panel
    assert 'id="panel-links"' not in home and 'id="panel-alerts"' not in home  # no exchange.read
    assert "Weekly figures" in home  # every unacknowledged message for the positions held, not only urgent
    assert len(audit_actions(ir, "hotline.list")) == reads + 1  # received records listed: audited
    assert nav_paths(home)[:2] == ["/hotline", "/incidents"]
    assert "/hotline/admin" not in nav_paths(home) and "/users" not in nav_paths(home)

    sign_in(ir_client, "admin")
    home = ir_client.get("/").text
    assert 'id="panel-links"' in home and 'id="panel-alerts"' in home
    assert 'data-peer="PK"' in home and "data-link-state=" in home
    for panel in ("messages", "requests", "incidents"):
        assert f'id="panel-{panel}"' not in home, panel
    paths = nav_paths(home)
    assert "/hotline/admin" in paths and "/hotline" not in paths  # the hotline's settings, no inbox
    assert "/incidents" not in paths and "/users" in paths and "/exchange" in paths
    assert ir_client.get("/hotline/admin").status_code == 200

    sign_in(ir_client, "operator")  # holds no position: the messages panel says why it is empty
    home = ir_client.get("/").text
    assert 'id="panel-messages"' in home and "You hold no position" in home
    assert 'id="panel-requests"' in home and 'id="panel-links"' not in home


def test_todays_incidents_on_the_dashboard_are_those_of_the_sections_of_the_positions_held(
    pk: Node, ir: Node, pk_client: TestClient
) -> None:
    from sarhad.accounts import services as accounts
    from sarhad.accounts.actors import SystemActor

    commander = token(pk_client, "commander")
    occurred = (pk.clock.now() - timedelta(minutes=5)).isoformat()
    body = {
        "type": "drug_smuggling",
        "occurred_at": occurred,
        "lat": 28.95,  # a few km east of Taftan, on Pakistan's side
        "lon": 61.70,
        "description": "Vehicle intercepted east of Taftan.",
        "impact_level": "medium",
        "source_reliability": "B",
        "info_credibility": "2",
    }
    created = pk_client.post("/api/v1/incidents", json=body, headers=commander)
    assert created.status_code == 201, created.text
    incident_id = created.json()["id"]
    with pk.transaction() as session:
        # these nodes have no border line to place it by: it is put in section S5 as placement would
        session.get(Incident, ("PK", incident_id)).section_id = "S5"  # type: ignore[union-attr]
        # the deputy takes the duty of section S1 only
        accounts.assign_position(session, pk.clock, SystemActor(), position_id="PK-S1-CDR", username="deputy")

    sign_in(pk_client, "deputy")
    home = pk_client.get("/").text
    panel = home.split('id="panel-incidents"', 1)[1].split("</section>", 1)[0]
    assert "S1" in panel and 'data-incident="' not in panel  # S5's incident is not in S1

    sign_in(pk_client, "commander")  # holds every section's commander position
    panel = pk_client.get("/").text.split('id="panel-incidents"', 1)[1].split("</section>", 1)[0]
    assert f'data-incident="PK/{incident_id}"' in panel
