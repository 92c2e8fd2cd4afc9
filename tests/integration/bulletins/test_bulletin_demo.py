"""The demo seed writes bulletins as each side's liaison officer and releases them to the other side: after
delivery each node holds its own bulletins (one draft, not released) and the other party's released ones."""

from __future__ import annotations

from bulletin_helpers import add_user, pair
from sqlalchemy import select

from sarhad.audit.models import AuditEntry
from sarhad.bulletins import demo
from sarhad.bulletins.models import Bulletin
from sarhad.core.node import Node
from support.inprocess import deliver
from support.pairs import MakeNode


def test_demo_bulletins_are_written_by_the_liaison_officer_and_released_to_the_peer(
    node: Node, make_node: MakeNode
) -> None:
    pk, ir = node, make_node("IR", "Iran")
    add_user(pk, "pk.liaison", "liaison_officer")
    add_user(ir, "ir.liaison", "liaison_officer")
    pair(pk, ir)
    demo.seed(pk, "PK")
    demo.seed(ir, "IR")
    deliver(pk, ir)
    deliver(ir, pk)
    for here, other in ((pk, ir), (ir, pk)):
        with here.sessions() as session:
            rows = session.scalars(select(Bulletin)).all()
            own = [b for b in rows if b.origin == here.party]
            received = [b for b in rows if b.origin == other.party]
            creators = set(
                session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "bulletin.create"))
            )
            releases = session.scalars(
                select(AuditEntry.actor).where(AuditEntry.action.like("%release%"))
            ).all()
        plans = demo.PLANS[here.party]
        assert len(own) == len(plans)
        assert len(received) == sum(1 for p in demo.PLANS[other.party] if p[2])
        assert all(b.title.startswith(("EXERCISE", "تمرین")) for b in rows)
        assert creators == {f"{here.party.lower()}.liaison"}  # the officer's account, not a system actor
        assert releases and set(releases) == {f"{here.party.lower()}.liaison"}
        assert len({b.created_at for b in own}) == len(own)  # written over the past days, not all at once
