"""Incidents as they leave the node for people and maps: the CSV export (which bulk import reads back) and the
GeoJSON map query (the picture page and ``format=geojson``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.core.calendars import format_datetime
from sarhad.core.formats import csv_text, iso_utc
from sarhad.core.node import Node
from sarhad.incidents.models import Incident
from sarhad.incidents.reading import MAX_LIST, IncidentFilter, filter_query
from sarhad.incidents.taxonomy import taxonomy

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


def incidents_csv(incidents: Sequence[Incident]) -> str:
    """The incidents as CSV (columns ``CSV_COLUMNS``, times in UTC, every cell safe for spreadsheets); the
    columns bulk import knows are written so that it reads them back."""
    return csv_text(
        CSV_COLUMNS,
        (
            {
                "origin": i.origin,
                "id": i.id,
                "version": i.version,
                "type": i.type,
                "status": i.status,
                "occurred_at": iso_utc(i.occurred_at),
                "reported_at": iso_utc(i.reported_at),
                "lat": i.lat,
                "lon": i.lon,
                "side": i.side,
                "section": i.section_id,
                "distance_to_border_m": (
                    None if i.distance_to_border_m is None else round(i.distance_to_border_m, 1)
                ),
                "impact_level": i.impact_level,
                "source_reliability": i.source_reliability,
                "info_credibility": i.info_credibility,
                "persons_apprehended": i.persons_apprehended,
                "casualties": _casualties_text(i.casualties),
                "seizures": _seizures_text(i.seizures),
                "exercise": "yes" if i.exercise else "no",
                "description": i.description,
                "tlp": i.tlp,
                "updated_at": iso_utc(i.updated_at),
                "received_at": iso_utc(i.received_at),
            }
            for i in incidents
        ),
    )


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


def map_features(
    session: Session,
    node: Node,
    actor: Actor,
    flt: IncidentFilter,
    language: str = "en",
    *,
    zone: str | None = None,
    calendar: str = "gregorian",
) -> dict[str, Any]:
    """The map query: the filter's incidents as a GeoJSON FeatureCollection, newest first, reading only the
    columns a map needs (no ORM objects, no JSON columns) — what the picture page and ``format=geojson`` use.
    With the viewer's ``zone``, each feature also has ``occurred_text``: the time in their calendar, zone and
    digits, for the map's popups."""
    require(actor, Permission.INCIDENTS_READ, "reading incidents")
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
                    "occurred_at": iso_utc(occurred),
                    **({"occurred_text": _when(occurred, zone, calendar, language)} if zone else {}),
                    "side": side,
                    "section": section,
                    "impact_level": impact,
                    "exercise": bool(exercise),
                    "description": text,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _when(instant: datetime, zone: str, calendar: str, language: str) -> str:
    return format_datetime(instant, zone, calendar, language)  # type: ignore[arg-type]
