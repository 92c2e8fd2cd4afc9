"""Fixtures of the feature tests that pair PK with IR in one process (a pytest plugin: tests/conftest.py loads it).

A feature's conftest.py defines ``pk`` (the parametrised ``node``, seeded and with the users that feature's
tests sign in as) and ``ir`` (Iran's node from ``make_node``, seeded and paired with PK, e.g. with
``support.inprocess.pair``). On those two these fixtures build the rest; a conftest.py nearer the tests
overrides any of them (border's ``client``, for instance, is on its own seeded node).

- ``make_node(party, name, clock=None)``: a node made by ``sarhad init`` (SQLite), disposed after the test.
- ``client`` / ``ir_client``: a ``TestClient`` on PK's / IR's app without background workers, so envelopes stay
  queued until a test delivers them. ``pk_client`` is PK's once IR is paired with it.
- ``liaison`` / ``ir_liaison``: the ``Authorization`` header of the user ``liaison`` on PK / IR.

Every test user's password is ``PASSWORD``; ``bearer(client, username)`` signs one in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import pytest
from fastapi.testclient import TestClient

from sarhad.app import create_app
from sarhad.core.clock import Clock
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings

PASSWORD = "correct horse battery"


class MakeNode(Protocol):
    def __call__(self, party: str, name: str, clock: Clock | None = None) -> Node: ...


def bearer(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Sign ``username`` in through the API; the header that carries its token."""
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@contextmanager
def app_client(node: Node) -> Iterator[TestClient]:
    """A ``TestClient`` on the node's app, its lifespan running but no background workers."""
    with TestClient(create_app(node, run_workers=False)) as client:
        yield client


@pytest.fixture
def make_node(make_node_dir: Callable[..., Path]) -> Iterator[MakeNode]:
    """Factory of further nodes (``sarhad init`` on SQLite), all disposed after the test."""
    built: list[Node] = []

    def make(party: str, name: str, clock: Clock | None = None) -> Node:
        node = build_node(load_settings(make_node_dir(party, name)), clock=clock)
        built.append(node)
        return node

    yield make
    for node in built:
        node.dispose()


@pytest.fixture
def client(pk: Node) -> Iterator[TestClient]:
    """PK's app without background workers."""
    with app_client(pk) as test_client:
        yield test_client


@pytest.fixture
def pk_client(pk: Node, ir: Node) -> Iterator[TestClient]:
    """PK's app without background workers, once IR is paired with it."""
    with app_client(pk) as test_client:
        yield test_client


@pytest.fixture
def ir_client(ir: Node) -> Iterator[TestClient]:
    """IR's app without background workers."""
    with app_client(ir) as test_client:
        yield test_client


@pytest.fixture
def liaison(client: TestClient) -> dict[str, str]:
    return bearer(client, "liaison")


@pytest.fixture
def ir_liaison(ir_client: TestClient) -> dict[str, str]:
    return bearer(ir_client, "liaison")
