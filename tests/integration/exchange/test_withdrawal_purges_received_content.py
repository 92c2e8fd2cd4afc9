"""A record its originator withdraws is purged on the receiving side, and the ledger still verifies (§11.3).

PK and IR are real ``sarhad serve`` processes. PK writes a bulletin, releases it to IR, edits it (a second
version), then withdraws it. Afterwards IR holds none of its text (inbox, generic copy, versions, bulletins
table), keeps every hash, and ``sarhad ledger export`` + ``sarhad ledger verify`` on the link pass, with the
two purged envelopes counted as redacted.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from exchange_nodes import cli_process, flat, make_pair, running, wait_for

pytestmark = pytest.mark.slow  # two real node processes; still part of every run

SECRET_TITLE = "Informant at pillar 112"
SECRET_BODY = "Meets our patrol at 05:40"


def test_a_withdrawn_received_record_is_purged_and_the_ledger_still_verifies(tmp_path: Path) -> None:
    pk, ir = make_pair(tmp_path)
    with running(pk, ir):
        pk.start()
        ir.start()
        created = pk.api(
            "POST",
            "/api/v1/bulletins",
            json={"title": SECRET_TITLE, "body": SECRET_BODY, "release_to": ["IR"], "tlp": "amber"},
        )
        bulletin_id = created["id"]
        pk.api(
            "PUT",
            f"/api/v1/bulletins/{bulletin_id}",
            json={"title": SECRET_TITLE + " (2)", "body": SECRET_BODY + " (2)"},
        )
        kept = pk.api(
            "POST",
            "/api/v1/bulletins",
            json={"title": "Kept", "body": "stays", "release_to": ["IR"], "tlp": "amber"},
        )
        pk.api("POST", f"/api/v1/bulletins/{bulletin_id}/withdraw", json={"reason": "source compromised"})
        wait_for(
            lambda: (
                ir.count("bulletins", "id = ? AND withdrawn_at IS NOT NULL", bulletin_id) == 1
                and ir.head("PK>IR") == pk.head("PK>IR") == pk.receipted("PK>IR")
            ),
            30,
            "the withdrawal to reach IR and be receipted",
            on_timeout=lambda: pk.diagnosis() + ir.diagnosis(),
        )

        # nothing of the text is left on IR ...
        bodies = ir.query(
            "SELECT op, body FROM exchange_inbox WHERE link = 'PK>IR' AND record_id = ? ORDER BY seq",
            bulletin_id,
        )
        assert [op for op, _ in bodies] == ["upsert", "upsert", "withdraw"]
        for op, body in bodies:
            assert SECRET_BODY not in body and SECRET_TITLE not in body, body
            record = json.loads(body)["record"]
            if op == "upsert":
                assert record.get("redacted") is True and "content" not in record
                assert len(record["content_hash"]) == 64  # the hash stays
        generic = ir.query(
            "SELECT content, content_hash, withdrawn_at FROM exchange_received_records WHERE record_id = ?",
            bulletin_id,
        )
        last_version = json.loads(bodies[1][1])["record"]
        assert json.loads(generic[0][0]) == {} and generic[0][1] == last_version["content_hash"]
        assert generic[0][2] is not None
        versions = ir.query(
            "SELECT version, content, content_hash FROM bulletin_versions WHERE bulletin_id = ? ORDER BY version",
            bulletin_id,
        )
        assert [(v, json.loads(c)) for v, c, _h in versions] == [(1, {}), (2, {})]
        assert versions[0][2] == created["content_hash"]
        row = ir.query("SELECT title, body, content_hash FROM bulletins WHERE id = ?", bulletin_id)[0]
        assert row[:2] == ("", "") and len(row[2]) == 64
        # ... while the bulletin that was not withdrawn keeps its content
        assert ir.scalar("SELECT body FROM bulletins WHERE id = ?", kept["id"]) == "stays"

        # the ledger of the link still exports and verifies, against both parties' fingerprints
        out = tmp_path / "ir-pk.json"
        exported = cli_process("ledger", "export", "--peer", "PK", str(out), "-d", str(ir.data_dir))
        assert exported.returncode == 0, exported.stdout + exported.stderr
        assert SECRET_BODY not in out.read_text(encoding="utf-8")
        verified = cli_process(
            "ledger",
            "verify",
            str(out),
            "--trust",
            f"PK={pk.fingerprint()}",
            "--trust",
            f"IR={ir.fingerprint()}",
        )
        assert verified.returncode == 0, flat(verified.stdout + verified.stderr)

        # the same file with a purged envelope's stated hash changed no longer verifies
        doc = json.loads(out.read_text(encoding="utf-8"))
        entry = next(e for e in doc["links"] if e["link"] == "PK>IR")
        redacted = [e for e in entry["envelopes"] if e["record"].get("redacted") is True]
        assert len(redacted) == 2
        redacted[0]["hash"] = "f" * 64
        from sarhad.exchange.ledger import ledger_digest, verify_ledger

        doc["digest"] = ledger_digest({k: v for k, v in doc.items() if k != "digest"})
        report = verify_ledger(doc)
        assert not report.ok and "bad_prev" in {p.code for p in report.problems}, report.problems
