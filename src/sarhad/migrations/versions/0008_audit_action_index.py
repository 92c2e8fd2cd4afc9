"""Drop the audit log's index on ``action``.

No query could use it: the audit log is filtered by the start of an action (``LIKE 'exchange.%'``), which
neither SQLite (its ``LIKE`` ignores case, the index does not) nor PostgreSQL (outside the C collation)
answers from a plain B-tree index. Every entry still paid for keeping it: one index insert per audit entry,
three per exchanged bulletin. Filtering by actor, time and record keeps its indexes.

Revision ID: 0008_audit_action_index
Revises: 0007_requests_impact
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008_audit_action_index"
down_revision: str | None = "0007_requests_impact"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_audit_log_action", table_name="audit_log")


def downgrade() -> None:
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
