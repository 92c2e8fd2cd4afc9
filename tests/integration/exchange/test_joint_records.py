"""Joint records between two nodes: propose, accept, counter-propose, reject — in-process delivery."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sarhad.accounts.actors import SystemActor
from sarhad.core.errors import InvalidInput, NotFound
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.exchange import joint
from sarhad.exchange.models import InboundEnvelope
from support.inprocess import deliver, pair


@pytest.fixture
def nodes(make_node_dir: Callable[..., Path]) -> Iterator[tuple[Node, Node]]:
    pk = build_node(load_settings(make_node_dir("PK", "Pakistan")))
    ir = build_node(load_settings(make_node_dir("IR", "Iran")))
    pair(pk, ir)
    yield pk, ir
    pk.dispose()
    ir.dispose()


def _view(node: Node, joint_id: str) -> dict:  # type: ignore[type-arg]
    with node.sessions() as session:
        return joint.access_joint_record(session, SystemActor(), joint_id)


def test_a_proposal_is_agreed_on_both_sides_only_after_the_other_side_accepts(
    nodes: tuple[Node, Node],
) -> None:
    pk, ir = nodes
    with pk.transaction() as session:
        proposal = joint.propose(
            session,
            pk,
            subject="test",
            title="S5 impact level",
            signatories=["IR"],
            content={"section": "S5", "level": "high"},
            actor=SystemActor("pk.commander"),
        )
    joint_id, digest = proposal.joint_id, proposal.content_hash
    deliver(pk, ir)
    assert _view(ir, joint_id)["agreed"]["content_hash"] is None
    assert _view(ir, joint_id)["pending"][digest] == {"IR": "pending", "PK": "accept"}
    with ir.transaction() as session:
        joint.decide(
            session,
            ir,
            joint_id=joint_id,
            content_hash=digest,
            decision="accept",
            actor=SystemActor("ir.commander"),
        )
    assert _view(ir, joint_id)["agreed"]["content"] == {"section": "S5", "level": "high"}
    assert _view(pk, joint_id)["agreed"]["content_hash"] is None  # PK has not heard yet
    deliver(ir, pk)
    assert _view(pk, joint_id)["agreed"]["content_hash"] == digest


def test_until_a_counter_proposal_is_accepted_the_last_agreed_content_stands(
    nodes: tuple[Node, Node],
) -> None:
    pk, ir = nodes
    with pk.transaction() as session:
        first = joint.propose(
            session,
            pk,
            subject="test",
            title="level",
            signatories=["IR"],
            content={"level": "medium"},
            actor=SystemActor("pk"),
        )
    deliver(pk, ir)
    with ir.transaction() as session:
        joint.decide(
            session,
            ir,
            joint_id=first.joint_id,
            content_hash=first.content_hash,
            decision="accept",
            actor=SystemActor("ir"),
        )
    deliver(ir, pk)
    with pk.transaction() as session:
        counter = joint.propose(
            session,
            pk,
            subject="test",
            title="level",
            signatories=["IR"],
            content={"level": "high"},
            actor=SystemActor("pk"),
            joint_id=first.joint_id,
        )
    deliver(pk, ir)
    with ir.transaction() as session, pytest.raises(InvalidInput, match="reason"):
        joint.decide(
            session,
            ir,
            joint_id=first.joint_id,
            content_hash=counter.content_hash,
            decision="reject",
            actor=SystemActor("ir"),
        )
    with ir.transaction() as session:
        joint.decide(
            session,
            ir,
            joint_id=first.joint_id,
            content_hash=counter.content_hash,
            decision="reject",
            reason="no incidents in S5 this month",
            actor=SystemActor("ir"),
        )
    deliver(ir, pk)
    for node in (pk, ir):
        view = _view(node, first.joint_id)
        assert view["agreed"]["content"] == {"level": "medium"}
        assert view["pending"][counter.content_hash]["IR"] == "reject"


def test_a_decision_on_content_never_proposed_is_refused_and_sends_nothing(nodes: tuple[Node, Node]) -> None:
    pk, ir = nodes
    with pk.transaction() as session:
        proposal = joint.propose(
            session,
            pk,
            subject="test",
            title="x",
            signatories=["IR"],
            content={"n": 1},
            actor=SystemActor("pk"),
        )
    deliver(pk, ir)
    with ir.transaction() as session, pytest.raises(NotFound):
        joint.decide(
            session,
            ir,
            joint_id=proposal.joint_id,
            content_hash="f" * 64,
            decision="accept",
            actor=SystemActor("ir"),
        )
    assert deliver(ir, pk).applied == 0


def test_a_proposal_with_an_unknown_subject_is_refused(nodes: tuple[Node, Node]) -> None:
    pk, _ = nodes
    with pk.transaction() as session, pytest.raises(InvalidInput, match="unknown joint-record subject"):
        joint.propose(
            session, pk, subject="no.such", title="x", signatories=["IR"], content={}, actor=SystemActor("pk")
        )


def test_a_forged_proposal_from_a_non_signatory_is_quarantined_not_applied(nodes: tuple[Node, Node]) -> None:
    pk, ir = nodes
    with pk.transaction() as session:
        # PK proposes a joint record whose signatories do not include IR, yet releases it to IR.
        from sarhad.exchange import release

        content = joint.ProposalContent(
            joint_id="forged",
            subject="test",
            title="x",
            signatories=["AF", "PK"],
            content={},
            content_hash=release.content_hash({}),
            proposed_by="pk",
        ).model_dump()
        release.release_record(
            session,
            pk,
            kind=joint.PROPOSAL_KIND,
            record_id="forged.p1.PK",
            version=1,
            content=content,
            to=["IR"],
            actor=SystemActor("pk"),
        )
    result = deliver(pk, ir)
    assert result.quarantined == 1
    with ir.sessions() as session:
        row = session.get(InboundEnvelope, ("PK>IR", 1))
        assert row is not None and row.status == "quarantined" and "signatory" in row.reason
