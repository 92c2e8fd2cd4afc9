"""``sarhad audit verify``: check the audit log's chain, its signed heads and their witnesses, offline.

The evidence comes from the node's database (:func:`load_evidence`) or from an audit export file
(:func:`read_export`, written by :func:`write_export`); :func:`verify` checks it and names the first bad
entry. Nothing here writes to the database or needs the network. What is checked is in ``docs/audit.md``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.audit import chain
from sarhad.audit.heads import KIND, head_content
from sarhad.audit.models import AuditEntry, AuditHead
from sarhad.exchange import protocol
from sarhad.exchange.models import OutboundEnvelope, OwnKey, PeerKey, Receipt

CHAIN_START = "audit.chain_start"
DEFAULT_TOLERANCE = timedelta(seconds=5)
_ENTRY_FIELDS = ("at", "actor", "action", "outcome", "record_kind", "record_id", "client_ip", "details")


@dataclass(frozen=True)
class Entry:
    """One row of ``audit_log`` as stored."""

    id: int
    seq: int | None
    prev_hash: str | None
    entry_hash: str | None
    at: datetime
    actor: str
    action: str
    outcome: str
    record_kind: str | None
    record_id: str | None
    client_ip: str
    details: dict[str, Any]


@dataclass(frozen=True)
class Witness:
    """A peer's signed receipt for the envelope that carried a head, with the envelopes from that one up to
    the receipt's seq (the receipt names the last one's hash; each names the one before)."""

    party: str
    envelopes: list[str]  # canonical JSON bodies, in seq order
    receipt: dict[str, Any]


@dataclass
class Evidence:
    party: str
    entries: Iterable[Entry]  # in seq order, rows without a seq last
    heads: list[dict[str, Any]]  # this node's signed heads
    own_keys: dict[str, str]  # fingerprint -> base64 public key
    peer_keys: dict[str, dict[str, str]]  # party -> fingerprint -> base64 public key
    witnesses: dict[str, list[Witness]] = field(default_factory=dict)  # head sig -> witnesses
    # Heads of this log as a peer holds them (``sarhad audit heads --party <this party>`` run on the peer):
    # checked against the log like its own, so deleting or re-signing the local heads does not hide a rewrite.
    held_by: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


@dataclass
class Report:
    entries: int = 0
    head_seq: int = 0
    head_hash: str = chain.GENESIS_HASH
    problems: list[str] = field(default_factory=list)
    first_bad_seq: int | None = None
    heads: int = 0
    witnessed: dict[str, int] = field(default_factory=dict)  # party -> heads its receipts cover
    unwitnessed: int = 0
    held: dict[str, int] = field(default_factory=dict)  # party -> heads it holds that match the log
    after_last_head: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def bad(self, problem: str, seq: int | None = None) -> None:
        if seq is not None and self.first_bad_seq is None:
            self.first_bad_seq = seq
        self.problems.append(problem)


def _where(entry: Entry) -> str:
    return f"entry {entry.seq} (row id {entry.id}, {entry.action} by {entry.actor!r})"


def check_chain(
    entries: Iterable[Entry], report: Report, wanted: set[int], tolerance: timedelta = DEFAULT_TOLERANCE
) -> dict[int, str]:
    """Walk the chain in seq order; record problems in ``report``; return the hashes at the ``wanted`` seqs."""
    found: dict[int, str] = {}
    expected, prev_hash = 1, chain.GENESIS_HASH
    last_at: datetime | None = None
    timed = False  # times are checked from the chain's start (entries chained by migration may be unordered)
    for entry in entries:
        report.entries += 1
        if entry.seq is None:
            report.bad(f"row id {entry.id} ({entry.action} by {entry.actor!r}) is not in the chain: it was "
                       "written past the node's code")  # fmt: skip
            continue
        if entry.seq != expected:
            missing = f"{expected}" if entry.seq == expected + 1 else f"{expected} to {entry.seq - 1}"
            report.bad(f"entry {missing} is missing (deleted): the log goes on at {_where(entry)}", expected)
        if entry.prev_hash != prev_hash:
            report.bad(f"{_where(entry)} does not follow the entry before it: its prev_hash is not that "
                       "entry's hash (an entry was inserted, deleted or replaced before it)", entry.seq)  # fmt: skip
        values = {name: getattr(entry, name) for name in _ENTRY_FIELDS}
        digest = chain.entry_hash(seq=entry.seq, prev=entry.prev_hash or "", **values)
        if digest != entry.entry_hash:
            report.bad(f"{_where(entry)} was changed: its content does not match its hash", entry.seq)
        if timed and last_at is not None and entry.at < last_at - tolerance:
            report.bad(f"{_where(entry)} is back-dated: {protocol.format_time(entry.at)} is before the entry "
                       f"before it ({protocol.format_time(last_at)})", entry.seq)  # fmt: skip
        if entry.action == CHAIN_START:
            timed = True
        last_at = entry.at if last_at is None or entry.at > last_at else last_at
        if entry.seq in wanted and entry.entry_hash is not None:
            found[entry.seq] = entry.entry_hash
        expected, prev_hash = entry.seq + 1, entry.entry_hash or ""
        report.head_seq, report.head_hash = entry.seq, entry.entry_hash or ""
    return found


def _check_witness(witness: Witness, head: dict[str, Any], keys: dict[str, str]) -> str | None:
    """Why ``witness`` does not prove that ``witness.party`` holds ``head``, or None if it does."""
    try:
        receipt = protocol.check_receipt_shape(witness.receipt)
        protocol.verify_receipt(receipt, {fp: protocol.public_key_from_b64(k) for fp, k in keys.items()})
    except protocol.ProtocolError as exc:
        return f"the receipt of {witness.party} does not verify: {exc.message}"
    if receipt["by"] != witness.party or not witness.envelopes:
        return f"the receipt is not {witness.party}'s, or no envelope is given"
    first = json.loads(witness.envelopes[0])
    if first["record"]["kind"] != KIND or first["record"]["content"] != head:
        return "the envelope does not carry this head"
    previous: dict[str, Any] | None = None
    for body in witness.envelopes:
        envelope = json.loads(body)
        if protocol.envelope_hash(envelope) != envelope["hash"]:
            return f"envelope {envelope['link']} #{envelope['seq']} does not match its hash"
        if previous is not None and (
            envelope["prev"] != previous["hash"] or envelope["seq"] != previous["seq"] + 1
        ):
            return f"envelope {envelope['link']} #{envelope['seq']} does not follow the one before it"
        previous = envelope
    assert previous is not None
    if (previous["link"], previous["seq"], previous["hash"]) != (
        receipt["link"],
        receipt["seq"],
        receipt["hash"],
    ):
        return "the receipt does not name the last envelope given"
    return None


def verify(evidence: Evidence, tolerance: timedelta = DEFAULT_TOLERANCE) -> Report:
    """Check the chain, then each signed head against it, then each head's witnesses."""
    report = Report()
    held = [(party, h) for party, heads in sorted(evidence.held_by.items()) for h in heads]
    wanted = {int(h["seq"]) for h in evidence.heads + [h for _, h in held] if isinstance(h.get("seq"), int)}
    hashes = check_chain(evidence.entries, report, wanted, tolerance)
    last_head = 0
    for head in sorted(evidence.heads, key=lambda h: (h.get("seq", 0), h.get("at", ""))):
        report.heads += 1
        try:
            chain.verify_head(head, evidence.own_keys)
        except chain.HeadError as exc:
            report.bad(f"signed head at entry {head.get('seq')}: {exc}", head.get("seq"))
            continue
        seq, signed = head["seq"], head["hash"]
        if hashes.get(seq) != signed:
            report.bad(f"the log does not match the head signed at {head['at']} for entry {seq}: the log was "
                       f"rewritten at or before entry {seq}", seq)  # fmt: skip
        last_head = max(last_head, seq)
        witnesses = evidence.witnesses.get(head["sig"], [])
        if not witnesses:
            report.unwitnessed += 1
        for witness in witnesses:
            problem = _check_witness(witness, head, evidence.peer_keys.get(witness.party, {}))
            if problem:
                report.bad(f"witness of the head for entry {seq} by {witness.party}: {problem}")
            else:
                report.witnessed[witness.party] = report.witnessed.get(witness.party, 0) + 1
    for party, head in held:
        try:
            chain.verify_head(head, evidence.own_keys)
        except chain.HeadError as exc:
            report.bad(f"a head {party} holds: {exc}")
            continue
        if head["party"] != evidence.party:
            report.bad(f"a head {party} holds is of {head['party']}'s log, not {evidence.party}'s")
        elif hashes.get(head["seq"]) != head["hash"]:
            report.bad(f"the log does not match the head {party} holds, signed at {head['at']} for entry "
                       f"{head['seq']}: the log was rewritten at or before entry {head['seq']}", head["seq"])  # fmt: skip
        else:
            report.held[party] = report.held.get(party, 0) + 1
    report.after_last_head = max(0, report.head_seq - last_head)
    if report.first_bad_seq is not None:
        report.problems.insert(0, f"the first bad entry is entry {report.first_bad_seq}")
    return report


# --- evidence from the database ---------------------------------------------------------------------------


def _entries(session: Session, batch: int = 5000) -> Iterator[Entry]:
    named = (getattr(AuditEntry, name) for name in _ENTRY_FIELDS)
    columns = (AuditEntry.id, AuditEntry.seq, AuditEntry.prev_hash, AuditEntry.entry_hash, *named)
    last = 0
    while True:
        rows = session.execute(
            select(*columns).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        for row in rows:
            yield Entry(*row)
        if len(rows) < batch:
            break
        last = rows[-1].seq
    for row in session.execute(select(*columns).where(AuditEntry.seq.is_(None)).order_by(AuditEntry.id)):
        yield Entry(*row)


def _witnesses(session: Session, heads: list[AuditHead]) -> dict[str, list[Witness]]:
    found: dict[str, list[Witness]] = {}
    by_id = {h.id: h for h in heads}
    carried = session.execute(
        select(OutboundEnvelope.link, OutboundEnvelope.seq, OutboundEnvelope.record_id).where(
            OutboundEnvelope.record_kind == KIND
        )
    ).all()
    for link, seq, record_id in carried:
        head = by_id.get(record_id)
        receipt = session.scalars(
            select(Receipt)
            .where(Receipt.link == link, Receipt.direction == "received", Receipt.seq >= seq)
            .order_by(Receipt.seq)
            .limit(1)
        ).first()
        if head is None or receipt is None:
            continue
        bodies = session.scalars(
            select(OutboundEnvelope.body)
            .where(
                OutboundEnvelope.link == link,
                OutboundEnvelope.seq >= seq,
                OutboundEnvelope.seq <= receipt.seq,
            )
            .order_by(OutboundEnvelope.seq)
        ).all()
        party = link.split(">")[1]
        found.setdefault(head.sig, []).append(Witness(party, list(bodies), json.loads(receipt.body)))
    return found


def load_evidence(session: Session, party: str) -> Evidence:
    """Everything ``verify`` needs, from a node's database (entries are read as they are checked)."""
    heads = list(session.scalars(select(AuditHead).where(AuditHead.origin == party)))
    peer_keys: dict[str, dict[str, str]] = {}
    for key in session.scalars(select(PeerKey)):
        peer_keys.setdefault(key.party, {})[key.fingerprint] = key.public_key
    return Evidence(
        party=party,
        entries=_entries(session),
        heads=[head_content(h) for h in heads],
        own_keys={k.fingerprint: k.public_key for k in session.scalars(select(OwnKey))},
        peer_keys=peer_keys,
        witnesses=_witnesses(session, heads),
    )


# --- the export file --------------------------------------------------------------------------------------

EXPORT_FORMAT = "sarhad-audit-export-v1"


def write_export(evidence: Evidence, out: IO[str]) -> int:
    """Write the evidence as JSON lines (docs/audit.md): a header, then the entries. Returns the entry count."""
    witnesses = {
        sig: [{"party": w.party, "envelopes": w.envelopes, "receipt": w.receipt} for w in ws]
        for sig, ws in evidence.witnesses.items()
    }
    header = {
        "format": EXPORT_FORMAT,
        "party": evidence.party,
        "heads": evidence.heads,
        "own_keys": evidence.own_keys,
        "peer_keys": evidence.peer_keys,
        "witnesses": witnesses,
    }
    out.write(json.dumps(header, ensure_ascii=False, sort_keys=True) + "\n")
    count = 0
    for entry in evidence.entries:
        row = {name: getattr(entry, name) for name in Entry.__dataclass_fields__}
        row["at"] = protocol.format_time(entry.at)
        out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        count += 1
    return count


def read_export(path: Path) -> Evidence:
    """The evidence in an export file (``ValueError`` if it is not one)."""
    handle = path.open(encoding="utf-8")
    header = json.loads(handle.readline() or "{}")
    if header.get("format") != EXPORT_FORMAT:
        handle.close()
        raise ValueError(f"{path} is not an audit export ({EXPORT_FORMAT})")

    def entries() -> Iterator[Entry]:
        with handle:
            for line in handle:
                row = json.loads(line)
                row["at"] = protocol.parse_time(row["at"])
                yield Entry(**row)

    return Evidence(
        party=header["party"],
        entries=entries(),
        heads=header["heads"],
        own_keys=header["own_keys"],
        peer_keys=header["peer_keys"],
        witnesses={
            sig: [Witness(w["party"], w["envelopes"], w["receipt"]) for w in ws]
            for sig, ws in header["witnesses"].items()
        },
    )
