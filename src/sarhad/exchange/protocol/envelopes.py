"""Envelopes: building, sealing, shape checks, verification, the chain of a link and key rotation records."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, NamedTuple

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from sarhad.exchange.protocol.canonical import (
    GENESIS_HASH,
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    JSONObject,
    canonical_json,
    check_fields,
    check_json_domain,
    format_time,
    is_hex64,
    is_int,
    parse_link,
    parse_time,
    seq_hint,
    sha256_hex,
)
from sarhad.exchange.protocol.errors import ProtocolError, malformed
from sarhad.exchange.protocol.keys import (
    SIGNATURE_BYTES,
    b64decode_strict,
    fingerprint,
    public_key_b64,
    public_key_from_b64,
    raw_public,
)

ENVELOPE_VERSION: Final = 1
ENVELOPE_SIGNING_PREFIX: Final = "sarhad-envelope-v1:"
ENVELOPE_FIELDS: Final = ("v", "link", "seq", "prev", "sent_at", "key", "record", "hash", "sig")
ENVELOPE_HASHED_FIELDS: Final = ("v", "link", "seq", "prev", "sent_at", "key", "record")
KIND_KEY_ROTATION: Final = "key_rotation"
_VERSION_JSON: Final = str(ENVELOPE_VERSION).encode("ascii")


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
    if isinstance(record, Mapping):  # what receivers refuse is refused here first (too_deep, unsafe_number)
        check_json_domain(dict(record), MAX_DEPTH - 1, "record", seq if is_int(seq) else None)
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
        "sig": base64.b64encode(bytes(SIGNATURE_BYTES)).decode("ascii"),
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
            str(seq).encode("ascii") if seq <= MAX_SAFE_INTEGER else canonical_json(seq),
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
    if not is_hex64(prev) or not is_int(seq) or seq < 1:
        raise malformed("seal_envelope needs seq >= 1 and a 64-hex prev", seq)
    parse_link(link)
    if not is_hex64(key_fingerprint):
        raise malformed("seal_envelope needs the key's 64-hex fingerprint", seq)
    check_json_domain(record, MAX_DEPTH - 1, "record", seq)  # what a receiver would refuse (§2.1)
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
    Raises ``ProtocolError("malformed")`` naming the first offending field; last, the JSON domain
    (:func:`~sarhad.exchange.protocol.canonical.check_json_domain`): ``too_deep`` or ``unsafe_number``
    (also for a ``seq`` beyond 2^53 − 1), so an envelope refused for those is otherwise well formed.
    """
    if not isinstance(obj, dict):
        raise malformed("envelope must be a JSON object")
    hint = seq_hint(obj)
    check_fields(obj, ENVELOPE_FIELDS, "envelope", hint)
    if not is_int(obj["v"]) or obj["v"] != ENVELOPE_VERSION:
        raise malformed(f"envelope field 'v' must be {ENVELOPE_VERSION}", hint)
    try:
        parse_link(obj["link"])
    except ProtocolError as exc:
        raise malformed(f"envelope field 'link': {exc.message}", hint) from None
    seq = obj["seq"]
    if not is_int(seq) or seq < 1:
        raise malformed("envelope field 'seq' must be an integer >= 1", hint)
    for name in ("prev", "key", "hash"):
        if not is_hex64(obj[name]):
            raise malformed(f"envelope field {name!r} must be 64 lowercase hex digits", seq)
    try:
        parse_time(obj["sent_at"])
    except ProtocolError as exc:
        raise malformed(f"envelope field 'sent_at': {exc.message}", seq) from None
    if not isinstance(obj["record"], dict):
        raise malformed("envelope field 'record' must be a JSON object", seq)
    try:
        b64decode_strict(obj["sig"], SIGNATURE_BYTES, "signature")
    except ProtocolError as exc:
        raise malformed(f"envelope field 'sig': {exc.message}", seq) from None
    check_json_domain(obj, MAX_DEPTH, "envelope", seq if seq <= MAX_SAFE_INTEGER else None)
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
        _sodium_key(raw_public(key)).verify(message, signature)
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
            "bad_link", f"envelope is for link {link!r}, expected {expected_link!r}", seq_hint(env)
        )
    expected = last_seq + 1
    if not is_int(seq) or seq != expected:
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
            seq_hint(held),
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


# ----------------------------------------------------------------------------------------------------
# Origin signatures: the originator's own signature over a record version and its release terms (§11.2)
# ----------------------------------------------------------------------------------------------------

ORIGIN_SIGNING_PREFIX: Final = "sarhad-origin-v1:"
ORIGIN_SIG_VERSION: Final = 1
ORIGIN_SIG_FIELDS: Final = ("key", "handling", "tlp", "sig")
# The record's own members the statement takes, then the signature's terms and key.
ORIGIN_RECORD_FIELDS: Final = ("origin", "kind", "id", "version", "op", "content_hash")


def origin_statement(record: Mapping[str, Any], key: str, handling: str, tlp: str) -> JSONObject:
    """What an origin signature signs: the record version (by its content hash) and the originator's terms.

    ``{v, origin, kind, id, version, op, content_hash, handling, tlp, key}``: the record's own members, and
    the originator's handling and TLP for it and the fingerprint of the signing key.
    """
    statement: JSONObject = {"v": ORIGIN_SIG_VERSION}
    for name in ORIGIN_RECORD_FIELDS:
        if name not in record:
            raise malformed(f"record field {name!r} is missing")
        statement[name] = record[name]
    statement.update(handling=handling, tlp=tlp, key=key)
    return statement


def origin_digest(record: Mapping[str, Any], key: str, handling: str, tlp: str) -> str:
    """``sha256hex(JCS(origin statement))``."""
    return sha256_hex(canonical_json(origin_statement(record, key, handling, tlp)))


def _origin_signing_input(digest: str) -> bytes:
    return (ORIGIN_SIGNING_PREFIX + digest).encode("ascii")


def sign_origin(private_key: Ed25519PrivateKey, record: Mapping[str, Any]) -> JSONObject:
    """The ``origin_sig`` member the originator adds to ``record``, over its own ``handling`` and ``tlp``."""
    key = fingerprint(private_key.public_key())
    handling, tlp = record["handling"], record["tlp"]
    digest = origin_digest(record, key, handling, tlp)
    signed = _sodium_signer(private_key).sign(_origin_signing_input(digest)).signature
    return {"key": key, "handling": handling, "tlp": tlp, "sig": base64.b64encode(signed).decode("ascii")}


def check_origin_sig_shape(obj: object) -> JSONObject:
    """Exactly ``key`` (hex64), ``handling`` and ``tlp`` (strings) and ``sig`` (b64 of 64 bytes)."""
    if not isinstance(obj, dict):
        raise malformed("record field 'origin_sig' must be a JSON object")
    check_fields(obj, ORIGIN_SIG_FIELDS, "origin_sig", None)
    if not is_hex64(obj["key"]):
        raise malformed("origin_sig field 'key' must be 64 lowercase hex digits")
    for name in ("handling", "tlp"):
        if not isinstance(obj[name], str):
            raise malformed(f"origin_sig field {name!r} must be a string")
    try:
        b64decode_strict(obj["sig"], SIGNATURE_BYTES, "signature")
    except ProtocolError as exc:
        raise malformed(f"origin_sig field 'sig': {exc.message}") from None
    return obj


def verify_origin_sig(record: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> JSONObject:
    """Verify ``record["origin_sig"]`` against ``keys`` (fingerprint → key: the origin party's keys only).

    Returns the checked ``origin_sig``. Raises ``ProtocolError``: ``malformed``, ``unknown_key`` (the key is
    not one of ``keys``) or ``bad_signature``. The caller compares its terms with the record's (§11.2).
    """
    sig = check_origin_sig_shape(record.get("origin_sig"))
    key = keys.get(sig["key"])
    if key is None:
        raise ProtocolError(
            "unknown_key", f"origin signature by key {sig['key'][:16]}, not a key of {record.get('origin')}"
        )
    digest = origin_digest(record, sig["key"], sig["handling"], sig["tlp"])
    if not _signature_verifies(key, base64.b64decode(sig["sig"]), _origin_signing_input(digest)):
        raise ProtocolError("bad_signature", "origin signature does not verify")
    return sig
