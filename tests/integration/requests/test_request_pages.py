"""The request pages, signed in with a session cookie: create from an incident, the list with the overdue row
highlighted, the detail with its answer form, and a late answer refused on the page without its reason."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from request_helpers import PASSWORD, create_incident, snapshot
from sqlalchemy import select

from sarhad.audit.models import AuditEntry
from sarhad.core.clock import FixedClock
from sarhad.core.node import Node
from support.inprocess import deliver
from support.pages import post_login

PAGE = {"Accept": "text/html"}


def sign_in(client: TestClient, username: str) -> None:
    answer = post_login(client, username, PASSWORD)
    assert answer.status_code == 303, answer.text


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def test_a_request_made_on_the_page_is_overdue_on_both_lists_and_answered_late_with_its_reason(
    pk: Node, ir: Node, clock: FixedClock, pk_client: TestClient, ir_client: TestClient
) -> None:
    incident_id = create_incident(pk, release_to=("IR",))
    deliver(pk, ir)
    sign_in(ir_client, "liaison")
    form = ir_client.get(f"/requests/new?incident=PK/{incident_id}", headers=PAGE)
    assert form.status_code == 200 and f'value="PK/{incident_id}" selected' in form.text
    assert 'name="incident_id"' not in form.text  # the incident is chosen, never typed
    with ir.sessions() as session:  # PK's incident named in the choice: a list read of received records
        listed = session.scalars(select(AuditEntry).where(AuditEntry.action == "incident.list")).all()
    assert any(f"PK/{incident_id}" in entry.details["records"] for entry in listed)
    token = csrf(form.text)
    refused = ir_client.post(
        "/requests/new",
        headers=PAGE,
        data={
            "csrf_token": token,
            "to": "PK",
            "incident_origin": "PK",
            "incident_id": incident_id,
            "kind": "action",
            "action": "",
            "deadline": "urgent",
            "text": "Search the area.",
        },
    )
    assert refused.status_code == 422 and "Choose the action you ask for." in refused.text
    created = ir_client.post(
        "/requests/new",
        headers=PAGE,
        follow_redirects=False,
        data={
            "csrf_token": token,
            "to": "PK",
            "incident": f"PK/{incident_id}",
            "kind": "action",
            "action": "search",
            "deadline": "urgent",
            "text": "Search the area east of the crossing.",
        },
    )
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    deliver(ir, pk)

    clock.advance(timedelta(hours=8, minutes=5))
    sign_in(pk_client, "liaison")
    sign_in(ir_client, "liaison")
    for client in (pk_client, ir_client):
        listing = client.get("/requests", headers=PAGE)
        assert listing.status_code == 200
        assert '<tr class="overdue"' in listing.text and "Search the area east" in listing.text

    detail = pk_client.get(location, headers=PAGE)
    assert detail.status_code == 200 and "Answer this request" in detail.text and "required" in detail.text
    before = snapshot(pk)
    no_reason = pk_client.post(
        f"{location}/answer",
        headers=PAGE,
        data={"csrf_token": csrf(detail.text), "answer": "Area searched, nothing found."},
    )
    assert no_reason.status_code == 422
    assert "The deadline has passed: say why the answer is late." in no_reason.text
    assert 'id="f-late_reason" aria-invalid="true" aria-describedby="f-late_reason-error"' in no_reason.text
    assert "Area searched, nothing found." in no_reason.text  # what was typed is kept
    assert snapshot(pk) == before
    answered = pk_client.post(
        f"{location}/answer",
        headers=PAGE,
        follow_redirects=False,
        data={
            "csrf_token": csrf(detail.text),
            "answer": "Area searched, nothing found.",
            "late_reason": "Night patrols only; searched at first light.",
        },
    )
    assert answered.status_code == 303
    deliver(pk, ir)
    at_ir = ir_client.get(location, headers=PAGE)
    assert "Night patrols only; searched at first light." in at_ir.text
    assert "answered late" in at_ir.text and "Withdraw request" not in at_ir.text
    assert '<tr class="overdue"' not in ir_client.get("/requests", headers=PAGE).text
    csv = ir_client.get("/api/v1/requests?format=csv", headers=PAGE)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert "Night patrols only" in csv.text and csv.text.splitlines()[0].startswith("origin,id,direction")


def test_an_own_open_request_is_edited_on_its_page_and_a_received_one_shows_no_edit_form(
    pk: Node, ir: Node, pk_client: TestClient, ir_client: TestClient
) -> None:
    incident_id = create_incident(pk)
    sign_in(pk_client, "liaison")
    token = csrf(pk_client.get("/requests/new", headers=PAGE).text)
    created = pk_client.post(
        "/requests/new",
        headers=PAGE,
        follow_redirects=False,
        data={
            "csrf_token": token,
            "to": "IR",
            "incident_origin": "PK",
            "incident_id": incident_id,
            "kind": "information",
            "deadline": "7d",
            "text": "Who owns the vehicle?",
        },
    )
    location = created.headers["location"]
    page = pk_client.get(location, headers=PAGE)
    assert "Edit (new version)" in page.text
    past = pk_client.post(
        f"{location}/edit",
        headers=PAGE,
        data={
            "csrf_token": token,
            "text": "x",
            "deadline": "set",
            "deadline_at": "2020-01-01T10:00",
            "version": "1",
        },
    )
    assert past.status_code == 422 and "The deadline must be in the future." in past.text
    assert "2020-01-01T" not in past.text  # no machine time in the message
    edited = pk_client.post(
        f"{location}/edit",
        headers=PAGE,
        follow_redirects=False,
        data={
            "csrf_token": token,
            "text": "Who owns and who drove the vehicle?",
            "deadline": "",
            "version": "1",
        },
    )
    assert edited.status_code == 303
    deliver(pk, ir)
    sign_in(ir_client, "liaison")
    at_ir = ir_client.get(location, headers=PAGE).text
    assert "Who owns and who drove the vehicle?" in at_ir
    assert "Edit (new version)" not in at_ir and "cannot be edited" in at_ir
    ir_token = csrf(at_ir)
    refused = ir_client.post(
        f"{location}/edit", headers=PAGE, data={"csrf_token": ir_token, "text": "changed"}
    )
    assert refused.status_code == 422 and "never edited here" in refused.text
