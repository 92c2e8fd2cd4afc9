"""Fixtures for the incident tests: PK (on the parametrised database) paired with IR (SQLite).

Each node has a liaison officer (writes, validates, releases) and an operator (reads, drafts, reports).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from incident_helpers import add_user, pair, seed_border, token

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
    seed_border(node)
    add_user(node, "liaison", "liaison_officer")
    add_user(node, "operator", "operator")
    return node


@pytest.fixture
def ir(make_node: Callable[[str, str], Node], pk: Node) -> Node:
    node = make_node("IR", "Iran")
    seed_border(node)
    add_user(node, "liaison", "liaison_officer")
    pair(pk, node)
    return node


@pytest.fixture
def client(pk: Node) -> Iterator[TestClient]:
    with TestClient(create_app(pk, run_workers=False)) as test_client:
        yield test_client


@pytest.fixture
def liaison(client: TestClient) -> dict[str, str]:
    return token(client, "liaison")


@pytest.fixture
def operator(client: TestClient) -> dict[str, str]:
    return token(client, "operator")


@pytest.fixture
def ir_client(ir: Node) -> Iterator[TestClient]:
    with TestClient(create_app(ir, run_workers=False)) as test_client:
        yield test_client


@pytest.fixture
def ir_liaison(ir_client: TestClient) -> dict[str, str]:
    return token(ir_client, "liaison")
