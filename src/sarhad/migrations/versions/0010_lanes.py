"""Precedence lanes: link ids name a lane's chain ("PK>IR:flash"), peers say whether they speak lanes,
and the receiver keeps each lane chain's key windows.

Revision ID: 0010_lanes
Revises: 0008_audit_action_index
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_lanes"
down_revision: str | None = "0008_audit_action_index"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

# Every column that holds a link id: each becomes wide enough for "PK>IR:immediate".
_LINK_COLUMNS = (
    "exchange_alerts",
    "exchange_evidence",
    "exchange_inbox",
    "exchange_links",
    "exchange_outbox",
    "exchange_receipts",
    "exchange_received_records",
)


def _widen(length: int) -> None:
    # On SQLite, batch mode copies each table into a new one (SQLite cannot alter a column's type).
    for table in _LINK_COLUMNS:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("link", type_=sa.String(length=length), existing_nullable=False)


def upgrade() -> None:
    _widen(16)
    with op.batch_alter_table("exchange_peers") as batch:
        batch.add_column(sa.Column("lanes", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "exchange_lane_keys",
        sa.Column("link", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=2), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("valid_from_seq", sa.Integer(), nullable=False),
        sa.Column("valid_until_seq", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("link", "fingerprint", name=op.f("pk_exchange_lane_keys")),
    )


def downgrade() -> None:
    op.drop_table("exchange_lane_keys")
    with op.batch_alter_table("exchange_peers") as batch:
        batch.drop_column("lanes")
    _widen(5)
