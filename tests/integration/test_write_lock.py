"""Writers of one process take turns on the node's write lock (SQLite) before SQLite's own lock, so a waiting
writer starts the moment the one before commits instead of sleeping in SQLite's busy handler. PostgreSQL has
row locks and many writers at once: there the node has no such lock, and two writers are in their
transactions together."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from sarhad.core.node import Node


def make_table(node: Node) -> None:
    with node.engine.begin() as connection:
        connection.execute(text("CREATE TABLE lock_test (id INTEGER PRIMARY KEY, writer TEXT NOT NULL)"))


def written(node: Node) -> list[str]:
    with node.sessions() as session:
        return list(session.scalars(text("SELECT writer FROM lock_test ORDER BY id")))


def write_from_another_thread(node: Node, writer: str, row_id: int) -> list[str]:
    """Write one row in a transaction of another thread; returns [writer] if it committed within 10 s."""
    done: list[str] = []

    def write() -> None:
        with node.transaction() as session:
            session.execute(
                text("INSERT INTO lock_test (id, writer) VALUES (:id, :w)"), {"id": row_id, "w": writer}
            )
        done.append(writer)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    thread.join(timeout=10)
    return done


def test_a_writing_transaction_holds_the_process_write_lock_on_sqlite(node: Node) -> None:
    if node.sqlite is None:
        pytest.skip(
            "PostgreSQL has no process write lock: the next test proves its writers do not take turns"
        )
    lock = node.sqlite.lock
    seen: list[bool] = []

    def try_from_another_thread() -> None:
        acquired = lock.acquire(blocking=False)
        seen.append(acquired)
        if acquired:
            lock.release()

    with node.transaction() as session:
        session.execute(text("SELECT 1"))
        other = threading.Thread(target=try_from_another_thread)
        other.start()
        other.join()
    try_from_another_thread()
    assert seen == [False, True]  # held for the whole transaction, free after the commit


def test_two_writers_of_one_process_are_in_their_transactions_at_once_on_postgresql(node: Node) -> None:
    if node.sqlite is not None:
        pytest.skip("SQLite has one writer at a time: the test above proves its writers take turns")
    make_table(node)
    with node.transaction() as session:
        session.execute(text("INSERT INTO lock_test (id, writer) VALUES (1, 'first')"))
        # the first writer has not committed; a second one writes and commits meanwhile, without waiting
        assert write_from_another_thread(node, "second", 2) == ["second"]
    assert written(node) == ["first", "second"]


def test_reads_do_not_wait_for_the_write_lock(node: Node) -> None:
    with node.transaction() as session:
        session.execute(text("SELECT 1"))
        answers: list[int] = []

        def read() -> None:
            with node.sessions() as reader:
                answers.append(int(reader.execute(text("SELECT 1")).scalar_one()))

        reader_thread = threading.Thread(target=read)
        reader_thread.start()
        reader_thread.join(timeout=10)
        assert answers == [1]  # answered while the writer still holds its transaction


def test_the_next_writer_goes_ahead_at_once_after_a_transaction_fails(node: Node) -> None:
    make_table(node)
    with pytest.raises(ValueError, match="the unit of work fails"), node.transaction() as session:
        session.execute(text("INSERT INTO lock_test (id, writer) VALUES (1, 'failed')"))
        raise ValueError("the unit of work fails")
    if node.sqlite is not None:
        assert node.sqlite.lock.acquire(blocking=False)  # let go by the failed transaction's thread
        node.sqlite.lock.release()
    assert write_from_another_thread(node, "next", 2) == ["next"]
    assert written(node) == ["next"]  # and the failed one's row was rolled back
