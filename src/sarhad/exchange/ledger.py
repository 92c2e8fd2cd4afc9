"""Offline verification of an exported ledger file (``sarhad ledger export`` / ``sarhad ledger verify``).

A ledger file holds, for one or more links, the hash-chained envelopes, the receivers' signed receipts and
the public keys of the parties. :func:`verify_ledger` checks it with nothing but the file (and, for real
assurance, the fingerprints an auditor obtained out of band): no database, no network, no clock.

File format (``sarhad-ledger-v1``, UTF-8 JSON; see ``docs/exchange-protocol.md``)::

    {"format": "sarhad-ledger-v1", "exported_at": "…Z", "exported_by": "PK",
     "parties": {"PK": {"keys": [{"key": b64, "fingerprint": fp, "valid_from_seq": {"PK>IR": 1}}]}, …},
     "links": [{"link": "PK>IR", "envelopes": […], "receipts": […]},            # full log from seq 1
               {"link": "IR>PK", "from_seq": 40, "from_prev": hex64, …}],       # partial export
     "digest": sha256hex(JCS(document without "digest"))}

Ledger-level problem codes, in addition to the protocol's (``bad_hash``, ``bad_signature`` …):
``bad_digest``, ``duplicate_seq``, ``equivocation``, ``untrusted_key``, ``key_not_announced``,
``undeclared_key``, ``receipt_mismatch``, ``receipt_beyond_chain``, ``receipt_before_export``,
``receipt_in_gap``.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from sarhad.exchange.protocol import (
    GENESIS_HASH,
    JSONObject,
    ProtocolError,
    canonical_json_lenient,
    check_envelope_shape,
    check_receipt_shape,
    deep_json_allowed,
    fingerprint,
    format_time,
    is_fingerprint,
    is_hex64,
    json_copy,
    parse_key_rotation,
    parse_link,
    parse_time,
    public_key_b64,
    public_key_from_b64,
    sha256_hex,
    short_fingerprint,
    verify_chain_step,
    verify_envelope,
    verify_receipt,
)

__all__ = [
    "LEDGER_FORMAT",
    "LedgerError",
    "LedgerProblem",
    "LedgerReport",
    "LinkSummary",
    "build_ledger",
    "dump_ledger",
    "key_entry",
    "ledger_digest",
    "load_ledger",
    "parse_ledger",
    "verify_ledger",
]

LEDGER_FORMAT: Final = "sarhad-ledger-v1"
LEDGER_FIELDS: Final = ("format", "exported_at", "exported_by", "parties", "links", "digest")
PARTY_FIELDS: Final = ("keys",)
KEY_ENTRY_FIELDS: Final = ("key", "fingerprint", "valid_from_seq")
LINK_FIELDS: Final = ("link", "envelopes", "receipts")
LINK_OPTIONAL_FIELDS: Final = ("from_seq", "from_prev")
_PARTY_RE: Final = re.compile(r"[A-Z]{2}")


class LedgerError(Exception):
    """The ledger file cannot be read or is not a JSON object (nothing to verify)."""


@dataclass(frozen=True)
class LedgerProblem:
    """One thing wrong in a ledger file.

    ``what`` is ``"header"`` (document, parties, keys, link entries), ``"envelope"`` or ``"receipt"``;
    ``index`` is the position in that link's ``envelopes`` or ``receipts`` list; ``seq`` the seq concerned.
    """

    link: str | None
    index: int | None
    seq: int | None
    what: str
    code: str
    message: str

    def __str__(self) -> str:
        where = [self.link or "ledger", self.what]
        if self.index is not None:
            where.append(f"#{self.index}")
        if self.seq is not None:
            where.append(f"(seq {self.seq})")
        return f"{' '.join(where)}: {self.code}: {self.message}"


@dataclass
class LinkSummary:
    """What the file holds for one link. ``last_seq``/``last_hash`` are where its chain ends."""

    link: str
    count: int = 0
    first_seq: int | None = None
    last_seq: int = 0
    last_hash: str = GENESIS_HASH
    receipts: int = 0
    last_receipted_seq: int | None = None
    redacted: int = 0  # envelopes whose record content the receiver purged (§11.3)


@dataclass
class LedgerReport:
    """The outcome of :func:`verify_ledger`: ``ok`` only if there are no problems at all."""

    problems: list[LedgerProblem] = field(default_factory=list)
    links: dict[str, LinkSummary] = field(default_factory=dict)
    exported_by: str | None = None
    exported_at: str | None = None
    trusted: bool = False
    """True if the keys were checked against fingerprints given out of band, not just the file's own keys."""

    @property
    def ok(self) -> bool:
        """True if every check passed."""
        return not self.problems

    @property
    def first_problem(self) -> LedgerProblem | None:
        """The first problem found (in file order within each link), or ``None``."""
        return self.problems[0] if self.problems else None


# ----------------------------------------------------------------------------------------------------
# Building, writing and reading files
# ----------------------------------------------------------------------------------------------------


def is_redacted(record: object) -> bool:
    """A stored record whose content the receiver purged after a withdrawal (§11.3): no ``content``, and
    ``"redacted": true``."""
    return isinstance(record, dict) and record.get("redacted") is True and "content" not in record


def ledger_digest(doc: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of the document without its ``digest`` field."""
    # Lenient about unsafe integers only: a file must be sealable over whatever a node stored before it
    # enforced the number domain; the verifier reports such an envelope itself (``unsafe_number``).
    return sha256_hex(canonical_json_lenient({k: v for k, v in doc.items() if k != "digest"}))


def key_entry(public_key: Ed25519PublicKey, valid_from_seq: Mapping[str, int]) -> JSONObject:
    """A ``parties.<P>.keys`` entry: the key, its fingerprint and, per link, the first seq it signs."""
    return {
        "key": public_key_b64(public_key),
        "fingerprint": fingerprint(public_key),
        "valid_from_seq": dict(valid_from_seq),
    }


def build_ledger(
    exported_by: str,
    parties: Mapping[str, Mapping[str, Any]],
    links: Sequence[Mapping[str, Any]],
    *,
    exported_at: datetime | None = None,
) -> JSONObject:
    """Assemble a ledger document and seal it with its digest.

    ``parties`` is ``{"PK": {"keys": [key_entry(...), ...]}, ...}``; ``links`` is a list of
    ``{"link", "envelopes", "receipts"[, "from_seq", "from_prev"]}``. Both are deep-copied.
    """
    doc: JSONObject = {
        "format": LEDGER_FORMAT,
        "exported_at": format_time(exported_at if exported_at is not None else datetime.now(UTC)),
        "exported_by": exported_by,
        "parties": json_copy({str(p): dict(v) for p, v in parties.items()}),
        "links": json_copy([dict(entry) for entry in links]),
    }
    doc["digest"] = ledger_digest(doc)
    return doc


def dump_ledger(doc: Mapping[str, Any]) -> bytes:
    """The file bytes for a ledger document: UTF-8 JSON, indented for people, newline-terminated."""
    with deep_json_allowed():  # envelopes stored before the nesting limit (§2.1) must still export
        return json.dumps(doc, ensure_ascii=False, indent=2, allow_nan=False).encode("utf-8") + b"\n"


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate object member name {key!r}")
        obj[key] = value
    return obj


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_ledger(data: bytes) -> JSONObject:
    """Parse ledger bytes strictly (UTF-8, RFC 8259 JSON, unique member names, no NaN); ``LedgerError``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LedgerError(f"ledger file is not valid UTF-8 (byte {exc.start})") from exc
    try:
        with deep_json_allowed():
            doc = json.loads(text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant)
    except RecursionError as exc:
        raise LedgerError("ledger file nests too deeply") from exc
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise LedgerError(f"ledger file is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise LedgerError("ledger file is JSON but not an object")
    return doc


def load_ledger(path: str | os.PathLike[str]) -> JSONObject:
    """Read and parse a ledger file; ``LedgerError`` with the path and reason if that is not possible."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise LedgerError(f"cannot read ledger file {os.fspath(path)!s}: {exc.strerror or exc}") from exc
    try:
        return parse_ledger(data)
    except LedgerError as exc:
        raise LedgerError(f"{os.fspath(path)!s}: {exc}") from exc


# ----------------------------------------------------------------------------------------------------
# Verification
# ----------------------------------------------------------------------------------------------------


@dataclass
class _Key:
    party: str
    fp: str
    key: Ed25519PublicKey
    valid_from: dict[str, int]
    rejected: bool = False


@dataclass
class _Link:
    index: int
    link: str
    sender: str
    receiver: str
    start: int  # first seq the export holds (1 for a full export)
    start_prev: str
    envelopes: list[Any]
    receipts: list[Any]
    chain: dict[int, str] = field(default_factory=dict)  # seq -> stated hash, for matching receipts


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Verifier:
    def __init__(self, trusted: Mapping[str, Collection[str]] | None) -> None:
        self.trusted = trusted
        self.report = LedgerReport(trusted=trusted is not None)
        self.keys: dict[str, _Key] = {}  # fingerprint -> key declared in the file
        self.party_keys: dict[str, list[_Key]] = {}
        self.parties: set[str] = set()
        self.links: list[_Link] = []
        # keys that are valid by the chain: announced by a verified key_rotation envelope
        self.rotated_in: dict[str, dict[str, Ed25519PublicKey]] = {}
        self.rotated_in_trusted: dict[str, set[str]] = {}
        self.reported_keys: set[str] = set()

    # -- problems -------------------------------------------------------------------------------------------

    def problem(
        self,
        what: str,
        code: str,
        message: str,
        *,
        link: str | None = None,
        index: int | None = None,
        seq: int | None = None,
    ) -> None:
        self.report.problems.append(LedgerProblem(link, index, seq, what, code, message))

    def header(self, code: str, message: str, link: str | None = None) -> None:
        self.problem("header", code, message, link=link)

    # -- header ---------------------------------------------------------------------------------------------

    def check_header(self, doc: object) -> bool:
        """Check the document's top level, parties and link entries; False if nothing more can be checked."""
        if not isinstance(doc, dict):
            self.header("malformed", "ledger document must be a JSON object")
            return False
        for name in LEDGER_FIELDS:
            if name not in doc:
                self.header("malformed", f"ledger lacks field {name!r}")
        for name in sorted(str(k) for k in doc if k not in LEDGER_FIELDS):
            self.header("malformed", f"ledger has unknown field {name!r}")
        if "format" in doc and doc["format"] != LEDGER_FORMAT:
            self.header("malformed", f"ledger format is {doc['format']!r}, expected {LEDGER_FORMAT!r}")
        if "digest" in doc:
            if not is_hex64(doc["digest"]):
                self.header("malformed", "ledger field 'digest' must be 64 lowercase hex digits")
            else:
                try:
                    if ledger_digest(doc) != doc["digest"]:
                        self.header(
                            "bad_digest", "the document does not match its 'digest' (altered or damaged)"
                        )
                except ProtocolError as exc:
                    self.header(exc.code, exc.message)
        if "exported_at" in doc:
            try:
                parse_time(doc["exported_at"])
                self.report.exported_at = doc["exported_at"]
            except ProtocolError as exc:
                self.header(exc.code, f"ledger field 'exported_at': {exc.message}")
        parties = doc.get("parties")
        if not isinstance(parties, dict):
            self.header("malformed", "ledger field 'parties' must be an object of party code to keys")
            return False
        for party, entry in parties.items():
            self.check_party(party, entry)
        exported_by = doc.get("exported_by")
        if isinstance(exported_by, str) and exported_by in self.parties:
            self.report.exported_by = exported_by
        elif "exported_by" in doc:
            self.header("malformed", "ledger field 'exported_by' must be one of the parties in the file")
        links = doc.get("links")
        if not isinstance(links, list):
            self.header("malformed", "ledger field 'links' must be a list")
            return False
        seen: set[str] = set()
        for i, entry in enumerate(links):
            parsed = self.check_link_entry(i, entry, seen)
            if parsed is not None:
                self.links.append(parsed)
        return True

    def check_party(self, party: str, entry: object) -> None:
        if not isinstance(party, str) or _PARTY_RE.fullmatch(party) is None:
            self.header("malformed", f"party {party!r} is not an ISO 3166-1 alpha-2 code")
            return
        self.parties.add(party)
        self.party_keys.setdefault(party, [])
        if (
            not isinstance(entry, dict)
            or set(entry) != set(PARTY_FIELDS)
            or not isinstance(entry["keys"], list)
        ):
            self.header("malformed", f"party {party}: must be an object with exactly a 'keys' list")
            return
        for j, item in enumerate(entry["keys"]):
            where = f"party {party} key #{j}"
            if not isinstance(item, dict):
                self.header("malformed", f"{where}: must be an object")
                continue
            missing = [f for f in KEY_ENTRY_FIELDS if f not in item]
            extra = sorted(str(k) for k in item if k not in KEY_ENTRY_FIELDS)
            if missing or extra:
                what = f"lacks field {missing[0]!r}" if missing else f"has unknown field {extra[0]!r}"
                self.header("malformed", f"{where}: {what}")
                continue
            try:
                key = public_key_from_b64(item["key"])
            except ProtocolError as exc:
                self.header("malformed", f"{where}: 'key': {exc.message}")
                continue
            fp = fingerprint(key)
            if item["fingerprint"] != fp:
                self.header("malformed", f"{where}: 'fingerprint' is not the fingerprint of 'key'")
                continue
            valid_from = item["valid_from_seq"]
            if not isinstance(valid_from, dict) or not self.check_valid_from(where, party, valid_from):
                continue
            if fp in self.keys:
                self.header("malformed", f"{where}: key {short_fingerprint(fp)} is listed twice")
                continue
            declared = _Key(party=party, fp=fp, key=key, valid_from=dict(valid_from))
            self.keys[fp] = declared
            self.party_keys[party].append(declared)

    def check_valid_from(self, where: str, party: str, valid_from: Mapping[str, Any]) -> bool:
        for link, seq in valid_from.items():
            try:
                sender, _ = parse_link(link)
            except ProtocolError as exc:
                self.header("malformed", f"{where}: 'valid_from_seq': {exc.message}")
                return False
            if sender != party:
                self.header(
                    "malformed", f"{where}: 'valid_from_seq' names link {link} that {party} does not send"
                )
                return False
            if not _is_int(seq) or seq < 1:
                self.header("malformed", f"{where}: 'valid_from_seq' for {link} must be an integer >= 1")
                return False
        return True

    def check_link_entry(self, i: int, entry: object, seen: set[str]) -> _Link | None:
        if not isinstance(entry, dict):
            self.header("malformed", f"links #{i} must be an object")
            return None
        name = entry.get("link")
        try:
            sender, receiver = parse_link(name)
        except ProtocolError as exc:
            self.header("malformed", f"links #{i}: 'link': {exc.message}")
            return None
        assert isinstance(name, str)
        allowed = LINK_FIELDS + LINK_OPTIONAL_FIELDS
        missing = [f for f in LINK_FIELDS if f not in entry]
        extra = sorted(str(k) for k in entry if k not in allowed)
        if missing or extra:
            what = f"lacks field {missing[0]!r}" if missing else f"has unknown field {extra[0]!r}"
            self.header("malformed", f"link entry {what}", name)
            return None
        if name in seen:
            self.header("malformed", "link appears twice in the file", name)
            return None
        seen.add(name)
        for party in (sender, receiver):
            if party not in self.parties:
                self.header("malformed", f"party {party} of this link is not in 'parties'", name)
        if not isinstance(entry["envelopes"], list) or not isinstance(entry["receipts"], list):
            self.header("malformed", "'envelopes' and 'receipts' must be lists", name)
            return None
        start, start_prev = 1, GENESIS_HASH
        if "from_seq" in entry or "from_prev" in entry:
            from_seq, from_prev = entry.get("from_seq"), entry.get("from_prev")
            if (
                not isinstance(from_seq, int)
                or not _is_int(from_seq)
                or from_seq < 1
                or not is_hex64(from_prev)
            ):
                self.header(
                    "malformed",
                    "a partial export needs 'from_seq' (integer >= 1) and 'from_prev' (hash)",
                    name,
                )
                return None
            assert isinstance(from_seq, int) and isinstance(from_prev, str)
            if from_seq == 1 and from_prev != GENESIS_HASH:
                self.header("malformed", "'from_prev' must be the genesis hash when 'from_seq' is 1", name)
                return None
            start, start_prev = from_seq, from_prev
        summary = LinkSummary(link=name, last_seq=start - 1, last_hash=start_prev)
        summary.count = len(entry["envelopes"])
        summary.receipts = len(entry["receipts"])
        self.report.links[name] = summary
        return _Link(i, name, sender, receiver, start, start_prev, entry["envelopes"], entry["receipts"])

    # -- envelopes ------------------------------------------------------------------------------------------

    def initial_key(self, lk: _Link) -> tuple[_Key | None, dict[int, _Key]]:
        """The key valid at the export's first seq, and the keys the file declares for later seqs."""
        earlier: dict[int, list[_Key]] = {}
        later: dict[int, _Key] = {}
        for declared in self.party_keys.get(lk.sender, []):
            seq = declared.valid_from.get(lk.link)
            if seq is None:
                continue
            if seq <= lk.start:
                earlier.setdefault(seq, []).append(declared)
            elif seq in later:
                self.header(
                    "malformed", f"two keys of {lk.sender} are declared valid from seq {seq}", lk.link
                )
            else:
                later[seq] = declared
        if not earlier:
            self.header("unknown_key", f"no key of {lk.sender} is declared valid at seq {lk.start}", lk.link)
            return None, later
        candidates = earlier[max(earlier)]
        if len(candidates) > 1:
            self.header("malformed", f"two keys of {lk.sender} are declared valid from the same seq", lk.link)
        return candidates[0], later

    def walk(self, lk: _Link) -> None:
        summary = self.report.links[lk.link]
        current, later = self.initial_key(lk)
        chain_trusted = True
        if (
            current is not None
            and self.trusted is not None
            and current.fp not in self.trusted.get(lk.sender, ())
            and not (":" in lk.link and current.fp in self.rotated_in_trusted.get(lk.sender, set()))
        ):
            chain_trusted = False
            self.reported_keys.add(current.fp)
            self.header(
                "untrusted_key",
                f"the key signing seq {lk.start}, {short_fingerprint(current.fp)}, is not among the "
                f"fingerprints trusted for {lk.sender}",
                lk.link,
            )
        current_fp = current.fp if current is not None else None
        current_key = current.key if current is not None else None
        last_seq, last_hash = lk.start - 1, lk.start_prev
        announced: set[int] = set()
        unconfirmed: dict[int, str] = {}  # redacted envelopes not yet confirmed: seq -> stated hash
        used: set[str] = {current_fp} if current_fp is not None else set()  # the keys of this chain so far
        signers: dict[int, dict[str, Ed25519PublicKey]] = {}  # seq -> the key valid there
        for i, raw in enumerate(lk.envelopes):

            def problem(exc: ProtocolError, code: str | None = None, index: int = i) -> None:
                self.problem(
                    "envelope", code or exc.code, exc.message, link=lk.link, index=index, seq=exc.seq
                )

            try:
                env = check_envelope_shape(raw)
            except ProtocolError as exc:
                problem(exc)
                if exc.code in ("too_deep", "unsafe_number") and exc.seq is not None:
                    # Otherwise well formed (the JSON domain is checked last): keep the chain going from it.
                    last_seq, last_hash = exc.seq, raw["hash"]
                    lk.chain[exc.seq] = raw["hash"]
                continue
            seq: int = env["seq"]
            if seq in lk.chain:
                if lk.chain[seq] == env["hash"]:
                    problem(ProtocolError("duplicate_seq", f"envelope {seq} is listed twice", seq))
                    continue
                # A different envelope for a seq already seen: equivocation if the key valid at that seq
                # signed it, otherwise just a damaged or forged entry.
                try:
                    verify_envelope(env, signers.get(seq, {}))
                except ProtocolError as exc:
                    problem(exc)
                    continue
                problem(
                    ProtocolError(
                        "equivocation", f"two different envelopes signed for seq {seq} (hashes differ)", seq
                    )
                )
                continue
            signers[seq] = {current_fp: current_key} if current_fp and current_key else {}
            verified = False
            if is_redacted(env["record"]):
                # Its content was purged after a withdrawal: the hash cannot be recomputed, so it stands as
                # stated and must be confirmed by the chain (the next envelope's signed prev) or a receipt.
                summary.redacted += 1
                unconfirmed[seq] = env["hash"]
            else:
                try:
                    verify_envelope(env, signers[seq])
                    verified = True
                except ProtocolError as exc:
                    if exc.code == "unknown_key":
                        if current_fp is not None:  # otherwise the header problem already says why
                            problem(self.explain_key(env["key"], lk.sender, current_fp, seq))
                    else:
                        problem(exc)
            try:
                verify_chain_step(env, lk.link, last_seq, last_hash)
                if verified and unconfirmed.get(last_seq) == env["prev"]:
                    del unconfirmed[last_seq]
            except ProtocolError as exc:
                problem(exc)
            # Resynchronise on the stated (seq, hash) so that one bad envelope is reported once, not as a
            # cascade of chain errors after it.
            last_seq, last_hash = seq, env["hash"]
            lk.chain[seq] = env["hash"]
            if summary.first_seq is None:
                summary.first_seq = seq
            try:
                new_key = parse_key_rotation(env["record"])
            except ProtocolError as exc:
                problem(ProtocolError(exc.code, exc.message, seq))
                continue
            if new_key is None or not verified:
                continue
            new_fp = fingerprint(new_key)
            owner = self.keys.get(new_fp)
            foreign = owner is not None and owner.party != lk.sender
            earlier = owner is not None and owner.valid_from.get(lk.link, seq + 1) <= seq
            if foreign or earlier or new_fp in used:
                # A key belongs to one party, ever (§6): a receiver refuses (quarantines) such a rotation
                # and the sender's key stays what it was, so the verifier does the same.
                whose = f"a key of {owner.party}" if foreign and owner else f"a key {lk.sender} used before"
                problem(
                    ProtocolError(
                        "bad_rotation",
                        f"envelope {seq} rotates to key {short_fingerprint(new_fp)}, {whose}",
                        seq,
                    )
                )
                continue
            used.add(new_fp)
            declared = later.get(seq + 1)
            if declared is None or declared.fp != new_fp:
                problem(
                    ProtocolError(
                        "undeclared_key",
                        f"envelope {seq} rotates to key {short_fingerprint(new_fp)}, but the file does not "
                        f"declare that key valid on {lk.link} from seq {seq + 1}",
                        seq,
                    )
                )
            else:
                announced.add(seq + 1)
            current_fp, current_key = new_fp, new_key
            self.rotated_in.setdefault(lk.sender, {})[new_fp] = new_key
            if chain_trusted:
                self.rotated_in_trusted.setdefault(lk.sender, set()).add(new_fp)
        summary.last_seq, summary.last_hash = last_seq, last_hash
        receipted = {  # their signatures are checked with the receipts; a bad one is reported there
            (r["seq"], r["hash"])
            for r in lk.receipts
            if isinstance(r, dict)
            and r.get("link") == lk.link
            and isinstance(r.get("seq"), int)
            and isinstance(r.get("hash"), str)
        }
        for seq, stated in sorted(unconfirmed.items()):
            if (seq, stated) not in receipted:
                self.problem(
                    "envelope",
                    "unconfirmed_redaction",
                    f"envelope {seq} is redacted, and neither a verified next envelope nor a receipt confirms "
                    "its hash",
                    link=lk.link,
                    index=None,
                    seq=seq,
                )
        for seq, declared in sorted(later.items()):
            if seq not in announced:
                declared.rejected = True
                self.reported_keys.add(declared.fp)
                self.header(
                    "key_not_announced",
                    f"key {short_fingerprint(declared.fp)} of {lk.sender} is declared valid from seq {seq}, "
                    f"but no key_rotation envelope signed by the previous key announces it",
                    lk.link,
                )

    def explain_key(self, fp: str, owner: str, expected_fp: str, seq: int) -> ProtocolError:
        declared = self.keys.get(fp)
        if declared is None:
            return ProtocolError(
                "unknown_key", f"signed by key {short_fingerprint(fp)}, not in the file", seq
            )
        if declared.party != owner:
            return ProtocolError(
                "wrong_key", f"signed by key {short_fingerprint(fp)} of {declared.party}, not of {owner}", seq
            )
        return ProtocolError(
            "wrong_key",
            f"signed by key {short_fingerprint(fp)}, but the key valid at seq {seq} on this link is "
            f"{short_fingerprint(expected_fp)}",
            seq,
        )

    # -- keys -----------------------------------------------------------------------------------------------

    def accepted_keys(self) -> dict[str, dict[str, Ed25519PublicKey]]:
        """Per party, the keys a receipt may be signed with; reports keys not chaining to a trusted one."""
        accepted: dict[str, dict[str, Ed25519PublicKey]] = {}
        for party in sorted(self.parties):
            ok: dict[str, Ed25519PublicKey] = {}
            if self.trusted is None:
                ok.update(self.rotated_in.get(party, {}))
                ok.update({k.fp: k.key for k in self.party_keys.get(party, []) if not k.rejected})
            else:
                trusted = set(self.trusted.get(party, ())) | self.rotated_in_trusted.get(party, set())
                ok.update({fp: k for fp, k in self.rotated_in.get(party, {}).items() if fp in trusted})
                for declared in self.party_keys.get(party, []):
                    if declared.fp in trusted and not declared.rejected:
                        ok[declared.fp] = declared.key
                    elif declared.fp not in self.reported_keys:
                        self.reported_keys.add(declared.fp)
                        self.header(
                            "untrusted_key",
                            f"key {short_fingerprint(declared.fp)} of {party} is neither trusted nor "
                            "announced by a chain that starts at a trusted key",
                        )
            accepted[party] = ok
        return accepted

    # -- receipts -------------------------------------------------------------------------------------------

    def check_receipts(self, lk: _Link, accepted: Mapping[str, Mapping[str, Ed25519PublicKey]]) -> None:
        summary = self.report.links[lk.link]
        keys = accepted.get(lk.receiver, {})
        for i, raw in enumerate(lk.receipts):

            def problem(code: str, message: str, seq: int | None, index: int = i) -> None:
                self.problem("receipt", code, message, link=lk.link, index=index, seq=seq)

            try:
                receipt = check_receipt_shape(raw)
            except ProtocolError as exc:
                problem(exc.code, exc.message, exc.seq)
                continue
            seq: int = receipt["seq"]
            if receipt["link"] != lk.link:
                problem("bad_link", f"receipt for link {receipt['link']} listed under {lk.link}", seq)
                continue
            fp: str = receipt["key"]
            if fp not in keys:
                declared = self.keys.get(fp)
                if declared is None:
                    problem("unknown_key", f"signed by key {short_fingerprint(fp)}, not in the file", seq)
                elif declared.party != lk.receiver:
                    problem("wrong_key", f"signed by a key of {declared.party}, not of {lk.receiver}", seq)
                else:
                    problem(
                        "untrusted_key", f"signed by key {short_fingerprint(fp)}, which is not accepted", seq
                    )
                continue
            try:
                verify_receipt(receipt, {fp: keys[fp]})
            except ProtocolError as exc:
                problem(exc.code, exc.message, seq)
                continue
            if seq == lk.start - 1:
                expected: str | None = lk.start_prev
            elif seq < lk.start - 1:
                problem("receipt_before_export", f"receipt for seq {seq}, before the export starts", seq)
                continue
            elif seq > summary.last_seq:
                problem(
                    "receipt_beyond_chain",
                    f"receipt for seq {seq}, but the log in the file ends at seq {summary.last_seq}",
                    seq,
                )
                continue
            elif seq not in lk.chain:
                problem(
                    "receipt_in_gap",
                    f"receipt for seq {seq}, whose envelope the file does not hold (a gap in the export); "
                    "it can be neither confirmed nor refuted",
                    seq,
                )
                continue
            else:
                expected = lk.chain.get(seq)
            if expected != receipt["hash"]:
                problem("receipt_mismatch", f"receipt hash does not match the envelope at seq {seq}", seq)
                continue
            if summary.last_receipted_seq is None or seq > summary.last_receipted_seq:
                summary.last_receipted_seq = seq


def verify_ledger(
    doc: Mapping[str, Any] | object,
    trusted_fingerprints: Mapping[str, Collection[str]] | None = None,
) -> LedgerReport:
    """Verify a ledger document offline and report every problem found.

    Checks the digest; the parties' keys; for each link, every envelope's shape, hash and signature, ``seq``
    continuity (from 1, or from ``from_seq``/``from_prev`` for a partial export), ``prev`` linkage and that
    no seq appears twice; key rotations; and every receipt's signature (by a key of the receiving party) and
    ``(seq, hash)`` against the envelope at that seq.

    Without ``trusted_fingerprints`` the file's own keys are the anchors, which proves the file is
    internally consistent but not who wrote it. With it (party → fingerprints obtained out of band), the
    key that signs each link's first exported envelope must be trusted, and every key in the file must be
    trusted or announced by a ``key_rotation`` envelope on a chain that starts at a trusted key.
    """
    if trusted_fingerprints is not None:
        for party, fps in trusted_fingerprints.items():
            bad = [fp for fp in fps if not is_fingerprint(fp)]
            if bad:
                raise ValueError(
                    f"trusted fingerprint for {party} is not 64 lowercase hex digits: {bad[0]!r}"
                )
    verifier = _Verifier(trusted_fingerprints)
    if not verifier.check_header(doc):
        return verifier.report
    # A precedence lane's chain (``"PK>IR:flash"``) may start with a key its party announced on another chain:
    # the base chains are walked first, so their rotations are known when the lanes' initial keys are checked.
    for lk in sorted(verifier.links, key=lambda lk: ":" in lk.link):
        verifier.walk(lk)
    accepted = verifier.accepted_keys()
    for lk in verifier.links:
        verifier.check_receipts(lk, accepted)
    return verifier.report
