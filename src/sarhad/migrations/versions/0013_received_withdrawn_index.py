"""A partial index of the withdrawn received records, by record id.

Every received batch asks which of its records were withdrawn already, by record id alone (an older version
passed on after a withdrawal is purged too, issue 15). The primary key of ``exchange_received_records`` leads
with ``origin``, so that question scanned every record held: a third of the receiving node's time in the
exchange benchmark, growing with the table. Few records are ever withdrawn; a partial index holds only those.

Revision ID: 0013_received_withdrawn_index
Revises: 0012_audit_replace_guard
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_received_withdrawn_index"
down_revision: str | None = "0012_audit_replace_guard"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

_WHERE = sa.text("withdrawn_at IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_exchange_received_withdrawn",
        "exchange_received_records",
        ["record_id"],
        sqlite_where=_WHERE,
        postgresql_where=_WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_exchange_received_withdrawn", table_name="exchange_received_records")
