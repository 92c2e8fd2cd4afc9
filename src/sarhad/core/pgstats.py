"""PostgreSQL: the planner statistics of tables the node fills in bulk, refreshed as they grow.

SQLite needs none of this. On PostgreSQL, the exchange finds rows by key in batches (a received batch's
bulletins, releases and generic copies: ``origin IN (...) AND id IN (250 ids)``). On a table PostgreSQL has
never analyzed, the planner guesses every equality to match 0.5 % of the rows, so it reads the index for
``origin`` alone and filters each row of that origin by id: a received batch read every bulletin held. With
10,000 bulletins, one such lookup took 19.5 ms (every heap page of the table) against 0.4 ms once the table
had been analyzed; the receiving side's cost per envelope grew with the table, and a backlog drained slower
the further it got. Autovacuum analyzes a table only after a tenth of it changed, and looks at most once a
``autovacuum_naptime`` (a minute): a backlog of 100,000 arrives well within one.

So :func:`~sarhad.core.database.insert_rows` counts the rows it writes to each table, per process; once a
table has :data:`ANALYZE_FROM` new rows, after the commit, it analyzes the table on a connection of its own if
PostgreSQL never has (once per table and process; from then on the planner scales the statistics by the
table's size, and autovacuum refreshes them). Analyzing every time a table doubled was tried and cost more
than it saved: ``ANALYZE`` reads a sample of up to 30,000 rows, about 130 ms for the audit log at 20,000 rows,
3 s of the server's time in a run of 40,000 envelopes. If another process (or autovacuum) is analyzing the
same table, it gives up after :data:`LOCK_TIMEOUT_MS`: that one's statistics will do.
"""

from __future__ import annotations

import functools
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

ANALYZE_FROM = 1000  # rows inserted into a table before its first ANALYZE by this process
LOCK_TIMEOUT_MS = 200  # an ANALYZE of the table already running elsewhere: try again later


@dataclass
class _Table:
    inserted: int = 0  # rows this process inserted
    done: bool = False  # checked (and analyzed if need be) after a commit


@dataclass
class TableGrowth:
    """The rows this process inserted into each table of one engine, until each was checked once."""

    engine: Engine
    tables: dict[str, _Table] = field(default_factory=dict)
    hooks: dict[str, Callable[[], None]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def inserted(self, table: str, count: int) -> bool:
        """Count ``count`` rows written to ``table``; True when the table is due for its check (until it was
        checked: a transaction that rolled back never ran it)."""
        with self.lock:
            state = self.tables.setdefault(table, _Table())
            if state.done:
                return False
            state.inserted += count
            return state.inserted >= ANALYZE_FROM

    def hook(self, table: str) -> Callable[[], None]:
        """The check of ``table``, as one object per table (``after_commit`` runs it once per transaction)."""
        with self.lock:
            hook = self.hooks.get(table)
            if hook is None:
                hook = self.hooks[table] = functools.partial(self.analyze, table)
            return hook

    def analyze(self, table: str) -> None:
        """ANALYZE ``table`` if PostgreSQL never has (after the commit that made it due), on a connection of
        its own. Done once per table; if the table is busy, tried again after the next rows."""
        with self.lock:
            state = self.tables[table]
            if state.done:
                return
            state.done = True
        try:
            with self.engine.begin() as connection:
                analyzed = connection.scalar(
                    text(
                        "SELECT last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL "
                        "FROM pg_stat_user_tables WHERE relid = CAST(:name AS regclass)"
                    ),
                    {"name": f'"{table}"'},
                )
                if not analyzed:
                    connection.execute(text(f"SET LOCAL lock_timeout = {LOCK_TIMEOUT_MS}"))
                    connection.execute(text(f'ANALYZE "{table}"'))
        except DBAPIError as exc:  # analyzed elsewhere just now, or the database is going away
            log.info("ANALYZE %s skipped: %s", table, exc.orig)
            with self.lock:
                self.tables[table] = _Table()  # counted afresh: tried again later


_growth: weakref.WeakKeyDictionary[Engine, TableGrowth] = weakref.WeakKeyDictionary()
_growth_lock = threading.Lock()


def table_growth(engine: Engine) -> TableGrowth:
    """The growth counts of ``engine``'s tables in this process."""
    with _growth_lock:
        growth = _growth.get(engine)
        if growth is None:
            growth = _growth[engine] = TableGrowth(engine)
        return growth
