"""Incidents as other pages show them: by type, place and time (never by id) — the requests list, the choice of
an incident on the request form and the hotline's compose form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor
from sarhad.core.i18n import gettext as _
from sarhad.core.node import Node
from sarhad.incidents import reading
from sarhad.incidents.reading import IncidentSummary
from sarhad.incidents.taxonomy import type_name


@dataclass(frozen=True)
class IncidentView:
    key: str  # ORIGIN/ID, the value a form sends
    origin: str
    id: str
    type_name: str
    place: str
    occurred_at: datetime


def incident_view(node: Node, language: str, summary: IncidentSummary) -> IncidentView:
    place = _("section %(s)s") % {"s": summary.section_id} if summary.section_id else ""
    if summary.side:
        place = f"{place} ({summary.side})" if place else summary.side
    coordinates = f"{summary.lat:.3f}, {summary.lon:.3f}"
    return IncidentView(
        key=summary.key,
        origin=summary.origin,
        id=summary.id,
        type_name=type_name(node, summary.type, language),
        place=f"{place} · {coordinates}" if place else coordinates,
        occurred_at=summary.occurred_at,
    )


def views_of(
    session: Session, node: Node, actor: Actor, language: str, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], IncidentView]:
    """The named incidents this node holds, for an actor who may read incidents."""
    found = reading.incident_summaries(session, actor, keys)
    return {key: incident_view(node, language, s) for key, s in found.items()}


def recent_choices(
    session: Session, node: Node, actor: Actor, language: str, *, keep: tuple[str, str] | None = None
) -> list[IncidentView]:
    """The recent incidents to choose from, with ``keep`` (the one already chosen) first if it is older."""
    recent = reading.recent_incidents(session, node, actor)
    if keep and keep[1] and all((s.origin, s.id) != keep for s in recent):
        recent = list(reading.incident_summaries(session, actor, [keep]).values()) + recent
    return [incident_view(node, language, s) for s in recent]
