"""A new shared record kind is a few declarations on ``exchange.records``: the test-only note kind
(``tests/support/notes_kind``) is released, received, versioned and withdrawn between two nodes.

PK runs on the parametrised database (SQLite and PostgreSQL), IR on SQLite; delivery is the exchange's own
code path in-process (signed envelopes, receipts), as in the bulletin tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from sarhad.accounts.actors import SystemActor
from sarhad.audit.models import AuditEntry
from sarhad.core.errors import PermissionDenied
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.exchange import records
from support.inprocess import deliver, pair
from support.notes_kind import services as notes
from support.notes_kind.models import Note

ACTOR = SystemActor("liaison")


@pytest.fixture
def pk(node: Node) -> Node:
    notes.install(node)
    return node


@pytest.fixture
def ir(make_node_dir: Callable[..., Path], pk: Node) -> Iterator[Node]:
    other = build_node(load_settings(make_node_dir("IR", "Iran")))
    notes.install(other)
    pair(pk, other)
    yield other
    other.dispose()


def held(node: Node, origin: str, note_id: str) -> Note | None:
    with node.sessions() as session:
        return session.get(Note, (origin, note_id))


def note_actions(node: Node) -> list[str]:
    with node.sessions() as session:
        query = select(AuditEntry.action).where(AuditEntry.action.startswith("note.")).order_by(AuditEntry.id)
        return list(session.scalars(query).all())


def test_a_note_is_released_received_versioned_and_withdrawn_on_the_other_node(pk: Node, ir: Node) -> None:
    with pk.transaction() as session:
        note_id = notes.create_note(session, pk, ACTOR, "  Fence repair at post 12 tomorrow.  ", ["IR"]).id
    assert deliver(pk, ir).applied == 1
    received = held(ir, "PK", note_id)
    assert received is not None and received.received_at is not None
    assert (received.version, received.text, received.tlp, received.handling, received.created_by) == (
        1,
        "Fence repair at post 12 tomorrow.",
        "amber",
        "no_onward",
        "peer:PK",
    )
    own = held(pk, "PK", note_id)
    assert own is not None and received.content_hash == own.content_hash

    with ir.transaction() as session, pytest.raises(PermissionDenied, match="never edited here"):
        notes.update_note(session, ir, ACTOR, note_id, "IR rewrites PK's note")

    with pk.transaction() as session:
        notes.update_note(session, pk, ACTOR, note_id, "Fence repair moved to post 14.")
    assert deliver(pk, ir).applied == 1
    received = held(ir, "PK", note_id)
    assert received is not None and (received.version, received.text) == (2, "Fence repair moved to post 14.")
    assert received.withdrawn_at is None

    with pk.transaction() as session:
        records.withdraw_own(session, pk, ACTOR, notes.NOTES, note_id, "Repair cancelled.")
    assert deliver(pk, ir).applied == 1
    received = held(ir, "PK", note_id)
    assert received is not None and received.withdrawn_at is not None
    assert (received.version, received.withdraw_reason) == (2, "Repair cancelled.")
    assert note_actions(pk) == ["note.release", "note.update", "note.withdraw"]
    assert note_actions(ir) == ["note.receive", "note.receive", "note.withdrawn_by_origin"]


def test_a_received_note_breaking_the_kinds_rules_is_quarantined_and_nothing_is_stored(
    pk: Node, ir: Node
) -> None:
    from sarhad.exchange import release as exchange_release

    with pk.transaction() as session:  # PK bypasses its own rules, as a faulty peer might
        exchange_release.release_record(
            session,
            pk,
            kind=notes.KIND,
            record_id="n-1",
            version=1,
            to=["IR"],
            actor=SystemActor("rogue"),
            content={"text": "   ", "updated_at": "2026-12-07T10:00:00+00:00"},
        )
    result = deliver(pk, ir)
    assert (result.applied, result.quarantined) == (0, 1)
    assert held(ir, "PK", "n-1") is None
