"""Sharing incidents with other parties (record kind ``incident``): releasing and withdrawing our own, the
releases and deliveries of an incident, and applying what a peer releases or withdraws (called by the exchange
through handlers.py).

Kept in one module so the lifecycle of a shared incident — release, later versions, withdrawal, receipt — reads
in one place. The content on the link is ``domain.snapshot``; its bytes are hashed (RFC 8785), so they never
change for a version once written.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.core.errors import InvalidInput, RecordRefused, RuleError
from sarhad.core.node import Node
from sarhad.exchange import services as exchange
from sarhad.exchange.models import Release
from sarhad.exchange.registry import IncomingRecord
from sarhad.exchange.services import Delivery
from sarhad.incidents import domain
from sarhad.incidents.domain import KIND, Status
from sarhad.incidents.models import Incident, IncidentVersion
from sarhad.incidents.schemas import IncidentContent
from sarhad.incidents.versions import current_content
from sarhad.incidents.writing import editable_incident

# --- releasing and withdrawing our own ------------------------------------------------------------------------


def release_incident(
    session: Session,
    node: Node,
    actor: Actor,
    incident_id: str,
    to: Sequence[str],
    *,
    tlp: str | None = None,
    handling: str | None = None,
    origin: str | None = None,
    client_ip: str = "",
) -> Incident:
    """Release one of our incidents (this and all later versions) to more parties; a received one (``origin``
    another party) is refused with the reason. Returns the incident."""
    require(actor, Permission.RECORDS_RELEASE, "releasing records to other parties")
    incident = editable_incident(session, node, incident_id, origin, "released onward")
    try:
        domain.check_releasable(incident.status)
        label = domain.check_tlp(tlp or incident.tlp)
        if domain.TLP_ORDER.index(label) < domain.TLP_ORDER.index(domain.check_tlp(incident.tlp)):
            raise RuleError("tlp", f"the incident is TLP:{incident.tlp.upper()}; a release may not loosen it")
        handling_code = domain.check_handling(handling or incident.handling)
        targets = domain.check_release_targets(node.party, to, exchange.peer_parties(session))
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    content = current_content(session, incident)
    exchange.release_record(
        session,
        node,
        kind=KIND,
        record_id=incident.id,
        version=incident.version,
        content=content,
        to=targets,
        handling=handling_code.value,
        tlp=label.value,
        actor=actor.username,
        client_ip=client_ip,
    )
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="incident.release",
        record_kind=KIND,
        record_id=incident.id,
        client_ip=client_ip,
        details={
            "to": targets,
            "version": incident.version,
            "tlp": label.value,
            "handling": handling_code.value,
        },
    )
    return incident


def withdraw_incident(
    session: Session, node: Node, actor: Actor, incident_id: str, reason: str, *, client_ip: str = ""
) -> Incident:
    """Withdraw one of our incidents: every party it went to gets a signed tombstone and stops showing it."""
    require(actor, Permission.RECORDS_RELEASE, "withdrawing released records")
    reason = reason.strip()
    if not reason or len(reason) > domain.REASON_MAX:
        raise InvalidInput(
            f"reason: say why the incident is withdrawn (1 to {domain.REASON_MAX} characters)",
            details={"field": "reason"},
        )
    incident = editable_incident(session, node, incident_id, None, "withdrawn")
    tombstones = exchange.withdraw_record(
        session,
        node,
        kind=KIND,
        record_id=incident.id,
        version=incident.version,
        actor=actor.username,
        reason=reason,
    )
    incident.withdrawn_at = node.clock.now()
    incident.withdraw_reason = reason
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="incident.withdraw",
        record_kind=KIND,
        record_id=incident.id,
        client_ip=client_ip,
        details={"version": incident.version, "tombstones": tombstones, "reason": reason},
    )
    return incident


def releases_of(session: Session, incident: Incident) -> Sequence[Release]:
    """The releases of an incident the caller has already accessed, by party."""
    return session.scalars(
        select(Release)
        .where(
            Release.record_kind == KIND, Release.record_id == incident.id, Release.origin == incident.origin
        )
        .order_by(Release.to_party)
    ).all()


def delivery_summary(
    session: Session, incidents: Sequence[Incident], party: str
) -> dict[str, list[Delivery]]:
    """Per own incident id: the latest envelope to each party."""
    own = [i.id for i in incidents if i.origin == party]
    if not own:
        return {}
    result: dict[str, list[Delivery]] = {}
    for rid, items in exchange.deliveries(session, KIND, own).items():
        latest: dict[str, Delivery] = {}
        for item in items:
            latest[item.party] = item
        result[rid] = [latest[p] for p in sorted(latest)]
    return result


# --- receiving (called by the exchange through handlers.py) -------------------------------------------------


def _refuse_own_origin(session: Session, node: Node, record: IncomingRecord) -> None:
    """A peer may not write in this node's name: a record claiming our origin, or reusing one of our ids."""
    if record.origin == node.party:
        raise RecordRefused(f"incident {record.record_id} claims to originate from {node.party}, this node")
    if session.get(Incident, (node.party, record.record_id)) is not None:
        raise RecordRefused(
            f"incident {record.record_id} from {record.origin} reuses the id of an incident of {node.party}"
        )


def apply_received(session: Session, node: Node, record: IncomingRecord) -> None:
    """Store a received incident version. Never overwrites a newer version; older ones only join the history.

    The side and section are the originator's (both nodes hold the same reference border); the content
    rules are ours, applied again (a broken rule refuses the record, which the exchange quarantines)."""
    _refuse_own_origin(session, node, record)
    content = IncidentContent.model_validate(record.content)
    try:
        domain.check_received_type(content.type)
        if content.status not in {s.value for s in Status}:
            raise RuleError("status", f"unknown incident status {content.status!r}")
        domain.check_impact(content.impact_level)
        domain.check_casualties(content.casualties)
    except RuleError as exc:
        raise RecordRefused.from_rule(exc) from exc
    by = f"peer:{record.origin}"
    now = node.clock.now()
    incident = session.get(Incident, (record.origin, record.record_id))
    newer = incident is None or record.version > incident.version
    if incident is None:
        incident = Incident(
            origin=record.origin,
            id=record.record_id,
            created_by=by,
            created_at=content.created_at,
            withdraw_reason="",
        )
        session.add(incident)
    if newer:
        incident.version = record.version
        incident.type = content.type
        incident.status, incident.status_reason = content.status, content.status_reason
        incident.occurred_at = content.occurred_at
        incident.reported_at = content.reported_at
        incident.lat, incident.lon = content.location.lat, content.location.lon
        incident.side, incident.section_id = content.side, content.section
        incident.distance_to_border_m = content.distance_to_border_m
        incident.description = content.description
        incident.casualties = dict(content.casualties)
        incident.seizures = [s.model_dump() for s in content.seizures]
        incident.persons_apprehended = content.persons_apprehended
        incident.impact_level = content.impact_level
        incident.source_reliability, incident.info_credibility = (
            content.source_reliability,
            content.info_credibility,
        )
        incident.exercise = content.exercise
        incident.follow_up_of_origin = content.follow_up_of.origin if content.follow_up_of else None
        incident.follow_up_of_id = content.follow_up_of.id if content.follow_up_of else None
        incident.attachments = [a.model_dump() for a in content.attachments]
        incident.tlp, incident.handling = record.tlp, record.handling
        incident.content_hash = record.content_hash
        incident.updated_at = content.updated_at
        incident.received_at = now
        incident.withdrawn_at, incident.withdraw_reason = None, ""
        session.flush()
    if session.get(IncidentVersion, (record.origin, record.record_id, record.version)) is None:
        session.add(
            IncidentVersion(
                origin=record.origin,
                incident_id=record.record_id,
                version=record.version,
                change="received",
                content=record.content,
                content_hash=record.content_hash,
                recorded_at=now,
                recorded_by=by,
            )
        )
    record_event(
        session,
        node.clock,
        actor=by,
        action="incident.receive" if newer else "incident.receive_stale",
        record_kind=KIND,
        record_id=record.record_id,
        details={"origin": record.origin, "version": record.version, "link": record.link, "seq": record.seq},
    )


def withdraw_received(session: Session, node: Node, record: IncomingRecord) -> None:
    """Apply a peer's tombstone: the incident is no longer shown here (an unknown one is ignored)."""
    _refuse_own_origin(session, node, record)
    incident = session.get(Incident, (record.origin, record.record_id))
    if incident is None:
        return
    reason = str(record.content.get("reason", ""))[: domain.REASON_MAX]
    if incident.withdrawn_at is None:
        incident.withdrawn_at, incident.withdraw_reason = node.clock.now(), reason
    record_event(
        session,
        node.clock,
        actor=f"peer:{record.origin}",
        action="incident.withdrawn_by_origin",
        record_kind=KIND,
        record_id=record.record_id,
        details={"origin": record.origin, "version": record.version, "reason": reason},
    )
