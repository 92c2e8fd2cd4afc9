"""Fixtures for the bulletin tests: PK (on the parametrised database) paired with IR and AF (SQLite).

PK has a liaison officer (writes and releases), an operator (reads only) and an admin (reads, no write).
``make_node``, ``client``, ``liaison``, ``ir_client`` and ``ir_liaison`` come from ``support.pairs``.
"""

from __future__ import annotations

import pytest
from bulletin_helpers import add_user, pair

from sarhad.core.node import Node
from support.pairs import MakeNode


@pytest.fixture
def pk(node: Node) -> Node:
    add_user(node, "liaison", "liaison_officer")
    add_user(node, "operator", "operator")
    add_user(node, "admin", "admin")
    return node


@pytest.fixture
def ir(make_node: MakeNode, pk: Node) -> Node:
    """Iran's node, paired with PK, with its own liaison officer."""
    node = make_node("IR", "Iran")
    add_user(node, "liaison", "liaison_officer")
    pair(pk, node)
    return node


@pytest.fixture
def af(make_node: MakeNode, pk: Node) -> Node:
    """Afghanistan's node, paired with PK (trilateral tests pair it with IR themselves)."""
    node = make_node("AF", "Afghanistan")
    pair(pk, node)
    return node
