"""A second, minimal implementation of the wire format, written from ``docs/exchange-protocol.md`` alone.

Nothing here imports ``sarhad``: keys and signatures come from ``cryptography``, canonical JSON from
``rfc8785``, hashes from ``hashlib``. The conformance tests build envelopes, receipts and signed requests with
it (valid ones, and each kind of broken one) and drive a real node with them, so the node is held to the
document, not to its own code.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

GENESIS = "0" * 64  # §4: the prev of envelope 1
EMPTY_BODY_HASH = hashlib.sha256(b"").hexdigest()  # §8


def sha256hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def jcs(value: Any) -> bytes:
    """§2: RFC 8785 canonical JSON."""
    return rfc8785.dumps(value)


def now_text() -> str:
    """§2 time, no fraction."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Key:
    """§3: an Ed25519 key pair, its b64 public key and its fingerprint."""

    private: Ed25519PrivateKey

    @classmethod
    def from_seed(cls, seed: bytes) -> Key:
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def raw_public(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def public_b64(self) -> str:
        return base64.b64encode(self.raw_public).decode("ascii")

    @property
    def fingerprint(self) -> str:
        return sha256hex(self.raw_public)

    def sign_b64(self, message: bytes) -> str:
        return base64.b64encode(self.private.sign(message)).decode("ascii")


# --- §11 records ---------------------------------------------------------------------------------------------


def record(
    origin: str,
    record_id: str,
    content: dict[str, Any],
    *,
    kind: str = "bulletin",
    version: int = 1,
    op: str = "upsert",
    handling: str = "no_onward",
    tlp: str = "amber",
) -> dict[str, Any]:
    return {
        "kind": kind,
        "origin": origin,
        "id": record_id,
        "version": version,
        "op": op,
        "handling": handling,
        "tlp": tlp,
        "content": content,
        "content_hash": sha256hex(jcs(content)),
    }


# --- §4 envelopes --------------------------------------------------------------------------------------------


HASHED = ("v", "link", "seq", "prev", "sent_at", "key", "record")


def envelope(
    key: Key, link: str, seq: int, prev: str, rec: Any, *, sent_at: str | None = None
) -> dict[str, Any]:
    """A valid envelope (§4.1 hash, §4.2 signature)."""
    env: dict[str, Any] = {
        "v": 1,
        "link": link,
        "seq": seq,
        "prev": prev,
        "sent_at": sent_at or now_text(),
        "key": key.fingerprint,
        "record": rec,
    }
    return seal(key, env)


def seal(key: Key, env: dict[str, Any]) -> dict[str, Any]:
    """(Re)compute ``hash`` and ``sig`` over whatever hashed members ``env`` holds now."""
    digest = sha256hex(jcs({k: env[k] for k in HASHED}))
    return {**env, "hash": digest, "sig": key.sign_b64(("sarhad-envelope-v1:" + digest).encode("ascii"))}


def sign_hash(key: Key, digest: str) -> str:
    """§4.2 signature over a given hash (for envelopes hashed over bytes this builder wrote itself)."""
    return key.sign_b64(("sarhad-envelope-v1:" + digest).encode("ascii"))


def push_body(*envelopes: dict[str, Any]) -> bytes:
    """§9 push body, written as a peer would (canonical envelopes, compact)."""
    return b'{"envelopes":[' + b",".join(jcs(e) for e in envelopes) + b"]}"


# --- §7 receipts ---------------------------------------------------------------------------------------------


def receipt(
    key: Key, link: str, seq: int, hash_: str, by: str, *, received_at: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "v": 1,
        "link": link,
        "seq": seq,
        "hash": hash_,
        "received_at": received_at or now_text(),
        "by": by,
        "key": key.fingerprint,
    }
    digest = sha256hex(jcs(body))
    return {**body, "sig": key.sign_b64(("sarhad-receipt-v1:" + digest).encode("ascii"))}


# --- §8 signed requests --------------------------------------------------------------------------------------


def request_headers(
    key: Key, party: str, method: str, target: str, body: bytes = b"", *, time: str | None = None
) -> dict[str, str]:
    when = time or now_text()
    lines = ("sarhad-request-v1", party, method, target, when, sha256hex(body))
    return {
        "X-Sarhad-Party": party,
        "X-Sarhad-Time": when,
        "X-Sarhad-Key": key.fingerprint,
        "X-Sarhad-Signature": key.sign_b64("\n".join(lines).encode("ascii")),
        "content-type": "application/json",
    }


def compact(value: Any) -> bytes:
    """JSON as a careless peer might write it (not canonical)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
