"""API shapes of intelligence reports, and the schema of a report's content on the link.

Input models check lengths at the edge; ``domain.check_report`` applies the rules (grading, period, tearline)
again in the services, with their own error codes (``bad_grading``), so pages and received records are held
to them too. Unknown fields are refused (422).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from sarhad.exchange.domain import Handling, Tlp
from sarhad.exchange.record_rules import REASON_MAX
from sarhad.intel.domain import (
    BODY_MAX,
    INCIDENTS_MAX,
    RELEASABLE_MAX,
    SECTION_PATTERN,
    SECTIONS_MAX,
    SOURCE_NOTE_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    ReportType,
)

PartyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
SectionId = Annotated[str, StringConstraints(pattern=SECTION_PATTERN)]
IncidentRef = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}/[A-Za-z0-9._:-]{1,64}$")]


class ReportIn(BaseModel):
    """A new draft report. ``release_to``: the parties it is released to when a second person approves it."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    summary: str = Field(default="", max_length=SUMMARY_MAX, description="Stays on this node.")
    body: str = Field(
        min_length=1, max_length=BODY_MAX, description="The full text (above the tearline); never released."
    )
    releasable: str = Field(
        min_length=1,
        max_length=RELEASABLE_MAX,
        description="The releasable portion (below the tearline): the only text released to other parties.",
    )
    report_type: ReportType = ReportType.INFORMATION_REPORT
    reliability: str = Field(
        max_length=8, description="Admiralty source reliability, A (reliable) to F (cannot be judged)"
    )
    credibility: str = Field(
        max_length=8, description="Admiralty information credibility, 1 (confirmed) to 6 (cannot be judged)"
    )
    period_start: AwareDatetime | None = None
    period_end: AwareDatetime | None = None
    sections: list[SectionId] = Field(default_factory=list, max_length=SECTIONS_MAX)
    incidents: list[IncidentRef] = Field(
        default_factory=list, max_length=INCIDENTS_MAX, description="Linked incidents, as ORIGIN/id"
    )
    source_note: str = Field(
        default="", max_length=SOURCE_NOTE_MAX, description="A note on the source; never leaves this node."
    )
    tlp: Tlp = Tlp.AMBER
    handling: Handling = Handling.NO_ONWARD
    release_to: list[PartyCode] = Field(default_factory=list, max_length=32)


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: list[PartyCode] = Field(min_length=1, max_length=32)
    tlp: Tlp | None = Field(default=None, description="Default: the report's TLP. May tighten, never loosen.")
    handling: Handling | None = Field(default=None, description="Default: the report's handling.")


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=REASON_MAX)


class GradingOut(BaseModel):
    reliability: str
    credibility: str
    code: str = Field(description="e.g. B2")
    words: str = Field(description="e.g. 'B2: usually reliable, probably true'")


class ReportOut(BaseModel):
    """A report as listed. Received reports hold only what crossed the tearline."""

    id: str
    origin: str
    own: bool
    version: int
    status: str
    title: str
    report_type: str
    grading: GradingOut
    releasable: str
    period_start: datetime | None
    period_end: datetime | None
    sections: list[str]
    tlp: str
    handling: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    withdrawn_at: datetime | None
    received_at: datetime | None


class ReleaseOut(BaseModel):
    party: str
    tlp: str
    handling: str
    released_by: str
    released_at: datetime
    first_version: int
    withdrawn_at: datetime | None


class ReportDetailOut(ReportOut):
    """One report. ``summary``, ``body``, ``incidents`` and ``source_note`` are filled only on the
    originator's node (they never leave it); on a received report they are empty."""

    summary: str
    body: str
    incidents: list[str]
    source_note: str
    release_to: list[str] = Field(description="Own drafts: the parties it goes to once approved.")
    withdraw_reason: str
    content_hash: str
    releases: list[ReleaseOut]


# --- the content on the link ---------------------------------------------------------------------------------


class ReportContent(BaseModel):
    """A report version as released over the link (``domain.snapshot``): the releasable portion, the grading
    and the metadata. Unknown fields are ignored, so a newer peer may add some without its reports being
    quarantined here."""

    model_config = ConfigDict(extra="ignore")

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    releasable: str = Field(min_length=1, max_length=RELEASABLE_MAX)
    report_type: str = Field(max_length=32, description=", ".join(t.value for t in ReportType))
    reliability: str = Field(pattern=r"^[A-F]$", description="Admiralty source reliability A-F")
    credibility: str = Field(pattern=r"^[1-6]$", description="Admiralty information credibility 1-6")
    period_start: AwareDatetime | None = None
    period_end: AwareDatetime | None = None
    sections: list[str] = Field(default_factory=list, max_length=SECTIONS_MAX)
    created_at: AwareDatetime
    updated_at: AwareDatetime


# --- entities: persons ----------------------------------------------------------------------------------------


class NamesIn(BaseModel):
    """A name in each script it is known in (at least one)."""

    model_config = ConfigDict(extra="forbid")

    en: str = Field(default="", max_length=200)
    ur: str = Field(default="", max_length=200)
    fa: str = Field(default="", max_length=200)


class PersonIn(BaseModel):
    """A person. ``cnic`` (Pakistani, 13 digits) and ``national_code`` (Iranian, 10 digits with its check
    digit) are checked (422 ``bad_identifier``) and kept in one form; Persian digits are accepted."""

    model_config = ConfigDict(extra="forbid")

    names: NamesIn
    aliases: list[Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=list, max_length=32
    )
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    nationality: PartyCode | None = None
    cnic: str | None = Field(default=None, max_length=40)
    national_code: str | None = Field(default=None, max_length=40)
    passport: str | None = Field(default=None, max_length=20, pattern=r"^[A-Za-z0-9 ]*$")
    note: str = Field(default="", max_length=SOURCE_NOTE_MAX)


class PersonOut(BaseModel):
    id: str
    origin: str
    kind: str
    names: dict[str, str]
    aliases: list[str]
    birth_year: int | None
    nationality: str | None
    cnic: str | None
    national_code: str | None
    passport: str | None
    note: str
    created_by: str
    created_at: datetime
    updated_at: datetime
