"""This node's own signing identity as the exchange uses it: the current key, the key to sign with, and
the switch to a rotated key once its announcement has committed (``rotation.rotate_key`` makes one)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.core.node import Node
from sarhad.exchange import protocol
from sarhad.exchange.keys import Identity, IdentityStore
from sarhad.exchange.models import OwnKey


def identity(node: Node) -> Identity:
    """This node's current signing key (loaded once per process; a rotation a crash interrupted is settled)."""
    store = node.components.get(IdentityStore)
    if store is None:
        complete_rotation(node)  # once per process: finish or discard a rotation a crash interrupted
        store = node.components.put(IdentityStore(node.settings))
    return store.current()


def pending_key_path(node: Node) -> Path:
    """Where a rotated key waits until its announcement has committed."""
    return node.settings.key_path.with_name(node.settings.key_path.name + ".next")


def complete_rotation(node: Node) -> None:
    """Switch to a pending rotated key if its announcement committed, else discard it."""
    pending = pending_key_path(node)
    if not pending.exists():
        return
    new_fp = protocol.fingerprint(protocol.private_key_from_pem(pending.read_bytes()).public_key())
    with node.sessions() as session:
        committed = session.get(OwnKey, new_fp) is not None
    if committed:
        os.replace(pending, node.settings.key_path)
    else:
        pending.unlink()


def ensure_own_key_recorded(session: Session, node: Node) -> Identity:
    """The current key, recorded among this node's own keys (the ledger export lists them) if it is not yet."""
    me = identity(node)
    if session.get(OwnKey, me.fingerprint) is None:
        session.add(
            OwnKey(
                fingerprint=me.fingerprint,
                public_key=me.public_key_b64,
                created_at=node.clock.now(),
                retired_at=None,
                valid_from_seq={},
            )
        )
    return me


def signing_identity(session: Session, node: Node) -> Identity:
    """The key to sign envelopes with: the one announced last, even if another process announced it."""
    me = identity(node)
    current = session.scalar(select(OwnKey.fingerprint).where(OwnKey.retired_at.is_(None)))
    if current is not None and current != me.fingerprint:
        # A rotation committed (we hold the link lock it took) but this process still has the old key:
        # sign with the announced key, never the retired one, or the peer would refuse the envelope.
        complete_rotation(node)
        me = identity(node)
        if me.fingerprint != current:
            raise RuntimeError(f"signing key {current[:16]} was announced but its key file is missing")
    return me
