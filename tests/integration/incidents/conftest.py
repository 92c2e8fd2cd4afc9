"""Fixtures for the incident tests: PK (on the parametrised database) paired with IR (SQLite).

Each node has a liaison officer (writes, validates, releases) and an operator (reads, drafts, reports).
``make_node``, ``client``, ``liaison``, ``ir_client`` and ``ir_liaison`` come from ``support.pairs``.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from incident_helpers import add_user, pair, seed_border

from sarhad.core.node import Node
from support.pairs import MakeNode, bearer


@pytest.fixture
def pk(node: Node) -> Node:
    seed_border(node)
    add_user(node, "liaison", "liaison_officer")
    add_user(node, "operator", "operator")
    return node


@pytest.fixture
def ir(make_node: MakeNode, pk: Node) -> Node:
    node = make_node("IR", "Iran")
    seed_border(node)
    add_user(node, "liaison", "liaison_officer")
    pair(pk, node)
    return node


@pytest.fixture
def operator(client: TestClient) -> dict[str, str]:
    return bearer(client, "operator")
