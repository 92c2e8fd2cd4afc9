"""The intelligence pages, signed in with a session cookie: the form (every problem at once), the list, the
report page with its grading in words and the tearline, the approve button, and what IR's page shows."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from intel_helpers import BODY_SECRET, NOTE_SECRET, RELEASABLE, counts

from sarhad.app import create_app
from sarhad.core.node import Node
from support.inprocess import deliver
from support.pages import post_login
from support.pairs import PASSWORD


def app(node: Node) -> TestClient:
    return TestClient(create_app(node, run_workers=False))


def sign_in(client: TestClient, username: str) -> TestClient:
    client.cookies.clear()
    answer = post_login(client, username, PASSWORD)
    assert answer.status_code == 303, answer.text
    return client


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def form(token: str, **changes: str | list[str]) -> dict[str, str | list[str]]:
    values: dict[str, str | list[str]] = {
        "csrf_token": token,
        "title": "Courier route through Mashkel",
        "report_type": "pattern_of_activity",
        "reliability": "C",
        "credibility": "3",
        "summary": "",
        "body": BODY_SECRET,
        "releasable": RELEASABLE,
        "period_start": "2026-12-01T00:00",
        "period_end": "",
        "source_note": NOTE_SECRET,
        "tlp": "amber",
        "release_to": ["IR"],
    }
    values.update(changes)
    return values


def test_write_approve_and_read_a_report_on_the_pages(pk: Node, ir: Node) -> None:
    with app(pk) as client:
        analyst = sign_in(client, "analyst")
        page = analyst.get("/intel/new")
        assert page.status_code == 200
        before = counts(pk)
        refused = analyst.post(
            "/intel/new",
            data=form(csrf(page.text), title="", releasable="", reliability="Z", credibility="9"),
        )
        assert refused.status_code == 422
        summary = refused.text.split('id="error-summary"', 1)[1].split("</div>", 1)[0]
        for field in ("title", "releasable", "reliability", "credibility"):  # all at once
            assert f'href="#f-{field}"' in summary, field
        assert counts(pk) == before

        saved = analyst.post("/intel/new", data=form(csrf(page.text)), follow_redirects=False)
        assert saved.status_code == 303, saved.text
        path = saved.headers["location"]
        own = analyst.get(path).text
        assert "Waiting for approval: the author of a report cannot approve it." in own
        assert "/approve" not in own  # no button for the author

        commander = sign_in(client, "commander")
        shown = commander.get(path)
        assert "C3" in shown.text and "fairly reliable, possibly true" in shown.text
        assert NOTE_SECRET in shown.text and "Tearline" in shown.text
        approved = commander.post(
            f"{path}/approve", data={"csrf_token": csrf(shown.text)}, follow_redirects=False
        )
        assert approved.status_code == 303
        assert "Not released" not in commander.get(path).text

        listed = commander.get("/intel?reliability=C&report_type=pattern_of_activity")
        assert "Courier route through Mashkel" in listed.text
        assert "Courier route" not in commander.get("/intel?reliability=A").text

    deliver(pk, ir)
    with app(ir) as client:
        liaison = sign_in(client, "liaison")
        listed = liaison.get("/intel")
        link = re.search(r'href="(/intel/PK/[^"]+)"', listed.text)
        assert link, listed.text
        page = liaison.get(link.group(1))
        assert RELEASABLE in page.text and "fairly reliable, possibly true" in page.text
        assert BODY_SECRET not in page.text and NOTE_SECRET not in page.text


def test_the_navigation_shows_intelligence_only_to_roles_that_read_it(pk: Node, ir: Node) -> None:
    with app(pk) as client:
        assert 'href="/intel"' in sign_in(client, "analyst").get("/").text
        for username in ("operator", "trade"):
            sign_in(client, username)
            assert 'href="/intel"' not in client.get("/").text
            assert client.get("/intel").status_code == 403
