"""Only a record's originator writes it: a relaying third party cannot version or withdraw it (§11.2).

Three parties, real processes where it matters: PK (the originator) and IR (the receiver) run ``sarhad
serve``; AF is paired with both but not started, and the test plays AF's part, pushing envelopes to IR on
``AF>IR`` signed with AF's real key file. AF is a configured peer of IR, so everything it signs is a valid
envelope on its own link; what it must not be able to do is write PK's records.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from exchange_nodes import Party, add_peer, create_party, make_pair, running, wait_for

from sarhad.exchange import protocol

pytestmark = pytest.mark.slow  # real node processes; still part of every run

AF_LINK = "AF>IR"
AF_PUSH = "/exchange/v1/links/AF/IR/envelopes"


@dataclass
class Trio:
    pk: Party
    ir: Party
    af: Party
    af_key: Ed25519PrivateKey

    def relay(self, record: dict[str, Any]) -> dict[str, Any]:
        """AF pushes ``record`` to IR as the next envelope of ``AF>IR``; IR's answer (push must be accepted)."""
        seq, prev = self.ir.head_hash(AF_LINK)
        env = protocol.make_envelope(self.af_key, AF_LINK, seq + 1, prev, datetime.now(UTC), record)
        with httpx.Client(timeout=30.0) as client:
            answer = client.post(self.ir.url + AF_PUSH, json={"envelopes": [env]})
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    def last_af_inbox(self) -> tuple[str, str]:
        _seq, status, _rid, reason = self.ir.inbox(AF_LINK)[-1]
        return status, reason

    def bulletin_at_ir(self, record_id: str) -> tuple[int, str, str | None]:
        rows = self.ir.query(
            "SELECT version, title, withdrawn_at FROM bulletins WHERE origin = 'PK' AND id = ?", record_id
        )
        assert len(rows) == 1, rows
        version, title, withdrawn = rows[0]
        return int(version), str(title), withdrawn

    def received_record(self, record_id: str) -> dict[str, Any]:
        """The record exactly as PK's envelope carried it to IR (from IR's inbox)."""
        body = self.ir.scalar(
            "SELECT body FROM exchange_inbox WHERE link = 'PK>IR' AND record_id = ? ORDER BY seq DESC",
            record_id,
        )
        return json.loads(body)["record"]  # type: ignore[no-any-return]


def _rehash(record: dict[str, Any]) -> dict[str, Any]:
    record["content_hash"] = protocol.sha256_hex(protocol.canonical_json(record["content"]))
    return record


@pytest.fixture(scope="module")
def trio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Trio]:
    root: Path = tmp_path_factory.mktemp("relay")
    pk, ir = make_pair(root)
    af = create_party(root, "AF", "Afghanistan")
    for here, there in ((ir, af), (af, ir), (pk, af), (af, pk)):
        add_peer(here, there)
    af_key = protocol.private_key_from_pem(af.key_file.read_bytes())
    with running(pk, ir):
        pk.start()
        ir.start()
        yield Trio(pk=pk, ir=ir, af=af, af_key=af_key)


def _released(
    trio: Trio, n: int, handling: str = "no_onward", to: tuple[str, ...] = ("IR",)
) -> dict[str, Any]:
    created = trio.pk.api(
        "POST",
        "/api/v1/bulletins",
        json={
            "title": f"PK bulletin {n}",
            "body": f"n={n}",
            "release_to": list(to),
            "tlp": "amber",
            "handling": handling,
        },
    )
    return created  # type: ignore[no-any-return]


def _wait_at_ir(trio: Trio, record_id: str) -> None:
    wait_for(
        lambda: trio.ir.count("bulletins", "origin = 'PK' AND id = ?", record_id) == 1,
        30,
        f"PK's bulletin {record_id} to reach IR",
        on_timeout=lambda: trio.pk.diagnosis() + trio.ir.diagnosis(),
    )


def test_a_relaying_party_cannot_overwrite_or_withdraw_the_originators_records(trio: Trio) -> None:
    first, second = _released(trio, 1), _released(trio, 2)
    _wait_at_ir(trio, first["id"])
    _wait_at_ir(trio, second["id"])

    # AF "relays" a version 2 of PK's first bulletin that PK never wrote (no origin signature) ...
    forged = _rehash(copy.deepcopy(trio.received_record(first["id"])))
    forged.update(version=2, handling="onward_allowed")
    forged["content"]["title"] = "forged by AF"
    forged = _rehash(forged)
    answer = trio.relay(forged)
    assert (answer["applied"], answer["quarantined"]) == (0, 1)
    status, reason = trio.last_af_inbox()
    assert status == "quarantined" and "without PK's own signature" in reason, reason
    assert trio.bulletin_at_ir(first["id"]) == (1, "PK bulletin 1", None)

    # ... and a withdrawal of PK's second bulletin
    tombstone = {**trio.received_record(second["id"]), "op": "withdraw", "content": {"reason": "AF says so"}}
    tombstone = _rehash({**tombstone, "version": 1, "handling": "onward_allowed"})
    answer = trio.relay(tombstone)
    assert (answer["applied"], answer["quarantined"]) == (0, 1)
    assert trio.bulletin_at_ir(second["id"])[2] is None, "AF withdrew PK's bulletin"

    # an origin signature AF made itself, naming its own key or PK's, does not pass for PK's
    for claimed in (protocol.fingerprint(trio.af_key.public_key()), trio.pk.fingerprint()):
        signed = dict(forged)
        sig = protocol.sign_origin(trio.af_key, signed)
        sig["key"] = claimed
        signed["origin_sig"] = sig
        answer = trio.relay(signed)
        assert answer["quarantined"] == 1
        status, reason = trio.last_af_inbox()
        assert status == "quarantined" and "origin signature of PK" in reason, reason
    assert trio.bulletin_at_ir(first["id"]) == (1, "PK bulletin 1", None)
    assert trio.ir.count("exchange_received_records", "origin = 'PK' AND withdrawn_at IS NOT NULL") == 0


def test_a_record_relayed_with_the_originators_signature_is_accepted_and_a_changed_one_is_not(
    trio: Trio,
) -> None:
    # PK releases a bulletin to AF only, onward release allowed; AF (not running) never receives it, but its
    # record, as PK signed it, is in PK's outbox: exactly what AF would hold and pass on.
    created = _released(trio, 3, handling="onward_allowed", to=("AF",))
    body = trio.pk.scalar(
        "SELECT body FROM exchange_outbox WHERE link = 'PK>AF' AND record_id = ?", created["id"]
    )
    genuine = json.loads(body)["record"]
    assert genuine["origin_sig"]["key"] == trio.pk.fingerprint()

    changed = _rehash(copy.deepcopy(genuine))
    changed["content"]["body"] = "changed by AF"
    changed = _rehash(changed)
    assert trio.relay(changed)["quarantined"] == 1
    status, reason = trio.last_af_inbox()
    assert status == "quarantined" and "bad_signature" in reason, reason

    loosened = {**genuine, "tlp": "green"}  # the relayer may tighten the label, never loosen it
    assert trio.relay(loosened)["quarantined"] == 1
    assert trio.ir.count("bulletins", "origin = 'PK' AND id = ?", created["id"]) == 0

    tightened = {**genuine, "tlp": "red"}
    answer = trio.relay(tightened)
    assert (answer["applied"], answer["quarantined"]) == (1, 0), trio.last_af_inbox()
    assert trio.bulletin_at_ir(created["id"]) == (1, "PK bulletin 3", None)
