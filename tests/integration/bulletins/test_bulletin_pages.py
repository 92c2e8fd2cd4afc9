"""The bulletin pages, signed in with a session cookie: compose, list, detail, edit, release and withdraw."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bulletin_helpers import PASSWORD, bulletin_row, deliver, nothing_written, outbox
from fastapi.testclient import TestClient

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.app import create_app
from sarhad.core.node import Node
from support.pages import post_login

PAGE = {"Accept": "text/html"}


def sign_in(client: TestClient, username: str) -> None:
    answer = post_login(client, username, PASSWORD)
    assert answer.status_code == 303, answer.text


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def compose_form(token: str, **changes: str | list[str]) -> dict[str, str | list[str]]:
    form: dict[str, str | list[str]] = {
        "csrf_token": token,
        "title": "Flood warning, Mashkel river",
        "body": "Water level rising; fords near the line are unsafe tonight.",
        "place_name": "Mashkel",
        "lat": "28.05",
        "lon": "62.95",
        "valid_from": "2026-11-24T06:00",
        "valid_until": "2026-11-25T06:00",
        "tlp": "green",
        "handling": "no_onward",
        "release_to": ["IR"],
    }
    form.update(changes)
    return form


def test_compose_release_and_follow_the_delivery_on_the_pages(pk: Node, ir: Node) -> None:
    with pk.transaction() as session:
        accounts.create_user(
            session,
            pk.clock,
            SystemActor(),
            username="desk",
            password=PASSWORD,
            roles=["liaison_officer"],
            time_zone="Asia/Karachi",
        )
    with TestClient(create_app(pk, run_workers=False)) as client:
        sign_in(client, "desk")
        form_page = client.get("/bulletins/new", headers=PAGE)
        assert form_page.status_code == 200
        assert 'name="release_to" value="IR"' in form_page.text
        token = csrf(form_page.text)

        answer = client.post("/bulletins/new", data=compose_form(token), headers=PAGE, follow_redirects=False)
        assert answer.status_code == 303, answer.text
        location = answer.headers["location"]
        assert location.startswith("/bulletins/PK/")
        bulletin_id = location.rsplit("/", 1)[1]
        row = bulletin_row(pk, "PK", bulletin_id)
        assert row is not None and row.created_by == "desk" and row.tlp == "green"
        # Typed in the user's zone (Asia/Karachi, UTC+5), stored in UTC.
        assert row.valid_from == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
        assert [r.link for r in outbox(pk)] == ["PK>IR"]

        detail = client.get(location, headers=PAGE)
        assert detail.status_code == 200
        assert "Flood warning, Mashkel river" in detail.text and "queued" in detail.text
        deliver(pk, ir)
        detail = client.get(location, headers=PAGE)
        assert "receipted" in detail.text and "PK&gt;IR #1" in detail.text

        listing = client.get("/bulletins?q=mashkel", headers=PAGE)
        assert listing.status_code == 200
        assert bulletin_id in listing.text and "/api/v1/bulletins?format=csv" in listing.text
        assert (
            client.get("/api/v1/bulletins?format=csv&q=mashkel").status_code == 200
        )  # the export link works

        edit_page = client.get(f"{location}/edit", headers=PAGE)
        assert edit_page.status_code == 200 and 'value="2026-11-24T06:00"' in edit_page.text
        edited = client.post(
            f"{location}/edit",
            data={**compose_form(csrf(edit_page.text), title="Flood warning lifted"), "version": "1"},
            headers=PAGE,
            follow_redirects=False,
        )
        assert edited.status_code == 303, edited.text
        assert [r.record_version for r in outbox(pk, "PK>IR")] == [1, 2]

        withdrawn = client.post(
            f"{location}/withdraw",
            data={"csrf_token": token, "reason": "river fell"},
            headers=PAGE,
            follow_redirects=False,
        )
        assert withdrawn.status_code == 303
        assert "river fell" in client.get(location, headers=PAGE).text


def test_a_refused_form_is_shown_again_with_the_reasons(pk: Node, ir: Node) -> None:
    with TestClient(create_app(pk, run_workers=False)) as client:
        sign_in(client, "liaison")
        token = csrf(client.get("/bulletins/new", headers=PAGE).text)
        for changes, field, words in (
            ({"lat": "95"}, "lat", "A latitude is between -90 and 90 degrees."),
            ({"lat": "north"}, "lat", "Write a number in degrees"),
            ({"title": "x" * 201}, "title", "Too long: at most 200 characters."),
            ({"tlp": "purple"}, "tlp", "Choose one of the options."),
            ({"valid_until": "2026-11-23T06:00"}, "valid_until", "The end must be after the start."),
        ):
            answer = client.post("/bulletins/new", data=compose_form(token, **changes), headers=PAGE)
            assert answer.status_code == 422, (changes, answer.text[:500])
            assert "The bulletin was not saved" in answer.text and words in answer.text, changes
            # next to its field, the field marked, and no model path such as place.lat in the page
            assert f'id="f-{field}" aria-invalid="true" aria-describedby="f-{field}-error"' in answer.text
            assert "place.lat" not in answer.text and "Value error" not in answer.text
            assert "Water level rising" in answer.text  # what was typed is kept
        missing_token = client.post("/bulletins/new", data=compose_form("forged"), follow_redirects=False)
        assert missing_token.status_code == 403 and missing_token.json()["error"]["code"] == "csrf"
    nothing_written(pk)


def test_a_received_bulletin_page_offers_no_editing(pk: Node, ir: Node) -> None:
    with TestClient(create_app(pk, run_workers=False)) as client:
        sign_in(client, "liaison")
        token = csrf(client.get("/bulletins/new", headers=PAGE).text)
        answer = client.post("/bulletins/new", data=compose_form(token), headers=PAGE, follow_redirects=False)
        bulletin_id = answer.headers["location"].rsplit("/", 1)[1]
    deliver(pk, ir)
    with TestClient(create_app(ir, run_workers=False)) as ir_client:
        sign_in(ir_client, "liaison")
        page = ir_client.get(f"/bulletins/PK/{bulletin_id}", headers=PAGE)
        assert page.status_code == 200
        assert "Received from" in page.text and "/edit" not in page.text
        assert "only its originator can release it to others" in page.text
        listing = ir_client.get("/bulletins", headers=PAGE)
        assert 'class="party-badge"' in listing.text and bulletin_id in listing.text
        edit = ir_client.get(f"/bulletins/PK/{bulletin_id}/edit", headers=PAGE)
        assert edit.status_code == 403 and "received from PK" in edit.text
