"""Shapes the border package accepts: the reference-scenario file and the edit payloads of the API.

Reference models keep unknown keys (``extra="allow"``): sources, notes and ``estimate`` flags travel into
the rows' ``extra`` JSON unchanged, so the map can label an estimate as one. Edit payloads forbid unknown
keys, so a typo is an error rather than a silent no-op.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sarhad.border import domain

PartyCode = str
_PARTY = re.compile(r"^[A-Z]{2}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

CrossingStatus = Literal["open", "restricted", "closed"]
MarketStatus = Literal["planned", "operating", "suspended", "closed"]
FenceStatus = Literal["planned", "under_construction", "complete"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def _party(value: str) -> str:
    if not _PARTY.fullmatch(value):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 code in capitals")
    return value


def _ident(value: str) -> str:
    if not _ID.fullmatch(value):
        raise ValueError(f"{value!r} is not a usable id (letters, digits, '.', '_', '-'; up to 64)")
    return value


def _names(value: dict[str, str]) -> dict[str, str]:
    if not value.get("en"):
        raise ValueError("names need at least an English ('en') entry")
    return value


def _zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {value!r}") from exc
    return value


class _Ref(BaseModel):
    model_config = ConfigDict(extra="allow")

    @property
    def extras(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class PointGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=3)

    @field_validator("coordinates")
    @classmethod
    def _range(cls, value: list[float]) -> list[float]:
        lon, lat = value[0], value[1]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"[{lon}, {lat}] is not a longitude, latitude pair")
        return value[:2]


# --- weekly schedules (crossing hours, market days) ----------------------------------------------------


class WeeklySlot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    days: list[Weekday] = Field(min_length=1, max_length=7)
    open: str
    close: str

    @model_validator(mode="after")
    def _valid(self) -> WeeklySlot:
        domain.check_weekly([self.model_dump()])
        return self


class HoursIn(BaseModel):
    """Opening hours of a crossing: always open, or weekly slots in a time zone."""

    model_config = ConfigDict(extra="forbid")

    always_open: bool = False
    time_zone: str | None = Field(None, max_length=64)
    weekly: list[WeeklySlot] = Field(default_factory=list, max_length=14)
    note: str = Field("", max_length=500)

    check_zone = field_validator("time_zone")(_zone)

    @model_validator(mode="after")
    def _consistent(self) -> HoursIn:
        if self.always_open and self.weekly:
            raise ValueError("a crossing that is always open has no weekly slots; send one or the other")
        return self

    def stored(self) -> dict[str, Any]:
        body: dict[str, Any] = {"always_open": self.always_open}
        if self.time_zone:
            body["time_zone"] = self.time_zone
        if not self.always_open:
            body["weekly"] = domain.check_weekly([slot.model_dump() for slot in self.weekly])
        if self.note:
            body["note"] = self.note
        return body


class ScheduleIn(BaseModel):
    """Market days: weekly slots in a time zone."""

    model_config = ConfigDict(extra="forbid")

    time_zone: str | None = Field(None, max_length=64)
    weekly: list[WeeklySlot] = Field(default_factory=list, max_length=14)
    note: str = Field("", max_length=500)

    check_zone = field_validator("time_zone")(_zone)

    def stored(self) -> dict[str, Any]:
        body: dict[str, Any] = {"weekly": domain.check_weekly([slot.model_dump() for slot in self.weekly])}
        if self.time_zone:
            body["time_zone"] = self.time_zone
        if self.note:
            body["note"] = self.note
        return body


# --- edit payloads ---------------------------------------------------------------------------------------


class _Patch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=500, description="Why; kept in the audit log.")

    @model_validator(mode="after")
    def _something(self) -> _Patch:
        if not self.model_fields_set - {"reason"}:
            raise ValueError("nothing to change: give at least one field besides 'reason'")
        return self


class CrossingPatch(_Patch):
    status: CrossingStatus | None = None
    hours: HoursIn | None = None


class FencePatch(_Patch):
    status: FenceStatus


class MarketPatch(_Patch):
    status: MarketStatus | None = None
    schedule: ScheduleIn | None = None


# --- API answers ------------------------------------------------------------------------------------------


class FeatureOut(BaseModel):
    """One GeoJSON Feature (RFC 7946); the properties of each list are described in docs/border.md."""

    type: Literal["Feature"]
    id: str
    geometry: dict[str, Any] | None
    properties: dict[str, Any]


class FeatureCollectionOut(BaseModel):
    """A GeoJSON FeatureCollection, served as ``application/geo+json``."""

    type: Literal["FeatureCollection"]
    features: list[FeatureOut]


class PartyOut(BaseModel):
    code: str
    names: dict[str, str]
    time_zone: str
    calendar: str
    languages: list[str]


class LocationOut(BaseModel):
    lon: float
    lat: float
    side: str = Field(description="The party on whose side the point is, or ON_LINE.")
    on_line: bool
    line: str
    section: str | None
    distance_to_border_m: float
    chainage_km: float


class FenceProgressOut(BaseModel):
    """Fence km of one party in one section (``section`` null: the party's total)."""

    section: str | None
    party: str
    section_km: float
    fence_km: float
    complete_pct: float
    coverage_pct: float
    reported_km: dict[str, float] | None
    planned_km: float
    under_construction_km: float
    complete_km: float


class FenceProgressReportOut(BaseModel):
    sections: list[FenceProgressOut]
    totals: list[FenceProgressOut]
    published: dict[str, Any] = Field(
        description="Published fence figures per line, as the sources give them."
    )


class CrossingOut(BaseModel):
    id: str
    status: str
    hours: dict[str, Any]
    updated_at: datetime | None
    updated_by: str


class FenceSegmentOut(BaseModel):
    id: str
    party: str
    section: str
    status: str
    length_km: float
    updated_at: datetime | None
    updated_by: str


class MarketOut(BaseModel):
    id: str
    status: str
    schedule: dict[str, Any]
    updated_at: datetime | None
    updated_by: str


# --- the reference scenario file ---------------------------------------------------------------------------


class RefParty(_Ref):
    code: str
    names: dict[str, str]
    time_zone: str
    calendar: Literal["gregorian", "solar_hijri"]
    languages: list[str]

    check_code = field_validator("code")(_party)
    check_names = field_validator("names")(_names)
    check_time_zone = field_validator("time_zone")(_zone)


class RefOutline(_Ref):
    iso2: str
    names: dict[str, str]
    geometry: dict[str, Any]

    check_code = field_validator("iso2")(_party)

    @field_validator("geometry")
    @classmethod
    def _polygon(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("type") not in ("Polygon", "MultiPolygon"):
            raise ValueError("a country outline must be a Polygon or MultiPolygon")
        return value


class RefBorder(_Ref):
    id: str
    names: dict[str, str]
    left_party: str
    right_party: str
    geometry: dict[str, Any]
    cut_points_km: list[float] = Field(default_factory=list)

    check_id = field_validator("id")(_ident)
    check_parties = field_validator("left_party", "right_party")(_party)

    @model_validator(mode="after")
    def _two_parties(self) -> RefBorder:
        if self.left_party == self.right_party:
            raise ValueError("left_party and right_party must differ")
        return self


class RefSection(_Ref):
    id: str = Field(max_length=32)
    order: int
    names: dict[str, str]
    line: str | None = None  # the border line's id; default: the file's border

    check_id = field_validator("id")(_ident)
    check_names = field_validator("names")(_names)


class RefPost(_Ref):
    id: str
    party: str
    section: str | None = None
    kind: str = Field("post", max_length=32)
    names: dict[str, str]
    location: PointGeometry | None = None

    check_id = field_validator("id")(_ident)
    check_party = field_validator("party")(_party)
    check_names = field_validator("names")(_names)


class RefCrossingSide(_Ref):
    names: dict[str, str]
    location: PointGeometry | None = None

    check_names = field_validator("names")(_names)


class RefCrossing(_Ref):
    id: str
    names: dict[str, str]
    kind: str = Field("official_crossing", max_length=32)
    section: str | None = None
    status: Literal["open", "restricted", "closed", "unknown"] = "unknown"
    modes: list[Literal["road", "rail"]] = Field(default_factory=list)
    hours: dict[str, Any] = Field(default_factory=dict)
    opened: date | None = None
    sides: dict[str, RefCrossingSide] = Field(default_factory=dict)

    check_id = field_validator("id")(_ident)
    check_names = field_validator("names")(_names)

    @field_validator("sides")
    @classmethod
    def _side_codes(cls, value: dict[str, RefCrossingSide]) -> dict[str, RefCrossingSide]:
        for code in value:
            _party(code)
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("weekly"):
            domain.check_weekly(value["weekly"])
        if value.get("time_zone"):
            _zone(value["time_zone"])
        return value


class RefMarket(_Ref):
    id: str
    names: dict[str, str]
    crossing: str | None = None
    section: str | None = None
    host_party: str
    status: Literal["planned", "operating", "suspended", "closed"]
    inaugurated: date | None = None
    location: PointGeometry | None = None
    schedule: dict[str, Any] = Field(default_factory=dict)

    check_id = field_validator("id")(_ident)
    check_party = field_validator("host_party")(_party)
    check_names = field_validator("names")(_names)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: dict[str, Any]) -> dict[str, Any]:
        if value.get("weekly"):
            domain.check_weekly(value["weekly"])
        if value.get("time_zone"):
            _zone(value["time_zone"])
        return value


class RefFenceSegment(_Ref):
    id: str
    party: str
    section: str
    start_fraction: float = Field(ge=0, le=1)
    end_fraction: float = Field(ge=0, le=1)
    status: Literal["planned", "under_construction", "complete"]
    length_km: float | None = Field(None, ge=0)

    check_id = field_validator("id")(_ident)
    check_party = field_validator("party")(_party)

    @model_validator(mode="after")
    def _order(self) -> RefFenceSegment:
        domain.check_fractions(self.start_fraction, self.end_fraction)
        return self


class RefFence(_Ref):
    segments: list[RefFenceSegment] = Field(default_factory=list)


class ReferenceScenario(_Ref):
    """The parts of a reference scenario file that the border model loads."""

    id: str
    parties: list[RefParty]
    country_outlines: list[RefOutline] = Field(default_factory=list)
    border: RefBorder
    sections: list[RefSection]
    posts: list[RefPost] = Field(default_factory=list)
    crossings: list[RefCrossing] = Field(default_factory=list)
    local_corridors: list[RefCrossing] = Field(default_factory=list)
    markets: list[RefMarket] = Field(default_factory=list)
    fence: RefFence = Field(default_factory=RefFence)

    @model_validator(mode="after")
    def _references(self) -> ReferenceScenario:
        sections = {s.id for s in self.sections}
        if len(sections) != len(self.sections):
            raise ValueError("section ids must be unique")
        if len(self.sections) != len(self.border.cut_points_km) + 1:
            raise ValueError(
                f"{len(self.sections)} sections need {len(self.sections) - 1} border.cut_points_km, "
                f"got {len(self.border.cut_points_km)}"
            )
        crossings = {c.id for c in [*self.crossings, *self.local_corridors]}
        for kind, items in (
            ("posts", self.posts),
            ("crossings", self.crossings),
            ("local_corridors", self.local_corridors),
            ("markets", self.markets),
            ("fence.segments", self.fence.segments),
        ):
            ids = [item.id for item in items]
            if len(set(ids)) != len(ids):
                raise ValueError(f"{kind}: ids must be unique")
            for item in items:
                section = getattr(item, "section", None)
                if section is not None and section not in sections:
                    raise ValueError(f"{kind} {item.id}: unknown section {section!r}")
        for market in self.markets:
            if market.crossing is not None and market.crossing not in crossings:
                raise ValueError(f"markets {market.id}: unknown crossing {market.crossing!r}")
        return self
