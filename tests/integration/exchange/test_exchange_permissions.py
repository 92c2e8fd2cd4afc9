"""The exchange's services check the actor's permission themselves, whoever calls them."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sarhad.accounts.domain import Permission
from sarhad.core.errors import PermissionDenied
from sarhad.core.node import Node
from sarhad.exchange import alerts, joint, peers, protocol, rotation


@dataclass(frozen=True)
class Holder:
    """An actor holding only the given permissions."""

    permissions: frozenset[Permission]
    username: str = "someone"

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


READER = Holder(frozenset({Permission.EXCHANGE_READ}))
NOBODY = Holder(frozenset())


def test_pairing_removing_and_rotating_need_exchange_admin(node: Node) -> None:
    key = protocol.public_key_b64(protocol.generate_private_key().public_key())
    with node.transaction() as session, pytest.raises(PermissionDenied, match=r"exchange\.admin"):
        peers.add_peer(session, node, party="IR", url="http://127.0.0.1:9", public_key_b64=key, actor=READER)
    with node.transaction() as session, pytest.raises(PermissionDenied, match=r"exchange\.admin"):
        peers.remove_peer(session, node, "IR", actor=READER)
    with node.transaction() as session, pytest.raises(PermissionDenied, match=r"exchange\.admin"):
        rotation.rotate_key(session, node, actor=READER)


def test_the_links_and_alerts_need_exchange_read_and_the_quarantine_exchange_admin(node: Node) -> None:
    with node.sessions() as session:
        assert peers.peer_status(session, node, READER) == []
        assert list(alerts.list_alerts(session, READER)) == []
        with pytest.raises(PermissionDenied, match=r"exchange\.read"):
            peers.peer_status(session, node, NOBODY)
        with pytest.raises(PermissionDenied, match=r"exchange\.read"):
            alerts.list_alerts(session, NOBODY)
    with node.transaction() as session, pytest.raises(PermissionDenied, match=r"exchange\.admin"):
        alerts.access_quarantine(session, node, READER)
    with node.transaction() as session, pytest.raises(PermissionDenied, match=r"exchange\.admin"):
        alerts.acknowledge_alert(session, node, 1, actor=READER)


def test_joint_records_need_joint_decide_to_read_propose_or_decide(node: Node) -> None:
    with node.sessions() as session:
        with pytest.raises(PermissionDenied, match=r"joint\.decide"):
            joint.access_joint_records(session, READER)
        with pytest.raises(PermissionDenied, match=r"joint\.decide"):
            joint.access_joint_record(session, READER, "j1")
    with node.transaction() as session, pytest.raises(PermissionDenied, match=r"joint\.decide"):
        joint.propose(session, node, subject="test", title="x", signatories=["IR"], content={}, actor=READER)
    with node.transaction() as session, pytest.raises(PermissionDenied, match=r"joint\.decide"):
        joint.decide(session, node, joint_id="j1", content_hash="0" * 64, decision="accept", actor=READER)
