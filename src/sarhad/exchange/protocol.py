"""The cryptographic core of the exchange protocol: envelopes, receipts and signed node-to-node requests.

This module is pure: no I/O, no clock, no database. Every input it needs (keys, times, the last state of a
link) is passed in, so the same functions serve the sender, the receiver, the delivery worker and the offline
ledger verifier. ``docs/exchange-protocol.md`` is the normative specification; this module is its reference
implementation and the unit tests check the document's test vectors against it.

Conventions used throughout:

* Keys are Ed25519. Public keys travel as canonical standard base64 of the 32 raw bytes; a key is named by
  its fingerprint, the lowercase hex SHA-256 of those 32 bytes.
* Canonical JSON is RFC 8785 (JCS); a hash is the lowercase hex SHA-256 of canonical bytes.
* Every refusal raises :class:`ProtocolError` with a stable ``code`` (see :data:`ERROR_CODES`).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final, NamedTuple

import orjson
import rfc8785
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

__all__ = [
    "ENVELOPE_FIELDS",
    "ENVELOPE_SIGNING_PREFIX",
    "ENVELOPE_VERSION",
    "ERROR_CODES",
    "GENESIS_HASH",
    "HEADER_KEY",
    "HEADER_PARTY",
    "HEADER_SIGNATURE",
    "HEADER_TIME",
    "KIND_KEY_ROTATION",
    "RECEIPT_FIELDS",
    "RECEIPT_SIGNING_PREFIX",
    "RECEIPT_VERSION",
    "REQUEST_SIGNING_PREFIX",
    "JSONObject",
    "LinkState",
    "ProtocolError",
    "canonical_json",
    "check_envelope_shape",
    "check_receipt_shape",
    "check_same_envelope",
    "envelope_hash",
    "fingerprint",
    "format_time",
    "generate_private_key",
    "is_fingerprint",
    "is_hex64",
    "key_rotation_record",
    "make_envelope",
    "make_link",
    "make_receipt",
    "parse_key_rotation",
    "parse_link",
    "parse_time",
    "private_key_from_pem",
    "private_key_to_pem",
    "public_key_b64",
    "public_key_from_b64",
    "receipt_digest",
    "request_signing_input",
    "seal_envelope",
    "sha256_hex",
    "short_fingerprint",
    "sign_request",
    "verify_chain_step",
    "verify_envelope",
    "verify_receipt",
    "verify_request",
]

JSONObject = dict[str, Any]
"""A decoded JSON object (envelope, receipt, record)."""

# ----------------------------------------------------------------------------------------------------
# Constants (normative; see docs/exchange-protocol.md)
# ----------------------------------------------------------------------------------------------------

ENVELOPE_VERSION: Final = 1
RECEIPT_VERSION: Final = 1
GENESIS_HASH: Final = "0" * 64
"""The ``prev`` of envelope 1 on every link, and the ``hash`` of a receipt for seq 0."""

ENVELOPE_SIGNING_PREFIX: Final = "sarhad-envelope-v1:"
RECEIPT_SIGNING_PREFIX: Final = "sarhad-receipt-v1:"
REQUEST_SIGNING_PREFIX: Final = "sarhad-request-v1"

ENVELOPE_FIELDS: Final = ("v", "link", "seq", "prev", "sent_at", "key", "record", "hash", "sig")
ENVELOPE_HASHED_FIELDS: Final = ("v", "link", "seq", "prev", "sent_at", "key", "record")
RECEIPT_FIELDS: Final = ("v", "link", "seq", "hash", "received_at", "by", "key", "sig")

HEADER_PARTY: Final = "X-Sarhad-Party"
HEADER_TIME: Final = "X-Sarhad-Time"
HEADER_KEY: Final = "X-Sarhad-Key"
HEADER_SIGNATURE: Final = "X-Sarhad-Signature"

KIND_KEY_ROTATION: Final = "key_rotation"

ERROR_CODES: Final = frozenset(
    {
        "malformed",  # a field is missing, of the wrong type or format, or an unknown field is present
        "bad_hash",  # the stated hash is not the hash of the content
        "unknown_key",  # the signing key's fingerprint is not among the keys given
        "wrong_key",  # the key is known but not the one allowed here (other party, rotated away)
        "bad_signature",  # the signature does not verify with the named key
        "bad_link",  # the link (or the receipt's party) is not the one expected
        "seq_gap",  # seq is not last seq + 1
        "bad_prev",  # prev is not the hash of the previous envelope
        "equivocation",  # two different envelopes for the same (link, seq)
        "stale_request",  # a signed request's time is outside the allowed skew
        "bad_rotation",  # a key_rotation record is inconsistent
    }
)
"""Codes raised by this module. The ledger verifier adds a few of its own (see ``sarhad.exchange.ledger``)."""

_PUBLIC_KEY_BYTES: Final = 32
_SIGNATURE_BYTES: Final = 64
_VERSION_JSON: Final = str(ENVELOPE_VERSION).encode("ascii")

_PARTY_RE: Final = re.compile(r"[A-Z]{2}")
_LINK_RE: Final = re.compile(r"([A-Z]{2})>([A-Z]{2})")
_HEX64_RE: Final = re.compile(r"[0-9a-f]{64}")
_B64_RE: Final = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_TIME_RE: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?Z"
)
_METHOD_RE: Final = re.compile(r"[A-Z]{1,16}")
# The request target is one line of printable ASCII starting with "/" (it is a line of the signing input).
_PATH_RE: Final = re.compile(r"/[\x21-\x7e]*")


# ----------------------------------------------------------------------------------------------------
# Errors
# ----------------------------------------------------------------------------------------------------


class ProtocolError(Exception):
    """A message from (or for) a peer that the protocol refuses.

    ``code`` is stable snake_case for programs (one of :data:`ERROR_CODES` or a ledger code), ``message`` is
    for people and names the offending field, ``seq`` is the envelope or receipt seq concerned, if known.
    """

    def __init__(self, code: str, message: str, seq: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.seq = seq

    def __repr__(self) -> str:
        return f"ProtocolError(code={self.code!r}, message={self.message!r}, seq={self.seq!r})"


def _malformed(message: str, seq: int | None = None) -> ProtocolError:
    return ProtocolError("malformed", message, seq)


# ----------------------------------------------------------------------------------------------------
# Keys
# ----------------------------------------------------------------------------------------------------


def generate_private_key() -> Ed25519PrivateKey:
    """A new random Ed25519 private key (a node's signing key)."""
    return Ed25519PrivateKey.generate()


def private_key_to_pem(key: Ed25519PrivateKey) -> bytes:
    """The key as unencrypted PKCS#8 PEM; protect the file by its permissions or a secret store."""
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def private_key_from_pem(data: bytes) -> Ed25519PrivateKey:
    """Load an unencrypted PKCS#8 PEM Ed25519 private key; ``ProtocolError("malformed")`` otherwise."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise _malformed(f"not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise _malformed(f"private key is {type(key).__name__}, not Ed25519")
    return key


def public_key_b64(key: Ed25519PublicKey) -> str:
    """Standard base64 (with padding) of the 32 raw public key bytes."""
    return base64.b64encode(_raw_public(key)).decode("ascii")


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """Parse a public key from canonical standard base64 of 32 raw bytes; ``ProtocolError`` on bad input."""
    raw = _b64decode_strict(text, _PUBLIC_KEY_BYTES, "public key")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:  # pragma: no cover - every 32-byte string is accepted by the backend today
        raise _malformed(f"public key is not a valid Ed25519 key: {exc}") from exc


def fingerprint(key: Ed25519PublicKey) -> str:
    """Lowercase hex SHA-256 of the 32 raw public key bytes (64 characters)."""
    return sha256_hex(_raw_public(key))


def short_fingerprint(fp: str) -> str:
    """The first 16 hex digits of a fingerprint in groups of four (``"3f2a-9c1e-…"``), for display."""
    if not is_fingerprint(fp):
        raise _malformed("fingerprint must be 64 lowercase hex digits")
    return "-".join(fp[i : i + 4] for i in range(0, 16, 4))


def is_hex64(value: object) -> bool:
    """True if ``value`` is a string of exactly 64 lowercase hex digits (a hash or a fingerprint)."""
    return isinstance(value, str) and _HEX64_RE.fullmatch(value) is not None


is_fingerprint = is_hex64


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)


def _b64decode_strict(text: object, length: int, what: str) -> bytes:
    """Decode canonical base64 only: one spelling per byte string, so a changed character is always a change.

    Python's decoder ignores the unused low bits of the last character; we re-encode and compare so that
    two different strings can never stand for the same key or signature.
    """
    if not isinstance(text, str) or _B64_RE.fullmatch(text) is None:
        raise _malformed(f"{what} must be standard base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _malformed(f"{what} is not valid base64") from exc
    if len(raw) != length:
        raise _malformed(f"{what} must encode {length} bytes, not {len(raw)}")
    if base64.b64encode(raw).decode("ascii") != text:
        raise _malformed(f"{what} is not canonical base64")
    return raw


# ----------------------------------------------------------------------------------------------------
# Canonical JSON, hashes, times, links
# ----------------------------------------------------------------------------------------------------


_MAX_SAFE_INTEGER: Final = 2**53 - 1
_FAST_JSON_OPTIONS: Final = orjson.OPT_SORT_KEYS  # compact UTF-8, keys sorted by code point


def _fast_path_applies(value: object) -> bool:
    """True if ``value`` holds only what the standard encoder writes exactly as RFC 8785 does.

    That is: objects with string keys inside the Basic Multilingual Plane (so code-point order equals the
    UTF-16 order RFC 8785 sorts by), arrays, strings, booleans, null and integers within ±(2^53 − 1), nested
    at most 64 deep. Floats, which RFC 8785 writes in ECMAScript form, take the slow path. Strings, nearly
    every value of a record, are passed over without a call.
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is dict:
            if depth >= 64:
                return False
            for key, member in item.items():  # type: ignore[attr-defined]
                if type(key) is not str or (not key.isascii() and any(ord(ch) > 0xFFFF for ch in key)):
                    return False
                if type(member) is not str:
                    stack.append((member, depth + 1))
        elif kind is list:
            if depth >= 64:
                return False
            stack.extend((member, depth + 1) for member in item if type(member) is not str)  # type: ignore[attr-defined]
        elif kind is int:
            if not -_MAX_SAFE_INTEGER <= item <= _MAX_SAFE_INTEGER:  # type: ignore[operator]
                return False
        elif not (kind is str or kind is bool or item is None or isinstance(item, str)):
            return False  # a float, another type, or a subclass the check does not know (the slow path does)
    return True


def canonical_json(obj: object) -> bytes:
    """RFC 8785 canonical UTF-8 bytes of a JSON value; ``ProtocolError("malformed")`` if not representable.

    Envelopes hold only strings, integers, booleans and nulls, for which orjson with sorted keys writes
    exactly the RFC 8785 bytes (compact, UTF-8, the same escapes), some thirty times faster than the
    standard library's encoder on a 1 KB bulletin and far faster than the pure-Python canonicaliser;
    anything else goes through ``rfc8785``. A property test checks the two agree.
    """
    if _fast_path_applies(obj):
        try:
            return orjson.dumps(obj, option=_FAST_JSON_OPTIONS)
        except orjson.JSONEncodeError:
            pass  # a lone surrogate: let rfc8785 decide (it refuses or escapes as the RFC says)
    try:
        return rfc8785.dumps(obj)  # type: ignore[arg-type]  # any JSON value; others are refused below
    except rfc8785.CanonicalizationError as exc:
        raise _malformed(f"value cannot be canonicalised (RFC 8785): {exc}") from exc
    except RecursionError as exc:
        raise _malformed("value nests too deeply to canonicalise") from exc


def sha256_hex(data: bytes) -> str:
    """Lowercase hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def format_time(dt: datetime) -> str:
    """RFC 3339 in UTC with ``Z``: ``2025-01-15T09:30:00Z``, or with six fraction digits if microseconds != 0.

    Raises ``ValueError`` for a naive datetime (a programming error: the code base keeps times aware).
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("format_time needs a timezone-aware datetime")
    u = dt.astimezone(UTC)
    text = f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}"
    if u.microsecond:
        text += f".{u.microsecond:06d}"
    return text + "Z"


def parse_time(text: object) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SS[.f{1,6}]Z`` into an aware UTC datetime; ``ProtocolError("malformed")``."""
    if not isinstance(text, str):
        raise _malformed("time must be a string")
    return _parse_time_text(str(text))


@functools.lru_cache(maxsize=1024)
def _parse_time_text(text: str) -> datetime:
    # Remembered: the envelopes of one release share their sending time, and each is parsed twice (shape
    # check, inbox row). A datetime is immutable; a refusal is raised again each time (never cached).
    m = _TIME_RE.fullmatch(text)
    if m is None:
        raise _malformed(f"time {text!r} is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)")
    year, month, day, hour, minute, second, fraction = m.groups()
    micro = int((fraction or "0").ljust(6, "0"))
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=UTC
        )
    except ValueError as exc:
        raise _malformed(f"time {text!r} is not a valid date and time: {exc}") from exc


def make_link(sender: str, receiver: str) -> str:
    """The link id ``"PK>IR"`` for the channel from ``sender`` to ``receiver``."""
    link = f"{sender}>{receiver}"
    parse_link(link)
    return link


def parse_link(link: object) -> tuple[str, str]:
    """``"PK>IR"`` → ``("PK", "IR")``; ``ProtocolError("malformed")`` unless two different alpha-2 codes."""
    if not isinstance(link, str):
        raise _malformed("link must be a string like 'PK>IR'")
    m = _LINK_RE.fullmatch(link)
    if m is None:
        raise _malformed(f"link {link!r} is not 'XX>YY' with ISO 3166-1 alpha-2 party codes")
    sender, receiver = m.group(1), m.group(2)
    if sender == receiver:
        raise _malformed(f"link {link!r} goes from a party to itself")
    return sender, receiver


def _is_party(value: object) -> bool:
    return isinstance(value, str) and _PARTY_RE.fullmatch(value) is not None


def _is_int(value: object) -> bool:
    # bool is a subclass of int in Python; JSON true is not a number.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_fields(obj: Mapping[str, Any], fields: tuple[str, ...], what: str, seq: int | None) -> None:
    missing = [f for f in fields if f not in obj]
    if missing:
        raise _malformed(f"{what} lacks field {missing[0]!r}", seq)
    extra = sorted(str(k) for k in obj if k not in fields)
    if extra:
        raise _malformed(f"{what} has unknown field {extra[0]!r}", seq)


def _seq_hint(obj: Mapping[str, Any]) -> int | None:
    seq = obj.get("seq")
    return seq if _is_int(seq) else None


# ----------------------------------------------------------------------------------------------------
# Envelopes
# ----------------------------------------------------------------------------------------------------


def envelope_hash(env: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of the envelope without ``hash`` and ``sig``."""
    return sha256_hex(canonical_json({k: env[k] for k in ENVELOPE_HASHED_FIELDS}))


def _envelope_signing_input(hash_hex: str) -> bytes:
    return (ENVELOPE_SIGNING_PREFIX + hash_hex).encode("ascii")


def make_envelope(
    private_key: Ed25519PrivateKey,
    link: str,
    seq: int,
    prev: str,
    sent_at: datetime,
    record: Mapping[str, Any],
) -> JSONObject:
    """Build and sign envelope ``seq`` on ``link`` carrying a copy of ``record``.

    ``prev`` is the hash of envelope ``seq - 1`` (:data:`GENESIS_HASH` for seq 1). The result passes
    :func:`check_envelope_shape` and :func:`verify_envelope`; a bad argument raises ``ProtocolError``.
    """
    env: JSONObject = {
        "v": ENVELOPE_VERSION,
        "link": link,
        "seq": seq,
        "prev": prev,
        "sent_at": format_time(sent_at),
        "key": fingerprint(private_key.public_key()),
        # A copy made through canonical JSON: plain JSON types only, detached from the caller's object.
        "record": json.loads(canonical_json(record)) if isinstance(record, Mapping) else record,
        "hash": GENESIS_HASH,  # placeholders so the shape check can run before hashing
        "sig": base64.b64encode(bytes(_SIGNATURE_BYTES)).decode("ascii"),
    }
    check_envelope_shape(env)
    digest = envelope_hash(env)
    env["hash"] = digest
    env["sig"] = base64.b64encode(private_key.sign(_envelope_signing_input(digest))).decode("ascii")
    return env


def canonical_record(
    record: Mapping[str, Any], content_json: bytes | None = None
) -> tuple[bytes, bytes | None]:
    """The canonical bytes of a record and of its ``content`` member (None when it has none).

    The content is nearly all of a record's bytes, so it is canonicalised once — or not at all when the
    caller passes ``content_json``, its canonical bytes — and spliced in front of the other members, where
    RFC 8785's order puts it whenever every other key sorts after ``"content"`` (always, for the records
    sarhad writes). Any other record is canonicalised whole. Either way the bytes are ``canonical_json``'s.
    """
    if "content" not in record:
        return canonical_json(dict(record)), None
    content = canonical_json(record["content"]) if content_json is None else content_json
    rest = {key: value for key, value in record.items() if key != "content"}
    if all(type(key) is str and key.isascii() and key > "content" for key in rest):
        tail = canonical_json(rest)  # b"{}" or b'{"content_hash":...}'
        return b'{"content":' + content + (b"}" if len(tail) == 2 else b"," + tail[1:]), content
    return canonical_json(dict(record)), content


def _envelope_json(
    link: str,
    seq: int,
    prev: str,
    sent_at: str,
    key: str,
    record_json: bytes,
    digest: str | None = None,
    sig: str | None = None,
) -> bytes:
    """The canonical bytes of an envelope from its members: without ``hash`` and ``sig`` (what is hashed)
    unless they are given. ``link``, hex digits, base64 and an RFC 3339 time never need escaping (the caller
    has checked their formats), so quoting them is their canonical form; ``record_json`` is the record's
    canonical bytes. The members are written in RFC 8785's order (their names are ASCII: plain sorting):
    ``hash, key, link, prev, record, sent_at, seq, sig, v``."""
    return b"".join(
        (
            b'{"hash":"' + digest.encode("ascii") + b'","key":"' if digest is not None else b'{"key":"',
            key.encode("ascii"),
            b'","link":"',
            link.encode("ascii"),
            b'","prev":"',
            prev.encode("ascii"),
            b'","record":',
            record_json,
            b',"sent_at":"',
            sent_at.encode("ascii"),
            b'","seq":',
            str(seq).encode("ascii") if seq <= _MAX_SAFE_INTEGER else canonical_json(seq),
            b',"sig":"' + sig.encode("ascii") + b'","v":' if sig is not None else b',"v":',
            _VERSION_JSON,
            b"}",
        )
    )


@functools.lru_cache(maxsize=16)
def _sodium_signer(private_key: Ed25519PrivateKey) -> SigningKey:
    # libsodium signs in about 60 % of OpenSSL's time here; Ed25519 signatures are deterministic (RFC 8032),
    # so both give the same bytes.
    return SigningKey(private_key.private_bytes_raw())


def seal_envelope(
    private_key: Ed25519PrivateKey,
    key_fingerprint: str,
    link: str,
    seq: int,
    prev: str,
    sent_at: datetime,
    record: Mapping[str, Any],
    content_json: bytes | None = None,
) -> tuple[str, bytes]:
    """The sender's fast path: the hash and canonical bytes of the envelope :func:`make_envelope` builds.

    The same bytes (Ed25519 signatures are deterministic), but the record is canonicalised once and the
    envelope assembled from its members' bytes instead of being rebuilt and canonicalised three times.
    ``key_fingerprint`` must be the fingerprint of ``private_key``'s public key; ``content_json``, if given,
    the canonical bytes of ``record["content"]`` (see :func:`canonical_record`).
    """
    if not is_hex64(prev) or not _is_int(seq) or seq < 1:
        raise _malformed("seal_envelope needs seq >= 1 and a 64-hex prev", seq)
    parse_link(link)
    if not is_hex64(key_fingerprint):
        raise _malformed("seal_envelope needs the key's 64-hex fingerprint", seq)
    record_json, _ = canonical_record(record, content_json)
    sent = format_time(sent_at)
    digest = sha256_hex(_envelope_json(link, seq, prev, sent, key_fingerprint, record_json))
    signed = _sodium_signer(private_key).sign(_envelope_signing_input(digest)).signature
    sig = base64.b64encode(signed).decode("ascii")
    return digest, _envelope_json(link, seq, prev, sent, key_fingerprint, record_json, digest, sig)


def check_envelope_shape(obj: object) -> JSONObject:
    """Check an envelope's fields, types and formats (not its hash or signature) and return it typed.

    Exactly the fields ``v, link, seq, prev, sent_at, key, record, hash, sig``; ``v == 1``; ``link`` is
    ``XX>YY``; ``seq`` an integer >= 1 (not a boolean); ``prev``, ``key`` and ``hash`` 64 lowercase hex
    digits; ``sent_at`` RFC 3339 UTC; ``record`` an object; ``sig`` canonical base64 of 64 bytes.
    Raises ``ProtocolError("malformed")`` naming the first offending field.
    """
    if not isinstance(obj, dict):
        raise _malformed("envelope must be a JSON object")
    seq_hint = _seq_hint(obj)
    _check_fields(obj, ENVELOPE_FIELDS, "envelope", seq_hint)
    if not _is_int(obj["v"]) or obj["v"] != ENVELOPE_VERSION:
        raise _malformed(f"envelope field 'v' must be {ENVELOPE_VERSION}", seq_hint)
    try:
        parse_link(obj["link"])
    except ProtocolError as exc:
        raise _malformed(f"envelope field 'link': {exc.message}", seq_hint) from None
    seq = obj["seq"]
    if not _is_int(seq) or seq < 1:
        raise _malformed("envelope field 'seq' must be an integer >= 1", seq_hint)
    for name in ("prev", "key", "hash"):
        if not is_hex64(obj[name]):
            raise _malformed(f"envelope field {name!r} must be 64 lowercase hex digits", seq)
    try:
        parse_time(obj["sent_at"])
    except ProtocolError as exc:
        raise _malformed(f"envelope field 'sent_at': {exc.message}", seq) from None
    if not isinstance(obj["record"], dict):
        raise _malformed("envelope field 'record' must be a JSON object", seq)
    try:
        _b64decode_strict(obj["sig"], _SIGNATURE_BYTES, "signature")
    except ProtocolError as exc:
        raise _malformed(f"envelope field 'sig': {exc.message}", seq) from None
    return obj


@functools.lru_cache(maxsize=256)
def _sodium_key(raw: bytes) -> VerifyKey:
    return VerifyKey(raw)


def _signature_verifies(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    """Ed25519 (RFC 8032) check of an envelope signature, with libsodium.

    libsodium verifies about 1.8 times as fast as OpenSSL on this machine and releases the GIL, so a batch
    can be verified on every CPU. It is also the stricter of the two (it refuses small-order keys and
    non-canonical encodings), so whatever it accepts, any RFC 8032 verifier accepts too.
    """
    try:
        _sodium_key(_raw_public(key)).verify(message, signature)
    except BadSignatureError:
        return False
    return True


def verify_envelope(env: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> bytes:
    """Verify an envelope's hash and signature; return its canonical bytes (what a receiver stores).

    ``keys`` maps fingerprint → public key and must hold only keys allowed to sign on this envelope's link
    (the sender's pinned keys): the key is looked up by ``env["key"]``. Raises ``ProtocolError`` with code
    ``malformed``, ``bad_hash`` (content does not match ``hash``), ``unknown_key`` or ``bad_signature``.
    """
    return _verify_shaped(check_envelope_shape(env), keys)[0]


def _verify_shaped(
    env: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]
) -> tuple[bytes, bytes | None]:
    """:func:`verify_envelope` of an envelope that passed :func:`check_envelope_shape`; also returns the
    canonical bytes of its record's ``content`` (None if the record has none)."""
    seq: int = env["seq"]
    record_json, content_json = canonical_record(env["record"])
    members = (env["link"], seq, env["prev"], env["sent_at"], env["key"], record_json)
    if sha256_hex(_envelope_json(*members)) != env["hash"]:
        raise ProtocolError("bad_hash", "envelope content does not match its 'hash'", seq)
    key = keys.get(env["key"])
    if key is None:
        raise ProtocolError("unknown_key", f"envelope signed by unknown key {env['key']}", seq)
    sig = base64.b64decode(env["sig"])  # canonical base64 of 64 bytes: the shape check made sure
    if not _signature_verifies(key, sig, _envelope_signing_input(env["hash"])):
        raise ProtocolError("bad_signature", "envelope signature does not verify", seq)
    return _envelope_json(*members, env["hash"], env["sig"]), content_json


KeyWindow = tuple[str, str, int, int | None]  # fingerprint, public key (base64), first seq, last seq or None


class Checked(NamedTuple):
    """One envelope's verdict from :func:`verify_envelopes`: plain data, so it crosses process boundaries."""

    ok: bool
    text: str  # the canonical JSON to store, or the error code
    message: str = ""  # the refusal's message
    content_hash: str = ""  # SHA-256 of the record's canonical content ("" if none)
    content_json: str = ""  # the record's canonical content ("" if none)


def verify_envelopes(envelopes: Sequence[Mapping[str, Any]], windows: Sequence[KeyWindow]) -> list[Checked]:
    """:func:`verify_envelope` for each envelope, with the keys whose window of seqs holds its seq.

    The envelopes must have passed :func:`check_envelope_shape` (a receiver checks the whole batch's shape
    first). Plain data in and out (nothing but strings, numbers and tuples), so a receiver can run it in
    another process: the checks hold the GIL for most of their time, and a separate process uses another CPU.
    """
    keys = [(fp, public_key_from_b64(b64), first, last) for fp, b64, first, last in windows]
    results: list[Checked] = []
    for env in envelopes:
        seq = env["seq"]
        valid = {fp: key for fp, key, first, last in keys if first <= seq and (last is None or last >= seq)}
        try:
            text, content = _verify_shaped(env, valid)
            if content is None:
                results.append(Checked(True, text.decode()))
            else:
                results.append(Checked(True, text.decode(), "", sha256_hex(content), content.decode()))
        except ProtocolError as exc:
            results.append(Checked(False, exc.code, exc.message))
    return results


def verify_chain_step(env: Mapping[str, Any], expected_link: str, last_seq: int, last_hash: str) -> None:
    """Check that ``env`` is the next envelope on ``expected_link`` after ``(last_seq, last_hash)``.

    Raises ``bad_link`` (other link), ``seq_gap`` (``seq != last_seq + 1``; the message and ``seq`` name the
    expected seq) or ``bad_prev`` (``prev != last_hash``). Hash and signature are checked by
    :func:`verify_envelope`.
    """
    link = env.get("link")
    seq = env.get("seq")
    if link != expected_link:
        raise ProtocolError(
            "bad_link", f"envelope is for link {link!r}, expected {expected_link!r}", _seq_hint(env)
        )
    expected = last_seq + 1
    if not _is_int(seq) or seq != expected:
        raise ProtocolError("seq_gap", f"envelope has seq {seq!r}, expected {expected}", expected)
    if env.get("prev") != last_hash:
        raise ProtocolError(
            "bad_prev", f"envelope {seq} does not chain to the hash of envelope {last_seq}", seq
        )


def check_same_envelope(held: Mapping[str, Any], incoming: Mapping[str, Any]) -> None:
    """Compare an incoming envelope with the one already held for the same ``(link, seq)``.

    Returns quietly if they are the same envelope (a harmless resend: same hash). Raises
    ``ProtocolError("equivocation")`` if they differ: two different envelopes for one place in the log are
    proof of a fault or a stolen key, and both must be kept as evidence.
    """
    if held.get("link") != incoming.get("link") or held.get("seq") != incoming.get("seq"):
        raise ProtocolError(
            "bad_link", "envelopes compared for equivocation are not for the same (link, seq)"
        )
    if held.get("hash") != incoming.get("hash"):
        raise ProtocolError(
            "equivocation",
            f"two different envelopes for {held.get('link')} seq {held.get('seq')}: "
            f"held {held.get('hash')}, received {incoming.get('hash')}",
            _seq_hint(held),
        )


@dataclass(frozen=True)
class LinkState:
    """How far a link's log has got: the last seq and its hash (0 and the genesis hash when empty)."""

    link: str
    seq: int
    hash: str

    @classmethod
    def genesis(cls, link: str) -> LinkState:
        """The state of a link before envelope 1."""
        parse_link(link)
        return cls(link=link, seq=0, hash=GENESIS_HASH)

    @property
    def is_genesis(self) -> bool:
        """True before the first envelope."""
        return self.seq == 0

    def advance(self, env: Mapping[str, Any]) -> LinkState:
        """Check that ``env`` is the next envelope (:func:`verify_chain_step`) and return the new state."""
        verify_chain_step(env, self.link, self.seq, self.hash)
        return LinkState(link=self.link, seq=int(env["seq"]), hash=str(env["hash"]))


# ----------------------------------------------------------------------------------------------------
# Key rotation records
# ----------------------------------------------------------------------------------------------------


def key_rotation_record(new_key: Ed25519PublicKey) -> JSONObject:
    """The record fields announcing that the next envelope on the link is signed by ``new_key``.

    The record layer may add its own fields (``origin``, ``id``, ``version``, ``op`` …) around these.
    """
    return {
        "kind": KIND_KEY_ROTATION,
        "new_key": public_key_b64(new_key),
        "new_fingerprint": fingerprint(new_key),
    }


def parse_key_rotation(record: Mapping[str, Any]) -> Ed25519PublicKey | None:
    """The announced key if ``record`` is a key rotation, else ``None``.

    ``ProtocolError("bad_rotation")`` if it is one but ``new_key`` is not a valid key or ``new_fingerprint``
    is not its fingerprint.
    """
    if record.get("kind") != KIND_KEY_ROTATION:
        return None
    try:
        new_key = record.get("new_key")
        if not isinstance(new_key, str):
            raise ProtocolError("malformed", "key rotation 'new_key' must be a string")
        key = public_key_from_b64(new_key)
    except ProtocolError as exc:
        raise ProtocolError("bad_rotation", f"key rotation 'new_key': {exc.message}") from None
    if record.get("new_fingerprint") != fingerprint(key):
        raise ProtocolError(
            "bad_rotation", "key rotation 'new_fingerprint' is not the fingerprint of 'new_key'"
        )
    return key


# ----------------------------------------------------------------------------------------------------
# Receipts
# ----------------------------------------------------------------------------------------------------


def receipt_digest(receipt: Mapping[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of the receipt without ``sig`` (what the signature covers)."""
    return sha256_hex(canonical_json({k: receipt[k] for k in RECEIPT_FIELDS if k != "sig"}))


def _receipt_signing_input(digest: str) -> bytes:
    return (RECEIPT_SIGNING_PREFIX + digest).encode("ascii")


def make_receipt(
    private_key: Ed25519PrivateKey,
    link: str,
    seq: int,
    hash: str,  # the field's name in the format
    received_at: datetime,
    by: str,
) -> JSONObject:
    """Sign the receiver's statement "I hold everything on ``link`` up to ``seq``, whose hash is ``hash``".

    ``seq == 0`` (nothing held) requires the genesis hash. ``by`` is the link's receiving party.
    """
    receipt: JSONObject = {
        "v": RECEIPT_VERSION,
        "link": link,
        "seq": seq,
        "hash": hash,
        "received_at": format_time(received_at),
        "by": by,
        "key": fingerprint(private_key.public_key()),
        "sig": base64.b64encode(bytes(_SIGNATURE_BYTES)).decode("ascii"),
    }
    check_receipt_shape(receipt)
    receipt["sig"] = base64.b64encode(
        private_key.sign(_receipt_signing_input(receipt_digest(receipt)))
    ).decode("ascii")
    return receipt


def check_receipt_shape(obj: object) -> JSONObject:
    """Check a receipt's fields, types and formats (not its signature) and return it typed.

    Exactly ``v, link, seq, hash, received_at, by, key, sig``; ``v == 1``; ``seq`` an integer >= 0; ``hash``
    the genesis hash when ``seq == 0``; ``by`` must be the link's receiver (``bad_link`` otherwise).
    """
    if not isinstance(obj, dict):
        raise _malformed("receipt must be a JSON object")
    seq_hint = _seq_hint(obj)
    _check_fields(obj, RECEIPT_FIELDS, "receipt", seq_hint)
    if not _is_int(obj["v"]) or obj["v"] != RECEIPT_VERSION:
        raise _malformed(f"receipt field 'v' must be {RECEIPT_VERSION}", seq_hint)
    try:
        _, receiver = parse_link(obj["link"])
    except ProtocolError as exc:
        raise _malformed(f"receipt field 'link': {exc.message}", seq_hint) from None
    seq = obj["seq"]
    if not _is_int(seq) or seq < 0:
        raise _malformed("receipt field 'seq' must be an integer >= 0", seq_hint)
    for name in ("hash", "key"):
        if not is_hex64(obj[name]):
            raise _malformed(f"receipt field {name!r} must be 64 lowercase hex digits", seq)
    if seq == 0 and obj["hash"] != GENESIS_HASH:
        raise _malformed("a receipt for seq 0 must carry the genesis hash (64 zeros)", seq)
    try:
        parse_time(obj["received_at"])
    except ProtocolError as exc:
        raise _malformed(f"receipt field 'received_at': {exc.message}", seq) from None
    if not _is_party(obj["by"]):
        raise _malformed("receipt field 'by' must be an ISO 3166-1 alpha-2 party code", seq)
    if obj["by"] != receiver:
        raise ProtocolError(
            "bad_link", f"receipt by {obj['by']} for link {obj['link']} it does not receive", seq
        )
    try:
        _b64decode_strict(obj["sig"], _SIGNATURE_BYTES, "signature")
    except ProtocolError as exc:
        raise _malformed(f"receipt field 'sig': {exc.message}", seq) from None
    return obj


def verify_receipt(receipt: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> None:
    """Verify a receipt's signature.

    ``keys`` maps fingerprint → public key and must hold only the keys of the receiving party (``by``).
    Raises ``malformed``, ``bad_link``, ``unknown_key`` or ``bad_signature``. Whether ``(seq, hash)``
    matches the sender's log is the caller's comparison.
    """
    checked = check_receipt_shape(receipt)
    seq: int = checked["seq"]
    key = keys.get(checked["key"])
    if key is None:
        raise ProtocolError("unknown_key", f"receipt signed by unknown key {checked['key']}", seq)
    sig = _b64decode_strict(checked["sig"], _SIGNATURE_BYTES, "signature")
    try:
        key.verify(sig, _receipt_signing_input(receipt_digest(checked)))
    except InvalidSignature:
        raise ProtocolError("bad_signature", "receipt signature does not verify", seq) from None


# ----------------------------------------------------------------------------------------------------
# Signed node-to-node HTTP requests
# ----------------------------------------------------------------------------------------------------


def request_signing_input(party: str, method: str, path_with_query: str, time: str, body: bytes) -> bytes:
    """The exact bytes a request signature covers (see the protocol document)::

    sarhad-request-v1\\n{PARTY}\\n{METHOD}\\n{path_with_query}\\n{time}\\n{sha256hex(body)}
    """
    if not _is_party(party):
        raise _malformed(f"party {party!r} is not an ISO 3166-1 alpha-2 code")
    if _METHOD_RE.fullmatch(method) is None:
        raise _malformed(f"method {method!r} must be an upper-case HTTP method")
    if _PATH_RE.fullmatch(path_with_query) is None:
        raise _malformed("request target must be printable ASCII starting with '/'")
    lines = (REQUEST_SIGNING_PREFIX, party, method, path_with_query, time, sha256_hex(body))
    return "\n".join(lines).encode("ascii")


def sign_request(
    private_key: Ed25519PrivateKey,
    party: str,
    method: str,
    path_with_query: str,
    body_bytes: bytes,
    timestamp: datetime,
) -> dict[str, str]:
    """Headers that authenticate one HTTP request from ``party``'s node to a peer node.

    ``path_with_query`` is the request target exactly as sent (``/exchange/v1/links/PK>IR/envelopes?after=5``
    percent-encoded as on the wire); ``body_bytes`` the exact body (``b""`` for GET).
    """
    time = format_time(timestamp)
    signing_input = request_signing_input(party, method.upper(), path_with_query, time, body_bytes)
    return {
        HEADER_PARTY: party,
        HEADER_TIME: time,
        HEADER_KEY: fingerprint(private_key.public_key()),
        HEADER_SIGNATURE: base64.b64encode(private_key.sign(signing_input)).decode("ascii"),
    }


def verify_request(
    headers: Mapping[str, str],
    method: str,
    path_with_query: str,
    body: bytes,
    public_keys: Mapping[str, Ed25519PublicKey],
    now: datetime,
    max_skew: timedelta,
    *,
    key_owners: Mapping[str, str] | None = None,
) -> str:
    """Authenticate a signed request and return the requesting party code.

    ``headers`` is looked up case-insensitively. ``public_keys`` maps fingerprint → key of every peer allowed
    to call. ``key_owners`` (fingerprint → party) binds each key to its party: pass it whenever
    ``public_keys`` holds keys of more than one party, otherwise a peer could sign a request claiming to be
    another peer. Raises ``malformed`` (missing/bad header), ``stale_request`` (time further than
    ``max_skew`` from ``now``), ``unknown_key``, ``wrong_key`` (key not owned by the claimed party) or
    ``bad_signature``. Replays inside the skew window are possible; the endpoints it guards are idempotent.
    """
    lowered = {str(k).lower(): v for k, v in headers.items()}

    def header(name: str) -> str:
        value = lowered.get(name.lower())
        if not isinstance(value, str) or not value:
            raise _malformed(f"request lacks header {name}")
        return value

    party = header(HEADER_PARTY)
    time = header(HEADER_TIME)
    fp = header(HEADER_KEY)
    sig_text = header(HEADER_SIGNATURE)
    if not _is_party(party):
        raise _malformed(f"header {HEADER_PARTY} must be an ISO 3166-1 alpha-2 code")
    try:
        sent = parse_time(time)
    except ProtocolError as exc:
        raise _malformed(f"header {HEADER_TIME}: {exc.message}") from None
    if not is_fingerprint(fp):
        raise _malformed(f"header {HEADER_KEY} must be a key fingerprint (64 lowercase hex digits)")
    sig = _b64decode_strict(sig_text, _SIGNATURE_BYTES, f"header {HEADER_SIGNATURE}")
    if now.tzinfo is None:
        raise ValueError("verify_request needs a timezone-aware 'now'")
    if abs(now - sent) > max_skew:
        raise ProtocolError(
            "stale_request", f"request time {time} is more than {max_skew} away from {format_time(now)}"
        )
    key = public_keys.get(fp)
    if key is None:
        raise ProtocolError("unknown_key", f"request signed by unknown key {fp}")
    if key_owners is not None and key_owners.get(fp) != party:
        raise ProtocolError("wrong_key", f"key {short_fingerprint(fp)} does not belong to party {party}")
    signing_input = request_signing_input(party, method.upper(), path_with_query, time, body)
    try:
        key.verify(sig, signing_input)
    except InvalidSignature:
        raise ProtocolError("bad_signature", "request signature does not verify") from None
    return party
