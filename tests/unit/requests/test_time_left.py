"""The countdown of the requests list: time left to a deadline, or past it, to the minute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sarhad.requests.domain import time_left

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def test_time_left_before_and_after_the_deadline() -> None:
    assert time_left(NOW + timedelta(days=2, hours=3, minutes=10, seconds=59), NOW) == (False, 2, 3, 10)
    assert time_left(NOW + timedelta(seconds=30), NOW) == (False, 0, 0, 0)
    assert time_left(NOW - timedelta(hours=1, minutes=5), NOW) == (True, 0, 1, 5)
    assert time_left(NOW, NOW) == (False, 0, 0, 0)
