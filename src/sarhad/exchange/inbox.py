"""The inbox: what becomes of each accepted envelope's record.

Every envelope a receiver accepts gets an inbox row. Its record is checked (generic fields, origin, content
hash, the kind's schema); a usable one is stored as the generic copy (``ReceivedRecord``) and handed to its
kind's handler, in a savepoint, so a record that cannot be applied is quarantined alone, with its reason,
and an alert; the link goes on either way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from pydantic import ValidationError
from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from sarhad.core.database import insert_rows, table_of
from sarhad.core.errors import RecordRefused, RuleError
from sarhad.core.node import Node
from sarhad.exchange import protocol
from sarhad.exchange.alerts import raise_alert
from sarhad.exchange.domain import (
    KEY_ROTATION_KIND,
    Handling,
    Op,
    RecordShapeError,
    check_record,
    chunked,
    split_link,
)
from sarhad.exchange.models import InboundEnvelope, ReceivedRecord
from sarhad.exchange.peers import peer_keys
from sarhad.exchange.record_rules import TLP_ORDER, check_handling, check_tlp
from sarhad.exchange.registry import IncomingRecord, RecordKind, get_kind
from sarhad.exchange.rotation import apply_key_rotation


@dataclass
class Pending:
    """One accepted envelope on its way into the inbox: its row, and the record to apply if it is usable."""

    row: dict[str, Any]
    incoming: IncomingRecord | None = None
    kind: RecordKind | None = None


def prepare_record(
    session: Session, node: Node, link: str, env: dict[str, Any], verified: protocol.Checked, now: datetime
) -> Pending:
    """Check one verified envelope's record and make its inbox row; an unusable record is quarantined.

    A key rotation is applied at once, because it decides which key verifies the envelopes after it.
    """
    record = env["record"]
    sender = split_link(link)[0]
    status, reason = "applied", ""
    meta = (str(record.get("kind", "?"))[:64], str(record.get("id", "?"))[:64], record.get("version", 0), "?")
    incoming: IncomingRecord | None = None
    kind: RecordKind | None = None
    try:
        check_record(record)
        meta = (record["kind"], record["id"], record["version"], record["op"])
        if record["kind"] == KEY_ROTATION_KIND:
            apply_key_rotation(session, node, sender, env)
        else:
            if record["origin"] == node.party:
                # Only this node writes records of its own party; a peer sending one is refused.
                raise RecordShapeError(f"record claims to originate from {node.party}, this node")
            if verified.content_hash != record["content_hash"]:  # computed while verifying the envelope
                raise RecordShapeError("content_hash does not match the content")
            origin_sig = check_origin(session, record, sender)
            kind = get_kind(record["kind"])
            if kind is None:
                raise RecordShapeError(f"unknown record kind {record['kind']!r}")
            validated = None
            if record["op"] == Op.UPSERT.value and kind.schema is not None:
                validated = kind.schema.model_validate(record["content"])
            incoming = IncomingRecord(
                kind=record["kind"],
                origin=record["origin"],
                record_id=record["id"],
                version=record["version"],
                op=record["op"],
                handling=record["handling"],
                tlp=record["tlp"],
                content=record["content"],
                content_hash=record["content_hash"],
                link=link,
                seq=env["seq"],
                sent_at=env["sent_at"],
                content_json=verified.content_json,
                validated=validated,
                origin_sig=origin_sig,
            )
    except (RecordShapeError, ValidationError) as exc:
        status, reason, incoming = "quarantined", _quarantine_reason(exc), None
    row = {
        "link": link,
        "seq": env["seq"],
        "hash": env["hash"],
        "body": verified.text,
        "record_kind": meta[0],
        "record_id": meta[1],
        "record_version": meta[2] if isinstance(meta[2], int) and not isinstance(meta[2], bool) else 0,
        "op": str(meta[3])[:16],
        "sent_at": protocol.parse_time(env["sent_at"]),
        "received_at": now,
        "status": status,
        "reason": reason,
    }
    return Pending(row=row, incoming=incoming, kind=kind)


def check_origin(session: Session, record: dict[str, Any], sender: str) -> dict[str, Any] | None:
    """Who may write this record here (docs/exchange-protocol.md §11.2); its verified ``origin_sig``, if any.

    A record the sender writes itself (``origin`` is the link's sender) is the sender's by the envelope's
    signature. A record of another party, relayed by the sender, must carry that party's own signature over
    the version and its release terms, checked against that party's keys as this node knows them (pinned or
    rotated in, current or retired); without one it is quarantined, so only the originator's own link or
    signature can create, version or withdraw its records. Where an ``origin_sig`` is present it must verify
    and agree with the record's terms, on any link: a relayer passes on what it stored.
    """
    origin = record["origin"]
    relayed = origin != sender
    if "origin_sig" not in record:
        if relayed:
            raise RecordShapeError(
                f"relayed by {sender} without {origin}'s own signature (origin_sig): only {origin}'s own "
                f"link or signature can write {origin}'s records"
            )
        return None
    try:
        sig = protocol.verify_origin_sig(record, peer_keys(session, origin))
    except protocol.ProtocolError as exc:
        raise RecordShapeError(f"origin signature of {origin}: {exc.code}: {exc.message}") from exc
    try:
        terms = check_tlp(sig["tlp"]), check_handling(sig["handling"])
        label, handling = check_tlp(record["tlp"]), check_handling(record["handling"])
    except RuleError as exc:
        raise RecordShapeError(f"origin signature of {origin}: {exc.message}") from exc
    if relayed and terms[1] != Handling.ONWARD_ALLOWED:
        raise RecordShapeError(f"{origin} released this record with handling {terms[1].value}: not onward")
    if handling != terms[1]:
        raise RecordShapeError(f"handling {handling.value} is not {origin}'s ({terms[1].value})")
    if TLP_ORDER.index(label) < TLP_ORDER.index(terms[0]) or (not relayed and label != terms[0]):
        raise RecordShapeError(
            f"TLP:{label.value.upper()} does not keep {origin}'s TLP:{terms[0].value.upper()}"
        )
    return sig


def _apply_each(session: Session, node: Node, kind: RecordKind, records: list[IncomingRecord]) -> None:
    """Hand each record to its kind's handler for its op (upsert or withdraw), in order."""
    for record in records:
        handler = kind.withdraw if record.op == Op.WITHDRAW.value else kind.apply
        if handler is not None:
            handler(session, node, record)


def _apply_one(session: Session, node: Node, pending: Pending) -> None:
    assert pending.incoming is not None and pending.kind is not None
    _store_received(session, node, [pending.incoming])
    _apply_each(session, node, pending.kind, [pending.incoming])


def _runs(batch: list[Pending]) -> list[list[Pending]]:
    """Consecutive records of the same kind, in order."""
    runs: list[list[Pending]] = []
    for pending in batch:
        if runs and runs[-1][0].kind is pending.kind:
            runs[-1].append(pending)
        else:
            runs.append([pending])
    return runs


def _apply_run(session: Session, node: Node, run: list[Pending]) -> None:
    kind = run[0].kind
    records = [p.incoming for p in run if p.incoming is not None]
    assert kind is not None and len(records) == len(run)
    _store_received(session, node, records)
    if kind.apply_batch is not None:
        kind.apply_batch(session, node, records)
    else:
        _apply_each(session, node, kind, records)


def apply_pending(session: Session, node: Node, batch: list[Pending]) -> None:
    """Apply the usable records of a batch; a handler failure quarantines only its own record.

    The whole batch is tried inside one savepoint, run by run (consecutive records of one kind go to the
    kind's batch handler if it has one); only if something fails is it redone record by record, each in
    its own savepoint, so the common case costs one savepoint and a few statements per batch.
    """
    usable = [p for p in batch if p.incoming is not None]
    if usable:
        try:
            with session.begin_nested():
                for run in _runs(usable):
                    _apply_run(session, node, run)
            usable = []
        except Exception:  # noqa: S110 - redone one by one just below, where the culprit is named
            pass
    for pending in usable:
        try:
            with session.begin_nested():
                _apply_one(session, node, pending)
        except Exception as exc:  # a handler bug must not break the link; the envelope is kept for the admin
            pending.row.update(status="quarantined", reason=_quarantine_reason(exc))
    _purge_withdrawn(session, batch)
    for pending in batch:
        row = pending.row
        if row["status"] == "quarantined":
            raise_alert(
                session,
                node,
                kind="quarantine",
                severity="warning",
                link=row["link"],
                seq=row["seq"],
                message=f"record in {row['link']} seq {row['seq']} quarantined: {row['reason']}",
            )


REDACTED: Final = "redacted"  # the member that marks a purged record in a stored envelope (§11.3, §12)


def redact_body(body: str) -> str:
    """A stored envelope with its record's content purged: the record keeps every member but ``content``
    (``content_hash`` included) and gains ``"redacted": true``; ``hash`` and ``sig`` stay as they were, so the
    chain and the receipts still verify (docs/exchange-protocol.md §11.3, §12). Other envelopes: unchanged."""
    env = json.loads(body)
    record = env.get("record")
    if not isinstance(record, dict) or "content" not in record:
        return body
    env["record"] = {**{k: v for k, v in record.items() if k != "content"}, REDACTED: True}
    return protocol.canonical_json(env).decode()


def withdrawn_among(record_ids: Sequence[str]) -> Select[str, str, str]:
    """The withdrawn received records among these ids, answered from the partial index of withdrawn records
    (``ix_exchange_received_withdrawn``), not a scan of every record held."""
    return select(ReceivedRecord.origin, ReceivedRecord.record_kind, ReceivedRecord.record_id).where(
        ReceivedRecord.record_id.in_(record_ids), ReceivedRecord.withdrawn_at.is_not(None)
    )


def _purge_withdrawn(session: Session, batch: list[Pending]) -> None:
    """Purge the content of every record a withdrawal of this batch withdrew, from the inbox: the envelopes
    that carried its versions, in this batch and held before (the generic copy is purged as it is stored,
    the kind's rows and history by ``records.apply_received_withdrawal``)."""
    applied = [p.incoming for p in batch if p.incoming is not None and p.row["status"] == "applied"]
    withdrawn = {(r.origin, r.kind, r.record_id) for r in applied if r.op == Op.WITHDRAW.value}
    late = {(r.origin, r.kind, r.record_id) for r in applied if r.op == Op.UPSERT.value} - withdrawn
    for chunk in chunked(sorted({rid for _origin, _kind, rid in late})):
        # an older version passed on after the withdrawal: the record stays withdrawn, so it is purged too
        for key in session.execute(withdrawn_among(chunk)):
            if tuple(key) in late:
                withdrawn.add((key[0], key[1], key[2]))
    if not withdrawn:
        return

    def purged(row: Mapping[str, Any]) -> str | None:
        if row["op"] != Op.UPSERT.value or (row["record_kind"], row["record_id"]) not in ids:
            return None
        record = json.loads(row["body"]).get("record", {})
        if (record.get("origin"), row["record_kind"], row["record_id"]) not in withdrawn:
            return None
        return redact_body(row["body"])

    ids = {(kind, rid) for _origin, kind, rid in withdrawn}
    for pending in batch:
        body = purged(pending.row)
        if body is not None:
            pending.row["body"] = body
    columns = (InboundEnvelope.link, InboundEnvelope.seq, InboundEnvelope.op, InboundEnvelope.body)
    held = session.execute(
        select(*columns, InboundEnvelope.record_kind, InboundEnvelope.record_id).where(
            InboundEnvelope.record_id.in_(sorted({rid for _kind, rid in ids})),
            InboundEnvelope.op == Op.UPSERT.value,
        )
    ).all()
    changes = []
    for link, seq, op, body, kind, rid in held:
        new = purged({"op": op, "body": body, "record_kind": kind, "record_id": rid})
        if new is not None and new != body:
            changes.append({"link": link, "seq": seq, "body": new})
    if changes:
        session.execute(update(InboundEnvelope), changes)


def _quarantine_reason(exc: Exception) -> str:
    """Why a record was quarantined: its kind refused it, it does not fit the protocol or the kind's schema,
    or (told apart, because it is a bug to fix, not a record to correct) its handler failed unexpectedly."""
    if isinstance(exc, RecordRefused):
        return exc.reason
    if isinstance(exc, ValidationError):
        return "invalid content: " + "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
    if isinstance(exc, RecordShapeError):
        return str(exc)
    return f"handler failed: {type(exc).__name__}: {exc}"


_CONTENT = frozenset({"content"})  # given to insert_rows as canonical JSON text

_RECEIVED_COLUMNS = (
    "origin",
    "record_kind",
    "record_id",
    "version",
    "content",
    "content_hash",
    "handling",
    "tlp",
    "link",
    "seq",
    "received_at",
    "withdrawn_at",
)


def _store_received(session: Session, node: Node, records: Sequence[IncomingRecord]) -> None:
    """Keep the generic copy of each received record, in order: one read, one insert, one update at most.

    A withdrawal marks the copy withdrawn; an older version arriving late (relayed) never overwrites a
    newer one.
    """
    now = node.clock.now()
    wanted = {(r.origin, r.kind, r.record_id) for r in records}
    held: dict[tuple[str, str, str], dict[str, Any]] = {}
    columns = [getattr(ReceivedRecord, name) for name in _RECEIVED_COLUMNS]
    origins = sorted({r.origin for r in records})
    kinds = sorted({r.kind for r in records})
    for chunk in chunked(sorted({r.record_id for r in records})):
        query = select(*columns).where(  # in the order of the primary key, so it answers from the index
            ReceivedRecord.origin.in_(origins),
            ReceivedRecord.record_kind.in_(kinds),
            ReceivedRecord.record_id.in_(chunk),
        )
        for row in session.execute(query):
            values = dict(zip(_RECEIVED_COLUMNS, row, strict=True))
            key = (values["origin"], values["record_kind"], values["record_id"])
            if key in wanted:
                held[key] = values
    new: dict[tuple[str, str, str], dict[str, Any]] = {}
    changed: set[tuple[str, str, str]] = set()
    for rec in records:
        key = (rec.origin, rec.kind, rec.record_id)
        current = new.get(key) or held.get(key)
        if current is None:
            if rec.op != Op.WITHDRAW.value:
                new[key] = {
                    "origin": rec.origin,
                    "record_kind": rec.kind,
                    "record_id": rec.record_id,
                    "version": rec.version,
                    "content": rec.content_text(),
                    "content_hash": rec.content_hash,
                    "handling": rec.handling,
                    "tlp": rec.tlp,
                    "link": rec.link,
                    "seq": rec.seq,
                    "received_at": now,
                    "withdrawn_at": None,
                }
            continue
        if rec.op == Op.WITHDRAW.value:  # the content is purged, its hash kept (§11.3)
            current.update(
                withdrawn_at=now, link=rec.link, seq=rec.seq, content={} if key not in new else "{}"
            )
        elif rec.version < current["version"]:
            continue
        else:
            current.update(
                version=rec.version,
                content=rec.content_text() if key in new else rec.content,  # a new row's content is text
                content_hash=rec.content_hash,
                handling=rec.handling,
                tlp=rec.tlp,
                link=rec.link,
                seq=rec.seq,
                received_at=now,
                withdrawn_at=None,
            )
        if key not in new:
            changed.add(key)
    if new:
        insert_rows(session, table_of(ReceivedRecord), list(new.values()), encoded=_CONTENT)
    if changed:
        session.execute(update(ReceivedRecord), [held[key] for key in sorted(changed)])
