"""Configuration of the hotline: acknowledgement deadlines, escalation policies, and the channels between
our positions and their counterpart positions on another party (with the reference scenario's seeding).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import require
from sarhad.accounts.domain import Permission
from sarhad.accounts.models import Position
from sarhad.audit.services import record_event
from sarhad.core.errors import ErrorCode, InvalidInput, NotFound, RuleError
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.core.text import check_title
from sarhad.exchange.models import Peer
from sarhad.hotline import domain
from sarhad.hotline.access import Actor
from sarhad.hotline.models import EscalationPolicy, HotlineChannel, HotlineSetting

DEADLINES_KEY = "ack_deadlines"


def deadlines(session: Session) -> dict[str, int]:
    """Acknowledgement deadline per precedence, in seconds (this deployment's table, else the defaults)."""
    row = session.get(HotlineSetting, DEADLINES_KEY)
    if row is None or not isinstance(row.value, dict):
        return dict(domain.DEFAULT_DEADLINES)
    try:
        return domain.check_deadlines(row.value)
    except RuleError:
        return dict(domain.DEFAULT_DEADLINES)


def set_deadlines(session: Session, node: Node, actor: Actor, values: dict[str, int]) -> dict[str, int]:
    """Set the acknowledgement deadlines (``hotline.admin``); messages already received keep theirs."""
    require(actor, Permission.HOTLINE_ADMIN, "configuring the hotline")
    try:
        table = domain.check_deadlines(values)
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    row = session.get(HotlineSetting, DEADLINES_KEY)
    now = node.clock.now()
    if row is None:
        session.add(HotlineSetting(key=DEADLINES_KEY, value=table, updated_at=now, updated_by=actor.username))
    else:
        row.value, row.updated_at, row.updated_by = table, now, actor.username
    record_event(
        session, node.clock, actor=actor.username, action="hotline.deadlines", details={"deadlines": table}
    )
    return table


def policy_of(session: Session, position_id: str) -> tuple[list[domain.PolicyStep], int]:
    """A position's escalation policy (steps, max repeats); the default one when it has none."""
    row = session.get(EscalationPolicy, position_id)
    if row is None:
        return list(domain.DEFAULT_POLICY_STEPS), domain.DEFAULT_MAX_REPEATS
    return domain.check_policy(row.steps, row.max_repeats), row.max_repeats


def set_policy(
    session: Session,
    node: Node,
    actor: Actor,
    position_id: str,
    steps: Sequence[dict[str, Any]],
    max_repeats: int,
) -> EscalationPolicy:
    """Set a position's escalation policy. Messages already received keep the policy frozen into them."""
    require(actor, Permission.HOTLINE_ADMIN, "configuring escalation policies")
    position = session.get(Position, position_id)
    if position is None or position.party != node.party:
        raise NotFound(f"no position {position_id!r} of {node.party}", code=ErrorCode.UNKNOWN_POSITION)
    try:
        checked = domain.check_policy(steps, max_repeats)
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    for step in checked:
        if step.notify != "parent" and session.get(Position, step.notify) is None:
            raise InvalidInput(f"steps: no position {step.notify!r} to notify", details={"field": "steps"})
    stored = [{"wait_seconds": s.wait_seconds, "notify": s.notify} for s in checked]
    row = session.get(EscalationPolicy, position_id)
    now = node.clock.now()
    if row is None:
        row = EscalationPolicy(
            position_id=position_id,
            steps=stored,
            max_repeats=max_repeats,
            updated_at=now,
            updated_by=actor.username,
        )
        session.add(row)
    else:
        row.steps, row.max_repeats, row.updated_at, row.updated_by = stored, max_repeats, now, actor.username
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="hotline.policy",
        record_kind="position",
        record_id=position_id,
        details={"steps": stored, "max_repeats": max_repeats},
    )
    return row


def upsert_channel(
    session: Session,
    node: Node,
    actor: Actor,
    *,
    own_position: str,
    counterpart_party: str,
    counterpart_position: str,
    counterpart_names: dict[str, str],
) -> HotlineChannel:
    """Add (or re-activate) the channel between one of our positions and a counterpart's (``hotline.admin``)."""
    require(actor, Permission.HOTLINE_ADMIN, "configuring hotline channels")
    position = session.get(Position, own_position)
    if position is None or position.party != node.party:
        raise NotFound(f"no position {own_position!r} of {node.party}", code=ErrorCode.UNKNOWN_POSITION)
    if counterpart_party == node.party:
        raise InvalidInput(
            "counterpart_party: a channel joins two parties", details={"field": "counterpart_party"}
        )
    if session.get(Peer, counterpart_party) is None:
        raise InvalidInput(
            f"counterpart_party: {counterpart_party} is not a peer of this node (pair first)",
            details={"field": "counterpart_party"},
        )
    if not domain.POSITION_PATTERN.fullmatch(counterpart_position):
        raise InvalidInput(
            "counterpart_position: not a position id", details={"field": "counterpart_position"}
        )
    if not counterpart_names.get("en"):
        raise InvalidInput(
            "counterpart_names: an English name is needed", details={"field": "counterpart_names"}
        )
    try:
        for language, name in counterpart_names.items():
            check_title(name, f"counterpart_names.{language}")  # no bidi overrides (sarhad.core.text)
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    row = session.scalar(
        select(HotlineChannel).where(
            HotlineChannel.own_position_id == own_position,
            HotlineChannel.counterpart_party == counterpart_party,
            HotlineChannel.counterpart_position_id == counterpart_position,
        )
    )
    if row is None:
        row = HotlineChannel(
            id=new_id(),
            own_position_id=own_position,
            counterpart_party=counterpart_party,
            counterpart_position_id=counterpart_position,
            counterpart_names=counterpart_names,
            active=True,
            created_at=node.clock.now(),
            created_by=actor.username,
        )
        session.add(row)
    else:
        row.counterpart_names, row.active = counterpart_names, True
    session.flush()
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="hotline.channel",
        record_kind="hotline.channel",
        record_id=row.id,
        details={"own": own_position, "counterpart": f"{counterpart_party}:{counterpart_position}"},
    )
    return row


def list_channels(session: Session) -> Sequence[HotlineChannel]:
    """The active channels, by our position then the counterpart's."""
    return session.scalars(
        select(HotlineChannel)
        .where(HotlineChannel.active.is_(True))
        .order_by(HotlineChannel.own_position_id, HotlineChannel.counterpart_position_id)
    ).all()


def _compose(
    head: dict[str, str], *parts: dict[str, str], bracket: dict[str, str] | None = None
) -> dict[str, str]:
    """Names per language from parts (each falling back to English), with the script's own separator."""
    out: dict[str, str] = {}
    for lang, text in head.items():
        separator = "، " if lang in ("ur", "fa") else ", "
        for part in parts:
            text += separator + (part.get(lang) or part.get("en", ""))
        if bracket:
            text += f" ({bracket.get(lang) or bracket.get('en', '')})"
        out[lang] = text
    return out


def seed_reference_channels(
    session: Session, node: Node, actor: Actor, counterpart: str
) -> list[HotlineChannel]:
    """The reference scenario's counterpart pairs: each section's commanders, and the two ministries."""
    from sarhad.border.seeding import COMMANDER_NAMES, MINISTRY_NAMES, reference_data

    ref = reference_data()
    parties = {p["code"]: p.get("names", {"en": p["code"]}) for p in ref.get("parties", [])}
    other = parties.get(counterpart, {"en": counterpart})
    pairs: list[tuple[str, str, dict[str, str]]] = [
        (f"{node.party}-MOI", f"{counterpart}-MOI", _compose(dict(MINISTRY_NAMES), bracket=other))
    ]
    for section in sorted(ref.get("sections", []), key=lambda s: s.get("order", 0)):
        sid = section["id"]
        pairs.append(
            (
                f"{node.party}-{sid}-CDR",
                f"{counterpart}-{sid}-CDR",
                _compose(
                    {lang: f"{head} {sid}" for lang, head in COMMANDER_NAMES.items()},
                    section.get("names", {}),
                    bracket=other,
                ),
            )
        )
    out = []
    for own, theirs, names in pairs:
        if session.get(Position, own) is None:
            continue
        out.append(
            upsert_channel(
                session,
                node,
                actor,
                own_position=own,
                counterpart_party=counterpart,
                counterpart_position=theirs,
                counterpart_names=names,
            )
        )
    return out
