"""CSV import from the page: the uploaded file is imported by ``bulk.import_csv`` (the one write path, which the
command line uses too) in a background thread, and the page follows it through a small JSON status.

The rule is the command line's default: **all or nothing**. Every row is checked; if any row is refused, nothing
is written (the savepoint is rolled back) and every refused row is reported with its line. A file that is
unusable as a whole (not UTF-8, no header, an unknown column, an unclosed quote) is refused before any row.

A job lives in this process's memory for ``KEEP`` after it ends (its status is what the page shows); only the
user who started it may read it. At most ``MAX_RUNNING`` imports run at once on a node.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.core.errors import ErrorCode, InvalidInput, NotFound, TooManyRequests
from sarhad.core.ids import new_id
from sarhad.core.node import Node
from sarhad.incidents import bulk

log = logging.getLogger(__name__)

KEEP = timedelta(hours=1)
MAX_RUNNING = 2
MAX_ERRORS_SHOWN = 200


@dataclass
class ImportJob:
    """One import started from the page: how far it got and, once done, its outcome."""

    id: str
    owner: str
    filename: str
    total: int
    started_at: datetime
    processed: int = 0
    state: str = "running"  # running, done (rows written), refused (nothing written), failed
    imported: int = 0
    error_count: int = 0
    errors: list[bulk.RowError] = field(default_factory=list)
    file_error: str = ""
    ended_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state,
            "total": self.total,
            "processed": min(self.processed, self.total),
            "imported": self.imported,
            "errors": self.error_count,
        }


_jobs: dict[str, ImportJob] = {}
_lock = threading.Lock()


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the file is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8",
            code=ErrorCode.INVALID,
            details={"field": "file"},
        ) from None


def count_rows(text: str) -> int:
    """The data rows of a CSV text (records, not lines: a quoted value may span lines), without the header."""
    rows = 0
    try:
        for values in csv.reader(io.StringIO(text)):
            if values and not (len(values) == 1 and not values[0].strip()):
                rows += 1
    except csv.Error:
        pass  # the import reports where the file breaks; the count so far is the bar's end
    return max(rows - 1, 0)


def start_import(
    node: Node, actor: Actor, data: bytes, filename: str, *, confirm_far: bool = False
) -> ImportJob:
    """Check the caller may import, then import the file in the background; returns the job to follow."""
    require(actor, Permission.INCIDENTS_WRITE, "importing incidents")
    if not data.strip():
        raise InvalidInput("the file is empty", details={"field": "file"})
    text = _decode(data)
    now = node.clock.now()
    with _lock:
        _forget_old(now)
        if sum(1 for j in _jobs.values() if j.state == "running") >= MAX_RUNNING:
            raise TooManyRequests("other imports are running on this node; try again when they end")
        job = ImportJob(
            id=new_id(), owner=actor.username, filename=filename, total=count_rows(text), started_at=now
        )
        _jobs[job.id] = job
    thread = threading.Thread(
        target=_run, args=(node, actor, job, text, confirm_far), name=f"import-{job.id}", daemon=True
    )
    thread.start()
    return job


def _run(node: Node, actor: Actor, job: ImportJob, text: str, confirm_far: bool) -> None:
    def progress(rows: int) -> None:
        job.processed += rows

    try:
        with node.transaction() as session:
            report = bulk.import_csv(
                session,
                node,
                actor,
                io.StringIO(text),
                source=f"page:{job.filename}",
                partial=False,
                confirm_far=confirm_far,
                progress=progress,
            )
        job.processed = report.rows
        job.imported = report.imported
        job.error_count = report.error_count
        job.errors = report.errors[:MAX_ERRORS_SHOWN]
        job.state = "done" if not report.error_count else "refused"
    except bulk.ImportFileError as exc:
        job.file_error = exc.message
        job.state = "refused"
    except Exception:  # the page says the import failed; the operators get the cause in the log
        log.exception("import %s by %s failed", job.id, job.owner)
        job.state = "failed"
    finally:
        job.ended_at = node.clock.now()


def get_job(actor: Actor, job_id: str) -> ImportJob:
    """The caller's own import job (anyone else's is not found)."""
    require(actor, Permission.INCIDENTS_WRITE, "importing incidents")
    with _lock:
        job = _jobs.get(job_id)
    if job is None or job.owner != actor.username:
        raise NotFound("no such import (an import is kept for an hour after it ends)")
    return job


def _forget_old(now: datetime) -> None:
    for job_id, job in list(_jobs.items()):
        if job.ended_at is not None and now - job.ended_at > KEEP:
            del _jobs[job_id]
