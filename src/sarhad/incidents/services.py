"""The one write path for incidents. The API, the pages, the CLI import, the demo and the exchange handlers call
these.

Each change writes the incident, a new version, the audit entry and — for a released incident — the outbound
envelopes in the caller's transaction (the exchange's transactional outbox), so either all of it happens or
none of it does.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor as Actor
from sarhad.accounts.actors import SystemActor as SystemActor
from sarhad.accounts.actors import require as _require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.border import services as border
from sarhad.core.errors import Conflict, ErrorCode, InvalidInput, NotFound, PayloadTooLarge, PermissionDenied
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.exchange import release
from sarhad.exchange.domain import Handling
from sarhad.exchange.models import Release
from sarhad.exchange.peers import peer_parties
from sarhad.exchange.registry import IncomingRecord
from sarhad.exchange.release import Delivery
from sarhad.incidents import domain
from sarhad.incidents.domain import KIND, IncidentFields, IncidentRuleError, IncidentType, Status, Taxonomy
from sarhad.incidents.models import Incident, IncidentAttachment, IncidentVersion
from sarhad.incidents.schemas import IncidentContent, IncidentContentIn

__all__ = ["incident_exists", "section_counts"]


def _invalid(exc: IncidentRuleError) -> InvalidInput:
    return InvalidInput(f"{exc.field}: {exc.message}", details={"field": exc.field})


# --- for other packages (requests, impact): keep these signatures -------------------------------------------


def incident_exists(session: Session, origin: str, incident_id: str) -> bool:
    """Whether this node holds the incident ``(origin, incident_id)`` — its own or received (not withdrawn)."""
    found = session.scalar(
        select(Incident.id).where(
            Incident.origin == origin, Incident.id == incident_id, Incident.withdrawn_at.is_(None)
        )
    )
    return found is not None


def section_counts(session: Session, *, since: datetime, until: datetime) -> dict[str, dict[str, int]]:
    """Section id → impact level → number of incidents (own and received, not dismissed, not withdrawn)
    that occurred in ``[since, until)``. Incidents without a section are not counted."""
    rows = session.execute(
        select(Incident.section_id, Incident.impact_level, func.count())
        .where(
            Incident.occurred_at >= since,
            Incident.occurred_at < until,
            Incident.status != Status.DISMISSED.value,
            Incident.withdrawn_at.is_(None),
            Incident.section_id.is_not(None),
        )
        .group_by(Incident.section_id, Incident.impact_level)
    ).all()
    result: dict[str, dict[str, int]] = {}
    for section_id, level, count in rows:
        result.setdefault(str(section_id), {})[str(level)] = int(count)
    return result


# --- taxonomy and places ----------------------------------------------------------------------------------


def taxonomy(node: Node) -> dict[str, IncidentType]:
    """The node's incident types: the built-in taxonomy plus ``<data_dir>/incident_types.json``."""
    cached = node.components.setdefault(
        Taxonomy, lambda: Taxonomy(domain.load_taxonomy(node.settings.data_dir / domain.NODE_TAXONOMY_FILE))
    )
    return dict(cached.types)


def type_name(node: Node, code: str, language: str = "en") -> str:
    found = taxonomy(node).get(code)
    return found.name(language) if found else code.replace("_", " ")


@dataclass(frozen=True)
class PlaceFacts:
    side: str | None
    section_id: str | None
    distance_to_border_m: float | None


def place_of(session: Session, lat: float, lon: float) -> PlaceFacts:
    """Side of the border and nearest section (``border.services.locate``); all None without a border line."""
    try:
        where = border.locate(session, lon, lat)
    except NotFound:
        return PlaceFacts(None, None, None)
    return PlaceFacts(where.side, where.section_id, where.distance_to_border_m)


# --- writing ------------------------------------------------------------------------------------------------


def _check_content(node: Node, data: IncidentContentIn) -> IncidentFields:
    try:
        return domain.check_incident(
            type=data.type,
            occurred_at=data.occurred_at,
            lat=data.lat,
            lon=data.lon,
            description=data.description,
            impact_level=data.impact_level,
            now=node.clock.now(),
            types=taxonomy(node),
            casualties=data.casualties,
            seizures=[s.model_dump() for s in data.seizures],
            persons_apprehended=data.persons_apprehended,
            source_reliability=data.source_reliability,
            info_credibility=data.info_credibility,
            exercise=data.exercise,
        )
    except IncidentRuleError as exc:
        raise _invalid(exc) from exc


def _set_fields(incident: Incident, fields: IncidentFields, place: PlaceFacts) -> None:
    incident.type = fields.type
    incident.occurred_at = fields.occurred_at
    incident.lat, incident.lon = fields.lat, fields.lon
    incident.side, incident.section_id = place.side, place.section_id
    incident.distance_to_border_m = place.distance_to_border_m
    incident.description = fields.description
    incident.casualties = dict(fields.casualties)
    incident.seizures = [s.as_dict() for s in fields.seizures]
    incident.persons_apprehended = fields.persons_apprehended
    incident.impact_level = fields.impact_level
    incident.source_reliability = fields.source_reliability
    incident.info_credibility = fields.info_credibility
    incident.exercise = fields.exercise


def _place_checked(
    session: Session, fields: IncidentFields, confirm_far: bool
) -> tuple[PlaceFacts, list[str]]:
    place = place_of(session, fields.lat, fields.lon)
    warning = domain.far_from_border_warning(place.distance_to_border_m)
    if warning and not confirm_far:
        raise InvalidInput(
            f"lat/lon: {warning}",
            code=ErrorCode.FAR_FROM_BORDER,
            details={
                "field": "confirm_far",
                "distance_to_border_m": round(place.distance_to_border_m or 0, 1),
            },
        )
    return place, [warning] if warning else []


def _add_version(session: Session, node: Node, incident: Incident, change: str, by: str) -> dict[str, Any]:
    content = domain.snapshot(incident)
    incident.content_hash = release.content_hash(content)
    session.add(
        IncidentVersion(
            origin=incident.origin,
            incident_id=incident.id,
            version=incident.version,
            change=change,
            content=content,
            content_hash=incident.content_hash,
            recorded_at=node.clock.now(),
            recorded_by=by,
        )
    )
    return content


def _new_version(
    session: Session,
    node: Node,
    actor: Actor,
    incident: Incident,
    change: str,
    client_ip: str,
    **details: Any,
) -> None:
    """Bump the version, store it, audit it, and send it wherever the incident was released."""
    incident.version += 1
    incident.updated_at = node.clock.now()
    content = _add_version(session, node, incident, change, actor.username)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action=f"incident.{change}",
        record_kind=KIND,
        record_id=incident.id,
        client_ip=client_ip,
        details={"version": incident.version, "content_hash": incident.content_hash, **details},
    )
    release.publish_version(
        session,
        node,
        kind=KIND,
        record_id=incident.id,
        version=incident.version,
        content=content,
        actor=actor,
    )


def _not_originator(incident_id: str, origin: str, verb: str) -> PermissionDenied:
    return PermissionDenied(
        f"incident {incident_id} was received from {origin}; received incidents are never {verb} here. "
        f"Only {origin}, its originator, can do that (send {origin} a request instead).",
        code=ErrorCode.NOT_ORIGINATOR,
    )


def editable_incident(
    session: Session, node: Node, incident_id: str, origin: str | None, verb: str
) -> Incident:
    """This node's own incident, not withdrawn; a received one is refused with the reason."""
    origin = origin or node.party
    if origin != node.party:
        if session.get(Incident, (origin, incident_id)) is None:
            raise NotFound(f"no incident {incident_id} from {origin} is held here")
        raise _not_originator(incident_id, origin, verb)
    incident = session.get(Incident, (origin, incident_id))
    if incident is None:
        received = session.scalar(
            select(Incident.origin).where(Incident.id == incident_id, Incident.origin != node.party)
        )
        if received is not None:
            raise _not_originator(incident_id, received, verb)
        raise NotFound(f"no incident {incident_id} of {node.party}")
    if incident.withdrawn_at is not None:
        raise Conflict(
            f"incident {incident_id} was withdrawn; a withdrawn incident is not changed again",
            code=ErrorCode.WITHDRAWN,
        )
    materialize_version(session, incident)
    return incident


def materialize_version(session: Session, incident: Incident) -> None:
    """Write the version row of the current version if it is missing (bulk-imported incidents: version 1 is
    the incident row itself until its first change; see bulk.py). Called before any change."""
    if session.get(IncidentVersion, (incident.origin, incident.id, incident.version)) is None:
        session.add(_implicit_version(incident))
        session.flush()


def _implicit_version(incident: Incident) -> IncidentVersion:
    content = domain.snapshot(incident)
    return IncidentVersion(
        origin=incident.origin,
        incident_id=incident.id,
        version=incident.version,
        change="import",
        content=content,
        content_hash=release.content_hash(content),
        recorded_at=incident.created_at,
        recorded_by=incident.created_by,
    )


@dataclass
class Written:
    """An incident just written, with the warnings the writer confirmed (e.g. far from the border)."""

    incident: Incident
    warnings: list[str] = field(default_factory=list)


def create_incident(
    session: Session,
    node: Node,
    actor: Actor,
    data: IncidentContentIn,
    *,
    draft: bool = False,
    follow_up_of: tuple[str, str] | None = None,
    tlp: str = "amber",
    handling: str = Handling.NO_ONWARD.value,
    release_to: Sequence[str] = (),
    client_ip: str = "",
    place: PlaceFacts | None = None,
) -> Written:
    """Write version 1 of a new incident (a draft, or reported at once) and release it if asked."""
    _require(actor, Permission.INCIDENTS_WRITE, "writing incidents")
    if release_to:
        _require(actor, Permission.RECORDS_RELEASE, "releasing records to other parties")
    fields = _check_content(node, data)
    try:
        label, handling_code = domain.check_tlp(tlp), domain.check_handling(handling)
        targets = (
            domain.check_release_targets(node.party, release_to, peer_parties(session)) if release_to else []
        )
        if targets and draft:
            domain.check_releasable(Status.DRAFT.value)
    except IncidentRuleError as exc:
        raise _invalid(exc) from exc
    if follow_up_of is not None and not incident_exists(session, *follow_up_of):
        raise InvalidInput(
            f"follow_up_of: no incident {follow_up_of[1]} from {follow_up_of[0]} is held here",
            details={"field": "follow_up_of"},
        )
    warnings: list[str] = []
    if place is None:
        place, warnings = _place_checked(session, fields, data.confirm_far)
    now = node.clock.now()
    incident = Incident(
        origin=node.party,
        id=new_id(),
        version=1,
        status=Status.DRAFT.value if draft else Status.REPORTED.value,
        status_reason="",
        reported_at=None if draft else now,
        follow_up_of_origin=follow_up_of[0] if follow_up_of else None,
        follow_up_of_id=follow_up_of[1] if follow_up_of else None,
        attachments=[],
        tlp=label.value,
        handling=handling_code.value,
        created_by=actor.username,
        created_at=now,
        updated_at=now,
        withdrawn_at=None,
        withdraw_reason="",
        received_at=None,
    )
    _set_fields(incident, fields, place)
    incident.content_hash = release.content_hash(domain.snapshot(incident))
    session.add(incident)
    session.flush()
    content = _add_version(session, node, incident, "create", actor.username)
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="incident.create",
        record_kind=KIND,
        record_id=incident.id,
        client_ip=client_ip,
        details={
            "version": 1,
            "status": incident.status,
            "type": incident.type,
            "section": incident.section_id,
            "side": incident.side,
            "warnings": warnings,
        },
    )
    if targets:
        release.release_record(
            session,
            node,
            kind=KIND,
            record_id=incident.id,
            version=1,
            content=content,
            to=targets,
            handling=incident.handling,
            tlp=incident.tlp,
            actor=actor,
            client_ip=client_ip,
        )
    return Written(incident, warnings)


def update_incident(
    session: Session,
    node: Node,
    actor: Actor,
    incident_id: str,
    data: IncidentContentIn,
    *,
    origin: str | None = None,
    expected_version: int | None = None,
    client_ip: str = "",
) -> Written:
    """A new version of one of this node's incidents; it follows every release. Received ones are refused."""
    _require(actor, Permission.INCIDENTS_WRITE, "writing incidents")
    incident = editable_incident(session, node, incident_id, origin, "edited")
    if not domain.editable_status(incident.status):
        raise Conflict(
            f"incident {incident_id} is {incident.status}; a {incident.status} incident is not edited "
            "(write a follow-up report instead)",
            code=ErrorCode.NOT_EDITABLE,
        )
    if expected_version is not None and expected_version != incident.version:
        raise Conflict(
            f"incident {incident_id} is at version {incident.version} now, not {expected_version}; "
            "someone changed it meanwhile. Reload it and edit again.",
            code=ErrorCode.STALE_VERSION,
        )
    fields = _check_content(node, data)
    place, warnings = _place_checked(session, fields, data.confirm_far)
    before = domain.snapshot(incident)
    _set_fields(incident, fields, place)
    changed = domain.changed_fields(before, domain.snapshot(incident))
    if not changed:
        return Written(incident, warnings)
    _new_version(session, node, actor, incident, "update", client_ip, changed=changed, warnings=warnings)
    return Written(incident, warnings)


def transition_incident(
    session: Session,
    node: Node,
    actor: Actor,
    incident_id: str,
    action: str,
    reason: str = "",
    *,
    origin: str | None = None,
    client_ip: str = "",
) -> Incident:
    """Move an incident along its workflow: report (draft → reported), validate, close, dismiss (with reason)."""
    permission = (
        Permission.INCIDENTS_VALIDATE if action in domain.VALIDATOR_ACTIONS else Permission.INCIDENTS_WRITE
    )
    _require(actor, permission, f"the action '{action}' on incidents")
    incident = editable_incident(session, node, incident_id, origin, "moved along the workflow")
    try:
        target = domain.check_transition(incident.status, action, reason)
    except IncidentRuleError as exc:
        raise _invalid(exc) from exc
    previous = incident.status
    incident.status = target.value
    if target == Status.REPORTED:
        incident.reported_at = node.clock.now()
    if target == Status.DISMISSED:
        incident.status_reason = reason.strip()
    _new_version(session, node, actor, incident, action, client_ip, **{"from": previous, "to": target.value})
    return incident


def release_incident(
    session: Session,
    node: Node,
    actor: Actor,
    incident_id: str,
    to: Sequence[str],
    *,
    tlp: str | None = None,
    handling: str | None = None,
    client_ip: str = "",
) -> list[Release]:
    """Release one of our incidents (this and all later versions) to more parties."""
    _require(actor, Permission.RECORDS_RELEASE, "releasing records to other parties")
    incident = editable_incident(session, node, incident_id, None, "released onward")
    try:
        domain.check_releasable(incident.status)
        label = domain.check_tlp(tlp or incident.tlp)
        if domain.TLP_ORDER.index(label) < domain.TLP_ORDER.index(domain.check_tlp(incident.tlp)):
            raise IncidentRuleError(
                "tlp", f"the incident is TLP:{incident.tlp.upper()}; a release may not loosen it"
            )
        handling_code = domain.check_handling(handling or incident.handling)
        targets = domain.check_release_targets(node.party, to, peer_parties(session))
    except IncidentRuleError as exc:
        raise _invalid(exc) from exc
    content = current_content(session, incident)
    releases = release.release_record(
        session,
        node,
        kind=KIND,
        record_id=incident.id,
        version=incident.version,
        content=content,
        to=targets,
        handling=handling_code.value,
        tlp=label.value,
        actor=actor,
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
    return releases


def withdraw_incident(
    session: Session, node: Node, actor: Actor, incident_id: str, reason: str, *, client_ip: str = ""
) -> Incident:
    """Withdraw one of our incidents: every party it went to gets a signed tombstone and stops showing it."""
    _require(actor, Permission.RECORDS_RELEASE, "withdrawing released records")
    reason = reason.strip()
    if not reason or len(reason) > domain.REASON_MAX:
        raise InvalidInput(
            f"reason: say why the incident is withdrawn (1 to {domain.REASON_MAX} characters)",
            details={"field": "reason"},
        )
    incident = editable_incident(session, node, incident_id, None, "withdrawn")
    tombstones = release.withdraw_record(
        session,
        node,
        kind=KIND,
        record_id=incident.id,
        version=incident.version,
        actor=actor,
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


def current_content(session: Session, incident: Incident) -> dict[str, Any]:
    row = session.get(IncidentVersion, (incident.origin, incident.id, incident.version))
    return dict(row.content) if row is not None else domain.snapshot(incident)


# --- attachments --------------------------------------------------------------------------------------------


def add_attachment(
    session: Session,
    node: Node,
    actor: Actor,
    incident_id: str,
    filename: str,
    data: bytes,
    *,
    origin: str | None = None,
    client_ip: str = "",
) -> IncidentAttachment:
    """Attach a photo or document (type decided by content); the incident gets a new version listing it."""
    _require(actor, Permission.INCIDENTS_WRITE, "writing incidents")
    incident = editable_incident(session, node, incident_id, origin, "given attachments")
    if len(data) > domain.ATTACHMENT_MAX_BYTES:
        raise PayloadTooLarge(
            f"file: the attachment is {len(data)} bytes; at most {domain.ATTACHMENT_MAX_BYTES} bytes are allowed",
            details={"field": "file", "max_bytes": domain.ATTACHMENT_MAX_BYTES},
        )
    if len(incident.attachments) >= domain.ATTACHMENTS_PER_INCIDENT:
        raise Conflict(
            f"an incident has at most {domain.ATTACHMENTS_PER_INCIDENT} attachments", code=ErrorCode.TOO_MANY
        )
    try:
        name, media_type = domain.check_attachment(filename, data)
    except IncidentRuleError as exc:
        raise _invalid(exc) from exc
    row = IncidentAttachment(
        id=new_id(),
        origin=incident.origin,
        incident_id=incident.id,
        filename=name,
        media_type=media_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        created_at=node.clock.now(),
        created_by=actor.username,
    )
    session.add(row)
    incident.attachments = [
        *incident.attachments,
        {"id": row.id, "filename": name, "media_type": media_type, "size": row.size, "sha256": row.sha256},
    ]
    _new_version(session, node, actor, incident, "attach", client_ip, attachment=row.id, filename=name)
    return row


def get_attachment(
    session: Session,
    node: Node,
    actor: Actor,
    origin: str,
    incident_id: str,
    attachment_id: str,
    client_ip: str = "",
) -> IncidentAttachment:
    _require(actor, Permission.INCIDENTS_READ, "reading incidents")
    incident = get_incident(session, node, actor, origin, incident_id, client_ip=client_ip, audit=False)
    row = session.get(IncidentAttachment, attachment_id)
    if row is None or row.origin != origin or row.incident_id != incident_id:
        if any(a.get("id") == attachment_id for a in incident.attachments) and origin != node.party:
            raise NotFound(
                f"attachment {attachment_id} stays with {origin}: attachments do not travel over the exchange; "
                f"ask {origin} for it",
                code=ErrorCode.ATTACHMENT_NOT_SHARED,
            )
        raise NotFound(f"no attachment {attachment_id} on incident {incident_id}")
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="incident.attachment_read",
        record_kind=KIND,
        record_id=incident_id,
        client_ip=client_ip,
        details={"attachment": attachment_id, "origin": origin},
    )
    return row


# --- receiving (called by the exchange through handlers.py) -------------------------------------------------


def _refuse_own_origin(session: Session, node: Node, record: IncomingRecord) -> None:
    if record.origin == node.party:
        raise ValueError(
            f"incident {record.record_id} claims to originate from {node.party}, this node; refused"
        )
    if session.get(Incident, (node.party, record.record_id)) is not None:
        raise ValueError(
            f"incident {record.record_id} from {record.origin} reuses the id of an incident of {node.party}; refused"
        )


def apply_received(session: Session, node: Node, record: IncomingRecord) -> None:
    """Store a received incident version. Never overwrites a newer version; older ones only join the history.

    The side and section are the originator's (both nodes hold the same reference border); the content
    rules are ours, applied again (a rule error quarantines the record)."""
    _refuse_own_origin(session, node, record)
    content = IncidentContent.model_validate(record.content)
    domain.check_received_type(content.type)
    if content.status not in {s.value for s in Status}:
        raise ValueError(f"unknown incident status {content.status!r}")
    domain.check_impact(content.impact_level)
    domain.check_casualties(content.casualties)
    by = f"peer:{record.origin}"
    now = node.clock.now()
    incident = session.get(Incident, (record.origin, record.record_id))
    is_new = incident is None
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
    _ = is_new


def withdraw_received(session: Session, node: Node, record: IncomingRecord) -> None:
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


# --- reading ------------------------------------------------------------------------------------------------

MAX_LIST = 5000


@dataclass(frozen=True)
class IncidentFilter:
    bbox: tuple[float, float, float, float] | None = None  # min lon, min lat, max lon, max lat
    since: datetime | None = None  # occurred_at >= since
    until: datetime | None = None  # occurred_at < until
    types: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    side: str | None = None
    origin: str | None = None
    section: str | None = None
    exercise: bool | None = None
    include_withdrawn: bool = False  # our own withdrawn incidents; received withdrawn ones are never shown
    limit: int = 1000


def filter_query(node: Node, flt: IncidentFilter, *columns: Any) -> Any:
    query = select(*columns) if columns else select(Incident)
    if flt.types:
        query = query.where(Incident.type.in_(flt.types))
    if flt.since is not None:
        query = query.where(Incident.occurred_at >= flt.since)
    if flt.until is not None:
        query = query.where(Incident.occurred_at < flt.until)
    if flt.bbox is not None:
        min_lon, min_lat, max_lon, max_lat = flt.bbox
        query = query.where(
            Incident.lon >= min_lon, Incident.lon <= max_lon, Incident.lat >= min_lat, Incident.lat <= max_lat
        )
    if flt.include_withdrawn:
        query = query.where(or_(Incident.withdrawn_at.is_(None), Incident.origin == node.party))
    else:
        query = query.where(Incident.withdrawn_at.is_(None))
    if flt.statuses:
        query = query.where(Incident.status.in_(flt.statuses))
    if flt.side:
        query = query.where(Incident.side == flt.side)
    if flt.origin:
        query = query.where(Incident.origin == flt.origin)
    if flt.section:
        query = query.where(Incident.section_id == flt.section)
    if flt.exercise is not None:
        query = query.where(Incident.exercise.is_(flt.exercise))
    return query


def list_incidents(session: Session, node: Node, flt: IncidentFilter) -> Sequence[Incident]:
    """Own and received incidents matching the filter, most recent occurrence first (the map query)."""
    query = filter_query(node, flt).order_by(Incident.occurred_at.desc(), Incident.id.desc())
    return session.scalars(query.limit(max(1, min(flt.limit, MAX_LIST)))).all()


def get_incident(
    session: Session,
    node: Node,
    actor: Actor,
    origin: str,
    incident_id: str,
    *,
    client_ip: str = "",
    audit: bool = True,
) -> Incident:
    """One incident. Reading a received one is a sensitive read and is audited."""
    _require(actor, Permission.INCIDENTS_READ, "reading incidents")
    incident = session.get(Incident, (origin, incident_id))
    if incident is None:
        raise NotFound(f"no incident {incident_id} from {origin} is held here")
    if origin != node.party:
        if incident.withdrawn_at is not None:
            raise NotFound(
                f"incident {incident_id} from {origin} was withdrawn by its originator",
                code=ErrorCode.WITHDRAWN,
            )
        if audit:
            record_event(
                session,
                node.clock,
                actor=actor.username,
                action="incident.read",
                record_kind=KIND,
                record_id=incident.id,
                client_ip=client_ip,
                details={"origin": origin, "version": incident.version},
            )
    return incident


def versions_of(session: Session, incident: Incident) -> Sequence[IncidentVersion]:
    return session.scalars(
        select(IncidentVersion)
        .where(IncidentVersion.origin == incident.origin, IncidentVersion.incident_id == incident.id)
        .order_by(IncidentVersion.version.desc())
    ).all()


def history(session: Session, incident: Incident) -> list[dict[str, Any]]:
    """Every version, newest first, with the fields it changed compared with the version before it."""
    rows = list(reversed(versions_of(session, incident)))
    if not rows or rows[-1].version != incident.version:
        rows.append(_implicit_version(incident))  # a bulk-imported incident not changed since
    result = []
    previous: dict[str, Any] = {}
    for row in rows:
        changed = domain.changed_fields(previous, row.content) if previous else ["created"]
        result.append(
            {
                "version": row.version,
                "change": row.change,
                "changed": changed,
                "content": row.content,
                "content_hash": row.content_hash,
                "recorded_at": row.recorded_at,
                "recorded_by": row.recorded_by,
            }
        )
        previous = row.content
    return list(reversed(result))


def follow_ups_of(session: Session, incident: Incident) -> Sequence[Incident]:
    return session.scalars(
        select(Incident)
        .where(
            Incident.follow_up_of_origin == incident.origin,
            Incident.follow_up_of_id == incident.id,
            Incident.withdrawn_at.is_(None),
        )
        .order_by(Incident.created_at)
    ).all()


def releases_of(session: Session, incident: Incident) -> Sequence[Release]:
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
    for rid, items in release.deliveries(session, KIND, own).items():
        latest: dict[str, Delivery] = {}
        for item in items:
            latest[item.party] = item
        result[rid] = [latest[p] for p in sorted(latest)]
    return result


def drafts_overdue(session: Session, node: Node) -> Sequence[Incident]:
    """This node's drafts older than 24 hours (the first report is due)."""
    cutoff = node.clock.now() - domain.DRAFT_FLAG_AFTER
    return session.scalars(
        select(Incident)
        .where(
            Incident.origin == node.party,
            Incident.status == Status.DRAFT.value,
            Incident.created_at < cutoff,
            Incident.withdrawn_at.is_(None),
        )
        .order_by(Incident.created_at)
    ).all()


CSV_COLUMNS = (
    "origin",
    "id",
    "version",
    "type",
    "status",
    "occurred_at",
    "reported_at",
    "lat",
    "lon",
    "side",
    "section",
    "distance_to_border_m",
    "impact_level",
    "source_reliability",
    "info_credibility",
    "persons_apprehended",
    "casualties",
    "seizures",
    "exercise",
    "description",
    "tlp",
    "updated_at",
    "received_at",
)


def _casualties_text(values: dict[str, int]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())


def _seizures_text(items: list[dict[str, Any]]) -> str:
    return "; ".join(f"{s['item']} {s['quantity']:g} {s['unit']}" for s in items)


def incidents_as_csv(incidents: Sequence[Incident]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for i in incidents:
        writer.writerow(
            [
                i.origin,
                i.id,
                i.version,
                i.type,
                i.status,
                domain.iso(i.occurred_at),
                domain.iso(i.reported_at) or "",
                i.lat,
                i.lon,
                i.side or "",
                i.section_id or "",
                "" if i.distance_to_border_m is None else round(i.distance_to_border_m, 1),
                i.impact_level,
                i.source_reliability,
                i.info_credibility,
                i.persons_apprehended,
                _casualties_text(i.casualties),
                domain.csv_safe(_seizures_text(i.seizures)),
                "yes" if i.exercise else "no",
                domain.csv_safe(i.description),
                i.tlp,
                domain.iso(i.updated_at),
                domain.iso(i.received_at) or "",
            ]
        )
    return buffer.getvalue()


_MAP_COLUMNS = (
    Incident.origin,
    Incident.id,
    Incident.version,
    Incident.type,
    Incident.status,
    Incident.occurred_at,
    Incident.lat,
    Incident.lon,
    Incident.side,
    Incident.section_id,
    Incident.impact_level,
    Incident.exercise,
    func.substr(Incident.description, 1, 200),
)


def map_features(session: Session, node: Node, flt: IncidentFilter, language: str = "en") -> dict[str, Any]:
    """The map query: the filter's incidents as a GeoJSON FeatureCollection, newest first, reading only the
    columns a map needs (no ORM objects, no JSON columns) — what the picture page and ``format=geojson`` use."""
    query = filter_query(node, flt, *_MAP_COLUMNS).order_by(Incident.occurred_at.desc(), Incident.id.desc())
    rows = session.execute(query.limit(max(1, min(flt.limit, MAX_LIST)))).all()
    names = {code: t.name(language) for code, t in taxonomy(node).items()}
    party = node.party
    features = []
    for origin, iid, version, code, status, occurred, lat, lon, side, section, impact, exercise, text in rows:
        features.append(
            {
                "type": "Feature",
                "id": f"{origin}/{iid}",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": {
                    "origin": origin,
                    "own": origin == party,
                    "id": iid,
                    "version": version,
                    "type": code,
                    "type_name": names.get(code, code),
                    "status": status,
                    "occurred_at": domain.iso(occurred),
                    "side": side,
                    "section": section,
                    "impact_level": impact,
                    "exercise": bool(exercise),
                    "description": text,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
