"""SQLite tuning: connection settings, writers that take turns, and the write-ahead log kept short.

PostgreSQL needs none of this. On SQLite:

- every connection gets WAL mode, foreign keys, a busy timeout, a larger page cache and (on a new database)
  larger pages (:func:`configure_engine`);
- a writing transaction begins with ``BEGIN IMMEDIATE`` (:data:`WRITE_OPTION`), a read-only one deferred;
- writers of one process take turns on :class:`SqliteWriters`' lock before SQLite's own, and the writer that
  commits after the log has grown long restarts it;
- ``sarhad serve`` turns SQLite's own checkpoints off and runs :meth:`SqliteWriters.checkpoint_round` from a
  thread instead (:func:`write_ahead_log_checkpoints_in_background`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from sqlalchemy import Engine, event

log = logging.getLogger(__name__)

# SQLite's page cache per connection, in KiB (its default is 2,000). A receiving node's tables reach gigabytes;
# with 2 MB their index pages were read again and again, and a received envelope cost more CPU the larger the
# tables: 278 µs at the start of the exchange benchmark, 351 µs after 230,000 envelopes. With 32 MiB it cost
# 252 and 269 µs, and the benchmark's sustained rate rose by a quarter (docs/performance.md, session 5). The
# cache fills only as pages are read, so an idle or light node pays little; a busy one about 32 MiB for each
# connection in use.
SQLITE_CACHE_KIB = 32768

# The page size of a database SQLite creates (its default is 4 KiB). A commit writes each changed page to the
# write-ahead log with two system calls (frame header, page), and a checkpoint copies it again. The exchange's
# rows are 1–2 KB: committing 1,000 rows of 1.5 KB took 1,522 writes with 4 KiB pages and 322 with 16 KiB
# (strace). In the exchange benchmark's sustained phase the three processes then used about a sixth less CPU
# per envelope (docs/performance.md, session 6); 32 and 64 KiB did no better in a bare SQLite loop and in one
# run each of bench.exchange_sides. A database that already exists keeps the page size it was made with.
SQLITE_PAGE_SIZE = 16384

WRITE_OPTION = "sarhad_write"  # execution option set by Node.transaction(): this transaction will write

WAL_RESTART_BYTES = 32 * 2**20  # a log longer than this is to be started afresh
WAL_RESTART_WAIT_MS = 250  # how long a RESTART checkpoint waits for other processes' writers, or readers


def configure_engine(engine: Engine) -> None:
    """Give every connection of a SQLite engine the settings above, and let writers begin immediately."""
    event.listen(engine, "connect", _sqlite_pragmas)
    event.listen(engine, "begin", _sqlite_begin_immediate)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _sqlite_begin_immediate).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # before WAL; only a new, empty database takes it
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    # A REPLACE fires the DELETE triggers of the rows it removes, so the audit log's append-only trigger
    # refuses ``INSERT OR REPLACE`` too (migration 0012), without a per-row lookup on every insert.
    cursor.execute("PRAGMA recursive_triggers=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.close()


def _sqlite_begin_immediate(connection: Any) -> None:
    # A writing transaction takes the write lock up front (BEGIN IMMEDIATE), so two writers never deadlock
    # on a lock upgrade; SQLite serialises writers anyway, and the busy timeout makes the second one wait.
    # A read-only session begins deferred: in WAL mode it reads a snapshot and never waits for a writer.
    write = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def write_ahead_log_checkpoints_in_background(engine: Engine) -> None:
    """SQLite: this engine's connections stop checkpointing the write-ahead log themselves (a long-running
    node calls :meth:`SqliteWriters.checkpoint_round` from a thread of its own instead).

    With SQLite's default, the writer whose commit takes the log past 1,000 pages copies them into the
    database file inside that commit, holding the write lock, about every 4 MB written. Connections already
    open are closed, so every connection from now on has the setting.
    """
    if engine.dialect.name != "sqlite":
        return
    event.listen(engine, "connect", _no_automatic_checkpoints)
    engine.dispose()


def _no_automatic_checkpoints(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")


class Checkpoint(NamedTuple):
    """SQLite's answer to a checkpoint, and the size of the pages its log frames hold."""

    busy: int  # 1 if it could not finish (a writer or a reader of an old snapshot was in the way)
    log_frames: int  # frames in the write-ahead log
    checkpointed: int  # frames copied into the database file
    page_size: int

    @property
    def log_bytes(self) -> int:
        return self.log_frames * self.page_size


def checkpoint_write_ahead_log(
    engine: Engine, mode: Literal["PASSIVE", "RESTART"] = "PASSIVE"
) -> Checkpoint | None:
    """SQLite: copy what the write-ahead log holds into the database file. Returns SQLite's answer
    ``(busy, frames in the log, frames checkpointed)`` and the page size; None on other databases. Runs
    outside any transaction; SQLite releases the GIL while it copies.

    ``PASSIVE`` (a node's background rounds) waits for no one. ``RESTART`` waits at most
    ``WAL_RESTART_WAIT_MS`` for a writer and for readers of old snapshots, copies everything, and makes the
    next writer start the log from its beginning; when it gives up, ``busy`` is 1.
    """
    if mode not in ("PASSIVE", "RESTART"):
        raise ValueError(f"unknown checkpoint mode {mode!r}")
    if engine.dialect.name != "sqlite":
        return None
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        assert driver is not None
        (page_size,) = driver.execute("PRAGMA page_size").fetchone()
        if mode == "PASSIVE":
            busy, log_frames, done = driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        else:
            (wait,) = driver.execute("PRAGMA busy_timeout").fetchone()
            driver.execute(f"PRAGMA busy_timeout={WAL_RESTART_WAIT_MS}")
            try:
                busy, log_frames, done = driver.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
            finally:
                driver.execute(f"PRAGMA busy_timeout={int(wait)}")
        return Checkpoint(int(busy), int(log_frames), int(done), int(page_size))
    finally:
        raw.close()


@dataclass
class SqliteWriters:
    """The writers of one process on one SQLite database: their turns, and the write-ahead log they grow.

    SQLite has one writer at a time. Writers of this process queue on ``lock`` (re-entrant), which hands over
    the moment the holder commits, instead of in SQLite's busy handler, which sleeps 1, 2, 5, 10 … ms between
    tries; other processes still meet the busy timeout.
    """

    engine: Engine
    lock: threading.RLock = field(default_factory=threading.RLock)
    # Set by the background checkpoints (``checkpoint_round``) when the write-ahead log has grown past
    # ``WAL_RESTART_BYTES``: the next writer to commit restarts it (see ``turn``).
    restart_requested: threading.Event = field(default_factory=threading.Event)
    # The background checkpoints' last answer (None until ``sarhad serve``'s first round).
    last_checkpoint: Checkpoint | None = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Hold this process's write lock for one writing transaction (the body commits inside it).

        After a commit (not after a failure, which leaves the body by an exception) the log is restarted here
        if a background round asked for it, while the lock is still held.
        """
        with self.lock:
            yield
            if self.restart_requested.is_set():
                self._restart_write_ahead_log()

    def _restart_write_ahead_log(self) -> None:
        """Restart SQLite's write-ahead log, between two writers of this process.

        SQLite writes its log from the start again only when a writer begins after every frame has been
        copied into the database file, which a node writing batch after batch hardly ever allows (the
        receiver's log grew to 780 MB in the exchange benchmark: all of it copied again and, after a crash,
        replayed). So when the background checkpoints find it long, the writer that commits next, still
        holding the write lock so no other writer of this process can come between, runs a ``RESTART``
        checkpoint: what is left to copy (the background rounds did most) is copied and the next writer
        starts the log afresh. Should it fail (another process's writer or reader, for longer than
        ``WAL_RESTART_WAIT_MS``), a later round asks again; the commit stands either way.
        """
        self.restart_requested.clear()
        try:
            checkpoint_write_ahead_log(self.engine, "RESTART")
        except Exception:  # the commit is done; a failed checkpoint only leaves the log long
            log.warning("restarting the write-ahead log failed", exc_info=True)

    def checkpoint_round(self, restart_after_bytes: int = WAL_RESTART_BYTES) -> Checkpoint | None:
        """One background checkpoint (``PASSIVE``: it waits for no one); asks the next writer to restart the
        log when it holds more than ``restart_after_bytes``. Returns SQLite's answer, also kept as
        ``last_checkpoint``."""
        answer = checkpoint_write_ahead_log(self.engine)
        if answer is not None and answer.log_bytes > restart_after_bytes:
            self.restart_requested.set()
        self.last_checkpoint = answer
        return answer
