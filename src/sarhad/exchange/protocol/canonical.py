"""Canonical JSON (RFC 8785) and hashes, times, links and the field checks every message shares."""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import orjson
import rfc8785

from sarhad.exchange.protocol.errors import malformed

JSONObject = dict[str, Any]
"""A decoded JSON object (envelope, receipt, record)."""

GENESIS_HASH: Final = "0" * 64
"""The ``prev`` of envelope 1 on every link, and the ``hash`` of a receipt for seq 0."""

_PARTY_RE: Final = re.compile(r"[A-Z]{2}")
# A link, or one precedence lane's chain of it (docs/exchange-protocol.md, "Precedence lanes").
_LINK_RE: Final = re.compile(r"([A-Z]{2})>([A-Z]{2})(?::(?:flash|immediate|priority|bulk))?")
_HEX64_RE: Final = re.compile(r"[0-9a-f]{64}")
_TIME_RE: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?Z"
)


def is_hex64(value: object) -> bool:
    """True if ``value`` is a string of exactly 64 lowercase hex digits (a hash or a fingerprint)."""
    return isinstance(value, str) and _HEX64_RE.fullmatch(value) is not None


is_fingerprint = is_hex64


MAX_SAFE_INTEGER: Final = 2**53 - 1
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
            if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:  # type: ignore[operator]
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
        raise malformed(f"value cannot be canonicalised (RFC 8785): {exc}") from exc
    except RecursionError as exc:
        raise malformed("value nests too deeply to canonicalise") from exc


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
        raise malformed("time must be a string")
    return _parse_time_text(str(text))


@functools.lru_cache(maxsize=1024)
def _parse_time_text(text: str) -> datetime:
    # Remembered: the envelopes of one release share their sending time, and each is parsed twice (shape
    # check, inbox row). A datetime is immutable; a refusal is raised again each time (never cached).
    m = _TIME_RE.fullmatch(text)
    if m is None:
        raise malformed(f"time {text!r} is not RFC 3339 UTC (YYYY-MM-DDTHH:MM:SS[.ffffff]Z)")
    year, month, day, hour, minute, second, fraction = m.groups()
    micro = int((fraction or "0").ljust(6, "0"))
    try:
        return datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=UTC
        )
    except ValueError as exc:
        raise malformed(f"time {text!r} is not a valid date and time: {exc}") from exc


def parse_link(link: object) -> tuple[str, str]:
    """``"PK>IR"`` → ``("PK", "IR")``; ``ProtocolError("malformed")`` unless two different alpha-2 codes."""
    if not isinstance(link, str):
        raise malformed("link must be a string like 'PK>IR'")
    m = _LINK_RE.fullmatch(link)
    if m is None:
        raise malformed(f"link {link!r} is not 'XX>YY' with ISO 3166-1 alpha-2 party codes")
    sender, receiver = m.group(1), m.group(2)
    if sender == receiver:
        raise malformed(f"link {link!r} goes from a party to itself")
    return sender, receiver


def is_party(value: object) -> bool:
    return isinstance(value, str) and _PARTY_RE.fullmatch(value) is not None


def is_int(value: object) -> bool:
    # bool is a subclass of int in Python; JSON true is not a number.
    return isinstance(value, int) and not isinstance(value, bool)


def check_fields(obj: Mapping[str, Any], fields: tuple[str, ...], what: str, seq: int | None) -> None:
    missing = [f for f in fields if f not in obj]
    if missing:
        raise malformed(f"{what} lacks field {missing[0]!r}", seq)
    extra = sorted(str(k) for k in obj if k not in fields)
    if extra:
        raise malformed(f"{what} has unknown field {extra[0]!r}", seq)


def seq_hint(obj: Mapping[str, Any]) -> int | None:
    seq = obj.get("seq")
    return seq if is_int(seq) else None
