"""The request rules without a database: kinds and actions, deadlines, overdue, late answers, statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sarhad.core.errors import RuleError
from sarhad.requests import domain
from sarhad.requests.domain import Action, RequestType

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_a_request_for_information_names_no_action_and_one_for_action_names_a_known_one() -> None:
    assert domain.check_type_and_action("information", None) == (RequestType.INFORMATION, None)
    assert domain.check_type_and_action("action", "detain") == (RequestType.ACTION, Action.DETAIN)
    for kind, action, field in (
        ("action", None, "action"),
        ("action", "bomb", "action"),
        ("information", "search", "action"),
        ("gossip", None, "kind"),
    ):
        with pytest.raises(RuleError) as caught:
            domain.check_type_and_action(kind, action)
        assert caught.value.field == field


@pytest.mark.parametrize(
    ("choice", "span"),
    [("urgent", timedelta(hours=8)), ("7d", timedelta(days=7)), ("14d", timedelta(days=14))],
)
def test_named_deadlines_count_from_the_node_clock(choice: str, span: timedelta) -> None:
    assert domain.resolve_deadline(choice, None, NOW)[1] == NOW + span


def test_a_set_deadline_must_be_in_the_future_aware_and_within_a_year() -> None:
    at = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
    assert domain.resolve_deadline("set", at, NOW) == (domain.DeadlineChoice.SET, at)
    for value in (
        NOW - timedelta(minutes=1),
        NOW,
        datetime(2026, 11, 24, 18, 0),
        NOW + timedelta(days=366),
        None,
    ):
        with pytest.raises(RuleError):
            domain.resolve_deadline("set", value, NOW)
    with pytest.raises(RuleError):
        domain.resolve_deadline("tomorrow", None, NOW)
    with pytest.raises(RuleError):
        domain.resolve_deadline("urgent", at, NOW)


def test_an_open_request_is_overdue_from_its_deadline_on_and_an_answered_one_never() -> None:
    deadline = NOW + timedelta(hours=8)
    assert not domain.is_overdue("open", deadline, deadline - timedelta(seconds=1))
    assert domain.is_overdue("open", deadline, deadline)
    assert not domain.is_overdue("answered", deadline, deadline + timedelta(days=1))
    assert not domain.is_overdue("withdrawn", deadline, deadline + timedelta(days=1))


def test_an_answer_after_the_deadline_needs_a_reason_and_one_at_the_deadline_does_not() -> None:
    deadline = NOW
    assert domain.check_answer(" done ", None, deadline, deadline) == ("done", "")
    with pytest.raises(RuleError) as caught:
        domain.check_answer("done", "  ", deadline, deadline + timedelta(seconds=1))
    assert caught.value.field == "late_reason"
    assert domain.check_answer("done", "patrol away", deadline, deadline + timedelta(hours=1)) == (
        "done",
        "patrol away",
    )
    with pytest.raises(RuleError):
        domain.check_answer("   ", None, deadline, deadline)


def test_statistics_buckets_follow_the_state_at_the_end_of_the_period() -> None:
    deadline = NOW
    end = NOW + timedelta(days=1)
    assert domain.stats_bucket("answered", deadline, NOW - timedelta(hours=1), end) == "answered_on_time"
    assert domain.stats_bucket("answered", deadline, NOW + timedelta(hours=1), end) == "answered_late"
    assert domain.stats_bucket("open", deadline, None, end) == "overdue"
    assert domain.stats_bucket("open", end + timedelta(hours=1), None, end) == "open"
    assert domain.stats_bucket("withdrawn", deadline, None, end) is None


def test_the_summary_names_the_action_and_is_one_short_line() -> None:
    assert domain.summary("action", "detain", "Detain\nthe driver") == "Action (detain): Detain the driver"
    assert (
        domain.summary("information", None, "Who owns the vehicle?") == "Information: Who owns the vehicle?"
    )
    assert len(domain.summary("information", None, "x" * 500)) <= len("Information: ") + domain.SUMMARY_MAX
