"""Ed25519 keys: generating, PEM files, base64 public keys and fingerprints."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sarhad.exchange.protocol.canonical import is_fingerprint, sha256_hex
from sarhad.exchange.protocol.errors import malformed

_PUBLIC_KEY_BYTES: Final = 32
SIGNATURE_BYTES: Final = 64
_B64_RE: Final = re.compile(r"[A-Za-z0-9+/]*={0,2}")


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
        raise malformed(f"not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise malformed(f"private key is {type(key).__name__}, not Ed25519")
    return key


def public_key_b64(key: Ed25519PublicKey) -> str:
    """Standard base64 (with padding) of the 32 raw public key bytes."""
    return base64.b64encode(raw_public(key)).decode("ascii")


def public_key_from_b64(text: str) -> Ed25519PublicKey:
    """Parse a public key from canonical standard base64 of 32 raw bytes; ``ProtocolError`` on bad input."""
    raw = b64decode_strict(text, _PUBLIC_KEY_BYTES, "public key")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:  # pragma: no cover - every 32-byte string is accepted by the backend today
        raise malformed(f"public key is not a valid Ed25519 key: {exc}") from exc


def fingerprint(key: Ed25519PublicKey) -> str:
    """Lowercase hex SHA-256 of the 32 raw public key bytes (64 characters)."""
    return sha256_hex(raw_public(key))


def short_fingerprint(fp: str) -> str:
    """The first 16 hex digits of a fingerprint in groups of four (``"3f2a-9c1e-…"``), for display."""
    if not is_fingerprint(fp):
        raise malformed("fingerprint must be 64 lowercase hex digits")
    return "-".join(fp[i : i + 4] for i in range(0, 16, 4))


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)


def b64decode_strict(text: object, length: int, what: str) -> bytes:
    """Decode canonical base64 only: one spelling per byte string, so a changed character is always a change.

    Python's decoder ignores the unused low bits of the last character; we re-encode and compare so that
    two different strings can never stand for the same key or signature.
    """
    if not isinstance(text, str) or _B64_RE.fullmatch(text) is None:
        raise malformed(f"{what} must be standard base64")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise malformed(f"{what} is not valid base64") from exc
    if len(raw) != length:
        raise malformed(f"{what} must encode {length} bytes, not {len(raw)}")
    if base64.b64encode(raw).decode("ascii") != text:
        raise malformed(f"{what} is not canonical base64")
    return raw
