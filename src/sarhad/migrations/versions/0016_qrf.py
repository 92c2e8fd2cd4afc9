"""QRF units (issue 19): own and received units, and every status change.

Revision ID: 0016_qrf
Revises: 0015_intel
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sarhad.core.database import UtcDateTime

revision: str = "0016_qrf"
# The head of this branch (0016); the lead re-chains the round's migrations when merging.
down_revision: str | None = "0015_intel"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "qrf_units",
        sa.Column("origin", sa.String(length=2), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("call_sign", sa.String(length=40), nullable=False),
        sa.Column("unit_type", sa.String(length=32), nullable=False),
        sa.Column("station_post", sa.String(length=64), nullable=True),
        sa.Column("station_name", sa.String(length=200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("section_id", sa.String(length=64), nullable=True),
        sa.Column("strength", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notice_minutes", sa.Integer(), nullable=True),
        sa.Column("status_since", UtcDateTime(), nullable=False),
        sa.Column("confirmed_at", UtcDateTime(), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("withdrawn_at", UtcDateTime(), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("origin", "id", name=op.f("pk_qrf_units")),
    )
    op.create_table(
        "qrf_status_changes",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("origin", sa.String(length=2), nullable=False),
        sa.Column("unit_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("notice_minutes", sa.Integer(), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["origin", "unit_id"], ["qrf_units.origin", "qrf_units.id"], name="fk_qrf_status_changes_unit"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qrf_status_changes")),
    )
    op.create_index("ix_qrf_status_changes_unit", "qrf_status_changes", ["origin", "unit_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_qrf_status_changes_unit", table_name="qrf_status_changes")
    op.drop_table("qrf_status_changes")
    op.drop_table("qrf_units")
