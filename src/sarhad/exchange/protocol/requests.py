"""Signed node-to-node HTTP requests (pulls, receipts, hellos)."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sarhad.exchange.protocol.canonical import format_time, is_fingerprint, is_party, parse_time, sha256_hex
from sarhad.exchange.protocol.errors import ProtocolError, malformed
from sarhad.exchange.protocol.keys import SIGNATURE_BYTES, b64decode_strict, fingerprint, short_fingerprint

REQUEST_SIGNING_PREFIX: Final = "sarhad-request-v1"

HEADER_PARTY: Final = "X-Sarhad-Party"
HEADER_TIME: Final = "X-Sarhad-Time"
HEADER_KEY: Final = "X-Sarhad-Key"
HEADER_SIGNATURE: Final = "X-Sarhad-Signature"

_METHOD_RE: Final = re.compile(r"[A-Z]{1,16}")
# The request target is one line of printable ASCII starting with "/" (it is a line of the signing input).
_PATH_RE: Final = re.compile(r"/[\x21-\x7e]*")


def request_signing_input(party: str, method: str, path_with_query: str, time: str, body: bytes) -> bytes:
    """The exact bytes a request signature covers (see the protocol document)::

    sarhad-request-v1\\n{PARTY}\\n{METHOD}\\n{path_with_query}\\n{time}\\n{sha256hex(body)}
    """
    if not is_party(party):
        raise malformed(f"party {party!r} is not an ISO 3166-1 alpha-2 code")
    if _METHOD_RE.fullmatch(method) is None:
        raise malformed(f"method {method!r} must be an upper-case HTTP method")
    if _PATH_RE.fullmatch(path_with_query) is None:
        raise malformed("request target must be printable ASCII starting with '/'")
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
            raise malformed(f"request lacks header {name}")
        return value

    party = header(HEADER_PARTY)
    time = header(HEADER_TIME)
    fp = header(HEADER_KEY)
    sig_text = header(HEADER_SIGNATURE)
    if not is_party(party):
        raise malformed(f"header {HEADER_PARTY} must be an ISO 3166-1 alpha-2 code")
    try:
        sent = parse_time(time)
    except ProtocolError as exc:
        raise malformed(f"header {HEADER_TIME}: {exc.message}") from None
    if not is_fingerprint(fp):
        raise malformed(f"header {HEADER_KEY} must be a key fingerprint (64 lowercase hex digits)")
    sig = b64decode_strict(sig_text, SIGNATURE_BYTES, f"header {HEADER_SIGNATURE}")
    if now.tzinfo is None:
        raise ValueError("verify_request needs a timezone-aware 'now'")
    if abs(now - sent) > max_skew:
        raise ProtocolError(
            "stale_request", f"request time {time} is more than {max_skew} away from {format_time(now)}"
        )
    key = public_keys.get(fp)
    if key is None and key_owners is not None and fp in key_owners:
        raise ProtocolError(
            "wrong_key",
            f"key {short_fingerprint(fp)} of {key_owners[fp]} is retired; sign with the current key",
        )
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
