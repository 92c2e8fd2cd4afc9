"""A link's state in words: up, behind by N records, down since the last good contact, never reached."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sarhad.dashboard.links import LinkWord, link_state
from sarhad.dashboard.services import start_of_day
from sarhad.exchange.peers import LinkStatus

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
UP = LinkStatus(
    peer="IR",
    url="https://ir.example",
    link_out="PK>IR",
    last_seq=5,
    sent_seq=5,
    receipted_seq=5,
    receipted_at=T0,
    backlog=0,
    oldest_unreceipted_at=None,
    link_in="IR>PK",
    received_seq=3,
    last_contact_at=T0,
    last_error="",
    last_error_at=None,
    next_attempt_at=None,
)


def test_in_contact_with_nothing_waiting_is_up_since_the_last_contact() -> None:
    state = link_state(UP)
    assert (state.word, state.count, state.since) == (LinkWord.UP, 0, T0)


def test_records_waiting_for_a_receipt_make_it_behind_by_that_many_since_the_oldest() -> None:
    waiting = T0 + timedelta(seconds=5)
    state = link_state(replace(UP, last_seq=8, backlog=3, oldest_unreceipted_at=waiting))
    assert (state.word, state.count, state.since) == (LinkWord.BEHIND, 3, waiting)


def test_an_error_after_the_last_contact_is_down_since_that_contact() -> None:
    state = link_state(
        replace(UP, backlog=2, last_error="connection refused", last_error_at=T0 + timedelta(1))
    )
    assert (state.word, state.count, state.since, state.error) == (LinkWord.DOWN, 2, T0, "connection refused")


def test_a_peer_never_reached_is_never_whether_or_not_it_failed() -> None:
    assert link_state(replace(UP, last_contact_at=None)).word == LinkWord.NEVER
    failed = link_state(replace(UP, last_contact_at=None, last_error="timeout", last_error_at=T0))
    assert (failed.word, failed.since) == (LinkWord.NEVER, None)


def test_today_starts_at_midnight_in_the_viewers_zone() -> None:
    late_evening_utc = datetime(2026, 12, 7, 20, 30, tzinfo=UTC)  # already 8 December in Tehran (UTC+3:30)
    start = start_of_day(late_evening_utc, "Asia/Tehran")
    assert (start.day, start.hour, start.minute) == (8, 0, 0)
    assert start_of_day(late_evening_utc, "Not/AZone") == datetime(2026, 12, 7, tzinfo=UTC)
