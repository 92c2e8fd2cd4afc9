"""Exercise data for ``sarhad demo``: the counterpart channels and an escalation policy per commander."""

from __future__ import annotations

from sqlalchemy import select

from sarhad.accounts.actors import SystemActor
from sarhad.accounts.models import Position
from sarhad.core.node import Node
from sarhad.exchange.models import Peer
from sarhad.hotline import configuration


def seed(node: Node, party: str) -> None:
    """Channels to every paired party, and: a section commander's unacknowledged message goes to the
    ministry at the deadline, then is repeated there twice; a post's goes to its section commander."""
    actor = SystemActor("demo")
    with node.transaction() as session:
        peers = session.scalars(select(Peer.party)).all()
        for peer in peers:
            configuration.seed_reference_channels(session, node, actor, peer)
        for position in session.scalars(select(Position).where(Position.party == party)).all():
            if position.kind in ("commander", "post"):
                configuration.set_policy(
                    session, node, actor, position.id, [{"wait_seconds": None, "notify": "parent"}], 2
                )
