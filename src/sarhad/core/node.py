"""The node: one party's running deployment. The single place where dependencies are wired together."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from sarhad.core.clock import Clock, SystemClock
from sarhad.core.database import make_engine, make_session_factory, transaction
from sarhad.core.settings import Settings


@dataclass
class Node:
    """Settings, database and clock of this node, plus hooks run after each commit (event fan-out)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock
    after_commit_hooks: list[Callable[[], None]] = field(default_factory=list)
    extensions: dict[str, Any] = field(default_factory=dict)
    metrics: CollectorRegistry = field(default_factory=CollectorRegistry)

    @property
    def party(self) -> str:
        return self.settings.party

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work; after a successful commit the after-commit hooks run (never before)."""
        with transaction(self.sessions) as session:
            yield session
        for hook in list(self.after_commit_hooks):
            hook()

    def dispose(self) -> None:
        self.engine.dispose()


def build_node(settings: Settings, clock: Clock | None = None) -> Node:
    engine = make_engine(settings.resolved_database_url)
    return Node(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        clock=clock or SystemClock(settings.clock_offset_seconds),
    )
