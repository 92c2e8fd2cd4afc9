"""Fixtures of the audit tests: PK (on the parametrised database) with a liaison officer, an operator and an
auditor, paired with IR (SQLite) and its liaison officer. ``client``, ``ir_client``, ``liaison`` and
``ir_liaison`` come from ``support.pairs``; a test module may define its own ``pk`` and ``ir``."""

from __future__ import annotations

import pytest

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
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
    add_user(node, "liaison", "liaison_officer")
    add_user(node, "operator", "operator")
    add_user(node, "aud", "auditor")
    return node


@pytest.fixture
def ir(make_node: MakeNode, pk: Node) -> Node:
    node = make_node("IR", "Iran")
    add_user(node, "liaison", "liaison_officer")
    pair(pk, node)
    return node
