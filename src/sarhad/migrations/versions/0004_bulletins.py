"""Liaison bulletins: own and received bulletins, and the content of every version.

Revision ID: 0004_bulletins
Revises: 0003_border
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sarhad.core.database import UtcDateTime

revision: str = "0004_bulletins"
down_revision: str | None = "0003_border"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bulletins",
        sa.Column("origin", sa.String(length=2), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("place_name", sa.String(length=200), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("valid_from", UtcDateTime(), nullable=True),
        sa.Column("valid_until", UtcDateTime(), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("withdrawn_at", UtcDateTime(), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=True),
        # The primary key (origin, id) is the record's identity across nodes (and makes it unique).
        sa.PrimaryKeyConstraint("origin", "id", name=op.f("pk_bulletins")),
    )
    op.create_index(op.f("ix_bulletins_updated_at"), "bulletins", ["updated_at"], unique=False)
    op.create_table(
        "bulletin_versions",
        sa.Column("origin", sa.String(length=2), nullable=False),
        sa.Column("bulletin_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["origin", "bulletin_id"],
            ["bulletins.origin", "bulletins.id"],
            name="fk_bulletin_versions_origin_bulletins",
        ),
        sa.PrimaryKeyConstraint("origin", "bulletin_id", "version", name=op.f("pk_bulletin_versions")),
    )


def downgrade() -> None:
    op.drop_table("bulletin_versions")
    op.drop_index(op.f("ix_bulletins_updated_at"), table_name="bulletins")
    op.drop_table("bulletins")
