"""Impact levels of border sections, built on the exchange's joint records (the one write path is
``exchange.joint.propose`` / ``decide``; this module checks the impact rules first and reads the state back).

Each section has a joint record of subject ``border.section_impact`` whose signatories are the two parties of
the section's border line. Normally there is exactly one per section; if both parties made the first proposal
for a section at the same moment there are two, and the level in force is the most recently agreed of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.border.models import BorderLine, BorderSection
from sarhad.core.errors import Conflict, ErrorCode, InvalidInput, NotFound, PermissionDenied, RuleError
from sarhad.core.node import Node
from sarhad.exchange import joint
from sarhad.exchange.models import JointDecision, JointProposal, JointRecord
from sarhad.exchange.peers import peer_parties
from sarhad.impact import domain
from sarhad.impact.domain import SUBJECT, Level
from sarhad.impact.schemas import ImpactContent

joint.register_subject(SUBJECT, ImpactContent)  # also in handlers.py, which the exchange loads on receipt


# --- reading the state --------------------------------------------------------------------------------------


@dataclass
class _SectionJoints:
    records: list[JointRecord]
    proposals: list[JointProposal]  # oldest first
    decisions: list[JointDecision]  # oldest first


def _joints_by_section(session: Session) -> dict[str, _SectionJoints]:
    records = {
        j.id: j for j in session.scalars(select(JointRecord).where(JointRecord.subject == SUBJECT)).all()
    }
    result: dict[str, _SectionJoints] = {}
    if not records:
        return result
    proposals = session.scalars(
        select(JointProposal).where(JointProposal.joint_id.in_(list(records))).order_by(JointProposal.id)
    ).all()
    section_of: dict[str, str] = {}
    for p in proposals:
        section = str(p.content.get("section", ""))
        section_of.setdefault(p.joint_id, section)
        entry = result.setdefault(section, _SectionJoints([], [], []))
        if records[p.joint_id] not in entry.records:
            entry.records.append(records[p.joint_id])
        entry.proposals.append(p)
    decisions = session.scalars(
        select(JointDecision).where(JointDecision.joint_id.in_(list(records))).order_by(JointDecision.id)
    ).all()
    for d in decisions:
        decided_section = section_of.get(d.joint_id)
        if decided_section is not None:
            result[decided_section].decisions.append(d)
    return result


def _agreed(entry: _SectionJoints | None) -> JointRecord | None:
    if entry is None:
        return None
    agreed = [j for j in entry.records if j.agreed_at is not None]
    return max(agreed, key=lambda j: j.agreed_at or datetime.min) if agreed else None


def _pending(
    entry: _SectionJoints | None, agreed: JointRecord | None, now: datetime
) -> dict[str, Any] | None:
    """The newest proposal, if it is newer than the agreement and neither agreed nor rejected by anyone.

    A counter-proposal supersedes the proposals before it, so only the newest one can be pending.
    """
    if entry is None:
        return None
    agreed_proposal_id = -1
    if agreed is not None:
        agreed_proposal_id = max(
            (
                p.id
                for p in entry.proposals
                if p.joint_id == agreed.id and p.content_hash == agreed.agreed_hash
            ),
            default=-1,
        )
    if not entry.proposals:
        return None
    proposal = entry.proposals[-1]
    joint_record = next(j for j in entry.records if j.id == proposal.joint_id)
    if proposal.id <= agreed_proposal_id or joint_record.agreed_hash == proposal.content_hash:
        return None
    positions = {party: "pending" for party in joint_record.signatories}
    positions[proposal.proposer] = "accept"
    for d in entry.decisions:
        if d.joint_id == proposal.joint_id and d.content_hash == proposal.content_hash:
            positions[d.party] = d.decision
    if "reject" in positions.values():
        return None  # the newest proposal was rejected: nothing is pending (older ones were superseded)
    content = proposal.content
    expires = datetime.fromisoformat(content["expires_at"]) if content.get("expires_at") else None
    return {
        "joint_id": proposal.joint_id,
        "content_hash": proposal.content_hash,
        "level": content.get("level"),
        "expires_at": expires,
        "reason": content.get("reason", ""),
        "proposer": proposal.proposer,
        "proposed_by": proposal.proposed_by,
        "proposed_at": proposal.at,
        "positions": positions,
        "expired": expires is not None and now >= expires,
    }


def _section_counts(session: Session, now: datetime) -> dict[str, dict[str, int]] | None:
    """Incidents of the last 30 days per section and incident impact level (None: incidents not installed)."""
    try:
        from sarhad.incidents.reading import section_counts
    except ImportError:
        return None
    return section_counts(session, since=now - domain.SUGGESTION_WINDOW, until=now)


def _section_parties(session: Session) -> dict[str, tuple[BorderSection, list[str]]]:
    lines = {line.id: line for line in session.scalars(select(BorderLine)).all()}
    result: dict[str, tuple[BorderSection, list[str]]] = {}
    for section in session.scalars(
        select(BorderSection).order_by(BorderSection.line_id, BorderSection.seq)
    ).all():
        line = lines.get(section.line_id)
        parties = sorted({line.left_party, line.right_party}) if line else []
        result[section.id] = (section, parties)
    return result


def _view(
    section: BorderSection,
    parties: list[str],
    entry: _SectionJoints | None,
    counts: dict[str, dict[str, int]] | None,
    now: datetime,
) -> dict[str, Any]:
    agreed = _agreed(entry)
    in_force = domain.level_in_force(agreed.agreed_content if agreed else None, now)
    suggestion: domain.Suggestion | None = None
    if counts is None:
        suggested, reason = None, "no incident counts on this node (the incidents package is not installed)"
    else:
        suggestion = domain.suggest_level(counts.get(section.id, {}))
        suggested, reason = suggestion.level.value, suggestion.reason
    primary = max(entry.records, key=lambda j: j.created_at).id if entry and entry.records else None
    return {
        "section": section.id,
        "names": dict(section.names or {}),
        "parties": parties,
        "level": in_force.level.value,
        "agreed_at": agreed.agreed_at if agreed else None,
        "expires_at": in_force.expires_at,
        "reverted_from_critical": in_force.expired_critical,
        "revert_to": in_force.revert_to.value,
        "joint_id": agreed.id if agreed else primary,
        "pending": _pending(entry, agreed, now),
        "suggested": suggested,
        "suggestion_reason": reason,
        "suggestion": suggestion,
    }


def section_levels(
    session: Session, node: Node, actor: Actor, at: datetime | None = None
) -> list[dict[str, Any]]:
    """Every section's level in force, pending proposal and suggested level, in border order."""
    require(actor, Permission.BORDER_READ, "reading the border")
    now = at or node.clock.now()
    joints = _joints_by_section(session)
    counts = _section_counts(session, now)
    return [
        _view(section, parties, joints.get(section_id), counts, now)
        for section_id, (section, parties) in _section_parties(session).items()
    ]


def section_level(
    session: Session, node: Node, actor: Actor, section_id: str, at: datetime | None = None
) -> dict[str, Any]:
    """One section's level in force, pending proposal and suggested level; an unknown section is refused."""
    require(actor, Permission.BORDER_READ, "reading the border")
    return _section_level(session, node, section_id, at)


def _section_level(
    session: Session, node: Node, section_id: str, at: datetime | None = None
) -> dict[str, Any]:
    now = at or node.clock.now()
    sections = _section_parties(session)
    if section_id not in sections:
        raise NotFound(
            f"no border section {section_id!r}; known: {', '.join(sections) or 'none'}",
            code=ErrorCode.UNKNOWN_SECTION,
        )
    section, parties = sections[section_id]
    return _view(
        section, parties, _joints_by_section(session).get(section_id), _section_counts(session, now), now
    )


def history(session: Session, node: Node, actor: Actor, section_id: str) -> list[dict[str, Any]]:
    """Every proposal and decision on the section's level, oldest first."""
    require(actor, Permission.BORDER_READ, "reading the border")
    _section_level(session, node, section_id)  # refuses an unknown section
    entry = _joints_by_section(session).get(section_id)
    if entry is None:
        return []
    by_hash = {(p.joint_id, p.content_hash): p.content for p in entry.proposals}
    items: list[dict[str, Any]] = [
        {
            "at": p.at,
            "joint_id": p.joint_id,
            "act": "propose",
            "party": p.proposer,
            "by": p.proposed_by,
            "content_hash": p.content_hash,
            "level": p.content.get("level"),
            "reason": p.content.get("reason", ""),
            "content": p.content,
        }
        for p in entry.proposals
    ]
    items += [
        {
            "at": d.at,
            "joint_id": d.joint_id,
            "act": d.decision,
            "party": d.party,
            "by": d.decided_by,
            "content_hash": d.content_hash,
            "level": (by_hash.get((d.joint_id, d.content_hash)) or {}).get("level"),
            "reason": d.reason,
            "content": None,
        }
        for d in entry.decisions
    ]
    return sorted(items, key=lambda item: item["at"])


# --- writing (through the joint mechanism) -----------------------------------------------------------------


def _signatories(session: Session, node: Node, section_id: str) -> tuple[BorderSection, list[str]]:
    sections = _section_parties(session)
    if section_id not in sections:
        raise NotFound(
            f"no border section {section_id!r}; known: {', '.join(sections) or 'none'}",
            code=ErrorCode.UNKNOWN_SECTION,
        )
    section, parties = sections[section_id]
    if node.party not in parties:
        raise PermissionDenied(
            f"section {section_id} lies on the border of {', '.join(parties)}, not of {node.party}"
        )
    others = [p for p in parties if p != node.party]
    peers = peer_parties(session)
    missing = [p for p in others if p not in peers]
    if missing:
        raise InvalidInput(
            f"{', '.join(missing)} is not a configured peer; its agreement cannot be asked",
            code=ErrorCode.NO_PEER,
        )
    return section, others


def propose_level(
    session: Session,
    node: Node,
    actor: Actor,
    section_id: str,
    level: str,
    *,
    expires_at: datetime | None = None,
    reason: str = "",
    client_ip: str = "",
) -> dict[str, Any]:
    """Propose a new level for a section to the other party; nothing changes until it accepts."""
    require(actor, Permission.JOINT_DECIDE, "proposing joint decisions")
    section, others = _signatories(session, node, section_id)
    now = node.clock.now()
    current = _section_level(session, node, section_id, now)
    try:
        content = domain.proposal_content(
            section=section.id,
            level=level,
            reason=reason,
            proposed_at=now,
            expires_at=expires_at,
            revert_level=Level(current["revert_to"]),
        )
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    if content["level"] == current["level"] and content["level"] != Level.CRITICAL:
        raise Conflict(f"section {section_id} is already at {current['level']}", code=ErrorCode.UNCHANGED)
    pending = current["pending"]
    if (
        pending is not None
        and pending["proposer"] == node.party
        and pending["level"] == content["level"]
        and content["level"] != Level.CRITICAL
    ):
        raise Conflict(
            f"{node.party} already proposed {content['level']} for section {section_id}; "
            "wait for the other side's decision",
            code=ErrorCode.ALREADY_PROPOSED,
        )
    joint.propose(
        session,
        node,
        subject=SUBJECT,
        title=f"Impact level of border section {section.id}",
        signatories=others,
        content=content,
        actor=actor,
        joint_id=current["joint_id"],
    )
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="impact.propose",
        record_kind="impact_level",
        record_id=section.id,
        client_ip=client_ip,
        details={"level": content["level"], "from": current["level"], "expires_at": content["expires_at"]},
    )
    return _section_level(session, node, section_id)


def decide_level(
    session: Session,
    node: Node,
    actor: Actor,
    section_id: str,
    content_hash: str,
    decision: str,
    *,
    reason: str = "",
    client_ip: str = "",
) -> dict[str, Any]:
    """Accept or reject the pending proposal for a section (the other party's, or reject one's own)."""
    require(actor, Permission.JOINT_DECIDE, "deciding joint records")
    _signatories(session, node, section_id)
    current = _section_level(session, node, section_id)
    pending = current["pending"]
    if pending is None or pending["content_hash"] != content_hash:
        raise Conflict(
            f"proposal {content_hash[:12]}… is not the pending proposal for section {section_id}"
            + (f" (the pending one is {pending['content_hash'][:12]}…)" if pending else " (none is pending)"),
            code=ErrorCode.NOT_PENDING,
        )
    if decision not in ("accept", "reject"):
        raise InvalidInput("decision: accept or reject", details={"field": "decision"})
    if decision == "accept" and pending["positions"].get(node.party) == "accept":
        raise Conflict(
            f"{node.party} already accepts this proposal (a proposal counts as its proposer's "
            "acceptance); the other side decides now",
            code=ErrorCode.ALREADY_ACCEPTED,
        )
    if decision == "accept" and pending["expired"]:
        raise Conflict("this critical proposal has expired; propose again", code=ErrorCode.EXPIRED)
    if decision == "reject" and not reason.strip():
        raise InvalidInput("reason: a rejection needs a reason", details={"field": "reason"})
    joint.decide(
        session,
        node,
        joint_id=pending["joint_id"],
        content_hash=content_hash,
        decision=decision,
        actor=actor,
        reason=reason.strip(),
    )
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action=f"impact.{decision}",
        record_kind="impact_level",
        record_id=section_id,
        client_ip=client_ip,
        details={"level": pending["level"], "content_hash": content_hash},
    )
    return _section_level(session, node, section_id)


def section_ids(session: Session) -> Sequence[str]:
    """The border's section ids in border order (reference data, no permission needed)."""
    return list(_section_parties(session))
