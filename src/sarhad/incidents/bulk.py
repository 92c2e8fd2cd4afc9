"""Bulk import of incidents from CSV (``sarhad incidents import FILE.csv``).

Format (UTF-8, a header row; column order free; unknown columns refused so a typo is not silently ignored):

=====================  ========  =====================================================================
column                 required  value
=====================  ========  =====================================================================
type                   yes       a type code of the node's taxonomy (``drug_smuggling``)
occurred_at            yes       ISO 8601 with a zone (``2026-11-20T14:30:00+05:00``)
lat, lon               yes       WGS84 degrees
description            yes       text
impact_level           no        low (default), medium, high, very_high
casualties             no        ``category=count`` separated by spaces (``security_injured=2 civilian_killed=1``)
seizures               no        ``item:quantity:unit`` separated by ``|`` (``opium:120:kg|diesel:800:l``)
persons_apprehended    no        whole number (default 0)
source_reliability     no        A–F (default F)
info_credibility       no        1–6 (default 6)
exercise               no        yes/no, true/false, 1/0 (default no)
status                 no        draft, or reported (the default); validated, closed and dismissed are
                                 imported as reported (the workflow's later steps are acts of this node)
=====================  ========  =====================================================================

The list's CSV export (``GET /api/v1/incidents?format=csv``, ``exports.incidents_csv``) imports as it is: its
other columns (``origin, id, version, reported_at, side, section, distance_to_border_m, tlp, updated_at,
received_at``) are read and ignored — each row becomes a new incident of this node, placed again by the
locator — its seizures (``opium 120 kg; diesel 800 l``) are read as well as the ``item:quantity:unit`` form, and
the apostrophe the export puts before a text cell starting with ``= + - @`` (a spreadsheet formula guard) is
taken off again.

Imported incidents are version 1 as written: the version row (history) of version 1 is the incident row itself
and is written out the first time the incident changes (``versions.materialize_version``), so the import writes
one row per incident. Every row is checked with the same rules as the API (``domain.check_incident``); the side of the border and the
nearest section come from ``BorderLocator`` (fast, see locate.py). A point more than 50 km from the border is
an error unless ``confirm_far``. All or nothing by default: one bad row and nothing is written; with
``partial`` the good rows are written and the bad ones reported. Rows go in with bulk Core inserts (incidents
and their version 1) as they stream in, in one transaction (a savepoint rolled back if a row is refused), with
one audit entry for the whole import.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.core.database import insert_rows, table_of
from sarhad.core.errors import InvalidInput, RuleError
from sarhad.core.formats import CSV_FORMULA_PREFIXES
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.core.text import check_no_nul
from sarhad.exchange.record_rules import content_time
from sarhad.exchange.release import content_hash
from sarhad.incidents import domain
from sarhad.incidents.domain import KIND, IncidentFields, Status
from sarhad.incidents.locate import BorderLocator
from sarhad.incidents.models import Incident

REQUIRED = ("type", "occurred_at", "lat", "lon", "description")
OPTIONAL = (
    "impact_level",
    "casualties",
    "seizures",
    "persons_apprehended",
    "source_reliability",
    "info_credibility",
    "exercise",
    "status",
)
EXPORT_ONLY = (
    "origin",
    "id",
    "version",
    "reported_at",
    "side",
    "section",
    "distance_to_border_m",
    "tlp",
    "updated_at",
    "received_at",
)
"""Columns of the list's CSV export that an import reads and ignores (the export re-imports)."""
IMPORTED_AS_REPORTED = ("validated", "closed", "dismissed")
TRUE = {"yes", "true", "1", "y"}
FALSE = {"no", "false", "0", "n", ""}
CHUNK = 5000
MAX_ERRORS_KEPT = 1000


@dataclass
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass
class ImportReport:
    rows: int = 0
    imported: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    written: bool = False

    def add_error(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            self.errors.append(error)


class ImportFileError(InvalidInput):
    """The file as a whole is unusable (no header, missing or unknown columns).

    A refusal of its own (not a ``RuleError`` of one row): it stops the import before any row is read, while
    row errors are collected with their line numbers. It is an ``InvalidInput``, so any entry point answers
    it as bad input; the command line names it to print the file's name with the reason."""


def _parse_casualties(text: str) -> dict[str, int]:
    result: dict[str, int] = {}
    for part in text.split():
        name, sep, value = part.partition("=")
        if not sep:
            raise RuleError("casualties", f"{part!r} is not category=count")
        try:
            result[name] = int(value)
        except ValueError:
            raise RuleError("casualties", f"{value!r} is not a whole number") from None
    return result


def _parse_seizures(text: str) -> list[dict[str, Any]]:
    """``item:quantity:unit`` separated by ``|``, or the export's form, ``item quantity unit`` separated by
    ``;`` (the item may have spaces), which a file with neither ``|`` nor ``:`` is read as."""
    exported = bool(text.strip()) and "|" not in text and ":" not in text
    items = []
    for part in text.split(";" if exported else "|"):
        part = part.strip() if exported else part
        if not part.strip():
            continue
        bits = part.rsplit(None, 2) if exported else part.split(":")
        if len(bits) != 3:
            raise RuleError("seizures", f"{part!r} is not item:quantity:unit")
        try:
            quantity = float(bits[1])
        except ValueError:
            raise RuleError("seizures", f"quantity {bits[1]!r} is not a number") from None
        items.append({"item": bits[0], "quantity": quantity, "unit": bits[2]})
    return items


def _unguarded(value: str) -> str:
    """A text cell without the apostrophe ``core.formats.csv_safe`` puts before a would-be formula."""
    if value.startswith("'") and value[1:].startswith(CSV_FORMULA_PREFIXES):
        return value[1:]
    return value


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise RuleError(name, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise RuleError(name, f"{text!r} is not a finite number")
    return value


def _canonical_float(value: float) -> float | int | None:
    """The value as RFC 8785 writes it via the standard encoder, or None when the encoder would differ."""
    if value.is_integer():  # ECMAScript writes integral doubles as digits; exact below 2^53
        return int(value) if abs(value) < 2**53 else None
    if 1e-4 <= abs(value) < 1e16:
        return value
    return None


def _fast_hash(content: dict[str, Any]) -> str:
    """``content_hash`` of an import row's content, faster.

    RFC 8785 writes numbers in ECMAScript form; Python's ``repr`` of a float is the same shortest round-trip
    text whenever that form has a fraction and no exponent (1e-4 ≤ |x| < 1e16), and integral floats are
    written as integers by both once turned into ``int``. The only floats of an import row's content are the
    coordinates, the distance to the border and the seizure quantities; if any of them falls outside that
    range, the row goes through ``content_hash``. A unit test checks both give the same hash.
    """
    location = content["location"]
    floats = [location["lat"], location["lon"]]
    if content["distance_to_border_m"] is not None:
        floats.append(content["distance_to_border_m"])
    floats += [s["quantity"] for s in content["seizures"]]
    fixed = [_canonical_float(v) for v in floats]
    if any(v is None for v in fixed):
        return content_hash(content)
    copy = dict(content)
    copy["location"] = {"lat": fixed[0], "lon": fixed[1]}
    n = 2
    if content["distance_to_border_m"] is not None:
        copy["distance_to_border_m"] = fixed[2]
        n = 3
    copy["seizures"] = [{**s, "quantity": q} for s, q in zip(content["seizures"], fixed[n:], strict=True)]
    text = _ENCODER.encode(copy)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def check_header(header: list[str] | None) -> list[str]:
    if not header:
        raise ImportFileError("the file is empty; the first line must name the columns")
    names = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise ImportFileError(f"missing column(s): {', '.join(missing)} (required: {', '.join(REQUIRED)})")
    unknown = [c for c in names if c not in REQUIRED and c not in OPTIONAL and c not in EXPORT_ONLY]
    if unknown:
        raise ImportFileError(
            f"unknown column(s): {', '.join(unknown)}; allowed: {', '.join(REQUIRED + OPTIONAL)} "
            f"(and, ignored, the export's {', '.join(EXPORT_ONLY)})"
        )
    if len(set(names)) != len(names):
        raise ImportFileError("a column is named twice")
    return names


BATCH = 2000


def parse_rows(
    node: Node,
    locator: BorderLocator,
    lines: Iterable[str],
    *,
    actor: str,
    confirm_far: bool,
    report: ImportReport,
) -> Iterator[dict[str, Any]]:
    """Yield the incident row of each valid CSV row; record errors in ``report``.

    Rows are checked one by one, then placed (side, section) in batches with one array operation."""
    reader = csv.reader(lines)
    names = check_header(_next_row(reader))
    types = domain.load_taxonomy(node.settings.data_dir / domain.NODE_TAXONOMY_FILE)
    now = node.clock.now()
    width = len(names)
    batch: list[tuple[int, IncidentFields, str]] = []
    while (values := _next_row(reader)) is not None:
        line = reader.line_num
        if not values or (len(values) == 1 and not values[0].strip()):
            continue
        report.rows += 1
        if len(values) != width:
            report.add_error(RowError(line, "row", f"{len(values)} values for {width} columns"))
            continue
        try:
            row = {k: _unguarded(v) for k, v in zip(names, values, strict=True)}
            check_no_nul(row, "")
            fields, status = _check_row(row, now, types)
        except RuleError as exc:
            report.add_error(RowError(line, exc.field, exc.message))
            continue
        batch.append((line, fields, status))
        if len(batch) >= BATCH:
            yield from _placed(
                node, locator, batch, actor=actor, now=now, confirm_far=confirm_far, report=report
            )
            batch = []
    if batch:
        yield from _placed(node, locator, batch, actor=actor, now=now, confirm_far=confirm_far, report=report)


def _next_row(reader: Any) -> list[str] | None:
    """The next row of the CSV reader, None at the end; a file the csv module cannot read (a value over its
    field size limit, a quote never closed) stops the import with the line (``ImportFileError``)."""
    try:
        values: list[str] = next(reader)
    except StopIteration:
        return None
    except csv.Error as exc:
        problem = str(exc)
        if "field limit" in problem:
            problem = (
                f"a value is longer than {csv.field_size_limit():,} characters, far beyond any field of an "
                "incident (a quote left open swallows the lines after it too)"
            )
        raise ImportFileError(f"line {reader.line_num}: {problem}") from exc
    return values


def _check_row(row: dict[str, str], now: datetime, types: Any) -> tuple[IncidentFields, str]:
    try:
        occurred = datetime.fromisoformat(row["occurred_at"].strip())
    except ValueError:
        raise RuleError("occurred_at", f"{row['occurred_at']!r} is not an ISO 8601 time") from None
    exercise_text = row.get("exercise", "").strip().lower()
    if exercise_text not in TRUE and exercise_text not in FALSE:
        raise RuleError("exercise", f"{exercise_text!r} is not yes or no")
    status = row.get("status", "").strip().lower() or Status.REPORTED.value
    if status in IMPORTED_AS_REPORTED:
        status = Status.REPORTED.value
    if status not in (Status.DRAFT.value, Status.REPORTED.value):
        raise RuleError("status", "an imported incident is a draft or reported")
    persons = row.get("persons_apprehended", "").strip() or "0"
    if not persons.isdigit():
        raise RuleError("persons_apprehended", f"{persons!r} is not a whole number")
    fields = domain.check_incident(
        type=row["type"].strip(),
        occurred_at=occurred,
        lat=_number("lat", row["lat"]),
        lon=_number("lon", row["lon"]),
        description=row["description"],
        impact_level=row.get("impact_level", "").strip() or "low",
        now=now,
        types=types,
        casualties=_parse_casualties(row.get("casualties", "")),
        seizures=_parse_seizures(row.get("seizures", "")),
        persons_apprehended=int(persons),
        source_reliability=row.get("source_reliability", "").strip().upper() or "F",
        info_credibility=row.get("info_credibility", "").strip() or "6",
        exercise=exercise_text in TRUE,
    )
    return fields, status


def _placed(
    node: Node,
    locator: BorderLocator,
    batch: list[tuple[int, IncidentFields, str]],
    *,
    actor: str,
    now: datetime,
    confirm_far: bool,
    report: ImportReport,
) -> Iterator[dict[str, Any]]:
    places = locator.places([b[1].lon for b in batch], [b[1].lat for b in batch])
    now_iso = content_time(now)
    party = node.party
    for (line, fields, status), place in zip(batch, places, strict=True):
        warning = domain.far_from_border_warning(place.distance_to_border_m)
        if warning and not confirm_far:
            report.add_error(RowError(line, "lat/lon", warning.replace("confirm_far=true", "--confirm-far")))
            continue
        seizures = [s.as_dict() for s in fields.seizures]
        distance = None if place.distance_to_border_m is None else round(place.distance_to_border_m, 1)
        reported = status == Status.REPORTED.value
        content = {
            "type": fields.type,
            "status": status,
            "status_reason": "",
            "occurred_at": content_time(fields.occurred_at),
            "reported_at": now_iso if reported else None,
            "location": {"lat": fields.lat, "lon": fields.lon},
            "side": place.side,
            "section": place.section_id,
            "distance_to_border_m": distance,
            "description": fields.description,
            "casualties": fields.casualties,
            "seizures": seizures,
            "persons_apprehended": fields.persons_apprehended,
            "impact_level": fields.impact_level,
            "source_reliability": fields.source_reliability,
            "info_credibility": fields.info_credibility,
            "exercise": fields.exercise,
            "follow_up_of": None,
            "attachments": [],
            "created_at": now_iso,
            "updated_at": now_iso,
        }
        digest = _fast_hash(content)
        incident_id = new_id()
        yield {
            "origin": party,
            "id": incident_id,
            "version": 1,
            "type": fields.type,
            "status": status,
            "status_reason": "",
            "occurred_at": fields.occurred_at,
            "reported_at": now if reported else None,
            "lat": fields.lat,
            "lon": fields.lon,
            "side": place.side,
            "section_id": place.section_id,
            "distance_to_border_m": distance,
            "description": fields.description,
            "casualties": _ENCODER.encode(fields.casualties) if fields.casualties else "{}",
            "seizures": _ENCODER.encode(seizures) if seizures else "[]",
            "persons_apprehended": fields.persons_apprehended,
            "impact_level": fields.impact_level,
            "source_reliability": fields.source_reliability,
            "info_credibility": fields.info_credibility,
            "exercise": fields.exercise,
            "follow_up_of_origin": None,
            "follow_up_of_id": None,
            "attachments": "[]",
            "tlp": "amber",
            "handling": "no_onward",
            "content_hash": digest,
            "created_by": actor,
            "created_at": now,
            "updated_at": now,
            "withdrawn_at": None,
            "withdraw_reason": "",
            "received_at": None,
        }


INCIDENT_JSON = frozenset({"casualties", "seizures", "attachments"})


def import_csv(
    session: Session,
    node: Node,
    actor: Actor,
    lines: Iterable[str],
    *,
    source: str = "",
    partial: bool = False,
    confirm_far: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Check and write the rows as they stream in (memory stays flat for millions of rows), inside a savepoint
    that is rolled back at the end if any row was refused (unless ``partial``). The caller commits.

    Once a row is refused in all-or-nothing mode, writing stops but checking goes on, so every error is
    reported in one run."""
    require(actor, Permission.INCIDENTS_WRITE, "importing incidents")
    report = ImportReport()
    locator = BorderLocator.load(session)
    rows = parse_rows(node, locator, lines, actor=actor.username, confirm_far=confirm_far, report=report)
    savepoint = session.begin_nested()
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        # The import inserts into five indexes in random order; a 128 MB page cache for this connection keeps
        # their pages in memory instead of SQLite's 2 MB default (a setting of this connection only).
        connection.exec_driver_sql("PRAGMA cache_size=-131072")
    chunk: list[dict[str, Any]] = []
    seen = 0

    def flush() -> None:
        if chunk and (partial or not report.error_count):
            insert_rows(connection, table_of(Incident), chunk, encoded=INCIDENT_JSON)
            report.imported += len(chunk)
        chunk.clear()

    for item in rows:
        chunk.append(item)
        if len(chunk) >= CHUNK:
            flush()
        if progress is not None and report.rows - seen >= 1000:
            progress(report.rows - seen)
            seen = report.rows
    flush()
    if progress is not None:
        progress(report.rows - seen)
    if report.error_count and not partial:
        savepoint.rollback()
        report.imported = 0
        return report
    savepoint.commit()
    report.written = report.imported > 0
    record_event(
        session,
        node.clock,
        actor=actor.username,
        action="incident.import",
        record_kind=KIND,
        details={
            "source": source,
            "rows": report.rows,
            "imported": report.imported,
            "errors": report.error_count,
            "partial": partial,
        },
    )
    return report
