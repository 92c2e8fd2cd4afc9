"""The incident form's values: as stored (for editing), as typed (kept when refused), and in the API's JSON shape,
with every problem found on the page — each content rule on its own (``domain.incident_problems``), so the form
shows all of them at once, next to their fields (``sarhad.web.forms``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request

from sarhad.accounts.services import Principal
from sarhad.core.i18n import gettext as _
from sarhad.core.node import Node
from sarhad.core.params import parse_count
from sarhad.exchange.domain import Handling, Tlp
from sarhad.incidents import domain
from sarhad.incidents.models import Incident
from sarhad.incidents.taxonomy import taxonomy
from sarhad.web.forms import FormErrors, form_errors

TEXT_CAP = domain.DESCRIPTION_MAX * 2


def local_input(value: Any, zone: str) -> str:
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M")
    return str(value or "")


def values_from(incident: Incident | None, zone: str, now: datetime) -> dict[str, Any]:
    if incident is None:
        return {
            "type": "",
            "occurred_at": local_input(now, zone),
            "lat": "",
            "lon": "",
            "description": "",
            "impact_level": "low",
            "persons_apprehended": "0",
            "source_reliability": "F",
            "info_credibility": "6",
            "exercise": False,
            "casualties": {},
            "seizures": "",
            "tlp": Tlp.AMBER.value,
            "handling": Handling.NO_ONWARD.value,
            "release_to": [],
            "draft": False,
            "confirm_far": False,
            "follow_up_origin": "",
            "follow_up_id": "",
            "version": "",
        }
    return {
        "type": incident.type,
        "occurred_at": local_input(incident.occurred_at, zone),
        "lat": str(incident.lat),
        "lon": str(incident.lon),
        "description": incident.description,
        "impact_level": incident.impact_level,
        "persons_apprehended": str(incident.persons_apprehended),
        "source_reliability": incident.source_reliability,
        "info_credibility": incident.info_credibility,
        "exercise": incident.exercise,
        "casualties": dict(incident.casualties),
        "seizures": "\n".join(f"{s['item']}; {s['quantity']:g}; {s['unit']}" for s in incident.seizures),
        "confirm_far": False,
        "version": str(incident.version),
    }


PATHS = {f"casualties.{c}": f"casualty_{c}" for c in domain.CASUALTY_CATEGORIES} | {"lat/lon": "lat"}


def parse_seizures(text: str, errors: FormErrors) -> list[dict[str, Any]]:
    """One seizure per line: ``item; quantity; unit``."""
    items = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(";")]
        if len(parts) != 3:
            errors.add("seizures", _("Line %(n)s: write item; quantity; unit") % {"n": n})
            continue
        try:
            quantity = float(parts[1].replace(",", "."))
        except ValueError:
            errors.add("seizures", _("Line %(n)s: the quantity is not a number") % {"n": n})
            continue
        items.append({"item": parts[0], "quantity": quantity, "unit": parts[2]})
    return items


async def form_values(
    request: Request, node: Node, principal: Principal, labels: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any], FormErrors]:
    """(values as typed, data in the API's JSON shape, every problem found in them, on the inputs ``labels``
    names)."""
    form = await request.form()
    zone = principal.time_zone
    errors = form_errors(principal, labels, PATHS)

    def text(name: str, cap: int = 2000) -> str:
        value = form.get(name)
        return value[:cap] if isinstance(value, str) else ""

    values: dict[str, Any] = {
        "type": text("type", 40),
        "occurred_at": text("occurred_at", 40),
        "lat": text("lat", 40),
        "lon": text("lon", 40),
        "description": text("description", TEXT_CAP),
        "impact_level": text("impact_level", 16),
        "persons_apprehended": text("persons_apprehended", 12) or "0",
        "source_reliability": text("source_reliability", 1) or "F",
        "info_credibility": text("info_credibility", 1) or "6",
        "exercise": bool(form.get("exercise")),
        "casualties": {},
        "seizures": text("seizures", 10_000),
        "tlp": text("tlp", 16) or Tlp.AMBER.value,
        "handling": text("handling", 16) or Handling.NO_ONWARD.value,
        "release_to": [v for v in form.getlist("release_to") if isinstance(v, str)][:32],
        "draft": bool(form.get("draft")),
        "confirm_far": bool(form.get("confirm_far")),
        "follow_up_origin": text("follow_up_origin", 2),
        "follow_up_id": text("follow_up_id", 64),
        "version": text("version", 12),
    }
    data: dict[str, Any] = {
        "type": values["type"],
        "description": values["description"],
        "impact_level": values["impact_level"],
        "source_reliability": values["source_reliability"],
        "info_credibility": values["info_credibility"],
        "exercise": values["exercise"],
        "confirm_far": values["confirm_far"],
    }
    for name in ("lat", "lon"):
        raw = values[name].strip().replace(",", ".")
        if not raw:
            errors.add(name, _("Fill this in."))
            continue
        try:
            data[name] = float(raw)
        except ValueError:
            errors.add(name, _("Write a number in degrees, such as 28.95."))
    try:
        moment = datetime.fromisoformat(values["occurred_at"].strip())
        data["occurred_at"] = moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))
    except ValueError:
        errors.add("occurred_at", _("Write a date and time."))
    persons = parse_count(values["persons_apprehended"])
    if persons is None:
        errors.add("persons_apprehended", _("Write a whole number, 0 or more."))
    else:
        data["persons_apprehended"] = persons
    casualties: dict[str, int] = {}
    for category in domain.CASUALTY_CATEGORIES:
        raw = text(f"casualty_{category}", 12).strip()
        values[f"casualty_{category}"] = raw
        if raw:
            count = parse_count(raw)
            if count is not None:
                casualties[category] = count
            else:
                errors.add(f"casualty_{category}", _("Write a whole number, 0 or more."))
    values["casualties"] = casualties
    data["casualties"] = casualties
    data["seizures"] = parse_seizures(values["seizures"], errors)
    for problem in domain.incident_problems(
        type=data["type"],
        occurred_at=data.get("occurred_at"),
        lat=data.get("lat"),
        lon=data.get("lon"),
        description=data["description"],
        impact_level=data["impact_level"],
        now=node.clock.now(),
        types=taxonomy(node),
        casualties=casualties,
        seizures=data["seizures"],
        persons_apprehended=data.get("persons_apprehended"),
        source_reliability=data["source_reliability"],
        info_credibility=data["info_credibility"],
    ):
        errors.add_exception(problem)
    return values, data, errors
