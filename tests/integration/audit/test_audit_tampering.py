"""``sarhad audit verify`` catches each way of changing the audit log directly in the database.

Each test writes a few entries through the node's own code, checks that ``verify`` passes, then tampers with
the table as someone with database access would (dropping the append-only triggers where they are in the
way) and checks that ``verify`` fails and names the first bad entry. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from typer.testing import CliRunner

from sarhad.audit import chain
from sarhad.audit.cli import register
from sarhad.audit.heads import sign_head
from sarhad.audit.services import record_event
from sarhad.audit.verify import load_evidence, verify
from sarhad.core.node import Node


def _write_entries(node: Node, count: int = 6) -> None:
    for n in range(count):
        with node.transaction() as session:
            record_event(session, node.clock, actor=f"user{n}", action="auth.login", outcome="failed",
                         client_ip="10.0.0.1", details={"n": n, "why": "wrong password"})  # fmt: skip


def run_audit(*args: str) -> tuple[int, str]:
    """``sarhad audit …`` (the audit commands only); the exit code and the output with Rich's wrapping undone."""
    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """sarhad (audit commands only)."""

    register(app)
    result = CliRunner().invoke(app, ["audit", *args])
    return result.exit_code, " ".join(result.output.split())


def _verify_cli(node: Node) -> tuple[int, str]:
    return run_audit("verify", "--data-dir", str(node.settings.data_dir))


def _report(node: Node) -> list[str]:
    with node.sessions() as session:
        return verify(load_evidence(session, node.party)).problems


def _row(node: Node, seq: int) -> dict[str, object]:
    with node.engine.connect() as connection:
        return dict(
            connection.execute(text("SELECT * FROM audit_log WHERE seq = :s"), {"s": seq}).mappings().one()
        )


def _drop_triggers(node: Node) -> None:
    with node.engine.begin() as connection:
        if node.engine.dialect.name == "sqlite":
            for name in ("audit_log_no_update", "audit_log_no_delete"):
                connection.execute(text(f"DROP TRIGGER {name}"))
        else:
            connection.execute(text("DROP TRIGGER audit_log_append_only ON audit_log"))


def _head_seq(node: Node) -> int:
    with node.engine.connect() as connection:
        return int(connection.execute(text("SELECT max(seq) FROM audit_log")).scalar_one())


@pytest.fixture
def chained(node: Node) -> Node:
    _write_entries(node)
    code, output = _verify_cli(node)
    assert code == 0, output
    assert "verified" in output
    return node


def test_an_untouched_log_verifies_and_every_entry_is_chained(chained: Node) -> None:
    with chained.engine.connect() as connection:
        rows = connection.execute(text("SELECT seq, prev_hash, entry_hash FROM audit_log ORDER BY seq")).all()
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[0][1] == chain.GENESIS_HASH
    assert all(rows[i][1] == rows[i - 1][2] for i in range(1, len(rows)))


def test_replacing_an_entry_is_refused_by_the_database_and_caught_by_verify(chained: Node) -> None:
    seq = _head_seq(chained) - 2
    row = _row(chained, seq)
    if chained.engine.dialect.name == "sqlite":
        statement = text(
            "INSERT OR REPLACE INTO audit_log (id, at, actor, action, outcome, record_kind, record_id, client_ip, "
            "details, seq, prev_hash, entry_hash) VALUES (:id, :at, 'someone-else', :action, 'ok', :record_kind, "
            ":record_id, :client_ip, :details, :seq, :prev_hash, :entry_hash)"
        )
    else:
        statement = text("UPDATE audit_log SET actor = 'someone-else', outcome = 'ok' WHERE id = :id")
    with pytest.raises(DatabaseError, match="append-only"), chained.engine.begin() as connection:
        connection.execute(statement, row)
    _drop_triggers(chained)
    with chained.engine.begin() as connection:
        connection.execute(statement, row)
    code, output = _verify_cli(chained)
    assert code == 1
    assert f"the first bad entry is entry {seq}" in output
    assert f"entry {seq} (row id {row['id']}, auth.login by 'someone-else') was changed" in " ".join(
        output.split()
    )


def test_deleting_an_entry_is_caught(chained: Node) -> None:
    seq = _head_seq(chained) - 3
    _drop_triggers(chained)
    with chained.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": seq})
    code, output = _verify_cli(chained)
    assert code == 1
    assert f"the first bad entry is entry {seq}" in output
    assert f"entry {seq} is missing (deleted)" in output


def test_deleting_the_failed_sign_ins_and_renumbering_the_rest_is_caught(chained: Node) -> None:
    """The careful forger: delete, then renumber so that no seq is missing. The hashes still do not follow."""
    first = 2
    _drop_triggers(chained)
    with chained.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_log WHERE seq = :s"), {"s": first})
        connection.execute(text("UPDATE audit_log SET seq = -seq WHERE seq > :s"), {"s": first})
        connection.execute(text("UPDATE audit_log SET seq = -seq - 1 WHERE seq < 0"))
    problems = _report(chained)
    assert problems[0] == f"the first bad entry is entry {first}"


def test_inserting_an_entry_past_the_node_is_caught(chained: Node) -> None:
    head = _row(chained, _head_seq(chained))
    with chained.engine.begin() as connection:  # no trigger is in the way of a plain INSERT
        connection.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, outcome, client_ip, details) "
                "VALUES (:at, 'ghost', 'user.create', 'ok', '', '{}')"
            ),
            {"at": head["at"]},
        )
        connection.execute(
            text(
                "INSERT INTO audit_log (at, actor, action, outcome, client_ip, details, seq, prev_hash, entry_hash) "
                "VALUES (:at, 'ghost', 'user.create', 'ok', '', '{}', :seq, :prev, :fake)"
            ),
            {
                "at": head["at"],
                "seq": int(str(head["seq"])) + 1,
                "prev": head["entry_hash"],
                "fake": "f" * 64,
            },
        )
    code, output = _verify_cli(chained)
    flat = " ".join(output.split())
    assert code == 1
    assert f"the first bad entry is entry {int(str(head['seq'])) + 1}" in flat
    assert "auth.login" not in flat.split("bad:")[1]  # the good entries are not blamed
    assert "(user.create by 'ghost') is not in the chain" in flat


def test_a_back_dated_entry_with_a_correct_hash_is_caught(chained: Node) -> None:
    head = _row(chained, _head_seq(chained))
    seq = int(str(head["seq"])) + 1
    at = chained.clock.now() - timedelta(days=30)
    values = {
        "at": at,
        "actor": "admin",
        "action": "user.disable",
        "outcome": "ok",
        "record_kind": None,
        "record_id": None,
        "client_ip": "",
        "details": {},
    }
    digest = chain.entry_hash(seq=seq, prev=str(head["entry_hash"]), **values)
    from sarhad.audit.models import AuditEntry
    from sarhad.core.database import insert_rows, table_of

    with chained.sessions() as session:  # the forger knows the format: the chain itself is intact
        insert_rows(
            session,
            table_of(AuditEntry),
            [{**values, "seq": seq, "prev_hash": head["entry_hash"], "entry_hash": digest}],
        )
        session.commit()
    code, output = _verify_cli(chained)
    assert code == 1
    assert f"the first bad entry is entry {seq}" in output
    assert "is back-dated" in output


def test_a_rewritten_chain_contradicts_the_signed_head(chained: Node) -> None:
    """The forger recomputes every hash after the entry they changed: only the signed head shows it."""
    head = sign_head(chained, force=True)
    assert head is not None
    target = 3
    _drop_triggers(chained)
    with chained.engine.begin() as connection:
        rows = (
            connection.execute(text("SELECT * FROM audit_log WHERE seq >= :s ORDER BY seq"), {"s": target})
            .mappings()
            .all()
        )
    from sarhad.audit.models import AuditEntry

    with chained.sessions() as session:
        prev = str(rows[0]["prev_hash"])
        for row in rows:
            entry = session.get(AuditEntry, row["id"])
            assert entry is not None
            if entry.seq == target:
                entry.actor = "nobody"
            entry.prev_hash = prev
            entry.entry_hash = chain.entry_hash(
                seq=entry.seq, prev=prev, at=entry.at, actor=entry.actor, action=entry.action,
                outcome=entry.outcome, record_kind=entry.record_kind, record_id=entry.record_id,
                client_ip=entry.client_ip, details=entry.details,
            )  # fmt: skip
            prev = entry.entry_hash
        session.commit()
    problems = _report(chained)
    assert problems[0] == f"the first bad entry is entry {head.log_seq}"
    assert f"the log was rewritten at or before entry {head.log_seq}" in problems[1]


def test_an_export_file_verifies_offline_and_a_changed_line_is_named(chained: Node, tmp_path: Path) -> None:
    head = sign_head(chained, force=True)
    assert head is not None
    exported = tmp_path / "audit.jsonl"
    code, output = run_audit("export", "--data-dir", str(chained.settings.data_dir), "--out", str(exported))
    assert code == 0, output
    code, output = run_audit("verify", "--file", str(exported))
    assert code == 0 and "verified" in output and "1 signed heads" in output, output

    lines = exported.read_text(encoding="utf-8").splitlines()
    at = max(i for i, line in enumerate(lines) if '"action": "auth.login"' in line)  # after the header
    entry = json.loads(lines[at])
    entry["actor"] = "someone-else"
    lines[at] = json.dumps(entry)
    exported.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, output = run_audit("verify", "--file", str(exported))
    assert code == 1
    assert f"the first bad entry is entry {entry['seq']}" in output
    assert f"entry {entry['seq']} (row id {entry['id']}, auth.login by 'someone-else') was changed" in output
