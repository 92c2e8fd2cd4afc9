"""The audit log becomes a hash chain with signed heads (docs/audit.md).

Adds ``seq``, ``prev_hash`` and ``entry_hash`` to ``audit_log`` and chains the entries already there in id
order (their times were not written under the chain's lock, so ``verify`` checks the order of times only
from the ``audit.chain_start`` entry this migration appends). Adds ``audit_heads`` (own signed heads and the
heads peers sent to be witnessed). On SQLite a trigger also refuses an INSERT that would replace an entry
(``INSERT OR REPLACE`` deletes the old row without firing the DELETE trigger).

Revision ID: 0011_audit_chain
Revises: 0008_audit_action_index
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from sarhad.audit import chain
from sarhad.core.database import UtcDateTime

revision: str = "0011_audit_chain"
down_revision: str | None = "0010_lanes"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

_SQLITE_TRIGGERS = {
    "audit_log_no_update": "BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "audit_log_no_delete": "BEFORE DELETE ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
}
_SQLITE_NO_REPLACE = (
    "CREATE TRIGGER audit_log_no_replace BEFORE INSERT ON audit_log "
    "WHEN EXISTS (SELECT 1 FROM audit_log WHERE id = NEW.id OR seq = NEW.seq) "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
)
_PG_TRIGGER = (
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
)


def _drop_triggers(sqlite: bool) -> None:
    if sqlite:
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")


def _create_triggers(sqlite: bool) -> None:
    if sqlite:
        for name, body in _SQLITE_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")
    else:
        op.execute(_PG_TRIGGER)


def _chain_existing() -> None:
    log = sa.table(
        "audit_log",
        sa.column("id", sa.BigInteger()),
        sa.column("at", UtcDateTime()),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("outcome", sa.String()),
        sa.column("record_kind", sa.String()),
        sa.column("record_id", sa.String()),
        sa.column("client_ip", sa.String()),
        sa.column("details", sa.JSON()),
        sa.column("seq", sa.BigInteger()),
        sa.column("prev_hash", sa.String()),
        sa.column("entry_hash", sa.String()),
    )
    bind = op.get_bind()
    seq, prev, last_id = 0, chain.GENESIS_HASH, 0
    fields = ("at", "actor", "action", "outcome", "record_kind", "record_id", "client_ip", "details")
    while True:
        rows = bind.execute(
            sa.select(log.c.id, *(log.c[f] for f in fields))
            .where(log.c.id > last_id)
            .order_by(log.c.id)
            .limit(5000)
        ).all()
        if not rows:
            break
        updates = []
        for row in rows:
            seq += 1
            values = dict(zip(fields, row[1:], strict=True))
            values["details"] = chain.json_safe(values["details"] or {})
            values["client_ip"] = values["client_ip"] or ""
            digest = chain.entry_hash(seq=seq, prev=prev, **values)
            updates.append({"row_id": row[0], "s": seq, "p": prev, "h": digest, "d": values["details"]})
            prev, last_id = digest, row[0]
        bind.execute(
            log.update()
            .where(log.c.id == sa.bindparam("row_id"))
            .values(
                seq=sa.bindparam("s"),
                prev_hash=sa.bindparam("p"),
                entry_hash=sa.bindparam("h"),
                details=sa.bindparam("d"),
            ),
            updates,
        )
    # The first entry whose time was written under the chain's lock follows; verify checks times from it.
    at = datetime.now(UTC)
    start = {
        "at": at,
        "actor": "system",
        "action": "audit.chain_start",
        "outcome": "ok",
        "record_kind": None,
        "record_id": None,
        "client_ip": "",
        "details": {"chained_existing": seq},
    }
    digest = chain.entry_hash(seq=seq + 1, prev=prev, **start)
    bind.execute(log.insert().values(**start, seq=seq + 1, prev_hash=prev, entry_hash=digest))


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("entry_hash", sa.String(64), nullable=True))
    _drop_triggers(sqlite)
    _chain_existing()
    op.create_index("ix_audit_log_seq", "audit_log", ["seq"], unique=True)
    _create_triggers(sqlite)
    if sqlite:
        op.execute(_SQLITE_NO_REPLACE)
    op.create_table(
        "audit_heads",
        sa.Column("origin", sa.String(2), primary_key=True),
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("log_seq", sa.BigInteger(), nullable=False),
        sa.Column("log_hash", sa.String(64), nullable=False),
        sa.Column("signed_at", UtcDateTime(), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("sig", sa.String(100), nullable=False),
        sa.Column("tlp", sa.String(16), nullable=False),
        sa.Column("handling", sa.String(16), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("withdrawn_at", UtcDateTime(), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=False),
        sa.Column("received_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_audit_heads_origin_seq", "audit_heads", ["origin", "log_seq"])
    # A signed head, own or witnessed, is evidence: never changed or removed.
    if sqlite:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_heads_no_{verb.lower()} BEFORE {verb} ON audit_heads "
                "BEGIN SELECT RAISE(ABORT, 'audit_heads is append-only'); END"
            )
    else:
        op.execute(
            "CREATE TRIGGER audit_heads_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_heads "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.drop_index("ix_audit_heads_origin_seq", table_name="audit_heads")
    op.drop_table("audit_heads")
    if sqlite:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_replace")
    _drop_triggers(sqlite)
    op.drop_index("ix_audit_log_seq", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("entry_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
    _create_triggers(sqlite)
