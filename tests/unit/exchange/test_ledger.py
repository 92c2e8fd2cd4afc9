"""Offline verification of exported ledger files: chains, receipts, key rotation, trust, tampering."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sarhad.exchange import protocol as p
from sarhad.exchange.ledger import (
    LEDGER_FORMAT,
    LedgerError,
    LedgerReport,
    build_ledger,
    dump_ledger,
    key_entry,
    ledger_digest,
    load_ledger,
    parse_ledger,
    verify_ledger,
)
from sarhad.exchange.protocol import GENESIS_HASH

PK_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(0x01, 0x21)))
IR_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(0x21, 0x41)))
PK_NEXT_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(0x41, 0x61)))
IR_NEXT_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(0x61, 0x81)))
MALLORY_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(0x81, 0xA1)))
T0 = datetime(2025, 3, 1, 6, 0, tzinfo=UTC)


def fp(key: Ed25519PrivateKey) -> str:
    return p.fingerprint(key.public_key())


class Log:
    """Builds one link's log the way a sending node would, signing with whichever key is current."""

    def __init__(self, link: str, key: Ed25519PrivateKey) -> None:
        self.link = link
        self.key = key
        self.envelopes: list[dict[str, Any]] = []
        self.receipts: list[dict[str, Any]] = []

    @property
    def last_hash(self) -> str:
        return self.envelopes[-1]["hash"] if self.envelopes else GENESIS_HASH

    def send(self, content: dict[str, Any], kind: str = "incident") -> dict[str, Any]:
        seq = len(self.envelopes) + 1
        sender = self.link[:2]
        rec = {"kind": kind, "origin": sender, "id": f"{sender}-{seq}", "version": 1, "op": "upsert"}
        rec["content"] = content
        env = p.make_envelope(self.key, self.link, seq, self.last_hash, T0 + timedelta(minutes=seq), rec)
        self.envelopes.append(env)
        return env

    def rotate(self, new_key: Ed25519PrivateKey) -> dict[str, Any]:
        seq = len(self.envelopes) + 1
        rec = {"origin": self.link[:2], "id": f"rotation-{seq}", "version": 1, "op": "upsert"}
        rec |= p.key_rotation_record(new_key.public_key())
        env = p.make_envelope(self.key, self.link, seq, self.last_hash, T0 + timedelta(minutes=seq), rec)
        self.envelopes.append(env)
        self.key = new_key
        return env

    def acknowledge(self, seq: int, receiver_key: Ed25519PrivateKey) -> dict[str, Any]:
        h = self.envelopes[seq - 1]["hash"] if seq else GENESIS_HASH
        at = T0 + timedelta(minutes=seq, seconds=30)
        rcpt = p.make_receipt(receiver_key, self.link, seq, h, at, self.link[-2:])
        self.receipts.append(rcpt)
        return rcpt

    def entry(self) -> dict[str, Any]:
        return {"link": self.link, "envelopes": self.envelopes, "receipts": self.receipts}


def two_way_logs() -> tuple[Log, Log]:
    """Three envelopes each way, with receipts, in English, Urdu and Persian."""
    pk_ir, ir_pk = Log("PK>IR", PK_KEY), Log("IR>PK", IR_KEY)
    pk_ir.acknowledge(0, IR_KEY)
    pk_ir.send({"title": "Smuggling attempt near Taftan", "section": "TAF-03", "persons": 4})
    pk_ir.send({"title": "تفتان کے قریب اسمگلنگ کی کوشش", "lat": 28.9706, "lon": 61.5613})
    pk_ir.acknowledge(2, IR_KEY)
    pk_ir.send({"title": "Patrol 7 requests coordination", "precedence": "immediate", "ack": True})
    pk_ir.acknowledge(3, IR_KEY)
    ir_pk.send({"title": "گشت مرزی در بخش میرجاوه", "section": "MJV-01"})
    ir_pk.acknowledge(1, PK_KEY)
    ir_pk.send({"title": "Market at Pishin open 08:00–16:00", "hours": [8, 16]})
    ir_pk.send({"title": "Seizure: 12 kg", "kg": 12, "note": None})
    ir_pk.acknowledge(3, PK_KEY)
    return pk_ir, ir_pk


def parties(pk: list[dict[str, Any]] | None = None, ir: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "PK": {"keys": pk if pk is not None else [key_entry(PK_KEY.public_key(), {"PK>IR": 1})]},
        "IR": {"keys": ir if ir is not None else [key_entry(IR_KEY.public_key(), {"IR>PK": 1})]},
    }


def sample_ledger() -> dict[str, Any]:
    pk_ir, ir_pk = two_way_logs()
    return build_ledger("PK", parties(), [pk_ir.entry(), ir_pk.entry()], exported_at=T0 + timedelta(days=1))


TRUST = {"PK": {fp(PK_KEY)}, "IR": {fp(IR_KEY)}}


def reseal(doc: dict[str, Any]) -> dict[str, Any]:
    """Recompute the digest, as someone who edits the file on purpose would."""
    doc["digest"] = ledger_digest(doc)
    return doc


def codes(report: LedgerReport) -> list[str]:
    return [problem.code for problem in report.problems]


# ---------------------------------------------------------------------------------------------------------
# A sound ledger
# ---------------------------------------------------------------------------------------------------------


def test_exported_ledger_with_receipts_verifies_and_summarises_each_link() -> None:
    report = verify_ledger(sample_ledger())
    assert report.ok, report.problems
    assert report.first_problem is None
    assert report.exported_by == "PK" and not report.trusted
    pk_ir, ir_pk = report.links["PK>IR"], report.links["IR>PK"]
    assert (pk_ir.count, pk_ir.first_seq, pk_ir.last_seq, pk_ir.receipts, pk_ir.last_receipted_seq) == (
        3,
        1,
        3,
        3,
        3,
    )
    assert (ir_pk.count, ir_pk.last_seq, ir_pk.last_receipted_seq) == (3, 3, 3)


def test_exported_ledger_verifies_against_fingerprints_obtained_out_of_band() -> None:
    report = verify_ledger(sample_ledger(), trusted_fingerprints=TRUST)
    assert report.ok, report.problems
    assert report.trusted


def test_ledger_survives_writing_and_reading_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ledger.json"
    path.write_bytes(dump_ledger(sample_ledger()))
    doc = load_ledger(path)
    assert doc["format"] == LEDGER_FORMAT
    assert verify_ledger(doc, trusted_fingerprints=TRUST).ok


def test_link_with_nothing_sent_yet_verifies_with_a_receipt_for_seq_zero() -> None:
    log = Log("PK>IR", PK_KEY)
    log.acknowledge(0, IR_KEY)
    report = verify_ledger(build_ledger("IR", parties(), [log.entry()]), trusted_fingerprints=TRUST)
    assert report.ok, report.problems
    assert (report.links["PK>IR"].last_seq, report.links["PK>IR"].last_receipted_seq) == (0, 0)


def test_partial_export_from_a_declared_seq_verifies() -> None:
    pk_ir, _ = two_way_logs()
    entry = pk_ir.entry() | {
        "from_seq": 2,
        "from_prev": pk_ir.envelopes[0]["hash"],
        "envelopes": pk_ir.envelopes[1:],
        "receipts": pk_ir.receipts[1:],
    }
    report = verify_ledger(build_ledger("PK", parties(), [entry]), trusted_fingerprints=TRUST)
    assert report.ok, report.problems
    assert (report.links["PK>IR"].first_seq, report.links["PK>IR"].count) == (2, 2)


# ---------------------------------------------------------------------------------------------------------
# Key rotation and trust
# ---------------------------------------------------------------------------------------------------------


def rotated_ledger() -> dict[str, Any]:
    """PK rotates its key after envelope 2 of PK>IR; IR rotates after envelope 1 of IR>PK and then
    acknowledges with its new key."""
    pk_ir, ir_pk = Log("PK>IR", PK_KEY), Log("IR>PK", IR_KEY)
    pk_ir.send({"title": "before rotation"})
    pk_ir.rotate(PK_NEXT_KEY)
    pk_ir.send({"title": "signed by the new key"})
    pk_ir.send({"title": "and again"})
    ir_pk.send({"title": "IR one"})
    ir_pk.rotate(IR_NEXT_KEY)
    ir_pk.send({"title": "IR three"})
    ir_pk.acknowledge(3, PK_NEXT_KEY)
    pk_ir.acknowledge(1, IR_KEY)
    pk_ir.acknowledge(4, IR_NEXT_KEY)
    party_keys = parties(
        pk=[
            key_entry(PK_KEY.public_key(), {"PK>IR": 1}),
            key_entry(PK_NEXT_KEY.public_key(), {"PK>IR": 3}),
        ],
        ir=[
            key_entry(IR_KEY.public_key(), {"IR>PK": 1}),
            key_entry(IR_NEXT_KEY.public_key(), {"IR>PK": 3}),
        ],
    )
    return build_ledger("IR", party_keys, [pk_ir.entry(), ir_pk.entry()])


def test_ledger_with_key_rotation_mid_chain_passes_trusting_only_the_original_keys() -> None:
    report = verify_ledger(rotated_ledger(), trusted_fingerprints=TRUST)
    assert report.ok, report.problems
    assert report.links["PK>IR"].last_receipted_seq == 4


def test_ledger_with_key_rotation_passes_without_out_of_band_fingerprints() -> None:
    assert verify_ledger(rotated_ledger()).ok


def test_key_not_announced_by_a_rotation_envelope_is_not_accepted() -> None:
    log = Log("PK>IR", PK_KEY)
    log.send({"n": 1})
    log.send({"n": 2})
    log.key = MALLORY_KEY  # switches keys without announcing it
    log.send({"n": 3})
    keys = [key_entry(PK_KEY.public_key(), {"PK>IR": 1}), key_entry(MALLORY_KEY.public_key(), {"PK>IR": 3})]
    report = verify_ledger(build_ledger("PK", parties(pk=keys), [log.entry()]))
    assert not report.ok
    assert "key_not_announced" in codes(report)
    envelope_problems = [x for x in report.problems if x.what == "envelope"]
    assert [(x.index, x.seq, x.code) for x in envelope_problems] == [(2, 3, "wrong_key")]


def test_extra_key_in_the_file_that_does_not_chain_to_a_trusted_key_is_refused() -> None:
    doc = sample_ledger()
    doc["parties"]["IR"]["keys"].append(key_entry(MALLORY_KEY.public_key(), {}))
    report = verify_ledger(reseal(doc), trusted_fingerprints=TRUST)
    assert codes(report) == ["untrusted_key"]


def test_chain_re_signed_with_a_substituted_key_is_refused_under_trusted_fingerprints() -> None:
    """Someone rewrites the whole PK>IR log with their own key and fixes up keys and digest. The file is
    then consistent in itself, so only fingerprints obtained out of band can expose it."""
    pk_ir, _ = two_way_logs()
    forged = Log("PK>IR", MALLORY_KEY)
    for env in pk_ir.envelopes:
        forged.send(env["record"]["content"] | {"rewritten": True})
    keys = parties(pk=[key_entry(MALLORY_KEY.public_key(), {"PK>IR": 1})])
    doc = build_ledger("PK", keys, [forged.entry()])
    assert verify_ledger(doc).ok
    report = verify_ledger(doc, trusted_fingerprints=TRUST)
    assert codes(report) == ["untrusted_key"]
    assert "not among the fingerprints trusted for PK" in report.problems[0].message


def test_rotation_announced_by_a_key_that_is_not_current_is_refused() -> None:
    log = Log("PK>IR", PK_KEY)
    log.send({"n": 1})
    log.key = MALLORY_KEY
    log.rotate(PK_NEXT_KEY)  # signed by Mallory, not by the valid key
    log.send({"n": 3})
    keys = [key_entry(PK_KEY.public_key(), {"PK>IR": 1}), key_entry(PK_NEXT_KEY.public_key(), {"PK>IR": 3})]
    report = verify_ledger(build_ledger("PK", parties(pk=keys), [log.entry()]))
    assert [(x.what, x.seq, x.code) for x in report.problems if x.what == "envelope"] == [
        ("envelope", 2, "unknown_key"),
        ("envelope", 3, "wrong_key"),
    ]
    assert "key_not_announced" in codes(report)


def test_rotation_to_a_key_the_file_does_not_declare_is_reported() -> None:
    log = Log("PK>IR", PK_KEY)
    log.rotate(PK_NEXT_KEY)
    log.send({"n": 2})
    report = verify_ledger(build_ledger("PK", parties(), [log.entry()]))
    assert codes(report) == ["undeclared_key"]


# ---------------------------------------------------------------------------------------------------------
# Tampering, gaps, forks, forged receipts
# ---------------------------------------------------------------------------------------------------------


def test_altered_record_is_reported_at_its_envelope_as_bad_hash() -> None:
    doc = sample_ledger()
    doc["links"][0]["envelopes"][1]["record"]["content"]["lat"] = 29.0
    assert codes(verify_ledger(doc)) == ["bad_digest", "bad_hash"]
    report = verify_ledger(reseal(doc))
    problem = report.first_problem
    assert problem is not None
    assert (problem.link, problem.what, problem.index, problem.seq, problem.code) == (
        "PK>IR",
        "envelope",
        1,
        2,
        "bad_hash",
    )
    assert "PK>IR envelope #1 (seq 2): bad_hash" in str(problem)


def test_envelope_removed_from_the_middle_is_reported_as_seq_gap() -> None:
    doc = sample_ledger()
    del doc["links"][1]["envelopes"][1]
    report = verify_ledger(reseal(doc))
    assert [(x.link, x.index, x.seq, x.code) for x in report.problems] == [("IR>PK", 1, 2, "seq_gap")]


def test_envelopes_in_swapped_order_are_refused() -> None:
    doc = sample_ledger()
    envs = doc["links"][0]["envelopes"]
    envs[1], envs[2] = envs[2], envs[1]
    assert {"seq_gap"} <= set(codes(verify_ledger(reseal(doc))))


def test_envelope_listed_twice_is_reported_as_duplicate_seq() -> None:
    doc = sample_ledger()
    envs = doc["links"][0]["envelopes"]
    envs.insert(2, copy.deepcopy(envs[1]))
    assert codes(verify_ledger(reseal(doc))) == ["duplicate_seq"]


def test_two_different_signed_envelopes_for_one_seq_are_reported_as_equivocation() -> None:
    pk_ir, _ = two_way_logs()
    fork = Log("PK>IR", PK_KEY)
    fork.send({"title": "Smuggling attempt near Taftan", "section": "TAF-03", "persons": 4})
    fork.send({"title": "a different second envelope"})
    entry = pk_ir.entry()
    entry["envelopes"] = [*pk_ir.envelopes[:2], fork.envelopes[1], pk_ir.envelopes[2]]
    report = verify_ledger(build_ledger("PK", parties(), [entry]))
    assert [(x.index, x.seq, x.code) for x in report.problems] == [(2, 2, "equivocation")]


def test_second_envelope_for_a_seq_that_fails_its_signature_is_not_called_equivocation() -> None:
    doc = sample_ledger()
    envs = doc["links"][0]["envelopes"]
    forged = copy.deepcopy(envs[1])
    forged["record"]["content"]["title"] = "forged"
    forged["hash"] = p.envelope_hash(forged)
    envs.insert(2, forged)
    report = verify_ledger(reseal(doc))
    assert [(x.index, x.seq, x.code) for x in report.problems] == [(2, 2, "bad_signature")]


def test_receipt_that_does_not_match_the_chain_is_reported() -> None:
    doc = sample_ledger()
    wrong = p.make_receipt(IR_KEY, "PK>IR", 2, "ab" * 32, T0, "IR")
    doc["links"][0]["receipts"].append(wrong)
    report = verify_ledger(reseal(doc))
    assert [(x.what, x.index, x.seq, x.code) for x in report.problems] == [
        ("receipt", 3, 2, "receipt_mismatch")
    ]


def test_receipt_for_an_envelope_left_out_of_the_export_is_reported() -> None:
    doc = sample_ledger()
    doc["links"][0]["envelopes"].pop()
    assert codes(verify_ledger(reseal(doc))) == ["receipt_beyond_chain"]


def test_receipt_forged_by_the_sender_is_refused() -> None:
    doc = sample_ledger()
    forged = p.make_receipt(PK_KEY, "PK>IR", 3, doc["links"][0]["envelopes"][2]["hash"], T0, "IR")
    doc["links"][0]["receipts"].append(forged)
    assert codes(verify_ledger(reseal(doc))) == ["wrong_key"]


def test_receipt_with_altered_seq_is_refused_as_bad_signature() -> None:
    doc = sample_ledger()
    rcpt = doc["links"][0]["receipts"][2]
    rcpt["seq"], rcpt["hash"] = 2, doc["links"][0]["envelopes"][1]["hash"]
    assert codes(verify_ledger(reseal(doc))) == ["bad_signature"]


def test_receipt_listed_under_another_link_is_refused() -> None:
    doc = sample_ledger()
    doc["links"][1]["receipts"].append(doc["links"][0]["receipts"][1])
    report = verify_ledger(reseal(doc))
    assert codes(report) == ["bad_link"]


def test_partial_export_not_chained_to_its_declared_prev_is_refused() -> None:
    pk_ir, _ = two_way_logs()
    entry = pk_ir.entry() | {"from_seq": 2, "from_prev": "ab" * 32, "envelopes": pk_ir.envelopes[1:]}
    entry["receipts"] = [pk_ir.receipts[0]]
    report = verify_ledger(build_ledger("PK", parties(), [entry]))
    assert codes(report) == ["bad_prev", "receipt_before_export"]


def test_header_with_unknown_fields_or_format_is_refused() -> None:
    doc = sample_ledger()
    doc["format"] = "sarhad-ledger-v2"
    doc["comment"] = "hello"
    report = verify_ledger(reseal(doc))
    assert codes(report) == ["malformed", "malformed"]
    assert "comment" in report.problems[0].message


@pytest.mark.parametrize("doc", [None, [], "ledger", {"format": LEDGER_FORMAT}])
def test_document_that_is_not_a_ledger_is_refused_without_crashing(doc: object) -> None:
    report = verify_ledger(doc)
    assert not report.ok
    assert {x.what for x in report.problems} == {"header"}


def test_trusted_fingerprints_must_be_full_fingerprints() -> None:
    with pytest.raises(ValueError, match="64 lowercase hex"):
        verify_ledger(sample_ledger(), trusted_fingerprints={"PK": {p.short_fingerprint(fp(PK_KEY))}})


# ---------------------------------------------------------------------------------------------------------
# Reading files
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"\xff\xfe{}", "not valid UTF-8"),
        (b'{"a": 1, "a": 2}', "duplicate"),
        (b'{"a": NaN}', "NaN"),
        (b"[]", "not an object"),
        (b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
    ],
)
def test_unparseable_ledger_file_raises_a_clear_error(tmp_path: Path, data: bytes, reason: str) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(data)
    with pytest.raises(LedgerError, match=reason) as exc:
        load_ledger(path)
    assert str(path) in str(exc.value)


def test_missing_ledger_file_raises_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="cannot read ledger file"):
        load_ledger(tmp_path / "absent.json")


# ---------------------------------------------------------------------------------------------------------
# Every changed byte is caught
# ---------------------------------------------------------------------------------------------------------


def _meaning(doc: object) -> str:
    # Type-exact (1, 1.0 and true differ), member-order-insensitive comparison of parsed documents.
    return json.dumps(doc, sort_keys=True, ensure_ascii=True)


def _mutations(data: bytes, every_position: bool) -> list[tuple[int, int]]:
    """(position, XOR mask) pairs: a seeded sample of 1,200 positions with assorted bit patterns, or every
    position with each of three masks (low bit, ASCII case bit, high bit)."""
    if every_position:
        return [(pos, mask) for pos in range(len(data)) for mask in (0x01, 0x20, 0x80)]
    rng = random.Random(8785)  # reproducible sampling
    masks = [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80]
    return [(pos, rng.choice([*masks, rng.randrange(1, 256)])) for pos in rng.sample(range(len(data)), 1200)]


def _undetected_changes(every_position: bool, reseal_digest: bool) -> tuple[list[str], int]:
    """Flip bytes of an exported ledger file; list the flips that change the document's meaning yet pass.

    Returns the undetected flips and the number that changed the meaning and were caught by verification
    (flips that break the JSON or UTF-8 are caught by parsing and counted in neither).
    With ``reseal_digest`` the digest is recomputed after each flip, as a deliberate editor would; the
    signatures alone must then catch everything except a changed export time, which is not signed.
    """
    data = dump_ledger(sample_ledger())
    original = parse_ledger(data)
    assert verify_ledger(original, trusted_fingerprints=TRUST).ok
    unsigned = {"exported_at": None, "digest": None}
    undetected: list[str] = []
    caught = 0
    for pos, mask in _mutations(data, every_position):
        mutated = bytearray(data)
        mutated[pos] ^= mask
        try:
            doc = parse_ledger(bytes(mutated))
            if reseal_digest:
                reseal(doc)
        except (LedgerError, p.ProtocolError):
            continue  # not a ledger any more: detected
        if _meaning(doc) == _meaning(original):
            continue  # same document, e.g. one kind of whitespace for another
        if reseal_digest and _meaning(doc | unsigned) == _meaning(original | unsigned):
            continue  # only the export time changed
        if verify_ledger(doc, trusted_fingerprints=TRUST).ok:
            undetected.append(f"byte {pos} ^ {mask:#04x} near {data[max(0, pos - 30) : pos + 30]!r}")
        else:
            caught += 1
    return undetected, caught


def test_single_byte_changes_to_an_exported_ledger_are_all_detected() -> None:
    undetected, caught = _undetected_changes(every_position=False, reseal_digest=False)
    assert not undetected, undetected[:5]
    assert caught > 400


def test_single_byte_changes_are_detected_by_the_signatures_even_if_the_digest_is_recomputed() -> None:
    undetected, caught = _undetected_changes(every_position=False, reseal_digest=True)
    assert not undetected, undetected[:5]
    assert caught > 400


@pytest.mark.slow
@pytest.mark.parametrize("reseal_digest", [False, True], ids=["as-written", "digest-recomputed"])
def test_changing_any_byte_of_an_exported_ledger_is_detected(reseal_digest: bool) -> None:
    undetected, caught = _undetected_changes(every_position=True, reseal_digest=reseal_digest)
    assert not undetected, undetected[:5]
    assert caught > 5_000


# --- precedence lanes (docs/exchange-protocol.md §16) ------------------------------------------------------


def lane_opened_after_a_rotation() -> dict[str, Any]:
    """PK rotates on its base chain, then opens its flash lane with the new key; the file lists flash first."""
    base, flash = Log("PK>IR", PK_KEY), Log("PK>IR:flash", PK_NEXT_KEY)
    base.send({"n": 1})
    base.rotate(PK_NEXT_KEY)
    base.send({"n": 3})
    flash.send({"precedence": "FLASH"}, kind="hotline.message")
    flash.receipts.append(
        p.make_receipt(IR_KEY, "PK>IR:flash", 1, flash.last_hash, T0 + timedelta(minutes=5), "IR")
    )
    keys = [
        key_entry(PK_KEY.public_key(), {"PK>IR": 1}),
        key_entry(PK_NEXT_KEY.public_key(), {"PK>IR": 3, "PK>IR:flash": 1}),
    ]
    return build_ledger("PK", parties(pk=keys), [flash.entry(), base.entry()])


def test_each_lane_chain_is_verified_as_a_link_of_its_own() -> None:
    report = verify_ledger(lane_opened_after_a_rotation())
    assert report.ok, report.problems
    assert report.links["PK>IR:flash"].last_receipted_seq == 1


def test_a_lane_opened_with_a_key_announced_by_a_trusted_chain_is_trusted() -> None:
    report = verify_ledger(lane_opened_after_a_rotation(), trusted_fingerprints=TRUST)
    assert report.ok, report.problems


def test_a_lane_opened_with_a_key_no_trusted_chain_announced_is_not_trusted() -> None:
    flash = Log("PK>IR:flash", MALLORY_KEY)
    flash.send({"precedence": "FLASH"}, kind="hotline.message")
    keys = [
        key_entry(PK_KEY.public_key(), {"PK>IR": 1}),
        key_entry(MALLORY_KEY.public_key(), {"PK>IR:flash": 1}),
    ]
    report = verify_ledger(
        build_ledger("PK", parties(pk=keys), [flash.entry(), Log("PK>IR", PK_KEY).entry()]),
        trusted_fingerprints=TRUST,
    )
    assert "untrusted_key" in codes(report)
