"""Fixtures for the live-event tests: the PK node with two users on duty in different positions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from live_helpers import PASSWORD

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.core.node import Node


@pytest.fixture
def live_node(node: Node) -> Node:
    with node.transaction() as session:
        for pid in ("PK-MOI", "PK-S1-CDR"):
            accounts.upsert_position(
                session,
                SystemActor(),
                position_id=pid,
                party="PK",
                names={"en": pid},
                parent_id=None,
            )
        session.flush()
        for username in ("alice", "bob", "carol"):
            accounts.create_user(
                session, node.clock, SystemActor(), username=username, password=PASSWORD, roles=["commander"]
            )
        session.flush()
        accounts.assign_position(
            session,
            node.clock,
            SystemActor(),
            position_id="PK-S1-CDR",
            username="alice",
            since=datetime(2020, 1, 1, tzinfo=UTC),
        )
        accounts.assign_position(
            session,
            node.clock,
            SystemActor(),
            position_id="PK-MOI",
            username="bob",
            since=datetime(2020, 1, 1, tzinfo=UTC),
        )
    return node
