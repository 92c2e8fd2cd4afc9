"""Key rotation: announcing a new signing key to every peer, and taking in a peer's announcement.

A node's new key is announced in an envelope signed by the old one, on every outbound link; from the next
seq on, the new key signs. A receiver takes the announcement in as it applies the envelope, so the
envelopes after it in the same batch are verified with the new key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.core.node import Node, after_commit
from sarhad.exchange import outbox, protocol
from sarhad.exchange.domain import (
    BASE_LANE,
    KEY_ROTATION_KIND,
    Handling,
    Op,
    RecordShapeError,
    Tlp,
    lane_of_link,
)
from sarhad.exchange.identity import (
    complete_rotation,
    ensure_own_key_recorded,
    identity,
    pending_key_path,
)
from sarhad.exchange.keys import IdentityStore, write_key_file
from sarhad.exchange.models import LaneKey, OwnKey, Peer, PeerKey
from sarhad.exchange.peers import apply_lane_rotation
from sarhad.exchange.release import make_record


def rotate_key(session: Session, node: Node, *, actor: Actor) -> tuple[str, str]:
    """Announce a new key to every peer in envelopes signed by the old one, then switch to it.

    The announcements and the switch happen together: the new key file replaces the old only after the
    announcing envelopes are committed, and the old key is kept (retired) so history stays verifiable.
    Returns the old and the new fingerprint.
    """
    require(actor, Permission.EXCHANGE_ADMIN, "rotating the node's signing key")
    old = ensure_own_key_recorded(session, node)
    new_key = protocol.generate_private_key()
    new_public = new_key.public_key()
    new_fp = protocol.fingerprint(new_public)
    valid_from: dict[str, int] = {}
    for peer in session.scalars(select(Peer)).all():
        announcement = protocol.key_rotation_record(new_public)
        record = make_record(
            node,
            kind=KEY_ROTATION_KIND,
            record_id=new_fp,
            version=1,
            op=Op.UPSERT,
            handling=Handling.NO_ONWARD.value,
            tlp=Tlp.CLEAR.value,
            content=dict(announcement),
        )
        record.update(announcement)  # the ledger verifier reads new_key at the record's top level
        for envelope in outbox.enqueue_on_every_chain(session, node, peer.party, record):
            valid_from[envelope.link] = envelope.seq + 1  # each precedence lane's chain at its own seq
    own_old = session.get(OwnKey, old.fingerprint)
    if own_old is not None:
        own_old.retired_at = node.clock.now()
    session.add(
        OwnKey(
            fingerprint=new_fp,
            public_key=protocol.public_key_b64(new_public),
            created_at=node.clock.now(),
            retired_at=None,
            valid_from_seq=valid_from,
        )
    )
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="exchange.key.rotate",
        record_kind="key",
        record_id=new_fp,
        details={"old": old.fingerprint, "valid_from": valid_from},
    )
    session.flush()
    store = node.components.get(IdentityStore)
    archive = IdentityStore(node.settings).archive_dir() if store is None else store.archive_dir()
    write_key_file(archive / f"{old.fingerprint}.pem", old.private_key)
    # The new key goes into a pending file now and replaces the current key only after the announcement has
    # committed. If the transaction rolls back, the pending file is discarded; if the process dies between the
    # commit and the switch, ``identity`` completes the switch at the next start (see complete_rotation).
    write_key_file(pending_key_path(node), new_key)
    after_commit(session, lambda: complete_rotation(node))
    return old.fingerprint, new_fp


def apply_key_rotation(session: Session, node: Node, sender: str, env: dict[str, Any]) -> None:
    """Take in ``sender``'s announcement of a new key: the old key signs up to this seq, the new one after it.

    Raises :class:`RecordShapeError` (the envelope is quarantined) if the announcement is not a valid one.
    """
    try:
        new_key = protocol.parse_key_rotation(env["record"])
    except protocol.ProtocolError as exc:
        raise RecordShapeError(f"key rotation: {exc.message}") from exc
    if new_key is None:
        raise RecordShapeError("key rotation record without a new key")
    fp = protocol.fingerprint(new_key)
    seq = env["seq"]
    if lane_of_link(env["link"]) != BASE_LANE:
        # A precedence lane's chain: the sender announces the same new key on each of its chains, so the key
        # may already be this party's current one (from its base chain); apply_lane_rotation refuses another
        # party's key, this node's, a key the party retired, and one that signed this lane before.
        apply_lane_rotation(session, sender, env["link"], env["key"], new_key, seq)
        return
    refusal = _known_key_refusal(session, node, sender, fp)
    if refusal is not None:
        raise RecordShapeError(f"key rotation refused: {refusal}")
    old = session.get(PeerKey, env["key"])
    if old is not None:
        old.valid_until_seq = seq
    session.add(
        PeerKey(
            fingerprint=fp,
            party=sender,
            public_key=protocol.public_key_b64(new_key),
            valid_from_seq=seq + 1,
            valid_until_seq=None,
            source="rotation",
            added_at=node.clock.now(),
        )
    )
    record_event(
        session,
        node.clock,
        actor=f"peer:{sender}",
        action="exchange.key.rotated",
        record_kind="peer",
        record_id=sender,
        details={"new_fingerprint": fp, "from_seq": seq + 1},
    )


def _known_key_refusal(session: Session, node: Node, sender: str, fp: str) -> str | None:
    """Why a rotation of ``sender`` to the key ``fp`` is refused, or None: a key belongs to one party, ever.

    Refused: this node's own key (current or retired), a key pinned or rotated in for another party (a
    removed peer's too: its keys are kept), and a key ``sender`` itself used before (the current one
    included). Checked before anything changes, so a refused rotation leaves the sender's current key valid.
    """
    short = protocol.short_fingerprint(fp)
    if fp == identity(node).fingerprint or session.get(OwnKey, fp) is not None:
        return f"the new key {short} is a key of {node.party}, this node"
    lane_owner = session.scalar(
        select(LaneKey.party).where(LaneKey.fingerprint == fp, LaneKey.party != sender)
    )
    if lane_owner is not None:
        return f"the new key {short} is already a key of {lane_owner}; a key belongs to one party only"
    known = session.get(PeerKey, fp)
    if known is None:
        return None
    if known.party != sender:
        return f"the new key {short} is already a key of {known.party}; a key belongs to one party only"
    return f"the new key {short} is one {sender} has used before; a rotation must bring a new key"
