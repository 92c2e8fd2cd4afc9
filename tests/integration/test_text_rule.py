"""Issue 15, hole 11: a NUL character (U+0000) is refused in any text the node takes in — JSON, query, path and
form values, API and pages alike — with 422 naming the field, and nothing is written (PostgreSQL cannot store
one; without the rule it answered 500 there and stored it on SQLite)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.bulletins.models import Bulletin
from sarhad.core.node import Node

PASSWORD = "correct horse battery"


def _liaison(node: Node, client: TestClient) -> dict[str, str]:
    with node.transaction() as session:
        accounts.create_user(
            session,
            node.clock,
            SystemActor(),
            username="liaison",
            password=PASSWORD,
            roles=["liaison_officer"],
        )
    answer = client.post("/api/v1/auth/token", data={"username": "liaison", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _bulletins(node: Node) -> int:
    with node.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Bulletin)) or 0)


def test_a_nul_in_json_query_path_or_form_is_refused_naming_the_field(
    node: Node, app_client: TestClient
) -> None:
    headers = _liaison(node, app_client)
    answer = app_client.post(
        "/api/v1/bulletins",
        json={"title": "Road\x00closed", "body": "Closed for repairs.", "tlp": "amber"},
        headers=headers,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid"
    assert answer.json()["error"]["details"]["field"] == "title"
    nested = app_client.post(
        "/api/v1/bulletins",
        json={"title": "Road", "body": "Closed.", "place": {"name": "Taf\x00tan"}, "tlp": "amber"},
        headers=headers,
    )
    assert nested.status_code == 422 and nested.json()["error"]["details"]["field"] == "place.name"
    assert _bulletins(node) == 0

    query = app_client.get("/api/v1/bulletins?q=a%00b", headers=headers)
    assert query.status_code == 422 and query.json()["error"]["details"]["field"] == "q"
    path = app_client.get("/api/v1/bulletins/PK/ab%00cd", headers=headers)
    assert path.status_code == 422 and path.json()["error"]["details"]["field"] == "bulletin_id", path.text

    form = app_client.post("/login", data={"username": "liaison\x00", "password": PASSWORD})
    assert form.status_code == 422

    # the escaped backslash is text, not a NUL: accepted
    fine = app_client.post(
        "/api/v1/bulletins",
        json={"title": "Path C:\\u0000", "body": "A backslash and u0000, literally.", "tlp": "amber"},
        headers=headers,
    )
    assert fine.status_code == 201, fine.text
    assert _bulletins(node) == 1


def test_an_incident_before_1900_is_refused_at_the_api(node: Node, app_client: TestClient) -> None:
    headers = _liaison(node, app_client)
    occurred = (node.clock.now() - timedelta(hours=1)).replace(year=1899)
    answer = app_client.post(
        "/api/v1/incidents",
        json={
            "type": "drug_smuggling",
            "occurred_at": occurred.isoformat(),
            "lat": 28.95,
            "lon": 61.70,
            "description": "Typed with the wrong century.",
            "impact_level": "low",
        },
        headers=headers,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["details"]["field"] == "occurred_at"
