"""Sign-in, tokens, sessions, throttling, CSRF and the audit trail of each."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from sarhad.accounts import services
from sarhad.accounts.actors import SystemActor
from sarhad.app import create_app
from sarhad.audit.models import AuditEntry
from sarhad.core.clock import FixedClock
from sarhad.core.node import Node
from support.pages import post_login

PASSWORD = "correct horse battery"


@pytest.fixture
def client(node: Node) -> TestClient:
    with node.transaction() as session:
        services.create_user(
            session, node.clock, SystemActor(), username="lo", password=PASSWORD, roles=["liaison_officer"]
        )
        services.create_user(
            session, node.clock, SystemActor(), username="aud", password=PASSWORD, roles=["auditor"]
        )
    return TestClient(create_app(node, run_workers=False))


def _token(client: TestClient, username: str = "lo", password: str = PASSWORD) -> str:
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "bearer"
    return str(body["access_token"])


def test_token_grants_access_and_logout_revokes_it(client: TestClient) -> None:
    token = _token(client)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=headers).json()["username"] == "lo"
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    answer = client.get("/api/v1/me", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "token_revoked"


def test_wrong_password_is_refused_and_audited(client: TestClient, node: Node) -> None:
    answer = client.post("/api/v1/auth/token", data={"username": "lo", "password": "not the password"})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "bad_credentials"
    with node.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login")).all()[-1]
    assert (entry.actor, entry.outcome) == ("lo", "failed")


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(client: TestClient) -> None:
    unknown = client.post("/api/v1/auth/token", data={"username": "nobody", "password": "whatever12"})
    wrong = client.post("/api/v1/auth/token", data={"username": "lo", "password": "whatever12"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()


def test_repeated_failures_are_throttled_even_with_the_right_password(client: TestClient, node: Node) -> None:
    for _ in range(node.settings.login_max_failures):
        assert (
            client.post("/api/v1/auth/token", data={"username": "lo", "password": "nope-nope-1"}).status_code
            == 401
        )
    answer = client.post("/api/v1/auth/token", data={"username": "lo", "password": PASSWORD})
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "login_throttled"


def test_expired_token_is_refused(node: Node) -> None:
    clock = FixedClock(node.clock.now())
    node.clock = clock
    with node.transaction() as session:
        services.create_user(
            session, clock, SystemActor(), username="lo", password=PASSWORD, roles=["liaison_officer"]
        )
    client = TestClient(create_app(node, run_workers=False))
    token = _token(client)
    clock.advance(timedelta(minutes=node.settings.token_ttl_minutes, seconds=1))
    answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "token_expired"


def test_disabled_user_cannot_sign_in_and_loses_open_sessions(client: TestClient, node: Node) -> None:
    token = _token(client)
    with node.transaction() as session:
        services.set_disabled(session, node.clock, SystemActor(), "lo", True)
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert client.post("/api/v1/auth/token", data={"username": "lo", "password": PASSWORD}).status_code == 401


def test_page_login_sets_a_strict_httponly_cookie_and_forms_need_the_csrf_token(client: TestClient) -> None:
    answer = post_login(client, "lo", PASSWORD)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    page = client.get("/me")
    assert page.status_code == 200
    forged = client.post("/me/language", data={"language": "fa", "next": "/"}, follow_redirects=False)
    assert forged.status_code == 403
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    ok = client.post(
        "/me/language", data={"language": "fa", "next": "/", "csrf_token": token}, follow_redirects=False
    )
    assert ok.status_code == 303
    assert 'dir="rtl"' in client.get("/me").text


def test_login_redirect_never_leaves_the_site(client: TestClient) -> None:
    answer = post_login(client, "lo", PASSWORD, next="//evil.example/x")
    assert answer.headers["location"] == "/"


def test_audit_log_cannot_be_changed_or_deleted(client: TestClient, node: Node) -> None:
    _token(client)
    with node.engine.connect() as connection:
        for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
            with pytest.raises(DatabaseError, match="append-only"):
                connection.execute(text(statement))
            connection.rollback()


def test_auditor_reads_and_filters_the_audit_log_as_json_and_csv(client: TestClient) -> None:
    client.post("/api/v1/auth/token", data={"username": "lo", "password": "wrong-password"})
    headers = {"Authorization": f"Bearer {_token(client, 'aud')}"}
    failed = client.get("/api/v1/audit", params={"outcome": "failed"}, headers=headers).json()["entries"]
    assert failed and all(e["outcome"] == "failed" for e in failed)
    exported = client.get("/api/v1/audit", params={"format": "csv", "action": "auth."}, headers=headers)
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.splitlines()[0].startswith("id,at,actor,action")
    assert (
        client.get("/api/v1/audit", headers={"Authorization": f"Bearer {_token(client)}"}).status_code == 403
    )


def test_audit_csv_neutralises_formulas_and_writes_details_as_json(client: TestClient) -> None:
    formula = '=HYPERLINK("x")'
    client.post("/api/v1/auth/token", data={"username": formula, "password": "wrong-password"})
    headers = {"Authorization": f"Bearer {_token(client, 'aud')}"}
    answer = client.get("/api/v1/audit", params={"format": "csv"}, headers=headers)
    assert answer.status_code == 200
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    failed = next(row for row in rows if row["action"] == "auth.login" and row["outcome"] == "failed")
    assert (failed["actor"], failed["record_id"]) == ("'" + formula, "'" + formula)
    created = [row for row in rows if row["action"] == "user.create"]
    assert {json.loads(row["details"])["roles"][0] for row in created} == {"liaison_officer", "auditor"}
    assert all(row["details"] == "" or isinstance(json.loads(row["details"]), dict) for row in rows)
