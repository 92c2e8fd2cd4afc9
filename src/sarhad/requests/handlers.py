"""The two record kinds of requests: ``request`` (by the requesting party) and ``request.answer`` (by the
addressed party). The exchange has verified the envelope and checked the content against the schema; these
run in the receiving transaction, and anything they raise quarantines the record, not the link.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from sarhad.core.node import Node
from sarhad.exchange.registry import IncomingRecord, RecordKind, register_kind
from sarhad.requests import services
from sarhad.requests.domain import ANSWER_KIND, REQUEST_KIND
from sarhad.requests.schemas import AnswerContent, RequestContent


def apply_request(session: Session, node: Node, record: IncomingRecord) -> None:
    services.apply_received_request(session, node, record)


def withdraw_request(session: Session, node: Node, record: IncomingRecord) -> None:
    services.withdraw_received_request(session, node, record)


def apply_answer(session: Session, node: Node, record: IncomingRecord) -> None:
    services.apply_received_answer(session, node, record)


REQUEST = register_kind(
    RecordKind(REQUEST_KIND, schema=RequestContent, apply=apply_request, withdraw=withdraw_request)
)
ANSWER = register_kind(RecordKind(ANSWER_KIND, schema=AnswerContent, apply=apply_answer))
