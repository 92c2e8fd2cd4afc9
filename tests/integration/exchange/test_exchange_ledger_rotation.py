"""The ledger after real traffic both ways with a key rotation in the middle: export, offline verification,
and one changed byte named by link and seq. Also: after the rotation only the new key signs.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from exchange_nodes import (
    Party,
    assert_received_exactly_once,
    cli_exit,
    cli_process,
    flat,
    make_pair,
    running,
    wait_for,
)

from sarhad.exchange import protocol

pytestmark = pytest.mark.slow  # two real node processes; still part of every run

DELIVERY_SECONDS = 30.0


def _delivered(sender: Party, receiver: Party) -> bool:
    link = f"{sender.code}>{receiver.code}"
    head = sender.head(link)
    return head > 0 and sender.receipted(link) == head and receiver.head(link) == head


def _wait_delivered(sender: Party, receiver: Party, what: str) -> None:
    wait_for(
        lambda: _delivered(sender, receiver),
        DELIVERY_SECONDS,
        what,
        on_timeout=lambda: sender.diagnosis() + receiver.diagnosis(),
    )


def _verify(path: Path, *trust: str, own_process: bool = False) -> tuple[int, str]:
    """``sarhad ledger verify`` (in-process, or as its own process as an auditor runs it): exit code, output."""
    args = ["ledger", "verify", str(path)]
    for item in trust:
        args += ["--trust", item]
    if own_process:
        result = cli_process(*args)
        return result.returncode, flat(result.stdout + "\n" + result.stderr)
    code, output = cli_exit(*args)
    return code, flat(output)


def _export(party: Party, peer: str, out: Path) -> dict:
    result = cli_process("ledger", "export", "--peer", peer, str(out), "-d", str(party.data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _changed_copy(original: Path, out: Path, old: bytes, new: bytes) -> Path:
    data = original.read_bytes()
    assert data.count(old) == 1, f"{old!r} occurs {data.count(old)} times"
    assert len(old) == len(new) and sum(a != b for a, b in zip(old, new, strict=True)) == 1
    out.write_bytes(data.replace(old, new))
    return out


def test_ledger_with_traffic_both_ways_and_a_key_rotation_verifies_and_a_changed_byte_is_named(
    tmp_path,
) -> None:
    pk, ir = make_pair(tmp_path)
    with running(pk, ir):
        pk.start()
        ir.start()

        # traffic both ways: PK proposes, IR proposes and accepts one of PK's proposals
        first = [pk.propose("IR", n) for n in range(5001, 5006)]
        for n in range(7001, 7004):
            ir.propose("PK", n)
        _wait_delivered(pk, ir, "PK's first proposals to be receipted")
        ir.api(
            "POST",
            f"/api/v1/joint/{first[0]['id']}/decisions",
            json={"content_hash": first[0]["proposals"][0]["content_hash"], "decision": "accept"},
        )
        _wait_delivered(ir, pk, "IR's proposals and decision to be receipted")

        # PK rotates its key while both nodes run (the operator's command, a separate process)
        old_fp = pk.fingerprint()
        ir_fp = ir.fingerprint()
        rotated = cli_process("keys", "rotate", "-d", str(pk.data_dir))
        assert rotated.returncode == 0, rotated.stdout + rotated.stderr
        new_fp = pk.fingerprint()
        assert new_fp != old_fp

        for n in range(5006, 5009):
            pk.propose("IR", n)
        _wait_delivered(pk, ir, "the rotation and the proposals after it to be receipted")
        for n in range(7004, 7006):
            ir.propose("PK", n)  # PK now receipts with its new key; IR must accept that
        _wait_delivered(ir, pk, "IR's later proposals to be receipted with PK's new key")

        # IR took the rotation: the envelopes after it are signed by the new key and were applied
        rotation = ir.query(
            "SELECT seq, status FROM exchange_inbox WHERE link = 'PK>IR' AND record_kind = 'key_rotation'"
        )
        assert len(rotation) == 1 and rotation[0][1] == "applied", rotation
        rot_seq = rotation[0][0]
        keys = ir.query(
            "SELECT fingerprint, source, valid_from_seq, valid_until_seq FROM exchange_peer_keys "
            "WHERE party = 'PK' ORDER BY valid_from_seq"
        )
        assert keys == [(old_fp, "pinned", 1, rot_seq), (new_fp, "rotation", rot_seq + 1, None)]
        after = [
            (seq, status, json.loads(body)["key"])
            for seq, status, body in ir.query(
                "SELECT seq, status, body FROM exchange_inbox WHERE link = 'PK>IR' AND seq > ? ORDER BY seq",
                rot_seq,
            )
        ]
        assert after == [(rot_seq + i, "applied", new_fp) for i in (1, 2, 3)]
        total = pk.head("PK>IR")
        assert total == 9  # 5 + rotation + 3
        assert ir.count("exchange_received_records", "origin = 'PK'") == 8
        assert_received_exactly_once(pk, "IR>PK", 6, proposals=5)  # 3 proposals, 1 decision, 2 more proposals
        assert pk.count("exchange_joint_decisions", "party = 'IR'") == 1

        # the retired key no longer signs on PK>IR, however the envelope reaches IR
        retired = protocol.private_key_from_pem((pk.data_dir / "retired-keys" / f"{old_fp}.pem").read_bytes())
        head_seq, head_hash = ir.head_hash("PK>IR")
        stale = protocol.make_envelope(
            retired,
            "PK>IR",
            head_seq + 1,
            head_hash,
            datetime.now(UTC),
            {
                "kind": "joint.proposal",
                "origin": "PK",
                "id": "signed-with-the-old-key",
                "version": 1,
                "op": "upsert",
                "handling": "no_onward",
                "tlp": "amber",
                "content": {},
                "content_hash": "0" * 64,
            },
        )
        answer = httpx.post(
            f"{ir.url}/exchange/v1/links/PK/IR/envelopes", json={"envelopes": [stale]}, timeout=30
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["code"] in ("unknown_key", "wrong_key"), answer.text
        assert ir.head_hash("PK>IR") == (head_seq, head_hash)

        # export on both sides; both verify offline, with and without the fingerprints pinned out of band
        pk_ledger = tmp_path / "pk-ir.ledger.json"
        ir_ledger = tmp_path / "ir-pk.ledger.json"
        doc = _export(pk, "IR", pk_ledger)
        _export(ir, "PK", ir_ledger)
        for path in (pk_ledger, ir_ledger):
            code, output = _verify(path, own_process=True)
            assert code == 0, output
            assert "ledger verified" in output
            code, output = _verify(path, f"PK={old_fp}", f"IR={ir_fp}")
            assert code == 0, output
        links = {entry["link"]: entry for entry in doc["links"]}
        assert [e["seq"] for e in links["PK>IR"]["envelopes"]] == list(range(1, 10))
        assert [e["seq"] for e in links["IR>PK"]["envelopes"]] == list(range(1, 7))
        assert max(r["seq"] for r in links["PK>IR"]["receipts"]) == 9
        assert max(r["seq"] for r in links["IR>PK"]["receipts"]) == 6
        # an auditor who trusts a different key for PK is told so
        code, output = _verify(pk_ledger, f"PK={'ab' * 32}", f"IR={ir_fp}")
        assert code != 0 and "untrusted_key" in output, output

        # one changed digit inside a record's content
        target = next(
            e for e in links["PK>IR"]["envelopes"] if e["record"]["content"]["content"] == {"n": 5003}
        )
        changed = _changed_copy(pk_ledger, tmp_path / "content.json", b'"n": 5003', b'"n": 5903')
        code, output = _verify(changed, own_process=True)
        assert code != 0, output
        assert re.search(rf"PK>IR envelope #\d+ \(seq {target['seq']}\): bad_hash", output), output

        # one changed character of a signature, on an envelope signed with the new key
        signed_new = links["PK>IR"]["envelopes"][rot_seq + 1]
        sig = signed_new["sig"]
        flipped = sig[:10] + ("B" if sig[10] != "B" else "C") + sig[11:]
        changed = _changed_copy(pk_ledger, tmp_path / "sig.json", sig.encode(), flipped.encode())
        code, output = _verify(changed)
        assert code != 0, output
        assert re.search(rf"PK>IR envelope #\d+ \(seq {signed_new['seq']}\): bad_signature", output), output

        # one changed character of a receipt IR signed, in IR's own export
        ir_doc = json.loads(ir_ledger.read_text(encoding="utf-8"))
        pk_ir_on_ir = next(entry for entry in ir_doc["links"] if entry["link"] == "PK>IR")
        receipt = next(r for r in pk_ir_on_ir["receipts"] if r["seq"] > 0)  # issued by IR
        rsig = receipt["sig"]
        changed = _changed_copy(
            ir_ledger,
            tmp_path / "receipt.json",
            rsig.encode(),
            (rsig[:5] + ("A" if rsig[5] != "A" else "B") + rsig[6:]).encode(),
        )
        code, output = _verify(changed)
        assert code != 0, output
        assert re.search(rf"PK>IR receipt #\d+ \(seq {receipt['seq']}\): bad_signature", output), output
