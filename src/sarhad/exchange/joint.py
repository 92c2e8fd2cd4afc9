"""Joint records: objects every named signatory must agree on (minutes, exchange lists, impact levels …).

One party proposes content; each signatory accepts or rejects that exact content hash; a counter-proposal
is simply another proposal. The record is agreed on a content hash once every signatory has accepted it
(the proposer's proposal counts as its acceptance). Until then the last agreed content stands (EUROSUR
Art. 34(3): no agreement, no change).

Each party's acts travel as that party's own records over the link: ``joint.proposal`` and
``joint.decision``. Every node recomputes the state from the same acts with the pure function
``agreement_state``, so both sides reach the same answer without trusting the other's conclusion.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.core.errors import Conflict, ErrorCode, InvalidInput, NotFound, PermissionDenied, RecordRefused
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.exchange import release
from sarhad.exchange.domain import Handling, Tlp
from sarhad.exchange.models import JointDecision, JointProposal, JointRecord
from sarhad.exchange.registry import IncomingRecord, RecordKind, register_kind

PROPOSAL_KIND = "joint.proposal"
DECISION_KIND = "joint.decision"
SUBJECTS: dict[str, type[BaseModel] | None] = {}
"""Registered subjects and the schema of their content (None: any JSON object)."""


ChangeListener = Callable[[Session, Node, JointRecord], None]
LISTENERS: dict[str, ChangeListener] = {}
"""Per subject: called in the transaction whenever a joint record about it gets a proposal or a decision
(own or received), e.g. to tell live clients (the impact levels tell the maps)."""


def register_subject(
    name: str, schema: type[BaseModel] | None = None, on_change: ChangeListener | None = None
) -> None:
    """Let joint records be made about ``name``, their content checked against ``schema`` (None: any object)."""
    SUBJECTS[name] = schema
    if on_change is not None:
        LISTENERS[name] = on_change


register_subject("test")


# --- pure rule ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Act:
    party: str
    content_hash: str
    decision: str  # "propose", "accept" or "reject"
    order: int  # arrival order on this node: later acts replace earlier ones by the same party


@dataclass(frozen=True)
class AgreementState:
    agreed_hash: str | None
    pending: dict[str, dict[str, str]]  # content hash -> party -> "accept"/"reject"/"pending"


def agreement_state(
    signatories: Sequence[str], acts: Iterable[Act], previously_agreed: str | None
) -> AgreementState:
    """The agreed content hash: the newest hash that every signatory has accepted (or proposed).

    A party's newest act on a hash is its position on that hash. A reject never undoes an agreement already
    reached; it only keeps a proposal from becoming agreed.
    """
    positions: dict[str, dict[str, tuple[int, str]]] = {}
    for act in sorted(acts, key=lambda a: a.order):
        verdict = "accept" if act.decision in ("propose", "accept") else "reject"
        positions.setdefault(act.content_hash, {})[act.party] = (act.order, verdict)
    agreed = previously_agreed
    agreed_order = -1
    for content_hash, by_party in positions.items():
        if all(by_party.get(p, (0, ""))[1] == "accept" for p in signatories):
            order = max(o for o, _ in by_party.values())
            if order > agreed_order:
                agreed, agreed_order = content_hash, order
    pending = {
        h: {p: by_party.get(p, (0, "pending"))[1] for p in signatories}
        for h, by_party in positions.items()
        if h != agreed
    }
    return AgreementState(agreed_hash=agreed, pending=pending)


# --- wire schemas -------------------------------------------------------------------------------------------


class ProposalContent(BaseModel):
    joint_id: str = Field(min_length=1, max_length=64)
    subject: str = Field(min_length=1, max_length=64)
    title: str = Field(max_length=300)
    signatories: list[str] = Field(min_length=2, max_length=16)
    content: dict[str, Any]
    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    based_on_hash: str | None = None
    proposed_by: str = Field(max_length=64)


class DecisionContent(BaseModel):
    joint_id: str = Field(min_length=1, max_length=64)
    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    decision: str = Field(pattern=r"^(accept|reject)$")
    reason: str = Field(default="", max_length=2000)
    decided_by: str = Field(max_length=64)


# --- services -----------------------------------------------------------------------------------------------


def _check_subject(subject: str, content: dict[str, Any]) -> None:
    if subject not in SUBJECTS:
        raise InvalidInput(f"unknown joint-record subject {subject!r}; known: {', '.join(sorted(SUBJECTS))}")
    schema = SUBJECTS[subject]
    if schema is not None:
        schema.model_validate(content)


def _send_to_signatories(
    session: Session,
    node: Node,
    joint: JointRecord,
    kind: str,
    record_id: str,
    content: dict[str, Any],
    actor: Actor,
) -> None:
    """A party's act goes to every other signatory: proposing on a joint record is the release."""
    others = [p for p in joint.signatories if p != node.party]
    release.release_record(
        session,
        node,
        kind=kind,
        record_id=record_id,
        version=1,
        content=content,
        to=others,
        handling=Handling.NO_ONWARD.value,
        tlp=Tlp.AMBER.value,
        actor=actor,
    )


def propose(
    session: Session,
    node: Node,
    *,
    subject: str,
    title: str,
    signatories: Sequence[str],
    content: dict[str, Any],
    actor: Actor,
    joint_id: str | None = None,
) -> JointProposal:
    """Create a joint record with a first proposal, or counter-propose new content on an existing one."""
    require(actor, Permission.JOINT_DECIDE, "proposing joint records")
    _check_subject(subject, content)
    joint = session.get(JointRecord, joint_id) if joint_id else None
    if joint_id and joint is None:
        raise NotFound(f"no joint record {joint_id}")
    if joint is None:
        parties = sorted(set(signatories) | {node.party})
        if len(parties) < 2:
            raise InvalidInput("a joint record needs at least two signatories")
        joint = JointRecord(
            id=new_id(),
            subject=subject,
            title=title,
            signatories=parties,
            created_by=node.party,
            created_at=node.clock.now(),
            agreed_content=None,
            agreed_hash=None,
            agreed_at=None,
        )
        session.add(joint)
    elif joint.subject != subject:
        raise InvalidInput(f"joint record {joint.id} is about {joint.subject}, not {subject}")
    if node.party not in joint.signatories:
        raise PermissionDenied(f"{node.party} is not a signatory of joint record {joint.id}")
    digest = release.content_hash(content)
    if session.scalar(
        select(JointProposal.id).where(
            JointProposal.joint_id == joint.id, JointProposal.content_hash == digest
        )
    ):
        raise Conflict(
            "this exact content was already proposed; accept it instead", code=ErrorCode.ALREADY_PROPOSED
        )
    proposal = JointProposal(
        joint_id=joint.id,
        proposer=node.party,
        content=content,
        content_hash=digest,
        based_on_hash=joint.agreed_hash,
        proposed_by=actor.username,
        at=node.clock.now(),
    )
    session.add(proposal)
    session.flush()
    wire = ProposalContent(
        joint_id=joint.id,
        subject=joint.subject,
        title=joint.title,
        signatories=list(joint.signatories),
        content=content,
        content_hash=digest,
        based_on_hash=joint.agreed_hash,
        proposed_by=actor.username,
    ).model_dump()
    _send_to_signatories(
        session, node, joint, PROPOSAL_KIND, f"{joint.id}.p{proposal.id}.{node.party}", wire, actor
    )
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="joint.propose",
        record_kind="joint",
        record_id=joint.id,
        details={"content_hash": digest, "subject": subject},
    )
    _recompute(session, node, joint)
    return proposal


def decide(
    session: Session,
    node: Node,
    *,
    joint_id: str,
    content_hash: str,
    decision: str,
    actor: Actor,
    reason: str = "",
) -> JointDecision:
    """This party accepts or rejects one proposed content hash."""
    require(actor, Permission.JOINT_DECIDE, "deciding joint records")
    joint = session.get(JointRecord, joint_id)
    if joint is None:
        raise NotFound(f"no joint record {joint_id}")
    if decision not in ("accept", "reject"):
        raise InvalidInput("decision must be accept or reject")
    if node.party not in joint.signatories:
        raise PermissionDenied(f"{node.party} is not a signatory of joint record {joint_id}")
    if (
        session.scalar(
            select(JointProposal.id).where(
                JointProposal.joint_id == joint_id, JointProposal.content_hash == content_hash
            )
        )
        is None
    ):
        raise NotFound(f"no proposal with content hash {content_hash} on joint record {joint_id}")
    if decision == "reject" and not reason.strip():
        raise InvalidInput("a rejection needs a reason")
    row = JointDecision(
        joint_id=joint_id,
        content_hash=content_hash,
        party=node.party,
        decision=decision,
        reason=reason,
        decided_by=actor.username,
        at=node.clock.now(),
    )
    session.add(row)
    session.flush()
    wire = DecisionContent(
        joint_id=joint_id,
        content_hash=content_hash,
        decision=decision,
        reason=reason,
        decided_by=actor.username,
    ).model_dump()
    _send_to_signatories(
        session, node, joint, DECISION_KIND, f"{joint_id}.d{row.id}.{node.party}", wire, actor
    )
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action=f"joint.{decision}",
        record_kind="joint",
        record_id=joint_id,
        details={"content_hash": content_hash, "reason": reason},
    )
    _recompute(session, node, joint)
    return row


def _acts(session: Session, joint_id: str) -> list[Act]:
    acts = [
        Act(p.proposer, p.content_hash, "propose", p.id * 2)
        for p in session.scalars(select(JointProposal).where(JointProposal.joint_id == joint_id)).all()
    ]
    acts += [
        Act(d.party, d.content_hash, d.decision, d.id * 2 + 1)
        for d in session.scalars(select(JointDecision).where(JointDecision.joint_id == joint_id)).all()
    ]
    return acts


def _recompute(session: Session, node: Node, joint: JointRecord) -> None:
    session.flush()
    state = agreement_state(joint.signatories, _acts(session, joint.id), joint.agreed_hash)
    if state.agreed_hash and state.agreed_hash != joint.agreed_hash:
        proposal = session.scalar(
            select(JointProposal).where(
                JointProposal.joint_id == joint.id, JointProposal.content_hash == state.agreed_hash
            )
        )
        assert proposal is not None
        joint.agreed_hash, joint.agreed_content, joint.agreed_at = (
            state.agreed_hash,
            proposal.content,
            node.clock.now(),
        )
        record_event(
            session,
            node.clock,
            actor="system",
            action="joint.agreed",
            record_kind="joint",
            record_id=joint.id,
            details={"content_hash": state.agreed_hash},
        )
    listener = LISTENERS.get(joint.subject)
    if listener is not None:
        listener(session, node, joint)


def access_joint_record(session: Session, actor: Actor, joint_id: str) -> dict[str, Any]:
    """A joint record with its agreed content, what is pending, and every proposal and decision."""
    require(actor, Permission.JOINT_DECIDE, "reading joint records")
    return _view(session, joint_id)


def access_joint_records(session: Session, actor: Actor, subject: str | None = None) -> list[dict[str, Any]]:
    """Every joint record (about ``subject``, if given), newest first, as :func:`access_joint_record` shows it."""
    require(actor, Permission.JOINT_DECIDE, "reading joint records")
    query = select(JointRecord.id).order_by(JointRecord.created_at.desc())
    if subject:
        query = query.where(JointRecord.subject == subject)
    return [_view(session, joint_id) for joint_id in session.scalars(query).all()]


def _view(session: Session, joint_id: str) -> dict[str, Any]:
    joint = session.get(JointRecord, joint_id)
    if joint is None:
        raise NotFound(f"no joint record {joint_id}")
    state = agreement_state(joint.signatories, _acts(session, joint.id), joint.agreed_hash)
    proposals = session.scalars(
        select(JointProposal).where(JointProposal.joint_id == joint_id).order_by(JointProposal.id)
    ).all()
    decisions = session.scalars(
        select(JointDecision).where(JointDecision.joint_id == joint_id).order_by(JointDecision.id)
    ).all()
    return {
        "id": joint.id,
        "subject": joint.subject,
        "title": joint.title,
        "signatories": joint.signatories,
        "agreed": {
            "content": joint.agreed_content,
            "content_hash": joint.agreed_hash,
            "at": joint.agreed_at.isoformat() if joint.agreed_at else None,
        },
        "pending": state.pending,
        "proposals": [
            {
                "proposer": p.proposer,
                "content": p.content,
                "content_hash": p.content_hash,
                "based_on_hash": p.based_on_hash,
                "at": p.at.isoformat(),
            }
            for p in proposals
        ],
        "decisions": [
            {
                "party": d.party,
                "content_hash": d.content_hash,
                "decision": d.decision,
                "reason": d.reason,
                "at": d.at.isoformat(),
            }
            for d in decisions
        ],
    }


# --- handlers for acts received from peers ---------------------------------------------------------------


def _apply_proposal(session: Session, node: Node, record: IncomingRecord) -> None:
    wire = ProposalContent.model_validate(record.content)
    if record.origin not in wire.signatories or node.party not in wire.signatories:
        raise RecordRefused("proposal from or to a party that is not a signatory")
    if release.content_hash(wire.content) != wire.content_hash:
        raise RecordRefused("proposal content_hash does not match its content")
    try:
        _check_subject(wire.subject, wire.content)
    except InvalidInput as exc:  # a subject this node does not know
        raise RecordRefused(exc.message) from exc
    joint = session.get(JointRecord, wire.joint_id)
    if joint is None:
        joint = JointRecord(
            id=wire.joint_id,
            subject=wire.subject,
            title=wire.title,
            signatories=sorted(wire.signatories),
            created_by=record.origin,
            created_at=node.clock.now(),
            agreed_content=None,
            agreed_hash=None,
            agreed_at=None,
        )
        session.add(joint)
    elif sorted(joint.signatories) != sorted(wire.signatories) or joint.subject != wire.subject:
        raise RecordRefused("proposal changes the signatories or subject of an existing joint record")
    exists = session.scalar(
        select(JointProposal.id).where(
            JointProposal.joint_id == wire.joint_id, JointProposal.content_hash == wire.content_hash
        )
    )
    if exists is None:
        session.add(
            JointProposal(
                joint_id=wire.joint_id,
                proposer=record.origin,
                content=wire.content,
                content_hash=wire.content_hash,
                based_on_hash=wire.based_on_hash,
                proposed_by=f"{record.origin}:{wire.proposed_by}",
                at=node.clock.now(),
            )
        )
    else:
        # Same content proposed by both sides: the second proposal is an acceptance.
        session.add(
            JointDecision(
                joint_id=wire.joint_id,
                content_hash=wire.content_hash,
                party=record.origin,
                decision="accept",
                reason="",
                decided_by=f"{record.origin}:{wire.proposed_by}",
                at=node.clock.now(),
            )
        )
    _recompute(session, node, joint)


def _apply_decision(session: Session, node: Node, record: IncomingRecord) -> None:
    wire = DecisionContent.model_validate(record.content)
    joint = session.get(JointRecord, wire.joint_id)
    if joint is None or record.origin not in joint.signatories:
        raise RecordRefused(f"decision on unknown joint record {wire.joint_id} or by a non-signatory")
    session.add(
        JointDecision(
            joint_id=wire.joint_id,
            content_hash=wire.content_hash,
            party=record.origin,
            decision=wire.decision,
            reason=wire.reason,
            decided_by=f"{record.origin}:{wire.decided_by}",
            at=node.clock.now(),
        )
    )
    _recompute(session, node, joint)


register_kind(RecordKind(PROPOSAL_KIND, ProposalContent, apply=_apply_proposal))
register_kind(RecordKind(DECISION_KIND, DecisionContent, apply=_apply_decision))
