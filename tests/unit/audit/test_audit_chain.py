"""The bytes the audit chain hashes and the heads it signs (``audit.chain``), without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from sarhad.audit import chain
from sarhad.exchange.protocol import fingerprint, format_time, public_key_b64

AT = datetime(2026, 12, 7, 9, 30, 0, 250000, tzinfo=UTC)
ENTRY = {
    "at": AT,
    "actor": "=HYPERLINK(1)",
    "action": "auth.login",
    "outcome": "failed",
    "record_kind": None,
    "record_id": None,
    "client_ip": "10.0.0.7",
    "details": {"reason": "wrong password", "n": 2},
}


def test_an_entry_is_hashed_over_its_canonical_json_with_its_place_and_predecessor() -> None:
    assert chain.entry_bytes(seq=1, prev=chain.GENESIS_HASH, **ENTRY) == (
        b'{"action":"auth.login","actor":"=HYPERLINK(1)","at":"2026-12-07T09:30:00.250000Z",'
        b'"client_ip":"10.0.0.7","details":{"n":2,"reason":"wrong password"},"outcome":"failed",'
        b'"prev":"' + b"0" * 64 + b'","record_id":null,"record_kind":null,"seq":1,"v":1}'
    )
    first = chain.entry_hash(seq=1, prev=chain.GENESIS_HASH, **ENTRY)
    assert first == chain.entry_hash(seq=1, prev=chain.GENESIS_HASH, **dict(ENTRY))
    assert first != chain.entry_hash(seq=2, prev=chain.GENESIS_HASH, **ENTRY)
    assert first != chain.entry_hash(seq=1, prev="1" * 64, **ENTRY)
    assert first != chain.entry_hash(
        seq=1, prev=chain.GENESIS_HASH, **{**ENTRY, "at": AT - timedelta(days=1)}
    )


def test_details_are_kept_as_values_json_can_canonicalise() -> None:
    value = {"big": 2**60, "nan": float("nan"), "t": (1, 2), "when": AT, 3: "three"}
    assert chain.json_safe(value) == {
        "big": str(2**60),
        "nan": "nan",
        "t": [1, 2],
        "when": "2026-12-07T09:30:00.250000Z",
        "3": "three",
    }


def _key() -> tuple[Ed25519PrivateKey, dict[str, str], str]:
    key = Ed25519PrivateKey.generate()
    fp = fingerprint(key.public_key())
    return key, {fp: public_key_b64(key.public_key())}, fp


def test_a_signed_head_verifies_and_any_change_to_it_does_not() -> None:
    key, keys, fp = _key()
    head = chain.make_head(key, party="PK", seq=42, hash_hex="ab" * 32, at=AT, key_fingerprint=fp)
    assert chain.verify_head(head, keys) == head
    for member, value in (("seq", 41), ("hash", "cd" * 32), ("at", "2026-12-07T09:30:01Z"), ("party", "IR")):
        with pytest.raises(chain.HeadError, match="does not verify"):
            chain.verify_head({**head, member: value}, keys)
    _, other_keys, _ = _key()
    with pytest.raises(chain.HeadError, match="not a known key"):
        chain.verify_head(head, other_keys)
    with pytest.raises(chain.HeadError, match="exactly the members"):
        chain.verify_head({**head, "extra": 1}, keys)
    with pytest.raises(chain.HeadError, match="seq"):
        chain.verify_head({**head, "seq": True}, keys)


def test_heads_of_one_log_contradict_when_the_same_size_differs_or_the_log_shrinks() -> None:
    early, late = AT, AT + timedelta(minutes=1)
    assert chain.contradiction((10, "a" * 64, early), (10, "a" * 64, late)) is None
    assert chain.contradiction((10, "a" * 64, early), (12, "b" * 64, late)) is None
    assert chain.contradiction((12, "b" * 64, late), (10, "a" * 64, early)) is None  # arriving out of order
    assert "two different logs of 10 entries" in str(
        chain.contradiction((10, "a" * 64, early), (10, "b" * 64, late))
    )
    assert "shrank" in str(chain.contradiction((12, "a" * 64, early), (10, "b" * 64, late)))
    assert "shrank" in str(chain.contradiction((10, "a" * 64, late), (12, "b" * 64, early)))


_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.datetimes(timezones=st.just(UTC))
)
_details = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(details=st.dictionaries(st.text(max_size=6), _details, max_size=5), actor=st.text(max_size=12))
def test_the_appenders_fast_hash_equals_the_canonical_hash_of_every_entry(details: dict, actor: str) -> None:
    safe, plain = chain.safe_and_plain(details)
    assert safe == chain.json_safe(details)  # non-finite floats are written as text, so no NaN survives
    fields = {**ENTRY, "actor": actor, "details": safe, "seq": 7, "prev": "0" * 64}
    written = {**fields, "at": format_time(AT)}
    assert chain.entry_hash_of_safe(plain=plain, **written) == chain.entry_hash(**fields)


def test_details_with_a_float_or_a_key_beyond_the_basic_plane_are_not_plain() -> None:
    assert chain.safe_and_plain({"a": [1, "x", None, True]}) == ({"a": [1, "x", None, True]}, True)
    assert chain.safe_and_plain({"litres": 1.5})[1] is False
    assert chain.safe_and_plain({"\U0001f600": 1})[1] is False
    assert chain.safe_and_plain({"n": 2**60}) == ({"n": str(2**60)}, True)
