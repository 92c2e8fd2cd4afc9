"""Origin signatures (docs/exchange-protocol.md §11.2): the originator's own signature over a record version and
its release terms, which lets a third party accept a relayed record; and the §14 vectors of it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from sarhad.exchange import protocol as p
from sarhad.exchange.protocol import ProtocolError

PK_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(0x01, 0x21)))
IR_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(0x21, 0x41)))
DOC = Path(__file__).resolve().parents[3] / "docs" / "exchange-protocol.md"


def keyring(*keys: Ed25519PrivateKey) -> dict[str, Ed25519PublicKey]:
    return {p.fingerprint(k.public_key()): k.public_key() for k in keys}


def pk_record() -> dict[str, Any]:
    """PK's bulletin as PK releases it to IR, onward release allowed (the §14 vector)."""
    content = {"title": "Crossing closed", "body": "Torkham closed until 06:00 — طورخم"}
    record = {
        "kind": "bulletin",
        "origin": "PK",
        "id": "01JHX0V4Q2M3N4P5R6S7T8V9W1",
        "version": 2,
        "op": "upsert",
        "handling": "onward_allowed",
        "tlp": "amber",
        "content": content,
        "content_hash": p.sha256_hex(p.canonical_json(content)),
    }
    record["origin_sig"] = p.sign_origin(PK_KEY, record)
    return record


def code_of(exc: pytest.ExceptionInfo[ProtocolError]) -> str:
    return exc.value.code


def test_origin_signature_verifies_under_the_originators_key_only() -> None:
    record = pk_record()
    assert p.verify_origin_sig(record, keyring(PK_KEY)) == record["origin_sig"]
    with pytest.raises(ProtocolError) as exc:
        p.verify_origin_sig(record, keyring(IR_KEY))
    assert code_of(exc) == "unknown_key"


@pytest.mark.parametrize(
    ("member", "value"),
    [
        ("origin", "IR"),
        ("kind", "incident"),
        ("id", "01JHX0V4Q2M3N4P5R6S7T8V9W2"),
        ("version", 3),
        ("op", "withdraw"),
        ("content_hash", "0" * 64),
    ],
)
def test_every_member_the_statement_takes_is_bound_by_the_signature(member: str, value: object) -> None:
    record = {**pk_record(), member: value}
    with pytest.raises(ProtocolError) as exc:
        p.verify_origin_sig(record, keyring(PK_KEY))
    assert code_of(exc) == "bad_signature"


@pytest.mark.parametrize(("term", "value"), [("handling", "no_onward"), ("tlp", "clear")])
def test_the_originators_terms_are_bound_by_the_signature(term: str, value: str) -> None:
    record = pk_record()
    record["origin_sig"] = {**record["origin_sig"], term: value}
    with pytest.raises(ProtocolError) as exc:
        p.verify_origin_sig(record, keyring(PK_KEY))
    assert code_of(exc) == "bad_signature"


def test_a_relayers_own_label_is_outside_the_signature() -> None:
    """The relayer may tighten the TLP of its copy (§11.2 checks the order); the signature still verifies."""
    record = {**pk_record(), "tlp": "red"}
    p.verify_origin_sig(record, keyring(PK_KEY))


@pytest.mark.parametrize(
    "origin_sig",
    [
        None,
        "signed",
        {"key": "A" * 64, "handling": "onward_allowed", "tlp": "amber", "sig": "x"},
        {"handling": "onward_allowed", "tlp": "amber", "sig": "x"},
        {"key": "0" * 64, "handling": "onward_allowed", "tlp": "amber", "sig": "AAAA", "extra": 1},
        {"key": "0" * 64, "handling": 1, "tlp": "amber", "sig": "AAAA"},
    ],
)
def test_malformed_origin_signature_is_refused_as_malformed(origin_sig: object) -> None:
    record = {**pk_record(), "origin_sig": origin_sig}
    with pytest.raises(ProtocolError) as exc:
        p.verify_origin_sig(record, keyring(PK_KEY))
    assert code_of(exc) == "malformed"


# --- the §14 vectors --------------------------------------------------------------------------------------


def doc_block(name: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    m = re.search(rf"<!-- vector:{re.escape(name)} -->\s*```[a-z]*\n(.*?)\n```", text, re.S)
    assert m is not None, f"vector {name} missing from {DOC}"
    return m.group(1)


def origin_vectors() -> dict[str, Any]:
    record = pk_record()
    sig = record["origin_sig"]
    statement = p.origin_statement(record, sig["key"], sig["handling"], sig["tlp"])
    digest = p.origin_digest(record, sig["key"], sig["handling"], sig["tlp"])
    return {
        "origin-record": record,
        "origin-statement": p.canonical_json(statement).decode("utf-8"),
        "origin-digest": digest,
        "origin-signing-input": f"sarhad-origin-v1:{digest}",
    }


def test_published_origin_signature_vectors_match_the_implementation() -> None:
    v = origin_vectors()
    assert json.loads(doc_block("origin-record")) == v["origin-record"]
    for name in ("origin-statement", "origin-digest", "origin-signing-input"):
        assert doc_block(name) == v[name], name
    p.verify_origin_sig(json.loads(doc_block("origin-record")), keyring(PK_KEY))
