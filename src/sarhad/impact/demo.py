"""Exercise impact levels for ``sarhad demo``: one section agreed at high by both parties, and one proposal
waiting for the other side, so the picture page shows coloured sections and the impact page a pending decision.

Proposals go through the joint-record services; the other party's acceptance is made on its own demo node after
an in-process delivery through the exchange's own receive path (see ``sarhad.requests.demo``).
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from sarhad.accounts.actors import SystemActor
from sarhad.core.node import Node
from sarhad.exchange.models import Peer
from sarhad.impact import services
from sarhad.requests.demo import deliver_in_process, peer_demo_node

log = logging.getLogger(__name__)

# (section agreed by both, section left pending) per proposing party; other parties propose nothing
PLAN = {"PK": ("S5", "S3"), "IR": (None, "S2")}


def seed(node: Node, party: str) -> None:
    agreed, pending = PLAN.get(party, (None, None))
    with node.sessions() as session:
        peers = [p.party for p in session.scalars(select(Peer).order_by(Peer.party)).all()]
        sections = set(services.section_ids(session))
    if not peers:
        return
    actor = SystemActor(f"{party.lower()}.commander")
    if agreed in sections:
        with node.transaction() as session:
            view = services.propose_level(
                session,
                node,
                actor,
                agreed,
                "high",
                reason="EXERCISE — three armed incidents and repeated smuggling near Taftan this month.",
            )
        other = peer_demo_node(node, peers[0])
        if other is not None:
            try:
                deliver_in_process(node, other)
                with other.transaction() as session:
                    services.decide_level(
                        session,
                        other,
                        SystemActor(f"{peers[0].lower()}.commander"),
                        agreed,
                        view["pending"]["content_hash"],
                        "accept",
                    )
                deliver_in_process(other, node)
            finally:
                other.dispose()
    if pending in sections:
        with node.transaction() as session:
            services.propose_level(
                session,
                node,
                actor,
                pending,
                "medium",
                reason="EXERCISE — fuel smuggling has doubled over the last weeks.",
            )
