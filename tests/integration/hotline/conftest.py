"""Fixtures for the hotline tests: PK (on the parametrised database) and IR (SQLite), seeded and paired.

On each node ``commander`` holds every section commander and post position, ``secretariat`` the ministry,
``operator`` nothing. Channels are the reference scenario's counterpart pairs. ``make_node``, ``pk_client`` and
``ir_client`` come from ``support.pairs``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hotline_helpers import pair, seed_channels, seed_node

# the Server-Sent Events client of the live-event tests
sys.path.append(str(Path(__file__).resolve().parent.parent / "live"))

from sarhad.core.node import Node
from support.pairs import MakeNode


@pytest.fixture
def pk(node: Node) -> Node:
    seed_node(node, "IR")
    return node


@pytest.fixture
def ir(make_node: MakeNode, pk: Node) -> Node:
    node = make_node("IR", "Iran")
    seed_node(node, "PK")
    pair(pk, node)
    seed_channels(pk, "IR")
    seed_channels(node, "PK")
    return node
