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

The parts, one module per concern: ``errors`` (ProtocolError and its codes), ``canonical`` (canonical JSON,
hashes, times, links), ``keys`` (Ed25519 keys and fingerprints), ``envelopes`` (envelopes, the chain of a link,
key rotation records), ``receipts`` and ``requests`` (signed node-to-node HTTP requests). This package lists
the public API; import from it, not from the parts.
"""

from __future__ import annotations

from sarhad.exchange.protocol.canonical import (
    GENESIS_HASH,
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    JSONObject,
    canonical_json,
    canonical_json_lenient,
    check_json_domain,
    deep_json_allowed,
    format_time,
    is_fingerprint,
    is_hex64,
    json_copy,
    parse_json_strict,
    parse_link,
    parse_time,
    sha256_hex,
)
from sarhad.exchange.protocol.envelopes import (
    ENVELOPE_FIELDS,
    ENVELOPE_HASHED_FIELDS,
    ENVELOPE_SIGNING_PREFIX,
    ENVELOPE_VERSION,
    KIND_KEY_ROTATION,
    ORIGIN_SIG_FIELDS,
    ORIGIN_SIGNING_PREFIX,
    Checked,
    KeyWindow,
    LinkState,
    canonical_record,
    check_envelope_shape,
    check_same_envelope,
    envelope_hash,
    key_rotation_record,
    make_envelope,
    origin_digest,
    origin_statement,
    parse_key_rotation,
    seal_envelope,
    sign_origin,
    verify_chain_step,
    verify_envelope,
    verify_envelopes,
    verify_origin_sig,
)
from sarhad.exchange.protocol.errors import (
    ERROR_CODES,
    ProtocolError,
)
from sarhad.exchange.protocol.keys import (
    fingerprint,
    generate_private_key,
    private_key_from_pem,
    private_key_to_pem,
    public_key_b64,
    public_key_from_b64,
    short_fingerprint,
)
from sarhad.exchange.protocol.receipts import (
    RECEIPT_FIELDS,
    RECEIPT_SIGNING_PREFIX,
    RECEIPT_VERSION,
    check_receipt_shape,
    make_receipt,
    receipt_digest,
    verify_receipt,
)
from sarhad.exchange.protocol.requests import (
    HEADER_KEY,
    HEADER_PARTY,
    HEADER_SIGNATURE,
    HEADER_TIME,
    REQUEST_SIGNING_PREFIX,
    request_signing_input,
    sign_request,
    verify_request,
)

__all__ = [
    "ENVELOPE_FIELDS",
    "ENVELOPE_HASHED_FIELDS",
    "ENVELOPE_SIGNING_PREFIX",
    "ENVELOPE_VERSION",
    "ERROR_CODES",
    "GENESIS_HASH",
    "HEADER_KEY",
    "HEADER_PARTY",
    "HEADER_SIGNATURE",
    "HEADER_TIME",
    "KIND_KEY_ROTATION",
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "ORIGIN_SIGNING_PREFIX",
    "ORIGIN_SIG_FIELDS",
    "RECEIPT_FIELDS",
    "RECEIPT_SIGNING_PREFIX",
    "RECEIPT_VERSION",
    "REQUEST_SIGNING_PREFIX",
    "Checked",
    "JSONObject",
    "KeyWindow",
    "LinkState",
    "ProtocolError",
    "canonical_json",
    "canonical_json_lenient",
    "canonical_record",
    "check_envelope_shape",
    "check_json_domain",
    "check_receipt_shape",
    "check_same_envelope",
    "deep_json_allowed",
    "envelope_hash",
    "fingerprint",
    "format_time",
    "generate_private_key",
    "is_fingerprint",
    "is_hex64",
    "json_copy",
    "key_rotation_record",
    "make_envelope",
    "make_receipt",
    "origin_digest",
    "origin_statement",
    "parse_json_strict",
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
    "sign_origin",
    "sign_request",
    "verify_chain_step",
    "verify_envelope",
    "verify_envelopes",
    "verify_origin_sig",
    "verify_receipt",
    "verify_request",
]
