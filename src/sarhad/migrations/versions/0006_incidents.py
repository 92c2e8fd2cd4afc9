"""Incidents.

Revision ID: 0006_incidents
Revises: 0005_hotline
Create Date: 2026-11-23
"""

from collections.abc import Sequence

revision: str = "0006_incidents"
down_revision: str | None = "0005_hotline"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass  # PLACEHOLDER: the package's tables go here


def downgrade() -> None:
    pass
