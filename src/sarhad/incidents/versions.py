"""Versions of an incident: the kind's declaration for the shared-record lifecycle, writing a new version
(stored, audited, sent along every release), the implicit version 1 of a bulk-imported incident, the current
content, and the history with the fields each version changed.

Every change to an own incident goes through :func:`new_version`, so the version row, the audit entry and the
outbound envelopes are written in the caller's transaction (the exchange's transactional outbox).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor
from sarhad.accounts.domain import Permission
from sarhad.core.node import Node
from sarhad.exchange import records
from sarhad.exchange import release as exchange_release
from sarhad.incidents import domain
from sarhad.incidents.domain import KIND
from sarhad.incidents.models import Incident, IncidentVersion
from sarhad.live import services as live

LIVE_TOPIC = "incident.changed"

# The ``incident`` record kind for the shared-record lifecycle (``exchange.records``). Each history row also
# says which change made the version (``create``, ``update``, ``validate``, ``received``, ...).
INCIDENTS = records.SharedKind(
    KIND,
    Incident,
    "incident",
    versions=IncidentVersion,
    version_id="incident_id",
    hint=" Send {origin} a request instead.",
    # what a withdrawal by the originator purges from a received incident (the hash stays; the position,
    # type and times stay too: a row needs them, and the withdrawn incident is shown to nobody)
    purge=(
        ("description", ""),
        ("casualties", {}),
        ("seizures", []),
        ("attachments", []),
        ("status_reason", ""),
    ),
)


def new_version(
    session: Session,
    node: Node,
    actor: Actor,
    incident: Incident,
    change: str,
    client_ip: str,
    **details: Any,
) -> None:
    """Bump the version, store it, audit it (``incident.<change>``), and send it wherever the incident was
    released."""
    incident.version += 1
    incident.updated_at = node.clock.now()
    records.publish_version(
        session,
        node,
        actor,
        INCIDENTS,
        incident,
        domain.snapshot(incident),
        action=change,
        client_ip=client_ip,
        details=details,
        history={"change": change},
    )
    announce(session, node, incident.origin, incident.id, change)


def announce(session: Session, node: Node, origin: str, incident_id: str, change: str) -> None:
    """Tell live clients (the situation map) that an incident was created, changed, received or withdrawn.
    Ids only: each client reads the incidents again with its own filter and permissions."""
    data = {"origin": origin, "id": incident_id, "change": change}
    live.publish(session, node, LIVE_TOPIC, data, permission=Permission.INCIDENTS_READ.value)


def materialize_version(session: Session, incident: Incident) -> None:
    """Write the version row of the current version if it is missing (bulk-imported incidents: version 1 is
    the incident row itself until its first change; see bulk.py). Called before any change."""
    if session.get(IncidentVersion, (incident.origin, incident.id, incident.version)) is None:
        session.add(implicit_version(incident))
        session.flush()


def implicit_version(incident: Incident) -> IncidentVersion:
    """The version row a bulk-imported incident has not written yet (its version 1, change ``import``)."""
    content = domain.snapshot(incident)
    return IncidentVersion(
        origin=incident.origin,
        incident_id=incident.id,
        version=incident.version,
        change="import",
        content=content,
        content_hash=exchange_release.content_hash(content),
        recorded_at=incident.created_at,
        recorded_by=incident.created_by,
    )


def current_content(session: Session, incident: Incident) -> dict[str, Any]:
    """The content of the current version exactly as stored (what a new release sends)."""
    stored = records.current_content(session, INCIDENTS, incident)
    return stored if stored is not None else domain.snapshot(incident)


def _versions_of(session: Session, incident: Incident) -> Sequence[IncidentVersion]:
    """The stored versions of an incident, newest first."""
    return session.scalars(
        select(IncidentVersion)
        .where(IncidentVersion.origin == incident.origin, IncidentVersion.incident_id == incident.id)
        .order_by(IncidentVersion.version.desc())
    ).all()


def history(session: Session, incident: Incident) -> list[dict[str, Any]]:
    """Every version, newest first, with the fields it changed compared with the version before it."""
    rows = list(reversed(_versions_of(session, incident)))
    if not rows or rows[-1].version != incident.version:
        rows.append(implicit_version(incident))  # a bulk-imported incident not changed since
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
