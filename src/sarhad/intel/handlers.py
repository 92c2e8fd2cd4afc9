"""The ``intel.report`` record kind: how a report received from a peer is applied and withdrawn.

The exchange has verified the envelope and checked the content against ``ReportContent``; anything these
raise quarantines the record.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sarhad.core.node import Node
from sarhad.exchange.registry import IncomingRecord, RecordKind, register_kind
from sarhad.intel import services
from sarhad.intel.domain import KIND
from sarhad.intel.schemas import ReportContent


def apply_report(session: Session, node: Node, record: IncomingRecord) -> None:
    services.apply_received(session, node, record)


def withdraw_report(session: Session, node: Node, record: IncomingRecord) -> None:
    services.withdraw_received(session, node, record)


REPORT = register_kind(RecordKind(KIND, schema=ReportContent, apply=apply_report, withdraw=withdraw_report))
