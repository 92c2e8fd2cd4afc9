"""Fixtures for the border tests: a PK node seeded with the reference scenario, users and their tokens.

``node`` comes from tests/conftest.py and is parametrised over SQLite and PostgreSQL, so every test here
runs on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from border_support import PASSWORD, USERS
from fastapi.testclient import TestClient

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.app import create_app
from sarhad.border import seeding
from sarhad.core.node import Node


@pytest.fixture
def seeded(node: Node) -> Node:
    """The PK node with the built-in reference scenario and three users."""
    with node.transaction() as session:
        seeding.seed_reference_scenario(session, node, SystemActor("seed"), seeding.reference_data())
    with node.transaction() as session:
        for username, spec in USERS.items():
            accounts.create_user(
                session, node.clock, SystemActor(), username=username, password=PASSWORD, **spec
            )
    return node


@pytest.fixture
def client(seeded: Node) -> Iterator[TestClient]:
    with TestClient(create_app(seeded, run_workers=False)) as test_client:
        yield test_client


@pytest.fixture
def tokens(client: TestClient) -> dict[str, dict[str, str]]:
    """Authorization headers per username."""
    out = {}
    for username in USERS:
        answer = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        out[username] = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    return out
