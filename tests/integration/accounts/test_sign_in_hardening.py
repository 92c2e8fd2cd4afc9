"""Sign-in hardening: the sign-in form needs its pre-session CSRF token (login CSRF), and the throttle counts
failures per client address and username, so nobody can lock the owner out from elsewhere; refusals are
audited."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from sarhad.accounts import login_csrf, services
from sarhad.accounts.actors import SystemActor
from sarhad.app import create_app
from sarhad.audit.models import AuditEntry
from sarhad.core.node import Node
from support.pages import login_form_token, post_login

PASSWORD = "correct horse battery"
WRONG = "not the password at all"


@pytest.fixture
def app(node: Node) -> FastAPI:
    with node.transaction() as session:
        for username in ("lo", "other"):
            services.create_user(
                session,
                node.clock,
                SystemActor(),
                username=username,
                password=PASSWORD,
                roles=["liaison_officer"],
            )
    return create_app(node, run_workers=False)


def from_address(app: FastAPI, address: str) -> TestClient:
    return TestClient(app, client=(address, 40000))


def denied(node: Node, reason: str) -> list[AuditEntry]:
    with node.sessions() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "auth.login", AuditEntry.outcome == "denied")
        ).all()
    return [e for e in entries if e.details.get("reason") == reason]


# --- login CSRF ------------------------------------------------------------------------------------------


def test_a_sign_in_post_without_the_forms_token_is_refused_and_signs_nobody_in(
    app: FastAPI, node: Node
) -> None:
    client = from_address(app, "10.0.0.1")
    answer = client.post("/login", data={"username": "lo", "password": PASSWORD}, follow_redirects=False)
    assert answer.status_code == 403
    assert "sarhad_session" not in answer.headers.get("set-cookie", "")
    assert client.get("/api/v1/me").status_code == 401  # still signed out
    assert [(e.actor, e.client_ip) for e in denied(node, "csrf")] == [("lo", "10.0.0.1")]


def test_another_sites_post_carries_no_cookie_and_is_refused(app: FastAPI) -> None:
    attacker = from_address(app, "10.0.0.2")
    token = login_form_token(attacker)  # the attacker's own valid token, planted in a cross-site form
    victim = from_address(app, "10.0.0.3")  # the victim's browser does not send the attacker's cookie
    answer = victim.post(
        "/login", data={"username": "lo", "password": PASSWORD, "csrf_token": token}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert "sarhad_session" not in answer.headers.get("set-cookie", "")


def test_a_token_not_minted_by_this_node_is_refused(app: FastAPI, node: Node) -> None:
    client = from_address(app, "10.0.0.4")
    forged = login_csrf.new_token("some other key that the attacker knows")
    client.cookies.set(login_csrf.COOKIE, forged, path="/login")
    answer = client.post(
        "/login", data={"username": "lo", "password": PASSWORD, "csrf_token": forged}, follow_redirects=False
    )
    assert answer.status_code == 403


def test_the_page_form_signs_in_and_drops_the_pre_session_cookie(app: FastAPI) -> None:
    client = from_address(app, "10.0.0.5")
    answer = post_login(client, "lo", PASSWORD)
    assert answer.status_code == 303
    cookies = answer.headers.get_list("set-cookie")
    assert any(c.startswith("sarhad_session=") for c in cookies)
    assert any(c.startswith(f"{login_csrf.COOKIE}=") and "Max-Age=0" in c for c in cookies)
    assert client.get("/me").status_code == 200


def test_a_token_expires() -> None:
    token = login_csrf.new_token("key", now=1_000_000)
    assert login_csrf.valid("key", token, token, now=1_000_000 + login_csrf.MAX_AGE_SECONDS)
    assert not login_csrf.valid("key", token, token, now=1_000_001 + login_csrf.MAX_AGE_SECONDS)
    assert not login_csrf.valid("other key", token, token, now=1_000_000)


# --- the throttle --------------------------------------------------------------------------------------


def fail(client: TestClient, username: str, times: int) -> None:
    for _ in range(times):
        answer = client.post("/api/v1/auth/token", data={"username": username, "password": WRONG})
        assert answer.status_code == 401, answer.text


def sign_in(client: TestClient, username: str = "lo") -> int:
    return client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD}).status_code


def test_failures_from_elsewhere_do_not_lock_the_owner_out(app: FastAPI, node: Node) -> None:
    attacker, owner = from_address(app, "203.0.113.9"), from_address(app, "10.1.1.1")
    fail(attacker, "lo", node.settings.login_max_failures)
    answer = attacker.post("/api/v1/auth/token", data={"username": "lo", "password": PASSWORD})
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "login_throttled"
    assert sign_in(owner) == 200  # the owner, from their own address, is not locked out
    assert sign_in(attacker, "other") == 200  # the same address may still sign in as someone else


def test_one_address_failing_for_many_usernames_is_throttled_for_all(app: FastAPI, node: Node) -> None:
    sprayer = from_address(app, "203.0.113.10")
    per_user = node.settings.login_max_failures - 1
    names = [f"guess{n}" for n in range(node.settings.login_max_failures_per_address // per_user + 1)]
    left = node.settings.login_max_failures_per_address
    for name in names:
        fail(sprayer, name, min(per_user, left))
        left -= min(per_user, left)
    assert sign_in(sprayer, "other") == 429  # never failed for "other", but the address is spent
    assert sign_in(from_address(app, "10.1.1.2"), "other") == 200


def test_throttled_attempts_are_audited_with_the_rule(app: FastAPI, node: Node) -> None:
    attacker = from_address(app, "203.0.113.11")
    fail(attacker, "lo", node.settings.login_max_failures)
    assert sign_in(attacker) == 429
    entries = denied(node, "throttled")
    assert [(e.actor, e.client_ip, e.details["rule"]) for e in entries] == [
        ("lo", "203.0.113.11", "address_and_username")
    ]


def test_the_page_form_is_throttled_and_audited_too(app: FastAPI, node: Node) -> None:
    attacker = from_address(app, "203.0.113.12")
    for _ in range(node.settings.login_max_failures):
        assert post_login(attacker, "lo", WRONG).status_code == 401
    answer = post_login(attacker, "lo", PASSWORD)
    assert answer.status_code == 429
    assert len(denied(node, "throttled")) == 1
    assert post_login(from_address(app, "10.1.1.3"), "lo", PASSWORD).status_code == 303
