"""Reading incidents: the filtered list (the map query), one incident, its follow-ups, overdue drafts, and the
two queries other packages use (``incident_exists`` for requests, ``section_counts`` for impact levels).

The list and the single incident take the actor and check ``incidents.read``; ``incident_exists`` and
``section_counts`` do not: they answer other packages' services, which check their own permissions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.core.node import Node
from sarhad.exchange import records
from sarhad.incidents import domain
from sarhad.incidents.domain import Status
from sarhad.incidents.models import Incident
from sarhad.incidents.versions import INCIDENTS

# --- for other packages (requests, impact): keep these signatures -------------------------------------------


def incident_exists(session: Session, origin: str, incident_id: str) -> bool:
    """Whether this node holds the incident ``(origin, incident_id)`` — its own or received (not withdrawn)."""
    found = session.scalar(
        select(Incident.id).where(
            Incident.origin == origin, Incident.id == incident_id, Incident.withdrawn_at.is_(None)
        )
    )
    return found is not None


@dataclass(frozen=True)
class IncidentSummary:
    """What a person recognises an incident by (type, place, time): for lists and choices of other pages."""

    origin: str
    id: str
    type: str
    occurred_at: datetime
    lat: float
    lon: float
    side: str | None
    section_id: str | None

    @property
    def key(self) -> str:
        return f"{self.origin}/{self.id}"


_SUMMARY_COLUMNS = (
    Incident.origin,
    Incident.id,
    Incident.type,
    Incident.occurred_at,
    Incident.lat,
    Incident.lon,
    Incident.side,
    Incident.section_id,
)


def incident_summaries(
    session: Session, actor: Actor, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], IncidentSummary]:
    """The summaries of the named incidents this node holds (withdrawn ones left out), for an actor who may
    read incidents."""
    require(actor, Permission.INCIDENTS_READ, "reading incidents")
    found: dict[tuple[str, str], IncidentSummary] = {}
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), 500):
        ids = [k[1] for k in wanted[start : start + 500]]
        query = select(*_SUMMARY_COLUMNS).where(Incident.id.in_(ids), Incident.withdrawn_at.is_(None))
        for row in session.execute(query):
            summary = IncidentSummary(*row)
            if (summary.origin, summary.id) in keys:
                found[(summary.origin, summary.id)] = summary
    return found


def recent_incidents(
    session: Session, node: Node, actor: Actor, *, limit: int = 300
) -> list[IncidentSummary]:
    """The most recently occurred incidents (own and received, not withdrawn, not dismissed), newest first:
    the choice of a form that refers to an incident."""
    require(actor, Permission.INCIDENTS_READ, "reading incidents")
    query = (
        select(*_SUMMARY_COLUMNS)
        .where(Incident.withdrawn_at.is_(None), Incident.status != Status.DISMISSED.value)
        .order_by(Incident.occurred_at.desc(), Incident.id.desc())
        .limit(limit)
    )
    return [IncidentSummary(*row) for row in session.execute(query)]


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


# --- the list and one incident --------------------------------------------------------------------------------

MAX_LIST = 5000


@dataclass(frozen=True)
class IncidentFilter:
    """What the list, the map and the exports select; every field narrows the selection."""

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
    """The select of the filter's incidents (of ``columns`` if given), unordered: the callers add order and
    limit, and check the permission."""
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


def list_incidents(session: Session, node: Node, actor: Actor, flt: IncidentFilter) -> Sequence[Incident]:
    """Own and received incidents matching the filter, most recent occurrence first (full objects: the API's
    JSON list, the picture page's list, the CSV export)."""
    require(actor, Permission.INCIDENTS_READ, "reading incidents")
    query = filter_query(node, flt).order_by(Incident.occurred_at.desc(), Incident.id.desc())
    return session.scalars(query.limit(max(1, min(flt.limit, MAX_LIST)))).all()


def access_incident(
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
    return records.access_readable(
        session,
        node,
        actor,
        INCIDENTS,
        incident_id,
        origin,
        permission=Permission.INCIDENTS_READ,
        doing="reading incidents",
        client_ip=client_ip,
        audit=audit,
    )


def follow_ups_of(session: Session, incident: Incident) -> Sequence[Incident]:
    """The follow-up reports (not withdrawn) of an incident the caller has already accessed, oldest first."""
    return session.scalars(
        select(Incident)
        .where(
            Incident.follow_up_of_origin == incident.origin,
            Incident.follow_up_of_id == incident.id,
            Incident.withdrawn_at.is_(None),
        )
        .order_by(Incident.created_at)
    ).all()


def drafts_overdue(session: Session, node: Node, actor: Actor) -> Sequence[Incident]:
    """This node's drafts older than 24 hours (the first report is due)."""
    require(actor, Permission.INCIDENTS_READ, "reading incidents")
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
