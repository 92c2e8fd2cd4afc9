"""Fixtures for the hotline tests: PK (on the parametrised database) and IR (SQLite), seeded and paired.

On each node ``commander`` holds every section commander and post position, ``secretariat`` the ministry,
``operator`` nothing. Channels are the reference scenario's counterpart pairs.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hotline_helpers import pair, seed_channels, seed_node

# the Server-Sent Events client of the live-event tests
sys.path.append(str(Path(__file__).resolve().parent.parent / "live"))

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
    seed_node(node, "IR")
    return node


@pytest.fixture
def ir(make_node: Callable[[str, str], Node], pk: Node) -> Node:
    node = make_node("IR", "Iran")
    seed_node(node, "PK")
    pair(pk, node)
    seed_channels(pk, "IR")
    seed_channels(node, "PK")
    return node


@pytest.fixture
def pk_client(pk: Node, ir: Node) -> Iterator[TestClient]:
    """PK's app without background workers: envelopes stay queued until a test delivers them."""
    with TestClient(create_app(pk, run_workers=False)) as client:
        yield client


@pytest.fixture
def ir_client(ir: Node) -> Iterator[TestClient]:
    with TestClient(create_app(ir, run_workers=False)) as client:
        yield client
