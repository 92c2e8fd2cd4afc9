"""Appending to the chain: concurrent writers never fork it, a rolled-back savepoint leaves no entry, and the
migration chains the entries written before the chain existed. On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from alembic import command
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from sarhad.audit.models import AuditEntry
from sarhad.audit.services import AuditEvent, record_event, record_events
from sarhad.audit.verify import load_evidence, verify
from sarhad.core.database import alembic_config, make_engine, upgrade_database
from sarhad.core.node import Node, build_node
from sarhad.exchange.models import Alert

WRITERS = 4
EACH = 15


def _chain(node: Node) -> list[tuple[int, str, str]]:
    with node.engine.connect() as connection:
        rows = connection.execute(text("SELECT seq, prev_hash, entry_hash FROM audit_log ORDER BY seq")).all()
    return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def _problems(node: Node) -> list[str]:
    with node.sessions() as session:
        return verify(load_evidence(session, node.party)).problems


def test_concurrent_writers_from_two_engines_never_fork_the_chain(node: Node) -> None:
    """Two node objects (two engines, as two processes have) and several threads each, writing at once."""
    other = build_node(node.settings)
    errors: list[BaseException] = []
    start = threading.Barrier(WRITERS * 2)

    def write(target: Node, writer: int) -> None:
        try:
            start.wait()
            for n in range(EACH):
                with target.transaction() as session:
                    # a change, then its audit entries, as services do (some one by one, some in bulk)
                    session.add(Alert(kind="test", severity="info", message=f"{writer}/{n}", link="", seq=None,
                                      at=target.clock.now(), acknowledged_at=None, acknowledged_by=""))  # fmt: skip
                    record_event(
                        session, target.clock, actor=f"w{writer}", action="test.write", details={"n": n}
                    )
                    if n % 3 == 0:
                        record_events(session, target.clock, [AuditEvent(f"w{writer}", "test.bulk")] * 3)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    try:
        threads = [
            threading.Thread(target=write, args=(node if i % 2 else other, i)) for i in range(WRITERS * 2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other.dispose()
    assert errors == []
    rows = _chain(node)
    written = rows
    assert [r[0] for r in written] == list(range(1, len(written) + 1))
    assert all(written[i][1] == written[i - 1][2] for i in range(1, len(written)))
    with node.engine.connect() as connection:
        counted = connection.execute(
            text("SELECT count(*) FROM audit_log WHERE action LIKE 'test.%'")
        ).scalar()
    assert counted == WRITERS * 2 * (EACH + 3 * len(range(0, EACH, 3)))
    assert _problems(node) == []


def test_an_entry_recorded_in_a_rolled_back_savepoint_or_transaction_is_not_appended(node: Node) -> None:
    before = len(_chain(node))
    with node.transaction() as session:
        record_event(session, node.clock, actor="a", action="test.kept")
        try:
            with session.begin_nested():
                record_event(session, node.clock, actor="a", action="test.dropped")
                raise RuntimeError("the savepoint's work fails")
        except RuntimeError:
            pass
        with session.begin_nested():
            record_event(session, node.clock, actor="a", action="test.released")
    try:
        with node.transaction() as session:
            record_event(session, node.clock, actor="a", action="test.rolled_back")
            raise RuntimeError("the transaction fails")
    except RuntimeError:
        pass
    with node.sessions() as session:
        actions = [e.action for e in session.query(AuditEntry).order_by(AuditEntry.seq)][before:]
    assert actions == ["test.kept", "test.released"]
    assert _problems(node) == []


def test_the_migration_chains_the_entries_written_before_it(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "0008_audit_action_index")
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            for n, at in enumerate(
                ("2026-11-30 10:00:00", "2026-11-30 09:00:00", "2026-12-01 08:00:00.250000")
            ):
                connection.execute(
                    text(
                        "INSERT INTO audit_log (at, actor, action, outcome, client_ip, details) "
                        "VALUES (:at, :actor, 'auth.login', 'failed', '', :details)"
                    ),
                    {"at": datetime.fromisoformat(at).replace(tzinfo=UTC), "actor": f"u{n}",
                     "details": '{"big": 9007199254740993}' if n == 2 else "{}"},
                )  # fmt: skip
    finally:
        engine.dispose()
    upgrade_database(database_url)
    engine = make_engine(database_url, pool=False)
    try:
        with Session(engine) as session:
            rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).scalars().all()
            assert [r.seq for r in rows] == [1, 2, 3, 4]  # the three, and audit.chain_start
            assert rows[-1].action == "audit.chain_start" and rows[-1].details == {"chained_existing": 3}
            assert rows[2].details == {"big": "9007199254740993"}  # beyond JSON's safe integers: text
            # times before the chain's start may be out of order (09:00 after 10:00): not back-dated
            assert verify(load_evidence(session, "PK")).problems == []
    finally:
        engine.dispose()
