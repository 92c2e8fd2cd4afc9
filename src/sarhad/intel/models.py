"""Tables for intelligence reports: own and received in one table, and every released version's content.

A report is identified by ``(origin, id)``. An own report holds its full text, summary, linked incidents and
the note on its source; a received one holds only what crossed the tearline (those columns stay empty).
The history table keeps each version's content exactly as released or received: the released snapshot, so
it never holds the full text either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKeyConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from sarhad.core.database import Base, UtcDateTime


class IntelReport(Base):
    """The current version of a report. ``received_at`` is null for this node's own reports."""

    __tablename__ = "intel_reports"

    origin: Mapped[str] = mapped_column(String(2), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")  # own only
    body: Mapped[str] = mapped_column(Text, default="")  # own only: the full text, above the tearline
    releasable: Mapped[str] = mapped_column(Text)  # below the tearline: what is released
    report_type: Mapped[str] = mapped_column(String(32))
    period_start: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    period_end: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    sections: Mapped[list[str]] = mapped_column(JSON, default=list)
    incidents: Mapped[list[str]] = mapped_column(JSON, default=list)  # own only: "PK/<id>"
    reliability: Mapped[str] = mapped_column(String(1))
    credibility: Mapped[str] = mapped_column(String(1))
    source_note: Mapped[str] = mapped_column(Text, default="")  # own only: never leaves the node
    release_to: Mapped[list[str]] = mapped_column(JSON, default=list)  # own: released to these on approval
    approved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    tlp: Mapped[str] = mapped_column(String(16))
    handling: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    withdraw_reason: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    __table_args__ = (Index("ix_intel_reports_updated_at", "updated_at"),)


class IntelReportVersion(Base):
    """The content of one version exactly as released (own) or received (peer's), with its hash."""

    __tablename__ = "intel_report_versions"

    origin: Mapped[str] = mapped_column(String(2), primary_key=True)
    report_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_by: Mapped[str] = mapped_column(String(100))

    __table_args__ = (
        ForeignKeyConstraint(
            ["origin", "report_id"],
            ["intel_reports.origin", "intel_reports.id"],
            name="fk_intel_report_versions_origin_intel_reports",
        ),
    )


class IntelEntity(Base):
    """A person known to this node's analysts (issue 18, entities: persons first). Kept on this node only: no
    record kind shares entities yet. Identifiers are stored in their canonical form (``intel.identifiers``)."""

    __tablename__ = "intel_entities"

    origin: Mapped[str] = mapped_column(String(2), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    names: Mapped[dict[str, str]] = mapped_column(JSON)  # {"en", "ur", "fa"}: the name in each script
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    birth_year: Mapped[int | None] = mapped_column(Integer, nullable=True)
    nationality: Mapped[str | None] = mapped_column(String(2), nullable=True)
    cnic: Mapped[str | None] = mapped_column(String(15), nullable=True, unique=True)
    national_code: Mapped[str | None] = mapped_column(String(10), nullable=True, unique=True)
    passport: Mapped[str | None] = mapped_column(String(20), nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
