"""Fixtures for the impact-level tests: PK (on the parametrised database) and IR (SQLite), paired, both seeded
with the reference border, sharing one clock the tests move. Each has a commander (JOINT_DECIDE) and an
analyst (reads the levels, decides nothing). ``make_node``, ``pk_client`` and ``ir_client`` come from
``support.pairs``."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from impact_helpers import seed

from sarhad.core.clock import FixedClock
from sarhad.core.node import Node
from support.inprocess import pair
from support.pairs import MakeNode, bearer


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def pk(node: Node, clock: FixedClock) -> Node:
    node.clock = clock
    seed(node)
    return node


@pytest.fixture
def ir(make_node: MakeNode, pk: Node, clock: FixedClock) -> Node:
    node = make_node("IR", "Iran", clock=clock)
    seed(node)
    pair(pk, node)
    return node


@pytest.fixture
def pk_commander(pk_client: TestClient) -> dict[str, str]:
    return bearer(pk_client, "commander")


@pytest.fixture
def ir_commander(ir_client: TestClient) -> dict[str, str]:
    return bearer(ir_client, "commander")


@pytest.fixture
def pk_analyst(pk_client: TestClient) -> dict[str, str]:
    return bearer(pk_client, "analyst")
