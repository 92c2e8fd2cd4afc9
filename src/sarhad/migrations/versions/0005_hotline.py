"""Hotline and live events: channels, settings, escalation policies, messages, their timelines; the live log.

Revision ID: 0005_hotline
Revises: 0004_bulletins
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sarhad.core.database import UtcDateTime

revision: str = "0005_hotline"
down_revision: str | None = "0004_bulletins"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "live_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.String(length=64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("positions", sa.JSON(), nullable=False),
        sa.Column("permission", sa.String(length=64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_live_events")),
    )
    op.create_index(op.f("ix_live_events_at"), "live_events", ["at"], unique=False)
    op.create_table(
        "hotline_channels",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("own_position_id", sa.String(length=64), nullable=False),
        sa.Column("counterpart_party", sa.String(length=2), nullable=False),
        sa.Column("counterpart_position_id", sa.String(length=64), nullable=False),
        sa.Column("counterpart_names", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["own_position_id"],
            ["positions.id"],
            name=op.f("fk_hotline_channels_own_position_id_positions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotline_channels")),
        sa.UniqueConstraint(
            "own_position_id",
            "counterpart_party",
            "counterpart_position_id",
            name="uq_hotline_channels_own_position_id",
        ),
    )
    op.create_index(
        op.f("ix_hotline_channels_own_position_id"), "hotline_channels", ["own_position_id"], unique=False
    )
    op.create_table(
        "hotline_settings",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_hotline_settings")),
    )
    op.create_table(
        "hotline_escalation_policies",
        sa.Column("position_id", sa.String(length=64), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("max_repeats", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["position_id"],
            ["positions.id"],
            name=op.f("fk_hotline_escalation_policies_position_id_positions"),
        ),
        sa.PrimaryKeyConstraint("position_id", name=op.f("pk_hotline_escalation_policies")),
    )
    op.create_table(
        "hotline_messages",
        sa.Column("origin", sa.String(length=2), nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.String(length=36), nullable=True),
        sa.Column("from_party", sa.String(length=2), nullable=False),
        sa.Column("from_position_id", sa.String(length=64), nullable=False),
        sa.Column("from_position_names", sa.JSON(), nullable=False),
        sa.Column("to_party", sa.String(length=2), nullable=False),
        sa.Column("to_position_id", sa.String(length=64), nullable=False),
        sa.Column("to_position_names", sa.JSON(), nullable=False),
        sa.Column("precedence", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("incident", sa.String(length=100), nullable=True),
        sa.Column("reply_to_origin", sa.String(length=2), nullable=True),
        sa.Column("reply_to_id", sa.String(length=64), nullable=True),
        sa.Column("thread_origin", sa.String(length=2), nullable=False),
        sa.Column("thread_id", sa.String(length=64), nullable=False),
        sa.Column("sent_by", sa.String(length=100), nullable=False),
        sa.Column("sent_by_name", sa.String(length=200), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.Column("delivered_remote_at", UtcDateTime(), nullable=True),
        sa.Column("seen_at", UtcDateTime(), nullable=True),
        sa.Column("seen_remote_at", UtcDateTime(), nullable=True),
        sa.Column("seen_by", sa.String(length=100), nullable=True),
        sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
        sa.Column("acknowledged_remote_at", UtcDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=100), nullable=True),
        sa.Column("acknowledged_by_name", sa.String(length=200), nullable=True),
        sa.Column("acknowledged_position_id", sa.String(length=64), nullable=True),
        sa.Column("ack_reply", sa.Text(), nullable=True),
        sa.Column("ack_record_id", sa.String(length=64), nullable=True),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.Column("closed_remote_at", UtcDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(length=100), nullable=True),
        sa.Column("link_down_at", UtcDateTime(), nullable=True),
        sa.Column("ack_deadline_seconds", sa.Integer(), nullable=True),
        sa.Column("ack_due_at", UtcDateTime(), nullable=True),
        sa.Column("escalation_policy", sa.JSON(), nullable=True),
        sa.Column("escalation_step", sa.Integer(), nullable=False),
        sa.Column("next_escalation_at", UtcDateTime(), nullable=True),
        sa.Column("escalated_positions", sa.JSON(), nullable=False),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("origin", "id", name=op.f("pk_hotline_messages")),
    )
    for column in (
        "from_position_id",
        "to_position_id",
        "thread_id",
        "state",
        "created_at",
        "next_escalation_at",
    ):
        op.create_index(op.f(f"ix_hotline_messages_{column}"), "hotline_messages", [column], unique=False)
    op.create_table(
        "hotline_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_origin", sa.String(length=2), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("party", sa.String(length=2), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hotline_events")),
    )
    op.create_index(op.f("ix_hotline_events_message_id"), "hotline_events", ["message_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_hotline_events_message_id"), table_name="hotline_events")
    op.drop_table("hotline_events")
    for column in (
        "from_position_id",
        "to_position_id",
        "thread_id",
        "state",
        "created_at",
        "next_escalation_at",
    ):
        op.drop_index(op.f(f"ix_hotline_messages_{column}"), table_name="hotline_messages")
    op.drop_table("hotline_messages")
    op.drop_table("hotline_escalation_policies")
    op.drop_table("hotline_settings")
    op.drop_index(op.f("ix_hotline_channels_own_position_id"), table_name="hotline_channels")
    op.drop_table("hotline_channels")
    op.drop_index(op.f("ix_live_events_at"), table_name="live_events")
    op.drop_table("live_events")
