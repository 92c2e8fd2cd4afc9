"""Pure rules of border-section impact levels: levels, the temporary critical level, the suggestion rule. No I/O.

A section's impact level is a joint record (subject ``border.section_impact``): the agreed content holds the
level. ``critical`` is only temporary: its content carries ``expires_at`` (at most ``CRITICAL_MAX`` after it
was proposed) and ``revert_to``, the last non-critical level agreed before it; once the expiry passes, both
sides show ``revert_to`` without any further act, because both compute it from the same agreed content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sarhad.core.errors import RuleError
from sarhad.exchange.record_rules import content_time

SUBJECT = "border.section_impact"
CRITICAL_MAX = timedelta(hours=72)
"""The longest a section may be critical on one agreement; a longer crisis needs a new (extending) agreement."""
SUGGESTION_WINDOW = timedelta(days=30)
REASON_MAX = 2000


class Level(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


LEVEL_ORDER = (Level.LOW, Level.MEDIUM, Level.HIGH, Level.CRITICAL)
DEFAULT_LEVEL = Level.LOW
"""The level of a section on which nothing was ever agreed."""

# --- suggestion rule ----------------------------------------------------------------------------------------

INCIDENT_WEIGHTS: dict[str, int] = {"low": 1, "medium": 3, "high": 6, "very_high": 10}
"""Weight of one incident of each incident impact level in the 30-day score."""
MEDIUM_FROM = 10
"""A score of at least this suggests ``medium``."""
HIGH_FROM = 30
"""A score of at least this suggests ``high``."""


@dataclass(frozen=True)
class Suggestion:
    level: Level
    score: int
    reason: str
    counts: dict[str, int] = field(default_factory=dict)
    """The incidents counted, by incident impact level (what the page explains in the viewer's language)."""


def suggest_level(counts: dict[str, int]) -> Suggestion:
    """The level suggested by the incidents of the last 30 days in a section, counted by incident impact level.

    score = 1·low + 3·medium + 6·high + 10·very_high; score < 10 → low, 10–29 → medium, ≥ 30 → high.
    So one very-high incident alone is already medium, three are high. The rule never suggests critical: that
    is a decision on an acute event, not a statistic. Unknown impact levels in ``counts`` are ignored.
    """
    n = {key: max(0, int(counts.get(key, 0))) for key in INCIDENT_WEIGHTS}
    score = sum(INCIDENT_WEIGHTS[key] * n[key] for key in INCIDENT_WEIGHTS)
    if score >= HIGH_FROM:
        level, why = Level.HIGH, f"score {score} ≥ {HIGH_FROM}"
    elif score >= MEDIUM_FROM:
        level, why = Level.MEDIUM, f"score {score} ≥ {MEDIUM_FROM}"
    else:
        level, why = Level.LOW, f"score {score} < {MEDIUM_FROM}"
    total = sum(n.values())
    reason = (
        f"{total} incident(s) in the last 30 days ({n['low']} low, {n['medium']} medium, {n['high']} high, "
        f"{n['very_high']} very high): {why} → {level.value}"
    )
    return Suggestion(level=level, score=score, reason=reason, counts=n)


# --- proposals and the level in force -------------------------------------------------------------------------


def check_level(value: str) -> Level:
    try:
        return Level(value)
    except ValueError:
        raise RuleError(
            "level", f"level {value!r} is unknown; use one of {', '.join(v.value for v in LEVEL_ORDER)}"
        ) from None


def proposal_content(
    *,
    section: str,
    level: str,
    reason: str,
    proposed_at: datetime,
    expires_at: datetime | None,
    revert_level: Level,
) -> dict[str, Any]:
    """The content of a proposal, checked: critical needs an expiry within ``CRITICAL_MAX``, others none.

    ``revert_level`` is the last non-critical level agreed: the level in force now, or, when a critical period
    is being extended, what the current critical level reverts to. A critical proposal reverts to it.
    """
    wanted = check_level(level)
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise RuleError("reason", f"the reason is longer than {REASON_MAX} characters")
    content: dict[str, Any] = {
        "section": section,
        "level": wanted.value,
        "reason": reason,
        "proposed_at": content_time(proposed_at),
        "expires_at": None,
        "revert_to": None,
    }
    if wanted != Level.CRITICAL:
        if expires_at is not None:
            raise RuleError("expires_at", "only a critical level expires; leave expires_at empty")
        return content
    if not reason:
        raise RuleError("reason", "raising a section to critical needs a reason")
    if expires_at is None:
        raise RuleError(
            "expires_at",
            f"a critical level is temporary: give expires_at (at most {_hours(CRITICAL_MAX)} h ahead)",
        )
    if expires_at.tzinfo is None:
        raise RuleError("expires_at", "expires_at needs a time zone")
    check_critical_expiry(proposed_at, expires_at)
    content["expires_at"] = content_time(expires_at)
    if revert_level == Level.CRITICAL:
        raise RuleError("revert_to", "a critical level reverts to a non-critical level")
    content["revert_to"] = revert_level.value
    return content


def _hours(span: timedelta) -> int:
    return int(span.total_seconds() // 3600)


def check_critical_expiry(proposed_at: datetime, expires_at: datetime) -> None:
    if expires_at <= proposed_at:
        raise RuleError("expires_at", "expires_at must be after the time of the proposal")
    if expires_at - proposed_at > CRITICAL_MAX:
        raise RuleError(
            "expires_at", f"a critical level lasts at most {_hours(CRITICAL_MAX)} hours on one agreement"
        )


@dataclass(frozen=True)
class LevelInForce:
    level: Level
    expires_at: datetime | None  # set while a critical level is in force
    expired_critical: bool  # an agreed critical level has expired and reverted
    revert_to: Level  # the last non-critical agreed level (the level itself when not critical)


def level_in_force(agreed: dict[str, Any] | None, now: datetime) -> LevelInForce:
    """The level shown for a section from its agreed content (None: never agreed) at ``now``."""
    if not agreed:
        return LevelInForce(DEFAULT_LEVEL, None, False, DEFAULT_LEVEL)
    level = Level(agreed["level"])
    if level != Level.CRITICAL:
        return LevelInForce(level, None, False, level)
    revert_to = Level(agreed.get("revert_to") or DEFAULT_LEVEL.value)
    expires = datetime.fromisoformat(agreed["expires_at"])
    if now < expires:
        return LevelInForce(level, expires, False, revert_to)
    return LevelInForce(revert_to, None, True, revert_to)
