"""Requests to the other side and border-section impact levels.

Impact levels need no table of their own: they are joint records (``exchange_joint_*``). Requests keep the
current version of each request (outgoing and incoming, with its answer) and a timeline of its steps.

Revision ID: 0007_requests_impact
Revises: 0006_incidents
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sarhad.core.database import UtcDateTime

revision: str = "0007_requests_impact"
down_revision: str | None = "0006_incidents"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "party_requests",
        sa.Column("origin", sa.String(length=2), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("addressee", sa.String(length=2), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("incident_origin", sa.String(length=2), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=True),
        sa.Column("deadline_choice", sa.String(length=8), nullable=False),
        sa.Column("deadline", UtcDateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("late_reason", sa.Text(), nullable=False),
        sa.Column("answered_at", UtcDateTime(), nullable=True),
        sa.Column("answered_by", sa.String(length=100), nullable=False),
        sa.Column("withdrawn_at", UtcDateTime(), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("origin", "id", name=op.f("pk_party_requests")),
    )
    op.create_index(op.f("ix_party_requests_deadline"), "party_requests", ["deadline"], unique=False)
    op.create_index(op.f("ix_party_requests_status"), "party_requests", ["status"], unique=False)
    op.create_index(op.f("ix_party_requests_created_at"), "party_requests", ["created_at"], unique=False)
    op.create_index(
        "ix_party_requests_incident", "party_requests", ["incident_origin", "incident_id"], unique=False
    )
    op.create_table(
        "party_request_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_origin", sa.String(length=2), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_origin", "request_id"],
            ["party_requests.origin", "party_requests.id"],
            name="fk_party_request_events_request_origin_party_requests",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_request_events")),
    )
    op.create_index(
        "ix_party_request_events_request",
        "party_request_events",
        ["request_origin", "request_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_party_request_events_request", table_name="party_request_events")
    op.drop_table("party_request_events")
    op.drop_index("ix_party_requests_incident", table_name="party_requests")
    op.drop_index(op.f("ix_party_requests_created_at"), table_name="party_requests")
    op.drop_index(op.f("ix_party_requests_status"), table_name="party_requests")
    op.drop_index(op.f("ix_party_requests_deadline"), table_name="party_requests")
    op.drop_table("party_requests")
