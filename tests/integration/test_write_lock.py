"""Writers of one process take turns on the node's write lock (SQLite) before SQLite's own lock, so a waiting
writer starts the moment the one before commits instead of sleeping in SQLite's busy handler."""

from __future__ import annotations

import threading

from sqlalchemy import text

from sarhad.core.node import Node


def test_a_writing_transaction_holds_the_process_write_lock_on_sqlite_only(node: Node) -> None:
    if node.engine.dialect.name != "sqlite":
        assert node.write_lock is None  # PostgreSQL: row locks, many writers at once
        return
    lock = node.write_lock
    assert lock is not None
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


def test_the_write_lock_is_let_go_when_a_transaction_fails(node: Node) -> None:
    try:
        with node.transaction() as session:
            session.execute(text("SELECT 1"))
            raise ValueError("the unit of work fails")
    except ValueError:
        pass
    if node.write_lock is not None:
        assert node.write_lock.acquire(blocking=False)
        node.write_lock.release()
