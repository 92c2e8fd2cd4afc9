"""API shapes of incidents, and the schema of an incident's content on the link.

Input models check shapes at the edge; ``domain.check_incident`` applies every content rule in the services
(with precise messages), so pages, the CLI import and received records are held to the same rules.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from sarhad.core.params import Int32, RowId
from sarhad.exchange import record_rules
from sarhad.exchange.domain import Handling, Tlp
from sarhad.incidents.domain import DESCRIPTION_MAX, REASON_MAX

PartyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class SeizureIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(max_length=200)
    quantity: float = Field(allow_inf_nan=False)
    unit: str = Field(max_length=16)


class IncidentRefIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    origin: PartyCode
    id: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")


class IncidentContentIn(BaseModel):
    """The editable content of an incident."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(max_length=40, description="A type code of the taxonomy, e.g. drug_smuggling")
    occurred_at: AwareDatetime
    lat: float
    lon: float
    description: str = Field(max_length=DESCRIPTION_MAX + 1000)
    impact_level: str = Field(default="low", description="low, medium, high or very_high")
    casualties: dict[str, Int32] = Field(default_factory=dict)
    seizures: list[SeizureIn] = Field(default_factory=list, max_length=100)
    persons_apprehended: Int32 = 0
    source_reliability: str = Field(default="F", description="A (reliable) to F (cannot be judged)")
    info_credibility: str = Field(default="6", description="1 (confirmed) to 6 (cannot be judged)")
    exercise: bool = False
    confirm_far: bool = Field(
        default=False, description="Confirm a point more than 50 km from the border line."
    )


class IncidentCreateIn(IncidentContentIn):
    draft: bool = Field(default=False, description="Save as a draft instead of reporting it at once.")
    follow_up_of: IncidentRefIn | None = None
    tlp: Tlp = Tlp.AMBER
    handling: Handling = Handling.NO_ONWARD
    release_to: list[PartyCode] = Field(default_factory=list, max_length=32)


class IncidentUpdateIn(IncidentContentIn):
    version: RowId | None = Field(
        default=None, description="The version being edited; refused with 409 if no longer current."
    )


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: str = Field(description="report, validate, close or dismiss")
    reason: str = Field(default="", max_length=REASON_MAX)


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: list[PartyCode] = Field(min_length=1, max_length=32)
    tlp: Tlp | None = None
    handling: Handling | None = None


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=record_rules.REASON_MAX)


# --- the content on the link (record kind "incident") ---------------------------------------------------------


class LocationContent(BaseModel):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)


class SeizureContent(BaseModel):
    item: str = Field(min_length=1, max_length=200)
    quantity: float = Field(ge=0, allow_inf_nan=False)
    unit: str = Field(max_length=16)


class RefContent(BaseModel):
    origin: str = Field(pattern=r"^[A-Z]{2}$")
    id: str = Field(min_length=1, max_length=64)


class AttachmentContent(BaseModel):
    id: str = Field(max_length=36)
    filename: str = Field(max_length=200)
    media_type: str = Field(max_length=64)
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class IncidentContent(BaseModel):
    """One version of an incident as released over the link (record kind ``incident``)."""

    model_config = ConfigDict(extra="ignore")

    type: str = Field(min_length=2, max_length=40)
    status: str
    status_reason: str = Field(default="", max_length=REASON_MAX)
    occurred_at: AwareDatetime
    reported_at: AwareDatetime | None = None
    location: LocationContent
    side: str | None = Field(default=None, max_length=8)
    section: str | None = Field(default=None, max_length=32)
    distance_to_border_m: float | None = None
    description: str = Field(min_length=1, max_length=DESCRIPTION_MAX)
    casualties: dict[str, int] = Field(default_factory=dict)
    seizures: list[SeizureContent] = Field(default_factory=list, max_length=100)
    persons_apprehended: int = Field(default=0, ge=0)
    impact_level: str
    source_reliability: str = Field(pattern=r"^[A-F]$")
    info_credibility: str = Field(pattern=r"^[1-6]$")
    exercise: bool = False
    follow_up_of: RefContent | None = None
    attachments: list[AttachmentContent] = Field(default_factory=list, max_length=100)
    created_at: AwareDatetime
    updated_at: AwareDatetime


# --- answers ------------------------------------------------------------------------------------------------


class DeliveryOut(BaseModel):
    party: str
    version: int
    op: str
    state: str
    queued_at: datetime
    sent_at: datetime | None
    receipted_at: datetime | None


class IncidentOut(BaseModel):
    id: str
    origin: str
    own: bool
    version: int
    type: str
    type_name: str
    status: str
    status_reason: str
    occurred_at: datetime
    reported_at: datetime | None
    lat: float
    lon: float
    side: str | None
    section: str | None
    distance_to_border_m: float | None
    description: str
    casualties: dict[str, int]
    seizures: list[dict[str, Any]]
    persons_apprehended: int
    impact_level: str
    source_reliability: str
    info_credibility: str
    exercise: bool
    follow_up_of: dict[str, Any] | None
    attachments: list[dict[str, Any]]
    tlp: str
    handling: str
    content_hash: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    received_at: datetime | None
    withdrawn_at: datetime | None
    draft_overdue: bool
    warnings: list[str] = Field(default_factory=list)
    deliveries: list[DeliveryOut] = Field(default_factory=list)


class VersionOut(BaseModel):
    version: int
    change: str
    changed: list[str]
    content: dict[str, Any]
    content_hash: str
    recorded_at: datetime
    recorded_by: str


class IncidentDetailOut(IncidentOut):
    follow_ups: list[dict[str, Any]] = Field(default_factory=list)
    releases: list[dict[str, Any]] = Field(default_factory=list)
