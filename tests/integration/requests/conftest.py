"""Fixtures for the request tests: PK (on the parametrised database) and IR (SQLite), paired, both seeded with
the reference border, sharing one clock that only moves when a test moves it (so "8 hours later" is exact).

Each node has a liaison officer (writes requests and answers) and an analyst (reads only).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from request_helpers import add_users, seed_border, token

from sarhad.app import create_app
from sarhad.core.clock import FixedClock
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from support.inprocess import pair


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
def ir(make_node_dir: Callable[..., Path], pk: Node, clock: FixedClock) -> Iterator[Node]:
    node = build_node(load_settings(make_node_dir("IR", "Iran")), clock=clock)
    seed_border(node)
    add_users(node)
    pair(pk, node)
    yield node
    node.dispose()


@pytest.fixture
def pk_client(pk: Node, ir: Node) -> Iterator[TestClient]:
    """PK's app without background workers: envelopes stay queued until a test delivers them."""
    with TestClient(create_app(pk, run_workers=False)) as client:
        yield client


@pytest.fixture
def ir_client(ir: Node) -> Iterator[TestClient]:
    with TestClient(create_app(ir, run_workers=False)) as client:
        yield client


@pytest.fixture
def pk_liaison(pk_client: TestClient) -> dict[str, str]:
    return token(pk_client, "liaison")


@pytest.fixture
def ir_liaison(ir_client: TestClient) -> dict[str, str]:
    return token(ir_client, "liaison")
