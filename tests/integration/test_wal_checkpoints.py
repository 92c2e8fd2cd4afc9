"""``sarhad serve`` checkpoints SQLite's write-ahead log from a thread of its own, so no commit pays for it: its
connections never checkpoint on their own, and what they write still reaches the database file."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from sarhad.app import create_app
from sarhad.audit.models import AuditEntry
from sarhad.core.database import insert_rows, make_engine, table_of
from sarhad.core.node import Node
from sarhad.core.sqlite import (
    SQLITE_CACHE_KIB,
    SQLITE_PAGE_SIZE,
    checkpoint_write_ahead_log,
    write_ahead_log_checkpoints_in_background,
)


def write_rows(node: Node, count: int, pad: int = 500) -> None:
    at = datetime.now(UTC)
    rows = [{"at": at, "actor": "t", "action": "test.wal", "outcome": "ok", "details": {"pad": "x" * pad}}]
    with node.transaction() as session:
        insert_rows(session, table_of(AuditEntry), rows * count)


def automatic_checkpoint_pages(node: Node) -> int:
    with node.engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def test_a_served_node_checkpoints_in_the_background_and_its_connections_do_not(node: Node) -> None:
    sqlite = node.engine.dialect.name == "sqlite"
    if sqlite:
        assert automatic_checkpoint_pages(node) == 1000  # SQLite's default: the committing writer does it
    with TestClient(create_app(node, run_workers=False, checkpoint_in_background=True)):
        if not sqlite:
            assert checkpoint_write_ahead_log(node.engine) is None  # PostgreSQL manages its own log
            return
        assert automatic_checkpoint_pages(node) == 0
        write_rows(node, 8000, pad=2500)  # over 1,000 pages of log: past where SQLite would checkpoint
        deadline = time.monotonic() + 10
        answer = None
        while time.monotonic() < deadline:
            answer = node.sqlite.last_checkpoint if node.sqlite is not None else None
            if answer is not None and answer[1] > 1000 and answer[2] == answer[1]:
                break
            time.sleep(0.05)
        assert answer is not None and answer[1] > 1000 and answer[2] == answer[1], answer
    with node.sessions() as session:
        assert session.scalar(text("SELECT count(*) FROM audit_log WHERE action = 'test.wal'")) == 8000


def test_an_app_built_without_it_leaves_sqlites_own_checkpoints_alone(node: Node) -> None:
    with TestClient(create_app(node, run_workers=False)):
        if node.engine.dialect.name == "sqlite":
            assert automatic_checkpoint_pages(node) == 1000
        assert node.sqlite is None or node.sqlite.last_checkpoint is None


def test_the_log_of_a_node_written_without_pause_is_started_afresh_and_stays_small(node: Node) -> None:
    """A writer that is always inside a transaction (as a node receiving batch after batch) leaves SQLite no
    moment to start its log afresh: with ``PASSIVE`` checkpoints alone the log file grows by all that is
    written (the whole 20 MB here). Past the threshold the background round asks the next writer to restart
    it, so the file stays a fraction of that, and every row is still written."""
    if node.sqlite is None:
        assert checkpoint_write_ahead_log(node.engine, "RESTART") is None  # PostgreSQL manages its own log
        return
    writers = node.sqlite
    write_ahead_log_checkpoints_in_background(node.engine)
    database = Path(node.engine.url.database or "")
    wal = database.with_name(database.name + "-wal")
    transactions, rows_each = 200, 100  # 20,000 rows of about 1 KB
    written = threading.Event()

    def writer() -> None:
        pad = "x" * 1000
        try:
            for _ in range(transactions):
                with node.transaction() as session:  # BEGIN IMMEDIATE, as every writer of a node
                    session.connection().exec_driver_sql(
                        "INSERT INTO wal_test (body) VALUES (?)", [(pad,)] * rows_each
                    )
                    time.sleep(0.005)  # applying the batch; the next one begins as soon as this commits
        finally:
            written.set()

    with node.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE wal_test (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    thread = threading.Thread(target=writer)
    thread.start()
    peak = 0
    while not written.is_set():
        writers.checkpoint_round(restart_after_bytes=2**20)
        peak = max(peak, wal.stat().st_size)
        time.sleep(0.01)
    thread.join()
    with node.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM wal_test").scalar_one() == 20_000
    assert peak < 5 * 2**20, f"the log reached {peak / 2**20:.1f} MiB"


def test_a_checkpoint_mode_other_than_passive_or_restart_is_refused(node: Node) -> None:
    with pytest.raises(ValueError, match="unknown checkpoint mode 'TRUNCATE'"):
        checkpoint_write_ahead_log(node.engine, "TRUNCATE")


def test_every_connection_of_a_node_has_the_larger_page_cache(node: Node) -> None:
    """The exchange's receiving tables outgrow SQLite's 2 MB default cache; every connection gets 32 MiB."""
    if node.sqlite is None:
        pytest.skip("a SQLite setting; PostgreSQL sizes its shared buffers itself")
    with node.engine.connect() as first, node.engine.connect() as second:  # two pooled connections
        sizes = [c.exec_driver_sql("PRAGMA cache_size").scalar_one() for c in (first, second)]
    assert sizes == [-SQLITE_CACHE_KIB, -SQLITE_CACHE_KIB] and SQLITE_CACHE_KIB >= 32768


def test_a_new_database_is_made_with_16_kib_pages_and_reports_them_in_checkpoints(node: Node) -> None:
    if node.sqlite is None:
        pytest.skip("a SQLite setting; PostgreSQL's page size is fixed when it is built")
    with node.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA page_size").scalar_one() == SQLITE_PAGE_SIZE == 16384
    write_rows(node, 200)
    answer = checkpoint_write_ahead_log(node.engine)
    assert answer is not None and answer.page_size == SQLITE_PAGE_SIZE
    assert answer.log_bytes == answer.log_frames * SQLITE_PAGE_SIZE > 0


def test_a_database_made_with_smaller_pages_keeps_them_and_works(tmp_path: Path) -> None:
    """Databases made before the page size changed are opened as they are: SQLite cannot change the page
    size of a database in WAL mode, and the setting is only a wish for a new one."""

    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.execute("PRAGMA page_size=4096")
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY, body TEXT)")
    old.execute("INSERT INTO kept (body) VALUES ('before')")
    old.commit()
    old.close()
    engine = make_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as connection:
            assert connection.exec_driver_sql("PRAGMA page_size").scalar_one() == 4096
            connection.exec_driver_sql("INSERT INTO kept (body) VALUES ('after')")
        with engine.connect() as connection:
            bodies = connection.exec_driver_sql("SELECT body FROM kept ORDER BY id").scalars().all()
        assert bodies == ["before", "after"]
        answer = checkpoint_write_ahead_log(engine)
        assert answer is not None and answer.page_size == 4096
    finally:
        engine.dispose()
