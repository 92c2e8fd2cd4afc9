"""Faults at the HTTP boundary: crafted batches posted straight to IR's push endpoint.

IR is a real ``sarhad serve`` process. PK's node is created and paired (so IR has PK's key pinned) but not
started: the test plays PK's part, signing envelopes with PK's real key file (and, for the forgeries, with
other keys). That way the test decides exactly which bytes arrive, and no real delivery worker competes for
the same seqs.

Every refusal is checked the same way: the status code, the error code, that nothing was written (the
receiver's head, inbox, received records and joint records are exactly as before) and that good envelopes
still apply afterwards.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from exchange_nodes import Party, add_peer, create_party, make_pair, running

from sarhad.exchange import protocol
from sarhad.exchange.release import content_hash

LINK = "PK>IR"
PUSH = "/exchange/v1/links/PK/IR/envelopes"
BATCH_MAX_ENVELOPES = 20  # IR's exchange_batch_max_envelopes (default 1000; smaller keeps the test quick)
BATCH_MAX_BYTES = 65536  # IR's exchange_batch_max_bytes: pushes over 2 x this + 64 KiB are refused
BODY_LIMIT = BATCH_MAX_BYTES * 2 + 65536


@dataclass
class Link:
    """PK's side of the link as the test plays it: PK's key, and where IR says the log stands."""

    pk: Party
    ir: Party
    key: Ed25519PrivateKey
    other_party_key: Ed25519PrivateKey  # AF's key: pinned on IR, but for AF, not for PK

    # -- building envelopes ---------------------------------------------------------------------------------

    def record(self, n: int | str, kind: str = "joint.proposal", **overrides: Any) -> dict[str, Any]:
        """A valid joint-record proposal from PK to IR (what ``joint.propose`` would send)."""
        joint_id = uuid.uuid4().hex
        inner = {"n": n}
        content = {
            "joint_id": joint_id,
            "subject": "test",
            "title": f"crafted {n}",
            "signatories": ["IR", "PK"],
            "content": inner,
            "content_hash": content_hash(inner),
            "based_on_hash": None,
            "proposed_by": "forger",
        }
        record = {
            "kind": kind,
            "origin": "PK",
            "id": f"{joint_id}.p1.PK",
            "version": 1,
            "op": "upsert",
            "handling": "no_onward",
            "tlp": "amber",
            "content": content,
            "content_hash": content_hash(content),
        }
        record.update(overrides)
        if "content" in overrides and "content_hash" not in overrides:
            record["content_hash"] = content_hash(record["content"])
        return record

    def envelope(
        self, seq: int, prev: str, record: dict[str, Any] | None = None, key: Ed25519PrivateKey | None = None
    ) -> dict[str, Any]:
        return protocol.make_envelope(
            key or self.key, LINK, seq, prev, datetime.now(UTC), record or self.record(f"seq {seq}")
        )

    def chain(self, count: int, start: tuple[int, str] | None = None, **record: Any) -> list[dict[str, Any]]:
        """``count`` valid envelopes continuing from ``start`` (default: IR's head)."""
        seq, prev = start or self.ir.head_hash(LINK)
        out = []
        for _ in range(count):
            env = self.envelope(seq + 1, prev, self.record(f"seq {seq + 1}", **record))
            out.append(env)
            seq, prev = env["seq"], env["hash"]
        return out

    # -- talking to IR ----------------------------------------------------------------------------------------

    def push(
        self, envelopes: list[dict[str, Any]] | None = None, *, body: bytes | None = None
    ) -> httpx.Response:
        data = body if body is not None else json.dumps({"envelopes": envelopes}).encode()
        with httpx.Client(timeout=30.0) as client:
            return client.post(self.ir.url + PUSH, content=data, headers={"content-type": "application/json"})

    def state(self) -> dict[str, Any]:
        """Everything a push may change on IR, for before/after comparisons."""
        ir = self.ir
        return {
            "head": ir.head_hash(LINK),
            "inbox": ir.inbox(LINK),
            "received": ir.count("exchange_received_records", "origin = 'PK'"),
            "joint_proposals": ir.count("exchange_joint_proposals", "proposer = 'PK'"),
            "joint_records": ir.count("exchange_joint_records"),
            "issued_receipts": ir.count("exchange_receipts", "link = ? AND direction = 'issued'", LINK),
        }

    def assert_refused(
        self, response: httpx.Response, status: int, code: str, before: dict[str, Any]
    ) -> dict[str, Any]:
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == code, error
        assert self.state() == before, "a refused push wrote something"
        return error  # type: ignore[no-any-return]

    def assert_good_envelopes_still_apply(self, count: int = 2) -> None:
        before = self.state()
        batch = self.chain(count)
        response = self.push(batch)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert (answer["applied"], answer["duplicates"], answer["quarantined"]) == (count, 0, 0)
        assert answer["receipt"]["seq"] == batch[-1]["seq"]
        assert answer["receipt"]["hash"] == batch[-1]["hash"]
        assert self.ir.head_hash(LINK) == (batch[-1]["seq"], batch[-1]["hash"])
        assert self.ir.count("exchange_received_records", "origin = 'PK'") == before["received"] + count
        assert (
            self.ir.count("exchange_joint_proposals", "proposer = 'PK'") == before["joint_proposals"] + count
        )


def _other_signature(env: dict[str, Any]) -> str:
    """A well-formed signature over the right message, made with a key that is not the named one."""
    message = (protocol.ENVELOPE_SIGNING_PREFIX + env["hash"]).encode("ascii")
    return base64.b64encode(Ed25519PrivateKey.generate().sign(message)).decode("ascii")


@pytest.fixture(scope="module")
def link(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Link]:
    root: Path = tmp_path_factory.mktemp("faults")
    pk, ir = make_pair(
        root,
        ir_env={
            "SARHAD_EXCHANGE_BATCH_MAX_BYTES": str(BATCH_MAX_BYTES),
            "SARHAD_EXCHANGE_BATCH_MAX_ENVELOPES": str(BATCH_MAX_ENVELOPES),
        },
    )
    af = create_party(root, "AF", "Afghanistan")
    add_peer(ir, af)  # IR also pins AF's key: a real key, but not one that may sign on PK>IR
    key = protocol.private_key_from_pem(pk.key_file.read_bytes())
    af_key = protocol.private_key_from_pem(af.key_file.read_bytes())
    with running(ir):
        ir.start()
        yield Link(pk=pk, ir=ir, key=key, other_party_key=af_key)


# ---------------------------------------------------------------------------------------------------------


def test_good_batch_is_applied_and_answered_with_a_signed_cumulative_receipt(link: Link) -> None:
    batch = link.chain(3)
    response = link.push(batch)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["applied"], answer["duplicates"], answer["quarantined"]) == (3, 0, 0)
    receipt = answer["receipt"]
    ir_key = protocol.public_key_from_b64(link.ir.public_key())
    protocol.verify_receipt(receipt, {protocol.fingerprint(ir_key): ir_key})
    assert (receipt["link"], receipt["seq"], receipt["hash"], receipt["by"]) == (
        LINK,
        batch[-1]["seq"],
        batch[-1]["hash"],
        "IR",
    )
    assert [seq for seq, *_ in link.ir.inbox(LINK)][-3:] == [e["seq"] for e in batch]


def test_forged_signature_refuses_the_whole_batch(link: Link) -> None:
    before = link.state()
    batch = link.chain(3)
    batch[2]["sig"] = _other_signature(batch[2])  # the first two are good: nothing of the batch may stay
    link.assert_refused(link.push(batch), 400, "bad_signature", before)
    link.assert_good_envelopes_still_apply()


def test_envelope_signed_by_a_key_that_is_not_pinned_is_refused(link: Link) -> None:
    before = link.state()
    seq, prev = link.ir.head_hash(LINK)
    good = link.envelope(seq + 1, prev)
    stranger = link.envelope(seq + 2, good["hash"], key=Ed25519PrivateKey.generate())
    link.assert_refused(link.push([good, stranger]), 400, "unknown_key", before)
    link.assert_good_envelopes_still_apply()


def test_envelope_signed_by_another_partys_pinned_key_is_refused(link: Link) -> None:
    before = link.state()
    seq, prev = link.ir.head_hash(LINK)
    forged = link.envelope(seq + 1, prev, key=link.other_party_key)
    error = link.assert_refused(link.push([forged]), 400, "unknown_key", before)
    assert error["details"]["seq"] == seq + 1
    link.assert_good_envelopes_still_apply()


def test_altered_body_is_refused_for_its_hash(link: Link) -> None:
    before = link.state()
    batch = link.chain(2)
    batch[1]["record"]["content"]["title"] = "altered after signing"
    link.assert_refused(link.push(batch), 400, "bad_hash", before)
    link.assert_good_envelopes_still_apply()


def test_seq_gap_is_answered_409_with_receipt_and_last_seq_and_the_sender_resumes_from_there(
    link: Link,
) -> None:
    before = link.state()
    head_seq, head_hash = before["head"]
    batch = link.chain(4)
    error = link.assert_refused(link.push(batch[2:]), 409, "seq_gap", before)  # seqs head+3, head+4
    details = error["details"]
    assert details["last_seq"] == head_seq
    receipt = details["receipt"]
    ir_key = protocol.public_key_from_b64(link.ir.public_key())
    protocol.verify_receipt(receipt, {protocol.fingerprint(ir_key): ir_key})
    assert (receipt["link"], receipt["seq"], receipt["hash"], receipt["by"]) == (
        LINK,
        head_seq,
        head_hash,
        "IR",
    )
    # the sender resumes from receipt.seq + 1 with the very same envelopes
    response = link.push(batch)
    assert response.status_code == 200, response.text
    assert response.json()["applied"] == 4
    assert link.ir.head_hash(LINK) == (batch[-1]["seq"], batch[-1]["hash"])


def test_replayed_batch_is_idempotent_counts_duplicates_and_applies_nothing_twice(link: Link) -> None:
    batch = link.chain(3)
    first = link.push(batch)
    assert first.status_code == 200, first.text
    after_first = link.state()

    replay = link.push(batch)
    assert replay.status_code == 200, replay.text
    answer = replay.json()
    assert (answer["applied"], answer["duplicates"], answer["quarantined"]) == (0, 3, 0)
    assert (answer["receipt"]["seq"], answer["receipt"]["hash"]) == (batch[-1]["seq"], batch[-1]["hash"])
    assert link.state() == after_first

    # an old batch overlapping the head with one new envelope: the old ones are skipped, the new one applies
    overlap = [*batch[1:], *link.chain(1)]
    answer = link.push(overlap).json()
    assert (answer["applied"], answer["duplicates"]) == (1, 2), answer
    assert link.ir.count("exchange_received_records", "origin = 'PK'") == after_first["received"] + 1
    assert link.ir.count("exchange_joint_proposals", "proposer = 'PK'") == after_first["joint_proposals"] + 1


def test_reordered_batch_is_refused_and_nothing_is_written(link: Link) -> None:
    before = link.state()
    batch = link.chain(3)
    reordered = [batch[0], batch[2], batch[1]]
    link.assert_refused(link.push(reordered), 400, "malformed", before)
    link.assert_refused(link.push(batch[::-1]), 400, "malformed", before)
    link.assert_good_envelopes_still_apply()


def test_equivocation_is_refused_kept_as_evidence_and_raises_an_alert(link: Link) -> None:
    seq, prev = link.ir.head_hash(LINK)
    first = link.envelope(seq + 1, prev, link.record("the original"))
    assert link.push([first]).status_code == 200
    before = link.state()
    evidence_before = link.ir.count("exchange_evidence")

    # PK's own key signs a second, different envelope for the same seq (a stolen key, or a restored backup)
    second = link.envelope(seq + 1, prev, link.record("the other story"))
    assert second["hash"] != first["hash"]
    follow_up = link.envelope(seq + 2, second["hash"])
    response = link.push([second, follow_up])
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "equivocation"
    assert link.state() == before, "nothing of an equivocating batch may be applied"

    rows = link.ir.query(
        "SELECT kind, link, seq, first_body, second_body FROM exchange_evidence ORDER BY id DESC LIMIT 1"
    )
    assert link.ir.count("exchange_evidence") == evidence_before + 1
    kind, ev_link, ev_seq, first_body, second_body = rows[0]
    assert (kind, ev_link, ev_seq) == ("equivocation", LINK, seq + 1)
    assert {json.loads(first_body)["hash"], json.loads(second_body)["hash"]} == {
        first["hash"],
        second["hash"],
    }
    for body in (first_body, second_body):  # both kept verbatim: each still verifies with PK's key
        protocol.verify_envelope(
            json.loads(body), {protocol.fingerprint(link.key.public_key()): link.key.public_key()}
        )

    alerts = link.ir.query(
        "SELECT kind, severity, link, seq FROM exchange_alerts WHERE kind = 'equivocation'"
    )
    assert ("equivocation", "critical", LINK, seq + 1) in alerts
    listed = link.ir.api("GET", "/api/v1/exchange/alerts")
    assert any(a["kind"] == "equivocation" and a["link"] == LINK and a["seq"] == seq + 1 for a in listed), (
        listed
    )

    # the held envelope stands; the log continues from it
    assert link.ir.head_hash(LINK) == (seq + 1, first["hash"])
    link.assert_good_envelopes_still_apply()


def test_batch_over_the_envelope_count_limit_is_refused_413(link: Link) -> None:
    before = link.state()
    batch = link.chain(BATCH_MAX_ENVELOPES + 1)
    body = json.dumps({"envelopes": batch}).encode()
    assert len(body) < BATCH_MAX_BYTES  # refused for the count, not the size
    error = link.assert_refused(link.push(body=body), 413, "too_large", before)
    assert f"{BATCH_MAX_ENVELOPES + 1} envelopes" in error["message"], error
    response = link.push(batch[:BATCH_MAX_ENVELOPES])  # at the limit it goes through
    assert response.status_code == 200, response.text
    assert response.json()["applied"] == BATCH_MAX_ENVELOPES
    link.assert_good_envelopes_still_apply()


def test_batch_over_the_byte_limit_is_refused_413(link: Link) -> None:
    before = link.state()
    seq, prev = link.ir.head_hash(LINK)
    batch = []
    for i in range(1, 5):  # four envelopes of ~60 KB: about 240 KB, over 2 x 64 KiB + 64 KiB
        env = link.envelope(seq + i, prev, link.record("x" * 30_000))  # (n is in the title too)
        batch.append(env)
        prev = env["hash"]
    body = json.dumps({"envelopes": batch}).encode()
    assert len(body) > BODY_LIMIT
    assert len(batch) <= BATCH_MAX_ENVELOPES  # refused for the size, not the count
    try:
        response = link.push(body=body)
    except httpx.TransportError as exc:  # pragma: no cover - the server must answer, not drop the connection
        pytest.fail(f"the node dropped an oversized push instead of answering 413: {exc!r}")
    link.assert_refused(response, 413, "too_large", before)
    # the same envelopes in smaller batches are fine
    for part in (batch[:2], batch[2:]):
        response = link.push(part)
        assert response.status_code == 200, response.text
    link.assert_good_envelopes_still_apply()


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"envelopes": [', "truncated JSON"),
        (b"\xff\xfe not utf-8", "not UTF-8"),
        (b"[]", "not an object"),
        (b'{"envelopes": {}}', "envelopes not a list"),
        (b"", "empty body"),
    ],
)
def test_malformed_push_is_refused_400_malformed(link: Link, body: bytes, why: str) -> None:
    before = link.state()
    link.assert_refused(link.push(body=body), 400, "malformed", before)
    link.assert_good_envelopes_still_apply(1)


def test_envelope_with_an_unknown_member_is_refused_400_malformed(link: Link) -> None:
    before = link.state()
    batch = link.chain(2)
    batch[1]["extra"] = "smuggled"
    link.assert_refused(link.push(batch), 400, "malformed", before)
    link.assert_good_envelopes_still_apply(1)


def test_unknown_kind_is_quarantined_with_its_reason_and_the_link_keeps_working(link: Link) -> None:
    seq, prev = link.ir.head_hash(LINK)
    strange = link.envelope(seq + 1, prev, link.record("from the future", kind="future.kind"))
    invalid = link.envelope(seq + 2, strange["hash"], link.record("bad content", content={"joint_id": 7}))
    response = link.push([strange, invalid])
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["applied"], answer["quarantined"]) == (0, 2)
    assert answer["receipt"]["seq"] == seq + 2  # accepted into the log: signature and chain are valid

    inbox = {s: (status, reason) for s, status, _rid, reason in link.ir.inbox(LINK)}
    assert inbox[seq + 1][0] == "quarantined"
    assert "future.kind" in inbox[seq + 1][1]
    assert inbox[seq + 2][0] == "quarantined"
    assert inbox[seq + 2][1]

    listed = link.ir.api("GET", "/api/v1/exchange/quarantine")
    mine = {q["seq"]: q for q in listed if q["link"] == LINK}
    assert mine[seq + 1]["kind"] == "future.kind"
    assert "future.kind" in mine[seq + 1]["reason"]
    assert mine[seq + 1]["envelope"]["hash"] == strange["hash"]
    assert seq + 2 in mine
    alerts = link.ir.api("GET", "/api/v1/exchange/alerts")
    assert any(a["kind"] == "quarantine" and a["seq"] == seq + 1 for a in alerts), alerts

    link.assert_good_envelopes_still_apply()


def test_push_on_a_link_from_a_party_that_is_not_a_peer_is_refused(link: Link) -> None:
    before = link.state()
    stranger = Ed25519PrivateKey.generate()
    env = protocol.make_envelope(
        stranger, "XX>IR", 1, protocol.GENESIS_HASH, datetime.now(UTC), link.record(1)
    )
    with httpx.Client(timeout=30.0) as client:
        response = client.post(f"{link.ir.url}/exchange/v1/links/XX/IR/envelopes", json={"envelopes": [env]})
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "unknown_peer"
        # and a push for a link this node does not receive
        response = client.post(f"{link.ir.url}/exchange/v1/links/PK/AF/envelopes", json={"envelopes": []})
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "unknown_link"
    assert link.state() == before


def _signed_get(link: Link, path: str, key: Ed25519PrivateKey, party: str, at: datetime) -> httpx.Response:
    headers = protocol.sign_request(key, party, "GET", path, b"", at)
    with httpx.Client(timeout=30.0) as client:
        return client.get(link.ir.url + path, headers=headers)


def test_signed_requests_are_checked_for_time_key_owner_and_signature(link: Link) -> None:
    path = "/exchange/v1/links/PK/IR/receipt"
    now = datetime.now(UTC)
    # PK asks where IR stands on PK>IR: a signed receipt for IR's head
    response = _signed_get(link, path, link.key, "PK", now)
    assert response.status_code == 200, response.text
    assert response.json()["receipt"]["seq"] == link.ir.head(LINK)
    # 25 hours old: outside exchange_request_max_skew_minutes (24 h)
    response = _signed_get(link, path, link.key, "PK", now - timedelta(hours=25))
    assert (response.status_code, response.json()["error"]["code"]) == (400, "stale_request"), response.text
    # AF's pinned key claiming to be PK
    response = _signed_get(link, path, link.other_party_key, "PK", now)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "wrong_key"), response.text
    # a key IR does not know
    response = _signed_get(link, path, Ed25519PrivateKey.generate(), "PK", now)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "unknown_key"), response.text
    # PK signing a pull of IR's link to AF: a peer may only pull its own link
    response = _signed_get(link, "/exchange/v1/links/IR/AF/envelopes?after=0", link.key, "PK", now)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "unknown_link"), response.text
    # a signature over another target does not carry over
    headers = protocol.sign_request(
        link.key, "PK", "GET", "/exchange/v1/links/IR/PK/envelopes?after=0", b"", now
    )
    with httpx.Client(timeout=30.0) as client:
        response = client.get(link.ir.url + "/exchange/v1/links/IR/PK/envelopes?after=1", headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (400, "bad_signature"), response.text
