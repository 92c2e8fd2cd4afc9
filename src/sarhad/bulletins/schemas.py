"""API shapes of bulletins, and the schema of a bulletin's content on the link.

Input models check lengths and ranges at the edge; ``domain.check_bulletin`` applies the same rules again
in the services, so the pages, the CLI and received records are held to them too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from sarhad.bulletins.domain import BODY_MAX, PLACE_NAME_MAX, TITLE_MAX
from sarhad.core.params import RowId
from sarhad.exchange.domain import Handling, Tlp
from sarhad.exchange.record_rules import REASON_MAX

PartyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]


class PlaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=PLACE_NAME_MAX)
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)


class BulletinContentIn(BaseModel):
    """The editable content of a bulletin."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    body: str = Field(min_length=1, max_length=BODY_MAX)
    place: PlaceIn | None = None
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None


class BulletinCreateIn(BulletinContentIn):
    tlp: Tlp
    handling: Handling = Handling.NO_ONWARD
    release_to: list[PartyCode] = Field(default_factory=list, max_length=32)


class BulletinUpdateIn(BulletinContentIn):
    tlp: Tlp | None = None
    version: RowId | None = Field(
        default=None,
        description="The version being edited; refused with 409 if it is no longer current.",
    )


class ReleaseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: list[PartyCode] = Field(min_length=1, max_length=32)
    tlp: Tlp | None = Field(
        default=None, description="Default: the bulletin's TLP. May tighten, never loosen."
    )
    handling: Handling | None = Field(default=None, description="Default: the bulletin's handling.")


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=REASON_MAX)


class PlaceOut(BaseModel):
    name: str
    lat: float | None
    lon: float | None


class DeliveryOut(BaseModel):
    """One envelope of the bulletin on the link to ``party``: queued, then sent, then receipted."""

    party: str
    version: int
    op: str
    state: str
    link: str
    seq: int
    queued_at: datetime
    sent_at: datetime | None
    receipted_at: datetime | None


class ReleaseOut(BaseModel):
    party: str
    tlp: str
    handling: str
    released_by: str
    released_at: datetime
    first_version: int
    withdrawn_at: datetime | None


class BulletinOut(BaseModel):
    id: str
    origin: str
    own: bool
    version: int
    title: str
    body: str
    place: PlaceOut | None
    valid_from: datetime | None
    valid_until: datetime | None
    tlp: str
    handling: str
    content_hash: str
    created_by: str
    created_at: datetime
    updated_at: datetime
    withdrawn_at: datetime | None
    withdraw_reason: str
    received_at: datetime | None
    deliveries: list[DeliveryOut] = Field(
        description="Per party: the state of the latest envelope sent to it."
    )


class VersionOut(BaseModel):
    version: int
    content: dict[str, Any]
    content_hash: str
    recorded_at: datetime
    recorded_by: str


class BulletinDetailOut(BulletinOut):
    releases: list[ReleaseOut]
    timeline: list[DeliveryOut] = Field(description="Every envelope written for this bulletin, oldest first.")
    versions: list[VersionOut]


# --- the content on the link ---------------------------------------------------------------------------------


class PlaceContent(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(default="", max_length=PLACE_NAME_MAX)
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)


class BulletinContent(BaseModel):
    """A bulletin version as released over the link (``domain.snapshot``). Unknown fields are ignored, so
    a newer peer may add some without its bulletins being quarantined here."""

    model_config = ConfigDict(extra="ignore")

    title: str = Field(min_length=1, max_length=TITLE_MAX)
    body: str = Field(min_length=1, max_length=BODY_MAX)
    place: PlaceContent | None = None
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    created_at: AwareDatetime
    updated_at: AwareDatetime
