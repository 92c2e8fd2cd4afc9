"""Incidents: own and received incident reports, the content of every version, and attachment files.

Revision ID: 0006_incidents
Revises: 0005_hotline
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sarhad.core.database import UtcDateTime

revision: str = "0006_incidents"
down_revision: str | None = "0005_hotline"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("origin", sa.String(length=2), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("occurred_at", UtcDateTime(), nullable=False),
        sa.Column("reported_at", UtcDateTime(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=True),
        sa.Column("section_id", sa.String(length=32), nullable=True),
        sa.Column("distance_to_border_m", sa.Float(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("casualties", sa.JSON(), nullable=False),
        sa.Column("seizures", sa.JSON(), nullable=False),
        sa.Column("persons_apprehended", sa.Integer(), nullable=False),
        sa.Column("impact_level", sa.String(length=16), nullable=False),
        sa.Column("source_reliability", sa.String(length=1), nullable=False),
        sa.Column("info_credibility", sa.String(length=1), nullable=False),
        sa.Column("exercise", sa.Boolean(), nullable=False),
        sa.Column("follow_up_of_origin", sa.String(length=2), nullable=True),
        sa.Column("follow_up_of_id", sa.String(length=64), nullable=True),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("withdrawn_at", UtcDateTime(), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("origin", "id", name=op.f("pk_incidents")),
    )
    # The map query: bounding box + time window (+ type). The coordinates are in the index, so the box is
    # checked without visiting the table rows that fall outside it.
    op.create_index("ix_incidents_type_occurred", "incidents", ["type", "occurred_at", "lon", "lat"])
    op.create_index("ix_incidents_occurred", "incidents", ["occurred_at", "lon", "lat"])
    op.create_index("ix_incidents_section_occurred", "incidents", ["section_id", "occurred_at"])
    op.create_index("ix_incidents_follow_up", "incidents", ["follow_up_of_origin", "follow_up_of_id"])
    op.create_index("ix_incidents_status_created", "incidents", ["status", "created_at"])
    op.create_table(
        "incident_versions",
        sa.Column("origin", sa.String(length=2), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=32), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["origin", "incident_id"],
            ["incidents.origin", "incidents.id"],
            name="fk_incident_versions_origin_incidents",
        ),
        sa.PrimaryKeyConstraint("origin", "incident_id", "version", name=op.f("pk_incident_versions")),
    )
    op.create_table(
        "incident_attachments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("origin", sa.String(length=2), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["origin", "incident_id"],
            ["incidents.origin", "incidents.id"],
            name="fk_incident_attachments_origin_incidents",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_attachments")),
    )
    op.create_index("ix_incident_attachments_incident", "incident_attachments", ["origin", "incident_id"])


def downgrade() -> None:
    op.drop_index("ix_incident_attachments_incident", table_name="incident_attachments")
    op.drop_table("incident_attachments")
    op.drop_table("incident_versions")
    op.drop_index("ix_incidents_status_created", table_name="incidents")
    op.drop_index("ix_incidents_follow_up", table_name="incidents")
    op.drop_index("ix_incidents_section_occurred", table_name="incidents")
    op.drop_index("ix_incidents_occurred", table_name="incidents")
    op.drop_index("ix_incidents_type_occurred", table_name="incidents")
    op.drop_table("incidents")
