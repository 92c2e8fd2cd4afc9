"""Requests to the other side and border-section impact levels.

Revision ID: 0007_requests_impact
Revises: 0006_incidents
Create Date: 2026-11-23
"""

from collections.abc import Sequence

revision: str = "0007_requests_impact"
down_revision: str | None = "0006_incidents"
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    pass  # PLACEHOLDER: the package's tables go here


def downgrade() -> None:
    pass
