"""Precedence lanes, the pure rules: chain ids, which lane serves next (and that none starves), what a hello
offers, which lane a record takes."""

from __future__ import annotations

import pytest

from sarhad.exchange import protocol
from sarhad.exchange.domain import (
    LANES,
    Lane,
    link_id,
    next_lane,
    parse_lane,
    split_lane_link,
)
from sarhad.exchange.outbox import record_lane
from sarhad.exchange.peers import offered_lanes


def test_the_routine_lane_is_the_link_itself_and_the_others_have_a_suffix() -> None:
    assert link_id("PK", "IR") == link_id("PK", "IR", Lane.ROUTINE) == "PK>IR"
    assert link_id("PK", "IR", Lane.FLASH) == "PK>IR:flash"
    for lane in LANES:
        assert split_lane_link(link_id("PK", "IR", lane)) == ("PK", "IR", lane)


@pytest.mark.parametrize("bad", ["PK>IR:routine", "PK>IR:urgent", "PK>PK:flash", "PK>IR:", "pk>IR:flash"])
def test_a_chain_id_that_names_no_lane_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        split_lane_link(bad)
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_link(bad)


def test_the_protocol_accepts_every_lane_chain_as_a_link() -> None:
    for lane in LANES:
        assert protocol.parse_link(link_id("PK", "IR", lane)) == ("PK", "IR")


def test_a_lane_named_on_the_wire_is_parsed_and_absent_means_the_base_chain() -> None:
    assert parse_lane(None) == parse_lane("") == parse_lane("routine") == Lane.ROUTINE
    assert parse_lane("bulk") == Lane.BULK
    with pytest.raises(ValueError, match="not one of"):
        parse_lane("FLASH")


def test_the_highest_waiting_lane_is_served_first() -> None:
    assert next_lane([Lane.BULK, Lane.FLASH, Lane.ROUTINE], {}, 8) == Lane.FLASH
    assert next_lane([Lane.BULK, Lane.ROUTINE], {}, 8) == Lane.ROUTINE
    assert next_lane([Lane.BULK], {}, 8) == Lane.BULK


def test_a_lane_passed_over_often_enough_gets_the_next_batch() -> None:
    """Simulate a FLASH flood: bulk still gets one batch in every nine."""
    passed: dict[Lane, int] = {}
    served: list[Lane] = []
    for _ in range(27):
        lane = next_lane([Lane.FLASH, Lane.BULK], passed, 8)
        served.append(lane)
        passed[lane] = 0
        if lane == Lane.FLASH:
            passed[Lane.BULK] = passed.get(Lane.BULK, 0) + 1
    assert served.count(Lane.BULK) == 3
    assert served[:9] == [Lane.FLASH] * 8 + [Lane.BULK]


def test_of_several_starving_lanes_the_lowest_goes_first() -> None:
    assert next_lane([Lane.FLASH, Lane.ROUTINE, Lane.BULK], {Lane.ROUTINE: 8, Lane.BULK: 9}, 8) == Lane.BULK


@pytest.mark.parametrize(
    ("body", "version"),
    [
        (b'{"party": "PK", "lanes": 1}', 1),
        (b'{"party": "PK", "lanes": 7}', 1),  # a newer peer: the highest version both speak
        (b'{"party": "PK"}', 0),  # a node before lanes
        (b"{}", 0),
        (b'{"lanes": true}', 0),
        (b'{"lanes": "1"}', 0),
        (b"not json", 0),
        (b"[1]", 0),
    ],
)
def test_a_hello_offers_lanes_only_with_an_integer_version(body: bytes, version: int) -> None:
    assert offered_lanes(body) == version


@pytest.mark.parametrize(
    ("precedence", "lane"),
    [
        ("FLASH", Lane.FLASH),
        ("IMMEDIATE", Lane.IMMEDIATE),
        ("PRIORITY", Lane.PRIORITY),
        ("ROUTINE", Lane.ROUTINE),
    ],
)
def test_a_hotline_message_travels_in_the_lane_of_its_precedence(precedence: str, lane: Lane) -> None:
    record = {
        "kind": "hotline.message",
        "id": "m1",
        "version": 1,
        "op": "upsert",
        "content": {"precedence": precedence},
    }
    assert record_lane(record) == lane


def test_kinds_without_a_declared_lane_are_routine_and_a_bulk_release_is_bulk() -> None:
    bulletin = {"kind": "bulletin", "id": "b1", "version": 1, "op": "upsert", "content": {}}
    assert record_lane(bulletin) == Lane.ROUTINE
    assert record_lane(bulletin, "bulk") == Lane.BULK
    assert record_lane({"kind": "hotline.ack", "content": {}}) == Lane.IMMEDIATE
