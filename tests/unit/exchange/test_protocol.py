"""The exchange protocol's cryptographic core: envelopes, chains, receipts, signed requests, test vectors."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from sarhad.exchange import protocol as p
from sarhad.exchange.protocol import GENESIS_HASH, LinkState, ProtocolError

PK_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(0x01, 0x21)))
IR_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(0x21, 0x41)))
AF_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(0x41, 0x61)))
T0 = datetime(2025, 1, 15, 9, 30, tzinfo=UTC)
DOC = Path(__file__).resolve().parents[3] / "docs" / "exchange-protocol.md"


def keyring(*keys: Ed25519PrivateKey) -> dict[str, Ed25519PublicKey]:
    return {p.fingerprint(k.public_key()): k.public_key() for k in keys}


def record(n: int = 1, **extra: Any) -> dict[str, Any]:
    return {"kind": "incident", "origin": "PK", "id": f"inc-{n}", "version": 1, "op": "upsert", **extra}


def envelope(seq: int = 1, prev: str = GENESIS_HASH, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"link": "PK>IR", "sent_at": T0, "record": record(seq)} | kw
    return p.make_envelope(PK_KEY, args["link"], seq, prev, args["sent_at"], args["record"])


def chain(n: int, link: str = "PK>IR", key: Ed25519PrivateKey = PK_KEY) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    prev = GENESIS_HASH
    for seq in range(1, n + 1):
        env = p.make_envelope(key, link, seq, prev, T0 + timedelta(minutes=seq), record(seq))
        out.append(env)
        prev = env["hash"]
    return out


def code_of(exc: pytest.ExceptionInfo[ProtocolError]) -> str:
    return exc.value.code


# ---------------------------------------------------------------------------------------------------------
# Keys, canonical JSON, times
# ---------------------------------------------------------------------------------------------------------


def test_private_key_survives_pem_roundtrip() -> None:
    key = p.generate_private_key()
    loaded = p.private_key_from_pem(p.private_key_to_pem(key))
    assert p.fingerprint(loaded.public_key()) == p.fingerprint(key.public_key())


@pytest.mark.parametrize(
    "pem", [b"", b"not a pem", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"]
)
def test_unreadable_private_key_pem_is_refused_as_malformed(pem: bytes) -> None:
    with pytest.raises(ProtocolError) as exc:
        p.private_key_from_pem(pem)
    assert code_of(exc) == "malformed"


def test_fingerprint_is_sha256_hex_of_raw_public_key_and_short_form_groups_first_16_digits() -> None:
    raw = base64.b64decode(p.public_key_b64(PK_KEY.public_key()))
    assert len(raw) == 32
    fp = p.fingerprint(PK_KEY.public_key())
    assert fp == hashlib.sha256(raw).hexdigest()
    assert re.fullmatch(r"[0-9a-f]{4}(-[0-9a-f]{4}){3}", p.short_fingerprint(fp))
    assert p.short_fingerprint(fp).replace("-", "") == fp[:16]


def test_public_key_survives_base64_roundtrip() -> None:
    text = p.public_key_b64(IR_KEY.public_key())
    assert p.fingerprint(p.public_key_from_b64(text)) == p.fingerprint(IR_KEY.public_key())


def _flip_padding_bits(text: str) -> str:
    """Same decoded bytes, different spelling: set the unused low bits of the last base64 character."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    stripped = text.rstrip("=")
    last = alphabet.index(stripped[-1])
    unused = 0b11 if text.endswith("=") and not text.endswith("==") else 0b1111
    return stripped[:-1] + alphabet[last | unused] + text[len(stripped) :]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        base64.b64encode(bytes(31)).decode(),
        base64.b64encode(bytes(33)).decode(),
        " " + base64.b64encode(bytes(32)).decode(),
        base64.urlsafe_b64encode(bytes([0xFB] * 32)).decode(),
        base64.b64encode(bytes(32)).decode().rstrip("="),
    ],
)
def test_public_key_from_bad_base64_is_refused_as_malformed(text: str) -> None:
    with pytest.raises(ProtocolError) as exc:
        p.public_key_from_b64(text)
    assert code_of(exc) == "malformed"


def test_public_key_in_non_canonical_base64_is_refused() -> None:
    text = p.public_key_b64(PK_KEY.public_key())
    other = _flip_padding_bits(text)
    assert other != text and base64.b64decode(other) == base64.b64decode(text)
    with pytest.raises(ProtocolError, match="canonical"):
        p.public_key_from_b64(other)


def test_canonical_json_sorts_members_and_refuses_what_json_cannot_hold() -> None:
    assert p.canonical_json({"b": 1, "a": [True, None, "ü"]}) == '{"a":[true,null,"ü"],"b":1}'.encode()
    for bad in (2**60, float("nan"), {1: "x"}):
        with pytest.raises(ProtocolError) as exc:
            p.canonical_json(bad)
        assert code_of(exc) == "malformed"


@given(st.datetimes(timezones=st.just(UTC)))
def test_time_survives_format_and_parse(dt: datetime) -> None:
    text = p.format_time(dt)
    assert text.endswith("Z")
    assert p.parse_time(text) == dt


def test_time_is_formatted_in_utc_with_fraction_only_when_needed() -> None:
    tehran = timezone(timedelta(hours=3, minutes=30))
    assert p.format_time(datetime(2025, 1, 15, 13, 0, tzinfo=tehran)) == "2025-01-15T09:30:00Z"
    assert p.format_time(T0.replace(microsecond=250000)) == "2025-01-15T09:30:00.250000Z"
    assert p.parse_time("2025-01-15T09:30:00.25Z") == T0.replace(microsecond=250000)
    with pytest.raises(ValueError):
        p.format_time(datetime(2025, 1, 15))


@pytest.mark.parametrize(
    "text",
    [
        "2025-01-15T09:30:00+00:00",
        "2025-01-15T09:30:00z",
        "2025-01-15 09:30:00Z",
        "2025-02-30T09:30:00Z",
        "2025-01-15T09:30:60Z",
        "2025-01-15T09:30:00.1234567Z",
        "٢٠٢٥-01-15T09:30:00Z",
        "2025-01-15T09:30:00Z\n",
        20250115,
    ],
)
def test_time_not_in_rfc3339_utc_form_is_refused_as_malformed(text: object) -> None:
    with pytest.raises(ProtocolError) as exc:
        p.parse_time(text)
    assert code_of(exc) == "malformed"


# ---------------------------------------------------------------------------------------------------------
# Envelopes
# ---------------------------------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20)
# Floats whose canonical form is an integer beyond 2^53 - 1 cannot travel (see the test after the next).
json_floats = st.floats(allow_nan=False, allow_infinity=False).filter(
    lambda f: not (f.is_integer() and abs(f) >= 2**53)
)
json_values = st.recursive(
    json_scalars | json_floats,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(
    rec=st.dictionaries(st.text(max_size=10), json_values, max_size=6),
    seq=st.integers(1, 2**53 - 1),
    prev=st.text("0123456789abcdef", min_size=64, max_size=64),
    sent_at=st.datetimes(timezones=st.just(UTC)),
)
def test_sealing_gives_the_very_bytes_and_hash_of_a_made_envelope(
    rec: dict[str, Any], seq: int, prev: str, sent_at: datetime
) -> None:
    """The sender's fast path writes byte for byte what make_envelope + canonical JSON write."""
    made = p.make_envelope(PK_KEY, "PK>IR", seq, prev, sent_at, rec)
    digest, body = p.seal_envelope(
        PK_KEY, p.fingerprint(PK_KEY.public_key()), "PK>IR", seq, prev, sent_at, rec
    )
    assert (digest, body) == (made["hash"], p.canonical_json(made))
    p.verify_envelope(json.loads(body), keyring(PK_KEY))


@pytest.mark.parametrize(
    ("link", "seq", "prev"), [("PK-IR", 1, GENESIS_HASH), ("PK>IR", 0, GENESIS_HASH), ("PK>IR", 1, "0" * 63)]
)
def test_sealing_refuses_a_bad_link_seq_or_prev(link: str, seq: int, prev: str) -> None:
    with pytest.raises(ProtocolError) as exc:
        p.seal_envelope(PK_KEY, p.fingerprint(PK_KEY.public_key()), link, seq, prev, T0, record())
    assert code_of(exc) == "malformed"


@settings(max_examples=60, deadline=None)
@given(
    rec=st.dictionaries(st.text(max_size=10), json_values, max_size=6),
    seq=st.integers(1, 2**53 - 1),
    prev=st.text("0123456789abcdef", min_size=64, max_size=64),
    sent_at=st.datetimes(timezones=st.just(UTC)),
)
def test_envelope_roundtrip_verifies_after_json_transport(
    rec: dict[str, Any], seq: int, prev: str, sent_at: datetime
) -> None:
    env = p.make_envelope(PK_KEY, "PK>IR", seq, prev, sent_at, rec)
    received = json.loads(json.dumps(env))
    p.verify_envelope(received, keyring(PK_KEY))
    assert received["hash"] == p.envelope_hash(received)


def test_record_number_that_receivers_would_read_as_an_unsafe_integer_is_refused_when_sending() -> None:
    """The float 2^53 is written "9007199254740992"; a receiver parses that as an integer outside the range
    JSON numbers hold exactly and could not verify the hash, so the sender refuses it up front."""
    for unsafe in (2.0**53, 1e300, -(2**53), 2**64):
        with pytest.raises(ProtocolError) as exc:
            p.make_envelope(PK_KEY, "PK>IR", 1, GENESIS_HASH, T0, {"n": unsafe})
        assert code_of(exc) == "unsafe_number"
    env = p.make_envelope(PK_KEY, "PK>IR", 1, GENESIS_HASH, T0, {"n": 2.0**53 - 1, "lat": 33.75, "t": 1e-300})
    p.verify_envelope(json.loads(p.canonical_json(env)), keyring(PK_KEY))


def test_envelope_does_not_change_when_caller_mutates_record_afterwards() -> None:
    rec = record(1, content={"text": "before"})
    env = p.make_envelope(PK_KEY, "PK>IR", 1, GENESIS_HASH, T0, rec)
    rec["content"]["text"] = "after"
    p.verify_envelope(env, keyring(PK_KEY))


def test_envelope_with_altered_record_is_refused_as_bad_hash() -> None:
    env = envelope(record=record(1, content={"casualties": 0}))
    env["record"]["content"]["casualties"] = 3
    with pytest.raises(ProtocolError) as exc:
        p.verify_envelope(env, keyring(PK_KEY))
    assert (exc.value.code, exc.value.seq) == ("bad_hash", 1)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("link", "PK>AF"),
        ("seq", 2),
        ("prev", "1" * 64),
        ("sent_at", "2025-01-15T09:30:01Z"),
        ("key", p.fingerprint(IR_KEY.public_key())),
        ("hash", "f" * 64),
    ],
)
def test_envelope_with_altered_field_is_refused_as_bad_hash(name: str, value: object) -> None:
    env = envelope()
    env[name] = value
    with pytest.raises(ProtocolError) as exc:
        p.verify_envelope(env, keyring(PK_KEY, IR_KEY))
    assert code_of(exc) == "bad_hash"


def test_envelope_with_altered_signature_is_refused_as_bad_signature() -> None:
    env = envelope()
    sig = bytearray(base64.b64decode(env["sig"]))
    sig[10] ^= 0x01
    env["sig"] = base64.b64encode(bytes(sig)).decode()
    with pytest.raises(ProtocolError) as exc:
        p.verify_envelope(env, keyring(PK_KEY))
    assert code_of(exc) == "bad_signature"


def test_envelope_signature_in_non_canonical_base64_is_refused_as_malformed() -> None:
    env = envelope()
    env["sig"] = _flip_padding_bits(env["sig"])
    with pytest.raises(ProtocolError) as exc:
        p.verify_envelope(env, keyring(PK_KEY))
    assert code_of(exc) == "malformed"


def test_envelope_signed_by_a_key_not_given_is_refused_as_unknown_key() -> None:
    with pytest.raises(ProtocolError) as exc:
        p.verify_envelope(envelope(), keyring(IR_KEY))
    assert code_of(exc) == "unknown_key"


def test_envelope_signed_by_wrong_key_under_a_pinned_fingerprint_is_refused_as_bad_signature() -> None:
    forged = p.make_envelope(IR_KEY, "PK>IR", 1, GENESIS_HASH, T0, record(1))
    forged["key"] = p.fingerprint(PK_KEY.public_key())
    forged["hash"] = p.envelope_hash(forged)
    forged["sig"] = base64.b64encode(IR_KEY.sign(f"sarhad-envelope-v1:{forged['hash']}".encode())).decode()
    with pytest.raises(ProtocolError) as exc:
        p.verify_envelope(forged, keyring(PK_KEY))
    assert code_of(exc) == "bad_signature"


def test_envelope_signature_does_not_verify_as_a_receipt_signature() -> None:
    """Domain separation: an envelope signature over a hash is not a signature of anything else."""
    env = envelope()
    sig = base64.b64decode(env["sig"])
    PK_KEY.public_key().verify(sig, f"sarhad-envelope-v1:{env['hash']}".encode())
    with pytest.raises(InvalidSignature):
        PK_KEY.public_key().verify(sig, f"sarhad-receipt-v1:{env['hash']}".encode())


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.pop("record"), "record"),
        (lambda e: e.update(extra=1), "extra"),
        (lambda e: e.update(v=2), "v"),
        (lambda e: e.update(v=True), "v"),
        (lambda e: e.update(link="PK-IR"), "link"),
        (lambda e: e.update(link="PK>PK"), "link"),
        (lambda e: e.update(link="pk>ir"), "link"),
        (lambda e: e.update(seq=0), "seq"),
        (lambda e: e.update(seq=True), "seq"),
        (lambda e: e.update(seq=1.0), "seq"),
        (lambda e: e.update(seq="1"), "seq"),
        (lambda e: e.update(prev="A" * 64), "prev"),
        (lambda e: e.update(hash="0" * 63), "hash"),
        (lambda e: e.update(key=None), "key"),
        (lambda e: e.update(sent_at="2025-01-15T09:30:00+00:00"), "sent_at"),
        (lambda e: e.update(record=["kind", "incident"]), "record"),
        (lambda e: e.update(sig="!!"), "sig"),
        (lambda e: e.update(sig=base64.b64encode(bytes(63)).decode()), "sig"),
    ],
)
def test_envelope_of_wrong_shape_is_refused_as_malformed_naming_the_field(mutate: Any, field: str) -> None:
    env = envelope()
    mutate(env)
    with pytest.raises(ProtocolError) as exc:
        p.check_envelope_shape(env)
    assert exc.value.code == "malformed"
    assert repr(field) in exc.value.message


def test_envelope_shape_check_refuses_non_objects() -> None:
    bad_values: list[object] = [None, [], "envelope", 1]
    for bad in bad_values:
        with pytest.raises(ProtocolError) as exc:
            p.check_envelope_shape(bad)
        assert code_of(exc) == "malformed"


def test_make_envelope_refuses_bad_arguments_with_their_codes() -> None:
    with pytest.raises(ProtocolError) as exc:
        p.make_envelope(PK_KEY, "PK>IR", 0, GENESIS_HASH, T0, record())
    assert code_of(exc) == "malformed"
    with pytest.raises(ProtocolError) as exc:
        p.make_envelope(PK_KEY, "PK>IR", 1, GENESIS_HASH, T0, {"n": 2**60})
    assert code_of(exc) == "unsafe_number"


# ---------------------------------------------------------------------------------------------------------
# Chain
# ---------------------------------------------------------------------------------------------------------


def test_link_state_advances_through_a_chain_from_genesis() -> None:
    state = LinkState.genesis("PK>IR")
    assert state.is_genesis and state.hash == GENESIS_HASH
    for env in chain(4):
        state = state.advance(env)
    assert (state.seq, state.hash) == (4, chain(4)[-1]["hash"])


def test_next_envelope_with_seq_gap_is_refused_naming_the_expected_seq() -> None:
    envs = chain(3)
    with pytest.raises(ProtocolError) as exc:
        p.verify_chain_step(envs[2], "PK>IR", 1, envs[0]["hash"])
    assert (exc.value.code, exc.value.seq) == ("seq_gap", 2)
    assert "expected 2" in exc.value.message


def test_replayed_old_envelope_is_refused_as_seq_gap() -> None:
    envs = chain(3)
    with pytest.raises(ProtocolError) as exc:
        p.verify_chain_step(envs[0], "PK>IR", 3, envs[2]["hash"])
    assert code_of(exc) == "seq_gap"


def test_next_envelope_not_chained_to_the_last_hash_is_refused_as_bad_prev() -> None:
    envs = chain(2)
    other_first = envelope(record=record(99))
    with pytest.raises(ProtocolError) as exc:
        p.verify_chain_step(envs[1], "PK>IR", 1, other_first["hash"])
    assert (exc.value.code, exc.value.seq) == ("bad_prev", 2)


def test_envelope_for_another_link_is_refused_as_bad_link() -> None:
    env = p.make_envelope(PK_KEY, "PK>AF", 1, GENESIS_HASH, T0, record())
    with pytest.raises(ProtocolError) as exc:
        LinkState.genesis("PK>IR").advance(env)
    assert code_of(exc) == "bad_link"


def test_resent_identical_envelope_is_harmless_but_a_different_one_is_equivocation() -> None:
    held = envelope()
    p.check_same_envelope(held, json.loads(json.dumps(held)))
    other = envelope(record=record(1, content={"text": "rewritten"}))
    with pytest.raises(ProtocolError) as exc:
        p.check_same_envelope(held, other)
    assert (exc.value.code, exc.value.seq) == ("equivocation", 1)


# ---------------------------------------------------------------------------------------------------------
# Key rotation records
# ---------------------------------------------------------------------------------------------------------


def test_key_rotation_record_names_the_new_key() -> None:
    rec = {**record(), **p.key_rotation_record(AF_KEY.public_key())}
    new = p.parse_key_rotation(rec)
    assert new is not None and p.fingerprint(new) == p.fingerprint(AF_KEY.public_key())
    assert p.parse_key_rotation(record()) is None


def test_key_rotation_with_mismatched_fingerprint_is_refused_as_bad_rotation() -> None:
    rec = p.key_rotation_record(AF_KEY.public_key()) | {"new_fingerprint": p.fingerprint(IR_KEY.public_key())}
    with pytest.raises(ProtocolError) as exc:
        p.parse_key_rotation(rec)
    assert code_of(exc) == "bad_rotation"
    with pytest.raises(ProtocolError) as exc:
        p.parse_key_rotation({"kind": "key_rotation", "new_key": 5})
    assert code_of(exc) == "bad_rotation"


# ---------------------------------------------------------------------------------------------------------
# Receipts
# ---------------------------------------------------------------------------------------------------------


def receipt(seq: int = 3, h: str | None = None, **kw: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"key": IR_KEY, "link": "PK>IR", "by": "IR", "at": T0} | kw
    h = h if h is not None else chain(3)[seq - 1]["hash"] if seq else GENESIS_HASH
    return p.make_receipt(args["key"], args["link"], seq, h, args["at"], args["by"])


@given(seq=st.integers(0, 2**53 - 1), at=st.datetimes(timezones=st.just(UTC)))
def test_receipt_roundtrip_verifies(seq: int, at: datetime) -> None:
    rcpt = receipt(seq, GENESIS_HASH if seq == 0 else "ab" * 32, at=at)
    p.verify_receipt(json.loads(json.dumps(rcpt)), keyring(IR_KEY))


@pytest.mark.parametrize(
    ("name", "value"),
    [("seq", 2), ("hash", "cd" * 32), ("received_at", "2025-01-15T09:30:01Z"), ("link", "AF>IR")],
)
def test_receipt_with_altered_field_is_refused_as_bad_signature(name: str, value: object) -> None:
    rcpt = receipt()
    rcpt[name] = value
    with pytest.raises(ProtocolError) as exc:
        p.verify_receipt(rcpt, keyring(IR_KEY))
    assert code_of(exc) == "bad_signature"


def test_receipt_forged_by_the_sender_under_the_receivers_fingerprint_is_refused() -> None:
    forged = receipt(key=PK_KEY)
    forged["key"] = p.fingerprint(IR_KEY.public_key())
    forged["sig"] = base64.b64encode(
        PK_KEY.sign(f"sarhad-receipt-v1:{p.receipt_digest(forged)}".encode())
    ).decode()
    with pytest.raises(ProtocolError) as exc:
        p.verify_receipt(forged, keyring(IR_KEY))
    assert code_of(exc) == "bad_signature"


def test_receipt_signed_by_a_key_not_given_is_refused_as_unknown_key() -> None:
    with pytest.raises(ProtocolError) as exc:
        p.verify_receipt(receipt(key=AF_KEY), keyring(IR_KEY))
    assert code_of(exc) == "unknown_key"


def test_receipt_by_a_party_that_does_not_receive_the_link_is_refused_as_bad_link() -> None:
    with pytest.raises(ProtocolError) as exc:
        receipt(by="AF")
    assert code_of(exc) == "bad_link"


def test_receipt_for_nothing_held_must_carry_the_genesis_hash() -> None:
    p.verify_receipt(receipt(0), keyring(IR_KEY))
    with pytest.raises(ProtocolError) as exc:
        receipt(0, "ab" * 32)
    assert code_of(exc) == "malformed"


@pytest.mark.parametrize(
    ("name", "value"), [("seq", -1), ("seq", False), ("by", "ir"), ("v", 2), ("received_at", "yesterday")]
)
def test_receipt_of_wrong_shape_is_refused_as_malformed(name: str, value: object) -> None:
    rcpt = receipt()
    rcpt[name] = value
    with pytest.raises(ProtocolError) as exc:
        p.check_receipt_shape(rcpt)
    assert code_of(exc) == "malformed"
    assert repr(name) in exc.value.message


# ---------------------------------------------------------------------------------------------------------
# Signed requests
# ---------------------------------------------------------------------------------------------------------

PATH = "/exchange/v1/links/PK%3EIR/envelopes?after=5"
SKEW = timedelta(minutes=5)


def signed(body: bytes = b"", method: str = "GET", path: str = PATH, at: datetime = T0) -> dict[str, str]:
    return p.sign_request(IR_KEY, "IR", method, path, body, at)


def test_signed_request_verifies_and_names_the_calling_party() -> None:
    headers = signed(b'{"seq":3}', "post")
    assert set(headers) == {"X-Sarhad-Party", "X-Sarhad-Time", "X-Sarhad-Key", "X-Sarhad-Signature"}
    party = p.verify_request(
        headers,
        "POST",
        PATH,
        b'{"seq":3}',
        keyring(IR_KEY, PK_KEY),
        T0,
        SKEW,
        key_owners={p.fingerprint(IR_KEY.public_key()): "IR", p.fingerprint(PK_KEY.public_key()): "PK"},
    )
    assert party == "IR"


def test_signed_request_headers_are_found_in_any_letter_case() -> None:
    headers = {k.lower(): v for k, v in signed().items()}
    assert p.verify_request(headers, "GET", PATH, b"", keyring(IR_KEY), T0, SKEW) == "IR"


@pytest.mark.parametrize(
    ("method", "path", "body", "header", "value"),
    [
        ("POST", PATH, b"", None, None),
        ("GET", PATH.replace("after=5", "after=0"), b"", None, None),
        ("GET", PATH, b"x", None, None),
        ("GET", PATH, b"", "X-Sarhad-Time", "2025-01-15T09:30:01Z"),
        ("GET", PATH, b"", "X-Sarhad-Party", "AF"),
    ],
)
def test_tampered_signed_request_is_refused_as_bad_signature(
    method: str, path: str, body: bytes, header: str | None, value: str | None
) -> None:
    headers = signed()
    if header is not None and value is not None:
        headers[header] = value
    with pytest.raises(ProtocolError) as exc:
        p.verify_request(headers, method, path, body, keyring(IR_KEY), T0, SKEW)
    assert code_of(exc) == "bad_signature"


@pytest.mark.parametrize("offset", [SKEW + timedelta(microseconds=1), -SKEW - timedelta(seconds=1)])
def test_signed_request_outside_the_skew_window_is_refused_as_stale(offset: timedelta) -> None:
    with pytest.raises(ProtocolError) as exc:
        p.verify_request(signed(), "GET", PATH, b"", keyring(IR_KEY), T0 + offset, SKEW)
    assert code_of(exc) == "stale_request"


@pytest.mark.parametrize("offset", [SKEW, -SKEW, timedelta(0)])
def test_signed_request_at_the_edge_of_the_skew_window_is_accepted(offset: timedelta) -> None:
    assert p.verify_request(signed(), "GET", PATH, b"", keyring(IR_KEY), T0 + offset, SKEW) == "IR"


def test_signed_request_by_an_unknown_key_is_refused() -> None:
    with pytest.raises(ProtocolError) as exc:
        p.verify_request(signed(), "GET", PATH, b"", keyring(PK_KEY), T0, SKEW)
    assert code_of(exc) == "unknown_key"


def test_peer_signing_a_request_in_another_partys_name_is_refused_as_wrong_key() -> None:
    headers = p.sign_request(IR_KEY, "AF", "GET", PATH, b"", T0)
    owners = {p.fingerprint(IR_KEY.public_key()): "IR", p.fingerprint(AF_KEY.public_key()): "AF"}
    with pytest.raises(ProtocolError) as exc:
        p.verify_request(headers, "GET", PATH, b"", keyring(IR_KEY, AF_KEY), T0, SKEW, key_owners=owners)
    assert code_of(exc) == "wrong_key"


@pytest.mark.parametrize("missing", ["X-Sarhad-Party", "X-Sarhad-Time", "X-Sarhad-Key", "X-Sarhad-Signature"])
def test_request_lacking_a_signature_header_is_refused_as_malformed(missing: str) -> None:
    headers = signed()
    del headers[missing]
    with pytest.raises(ProtocolError) as exc:
        p.verify_request(headers, "GET", PATH, b"", keyring(IR_KEY), T0, SKEW)
    assert code_of(exc) == "malformed"
    assert missing in exc.value.message


def test_request_target_with_a_line_break_cannot_be_signed() -> None:
    with pytest.raises(ProtocolError) as exc:
        p.sign_request(IR_KEY, "IR", "GET", "/x\nPOST", b"", T0)
    assert code_of(exc) == "malformed"


# ---------------------------------------------------------------------------------------------------------
# The test vectors published in docs/exchange-protocol.md
# ---------------------------------------------------------------------------------------------------------


def doc_block(name: str) -> str:
    """The fenced block following ``<!-- vector:NAME -->`` in the protocol document."""
    text = DOC.read_text(encoding="utf-8")
    m = re.search(rf"<!-- vector:{re.escape(name)} -->\s*```[a-z]*\n(.*?)\n```", text, re.S)
    assert m is not None, f"vector {name} missing from {DOC}"
    return m.group(1)


def vectors() -> dict[str, Any]:
    """Recompute every published vector from the fixed seeds."""
    content = {"title": "Movement near pillar 112", "body": "Movement near pillar 112 — ستون ۱۱۲"}
    rec = {
        "kind": "bulletin",
        "origin": "PK",
        "id": "01JHX0V4Q2M3N4P5R6S7T8V9W0",
        "version": 1,
        "op": "upsert",
        "handling": "no_onward",
        "tlp": "amber",
        "content": content,
        "content_hash": p.sha256_hex(p.canonical_json(content)),
    }
    env = p.make_envelope(PK_KEY, "PK>IR", 1, GENESIS_HASH, T0, rec)
    rcpt = p.make_receipt(
        IR_KEY, "PK>IR", 1, env["hash"], T0 + timedelta(seconds=2, microseconds=250000), "IR"
    )
    # §9: PK pushed envelope 1; IR, pulling, posts its receipt to PK as {"receipt": R}.
    body = p.canonical_json({"receipt": rcpt})
    path = "/exchange/v1/links/PK/IR/receipts"
    at = T0 + timedelta(seconds=3)
    headers = p.sign_request(IR_KEY, "IR", "POST", path, body, at)
    return {
        "pk-public-key": p.public_key_b64(PK_KEY.public_key()),
        "pk-fingerprint": p.fingerprint(PK_KEY.public_key()),
        "pk-short-fingerprint": p.short_fingerprint(p.fingerprint(PK_KEY.public_key())),
        "ir-public-key": p.public_key_b64(IR_KEY.public_key()),
        "ir-fingerprint": p.fingerprint(IR_KEY.public_key()),
        "envelope": env,
        "envelope-hash-input": p.canonical_json({k: v for k, v in env.items() if k not in ("hash", "sig")}),
        "envelope-hash": env["hash"],
        "envelope-signing-input": f"sarhad-envelope-v1:{env['hash']}",
        "receipt": rcpt,
        "receipt-hash-input": p.canonical_json({k: v for k, v in rcpt.items() if k != "sig"}),
        "receipt-digest": p.receipt_digest(rcpt),
        "receipt-signing-input": f"sarhad-receipt-v1:{p.receipt_digest(rcpt)}",
        "request-body": body,
        "request-signing-input": p.request_signing_input("IR", "POST", path, p.format_time(at), body),
        "request-headers": headers,
    }


def test_published_test_vectors_match_the_implementation() -> None:
    v = vectors()
    for name in ("envelope", "receipt", "request-headers"):
        assert json.loads(doc_block(name)) == v[name], name
    for name in ("envelope-hash-input", "receipt-hash-input", "request-body", "request-signing-input"):
        assert doc_block(name).encode("utf-8") == v[name], name
    for name in (
        "pk-public-key",
        "pk-fingerprint",
        "pk-short-fingerprint",
        "ir-public-key",
        "ir-fingerprint",
        "envelope-hash",
        "envelope-signing-input",
        "receipt-digest",
        "receipt-signing-input",
    ):
        assert doc_block(name) == v[name], name
    p.verify_envelope(json.loads(doc_block("envelope")), keyring(PK_KEY))
    p.verify_receipt(json.loads(doc_block("receipt")), keyring(IR_KEY))


def test_deeply_nested_record_is_refused_as_too_deep_rather_than_crashing() -> None:
    nested: list[object] = []
    for _ in range(50_000):
        nested = [nested]
    with pytest.raises(ProtocolError) as exc:
        p.make_envelope(PK_KEY, "PK>IR", 1, GENESIS_HASH, T0, {"content": nested})
    assert code_of(exc) == "too_deep"


def test_canonical_json_of_any_depth_is_written_without_recursion_and_matches_rfc8785() -> None:
    nested: list[object] = [1.5, {"b": None, "a": "x"}]
    for _ in range(50_000):
        nested = [nested]
    text = p.canonical_json(nested)
    assert text == b"[" * 50_000 + b'[1.5,{"a":"x","b":null}]' + b"]" * 50_000
    shallow = {"z": [1, 2.5, "é"], "a": {"\U0001f600": 1, "\uffff": 2}}
    assert p.canonical_json(shallow) == rfc8785.dumps(shallow)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        (b'{"a":1,"a":2}', "duplicate_member"),
        (b'{"x":{"a":1,"b":{"a":2,"a":3}}}', "duplicate_member"),
        (b"[9007199254740992]", "unsafe_number"),
        (b"[9007199254740992.0]", "unsafe_number"),
        (b"[-1e300]", "unsafe_number"),
        (b"[1e400]", "unsafe_number"),
        (b"[" + b"1" * 5000 + b"]", "unsafe_number"),
        (b"[" * 35 + b"]" * 35, "too_deep"),
        (b"[" * 100_000 + b"]" * 100_000, "too_deep"),
        (b"[NaN]", "malformed"),
        (b"\xff", "malformed"),
    ],
)
def test_strict_parse_refuses_duplicates_unsafe_numbers_and_deep_nesting_with_their_codes(
    text: bytes, code: str
) -> None:
    with pytest.raises(ProtocolError) as exc:
        p.parse_json_strict(text)
    assert code_of(exc) == code


def test_strict_parse_accepts_the_domain_edges() -> None:
    edge = b'{"a":[9007199254740991,-9007199254740991,0.5,1e-300],"b":' + b"[" * 33 + b"]" * 33 + b"}"
    assert p.parse_json_strict(edge)["a"][0] == 2**53 - 1


# --- the fast canonical-JSON path must be byte-identical to RFC 8785 ------------------------------------

_json_leaves = (
    st.none() | st.booleans() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | st.text()
)
_json_values = st.recursive(
    _json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


def rfc8785_or_refused(value: object, ours: Callable[[], object]) -> bytes | None:
    """``rfc8785``'s bytes for ``value``; None, after checking that ``ours`` refuses it too, if it refuses."""
    import rfc8785

    try:
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(p.ProtocolError):
            ours()
        return None


@given(_json_values)
def test_fast_canonical_json_is_byte_identical_to_rfc8785(value: object) -> None:
    expected = rfc8785_or_refused(value, lambda: p.canonical_json(value))
    if expected is not None:
        assert p.canonical_json(value) == expected


def test_fast_canonical_json_orders_keys_by_utf16_code_units_like_rfc8785() -> None:
    import rfc8785

    value = {"\U0001f600": 1, "\ufb01": 2, "a": 3, "é": 4}  # astral vs high-BMP keys sort differently
    assert p.canonical_json(value) == rfc8785.dumps(value)


_record_keys = st.sampled_from(
    ["content_hash", "kind", "id", "a", "Content", "contend", "contents", "é", "\U0001f600"]
)


@given(
    st.dictionaries(_record_keys | st.text(max_size=8), _json_values, max_size=6),
    _json_values | st.floats(allow_nan=False, allow_infinity=False),
)
def test_a_record_canonicalised_with_its_content_spliced_in_is_byte_identical_to_rfc8785(
    others: dict[str, object], content: object
) -> None:
    import rfc8785

    record = {**others, "content": content}
    expected = rfc8785_or_refused(record, lambda: p.canonical_record(record))
    if expected is None:
        return
    assert p.canonical_record(record) == (expected, rfc8785.dumps(content))
    given_bytes = rfc8785.dumps(content)
    assert p.canonical_record(record, given_bytes)[0] == expected  # the caller's bytes are used as they are


def test_a_record_without_content_has_no_content_bytes() -> None:
    assert p.canonical_record({"kind": "x", "id": "1"}) == (b'{"id":"1","kind":"x"}', None)


def test_a_float_or_a_large_integer_anywhere_takes_the_rfc8785_path() -> None:
    import rfc8785

    for value in ({"lat": 25.0, "n": [1e21, 1e-7, 0.1]}, {"deep": [[[{"x": 2.5e-5}]]]}):
        assert p.canonical_json(value) == rfc8785.dumps(value)
    with pytest.raises(p.ProtocolError):
        p.canonical_json({"n": 2**53})


def test_verify_envelopes_gives_each_good_envelope_its_canonical_text_and_content_with_its_hash() -> None:
    content = {"title": "قافلہ", "n": 3}
    good = p.make_envelope(PK_KEY, "PK>IR", 1, GENESIS_HASH, T0, record(content=content))
    forged = p.make_envelope(PK_KEY, "PK>IR", 2, good["hash"], T0, record(2))
    forged["record"]["id"] = "inc-99"
    bare = p.make_envelope(PK_KEY, "PK>IR", 3, forged["hash"], T0, record(3))
    window = [(p.fingerprint(PK_KEY.public_key()), p.public_key_b64(PK_KEY.public_key()), 1, None)]
    first, second, third = p.verify_envelopes([good, forged, bare], window)
    canonical_content = p.canonical_json(content)
    assert first == (
        True,
        p.canonical_json(good).decode(),
        "",
        p.sha256_hex(canonical_content),
        canonical_content.decode(),
    )
    assert (second.ok, second.text) == (False, "bad_hash")
    assert (third.ok, third.content_hash, third.content_json) == (True, "", "")  # a record without content
