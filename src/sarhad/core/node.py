"""The node: one party's running deployment. The single place where dependencies are wired together."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from sarhad.core.clock import Clock, SystemClock
from sarhad.core.components import Components
from sarhad.core.database import make_engine, make_session_factory, transaction
from sarhad.core.settings import Settings
from sarhad.core.sqlite import WRITE_OPTION, SqliteWriters

log = logging.getLogger(__name__)
_HOOKS = "sarhad.after_commit"
Hook = Callable[[], None]


def after_commit(session: Session, hook: Hook) -> None:
    """Run ``hook`` once, after ``session``'s transaction commits; never if it rolls back.

    This is how a service says "wake the delivery worker" or "tell the live clients" without doing it
    before the change is durable. A hook added inside a savepoint is dropped if that savepoint rolls back
    and otherwise waits for the outermost commit. Hooks run in the order added (the same function once)
    and must not use the session; one that raises is logged and does not affect the others.
    """
    entries: list[tuple[SessionTransaction, Hook]] = session.info.setdefault(_HOOKS, [])
    if any(existing is hook for _, existing in entries):
        return
    entries.append((session.get_nested_transaction() or session.get_transaction() or session.begin(), hook))


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _on_commit(session: Session) -> None:
    released = session.get_nested_transaction()
    if released is not None:  # a savepoint was released: its hooks now wait for the transaction around it
        entries_now: list[tuple[SessionTransaction, Hook]] = session.info.get(_HOOKS, [])
        session.info[_HOOKS] = [(released.parent if tx is released else tx, hook) for tx, hook in entries_now]
        return
    entries: list[tuple[SessionTransaction, Hook]] = session.info.pop(_HOOKS, [])
    for _, hook in entries:
        try:
            hook()
        except Exception:  # a failing notification must not turn a committed change into an error
            log.exception("after-commit hook %r failed", hook)


def _on_rollback(session: Session, previous: SessionTransaction) -> None:
    entries: list[tuple[SessionTransaction, Hook]] | None = session.info.get(_HOOKS)
    if not entries:
        return
    if previous.parent is None:
        session.info.pop(_HOOKS, None)
    else:  # a savepoint rolled back: forget what was added inside it
        session.info[_HOOKS] = [(tx, hook) for tx, hook in entries if not _within(tx, previous)]


def _on_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_HOOKS, None)  # after the commit's hooks ran, or ended without a commit: none left


@dataclass
class Node:
    """One party's running node: its settings, database (engine and sessions), clock and components, and the
    one way to write (``transaction``)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    components: Components = field(default_factory=Components)
    # True once the app's startup has finished (workers started); /healthz says "starting" until then.
    ready: bool = False
    metrics: CollectorRegistry = field(default_factory=CollectorRegistry)
    # SQLite only (None on PostgreSQL, which has row locks and many writers at once): this process's writers
    # take turns, and the write-ahead log is kept short (``sarhad.core.sqlite``).
    sqlite: SqliteWriters | None = None

    @property
    def party(self) -> str:
        return self.settings.party

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work that writes; after a successful commit its ``after_commit`` hooks run.

        On SQLite the transaction begins with ``BEGIN IMMEDIATE`` (the write lock up front, so two writers
        never deadlock on a lock upgrade), after waiting for this process's other writers (``SqliteWriters``);
        read-only sessions (``node.sessions()``) begin deferred and never wait for a writer.
        """
        turn: AbstractContextManager[Any] = self.sqlite.turn() if self.sqlite is not None else nullcontext()
        with turn, transaction(self.sessions) as session:
            session.connection(execution_options={WRITE_OPTION: True})
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def build_node(settings: Settings, clock: Clock | None = None) -> Node:
    engine = make_engine(settings.resolved_database_url)
    sessions = make_session_factory(engine)
    event.listen(sessions, "after_commit", _on_commit)
    event.listen(sessions, "after_soft_rollback", _on_rollback)
    event.listen(sessions, "after_transaction_end", _on_transaction_end)
    return Node(
        settings=settings,
        engine=engine,
        sessions=sessions,
        clock=clock or SystemClock(settings.clock_offset_seconds),
        sqlite=SqliteWriters(engine) if engine.dialect.name == "sqlite" else None,
    )
