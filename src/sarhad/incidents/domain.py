"""Pure rules of incident reports: taxonomy, validation, workflow, attachments and the record content. No I/O
except reading the taxonomy files handed to ``load_taxonomy``.

The same rules check an incident typed by a user here and one received from a peer, so a peer cannot make this
node store what its own users could not (received incidents are checked with the peer's taxonomy codes
accepted as they are: a peer may know types we do not, see ``check_received_type``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from sarhad.core.errors import RuleError
from sarhad.exchange.record_rules import content_time

KIND = "incident"
DESCRIPTION_MAX = 20_000
REASON_MAX = 2000  # characters of a dismissal reason (a withdrawal's is record_rules.REASON_MAX)
ITEM_MAX = 100
FAR_FROM_BORDER_M = 50_000.0  # farther than this from the border line: a warning the user must confirm
CLOCK_SKEW = timedelta(minutes=5)  # an occurrence up to 5 minutes "in the future" is accepted (clock skew)
DRAFT_FLAG_AFTER = timedelta(hours=24)  # EUROSUR first-report rule: a draft older than this is flagged
MAX_COUNT = 100_000  # casualties / persons apprehended per category (sanity bound)
MAX_QUANTITY = 1e12
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ATTACHMENTS_PER_INCIDENT = 20
TAXONOMY_FILE = Path(__file__).with_name("taxonomy.json")
NODE_TAXONOMY_FILE = "incident_types.json"
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class Status(StrEnum):
    DRAFT = "draft"
    REPORTED = "reported"
    VALIDATED = "validated"
    CLOSED = "closed"
    DISMISSED = "dismissed"


class ImpactLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    VERY_HIGH = "very_high"


IMPACT_ORDER: tuple[str, ...] = tuple(level.value for level in ImpactLevel)
RELIABILITY = ("A", "B", "C", "D", "E", "F")  # Admiralty code: source reliability
CREDIBILITY = ("1", "2", "3", "4", "5", "6")  # Admiralty code: information credibility

CASUALTY_CATEGORIES: tuple[str, ...] = (
    "security_killed",
    "security_injured",
    "civilian_killed",
    "civilian_injured",
    "assailant_killed",
    "assailant_injured",
    "kidnapped",
    "missing",
)
UNITS: tuple[str, ...] = ("kg", "g", "t", "l", "units", "packets", "vehicles", "head")

# transitions: action -> (allowed from, to)
TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    "report": (frozenset({Status.DRAFT}), Status.REPORTED),
    "validate": (frozenset({Status.REPORTED}), Status.VALIDATED),
    "close": (frozenset({Status.REPORTED, Status.VALIDATED}), Status.CLOSED),
    "dismiss": (frozenset({Status.DRAFT, Status.REPORTED, Status.VALIDATED}), Status.DISMISSED),
}
VALIDATOR_ACTIONS = frozenset({"validate", "close", "dismiss"})  # need incidents.validate


# --- taxonomy ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentType:
    code: str
    names: dict[str, str]
    group: str

    def name(self, language: str = "en") -> str:
        return self.names.get(language) or self.names.get("en") or self.code


def _read_types(path: Path) -> list[IncidentType]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    items = doc.get("types") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise ValueError(f"{path}: expected an object with a 'types' list")
    result = []
    for n, item in enumerate(items):
        code = item.get("code") if isinstance(item, dict) else None
        if not isinstance(code, str) or not CODE_RE.match(code):
            raise ValueError(f"{path}: types[{n}].code must be snake_case (2–40 characters)")
        names = item.get("names") or {}
        if not isinstance(names, dict) or not isinstance(names.get("en"), str):
            raise ValueError(f"{path}: types[{n}].names needs at least an English name ('en')")
        result.append(IncidentType(code=code, names=dict(names), group=str(item.get("group", "other"))))
    return result


def load_taxonomy(extra: Path | None = None) -> dict[str, IncidentType]:
    """The built-in types, plus a node's own additions (``<data_dir>/incident_types.json``) when present."""
    types = {t.code: t for t in _read_types(TAXONOMY_FILE)}
    if extra is not None and extra.exists():
        for t in _read_types(extra):
            types.setdefault(t.code, t)
    return types


BUILTIN_TYPES: dict[str, IncidentType] = load_taxonomy()


def check_type(code: str, types: Mapping[str, IncidentType]) -> str:
    if code not in types:
        raise RuleError("type", f"unknown incident type {code!r}; known types: {', '.join(sorted(types))}")
    return code


def check_received_type(code: str) -> str:
    """A peer's type code: any well-formed snake_case code (its taxonomy may have more types than ours)."""
    if not CODE_RE.match(code):
        raise RuleError("type", f"incident type {code!r} is not a snake_case code")
    return code


# --- content rules ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seizure:
    item: str
    quantity: float
    unit: str

    def as_dict(self) -> dict[str, Any]:
        return {"item": self.item, "quantity": self.quantity, "unit": self.unit}


@dataclass(frozen=True)
class IncidentFields:
    """An incident's content after every rule has passed (text trimmed, times in UTC)."""

    type: str
    occurred_at: datetime
    lat: float
    lon: float
    description: str
    casualties: dict[str, int]
    seizures: list[Seizure]
    persons_apprehended: int
    impact_level: str
    source_reliability: str
    info_credibility: str
    exercise: bool


def check_point(lat: float, lon: float) -> tuple[float, float]:
    if not isinstance(lat, int | float) or not math.isfinite(lat) or not -90.0 <= lat <= 90.0:
        raise RuleError("lat", f"latitude {lat} is outside -90 to 90")
    if not isinstance(lon, int | float) or not math.isfinite(lon) or not -180.0 <= lon <= 180.0:
        raise RuleError("lon", f"longitude {lon} is outside -180 to 180")
    return float(lat), float(lon)


# Occurrence times before this year are refused: a typo (0026 for 2026) rather than a record, and dates
# before 1900 are outside what the calendars, the exports and the reports handle.
EARLIEST_YEAR = 1900


def check_occurred_at(occurred_at: datetime, now: datetime) -> datetime:
    if occurred_at.tzinfo is None:
        raise RuleError("occurred_at", "occurred_at needs a time zone (e.g. 2026-11-23T08:00:00+05:00)")
    if occurred_at.year < EARLIEST_YEAR:
        # Also keeps year 1 with a positive offset away from astimezone, which cannot go below year 1.
        raise RuleError(
            "occurred_at",
            f"{occurred_at.isoformat()} is before {EARLIEST_YEAR}; check the year of the incident",
        )
    if occurred_at.year > now.year + 1:  # far in the future; astimezone would overflow near year 9999
        raise RuleError(
            "occurred_at", f"the incident cannot have occurred in the future ({occurred_at.isoformat()})"
        )
    value = occurred_at.astimezone(UTC)
    if value > now + CLOCK_SKEW:
        raise RuleError(
            "occurred_at",
            f"the incident cannot have occurred in the future ({value.isoformat()} is after now, "
            f"{now.astimezone(UTC).isoformat()}; {int(CLOCK_SKEW.total_seconds() // 60)} minutes of clock "
            "skew are allowed)",
        )
    return value


def check_description(text: str) -> str:
    text = text.strip()
    if not text:
        raise RuleError("description", "describe what happened")
    if len(text) > DESCRIPTION_MAX:
        raise RuleError(
            "description", f"the description is {len(text)} characters; at most {DESCRIPTION_MAX} are allowed"
        )
    return text


def check_casualties(values: Mapping[str, int] | None) -> dict[str, int]:
    result: dict[str, int] = {}
    for category, count in (values or {}).items():
        if category not in CASUALTY_CATEGORIES:
            raise RuleError(
                f"casualties.{category}",
                f"unknown casualty category {category!r}; use {', '.join(CASUALTY_CATEGORIES)}",
            )
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
            raise RuleError(
                f"casualties.{category}", f"a casualty count is a whole number from 0 to {MAX_COUNT}"
            )
        if count:
            result[category] = count
    return {k: result[k] for k in CASUALTY_CATEGORIES if k in result}


def check_seizures(items: Sequence[Mapping[str, Any]] | None) -> list[Seizure]:
    result = []
    for n, item in enumerate(items or ()):
        name = " ".join(str(item.get("item", "")).split()).lower()
        if not name or len(name) > ITEM_MAX:
            raise RuleError(
                f"seizures[{n}].item", f"name the substance or goods seized (1 to {ITEM_MAX} characters)"
            )
        quantity = item.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int | float) or not math.isfinite(quantity):
            raise RuleError(f"seizures[{n}].quantity", "the quantity must be a number")
        if quantity < 0:
            raise RuleError(f"seizures[{n}].quantity", f"the quantity cannot be negative ({quantity})")
        if quantity > MAX_QUANTITY:
            raise RuleError(f"seizures[{n}].quantity", "the quantity is implausibly large")
        unit = str(item.get("unit", "")).strip().lower()
        if unit not in UNITS:
            raise RuleError(f"seizures[{n}].unit", f"unit {unit!r} is not one of {', '.join(UNITS)}")
        result.append(Seizure(item=name, quantity=float(quantity), unit=unit))
    return result


def check_count(field_name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise RuleError(field_name, f"{field_name} is a whole number from 0 to {MAX_COUNT}")
    return value


def check_impact(value: str) -> str:
    if value not in IMPACT_ORDER:
        raise RuleError("impact_level", f"impact level {value!r} is not one of {', '.join(IMPACT_ORDER)}")
    return value


def check_confidence(reliability: str, credibility: str) -> tuple[str, str]:
    if reliability not in RELIABILITY:
        raise RuleError("source_reliability", "source reliability is a letter from A to F")
    if credibility not in CREDIBILITY:
        raise RuleError("info_credibility", "information credibility is a digit from 1 to 6")
    return reliability, credibility


def incident_problems(
    *,
    type: str,
    occurred_at: datetime | None,
    lat: float | None,
    lon: float | None,
    description: str,
    impact_level: str,
    now: datetime,
    types: Mapping[str, IncidentType],
    casualties: Mapping[str, int] | None = None,
    seizures: Sequence[Mapping[str, Any]] | None = None,
    persons_apprehended: int | None = 0,
    source_reliability: str = "F",
    info_credibility: str = "6",
) -> list[RuleError]:
    """Every content rule that ``check_incident`` applies, each on its own, so a form can show all that are
    broken at once (``check_incident`` stops at the first). A value given as None was already refused by the
    caller (not a number, not a time) and is not checked again."""
    checks: list[Callable[[], object]] = [
        lambda: check_type(type, types),
        lambda: check_description(description),
        lambda: check_casualties(casualties),
        lambda: check_seizures(seizures),
        lambda: check_impact(impact_level),
        lambda: check_confidence(source_reliability, info_credibility),
    ]
    if lat is not None and lon is not None:
        checks.append(lambda: check_point(lat, lon))
    elif lat is not None:
        checks.append(lambda: check_point(lat, 0.0))
    elif lon is not None:
        checks.append(lambda: check_point(0.0, lon))
    if occurred_at is not None:
        checks.append(lambda: check_occurred_at(occurred_at, now))
    if persons_apprehended is not None:
        checks.append(lambda: check_count("persons_apprehended", persons_apprehended))
    problems: list[RuleError] = []
    for check in checks:
        try:
            check()
        except RuleError as exc:
            problems.append(exc)
    return problems


def check_incident(
    *,
    type: str,
    occurred_at: datetime,
    lat: float,
    lon: float,
    description: str,
    impact_level: str,
    now: datetime,
    types: Mapping[str, IncidentType] | None,
    casualties: Mapping[str, int] | None = None,
    seizures: Sequence[Mapping[str, Any]] | None = None,
    persons_apprehended: int = 0,
    source_reliability: str = "F",
    info_credibility: str = "6",
    exercise: bool = False,
) -> IncidentFields:
    """Every content rule; raises ``RuleError`` naming the first field that breaks one.

    ``types`` None means a received incident: any well-formed type code is accepted.
    """
    code = check_type(type, types) if types is not None else check_received_type(type)
    lat, lon = check_point(lat, lon)
    reliability, credibility = check_confidence(source_reliability, info_credibility)
    return IncidentFields(
        type=code,
        occurred_at=check_occurred_at(occurred_at, now),
        lat=lat,
        lon=lon,
        description=check_description(description),
        casualties=check_casualties(casualties),
        seizures=check_seizures(seizures),
        persons_apprehended=check_count("persons_apprehended", persons_apprehended),
        impact_level=check_impact(impact_level),
        source_reliability=reliability,
        info_credibility=credibility,
        exercise=bool(exercise),
    )


def far_from_border_warning(distance_m: float | None) -> str | None:
    """The warning for a point far from the border (the user must confirm it), or None."""
    if distance_m is None or distance_m <= FAR_FROM_BORDER_M:
        return None
    return (
        f"the point is {distance_m / 1000:.1f} km from the border line (more than "
        f"{FAR_FROM_BORDER_M / 1000:.0f} km); check the coordinates, or confirm with confirm_far=true"
    )


# --- workflow ---------------------------------------------------------------------------------------------


def check_transition(status: str, action: str, reason: str = "") -> Status:
    """The status after ``action``; dismissing needs a reason."""
    if action not in TRANSITIONS:
        raise RuleError("action", f"unknown action {action!r}; use {', '.join(TRANSITIONS)}")
    allowed, target = TRANSITIONS[action]
    current = Status(status)
    if current not in allowed:
        raise RuleError(
            "action",
            f"an incident that is {current.value} cannot be {target.value} "
            f"(only from {', '.join(sorted(s.value for s in allowed))})",
        )
    if action == "dismiss":
        reason = reason.strip()
        if not reason or len(reason) > REASON_MAX:
            raise RuleError("reason", f"say why the incident is dismissed (1 to {REASON_MAX} characters)")
    return target


def draft_overdue(status: str, created_at: datetime, now: datetime) -> bool:
    """A draft older than 24 hours (EUROSUR first-report rule): it should have been reported by now."""
    return status == Status.DRAFT.value and now - created_at > DRAFT_FLAG_AFTER


def editable_status(status: str) -> bool:
    return status not in (Status.CLOSED.value, Status.DISMISSED.value)


# --- sharing ----------------------------------------------------------------------------------------------


def check_releasable(status: str) -> None:
    """A draft is not released (the labels, handling and targets of a release are ``exchange.record_rules``')."""
    if status == Status.DRAFT.value:
        raise RuleError("status", "a draft is not released; report it first")


# --- attachments ------------------------------------------------------------------------------------------

# (media type, extension, predicate on the first bytes). Decided by content, never by the claimed name/type.
_SIGNATURES: tuple[tuple[str, str, Any], ...] = (
    ("image/jpeg", "jpg", lambda b: b.startswith(b"\xff\xd8\xff")),
    ("image/png", "png", lambda b: b.startswith(b"\x89PNG\r\n\x1a\n")),
    ("image/webp", "webp", lambda b: len(b) >= 12 and b[:4] == b"RIFF" and b[8:12] == b"WEBP"),
    ("application/pdf", "pdf", lambda b: b.startswith(b"%PDF-")),
)
_EXTENSIONS = {
    "image/jpeg": {"jpg", "jpeg"},
    "image/png": {"png"},
    "image/webp": {"webp"},
    "application/pdf": {"pdf"},
}
FILENAME_MAX = 200


def sniff_media_type(data: bytes) -> str | None:
    """The media type the content's magic bytes show, among the allowed ones; None otherwise."""
    head = data[:16]
    for media_type, _ext, test in _SIGNATURES:
        if test(head):
            return str(media_type)
    return None


def check_attachment(filename: str, data: bytes, max_bytes: int = ATTACHMENT_MAX_BYTES) -> tuple[str, str]:
    """(clean file name, media type) of an acceptable attachment; refuses oversized and disguised files."""
    name = Path(filename.replace("\\", "/")).name.strip()
    name = "".join(ch for ch in name if ch.isprintable())[:FILENAME_MAX]
    if not name:
        raise RuleError("file", "the attachment needs a file name")
    if not data:
        raise RuleError("file", "the attachment is empty")
    if len(data) > max_bytes:
        raise RuleError(
            "file",
            f"the attachment is {len(data)} bytes; at most {max_bytes} bytes ({max_bytes // 1048576} MB)",
        )
    media_type = sniff_media_type(data)
    if media_type is None:
        raise RuleError(
            "file",
            "the attachment's content is not a JPEG, PNG, WebP image or a PDF document "
            "(the type is decided by the file's content, not its name)",
        )
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ext not in _EXTENSIONS[media_type]:
        raise RuleError(
            "file",
            f"the file is named {name!r} but its content is {media_type}; a disguised file is refused "
            f"(name it .{sorted(_EXTENSIONS[media_type])[0]})",
        )
    return name, media_type


# --- the record content sent over the link ----------------------------------------------------------------


class IncidentLike(Protocol):
    type: str
    status: str
    occurred_at: datetime
    reported_at: datetime | None
    lat: float
    lon: float
    side: str | None
    section_id: str | None
    distance_to_border_m: float | None
    description: str
    casualties: dict[str, int]
    seizures: list[dict[str, Any]]
    persons_apprehended: int
    impact_level: str
    source_reliability: str
    info_credibility: str
    exercise: bool
    follow_up_of_origin: str | None
    follow_up_of_id: str | None
    status_reason: str
    attachments: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime


def snapshot(incident: IncidentLike) -> dict[str, Any]:
    """The content of one version as released over the link: JSON-able, times in ISO UTC.

    TLP and handling are not in the content: they travel on the record itself.
    """
    follow_up = None
    if incident.follow_up_of_id:
        follow_up = {"origin": incident.follow_up_of_origin, "id": incident.follow_up_of_id}
    return {
        "type": incident.type,
        "status": incident.status,
        "status_reason": incident.status_reason,
        "occurred_at": content_time(incident.occurred_at),
        "reported_at": content_time(incident.reported_at),
        "location": {"lat": incident.lat, "lon": incident.lon},
        "side": incident.side,
        "section": incident.section_id,
        "distance_to_border_m": (
            None if incident.distance_to_border_m is None else round(incident.distance_to_border_m, 1)
        ),
        "description": incident.description,
        "casualties": dict(incident.casualties),
        "seizures": [dict(s) for s in incident.seizures],
        "persons_apprehended": incident.persons_apprehended,
        "impact_level": incident.impact_level,
        "source_reliability": incident.source_reliability,
        "info_credibility": incident.info_credibility,
        "exercise": incident.exercise,
        "follow_up_of": follow_up,
        "attachments": [dict(a) for a in incident.attachments],
        "created_at": content_time(incident.created_at),
        "updated_at": content_time(incident.updated_at),
    }


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Top-level content keys that differ between two versions (for the history view)."""
    keys = [k for k in after if k not in ("updated_at",)]
    return [k for k in keys if before.get(k) != after.get(k)]


def notable(impact_level: str, casualties: Mapping[str, int]) -> bool:
    """Whether an incident is 'notable' in the daily report: high or very high impact, or any casualty."""
    return IMPACT_ORDER.index(impact_level) >= IMPACT_ORDER.index("high") or any(casualties.values())


@dataclass(frozen=True)
class Taxonomy:
    """The node's incident types by code, loaded once per node (held in ``node.components``)."""

    types: Mapping[str, IncidentType]
