"""The offline verifier's verdicts that issue 14 made exact: a receipt inside a gap of the export, and
envelopes outside the JSON domain (stored before a node enforced it), reported once with the chain going on."""

from __future__ import annotations

import base64
from typing import Any

from test_ledger import IR_KEY, PK_KEY, T0, Log, parties, reseal

from sarhad.exchange import protocol as p
from sarhad.exchange.ledger import build_ledger, dump_ledger, parse_ledger, verify_ledger


def test_receipt_for_a_seq_missing_from_a_gapped_export_is_receipt_in_gap() -> None:
    log = Log("PK>IR", PK_KEY)
    for n in range(1, 5):
        log.send({"title": f"n{n}"})
    log.acknowledge(2, IR_KEY)
    log.acknowledge(4, IR_KEY)
    doc = build_ledger("PK", parties(), [log.entry()], exported_at=T0)
    del doc["links"][0]["envelopes"][1]  # seq 2 is missing: a gap inside the exported range
    report = verify_ledger(reseal(doc))
    found = [(x.what, x.seq, x.code) for x in report.problems]
    assert found == [
        ("envelope", 2, "seq_gap"),
        ("receipt", 2, "receipt_in_gap"),
    ]  # seq_gap names the seq expected
    assert report.links["PK>IR"].last_receipted_seq == 4  # the receipt for 4 still matches envelope 4


def _raw_envelope(seq: int, prev: str, content: Any) -> dict[str, Any]:
    """Signed over the bytes a careless sender wrote (the lenient form: unsafe integers as digits)."""
    rec = {
        "kind": "bulletin",
        "origin": "PK",
        "id": f"r{seq}",
        "version": 1,
        "op": "upsert",
        "content": content,
    }
    env: dict[str, Any] = {
        "v": 1, "link": "PK>IR", "seq": seq, "prev": prev, "sent_at": "2025-01-15T09:30:00Z",
        "key": p.fingerprint(PK_KEY.public_key()), "record": rec,
    }  # fmt: skip
    env["hash"] = p.sha256_hex(p.canonical_json_lenient(env))
    env["sig"] = base64.b64encode(PK_KEY.sign(f"sarhad-envelope-v1:{env['hash']}".encode())).decode()
    return env


def test_envelopes_outside_the_json_domain_are_reported_once_and_the_file_still_seals_dumps_and_parses() -> (
    None
):
    deep: Any = 0
    for _ in range(1000):  # before the limit, nodes stored up to ~1020 levels (their parser's limit)
        deep = [deep]
    first = _raw_envelope(1, p.GENESIS_HASH, {"title": "fine"})
    second = _raw_envelope(2, first["hash"], {"deep": deep})
    third = _raw_envelope(3, second["hash"], {"n": 2**64})
    fourth = _raw_envelope(4, third["hash"], {"title": "after"})
    doc = build_ledger(
        "PK", parties(), [{"link": "PK>IR", "envelopes": [first, second, third, fourth], "receipts": []}]
    )
    again = parse_ledger(dump_ledger(doc))  # no recursion error on the way out or back in
    report = verify_ledger(again)
    assert [(x.seq, x.code) for x in report.problems] == [(2, "too_deep"), (3, "unsafe_number")]
    assert report.links["PK>IR"].last_seq == 4
