"""Writing and reading the audit log. There is deliberately no update or delete function."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.audit import appender
from sarhad.audit.models import AuditEntry
from sarhad.core.clock import Clock
from sarhad.core.formats import csv_text
from sarhad.core.node import Node


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    outcome: str | None = None
    record_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 200
    before_id: int | None = None


def record_event(
    session: Session,
    clock: Clock,
    *,
    actor: str,
    action: str,
    outcome: str = "ok",
    record_kind: str | None = None,
    record_id: str | None = None,
    client_ip: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction, so it commits or rolls back with the change it records.

    The entry joins the hash chain when the transaction commits (``audit.appender``): until then it is not
    in the table, and it is never there if the transaction (or the savepoint it was recorded in) rolls back.
    """
    appender.enqueue(
        session,
        clock,
        [
            {
                "actor": actor,
                "action": action,
                "outcome": outcome,
                "record_kind": record_kind,
                "record_id": record_id,
                "client_ip": client_ip,
                "details": details or {},
            }
        ],
    )


def record_export(
    session: Session, clock: Clock, actor: str, what: str, count: int, fmt: str, client_ip: str = ""
) -> None:
    """A bulk export (CSV, GeoJSON, a report) may carry received records out of the node: it is audited as
    ``<what>.export`` with its format and size, like a sensitive read."""
    record_event(
        session,
        clock,
        actor=actor,
        action=f"{what}.export",
        record_kind=what,
        client_ip=client_ip,
        details={"format": fmt, "count": count},
    )


LIST_IDS = 200  # a list-read entry names at most this many records (and counts the rest)


def record_list_read(
    node: Node, actor: str, noun: str, kind: str, rows: Iterable[Any], *, client_ip: str = ""
) -> None:
    """A list answered with received records is a sensitive read: one entry per request, ``<noun>.list``,
    counting them by origin and naming the first ``LIST_IDS`` as ``origin/id`` (own records are not named).

    Written in a transaction of its own: lists are read in read-only sessions. ``rows`` have ``origin``
    and ``id`` (shared records).
    """
    received = [f"{row.origin}/{row.id}" for row in rows if row.origin != node.party]
    if not received:
        return
    by_origin: dict[str, int] = {}
    for name in received:
        origin = name.split("/", 1)[0]
        by_origin[origin] = by_origin.get(origin, 0) + 1
    with node.transaction() as session:
        record_event(
            session,
            node.clock,
            actor=actor,
            action=f"{noun}.list",
            record_kind=kind,
            client_ip=client_ip,
            details={
                "received": len(received),
                "by_origin": by_origin,
                "records": received[:LIST_IDS],
                "not_named": max(0, len(received) - LIST_IDS),
            },
        )


def record_refusal(
    node: Node, *, actor: str, method: str, path: str, code: str, message: str, client_ip: str = ""
) -> None:
    """A request refused with 403: one ``access.denied`` entry (outcome ``denied``) in a transaction of its
    own, since the refused work rolled back."""
    with node.transaction() as session:
        record_event(
            session,
            node.clock,
            actor=actor,
            action="access.denied",
            outcome="denied",
            client_ip=client_ip,
            details={"method": method, "path": path[:500], "code": code, "message": message[:500]},
        )


@dataclass(frozen=True)
class AuditEvent:
    """One entry for :func:`record_events`; the fields mean what they mean in :func:`record_event`."""

    actor: str
    action: str
    record_kind: str | None = None
    record_id: str | None = None
    details: dict[str, Any] | None = None
    outcome: str = "ok"
    client_ip: str = ""


def record_events(session: Session, clock: Clock, events: Sequence[AuditEvent]) -> None:
    """Append many entries in the caller's transaction (bulk releases, received batches), inserted with one
    statement at commit. The entries are the same as ``record_event`` would write one by one, in order."""
    appender.enqueue(
        session,
        clock,
        [
            {
                "actor": e.actor,
                "action": e.action,
                "outcome": e.outcome,
                "record_kind": e.record_kind,
                "record_id": e.record_id,
                "client_ip": e.client_ip,
                "details": e.details or {},
            }
            for e in events
        ],
    )


def _filtered(query: Select[AuditEntry], flt: AuditFilter) -> Select[AuditEntry]:
    if flt.actor:
        query = query.where(AuditEntry.actor == flt.actor)
    if flt.action:
        query = query.where(AuditEntry.action.startswith(flt.action))
    if flt.outcome:
        query = query.where(AuditEntry.outcome == flt.outcome)
    if flt.record_id:
        query = query.where(AuditEntry.record_id == flt.record_id)
    if flt.since:
        query = query.where(AuditEntry.at >= flt.since)
    if flt.until:
        query = query.where(AuditEntry.at < flt.until)
    if flt.before_id:
        query = query.where(AuditEntry.id < flt.before_id)
    return query


def list_entries(session: Session, actor: Actor, flt: AuditFilter) -> Sequence[AuditEntry]:
    """The entries that match, newest first (at most 10,000); needs ``audit.read``."""
    require(actor, Permission.AUDIT_READ, "reading the audit log")
    query = _filtered(select(AuditEntry), flt).order_by(AuditEntry.id.desc()).limit(min(flt.limit, 10_000))
    return session.scalars(query).all()


CSV_COLUMNS = (
    "id",
    "at",
    "actor",
    "action",
    "outcome",
    "record_kind",
    "record_id",
    "client_ip",
    "details",
    "seq",
    "entry_hash",
)


def entry_as_dict(entry: AuditEntry) -> dict[str, Any]:
    """One entry as the API and ``sarhad audit --format json`` answer it."""
    return {
        "id": entry.id,
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "outcome": entry.outcome,
        "record_kind": entry.record_kind,
        "record_id": entry.record_id,
        "client_ip": entry.client_ip,
        "details": entry.details,
        "seq": entry.seq,
        "entry_hash": entry.entry_hash,
    }


def entries_as_csv(entries: Sequence[AuditEntry]) -> str:
    """The entries as CSV (API and ``sarhad audit --format csv``): every cell neutralised against spreadsheet
    formulas (an actor may be a username typed at a failed sign-in), ``details`` as JSON text."""
    rows = []
    for entry in entries:
        row = entry_as_dict(entry)
        row["details"] = (
            json.dumps(row["details"], ensure_ascii=False, sort_keys=True) if row["details"] else ""
        )
        rows.append(row)
    return csv_text(CSV_COLUMNS, rows)
