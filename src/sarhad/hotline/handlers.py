"""The hotline's record kinds: the message (sender → receiver), and what comes back or follows it.

``hotline.message`` is applied on the receiving node (stored as delivered, escalation frozen and started);
its ``on_receipted`` hook on the sender marks it delivered when the receiver's signed receipt covers it.
``hotline.seen``, ``hotline.ack`` and ``hotline.escalation`` go back to the sender; ``hotline.close`` goes
to the receiver. A record that does not fit (a message for an unknown position, an acknowledgement for a
message never sent to that party) raises, so the exchange quarantines it and alerts the administrator.
"""

from __future__ import annotations

from typing import Any

from sarhad.exchange.registry import RecordKind, register_kind
from sarhad.hotline import receipts, receiving
from sarhad.hotline.domain import ACK_KIND, CLOSE_KIND, ESCALATION_KIND, MESSAGE_KIND, SEEN_KIND
from sarhad.hotline.schemas import AckContent, CloseContent, EscalationContent, MessageContent, SeenContent

MESSAGE = register_kind(
    RecordKind(
        MESSAGE_KIND,
        schema=MessageContent,
        apply=receiving.apply_message,
        on_receipted=receipts.on_message_receipted,
        lane=lambda record: _message_lane(record),
    )
)
# What answers or follows a message (seen, acknowledged, escalated, closed) goes in the immediate lane: an
# acknowledgement of a FLASH must not wait behind routine traffic, and the FLASH lane stays for FLASH messages.
SEEN = register_kind(RecordKind(SEEN_KIND, schema=SeenContent, apply=receipts.apply_seen, lane="immediate"))
ACK = register_kind(RecordKind(ACK_KIND, schema=AckContent, apply=receipts.apply_ack, lane="immediate"))
ESCALATION = register_kind(
    RecordKind(ESCALATION_KIND, schema=EscalationContent, apply=receipts.apply_escalation, lane="immediate")
)
CLOSE = register_kind(
    RecordKind(CLOSE_KIND, schema=CloseContent, apply=receiving.apply_close, lane="immediate")
)


def _message_lane(record: dict[str, Any]) -> str:
    """A message travels in the lane of its precedence (FLASH → flash, …, ROUTINE → routine)."""
    content = record.get("content")
    precedence = content.get("precedence") if isinstance(content, dict) else None
    return precedence.lower() if isinstance(precedence, str) else "routine"
