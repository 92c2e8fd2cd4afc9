"""Redacted envelopes in a ledger (docs/exchange-protocol.md §11.3, §12.2): a receiver purges a withdrawn
record's content, and the verifier still checks the chain, as long as something signed confirms the hash."""

from __future__ import annotations

from typing import Any

from test_ledger import IR_KEY, PK_KEY, TRUST, Log, codes, parties

from sarhad.exchange.inbox import redact_body
from sarhad.exchange.ledger import build_ledger, verify_ledger
from sarhad.exchange.protocol import canonical_json


def redacted(env: dict[str, Any]) -> dict[str, Any]:
    import json

    return json.loads(redact_body(canonical_json(env).decode()))  # type: ignore[no-any-return]


def log_of(count: int) -> Log:
    log = Log("PK>IR", PK_KEY)
    for n in range(1, count + 1):
        log.send({"title": f"secret {n}"})
    return log


def test_redaction_keeps_everything_but_the_content() -> None:
    env = log_of(1).envelopes[0]
    purged = redacted(env)
    assert purged["record"]["redacted"] is True and "content" not in purged["record"]
    assert {k: v for k, v in purged.items() if k != "record"} == {
        k: v for k, v in env.items() if k != "record"
    }
    assert {k: v for k, v in purged["record"].items() if k != "redacted"} == {
        k: v for k, v in env["record"].items() if k != "content"
    }


def test_a_redacted_envelope_confirmed_by_the_next_one_verifies_and_is_counted() -> None:
    log = log_of(3)
    log.envelopes[1] = redacted(log.envelopes[1])
    report = verify_ledger(build_ledger("IR", parties(), [log.entry()]), TRUST)
    assert report.ok, report.problems
    assert report.links["PK>IR"].redacted == 1


def test_a_redacted_last_envelope_needs_a_receipt() -> None:
    log = log_of(2)
    log.envelopes[1] = redacted(log.envelopes[1])
    unconfirmed = verify_ledger(build_ledger("IR", parties(), [log.entry()]), TRUST)
    assert codes(unconfirmed) == ["unconfirmed_redaction"]
    log.acknowledge(2, IR_KEY)
    assert verify_ledger(build_ledger("IR", parties(), [log.entry()]), TRUST).ok


def test_a_redacted_envelope_with_a_changed_hash_breaks_the_chain() -> None:
    log = log_of(3)
    log.envelopes[1] = redacted(log.envelopes[1])
    log.envelopes[1]["hash"] = "f" * 64
    report = verify_ledger(build_ledger("IR", parties(), [log.entry()]), TRUST)
    assert "bad_prev" in codes(report) and "unconfirmed_redaction" in codes(report)


def test_redaction_does_not_excuse_a_forged_signature_elsewhere() -> None:
    log = log_of(3)
    log.envelopes[0] = redacted(log.envelopes[0])
    log.envelopes[2]["record"]["content"]["title"] = "changed"
    report = verify_ledger(build_ledger("IR", parties(), [log.entry()]), TRUST)
    assert codes(report) == ["bad_hash"]
