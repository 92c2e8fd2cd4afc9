"""Fixtures for the impact-level tests: PK (on the parametrised database) and IR (SQLite), paired, both seeded
with the reference border, sharing one clock the tests move. Each has a commander (JOINT_DECIDE) and an
analyst (reads the levels, decides nothing)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from impact_helpers import PASSWORD, seed

from sarhad.app import create_app
from sarhad.core.clock import FixedClock
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from support.inprocess import pair


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def pk(node: Node, clock: FixedClock) -> Node:
    node.clock = clock
    seed(node)
    return node


@pytest.fixture
def ir(make_node_dir: Callable[..., Path], pk: Node, clock: FixedClock) -> Iterator[Node]:
    node = build_node(load_settings(make_node_dir("IR", "Iran")), clock=clock)
    seed(node)
    pair(pk, node)
    yield node
    node.dispose()


def _client(node: Node) -> Iterator[TestClient]:
    with TestClient(create_app(node, run_workers=False)) as client:
        yield client


@pytest.fixture
def pk_client(pk: Node, ir: Node) -> Iterator[TestClient]:
    yield from _client(pk)


@pytest.fixture
def ir_client(ir: Node) -> Iterator[TestClient]:
    yield from _client(ir)


def _token(client: TestClient, username: str) -> dict[str, str]:
    answer = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


@pytest.fixture
def pk_commander(pk_client: TestClient) -> dict[str, str]:
    return _token(pk_client, "commander")


@pytest.fixture
def ir_commander(ir_client: TestClient) -> dict[str, str]:
    return _token(ir_client, "commander")


@pytest.fixture
def pk_analyst(pk_client: TestClient) -> dict[str, str]:
    return _token(pk_client, "analyst")
