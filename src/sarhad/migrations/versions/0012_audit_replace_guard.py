"""SQLite: the audit log's guard against ``INSERT OR REPLACE`` moves from a per-row trigger to the connection.

Migration 0011 added a ``BEFORE INSERT`` trigger that looked each new entry's ``id`` and ``seq`` up in the log,
because ``INSERT OR REPLACE`` deletes a conflicting row without firing DELETE triggers. That lookup cost more
than the insert itself (some 15 µs per entry, a fifth of a released bulletin's CPU on SQLite). The node now
turns on ``PRAGMA recursive_triggers`` on every connection (``core.sqlite``), under which SQLite fires DELETE
triggers for the rows a REPLACE removes, so ``audit_log_no_delete`` refuses it, for nothing on a plain insert.
A connection opened past the node (the ``sqlite3`` shell) could still replace a row, as it could drop the
triggers: the hash chain is what catches that (``sarhad audit verify``).

Revision ID: 0012_audit_replace_guard
Revises: 0011_audit_chain
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012_audit_replace_guard"
down_revision: str | None = "0011_audit_chain"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

_SQLITE_NO_REPLACE = (
    "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
    "WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id OR seq = NEW.seq) "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_replace")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_SQLITE_NO_REPLACE)
