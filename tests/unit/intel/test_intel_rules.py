"""The pure rules of intelligence reports: the Admiralty scales, four eyes, and what crosses the tearline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest

from sarhad.core.errors import ErrorCode, RuleError
from sarhad.intel import domain


@pytest.mark.parametrize("reliability", list("ABCDEF"))
@pytest.mark.parametrize("credibility", list("123456"))
def test_every_grade_on_both_scales_is_accepted(reliability: str, credibility: str) -> None:
    assert domain.check_grading(reliability, credibility).code == reliability + credibility


@pytest.mark.parametrize(
    ("reliability", "credibility", "field"),
    [
        ("G", "1", "reliability"),
        ("a", "1", "reliability"),
        ("AB", "1", "reliability"),
        ("", "1", "reliability"),
        ("A", "7", "credibility"),
        ("A", "0", "credibility"),
        ("A", "", "credibility"),
        ("A", "A", "credibility"),
    ],
)
def test_a_grade_off_the_scales_is_refused_naming_the_field(
    reliability: str, credibility: str, field: str
) -> None:
    with pytest.raises(RuleError) as caught:
        domain.check_grading(reliability, credibility)
    assert caught.value.field == field and caught.value.code == ErrorCode.BAD_GRADING


def test_the_author_never_approves_and_a_report_is_approved_once() -> None:
    with pytest.raises(RuleError) as own:
        domain.check_approval("draft", "ali", "ali")
    assert own.value.code == ErrorCode.OWN_APPROVAL
    domain.check_approval("draft", "ali", "sara")
    with pytest.raises(RuleError) as twice:
        domain.check_approval("approved", "ali", "sara")
    assert twice.value.code == ErrorCode.NOT_DRAFT


def test_only_an_approved_report_is_released() -> None:
    with pytest.raises(RuleError) as draft:
        domain.check_releasable("draft")
    assert draft.value.code == ErrorCode.NOT_APPROVED
    domain.check_releasable("approved")
    domain.check_releasable("released")


def test_the_period_is_kept_in_utc_and_may_not_run_backwards() -> None:
    start = datetime(2026, 12, 1, 10, 0, tzinfo=timezone(timedelta(hours=5)))
    assert domain.check_period(start, None)[0] == datetime(2026, 12, 1, 5, 0, tzinfo=UTC)
    with pytest.raises(RuleError):
        domain.check_period(start, start - timedelta(hours=1))
    with pytest.raises(RuleError):
        domain.check_period(datetime(2026, 12, 1), None)


@dataclass
class Report:
    title: str = "T"
    summary: str = "SUMMARY"
    body: str = "FULL TEXT"
    source_note: str = "SOURCE NOTE"
    incidents: list[str] = field(default_factory=lambda: ["PK/1"])
    releasable: str = "below the line"
    report_type: str = "assessment"
    period_start: datetime | None = None
    period_end: datetime | None = None
    sections: list[str] = field(default_factory=list)
    reliability: str = "C"
    credibility: str = "3"
    created_at: datetime = datetime(2026, 12, 7, tzinfo=UTC)
    updated_at: datetime = datetime(2026, 12, 7, tzinfo=UTC)


def test_the_snapshot_holds_only_what_is_below_the_tearline() -> None:
    snap = domain.snapshot(Report())
    assert set(snap) == {
        "title",
        "releasable",
        "report_type",
        "period_start",
        "period_end",
        "sections",
        "reliability",
        "credibility",
        "created_at",
        "updated_at",
    }
    flat = repr(snap)
    for kept_home in ("SUMMARY", "FULL TEXT", "SOURCE NOTE", "PK/1"):
        assert kept_home not in flat


def test_grading_in_words() -> None:
    assert domain.grading_words("F", "6") == "F6: reliability cannot be judged, truth cannot be judged"
