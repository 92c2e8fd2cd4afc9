"""Intelligence reports (issue 18): own and received reports, and the content of every released version.

Revision ID: 0015_intel
Revises: 0014_pg_outbox_fillfactor
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sarhad.core.database import UtcDateTime

revision: str = "0015_intel"
down_revision: str | None = "0014_pg_outbox_fillfactor"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intel_reports",
        sa.Column("origin", sa.String(length=2), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("releasable", sa.Text(), nullable=False),
        sa.Column("report_type", sa.String(length=32), nullable=False),
        sa.Column("period_start", UtcDateTime(), nullable=True),
        sa.Column("period_end", UtcDateTime(), nullable=True),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("incidents", sa.JSON(), nullable=False),
        sa.Column("reliability", sa.String(length=1), nullable=False),
        sa.Column("credibility", sa.String(length=1), nullable=False),
        sa.Column("source_note", sa.Text(), nullable=False),
        sa.Column("release_to", sa.JSON(), nullable=False),
        sa.Column("approved_by", sa.String(length=100), nullable=True),
        sa.Column("approved_at", UtcDateTime(), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("withdrawn_at", UtcDateTime(), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("origin", "id", name=op.f("pk_intel_reports")),
    )
    op.create_index("ix_intel_reports_updated_at", "intel_reports", ["updated_at"], unique=False)
    op.create_table(
        "intel_report_versions",
        sa.Column("origin", sa.String(length=2), nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["origin", "report_id"],
            ["intel_reports.origin", "intel_reports.id"],
            name="fk_intel_report_versions_origin_intel_reports",
        ),
        sa.PrimaryKeyConstraint("origin", "report_id", "version", name=op.f("pk_intel_report_versions")),
    )
    op.create_table(
        "intel_entities",
        sa.Column("origin", sa.String(length=2), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("names", sa.JSON(), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("nationality", sa.String(length=2), nullable=True),
        sa.Column("cnic", sa.String(length=15), nullable=True),
        sa.Column("national_code", sa.String(length=10), nullable=True),
        sa.Column("passport", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("origin", "id", name=op.f("pk_intel_entities")),
        sa.UniqueConstraint("cnic", name=op.f("uq_intel_entities_cnic")),
        sa.UniqueConstraint("national_code", name=op.f("uq_intel_entities_national_code")),
    )


def downgrade() -> None:
    op.drop_table("intel_entities")
    op.drop_table("intel_report_versions")
    op.drop_index("ix_intel_reports_updated_at", table_name="intel_reports")
    op.drop_table("intel_reports")
