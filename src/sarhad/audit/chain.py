"""The audit log's hash chain and signed heads: the exact bytes hashed and signed (pure, no I/O).

``docs/audit.md`` is the specification; this module is its reference implementation.

- Each entry ``n`` (``seq = 1, 2, 3, …``) is hashed over the canonical JSON (RFC 8785) of
  ``{"v": 1, "seq", "prev", "at", "actor", "action", "outcome", "record_kind", "record_id", "client_ip",
  "details"}``, where ``prev`` is the hash of entry ``n - 1`` (64 zeros for entry 1).
- A **head** is ``{"v": 1, "party", "seq", "hash", "at", "key"}``: the log of ``party`` up to ``seq``, whose
  last entry has ``hash``, as that party's node signed it at ``at`` with the key whose fingerprint is ``key``.
  ``sig`` is the Ed25519 signature of ``"sarhad-audit-head-v1:" + sha256hex(JCS(head))``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sarhad.exchange.protocol import (
    GENESIS_HASH,
    ProtocolError,
    canonical_json,
    format_time,
    is_fingerprint,
    is_hex64,
    parse_time,
    public_key_from_b64,
    sha256_hex,
)
from sarhad.exchange.protocol.keys import SIGNATURE_BYTES, b64decode_strict

CHAIN_VERSION: Final = 1
HEAD_SIGNING_PREFIX: Final = "sarhad-audit-head-v1:"
HEAD_FIELDS: Final = ("v", "party", "seq", "hash", "at", "key", "sig")
MAX_SAFE_INTEGER: Final = 2**53 - 1
__all__ = [
    "GENESIS_HASH",
    "HEAD_FIELDS",
    "HeadError",
    "entry_bytes",
    "entry_hash",
    "entry_hash_of_safe",
    "json_safe",
    "make_head",
    "verify_head",
]


class HeadError(ValueError):
    """A signed head that is malformed or whose signature does not verify."""


def json_safe(value: Any) -> Any:
    """``details`` as the log keeps them: JSON values, with integers beyond ±(2^53 − 1) and non-finite floats
    written as strings (RFC 8785 cannot canonicalise them), tuples as lists and other values as their text."""
    return safe_and_plain(value)[0]


def safe_and_plain(value: Any) -> tuple[Any, bool]:
    """:func:`json_safe` of ``value``, and whether the result is *plain*: no float and no key outside the
    Basic Multilingual Plane, so that orjson with sorted keys writes exactly its RFC 8785 bytes (see
    ``canonical_json``). One walk for both, since every audited commit hashes each of its entries."""
    if isinstance(value, dict):
        plain = True
        safe: dict[str, Any] = {}
        for key, member in value.items():
            text = str(key)
            safe[text], member_plain = safe_and_plain(member)
            plain = plain and member_plain and (text.isascii() or all(ord(ch) <= 0xFFFF for ch in text))
        return safe, plain
    if isinstance(value, list | tuple):
        items = [safe_and_plain(member) for member in value]
        return [item for item, _ in items], all(p for _, p in items)
    if value is None or isinstance(value, str | bool):
        return value, True
    if isinstance(value, int):
        return (value, True) if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER else (str(value), True)
    if isinstance(value, float):
        finite = value == value and value not in (float("inf"), float("-inf"))
        return (value, False) if finite else (str(value), True)
    if isinstance(value, datetime):
        return format_time(value), True
    return str(value), True


def entry_bytes(
    *,
    seq: int,
    prev: str,
    at: datetime | str,
    actor: str,
    action: str,
    outcome: str,
    record_kind: str | None,
    record_id: str | None,
    client_ip: str,
    details: Mapping[str, Any] | None,
) -> bytes:
    """The canonical bytes of one entry, ``prev`` included: what its hash is taken over.

    ``at`` may come already written by :func:`format_time` (one call for a whole batch of entries)."""
    return canonical_json(
        {
            "v": CHAIN_VERSION,
            "seq": seq,
            "prev": prev,
            "at": at if isinstance(at, str) else format_time(at),
            "actor": actor,
            "action": action,
            "outcome": outcome,
            "record_kind": record_kind,
            "record_id": record_id,
            "client_ip": client_ip,
            "details": dict(details or {}),
        }
    )


def entry_hash(**fields: Any) -> str:
    """``sha256hex`` of :func:`entry_bytes` (the same keyword arguments)."""
    return sha256_hex(entry_bytes(**fields))


def entry_hash_of_safe(*, plain: bool, **fields: Any) -> str:
    """:func:`entry_hash` of an entry whose ``details`` come from :func:`safe_and_plain` and whose ``at`` is
    already written: when ``plain``, the bytes come straight from orjson with sorted keys (the same bytes,
    without the canonicaliser's walk over the entry); a string orjson refuses (a lone surrogate) falls back."""
    if plain:
        entry = {
            "v": CHAIN_VERSION,
            "seq": fields["seq"],
            "prev": fields["prev"],
            "at": fields["at"],
            "actor": fields["actor"],
            "action": fields["action"],
            "outcome": fields["outcome"],
            "record_kind": fields["record_kind"],
            "record_id": fields["record_id"],
            "client_ip": fields["client_ip"],
            "details": fields["details"],
        }
        try:
            return sha256_hex(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS))
        except orjson.JSONEncodeError:
            pass
    return entry_hash(**fields)


def head_digest(head: Mapping[str, Any]) -> str:
    return sha256_hex(canonical_json({k: head[k] for k in HEAD_FIELDS if k != "sig"}))


def make_head(
    private_key: Ed25519PrivateKey, *, party: str, seq: int, hash_hex: str, at: datetime, key_fingerprint: str
) -> dict[str, Any]:
    """A signed head of ``party``'s log at ``seq`` (whose last entry has ``hash_hex``)."""
    head: dict[str, Any] = {
        "v": CHAIN_VERSION,
        "party": party,
        "seq": seq,
        "hash": hash_hex,
        "at": format_time(at),
        "key": key_fingerprint,
    }
    signature = private_key.sign((HEAD_SIGNING_PREFIX + head_digest(head)).encode("ascii"))
    head["sig"] = base64.b64encode(signature).decode("ascii")
    return head


def check_head_shape(head: object) -> dict[str, Any]:
    """The head if it has exactly the members of :data:`HEAD_FIELDS` with their types; ``HeadError`` else."""
    if not isinstance(head, dict):
        raise HeadError("a head is a JSON object")
    if set(head) != set(HEAD_FIELDS):
        raise HeadError(f"a head has exactly the members {', '.join(HEAD_FIELDS)}")
    seq = head["seq"]
    if head["v"] != CHAIN_VERSION or isinstance(head["v"], bool):
        raise HeadError("head v must be 1")
    if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= MAX_SAFE_INTEGER:
        raise HeadError("head seq must be an integer from 1")
    if not is_hex64(head["hash"]):
        raise HeadError("head hash must be 64 lowercase hex digits")
    if not is_fingerprint(head["key"]):
        raise HeadError("head key must be a key fingerprint")
    if not isinstance(head["party"], str) or len(head["party"]) != 2 or not head["party"].isupper():
        raise HeadError("head party must be a party code")
    try:
        parse_time(head["at"])
    except ProtocolError as exc:
        raise HeadError(f"head at: {exc}") from exc
    return head


def verify_head(head: object, keys: Mapping[str, Ed25519PublicKey | str]) -> dict[str, Any]:
    """Check a head's shape and signature against ``keys`` (fingerprint → key, or its base64); the head."""
    checked = check_head_shape(head)
    key = keys.get(checked["key"])
    if key is None:
        raise HeadError(
            f"head is signed with key {checked['key'][:16]}…, not a known key of {checked['party']}"
        )
    try:
        public = public_key_from_b64(key) if isinstance(key, str) else key
        signature = b64decode_strict(checked["sig"], SIGNATURE_BYTES, "head sig")
    except ProtocolError as exc:
        raise HeadError(str(exc)) from exc
    try:
        public.verify(signature, (HEAD_SIGNING_PREFIX + head_digest(checked)).encode("ascii"))
    except InvalidSignature as exc:
        raise HeadError("head signature does not verify") from exc
    return checked


def contradiction(held: tuple[int, str, datetime], new: tuple[int, str, datetime]) -> str | None:
    """Why two signed heads ``(seq, hash, at)`` of one party's log cannot both be true, or None.

    A log only grows: two heads of the same length must name the same hash, and a head signed later may
    not be shorter than one signed earlier.
    """
    (held_seq, held_hash, held_at), (seq, digest, at) = held, new
    if held_seq == seq and held_hash != digest:
        return f"two different logs of {seq} entries (hash {held_hash[:16]}… held, {digest[:16]}… now)"
    if held_seq > seq and held_at <= at:
        return (
            f"the log shrank: {held_seq} entries signed at {format_time(held_at)}, {seq} at {format_time(at)}"
        )
    if held_seq < seq and held_at >= at:
        return (
            f"the log shrank: {seq} entries signed at {format_time(at)}, {held_seq} at {format_time(held_at)}"
        )
    return None
