"""The ``incident`` record kind: how an incident received from a peer is applied and withdrawn.

The exchange has already verified the envelope and checked the content against ``IncidentContent``; the
handlers run in the receiving transaction (inside a savepoint); a record they will not apply is refused
(``RecordRefused``) and quarantined instead of breaking the link.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sarhad.core.node import Node
from sarhad.exchange.registry import IncomingRecord, RecordKind, register_kind
from sarhad.incidents import sharing
from sarhad.incidents.domain import KIND
from sarhad.incidents.schemas import IncidentContent


def apply_incident(session: Session, node: Node, record: IncomingRecord) -> None:
    sharing.apply_received(session, node, record)


def withdraw_incident(session: Session, node: Node, record: IncomingRecord) -> None:
    sharing.withdraw_received(session, node, record)


INCIDENT = register_kind(
    RecordKind(KIND, schema=IncidentContent, apply=apply_incident, withdraw=withdraw_incident)
)
