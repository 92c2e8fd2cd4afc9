"""Fixtures for the bulletin tests: PK (on the parametrised database) paired with IR and AF (SQLite).

PK has a liaison officer (writes and releases), an operator (reads only) and an admin (reads, no write).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from bulletin_helpers import add_user, pair, token
from fastapi.testclient import TestClient

from sarhad.app import create_app
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings


@pytest.fixture
def make_node(make_node_dir: Callable[..., Path]) -> Iterator[Callable[[str, str], Node]]:
    built: list[Node] = []

    def make(party: str, name: str) -> Node:
        node = build_node(load_settings(make_node_dir(party, name)))
        built.append(node)
        return node

    yield make
    for node in built:
        node.dispose()


@pytest.fixture
def pk(node: Node) -> Node:
    add_user(node, "liaison", "liaison_officer")
    add_user(node, "operator", "operator")
    add_user(node, "admin", "admin")
    return node


@pytest.fixture
def ir(make_node: Callable[[str, str], Node], pk: Node) -> Node:
    """Iran's node, paired with PK, with its own liaison officer."""
    node = make_node("IR", "Iran")
    add_user(node, "liaison", "liaison_officer")
    pair(pk, node)
    return node


@pytest.fixture
def af(make_node: Callable[[str, str], Node], pk: Node) -> Node:
    """Afghanistan's node, paired with PK (trilateral tests pair it with IR themselves)."""
    node = make_node("AF", "Afghanistan")
    pair(pk, node)
    return node


@pytest.fixture
def client(pk: Node) -> Iterator[TestClient]:
    """PK's app without background workers, so envelopes stay queued until a test delivers them."""
    with TestClient(create_app(pk, run_workers=False)) as test_client:
        yield test_client


@pytest.fixture
def liaison(client: TestClient) -> dict[str, str]:
    return token(client, "liaison")


@pytest.fixture
def ir_client(ir: Node) -> Iterator[TestClient]:
    with TestClient(create_app(ir, run_workers=False)) as test_client:
        yield test_client


@pytest.fixture
def ir_liaison(ir_client: TestClient) -> dict[str, str]:
    return token(ir_client, "liaison")
