"""§9 push and §13: every refusal of a push, with its exact status and code, from hand-built envelopes.

Each test asks the node where it stands on IR>PK (a signed ``GET …/receipt``), builds the next envelope with
the doc's rules (``wire``), breaks it in one way and pushes it. Nothing refused may be written: the node's
head must not move. The last test exports the link's ledger and verifies it, after every attack.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from .conftest import AF_KEY, IR_KEY, Node, sarhad
from .wire import GENESIS, compact, envelope, jcs, push_body, record, seal, sha256hex, sign_hash


def bulletin(number: int, **content: Any) -> dict[str, Any]:
    return record("IR", f"conf-{number}", {"title": f"conformance {number}", "body": "text", **content})


def next_envelope(node: Node, rec: dict[str, Any] | None = None) -> dict[str, Any]:
    seq, last = node.head()
    return envelope(IR_KEY, "IR>PK", seq + 1, last, rec if rec is not None else bulletin(seq + 1))


def refused(node: Node, body: bytes, status: int, code: str, link: str = "IR/PK") -> dict[str, Any]:
    before = node.head()
    answer = node.push(body, link)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code), answer.text
    assert node.head() == before, "a refused push must write nothing"
    return answer.json()["error"]  # type: ignore[no-any-return]


def test_a_valid_push_is_answered_with_the_receivers_signed_receipt(node: Node) -> None:
    env = next_envelope(node)
    answer = node.push(push_body(env))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"receipt", "applied", "duplicates", "quarantined"}
    assert body["receipt"]["seq"] == env["seq"] and body["receipt"]["hash"] == env["hash"]
    assert body["receipt"]["by"] == "PK" and body["receipt"]["key"] == node.fingerprint
    # A resend of the same envelope is harmless: a duplicate, the same receipt position (§5).
    again = node.push(push_body(env)).json()
    assert again["duplicates"] == 1 and again["receipt"]["seq"] == env["seq"]


@pytest.mark.parametrize(
    "breakage",
    [
        "missing",
        "unknown",
        "v_true",
        "seq_zero",
        "seq_string",
        "upper_hex",
        "time_offset",
        "record_list",
        "bad_b64",
    ],
)
def test_envelope_of_the_wrong_shape_is_refused_as_malformed(node: Node, breakage: str) -> None:
    env = next_envelope(node)
    match breakage:
        case "missing":
            del env["sent_at"]
        case "unknown":
            env["extra"] = 1
        case "v_true":
            env["v"] = True
        case "seq_zero":
            env["seq"] = 0
        case "seq_string":
            env["seq"] = str(env["seq"])
        case "upper_hex":
            env["prev"] = env["prev"].upper() if env["prev"] != GENESIS else "A" * 64
        case "time_offset":
            env["sent_at"] = "2025-01-15T09:30:00+00:00"
        case "record_list":
            env["record"] = []
        case "bad_b64":
            env["sig"] = env["sig"].rstrip("=")
    refused(node, push_body(env), 400, "malformed")


def test_body_that_is_not_an_envelopes_object_is_malformed(node: Node) -> None:
    refused(node, b"[]", 400, "malformed")
    refused(node, b'{"envelopes": {}}', 400, "malformed")
    refused(node, b'{"envelopes": [], "more": 1}', 400, "malformed")
    refused(node, b"not json", 400, "malformed")


def test_changed_content_is_bad_hash(node: Node) -> None:
    env = next_envelope(node)
    env["record"]["content"]["title"] = "changed after signing"
    refused(node, push_body(env), 400, "bad_hash")


def test_key_the_receiver_does_not_accept_for_the_sender_is_unknown_key(node: Node) -> None:
    seq, last = node.head()
    env = envelope(AF_KEY, "IR>PK", seq + 1, last, bulletin(seq + 1))
    refused(node, push_body(env), 400, "unknown_key")
    own = envelope(AF_KEY, "IR>PK", seq + 1, last, bulletin(seq + 1))
    own["key"] = node.fingerprint  # the receiver's own key, named for the sender: not the sender's
    refused(node, push_body(seal(AF_KEY, own)), 400, "unknown_key")


def test_signature_by_another_key_is_bad_signature(node: Node) -> None:
    env = next_envelope(node)
    env["sig"] = sign_hash(AF_KEY, env["hash"])
    refused(node, push_body(env), 400, "bad_signature")


def test_envelope_for_another_link_than_the_url_is_bad_link(node: Node) -> None:
    seq, last = node.head()
    other = envelope(IR_KEY, "IR>AF", seq + 1, last, bulletin(seq + 1))
    refused(node, push_body(other), 400, "bad_link")


def test_url_naming_a_link_not_addressed_to_this_node_is_unknown_link(node: Node) -> None:
    seq, last = node.head()
    env = envelope(IR_KEY, "IR>AF", seq + 1, last, bulletin(seq + 1))
    refused(node, push_body(env), 404, "unknown_link", link="IR/AF")
    refused(node, push_body(env), 404, "unknown_link", link="ir/pk")


def test_sender_that_is_not_a_peer_is_unknown_peer(node: Node) -> None:
    env = envelope(AF_KEY, "AF>PK", 1, GENESIS, record("AF", "x", {"title": "t", "body": "b"}))
    answer = node.push(push_body(env), "AF/PK")
    assert (answer.status_code, answer.json()["error"]["code"]) == (403, "unknown_peer"), answer.text


def test_envelope_beyond_the_next_seq_is_seq_gap_with_the_receipt_to_resume_from(node: Node) -> None:
    seq, _ = node.head()
    env = envelope(IR_KEY, "IR>PK", seq + 5, "1" * 64, bulletin(seq + 5))
    error = refused(node, push_body(env), 409, "seq_gap")
    assert error["details"]["last_seq"] == seq and error["details"]["receipt"]["seq"] == seq


def test_next_envelope_not_chaining_to_the_head_is_bad_prev(node: Node) -> None:
    seq, _ = node.head()
    env = envelope(IR_KEY, "IR>PK", seq + 1, "1" * 64, bulletin(seq + 1))
    refused(node, push_body(env), 400, "bad_prev")


def test_out_of_sequence_batch_is_malformed(node: Node) -> None:
    first = next_envelope(node)
    third = envelope(IR_KEY, "IR>PK", first["seq"] + 2, first["hash"], bulletin(first["seq"] + 2))
    refused(node, push_body(first, third), 400, "malformed")


def test_second_envelope_for_a_held_seq_is_equivocation(node: Node) -> None:
    held = next_envelope(node)
    assert node.push(push_body(held)).status_code == 200
    other = envelope(IR_KEY, "IR>PK", held["seq"], held["prev"], bulletin(held["seq"], body="another text"))
    refused(node, push_body(other), 409, "equivocation")
    # The link stays open (§5): the next envelope after the held one is accepted.
    assert node.push(push_body(next_envelope(node))).status_code == 200


def test_batch_over_the_count_limit_is_too_large(node: Node) -> None:
    refused(node, b'{"envelopes":[' + b",".join([b"{}"] * 1001) + b"]}", 413, "too_large")


# --- defects 3, 4 and 5 of issue 14 ---------------------------------------------------------------------------


def test_validly_signed_record_nested_500_deep_is_too_deep(node: Node) -> None:
    deep: Any = "bottom"
    for _ in range(500):
        deep = {"d": deep}
    env = next_envelope(node, bulletin(0, extra=deep))
    refused(node, push_body(env), 400, "too_deep")


def test_record_nested_just_within_the_limit_is_accepted(node: Node) -> None:
    # §2: an envelope nests at most 32 levels: envelope 1, record 2, content 3, so 29 more inside content.
    deep: Any = 1
    for _ in range(29):
        deep = [deep]
    env = next_envelope(node, bulletin(0, extra=deep))
    answer = node.push(push_body(env))
    assert answer.status_code == 200, answer.text
    too: Any = [deep]
    refused(node, push_body(next_envelope(node, bulletin(0, extra=too))), 400, "too_deep")


def signed_with_number(node: Node, number: bytes) -> bytes:
    """A push of the next envelope, validly hashed and signed, whose content holds ``number`` written as is.

    RFC 8785 libraries refuse to write an unsafe integer, so the canonical bytes are written with a
    placeholder and the number put in its place: exactly the bytes a careless signer would hash.
    """
    seq, last = node.head()
    rec = bulletin(seq + 1, n="@N@")
    content = jcs(rec["content"]).replace(b'"@N@"', number)
    rec["content_hash"] = sha256hex(content)
    hashed = {"v": 1, "link": "IR>PK", "seq": seq + 1, "prev": last, "sent_at": "2026-01-01T00:00:00Z",
              "key": IR_KEY.fingerprint, "record": rec}  # fmt: skip
    text = jcs(hashed).replace(b'"@N@"', number)
    digest = sha256hex(text)
    whole = (
        text[:-1] + b',"hash":"' + digest.encode() + b'","sig":"' + sign_hash(IR_KEY, digest).encode() + b'"}'
    )
    return b'{"envelopes":[' + whole + b"]}"


@pytest.mark.parametrize(
    "number",
    [
        b"9007199254740992",  # 2^53, also how RFC 8785 writes the float 2^53
        b"-9007199254740992",
        b"9223372036854775808",  # 2^63: beyond a database's BIGINT
        b"18446744073709551617",  # 2^64 + 1
        b"12345678901234567890123456789",
        b"1e+300",
        b"9007199254740992.5e3",
    ],
)
def test_validly_signed_unsafe_number_is_unsafe_number(node: Node, number: bytes) -> None:
    refused(node, signed_with_number(node, number), 400, "unsafe_number")


def test_validly_signed_number_at_the_edge_of_the_domain_is_accepted(node: Node) -> None:
    answer = node.push(signed_with_number(node, b"9007199254740991"))
    assert answer.status_code == 200, answer.text


def test_unsafe_numbers_written_as_a_careless_peer_writes_them_are_unsafe_number(node: Node) -> None:
    env = next_envelope(node)
    text = push_body(env).replace(b'"v":1', b'"v":1e400', 1)
    refused(node, text, 400, "unsafe_number")
    huge = push_body(env).replace(b'"seq":' + str(env["seq"]).encode(), b'"seq":' + b"9" * 5000, 1)
    refused(node, huge, 400, "unsafe_number")
    deep = b'{"envelopes":' + b"[" * 2000 + b"]" * 2000 + b"}"
    refused(node, deep, 400, "too_deep")


def test_safe_numbers_and_fractions_are_accepted(node: Node) -> None:
    env = next_envelope(node, bulletin(0, n=2**53 - 1, m=-(2**53 - 1), lat=33.6844))
    answer = node.push(push_body(env))
    assert answer.status_code == 200, answer.text


def _with_duplicate(env: dict[str, Any], where: str) -> tuple[bytes, str]:
    """The push body with one member named twice, signed over what a last-value-wins parser sees."""
    rec = copy.deepcopy(env["record"])
    if where == "envelope":
        hashed = {k: env[k] for k in ("v", "link", "seq", "prev", "sent_at", "key", "record")}
        digest = sha256hex(jcs(hashed))
        text = jcs({**hashed, "hash": digest, "sig": sign_hash(IR_KEY, digest)})
        # A first "seq" that a first-value-wins parser would take; the signed one comes last.
        return b'{"envelopes":[{"seq":999,' + text[1:] + b"]}", digest
    body = jcs(rec["content"])
    if where == "content":
        rec["content"] = {**rec["content"]}
        inner = b'{"body":"first",' + body[1:]  # "body" twice; the last ("text") is the signed one
        record_text = jcs({k: v for k, v in rec.items() if k != "content"})
        record_bytes = b'{"content":' + inner + b"," + record_text[1:]
    else:  # record
        record_text = jcs(rec)
        record_bytes = b'{"kind":"hotline_message",' + record_text[1:]
    hashed_text = (
        b'{"key":"' + env["key"].encode() + b'","link":"IR>PK","prev":"' + env["prev"].encode()
        + b'","record":' + record_bytes + b',"sent_at":"' + env["sent_at"].encode()
        + b'","seq":' + str(env["seq"]).encode() + b',"v":1}'
    )  # fmt: skip
    # The hash a last-value-wins parser computes (canonical JSON of what it kept):
    digest = sha256hex(jcs({k: env[k] for k in ("v", "link", "seq", "prev", "sent_at", "key", "record")}))
    whole = (
        hashed_text[:-1]
        + b',"hash":"'
        + digest.encode()
        + b'","sig":"'
        + sign_hash(IR_KEY, digest).encode()
        + b'"}'
    )
    return b'{"envelopes":[' + whole + b"]}", digest


@pytest.mark.parametrize("where", ["envelope", "record", "content"])
def test_duplicate_member_names_are_duplicate_member(node: Node, where: str) -> None:
    env = next_envelope(node)
    body, _ = _with_duplicate(env, where)
    refused(node, body, 400, "duplicate_member")


def test_duplicate_member_in_the_push_body_itself_is_duplicate_member(node: Node) -> None:
    env = next_envelope(node)
    refused(node, b'{"envelopes":[],' + push_body(env)[1:], 400, "duplicate_member")


def test_non_canonical_but_valid_body_from_another_implementation_is_accepted(node: Node) -> None:
    env = next_envelope(node)
    pretty = compact({"envelopes": [env]}).replace(b",", b", ")  # spaces: not canonical, still valid
    answer = node.push(pretty)
    assert answer.status_code == 200, answer.text


def test_after_every_attack_the_ledger_of_the_link_exports_and_verifies(node: Node, tmp_path: Path) -> None:
    assert node.push(push_body(next_envelope(node))).status_code == 200
    out = sarhad("ledger", "export", "-d", str(node.data_dir), "--peer", "IR", str(tmp_path / "ledger.json"))
    assert "wrote" in out
    verified = sarhad("ledger", "verify", str(tmp_path / "ledger.json"))
    assert "ledger verified" in verified


def test_rotation_whose_fingerprint_is_not_its_keys_is_quarantined_and_changes_no_key(node: Node) -> None:
    rotation = {
        "kind": "key_rotation", "origin": "IR", "id": "rotation-bad", "version": 1, "op": "upsert",
        "handling": "no_onward", "tlp": "amber", "content": {}, "content_hash": sha256hex(jcs({})),
        "new_key": AF_KEY.public_b64, "new_fingerprint": "0" * 64,
    }  # fmt: skip
    answer = node.push(push_body(next_envelope(node, rotation)))
    assert answer.status_code == 200, answer.text
    assert answer.json()["quarantined"] == 1, answer.text
    seq, last = node.head()
    after = envelope(AF_KEY, "IR>PK", seq + 1, last, bulletin(seq + 1))
    refused(node, push_body(after), 400, "unknown_key")
