"""The QRF status rules (qrf.domain): the transition table, standby's notice, staleness. No database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sarhad.core.errors import ErrorCode, RuleError
from sarhad.qrf.domain import (
    STALE_AFTER,
    TRANSITIONS,
    Status,
    check_call_sign,
    check_notice,
    check_status,
    is_stale,
    transition,
)


def test_every_status_has_a_row_in_the_transition_table() -> None:
    assert set(TRANSITIONS) == set(Status)


@pytest.mark.parametrize(
    ("current", "wanted"),
    [
        (Status.AVAILABLE, Status.RESPONDING),
        (Status.STANDBY, Status.RESPONDING),
        (Status.RESPONDING, Status.ON_SCENE),
        (Status.ON_SCENE, Status.RETURNING),
        (Status.RETURNING, Status.AVAILABLE),
        (Status.RETURNING, Status.RESPONDING),  # a new dispatch on the way back
        (Status.UNAVAILABLE, Status.AVAILABLE),
        (Status.OUT_OF_SERVICE, Status.AVAILABLE),
    ],
)
def test_the_dispatch_cycle_moves_through_its_statuses(current: Status, wanted: Status) -> None:
    change = transition(current, wanted, None)
    assert change.status is wanted and change.changed


def test_a_returning_unit_cannot_go_on_scene_without_a_new_dispatch() -> None:
    with pytest.raises(RuleError) as refused:
        transition(Status.RETURNING, Status.ON_SCENE, None)
    assert refused.value.code is ErrorCode.QRF_ILLEGAL_TRANSITION
    assert "dispatch it first" in refused.value.message


@pytest.mark.parametrize("current", [Status.UNAVAILABLE, Status.OUT_OF_SERVICE, Status.ON_SCENE])
def test_a_unit_that_is_not_ready_cannot_be_dispatched(current: Status) -> None:
    with pytest.raises(RuleError) as refused:
        transition(current, Status.RESPONDING, None)
    assert refused.value.code is ErrorCode.QRF_ILLEGAL_TRANSITION
    assert "cannot be dispatched" in refused.value.message


def test_an_on_scene_unit_only_returns() -> None:
    for wanted in set(Status) - {Status.RETURNING, Status.ON_SCENE}:
        with pytest.raises(RuleError):
            transition(Status.ON_SCENE, wanted, 10 if wanted is Status.STANDBY else None)


def test_standby_needs_its_notice_and_no_other_status_has_one() -> None:
    assert transition(Status.AVAILABLE, Status.STANDBY, 30).notice_minutes == 30
    for notice in (None, 0, 24 * 60 + 1):
        with pytest.raises(RuleError) as refused:
            check_notice(Status.STANDBY, notice)
        assert refused.value.code is ErrorCode.QRF_NOTICE_REQUIRED
    with pytest.raises(RuleError) as refused:
        transition(Status.STANDBY, Status.AVAILABLE, 15)
    assert refused.value.field == "notice_minutes"


def test_the_same_status_again_is_a_confirmation_and_may_change_standbys_notice() -> None:
    change = transition(Status.STANDBY, Status.STANDBY, 60)
    assert not change.changed and change.notice_minutes == 60
    assert not transition(Status.AVAILABLE, Status.AVAILABLE, None).changed


def test_unknown_statuses_and_bad_call_signs_are_refused() -> None:
    with pytest.raises(RuleError):
        check_status("asleep")
    for bad in ("", " ", "x" * 41, "<script>"):
        with pytest.raises(RuleError):
            check_call_sign(bad)
    assert check_call_sign(" Tiger-1/A ") == "Tiger-1/A"


def test_a_status_unconfirmed_for_longer_than_six_hours_is_stale() -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    assert timedelta(hours=6) == STALE_AFTER
    assert not is_stale(now - STALE_AFTER, now)
    assert is_stale(now - STALE_AFTER - timedelta(seconds=1), now)
