"""Exchange: peers and pinned keys, link heads, outbox and inbox, receipts, releases, evidence, joint records.

Revision ID: 0002_exchange
Revises: 0001_users_audit
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sarhad.core.database import UtcDateTime

revision: str = "0002_exchange"
down_revision: str | None = "0001_users_audit"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exchange_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=5), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("acknowledged_at", UtcDateTime(), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_alerts")),
    )
    op.create_index(op.f("ix_exchange_alerts_at"), "exchange_alerts", ["at"], unique=False)
    op.create_index(op.f("ix_exchange_alerts_kind"), "exchange_alerts", ["kind"], unique=False)
    op.create_table(
        "exchange_evidence",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("link", sa.String(length=5), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("first_body", sa.Text(), nullable=False),
        sa.Column("second_body", sa.Text(), nullable=False),
        sa.Column("detected_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_evidence")),
    )
    op.create_table(
        "exchange_inbox",
        sa.Column("link", sa.String(length=5), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("record_kind", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("record_version", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(length=16), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("link", "seq", name=op.f("pk_exchange_inbox")),
    )
    op.create_index(op.f("ix_exchange_inbox_record_id"), "exchange_inbox", ["record_id"], unique=False)
    op.create_table(
        "exchange_joint_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("joint_id", sa.String(length=64), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=2), nullable=False),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_joint_decisions")),
    )
    op.create_index(
        op.f("ix_exchange_joint_decisions_joint_id"), "exchange_joint_decisions", ["joint_id"], unique=False
    )
    op.create_table(
        "exchange_joint_proposals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("joint_id", sa.String(length=64), nullable=False),
        sa.Column("proposer", sa.String(length=2), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("based_on_hash", sa.String(length=64), nullable=True),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_joint_proposals")),
        sa.UniqueConstraint("joint_id", "content_hash", name="uq_exchange_joint_proposals_hash"),
    )
    op.create_index(
        op.f("ix_exchange_joint_proposals_joint_id"), "exchange_joint_proposals", ["joint_id"], unique=False
    )
    op.create_table(
        "exchange_joint_records",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("signatories", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.String(length=2), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("agreed_content", sa.JSON(), nullable=True),
        sa.Column("agreed_hash", sa.String(length=64), nullable=True),
        sa.Column("agreed_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_joint_records")),
    )
    op.create_index(
        op.f("ix_exchange_joint_records_subject"), "exchange_joint_records", ["subject"], unique=False
    )
    op.create_table(
        "exchange_links",
        sa.Column("link", sa.String(length=5), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("peer", sa.String(length=2), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("receipted_seq", sa.Integer(), nullable=False),
        sa.Column("receipted_hash", sa.String(length=64), nullable=False),
        sa.Column("receipted_at", UtcDateTime(), nullable=True),
        sa.Column("sent_seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("link", name=op.f("pk_exchange_links")),
    )
    op.create_index(op.f("ix_exchange_links_peer"), "exchange_links", ["peer"], unique=False)
    op.create_table(
        "exchange_outbox",
        sa.Column("link", sa.String(length=5), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("record_kind", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("record_version", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(length=16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("sent_at", UtcDateTime(), nullable=True),
        sa.Column("receipted_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("link", "seq", name=op.f("pk_exchange_outbox")),
    )
    op.create_index(op.f("ix_exchange_outbox_record_id"), "exchange_outbox", ["record_id"], unique=False)
    op.create_table(
        "exchange_own_keys",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("retired_at", UtcDateTime(), nullable=True),
        sa.Column("valid_from_seq", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_exchange_own_keys")),
    )
    op.create_table(
        "exchange_peer_keys",
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("party", sa.String(length=2), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("valid_from_seq", sa.Integer(), nullable=False),
        sa.Column("valid_until_seq", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("added_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("fingerprint", name=op.f("pk_exchange_peer_keys")),
    )
    op.create_index(op.f("ix_exchange_peer_keys_party"), "exchange_peer_keys", ["party"], unique=False)
    op.create_table(
        "exchange_peers",
        sa.Column("party", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("push", sa.Boolean(), nullable=False),
        sa.Column("pull", sa.Boolean(), nullable=False),
        sa.Column("added_at", UtcDateTime(), nullable=False),
        sa.Column("last_contact_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("last_error_at", UtcDateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=False),
        sa.Column("lease_until", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("party", name=op.f("pk_exchange_peers")),
    )
    op.create_table(
        "exchange_receipts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("link", sa.String(length=5), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_receipts")),
        sa.UniqueConstraint("link", "seq", "direction", name="uq_exchange_receipts_link_seq_dir"),
    )
    op.create_index(op.f("ix_exchange_receipts_link"), "exchange_receipts", ["link"], unique=False)
    op.create_table(
        "exchange_received_records",
        sa.Column("origin", sa.String(length=2), nullable=False),
        sa.Column("record_kind", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("link", sa.String(length=5), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=False),
        sa.Column("withdrawn_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint(
            "origin", "record_kind", "record_id", name=op.f("pk_exchange_received_records")
        ),
    )
    op.create_table(
        "exchange_releases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("record_kind", sa.String(length=64), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=2), nullable=False),
        sa.Column("to_party", sa.String(length=2), nullable=False),
        sa.Column("handling", sa.String(length=16), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("released_by", sa.String(length=64), nullable=False),
        sa.Column("released_at", UtcDateTime(), nullable=False),
        sa.Column("first_version", sa.Integer(), nullable=False),
        sa.Column("withdrawn_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exchange_releases")),
        sa.UniqueConstraint(
            "origin", "record_kind", "record_id", "to_party", name="uq_exchange_releases_rec_to"
        ),
    )
    op.create_index(op.f("ix_exchange_releases_record_id"), "exchange_releases", ["record_id"], unique=False)


def downgrade() -> None:
    op.drop_table("exchange_releases")
    op.drop_table("exchange_received_records")
    op.drop_table("exchange_receipts")
    op.drop_table("exchange_peers")
    op.drop_table("exchange_peer_keys")
    op.drop_table("exchange_own_keys")
    op.drop_table("exchange_outbox")
    op.drop_table("exchange_links")
    op.drop_table("exchange_joint_records")
    op.drop_table("exchange_joint_proposals")
    op.drop_table("exchange_joint_decisions")
    op.drop_table("exchange_inbox")
    op.drop_table("exchange_evidence")
    op.drop_table("exchange_alerts")
