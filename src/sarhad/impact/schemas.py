"""API shapes of impact levels, and the content schema of the joint subject ``border.section_impact``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from sarhad.core.errors import RuleError
from sarhad.impact.domain import REASON_MAX, Level, check_critical_expiry


class ImpactContent(BaseModel):
    """The content both parties agree on for one section (checked on proposals made and received)."""

    model_config = ConfigDict(extra="ignore")

    section: str = Field(min_length=1, max_length=32)
    level: Level
    reason: str = Field(default="", max_length=REASON_MAX)
    proposed_at: AwareDatetime
    expires_at: AwareDatetime | None = None
    revert_to: Level | None = None

    @model_validator(mode="after")
    def _critical_is_temporary(self) -> ImpactContent:
        if self.level == Level.CRITICAL:
            if self.expires_at is None or self.revert_to is None:
                raise ValueError("a critical level needs expires_at and revert_to")
            if self.revert_to == Level.CRITICAL:
                raise ValueError("a critical level reverts to a non-critical level")
            try:
                check_critical_expiry(self.proposed_at, self.expires_at)
            except RuleError as exc:  # pydantic reports a ValueError as the field's error; keep its words
                raise ValueError(exc.message) from exc
        elif self.expires_at is not None or self.revert_to is not None:
            raise ValueError("only a critical level has expires_at and revert_to")
        return self


class ProposeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    section: str = Field(min_length=1, max_length=32)
    level: str = Field(max_length=16, description="low | medium | high | critical")
    expires_at: AwareDatetime | None = Field(
        default=None, description="Required for critical (at most 72 h)."
    )
    reason: str = Field(default="", max_length=REASON_MAX)


class DecideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    section: str = Field(min_length=1, max_length=32)
    content_hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    decision: str = Field(pattern=r"^(accept|reject)$")
    reason: str = Field(default="", max_length=REASON_MAX)


class PendingOut(BaseModel):
    joint_id: str
    content_hash: str
    level: str
    expires_at: datetime | None
    reason: str
    proposer: str
    proposed_by: str
    proposed_at: datetime
    positions: dict[str, str]
    expired: bool


class SectionLevelOut(BaseModel):
    section: str
    names: dict[str, str]
    parties: list[str]
    level: str
    agreed_at: datetime | None
    expires_at: datetime | None
    reverted_from_critical: bool
    joint_id: str | None
    pending: PendingOut | None
    suggested: str | None
    suggestion_reason: str


class LevelsOut(BaseModel):
    at: datetime
    sections: list[SectionLevelOut]


class HistoryItem(BaseModel):
    at: datetime
    joint_id: str
    act: str  # propose | accept | reject
    party: str
    by: str
    content_hash: str
    level: str | None
    reason: str
    content: dict[str, Any] | None


class HistoryOut(BaseModel):
    section: str
    current: SectionLevelOut
    items: list[HistoryItem]
