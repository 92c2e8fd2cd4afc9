"""The pure rules every shared record kind follows (``exchange.record_rules``), without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from sarhad.core.errors import RuleError
from sarhad.exchange.domain import Handling, Tlp
from sarhad.exchange.record_rules import (
    REASON_MAX,
    check_handling,
    check_onward_handling,
    check_reason,
    check_release_targets,
    check_release_tlp,
    check_tlp,
    content_time,
    received_reason,
)


def rule_field(call: object, *args: object, **kwargs: object) -> str:
    with pytest.raises(RuleError) as caught:
        call(*args, **kwargs)  # type: ignore[operator]
    return caught.value.field


def test_tlp_and_handling_must_be_known_codes() -> None:
    assert check_tlp("amber+strict") is Tlp.AMBER_STRICT
    assert check_handling("onward_allowed") is Handling.ONWARD_ALLOWED
    assert rule_field(check_tlp, "AMBER") == "tlp"
    assert rule_field(check_tlp, "white") == "tlp"  # TLP 1.0's WHITE is CLEAR in 2.0
    assert rule_field(check_handling, "share") == "handling"


def test_a_release_may_tighten_the_tlp_but_never_loosen_it() -> None:
    assert check_release_tlp("amber", "amber") is Tlp.AMBER
    assert check_release_tlp("green", "red") is Tlp.RED
    assert check_release_tlp("amber", "amber+strict") is Tlp.AMBER_STRICT
    with pytest.raises(
        RuleError, match="the bulletin is TLP:AMBER; a release may not loosen it to TLP:GREEN"
    ):
        check_release_tlp("amber", "green", "bulletin")
    assert rule_field(check_release_tlp, "amber+strict", "amber") == "tlp"


def test_release_targets_are_configured_peers_only_sorted_without_repeats() -> None:
    peers = {"IR", "AF"}
    assert check_release_targets("PK", ["IR", "AF", "IR"], peers) == ["AF", "IR"]
    with pytest.raises(RuleError, match="own party"):
        check_release_targets("PK", ["PK"], peers)
    with pytest.raises(RuleError, match=r"CN is not a configured peer \(configured peers: AF, IR\)"):
        check_release_targets("PK", ["IR", "CN"], peers)
    with pytest.raises(RuleError, match="at least one party"):
        check_release_targets("PK", [], peers)
    assert rule_field(check_release_targets, "PK", ["PK"], peers, field="to") == "to"


def test_a_relayed_copy_keeps_the_originators_handling() -> None:
    assert check_onward_handling("onward_allowed", None) is Handling.ONWARD_ALLOWED
    assert rule_field(check_onward_handling, "onward_allowed", "no_onward") == "handling"
    # A no-onward record is left to the exchange, which refuses it with its own message.
    assert check_onward_handling("no_onward", None) is Handling.NO_ONWARD


def test_a_withdrawal_needs_a_reason_of_at_most_the_limit() -> None:
    assert check_reason("  duplicate  ") == "duplicate"
    assert len(check_reason("x" * REASON_MAX)) == REASON_MAX
    assert rule_field(check_reason, "   ") == "reason"
    with pytest.raises(RuleError, match="say why the note is withdrawn"):
        check_reason("x" * (REASON_MAX + 1), "note")


def test_a_received_tombstones_reason_is_cut_to_the_limit_and_may_be_missing() -> None:
    assert received_reason({"reason": "x" * (REASON_MAX + 5)}) == "x" * REASON_MAX
    assert received_reason({}) == ""


def test_content_times_are_utc_with_an_offset_as_records_have_always_been_signed() -> None:
    pkt = timezone(timedelta(hours=5))
    assert content_time(datetime(2026, 11, 24, 6, 0, tzinfo=pkt)) == "2026-11-24T01:00:00+00:00"
    assert (
        content_time(datetime(2026, 11, 24, 1, 0, 0, 250000, tzinfo=UTC))
        == "2026-11-24T01:00:00.250000+00:00"
    )
    assert content_time(None) is None
