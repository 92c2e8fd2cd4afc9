"""A key belongs to exactly one party, ever: a rotation to a key already known is quarantined (§6).

IR is a real ``sarhad serve`` process; the test plays PK (whose node is created and paired but not started),
signing envelopes with PK's real key file, so it decides exactly which rotations arrive. Each refused
rotation is accepted into the log (its signature and chain are valid), quarantined with its reason and an
alert, and leaves PK's current key in force: the envelope after it, signed by that key, applies, and
nothing signed by the key the rotation named is accepted as PK's. The ledger export still verifies, naming
each refused rotation and nothing else.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from exchange_nodes import Party, add_peer, cli_exit, cli_process, create_party, make_pair, running

from sarhad.exchange import protocol

pytestmark = pytest.mark.slow  # a real node process; still part of every run

LINK = "PK>IR"
PUSH = "/exchange/v1/links/PK/IR/envelopes"


@dataclass
class Pk:
    """PK's side of the link as the test plays it."""

    ir: Party
    pk: Party
    key: Ed25519PrivateKey
    af_key: Ed25519PrivateKey

    def push(self, record: dict[str, Any], key: Ed25519PrivateKey | None = None) -> httpx.Response:
        seq, prev = self.ir.head_hash(LINK)
        env = protocol.make_envelope(key or self.key, LINK, seq + 1, prev, datetime.now(UTC), record)
        with httpx.Client(timeout=30.0) as client:
            return client.post(self.ir.url + PUSH, json={"envelopes": [env]})

    def rotation(self, new_key: Ed25519PublicKey) -> dict[str, Any]:
        announcement = protocol.key_rotation_record(new_key)
        content = dict(announcement)
        return {
            "origin": "PK",
            "id": announcement["new_fingerprint"],
            "version": 1,
            "op": "upsert",
            "handling": "no_onward",
            "tlp": "clear",
            "content": content,
            "content_hash": protocol.sha256_hex(protocol.canonical_json(content)),
            **announcement,
        }

    def proposal(self) -> dict[str, Any]:
        joint_id = uuid.uuid4().hex
        inner = {"n": 1}
        content = {
            "joint_id": joint_id,
            "subject": "test",
            "title": "after the rotation",
            "signatories": ["IR", "PK"],
            "content": inner,
            "content_hash": protocol.sha256_hex(protocol.canonical_json(inner)),
            "based_on_hash": None,
            "proposed_by": "liaison",
        }
        return {
            "kind": "joint.proposal",
            "origin": "PK",
            "id": f"{joint_id}.p1.PK",
            "version": 1,
            "op": "upsert",
            "handling": "no_onward",
            "tlp": "amber",
            "content": content,
            "content_hash": protocol.sha256_hex(protocol.canonical_json(content)),
        }

    def pk_keys(self) -> list[tuple[str, str, int, int | None]]:
        return [
            (str(fp), str(source), int(first), last)
            for fp, source, first, last in self.ir.query(
                "SELECT fingerprint, source, valid_from_seq, valid_until_seq FROM exchange_peer_keys "
                "WHERE party = 'PK' ORDER BY valid_from_seq"
            )
        ]

    def assert_quarantined_and_key_unchanged(self, record: dict[str, Any], why: str) -> None:
        keys_before = self.pk_keys()
        answer = self.push(record)
        assert answer.status_code == 200, answer.text
        assert (answer.json()["applied"], answer.json()["quarantined"]) == (0, 1)
        seq, status, _rid, reason = self.ir.inbox(LINK)[-1]
        assert status == "quarantined" and "key rotation refused" in reason and why in reason, reason
        assert self.ir.count("exchange_alerts", "kind = 'quarantine' AND seq = ?", seq) == 1
        assert self.pk_keys() == keys_before, "a refused rotation changed PK's keys"
        # PK's current key still signs: the next envelope applies
        after = self.push(self.proposal())
        assert after.status_code == 200 and after.json()["applied"] == 1, after.text


@pytest.fixture(scope="module")
def pk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pk]:
    root: Path = tmp_path_factory.mktemp("rotation")
    pk, ir = make_pair(root)
    af = create_party(root, "AF", "Afghanistan")
    add_peer(ir, af)  # IR pins AF's key for AF
    key = protocol.private_key_from_pem(pk.key_file.read_bytes())
    af_key = protocol.private_key_from_pem(af.key_file.read_bytes())
    with running(ir):
        ir.start()
        yield Pk(ir=ir, pk=pk, key=key, af_key=af_key)


def test_rotation_to_the_receivers_own_key_is_quarantined_and_that_key_never_signs_as_the_peer(
    pk: Pk,
) -> None:
    ir_private = protocol.private_key_from_pem(pk.ir.key_file.read_bytes())
    pk.assert_quarantined_and_key_unchanged(pk.rotation(ir_private.public_key()), "a key of IR, this node")
    # an envelope signed with IR's own key is not PK's
    forged = pk.push(pk.proposal(), key=ir_private)
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "unknown_key", forged.text


def test_rotation_to_a_third_partys_key_is_quarantined(pk: Pk) -> None:
    pk.assert_quarantined_and_key_unchanged(pk.rotation(pk.af_key.public_key()), "a key of AF")
    forged = pk.push(pk.proposal(), key=pk.af_key)
    assert forged.status_code == 400 and forged.json()["error"]["code"] == "unknown_key", forged.text


def test_rotation_to_the_current_key_is_quarantined(pk: Pk) -> None:
    pk.assert_quarantined_and_key_unchanged(pk.rotation(pk.key.public_key()), "used before")


def test_rotation_back_to_a_retired_key_is_quarantined_after_a_good_rotation_applied(pk: Pk) -> None:
    old_key = pk.key
    new_key = Ed25519PrivateKey.generate()
    good = pk.push(pk.rotation(new_key.public_key()))
    assert good.status_code == 200 and good.json()["applied"] == 1, good.text
    pk.key = new_key  # from the next seq only the new key signs
    pk.assert_quarantined_and_key_unchanged(pk.rotation(old_key.public_key()), "used before")


def test_pairing_a_key_already_known_for_another_party_is_refused(pk: Pk, tmp_path: Path) -> None:
    code, output = cli_exit(
        "peer",
        "add",
        "-d",
        str(pk.ir.data_dir),
        "--party",
        "TJ",
        "--url",
        "http://127.0.0.1:9",
        "--key",
        protocol.public_key_b64(pk.af_key.public_key()),
    )
    assert code != 0 and "a key of AF" in " ".join(output.split()), output


def test_the_ledger_after_the_refused_rotations_names_each_and_nothing_else(pk: Pk, tmp_path: Path) -> None:
    out = tmp_path / "ir-pk.json"
    exported = cli_process("ledger", "export", "--peer", "PK", str(out), "-d", str(pk.ir.data_dir))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    doc = json.loads(out.read_text(encoding="utf-8"))
    refused = [
        env["seq"]
        for entry in doc["links"]
        if entry["link"] == LINK
        for env in entry["envelopes"]
        if env["record"].get("kind") == "key_rotation"
    ]
    verified = cli_process("ledger", "verify", str(out))
    output = " ".join((verified.stdout + verified.stderr).split())
    problems = [int(seq) for seq in re.findall(r"PK>IR envelope #\d+ \(seq (\d+)\): bad_rotation", output)]
    assert verified.returncode != 0
    # four refused rotations (IR's key, AF's key, PK's current key, PK's retired key) and one good one
    good = [seq for seq, status, _rid, _reason in pk.ir.inbox(LINK) if seq in refused and status == "applied"]
    assert len(refused) == 5 and len(good) == 1, output
    assert sorted(set(problems)) == sorted(set(refused) - set(good)), output
    for code in ("wrong_key", "unknown_key", "undeclared_key", "key_not_announced", "bad_signature"):
        assert code not in output, output
