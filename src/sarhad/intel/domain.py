"""Pure rules of intelligence reports: grading, the four-eyes workflow, and what crosses the tearline. No I/O.

A report has a full text (``body``) and a releasable portion (``releasable``, "below the tearline"). Only the
releasable portion, the grading and the report's metadata go over the link (:func:`snapshot`); the body, the
summary, the linked incidents and the note on the source stay on the originator's node. The same rules check
a report written here and one received from a peer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from sarhad.core import text
from sarhad.core.errors import ErrorCode, RuleError
from sarhad.exchange.record_rules import content_time

KIND = "intel.report"
TITLE_MAX = 200
SUMMARY_MAX = 2_000
BODY_MAX = 100_000
RELEASABLE_MAX = 20_000
SOURCE_NOTE_MAX = 4_000
SECTIONS_MAX = 32
INCIDENTS_MAX = 32
SECTION_PATTERN = r"^[A-Za-z0-9._-]{1,32}$"


class ReportType(StrEnum):
    THREAT_WARNING = "threat_warning"
    ASSESSMENT = "assessment"
    INFORMATION_REPORT = "information_report"
    PATTERN_OF_ACTIVITY = "pattern_of_activity"


class Status(StrEnum):
    """Own reports: draft → approved (by a second person) → released. A received report is ``released``."""

    DRAFT = "draft"
    APPROVED = "approved"
    RELEASED = "released"


# The Admiralty (NATO AJP-2.1) grading: the reliability of the source and the credibility of the information.
RELIABILITY: dict[str, str] = {
    "A": "completely reliable",
    "B": "usually reliable",
    "C": "fairly reliable",
    "D": "not usually reliable",
    "E": "unreliable",
    "F": "reliability cannot be judged",
}
CREDIBILITY: dict[str, str] = {
    "1": "confirmed by other sources",
    "2": "probably true",
    "3": "possibly true",
    "4": "doubtful",
    "5": "improbable",
    "6": "truth cannot be judged",
}


@dataclass(frozen=True)
class Grading:
    reliability: str
    credibility: str

    @property
    def code(self) -> str:
        return self.reliability + self.credibility


@dataclass(frozen=True)
class ReportFields:
    """A report's content after every rule has passed (text trimmed, times in UTC)."""

    title: str
    summary: str
    body: str
    releasable: str
    report_type: ReportType
    period_start: datetime | None
    period_end: datetime | None
    sections: tuple[str, ...]
    grading: Grading
    source_note: str


def check_grading(reliability: str, credibility: str) -> Grading:
    """Source reliability A–F and information credibility 1–6 (422 ``bad_grading`` naming the field)."""
    if reliability not in RELIABILITY:
        raise RuleError(
            "reliability",
            f"source reliability {reliability!r} is not on the Admiralty scale: give one letter A to F",
            code=ErrorCode.BAD_GRADING,
        )
    if credibility not in CREDIBILITY:
        raise RuleError(
            "credibility",
            f"information credibility {credibility!r} is not on the Admiralty scale: give one digit 1 to 6",
            code=ErrorCode.BAD_GRADING,
        )
    return Grading(reliability, credibility)


def check_report_type(value: str) -> ReportType:
    try:
        return ReportType(value)
    except ValueError:
        known = ", ".join(t.value for t in ReportType)
        raise RuleError("report_type", f"unknown report type {value!r}; known: {known}") from None


def _text(field: str, value: str, limit: int, *, required: bool, what: str) -> str:
    value = value.strip()
    if required and not value:
        raise RuleError(field, f"a report needs {what}")
    if len(value) > limit:
        raise RuleError(field, f"the {what} is {len(value)} characters; at most {limit} are allowed")
    text.check_no_nul(value, field)
    return value


def check_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise RuleError("title", "a report needs a title")
    if len(title) > TITLE_MAX:
        raise RuleError("title", f"the title is {len(title)} characters; at most {TITLE_MAX} are allowed")
    text.check_title(title, "title")
    return title


def check_period(start: datetime | None, end: datetime | None) -> tuple[datetime | None, datetime | None]:
    for field, value in (("period_start", start), ("period_end", end)):
        if value is not None and value.tzinfo is None:
            raise RuleError(field, f"{field} needs a time zone (e.g. 2026-11-23T08:00:00+05:00)")
    start_utc = start.astimezone(UTC) if start else None
    end_utc = end.astimezone(UTC) if end else None
    if start_utc is not None and end_utc is not None and end_utc < start_utc:
        raise RuleError("period_end", "the period covered must end at or after its start")
    return start_utc, end_utc


def check_sections(sections: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    if len(sections) > SECTIONS_MAX:
        raise RuleError("sections", f"at most {SECTIONS_MAX} sections")
    seen: list[str] = []
    for section in sections:
        section = section.strip()
        if not section or len(section) > 32:
            raise RuleError("sections", f"section {section!r} is not a section id")
        if section not in seen:
            seen.append(section)
    return tuple(seen)


def check_report(
    *,
    title: str,
    summary: str = "",
    body: str,
    releasable: str,
    report_type: str,
    reliability: str,
    credibility: str,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    sections: list[str] | tuple[str, ...] = (),
    source_note: str = "",
) -> ReportFields:
    """Every content rule of a report written here; raises RuleError naming the first field that breaks one."""
    grading = check_grading(reliability, credibility)
    start, end = check_period(period_start, period_end)
    return ReportFields(
        title=check_title(title),
        summary=_text("summary", summary, SUMMARY_MAX, required=False, what="summary"),
        body=_text("body", body, BODY_MAX, required=True, what="full text"),
        releasable=_text("releasable", releasable, RELEASABLE_MAX, required=True, what="releasable portion"),
        report_type=check_report_type(report_type),
        period_start=start,
        period_end=end,
        sections=check_sections(sections),
        grading=grading,
        source_note=_text("source_note", source_note, SOURCE_NOTE_MAX, required=False, what="source note"),
    )


def check_received(
    *,
    title: str,
    releasable: str,
    report_type: str,
    reliability: str,
    credibility: str,
    period_start: datetime | None,
    period_end: datetime | None,
    sections: list[str],
) -> ReportFields:
    """A received report's content by the same rules (it has no body, summary or source note here)."""
    grading = check_grading(reliability, credibility)
    start, end = check_period(period_start, period_end)
    return ReportFields(
        title=check_title(title),
        summary="",
        body="",
        releasable=_text("releasable", releasable, RELEASABLE_MAX, required=True, what="releasable portion"),
        report_type=check_report_type(report_type),
        period_start=start,
        period_end=end,
        sections=check_sections(sections),
        grading=grading,
        source_note="",
    )


# --- the four-eyes workflow ---------------------------------------------------------------------------------


def check_approval(status: str, author: str, approver: str) -> None:
    """A draft is approved by someone other than its author (four eyes)."""
    if author == approver:
        raise RuleError(
            "approver",
            "the author of a report cannot approve it; a second person with the approve permission must",
            code=ErrorCode.OWN_APPROVAL,
        )
    if status != Status.DRAFT:
        raise RuleError(
            "status", f"the report is {status}, not a draft; it is approved once", code=ErrorCode.NOT_DRAFT
        )


def check_releasable(status: str) -> None:
    """Only an approved report is released."""
    if status == Status.DRAFT:
        raise RuleError(
            "status",
            "the report is a draft; a second person must approve it before it is released",
            code=ErrorCode.NOT_APPROVED,
        )


# --- the record content sent over the link ----------------------------------------------------------------


class ReportLike(Protocol):
    title: str
    releasable: str
    report_type: str
    period_start: datetime | None
    period_end: datetime | None
    sections: list[str]
    reliability: str
    credibility: str
    created_at: datetime
    updated_at: datetime


def snapshot(report: ReportLike) -> dict[str, Any]:
    """The content of one version as released over the link: ONLY the part below the tearline, the grading
    and the metadata. Never the body, the summary, the linked incidents or the source note.

    TLP and handling are not in the content: they travel on the record itself."""
    return {
        "title": report.title,
        "releasable": report.releasable,
        "report_type": report.report_type,
        "period_start": content_time(report.period_start),
        "period_end": content_time(report.period_end),
        "sections": list(report.sections),
        "reliability": report.reliability,
        "credibility": report.credibility,
        "created_at": content_time(report.created_at),
        "updated_at": content_time(report.updated_at),
    }


def grading_words(reliability: str, credibility: str) -> str:
    """ "B2: usually reliable, probably true" (English; pages translate the parts)."""
    return f"{reliability}{credibility}: {RELIABILITY.get(reliability, '?')}, {CREDIBILITY.get(credibility, '?')}"
