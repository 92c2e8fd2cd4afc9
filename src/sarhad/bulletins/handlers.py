"""The ``bulletin`` record kind: how a bulletin received from a peer is applied and withdrawn.

The exchange has already verified the envelope, stored its generic copy and checked the content against
``BulletinContent``; the handlers run in the receiving transaction (inside a savepoint), and anything they
raise quarantines the record instead of breaking the link.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sarhad.bulletins import bulk, services
from sarhad.bulletins.domain import KIND
from sarhad.bulletins.schemas import BulletinContent
from sarhad.core.node import Node
from sarhad.exchange.registry import IncomingRecord, RecordKind, register_kind


def apply_bulletin(session: Session, node: Node, record: IncomingRecord) -> None:
    services.apply_received(session, node, record)


def apply_bulletins(session: Session, node: Node, records: list[IncomingRecord]) -> None:
    bulk.apply_received_many(session, node, records)


def withdraw_bulletin(session: Session, node: Node, record: IncomingRecord) -> None:
    services.withdraw_received(session, node, record)


BULLETIN = register_kind(
    RecordKind(
        KIND,
        schema=BulletinContent,
        apply=apply_bulletin,
        withdraw=withdraw_bulletin,
        apply_batch=apply_bulletins,
    )
)
