"""Fixtures of the QRF tests: PK (on the parametrised database) paired with IR (SQLite).

PK has a commander (manages, dispatches and shares units), an operator (a duty officer: manages and sets
status, shares nothing), an analyst (reads the board) and a trade officer (no board). IR has a liaison
officer (reads the board) and a commander. ``client``, ``ir_client`` come from ``support.pairs``.
"""

from __future__ import annotations

import pytest

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.border import seeding
from sarhad.core.node import Node
from support.inprocess import pair
from support.pairs import PASSWORD, MakeNode


def add_user(node: Node, username: str, *roles: str) -> None:
    with node.transaction() as session:
        accounts.create_user(
            session, node.clock, SystemActor(), username=username, password=PASSWORD, roles=list(roles)
        )


@pytest.fixture
def pk(node: Node) -> Node:
    with node.transaction() as session:  # the posts units are stationed at
        seeding.seed_reference_scenario(session, node, SystemActor("seed"), seeding.reference_data())
    add_user(node, "commander", "commander")
    add_user(node, "operator", "operator")
    add_user(node, "analyst", "analyst")
    add_user(node, "trader", "trade_officer")
    return node


@pytest.fixture
def ir(make_node: MakeNode, pk: Node) -> Node:
    node = make_node("IR", "Iran")
    add_user(node, "liaison", "liaison_officer")
    add_user(node, "commander", "commander")
    pair(pk, node)
    return node
