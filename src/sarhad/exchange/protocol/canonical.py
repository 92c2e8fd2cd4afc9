"""Canonical JSON (RFC 8785) and hashes, times, links and the field checks every message shares."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import re
import sys
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import orjson
import rfc8785

from sarhad.exchange.protocol.errors import ProtocolError, malformed

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
    anything else (floats, keys outside the Basic Multilingual Plane, deep nesting) goes through
    :func:`_canonical_slow`, which writes every scalar with ``rfc8785`` and never recurses, so no nesting
    depth can exhaust the interpreter's stack. A property test checks the paths agree.
    """
    if _fast_path_applies(obj):
        try:
            return orjson.dumps(obj, option=_FAST_JSON_OPTIONS)
        except orjson.JSONEncodeError:
            pass  # a lone surrogate: let rfc8785 decide (it refuses or escapes as the RFC says)
    return _canonical_slow(obj, any_integer=False)


def canonical_json_lenient(obj: object) -> bytes:
    """:func:`canonical_json`, except that an integer outside ±(2^53 − 1) is written as its decimal digits.

    Only for sealing and checking a ledger file's digest, which must be computable over whatever a node
    holds, including an envelope stored before this node enforced the number domain (the verifier reports
    such an envelope itself as ``unsafe_number``). Never used for an envelope, record or receipt hash.
    """
    if _fast_path_applies(obj):
        try:
            return orjson.dumps(obj, option=_FAST_JSON_OPTIONS)
        except orjson.JSONEncodeError:
            pass
    return _canonical_slow(obj, any_integer=True)


def _utf16_key(name: str) -> bytes:
    return name.encode("utf-16-be", "surrogatepass")


def _scalar_json(value: object, any_integer: bool) -> bytes:
    if any_integer and type(value) is int and not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return str(value).encode("ascii")
    try:
        return rfc8785.dumps(value)  # type: ignore[arg-type]  # a scalar; other types are refused below
    except rfc8785.CanonicalizationError as exc:
        raise malformed(f"value cannot be canonicalised (RFC 8785): {exc}") from exc


def _canonical_slow(obj: object, *, any_integer: bool) -> bytes:
    """RFC 8785 without recursion: containers are unrolled onto an explicit stack of byte pieces."""
    out: list[bytes] = []
    # Work items: a value to write, or literal bytes (brackets, commas, "name":).
    stack: list[object] = [obj]
    while stack:
        item = stack.pop()
        if type(item) is bytes:
            out.append(item)
        elif isinstance(item, Mapping):
            try:
                members = sorted(item.items(), key=lambda kv: _utf16_key(kv[0]))
            except (AttributeError, TypeError) as exc:
                raise malformed("object member names must be strings") from exc
            pieces: list[object] = [b"{"]
            for index, (name, value) in enumerate(members):
                pieces.append((b"," if index else b"") + _scalar_json(name, False) + b":")
                pieces.append(value)
            pieces.append(b"}")
            stack.extend(reversed(pieces))
        elif isinstance(item, list | tuple):
            pieces = [b"["]
            for index, value in enumerate(item):
                if index:
                    pieces.append(b",")
                pieces.append(value)
            pieces.append(b"]")
            stack.extend(reversed(pieces))
        else:
            out.append(_scalar_json(item, any_integer))
    return b"".join(out)


def json_copy(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars), made without recursion, so no depth breaks it."""
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]  # (source, parent container, key in parent)
    while stack:
        source, parent, key = stack.pop()
        if isinstance(source, Mapping):
            copy: Any = dict.fromkeys(source)  # the members in their order, filled in below
            stack.extend((child, copy, name) for name, child in source.items())
        elif isinstance(source, list | tuple):
            copy = [None] * len(source)
            stack.extend((child, copy, index) for index, child in enumerate(source))
        else:
            copy = source
        parent[key] = copy
    return root[0]


LEGACY_DEPTH: Final = 1100
"""Deeper than anything a node stored before it enforced :data:`MAX_DEPTH` (its parser stopped at 1024)."""


@contextlib.contextmanager
def deep_json_allowed(levels: int = LEGACY_DEPTH) -> Iterator[None]:
    """Let the standard library's JSON reader and indenting writer (recursive) handle ``levels`` of nesting.

    For the ledger file only, whose envelopes may have been stored before the nesting limit was enforced;
    everything else the exchange receives is held to :data:`MAX_DEPTH` and never needs it.
    """
    before = sys.getrecursionlimit()
    needed = 3 * levels + 200
    if needed > before:
        sys.setrecursionlimit(needed)
    try:
        yield
    finally:
        if needed > before:
            sys.setrecursionlimit(before)


MAX_DEPTH: Final = 32
"""How deeply an envelope may nest objects and arrays, the envelope itself being level 1 (its record 2, the
record's content 3). A request or answer body (``{"envelopes": [...]}``, ``{"receipt": {...}}``) is allowed
two more levels for its wrapping."""


def check_json_domain(
    value: object, max_depth: int = MAX_DEPTH, what: str = "envelope", seq: int | None = None
) -> None:
    """Check the exchange's JSON domain over a parsed value, without recursion.

    Objects and arrays nest at most ``max_depth`` levels (``value`` itself is level 1 if it is a container):
    ``ProtocolError("too_deep")``. Every number is finite and its magnitude at most 2^53 − 1 (I-JSON's safe
    range), whether written as an integer or with a fraction or exponent: ``ProtocolError("unsafe_number")``.
    Only JSON types (dict with string keys, list, str, int, float, bool, None) are allowed (``malformed``).
    """
    kind = type(value)
    if kind is not dict and kind is not list:
        _check_scalar(value, what, seq)
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:  # one pass; strings, booleans and nulls (nearly every value) cost one type test each
        item, depth = pop()
        if depth > max_depth:
            raise ProtocolError(
                "too_deep", f"{what} nests objects and arrays more than {max_depth} levels deep", seq
            )
        if type(item) is dict:
            if not all(type(key) is str for key in item):
                raise malformed(f"{what} has an object member name that is not a string", seq)
            children = item.values()
        else:
            children = item
        for child in children:
            ckind = type(child)
            if ckind is str or child is None or ckind is bool:
                continue
            if ckind is dict or ckind is list:
                push((child, depth + 1))
            else:
                _check_scalar(child, what, seq)


def _check_scalar(item: object, what: str, seq: int | None) -> None:
    kind = type(item)
    if kind is int:
        if not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:  # type: ignore[operator]
            raise ProtocolError(
                "unsafe_number", f"{what} holds the integer {_short(item)}, outside ±(2^53 − 1)", seq
            )
    elif kind is float:
        if not math.isfinite(item) or not -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:  # type: ignore[arg-type,operator]
            raise ProtocolError(
                "unsafe_number", f"{what} holds the number {_short(item)}, outside ±(2^53 − 1)", seq
            )
    elif not (kind is str or kind is bool or item is None):
        raise malformed(f"{what} holds a value of type {kind.__name__}, which is not JSON", seq)


def _short(number: object) -> str:
    text = repr(number)
    return text if len(text) <= 24 else text[:20] + "…"


def _unique_members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for name, _ in pairs:
            if name in seen:
                raise ProtocolError("duplicate_member", f"object member name {name!r} appears twice")
            seen.add(name)
    return obj


def _strict_int(text: str) -> int:
    digits = text.lstrip("-")
    if len(digits) > 16:  # 2^53 has 16 digits; longer is outside the range (and Python limits int parsing)
        raise ProtocolError("unsafe_number", f"the integer {text[:20]}… is outside ±(2^53 − 1)")
    return int(text)


def _strict_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ProtocolError("unsafe_number", f"the number {text[:24]} is too large for binary64")
    return number


def _refuse_constant(name: str) -> Any:
    raise malformed(f"{name} is not a JSON number")


def parse_json_strict(data: bytes, max_depth: int = MAX_DEPTH + 2, what: str = "body") -> Any:
    """Parse JSON bytes strictly: UTF-8, RFC 8259, unique member names, the exchange's number domain and
    nesting limit (:func:`check_json_domain`). Raises ``ProtocolError`` with ``malformed``,
    ``duplicate_member``, ``unsafe_number`` or ``too_deep``; never ``RecursionError``.

    This is the slow, exact parser. A push body is parsed by orjson (fast, but it keeps the last of two
    members of one name) and only proven free of duplicates by comparing it with its canonical form; see
    ``sarhad.exchange.receive``.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise malformed(f"{what} is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_members,
            parse_int=_strict_int,
            parse_float=_strict_float,
            parse_constant=_refuse_constant,
        )
    except RecursionError:
        raise ProtocolError(
            "too_deep", f"{what} nests objects and arrays more than {max_depth} levels deep"
        ) from None
    except ProtocolError as exc:
        raise ProtocolError(exc.code, f"{what}: {exc.message}") from None
    except ValueError as exc:  # json.JSONDecodeError is a ValueError
        raise malformed(f"{what} is not valid JSON: {exc}") from None
    try:
        check_json_domain(value, max_depth, what)
    except ProtocolError as exc:
        raise ProtocolError(exc.code, exc.message) from None
    return value


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
