"""Helpers shared by the border integration tests (importable as ``border_support`` from this folder)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sarhad.accounts.models import Position
from sarhad.audit.models import AuditEntry
from sarhad.border.models import (
    BorderLine,
    BorderParty,
    BorderPost,
    BorderSection,
    CountryOutline,
    Crossing,
    CrossingSide,
    FenceSegment,
    Market,
)

PASSWORD = "correct horse battery"
USERS: dict[str, dict[str, Any]] = {
    "editor": {"roles": ["admin"], "scope_sections": []},  # admin holds border.edit
    "reader": {"roles": ["operator"], "scope_sections": []},  # border.read only
    "s1.editor": {"roles": ["admin"], "scope_sections": ["S1"]},  # border.edit, but only in section S1
}
BORDER_TABLES = (
    BorderParty,
    CountryOutline,
    BorderLine,
    BorderSection,
    BorderPost,
    Crossing,
    CrossingSide,
    Market,
    FenceSegment,
)


def snapshot(session: Session) -> dict[str, Any]:
    """Every border row, every position and the audit log's length: equal snapshots mean nothing changed."""
    state: dict[str, Any] = {}
    for model in (*BORDER_TABLES, Position):
        table = model.__table__  # type: ignore[attr-defined]
        rows = session.execute(select(*table.columns)).all()
        state[table.name] = sorted(tuple(repr(value) for value in row) for row in rows)
    state["audit_entries"] = session.scalar(select(func.count(AuditEntry.id)))
    return state
