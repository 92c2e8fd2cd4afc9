"""API shapes of QRF units, and the content of a ``qrf.unit`` record on the link.

The content carries only what the originator releases about a unit's readiness: call sign, type, station,
status, notice minutes and the status times. Never its strength (nor who set the status).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from sarhad.qrf.domain import CALL_SIGN_MAX, NOTICE_MAX_MINUTES, STRENGTH_MAX, Status, UnitType

PartyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
PostId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]


class UnitIn(BaseModel):
    """A new own unit. ``share_with`` releases its readiness to those parties at once (needs
    ``records.release``)."""

    model_config = ConfigDict(extra="forbid")

    call_sign: str = Field(min_length=1, max_length=CALL_SIGN_MAX)
    unit_type: UnitType
    station: PostId = Field(
        description="The id of one of this party's border posts (GET /api/v1/border/posts)"
    )
    strength: int = Field(ge=1, le=STRENGTH_MAX, description="Personnel; never shared with the other side")
    status: Status = Status.AVAILABLE
    notice_minutes: int | None = Field(default=None, ge=1, le=NOTICE_MAX_MINUTES)
    share_with: list[PartyCode] = Field(default_factory=list, max_length=32)


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status
    notice_minutes: int | None = Field(
        default=None, ge=1, le=NOTICE_MAX_MINUTES, description="Required for standby, refused otherwise"
    )


class ShareIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: list[PartyCode] = Field(min_length=1, max_length=32)


class StationOut(BaseModel):
    post: str | None
    name: str
    lat: float | None
    lon: float | None
    section: str | None


class UnitOut(BaseModel):
    """A unit as the board shows it. ``strength`` is null for a received unit: its originator never sends it."""

    id: str
    origin: str
    own: bool
    version: int
    call_sign: str
    unit_type: UnitType
    station: StationOut
    strength: int | None
    status: Status
    notice_minutes: int | None
    status_since: datetime
    confirmed_at: datetime
    stale: bool
    shared_with: list[str]
    received_at: datetime | None


class StatusChangeOut(BaseModel):
    version: int
    from_status: Status | None
    status: Status
    notice_minutes: int | None
    at: datetime
    by: str


class UnitDetailOut(UnitOut):
    history: list[StatusChangeOut]


class StationContent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    post: str | None = Field(default=None, max_length=64)
    name: str = Field(default="", max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    section: str | None = Field(default=None, max_length=64)


class QrfUnitContent(BaseModel):
    """The content of a ``qrf.unit`` record: a unit's released readiness (never its strength)."""

    model_config = ConfigDict(extra="ignore")

    call_sign: str = Field(min_length=1, max_length=CALL_SIGN_MAX)
    unit_type: str = Field(
        min_length=1, max_length=32, description="mobile_infantry, mounted, air, medical, eod, …"
    )
    station: StationContent
    status: str = Field(
        min_length=1, max_length=16, description="available, standby, responding, on_scene, …"
    )
    notice_minutes: int | None = Field(default=None, ge=1, le=NOTICE_MAX_MINUTES)
    status_since: AwareDatetime
    confirmed_at: AwareDatetime
