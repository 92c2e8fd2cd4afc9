"""Writing incidents: create, edit and move along the workflow — the one write path the API, the pages, the
demo and the tests call (bulk import writes its own rows, see bulk.py).

Each change writes the incident, a new version, the audit entry and — for a released incident — the outbound
envelopes in the caller's transaction (the exchange's transactional outbox), so either all of it happens or
none of it does. Releasing, withdrawing and receiving are in sharing.py, attachments in attachments.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.core.errors import Conflict, ErrorCode, InvalidInput, RuleError
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.exchange import peers, records
from sarhad.exchange import record_rules as rules
from sarhad.exchange.domain import Handling
from sarhad.incidents import domain
from sarhad.incidents.domain import KIND, IncidentFields, Status
from sarhad.incidents.locate import Place, place_of
from sarhad.incidents.models import Incident
from sarhad.incidents.reading import incident_exists
from sarhad.incidents.schemas import IncidentContentIn
from sarhad.incidents.taxonomy import taxonomy
from sarhad.incidents.versions import INCIDENTS, announce, materialize_version, new_version


@dataclass
class Written:
    """An incident just written, with the warnings the writer confirmed (e.g. far from the border)."""

    incident: Incident
    warnings: list[str] = field(default_factory=list)


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
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc


def _set_fields(incident: Incident, fields: IncidentFields, place: Place) -> None:
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


def _place_checked(session: Session, fields: IncidentFields, confirm_far: bool) -> tuple[Place, list[str]]:
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


def access_own_incident(
    session: Session,
    node: Node,
    actor: Actor,
    incident_id: str,
    origin: str | None = None,
    *,
    permission: Permission = Permission.INCIDENTS_WRITE,
    doing: str = "writing incidents",
    verb: str = "edited",
) -> Incident:
    """One of this node's own incidents, to change it (``actor`` needs ``permission``; ``doing`` names the
    work in the refusal): a received one is refused (403 ``not_originator``, ``verb`` says what is never
    done to it here), a withdrawn one too (409 ``withdrawn``). What the edit form shows, and what every
    change starts from: a bulk-imported incident gets its version 1 row written first."""
    incident = records.access_own(
        session,
        node,
        actor,
        INCIDENTS,
        incident_id,
        permission=permission,
        doing=doing,
        verb=verb,
        origin=origin,
    )
    materialize_version(session, incident)
    return incident


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
    place: Place | None = None,
) -> Written:
    """Write version 1 of a new incident (a draft, or reported at once) and release it if asked."""
    require(actor, Permission.INCIDENTS_WRITE, "writing incidents")
    if release_to:
        require(actor, Permission.RECORDS_RELEASE, "releasing records to other parties")
    fields = _check_content(node, data)
    try:
        label, handling_code = rules.check_tlp(tlp), rules.check_handling(handling)
        targets = (
            rules.check_release_targets(node.party, release_to, peers.peer_parties(session))
            if release_to
            else []
        )
        if targets and draft:
            domain.check_releasable(Status.DRAFT.value)
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
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
    session.add(incident)
    content = domain.snapshot(incident)
    records.add_version(
        session, node, INCIDENTS, incident, content, actor.username, history={"change": "create"}
    )
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
    records.release_new(
        session, node, actor, INCIDENTS, incident, targets, content=content, client_ip=client_ip
    )
    announce(session, node, incident.origin, incident.id, "create")
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
    incident = access_own_incident(session, node, actor, incident_id, origin)
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
    new_version(session, node, actor, incident, "update", client_ip, changed=changed, warnings=warnings)
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
    incident = access_own_incident(
        session,
        node,
        actor,
        incident_id,
        origin,
        permission=permission,
        doing=f"the action '{action}' on incidents",
        verb="moved along the workflow",
    )
    try:
        target = domain.check_transition(incident.status, action, reason)
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
    previous = incident.status
    incident.status = target.value
    if target == Status.REPORTED:
        incident.reported_at = node.clock.now()
    if target == Status.DISMISSED:
        incident.status_reason = reason.strip()
    new_version(session, node, actor, incident, action, client_ip, **{"from": previous, "to": target.value})
    return incident
