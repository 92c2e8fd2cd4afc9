"""The node: one party's running deployment. The single place where dependencies are wired together."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from sarhad.core.clock import Clock, SystemClock
from sarhad.core.database import make_engine, make_session_factory, transaction
from sarhad.core.settings import Settings

log = logging.getLogger(__name__)
_HOOKS = "sarhad.after_commit"


def after_commit(session: Session, hook: Callable[[], None]) -> None:
    """Run ``hook`` once, after ``session``'s transaction commits; never if it rolls back.

    This is how a service says "wake the delivery worker" or "tell the live clients" without doing it
    before the change is durable. Hooks run in the order added and must not use the session.
    """
    hooks: list[Callable[[], None]] = session.info.setdefault(_HOOKS, [])
    if hook not in hooks:
        hooks.append(hook)


def _run_hooks(session: Session) -> None:
    hooks: list[Callable[[], None]] = session.info.pop(_HOOKS, [])
    for hook in hooks:
        try:
            hook()
        except Exception:  # a failing notification must not turn a committed change into an error
            log.exception("after-commit hook %r failed", hook)


def _drop_hooks(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:  # the outermost transaction rolled back, not a savepoint inside it
        session.info.pop(_HOOKS, None)


@dataclass
class Node:
    """Settings, database and clock of this node, plus hooks run after each commit (event fan-out)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    extensions: dict[str, Any] = field(default_factory=dict)
    metrics: CollectorRegistry = field(default_factory=CollectorRegistry)

    @property
    def party(self) -> str:
        return self.settings.party

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work; after a successful commit its ``after_commit`` hooks run (never before)."""
        with transaction(self.sessions) as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def build_node(settings: Settings, clock: Clock | None = None) -> Node:
    engine = make_engine(settings.resolved_database_url)
    sessions = make_session_factory(engine)
    event.listen(sessions, "after_commit", _run_hooks)
    event.listen(sessions, "after_soft_rollback", _drop_hooks)
    return Node(
        settings=settings,
        engine=engine,
        sessions=sessions,
        clock=clock or SystemClock(settings.clock_offset_seconds),
    )
