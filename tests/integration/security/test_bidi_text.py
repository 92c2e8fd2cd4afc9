"""Bidi control characters: one rule in core refuses them in identifiers and titles (every package uses it),
and every page strips embeddings and overrides from what it prints and isolates user text in <bdi>."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from sarhad.accounts import services
from sarhad.accounts.actors import SystemActor
from sarhad.accounts.models import User
from sarhad.app import create_app
from sarhad.bulletins import domain as bulletins
from sarhad.core import text
from sarhad.core.errors import InvalidInput, RuleError
from sarhad.core.node import Node
from sarhad.hotline import domain as hotline
from support.pages import post_login

PASSWORD = "correct horse battery"
RLO, PDF, LRI, PDI, LRM = "\u202e", "\u202c", "\u2066", "\u2069", "\u200e"
SPOOF = f"invoice{RLO}fdp.exe"
OVERRIDES = re.compile("[\u202a-\u202e\u2066-\u2069]")


# --- the rule ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("char", sorted(text.BIDI_CONTROLS))
def test_identifiers_take_no_bidi_control_at_all(char: str) -> None:
    with pytest.raises(RuleError, match=f"U\\+{ord(char):04X}"):
        text.check_identifier(f"PK{char}-S1", "position_id")


@pytest.mark.parametrize("char", sorted(text.BIDI_OVERRIDES))
def test_titles_take_no_embedding_override_or_isolate(char: str) -> None:
    with pytest.raises(RuleError):
        text.check_title(f"a{char}b", "title")


def test_titles_keep_the_marks_mixed_script_text_needs() -> None:
    assert text.check_title(f"گزارش{LRM} Taftan", "title") == f"گزارش{LRM} Taftan"
    assert text.strip_bidi_overrides(f"a{RLO}b{PDF}{LRI}c{PDI}{LRM}") == f"abc{LRM}"


def test_every_package_applies_it() -> None:
    with pytest.raises(RuleError, match="title"):
        bulletins.check_title(SPOOF)
    with pytest.raises(RuleError, match="subject"):
        hotline.check_message(precedence="ROUTINE", subject=SPOOF, body="text")


def test_accounts_refuse_spoofed_display_names_and_position_ids(node: Node) -> None:
    with node.transaction() as session, pytest.raises(InvalidInput, match="display_name"):
        services.create_user(
            session,
            node.clock,
            SystemActor(),
            username="x1",
            password=PASSWORD,
            roles=["admin"],
            display_name=SPOOF,
        )
    with node.transaction() as session, pytest.raises(InvalidInput, match="position_id"):
        services.upsert_position(
            session, SystemActor(), position_id=f"PK{LRM}-CDR", party="PK", names={"en": "Commander"}
        )


# --- the API -----------------------------------------------------------------------------------------------


@pytest.fixture
def client(node: Node) -> TestClient:
    with node.transaction() as session:
        services.create_user(
            session,
            node.clock,
            SystemActor(),
            username="root",
            password=PASSWORD,
            roles=["admin", "liaison_officer", "auditor"],
            display_name="Root",
        )
    return TestClient(create_app(node, run_workers=False))


def test_the_api_refuses_a_bulletin_title_with_an_override(client: TestClient) -> None:
    token = client.post("/api/v1/auth/token", data={"username": "root", "password": PASSWORD}).json()
    answer = client.post(
        "/api/v1/bulletins",
        json={"title": SPOOF, "body": "text", "tlp": "amber"},
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert answer.status_code == 422, answer.text
    assert "title" in answer.text and "U+202E" in answer.text


# --- the pages ---------------------------------------------------------------------------------------------


def test_pages_strip_overrides_and_isolate_user_text(client: TestClient, node: Node) -> None:
    # text stored before the rule existed (or received from a peer): straight into the table
    with node.transaction() as session:
        user = session.scalar(select(User).where(User.username == "root"))
        assert user is not None
        user.display_name = f"Root {SPOOF}"
    # a failed sign-in stores the submitted username as the audit entry's actor
    client.post("/api/v1/auth/token", data={"username": f"evil{RLO}nimda", "password": "wrong password 1"})

    assert post_login(client, "root", PASSWORD).status_code == 303
    for path in ("/users", "/audit", "/me"):
        page = client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 200, (path, page.text[:300])
        assert not OVERRIDES.search(page.text), f"{path} shows a bidi override"
    users = client.get("/users", headers={"Accept": "text/html"}).text
    assert "<bdi>Root invoicefdp.exe</bdi>" in users  # the layout's name and the users table, isolated
    audit = client.get("/audit", headers={"Accept": "text/html"}).text
    assert "<bdi>evilnimda</bdi>" in audit
