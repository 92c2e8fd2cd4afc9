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
from sarhad.border import seeding
from sarhad.core.node import Node
from support.pairs import app_client, bearer


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
    with app_client(seeded) as test_client:
        yield test_client


@pytest.fixture
def tokens(client: TestClient) -> dict[str, dict[str, str]]:
    """Authorization headers per username."""
    return {username: bearer(client, username, PASSWORD) for username in USERS}
