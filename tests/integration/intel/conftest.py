"""Fixtures of the intelligence tests: PK (the parametrised database) paired with IR (SQLite).

PK has an analyst (writes drafts), a commander (approves and releases), a second commander, an operator and a
trade officer (who see no intelligence). IR has a liaison officer (reads) and an analyst.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from intel_helpers import add_user

from sarhad.core.node import Node
from support.inprocess import pair
from support.pairs import MakeNode, bearer


@pytest.fixture
def pk(node: Node) -> Node:
    add_user(node, "analyst", "analyst")
    add_user(node, "commander", "commander")
    add_user(node, "commander2", "commander")
    add_user(node, "operator", "operator")
    add_user(node, "trade", "trade_officer")
    add_user(node, "liaison", "liaison_officer")
    return node


@pytest.fixture
def ir(make_node: MakeNode, pk: Node) -> Node:
    node = make_node("IR", "Iran")
    add_user(node, "liaison", "liaison_officer")
    add_user(node, "analyst", "analyst")
    pair(pk, node)
    return node


@pytest.fixture
def analyst(client: TestClient) -> dict[str, str]:
    return bearer(client, "analyst")


@pytest.fixture
def commander(client: TestClient) -> dict[str, str]:
    return bearer(client, "commander")
