"""Key rotation in the exchange services: the new key is in force only if its announcement is committed.

``rotate_key`` writes the announcement envelopes in the caller's transaction. Its promise (docstring): "A
crash between the two [writing the key file and the commit] leaves the old key in force and the announcement
unsent, which is safe." These tests hold it to that promise.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from sarhad.accounts.actors import SystemActor
from sarhad.core.node import Node
from sarhad.exchange import protocol
from sarhad.exchange.identity import identity
from sarhad.exchange.models import OutboundEnvelope, OwnKey
from sarhad.exchange.peers import add_peer
from sarhad.exchange.rotation import rotate_key


def _pair_with_ir(node: Node) -> None:
    ir_key = protocol.generate_private_key().public_key()
    with node.transaction() as session:
        add_peer(
            session,
            node,
            party="IR",
            url="http://127.0.0.1:9",
            public_key_b64=protocol.public_key_b64(ir_key),
            actor=SystemActor("test"),
        )


def test_rotation_that_commits_switches_the_key_and_announces_it_signed_by_the_old_one(node: Node) -> None:
    _pair_with_ir(node)
    old = identity(node)
    with node.transaction() as session:
        old_fp, new_fp = rotate_key(session, node, actor=SystemActor("cli"))
    assert old_fp == old.fingerprint
    assert identity(node).fingerprint == new_fp != old_fp
    with node.sessions() as session:
        row = session.scalars(select(OutboundEnvelope).where(OutboundEnvelope.link == "PK>IR")).one()
        envelope = json.loads(row.body)
    assert envelope["key"] == old_fp
    assert envelope["record"]["new_fingerprint"] == new_fp
    protocol.verify_envelope(envelope, {old_fp: old.public_key})


def test_rotation_whose_transaction_does_not_commit_leaves_the_old_key_in_force(node: Node) -> None:
    _pair_with_ir(node)
    old = identity(node)

    class CommitFailed(Exception):
        pass

    with pytest.raises(CommitFailed), node.transaction() as session:
        rotate_key(session, node, actor=SystemActor("cli"))
        raise CommitFailed("e.g. the disk is full or the database went away before the commit")

    with node.sessions() as session:
        assert session.scalars(select(OutboundEnvelope)).all() == []  # no announcement was written
        assert [k.fingerprint for k in session.scalars(select(OwnKey)).all()] == [old.fingerprint]
    # so the node must still sign with the old key: every peer would refuse an unannounced new one
    assert identity(node).fingerprint == old.fingerprint, (
        "the key file was switched to a key whose announcement was rolled back"
    )
