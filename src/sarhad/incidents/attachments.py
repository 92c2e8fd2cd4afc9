"""Attachments of incidents: photos and documents stored with their incident (bytes in the database), and
reading them back. Attachments do not travel: only their metadata is in the shared content."""

from __future__ import annotations

import hashlib

from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.core.errors import Conflict, ErrorCode, InvalidInput, NotFound, PayloadTooLarge, RuleError
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.incidents import domain
from sarhad.incidents.domain import KIND
from sarhad.incidents.models import IncidentAttachment
from sarhad.incidents.reading import access_incident
from sarhad.incidents.versions import new_version
from sarhad.incidents.writing import access_own_incident


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
    incident = access_own_incident(session, node, actor, incident_id, origin, verb="given attachments")
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
    except RuleError as exc:
        raise InvalidInput.from_rule(exc) from exc
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
    new_version(session, node, actor, incident, "attach", client_ip, attachment=row.id, filename=name)
    return row


def access_attachment(
    session: Session,
    node: Node,
    actor: Actor,
    origin: str,
    incident_id: str,
    attachment_id: str,
    client_ip: str = "",
) -> IncidentAttachment:
    """The bytes of an attachment (a sensitive read: audited). Those of a received incident stay with its
    originator: refused with ``attachment_not_shared``."""
    require(actor, Permission.INCIDENTS_READ, "reading incidents")
    incident = access_incident(session, node, actor, origin, incident_id, client_ip=client_ip, audit=False)
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
