"""Many bulletins at once: the bulk release (imports, seeding, benchmarks) and the bulk receive (a busy link).

Both give exactly the rows, envelopes and audit entries of ``services.create_bulletin`` and
``services.apply_received`` / ``withdraw_received`` one by one, but write each table with one statement
(``core.database.insert_rows``) and hand the content's canonical JSON bytes, made once for the hash, to the
version table and the release. Start with ``services.py`` to learn the rules; this is only faster.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor
from sarhad.accounts.actors import require as _require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import AuditEvent, record_events
from sarhad.bulletins import domain
from sarhad.bulletins.domain import KIND, BulletinFields
from sarhad.bulletins.models import Bulletin, BulletinVersion
from sarhad.bulletins.schemas import BulletinContentIn
from sarhad.bulletins.services import (
    apply_received,
    check_content,
    check_labels,
    field_values,
    received_fields,
    withdraw_received,
)
from sarhad.core.database import insert_rows, table_of
from sarhad.core.errors import InvalidInput
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.exchange import records
from sarhad.exchange import release as exchange_release
from sarhad.exchange.domain import Handling, Op
from sarhad.exchange.registry import IncomingRecord

_CONTENT = frozenset({"content"})  # a version's content, given to insert_rows as canonical JSON text
_CHUNK = 500  # ids per IN (...) query


@dataclass
class _Draft:
    """A new bulletin's content fields, enough for ``domain.snapshot`` before any row exists."""

    title: str
    body: str
    place_name: str | None
    lat: float | None
    lon: float | None
    valid_from: datetime | None
    valid_until: datetime | None
    created_at: datetime
    updated_at: datetime


def create_bulletins(
    session: Session,
    node: Node,
    actor: Actor,
    items: Sequence[BulletinContentIn],
    *,
    tlp: str,
    handling: str = Handling.NO_ONWARD.value,
    release_to: Sequence[str] = (),
    client_ip: str = "",
) -> list[str]:
    """Write version 1 of new bulletins and, if ``release_to`` names parties, release them at once.

    All are checked before anything is written (a bad one refuses the call, naming it); each table is
    then written with one statement. Returns the new ids in the order given.
    """
    _require(actor, Permission.BULLETINS_WRITE, "writing bulletins")
    if release_to:
        _require(actor, Permission.RECORDS_RELEASE, "releasing records to other parties")
    checked: list[BulletinFields] = []
    for index, data in enumerate(items):
        try:
            checked.append(check_content(data))
        except InvalidInput as exc:
            if len(items) == 1:
                raise
            raise InvalidInput(f"bulletin {index + 1}: {exc.message}", details=exc.details) from exc
    label, handling_code, targets = check_labels(session, node, tlp, handling, release_to)
    now = node.clock.now()
    rows: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    events: list[AuditEvent] = []
    releases: list[exchange_release.ReleaseItem] = []
    for fields in checked:
        row = {
            "origin": node.party,
            "id": new_id(),
            "version": 1,
            **field_values(fields),
            "tlp": label,
            "handling": handling_code,
            "created_by": actor.username,
            "created_at": now,
            "updated_at": now,
            "withdrawn_at": None,
            "withdraw_reason": "",
            "received_at": None,
        }
        content = domain.snapshot(_Draft(**field_values(fields), created_at=now, updated_at=now))
        canonical, row["content_hash"] = exchange_release.canonical_content(
            content
        )  # hashed, stored and signed
        rows.append(row)
        versions.append(
            {
                "origin": node.party,
                "bulletin_id": row["id"],
                "version": 1,
                "content": canonical.decode(),
                "content_hash": row["content_hash"],
                "recorded_at": now,
                "recorded_by": actor.username,
            }
        )
        events.append(
            AuditEvent(
                actor=actor.username,
                action="bulletin.create",
                record_kind=KIND,
                record_id=row["id"],
                client_ip=client_ip,
                details={"version": 1, "tlp": row["tlp"], "content_hash": row["content_hash"]},
            )
        )
        if targets:
            releases.append(
                exchange_release.ReleaseItem(
                    kind=KIND,
                    record_id=row["id"],
                    version=1,
                    content=content,
                    to=targets,
                    handling=row["handling"],
                    tlp=row["tlp"],
                    content_json=canonical,
                    lane="bulk",  # an import must not hold up anything released one at a time
                )
            )
    if not rows:
        return []
    insert_rows(session, table_of(Bulletin), rows)
    insert_rows(session, table_of(BulletinVersion), versions, encoded=_CONTENT)
    record_events(session, node.clock, events)
    exchange_release.release_records(session, node, releases, actor=actor, client_ip=client_ip)
    return [row["id"] for row in rows]


def apply_received_many(session: Session, node: Node, received: list[IncomingRecord]) -> None:
    """The same effect as ``services.apply_received`` / ``withdraw_received`` for each record, in order.

    The common case on a busy link — the first version of a bulletin not held here, once in the run — is
    written for the whole run with one statement per table; anything else goes one by one.
    """
    ids = sorted({r.record_id for r in received})
    origins = sorted(
        {r.origin for r in received} | {node.party}
    )  # ours too: a peer reusing our id is refused
    held: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        # origin first: the primary key (origin, id) answers this, whatever the size of the table
        held.update(
            session.scalars(select(Bulletin.id).where(Bulletin.origin.in_(origins), Bulletin.id.in_(chunk)))
        )
    times = Counter(r.record_id for r in received)
    now = node.clock.now()
    rows: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    events: list[AuditEvent] = []

    def write_new() -> None:
        if rows:
            insert_rows(session, table_of(Bulletin), rows)
            insert_rows(session, table_of(BulletinVersion), versions, encoded=_CONTENT)
            record_events(session, node.clock, events)
            rows.clear()
            versions.clear()
            events.clear()

    for record in received:
        first = record.op == Op.UPSERT.value and times[record.record_id] == 1 and record.record_id not in held
        if not first or record.origin == node.party:
            write_new()  # keeps the audit log in the order of the link
            if record.op == Op.WITHDRAW.value:
                withdraw_received(session, node, record)
            else:
                apply_received(session, node, record)
            continue
        content, fields = received_fields(record)
        by = records.peer_actor(record)
        rows.append(
            {
                "origin": record.origin,
                "id": record.record_id,
                "version": record.version,
                **field_values(fields),
                "tlp": record.tlp,
                "handling": record.handling,
                "content_hash": record.content_hash,
                "created_by": by,
                "created_at": content.created_at,
                "updated_at": content.updated_at,
                "withdrawn_at": None,
                "withdraw_reason": "",
                "received_at": now,
            }
        )
        versions.append(
            {
                "origin": record.origin,
                "bulletin_id": record.record_id,
                "version": record.version,
                "content": record.content_text(),
                "content_hash": record.content_hash,
                "recorded_at": now,
                "recorded_by": by,
            }
        )
        events.append(
            AuditEvent(
                actor=by,
                action="bulletin.receive",
                record_kind=KIND,
                record_id=record.record_id,
                details={
                    "origin": record.origin,
                    "version": record.version,
                    "link": record.link,
                    "seq": record.seq,
                },
            )
        )
    write_new()
