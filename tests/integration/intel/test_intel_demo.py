"""The demo seed: graded reports written by each side's analyst, approved and released by its commander (four
eyes), and a draft left for approval; after delivery each side holds the other's released reports without
their full text or source note."""

from __future__ import annotations

from intel_helpers import add_user
from sqlalchemy import select

from sarhad.audit.models import AuditEntry
from sarhad.core.node import Node
from sarhad.intel import demo
from sarhad.intel.models import IntelReport
from support.inprocess import deliver, pair
from support.pairs import MakeNode


def test_demo_reports_are_graded_approved_by_a_second_person_and_released(
    node: Node, make_node: MakeNode
) -> None:
    pk, ir = node, make_node("IR", "Iran")
    for here in (pk, ir):
        add_user(here, f"{here.party.lower()}.analyst", "analyst")
        add_user(here, f"{here.party.lower()}.commander", "commander")
    pair(pk, ir)
    demo.seed(pk, "PK")
    demo.seed(ir, "IR")
    deliver(pk, ir)
    deliver(ir, pk)
    for here, other in ((pk, ir), (ir, pk)):
        with here.sessions() as session:
            rows = session.scalars(select(IntelReport)).all()
            approvers = set(
                session.scalars(select(AuditEntry.actor).where(AuditEntry.action == "intel_report.approve"))
            )
        own = [r for r in rows if r.origin == here.party]
        received = [r for r in rows if r.origin == other.party]
        assert len(own) == len(demo.PLANS[here.party])
        assert len(received) == sum(1 for p in demo.PLANS[other.party] if p.approved)
        assert all(r.body == "" and r.source_note == "" and r.reliability in "ABCDEF" for r in received)
        assert {r.created_by for r in own} == {f"{here.party.lower()}.analyst"}
        assert approvers == {f"{here.party.lower()}.commander"}
        assert sorted(r.status for r in own) == sorted(
            "released" if p.approved else "draft" for p in demo.PLANS[here.party]
        )
