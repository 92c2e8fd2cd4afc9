"""Fixtures for the request tests: PK (on the parametrised database) and IR (SQLite), paired, both seeded with
the reference border, sharing one clock that only moves when a test moves it (so "8 hours later" is exact).

Each node has a liaison officer (writes requests and answers) and an analyst (reads only). ``make_node``,
``pk_client``, ``ir_client`` and ``ir_liaison`` come from ``support.pairs``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from request_helpers import add_users, seed_border

from sarhad.core.clock import FixedClock
from sarhad.core.node import Node
from support.inprocess import pair
from support.pairs import MakeNode, bearer


@pytest.fixture
def clock() -> FixedClock:
    now = datetime.now(UTC).replace(microsecond=0)
    return FixedClock(now)


@pytest.fixture
def pk(node: Node, clock: FixedClock) -> Node:
    node.clock = clock
    seed_border(node)
    add_users(node)
    return node


@pytest.fixture
def ir(make_node: MakeNode, pk: Node, clock: FixedClock) -> Node:
    node = make_node("IR", "Iran", clock=clock)
    seed_border(node)
    add_users(node)
    pair(pk, node)
    return node


@pytest.fixture
def pk_liaison(pk_client: TestClient) -> dict[str, str]:
    return bearer(pk_client, "liaison")
