"""Issue 15, hole 10, for bulletins: a new version of a released bulletin needs ``records.release`` as well as
``bulletins.write``, like every shared record kind (``exchange.records.publish_version``). No role today holds
the one without the other, so the writer here is an actor made for the test."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from bulletin_helpers import audit_actions, bulletin_row, deliver, outbox

from sarhad.accounts.actors import SystemActor
from sarhad.accounts.domain import Permission
from sarhad.bulletins import services
from sarhad.bulletins.schemas import BulletinContentIn
from sarhad.core.errors import ErrorCode, PermissionDenied
from sarhad.core.node import Node


@dataclass(frozen=True)
class WriterWithoutRelease:
    """Writes bulletins, may not release records."""

    username: str = "writer"

    def can(self, permission: Permission) -> bool:
        return permission != Permission.RECORDS_RELEASE


CONTENT = BulletinContentIn(title="Road closed at Taftan", body="The crossing road is closed for repairs.")
CHANGED = BulletinContentIn(title="Road closed at Taftan", body="Closed until Friday, not Thursday.")


def test_a_writer_without_release_cannot_change_a_released_bulletin(pk: Node, ir: Node) -> None:
    with pk.transaction() as session:
        released = services.create_bulletin(session, pk, SystemActor(), CONTENT, tlp="red", release_to=["IR"])
        bulletin_id = released.id
    deliver(pk, ir)
    envelopes, entries = len(outbox(pk)), audit_actions(pk, "bulletin.")

    with pytest.raises(PermissionDenied) as refused, pk.transaction() as session:
        services.update_bulletin(session, pk, WriterWithoutRelease(), bulletin_id, CHANGED)
    assert refused.value.code == ErrorCode.RELEASE_REQUIRED
    row = bulletin_row(pk, "PK", bulletin_id)
    assert row is not None and row.version == 1 and row.body == CONTENT.body
    assert len(outbox(pk)) == envelopes and audit_actions(pk, "bulletin.") == entries
    held = bulletin_row(ir, "PK", bulletin_id)
    assert held is not None and held.version == 1


def test_a_writer_without_release_still_changes_an_unreleased_bulletin(pk: Node) -> None:
    with pk.transaction() as session:
        bulletin_id = services.create_bulletin(session, pk, WriterWithoutRelease(), CONTENT, tlp="red").id
    with pk.transaction() as session:
        services.update_bulletin(session, pk, WriterWithoutRelease(), bulletin_id, CHANGED)
    row = bulletin_row(pk, "PK", bulletin_id)
    assert row is not None and row.version == 2 and row.body == CHANGED.body
