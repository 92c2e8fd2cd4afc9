"""Reports over incidents: the daily situation report (page, JSON and PDF) and the statistics.

The daily report covers 00:00–24:00 of one day in the node's time zone (``default_time_zone``). Open requests
come from ``sarhad.requests.services.open_requests`` and the response statistics from
``sarhad.requests.services.response_stats`` when the requests package is installed; without it those parts
say so instead of failing.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, cast, func, select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.core.formats import iso_utc
from sarhad.core.node import Node
from sarhad.incidents.domain import Status
from sarhad.incidents.models import Incident

log = logging.getLogger(__name__)
NOTABLE_MAX = 50
MAP_POINTS_MAX = 5000
TLP_ORDER = ("clear", "green", "amber", "amber+strict", "red")
REPORT_TLP_FLOOR = "amber"


def strictest_tlp(labels: set[str]) -> str:
    """The label a report carries: the strictest of what it counts, and at least amber (it is written for the
    parties' officers, like an incident by default); an unknown label counts as red."""
    ranks = [TLP_ORDER.index(t) if t in TLP_ORDER else len(TLP_ORDER) - 1 for t in labels]
    return TLP_ORDER[max([TLP_ORDER.index(REPORT_TLP_FLOOR), *ranks])]


def node_zone(node: Node) -> ZoneInfo:
    return ZoneInfo(node.settings.default_time_zone or "UTC")


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[00:00, 24:00) of ``day`` in ``zone``, as UTC instants (a DST day is 23 or 25 hours long)."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return start, end


def _requests_module() -> Any | None:
    if importlib.util.find_spec("sarhad.requests") is None:
        return None
    try:
        return importlib.import_module("sarhad.requests.services")
    except ImportError:
        return None


def _open_requests(session: Session, node: Node, at: datetime) -> tuple[list[dict[str, Any]], bool]:
    module = _requests_module()
    if module is None or not hasattr(module, "open_requests"):
        return [], False
    rows = module.open_requests(session, node, at)
    result = []
    for r in rows:
        result.append(
            {
                "id": str(r.id),
                "direction": str(r.direction),
                "kind": str(r.kind),
                "action": str(r.action or ""),
                "incident_origin": r.incident_origin,
                "incident_id": r.incident_id,
                "deadline": r.deadline,
                "overdue": bool(r.overdue),
                "summary": str(r.summary or ""),
            }
        )
    return result, True


@dataclass
class DailyReport:
    party: str
    day: date
    zone: str
    since: datetime
    until: datetime
    generated_at: datetime
    total: int
    by_type: dict[str, int]
    by_section: dict[str, int]
    by_type_section: dict[str, dict[str, int]]
    by_origin: dict[str, int]
    seizures: list[dict[str, Any]]
    notable: list[Incident]
    open_requests: list[dict[str, Any]] = field(default_factory=list)
    requests_available: bool = False
    tlp: str = (
        "amber"  # the strictest label of the incidents counted, never below amber (see docs/incidents.md)
    )
    points: list[tuple[float, float, str]] = field(default_factory=list)  # (lon, lat, impact) for the map

    def as_dict(self) -> dict[str, Any]:
        return {
            "party": self.party,
            "day": self.day.isoformat(),
            "zone": self.zone,
            "since": iso_utc(self.since),
            "until": iso_utc(self.until),
            "generated_at": iso_utc(self.generated_at),
            "total": self.total,
            "by_type": self.by_type,
            "by_section": self.by_section,
            "by_type_section": self.by_type_section,
            "by_origin": self.by_origin,
            "seizures": self.seizures,
            "notable": [
                {
                    "origin": i.origin,
                    "id": i.id,
                    "type": i.type,
                    "status": i.status,
                    "occurred_at": iso_utc(i.occurred_at),
                    "section": i.section_id,
                    "side": i.side,
                    "impact_level": i.impact_level,
                    "casualties": i.casualties,
                    "exercise": i.exercise,
                    "description": i.description,
                }
                for i in self.notable
            ],
            "open_requests": [
                {
                    **r,
                    "deadline": iso_utc(r["deadline"])
                    if isinstance(r["deadline"], datetime)
                    else r["deadline"],
                }
                for r in self.open_requests
            ],
            "requests_available": self.requests_available,
            "tlp": self.tlp,
        }


def _counted() -> Any:
    return (Incident.status != Status.DISMISSED.value, Incident.withdrawn_at.is_(None))


def daily_report(session: Session, node: Node, actor: Actor, day: date | None = None) -> DailyReport:
    """Counts by type and section, seizures, notable incidents and open requests for one day (node's zone).

    Counted: own and received incidents that occurred that day, not dismissed, not withdrawn (drafts
    included: they are this node's own knowledge). Notable: high or very high impact, or any casualty.
    """
    require(actor, Permission.INCIDENTS_READ, "reading incidents")
    zone = node_zone(node)
    now = node.clock.now()
    day = day or now.astimezone(zone).date()
    since, until = day_bounds(day, zone)
    window = (Incident.occurred_at >= since, Incident.occurred_at < until, *_counted())
    rows = session.execute(
        select(Incident.type, Incident.section_id, Incident.origin, func.count())
        .where(*window)
        .group_by(Incident.type, Incident.section_id, Incident.origin)
    ).all()
    by_type: dict[str, int] = defaultdict(int)
    by_section: dict[str, int] = defaultdict(int)
    by_origin: dict[str, int] = defaultdict(int)
    matrix: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    total = 0
    for type_code, section_id, origin, count in rows:
        section = section_id or "—"
        by_type[type_code] += count
        by_section[section] += count
        by_origin[origin] += count
        matrix[type_code][section] += count
        total += count
    points: list[tuple[float, float, str]] = []
    labels: set[str] = set()
    for lon, lat, impact, tlp in session.execute(
        select(Incident.lon, Incident.lat, Incident.impact_level, Incident.tlp)
        .where(*window)
        .order_by(Incident.occurred_at)
        .limit(MAP_POINTS_MAX)
    ):
        points.append((float(lon), float(lat), str(impact)))
        labels.add(str(tlp))
    seizure_rows = session.execute(select(Incident.seizures).where(*window)).all()
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for (items,) in seizure_rows:
        for s in items or []:
            sums[(str(s["item"]), str(s["unit"]))] += float(s["quantity"])
    notable = [
        i
        for i in session.scalars(
            select(Incident)
            .where(*window, Incident.impact_level.in_(("high", "very_high")))
            .order_by(Incident.occurred_at)
            .limit(NOTABLE_MAX)
        )
    ]
    seen = {(i.origin, i.id) for i in notable}
    if len(notable) < NOTABLE_MAX:
        for i in session.scalars(
            select(Incident)
            .where(*window, Incident.impact_level.in_(("low", "medium")))
            .order_by(Incident.occurred_at)
        ):
            if any(i.casualties.values()) and (i.origin, i.id) not in seen:
                notable.append(i)
                if len(notable) >= NOTABLE_MAX:
                    break
    notable.sort(key=lambda i: i.occurred_at)
    requests, available = _open_requests(session, node, min(until, now))
    return DailyReport(
        party=node.party,
        day=day,
        zone=str(zone),
        since=since,
        until=until,
        generated_at=now,
        total=total,
        by_type=dict(sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))),
        by_section=dict(sorted(by_section.items())),
        by_type_section={t: dict(v) for t, v in sorted(matrix.items())},
        by_origin=dict(sorted(by_origin.items())),
        seizures=[
            {"item": item, "unit": unit, "quantity": round(q, 3)} for (item, unit), q in sorted(sums.items())
        ],
        notable=notable,
        open_requests=requests,
        requests_available=available,
        tlp=strictest_tlp(labels),
        points=points,
    )


# --- statistics -------------------------------------------------------------------------------------------


@dataclass
class Statistics:
    weeks: list[str]  # week starts (Monday, node's zone), oldest first
    sections: list[str]
    per_section_week: dict[str, list[int]]  # section -> count per week
    months: list[str]  # YYYY-MM, oldest first
    seizures: dict[str, list[float]]  # "item (unit)" -> quantity per month
    responses: list[dict[str, Any]]
    requests_available: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "weeks": self.weeks,
            "incidents_per_section_week": self.per_section_week,
            "months": self.months,
            "seizures_per_month": self.seizures,
            "responses": self.responses,
            "requests_available": self.requests_available,
        }


def _month_start(d: date) -> date:
    return d.replace(day=1)


def statistics(session: Session, node: Node, actor: Actor, *, weeks: int = 12) -> Statistics:
    """Incidents per section per week, seizures by substance per month, and the response to requests."""
    require(actor, Permission.INCIDENTS_READ, "reading incidents")
    zone = node_zone(node)
    today = node.clock.now().astimezone(zone).date()
    first_week = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    first_month = _month_start(first_week)
    since = datetime.combine(first_month, time(0), tzinfo=zone).astimezone(UTC)
    until = datetime.combine(today + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    week_labels = [(first_week + timedelta(weeks=k)).isoformat() for k in range(weeks)]
    months: list[str] = []
    m = first_month
    while m <= today:
        months.append(m.strftime("%Y-%m"))
        m = (m + timedelta(days=32)).replace(day=1)
    per_section: dict[str, list[int]] = {}
    seizures: dict[str, list[float]] = {}
    window = (Incident.occurred_at >= since, Incident.occurred_at < until, *_counted())
    week_start = datetime.combine(first_week, time(0), tzinfo=zone).astimezone(UTC)
    for section_id, occurred_at in session.execute(
        select(Incident.section_id, Incident.occurred_at).where(*window, Incident.occurred_at >= week_start)
    ):
        week = (occurred_at.astimezone(zone).date() - first_week).days // 7
        if 0 <= week < weeks:
            per_section.setdefault(section_id or "—", [0] * weeks)[week] += 1
    # only rows with seizures (the JSON text of "no seizures" is "[]" on both databases)
    for occurred_at, items in session.execute(
        select(Incident.occurred_at, Incident.seizures).where(
            *window, cast(Incident.seizures, String) != "[]"
        )
    ):
        month = occurred_at.astimezone(zone).strftime("%Y-%m")
        if month in months:
            for s in items or []:
                key = f"{s['item']} ({s['unit']})"
                seizures.setdefault(key, [0.0] * len(months))[months.index(month)] += float(s["quantity"])
    responses: list[dict[str, Any]] = []
    module = _requests_module()
    available = module is not None and hasattr(module, "response_stats")
    if module is not None and available:
        for r in module.response_stats(session, since, until):
            responses.append(
                {
                    "month": str(r.month),
                    "answered_on_time": int(r.answered_on_time),
                    "answered_late": int(r.answered_late),
                    "open": int(r.open),
                    "overdue": int(r.overdue),
                }
            )
    return Statistics(
        weeks=week_labels,
        sections=sorted(per_section),
        per_section_week=dict(sorted(per_section.items())),
        months=months,
        seizures=dict(sorted(seizures.items())),
        responses=responses,
        requests_available=available,
    )
