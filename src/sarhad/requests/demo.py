"""Exercise requests for ``sarhad demo``: open requests to the other party (one overdue), and one answered late
with its reason, all about incidents of this node's own party (seeded by the incidents package before us).

The requests are written through the services with the node clock set back two days (so that deadlines have
passed), and released like any other. To show an answer at once, the seed delivers this node's envelopes to
the peer's demo node in-process (the exchange's own receive and receipt path, as the delivery worker does),
lets the peer answer the request late with a reason, and brings the answer back. Without incidents, or without
the peer's demo node next to this one, it writes only what it can (or nothing) and says so.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import timedelta

from sqlalchemy import select

from sarhad.core.clock import FixedClock
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.exchange.domain import LANES, link_id
from sarhad.exchange.models import LinkHead, Peer
from sarhad.exchange.outbox import mark_sent, outbound_batch
from sarhad.exchange.receipts import accept_receipt
from sarhad.exchange.receive import receive_batch
from sarhad.requests import services
from sarhad.requests.schemas import AnswerIn, RequestCreateIn

log = logging.getLogger(__name__)
EXERCISE = "EXERCISE — "


def _own_incidents(node: Node, party: str, limit: int) -> list[str]:
    try:
        from sarhad.incidents.models import Incident
    except ImportError:
        return []
    with node.sessions() as session:
        return list(
            session.scalars(
                select(Incident.id)
                .where(Incident.origin == party, Incident.withdrawn_at.is_(None))
                .order_by(Incident.occurred_at.desc())
                .limit(limit)
            ).all()
        )


def deliver_in_process(sender: Node, receiver: Node) -> None:
    """Everything the sender holds for the receiver beyond its last receipt, through the exchange's own path
    (every chain of the link: its precedence lanes too)."""
    for lane in LANES:
        link = link_id(sender.party, receiver.party, lane)
        with sender.transaction() as session:
            head = session.get(LinkHead, link)
            if head is None:
                continue
            bodies = outbound_batch(session, sender, receiver.party, head.receipted_seq, lane=lane)
            mark_sent(session, sender, receiver.party, head.seq, lane)
        if not bodies:
            continue
        result = receive_batch(receiver, link, [json.loads(body) for body in bodies])
        with sender.transaction() as session:
            accept_receipt(session, sender, receiver.party, result.receipt)


def peer_demo_node(node: Node, peer: str) -> Node | None:
    folder = node.settings.data_dir.parent / peer.lower()
    if not (folder / "sarhad.toml").exists():
        return None
    settings = load_settings(folder)
    return build_node(settings) if settings.party == peer else None


def seed(node: Node, party: str) -> None:
    incidents = _own_incidents(node, party, 3)
    with node.sessions() as session:
        peers = [p.party for p in session.scalars(select(Peer).order_by(Peer.party)).all()]
    if not incidents or not peers:
        log.info("no own incidents or no peer on %s: no exercise requests seeded", party)
        return
    peer = peers[0]
    actor = services.SystemActor(f"{party.lower()}.liaison")
    past = dataclasses.replace(node, clock=FixedClock(node.clock.now() - timedelta(days=2)))
    plans = [
        (
            "action",
            "search",
            "urgent",
            "Search the area on your side of the line where the suspects crossed back.",
        ),
        ("information", None, "7d", "Please share the registration details of the vehicle involved."),
        ("action", "investigate", "urgent", "Investigate the network behind this consignment on your side."),
    ]
    created: list[str] = []
    for number, (kind, action, deadline, text) in enumerate(plans):
        data = RequestCreateIn.model_validate(
            {
                "to": peer,
                "incident": {"origin": party, "id": incidents[number % len(incidents)]},
                "kind": kind,
                "action": action,
                "deadline": deadline,
                "text": EXERCISE + text,
            }
        )
        with past.transaction() as session:
            created.append(services.create_request(session, past, actor, data).id)
    other = peer_demo_node(node, peer)
    if other is None:
        log.info("the peer's demo node is not next to %s; the late answer is left to the demo users", party)
        return
    try:
        deliver_in_process(node, other)
        with other.transaction() as session:
            services.answer_request(
                session,
                other,
                services.SystemActor(f"{peer.lower()}.liaison"),
                party,
                created[2],
                AnswerIn(
                    answer=EXERCISE
                    + "Two safe houses searched; one person detained and handed to the court.",
                    late_reason="The investigating team was committed to an armed-attack scene until this morning.",
                ),
            )
        deliver_in_process(other, node)
    finally:
        other.dispose()
