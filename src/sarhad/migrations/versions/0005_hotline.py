"""Hotline.

Revision ID: 0005_hotline
Revises: 0004_bulletins
Create Date: 2026-11-23
"""

from collections.abc import Sequence

revision: str = "0005_hotline"
down_revision: str | None = "0004_bulletins"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass  # PLACEHOLDER: the package's tables go here


def downgrade() -> None:
    pass
