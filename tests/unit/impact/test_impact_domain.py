"""The impact-level rules without a database: the suggestion rule, temporary critical levels, proposals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from sarhad.core.errors import RuleError
from sarhad.impact import domain
from sarhad.impact.domain import Level, level_in_force, proposal_content, suggest_level
from sarhad.impact.schemas import ImpactContent

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("counts", "level", "score"),
    [
        ({}, Level.LOW, 0),
        ({"low": 9}, Level.LOW, 9),
        ({"low": 10}, Level.MEDIUM, 10),
        ({"medium": 3, "low": 1}, Level.MEDIUM, 10),
        ({"high": 4, "medium": 1}, Level.MEDIUM, 27),
        ({"high": 5}, Level.HIGH, 30),
        ({"very_high": 3}, Level.HIGH, 30),
        ({"very_high": 1}, Level.MEDIUM, 10),
        ({"unknown_level": 50}, Level.LOW, 0),
    ],
)
def test_the_suggestion_is_the_weighted_30_day_score_against_the_documented_thresholds(
    counts: dict[str, int], level: Level, score: int
) -> None:
    suggestion = suggest_level(counts)
    assert (suggestion.level, suggestion.score) == (level, score)


def test_one_very_high_incident_alone_suggests_medium_and_nine_low_ones_do_not() -> None:
    assert suggest_level({"very_high": 1}).level == Level.MEDIUM
    assert suggest_level({"low": 9}).level == Level.LOW


def test_the_suggestion_never_proposes_critical() -> None:
    assert suggest_level({"very_high": 1000}).level == Level.HIGH


def test_the_suggestion_reason_names_the_counts_and_the_score() -> None:
    reason = suggest_level({"low": 2, "high": 5}).reason
    assert "7 incident(s)" in reason and "score 32" in reason and "high" in reason


def test_a_section_without_agreement_is_low() -> None:
    assert level_in_force(None, NOW).level == Level.LOW


def test_an_agreed_critical_level_holds_until_its_expiry_then_reverts_to_the_last_non_critical_level() -> (
    None
):
    content = proposal_content(
        section="S5",
        level="critical",
        reason="armed attack",
        proposed_at=NOW,
        expires_at=NOW + timedelta(hours=48),
        revert_level=Level.MEDIUM,
    )
    assert content["revert_to"] == "medium"
    assert level_in_force(content, NOW + timedelta(hours=47, minutes=59)).level == Level.CRITICAL
    after = level_in_force(content, NOW + timedelta(hours=48))
    assert (after.level, after.expired_critical, after.expires_at) == (Level.MEDIUM, True, None)


@pytest.mark.parametrize(
    ("level", "expires", "reason", "field"),
    [
        ("critical", None, "attack", "expires_at"),
        ("critical", timedelta(hours=72, seconds=1), "attack", "expires_at"),
        ("critical", timedelta(hours=-1), "attack", "expires_at"),
        ("critical", timedelta(hours=5), "", "reason"),
        ("high", timedelta(hours=5), "", "expires_at"),
        ("severe", None, "", "level"),
    ],
)
def test_proposals_that_break_a_rule_are_refused_naming_the_field(
    level: str, expires: timedelta | None, reason: str, field: str
) -> None:
    with pytest.raises(RuleError) as caught:
        proposal_content(
            section="S5",
            level=level,
            reason=reason,
            proposed_at=NOW,
            expires_at=NOW + expires if expires is not None else None,
            revert_level=Level.LOW,
        )
    assert caught.value.field == field


def test_critical_may_last_exactly_the_documented_maximum() -> None:
    assert timedelta(hours=72) == domain.CRITICAL_MAX
    content = proposal_content(
        section="S5",
        level="critical",
        reason="attack",
        proposed_at=NOW,
        expires_at=NOW + domain.CRITICAL_MAX,
        revert_level=Level.HIGH,
    )
    ImpactContent.model_validate(content)


def test_the_wire_schema_refuses_a_critical_level_that_never_expires_or_lasts_too_long() -> None:
    base = {
        "section": "S5",
        "level": "critical",
        "reason": "x",
        "proposed_at": NOW.isoformat(),
        "revert_to": "low",
    }
    with pytest.raises(ValidationError):
        ImpactContent.model_validate({**base, "expires_at": None})
    with pytest.raises(ValidationError):
        ImpactContent.model_validate({**base, "expires_at": (NOW + timedelta(days=4)).isoformat()})
    with pytest.raises(ValidationError):
        ImpactContent.model_validate(
            {**base, "expires_at": (NOW + timedelta(days=1)).isoformat(), "revert_to": "critical"}
        )
    with pytest.raises(ValidationError):
        ImpactContent.model_validate(
            {
                "section": "S5",
                "level": "high",
                "proposed_at": NOW.isoformat(),
                "expires_at": (NOW + timedelta(days=1)).isoformat(),
            }
        )
