"""Receipts: the receiver's signed statement of how far it holds a link."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sarhad.exchange.protocol.canonical import (
    GENESIS_HASH,
    MAX_SAFE_INTEGER,
    JSONObject,
    canonical_json,
    check_fields,
    format_time,
    is_hex64,
    is_int,
    is_party,
    parse_link,
    parse_time,
    seq_hint,
    sha256_hex,
)
from sarhad.exchange.protocol.errors import ProtocolError, malformed
from sarhad.exchange.protocol.keys import SIGNATURE_BYTES, b64decode_strict, fingerprint

RECEIPT_VERSION: Final = 1
RECEIPT_SIGNING_PREFIX: Final = "sarhad-receipt-v1:"
RECEIPT_FIELDS: Final = ("v", "link", "seq", "hash", "received_at", "by", "key", "sig")


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
        "sig": base64.b64encode(bytes(SIGNATURE_BYTES)).decode("ascii"),
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
        raise malformed("receipt must be a JSON object")
    hint = seq_hint(obj)
    check_fields(obj, RECEIPT_FIELDS, "receipt", hint)
    if not is_int(obj["v"]) or obj["v"] != RECEIPT_VERSION:
        raise malformed(f"receipt field 'v' must be {RECEIPT_VERSION}", hint)
    try:
        _, receiver = parse_link(obj["link"])
    except ProtocolError as exc:
        raise malformed(f"receipt field 'link': {exc.message}", hint) from None
    seq = obj["seq"]
    if not is_int(seq) or seq < 0:
        raise malformed("receipt field 'seq' must be an integer >= 0", hint)
    if seq > MAX_SAFE_INTEGER:
        raise ProtocolError("unsafe_number", f"receipt field 'seq' is {seq}, beyond 2^53 - 1")
    for name in ("hash", "key"):
        if not is_hex64(obj[name]):
            raise malformed(f"receipt field {name!r} must be 64 lowercase hex digits", seq)
    if seq == 0 and obj["hash"] != GENESIS_HASH:
        raise malformed("a receipt for seq 0 must carry the genesis hash (64 zeros)", seq)
    try:
        parse_time(obj["received_at"])
    except ProtocolError as exc:
        raise malformed(f"receipt field 'received_at': {exc.message}", seq) from None
    if not is_party(obj["by"]):
        raise malformed("receipt field 'by' must be an ISO 3166-1 alpha-2 party code", seq)
    if obj["by"] != receiver:
        raise ProtocolError(
            "bad_link", f"receipt by {obj['by']} for link {obj['link']} it does not receive", seq
        )
    try:
        b64decode_strict(obj["sig"], SIGNATURE_BYTES, "signature")
    except ProtocolError as exc:
        raise malformed(f"receipt field 'sig': {exc.message}", seq) from None
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
    sig = b64decode_strict(checked["sig"], SIGNATURE_BYTES, "signature")
    try:
        key.verify(sig, _receipt_signing_input(receipt_digest(checked)))
    except InvalidSignature:
        raise ProtocolError("bad_signature", "receipt signature does not verify", seq) from None
