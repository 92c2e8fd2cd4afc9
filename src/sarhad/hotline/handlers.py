"""The hotline's record kinds: the message (sender → receiver), and what comes back or follows it.

``hotline.message`` is applied on the receiving node (stored as delivered, escalation frozen and started);
its ``on_receipted`` hook on the sender marks it delivered when the receiver's signed receipt covers it.
``hotline.seen``, ``hotline.ack`` and ``hotline.escalation`` go back to the sender; ``hotline.close`` goes
to the receiver. A record that does not fit (a message for an unknown position, an acknowledgement for a
message never sent to that party) raises, so the exchange quarantines it and alerts the administrator.
"""

from __future__ import annotations

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
    )
)
SEEN = register_kind(RecordKind(SEEN_KIND, schema=SeenContent, apply=receipts.apply_seen))
ACK = register_kind(RecordKind(ACK_KIND, schema=AckContent, apply=receipts.apply_ack))
ESCALATION = register_kind(
    RecordKind(ESCALATION_KIND, schema=EscalationContent, apply=receipts.apply_escalation)
)
CLOSE = register_kind(RecordKind(CLOSE_KIND, schema=CloseContent, apply=receiving.apply_close))
