"""Pure rules of the exchange: handling codes, TLP labels, record envelopes' inner shape, back-off."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final


class Handling(StrEnum):
    """May the receiver pass the record on to a third party?"""

    NO_ONWARD = "no_onward"
    ONWARD_ALLOWED = "onward_allowed"


class Tlp(StrEnum):
    """Traffic Light Protocol 2.0 labels."""

    CLEAR = "clear"
    GREEN = "green"
    AMBER = "amber"
    AMBER_STRICT = "amber+strict"
    RED = "red"


class Op(StrEnum):
    UPSERT = "upsert"
    WITHDRAW = "withdraw"


PARTY_PATTERN = re.compile(r"^[A-Z]{2}$")
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_.]{1,63}$")
RECORD_ID_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
KEY_ROTATION_KIND = "key_rotation"  # same as protocol.KIND_KEY_ROTATION; checked by a test


class Lane(StrEnum):
    """The precedence lanes of a link, highest first. Each is a chain of its own (seq, hash chain, receipts)."""

    FLASH = "flash"
    IMMEDIATE = "immediate"
    PRIORITY = "priority"
    ROUTINE = "routine"
    BULK = "bulk"


LANES: Final = tuple(Lane)  # highest precedence first: the order the sender serves them in
BASE_LANE: Final = Lane.ROUTINE  # the lane-less link id ("PK>IR"): the one chain every version has
LANES_VERSION: Final = 1  # what a node says in ``hello`` when it speaks lanes


def link_id(sender: str, receiver: str, lane: str = BASE_LANE) -> str:
    """``PK>IR`` for the base lane (routine), ``PK>IR:flash`` for another lane's chain."""
    base = f"{sender}>{receiver}"
    return base if lane == BASE_LANE else f"{base}:{lane}"


def split_link(link: str) -> tuple[str, str]:
    sender, receiver, _ = split_lane_link(link)
    return sender, receiver


def split_lane_link(link: str) -> tuple[str, str, Lane]:
    """``"PK>IR:flash"`` → ``("PK", "IR", Lane.FLASH)``; ``"PK>IR"`` is the base lane (routine)."""
    pair, colon, lane_name = link.partition(":")
    sender, _, receiver = pair.partition(">")
    if not (PARTY_PATTERN.fullmatch(sender) and PARTY_PATTERN.fullmatch(receiver)) or sender == receiver:
        raise ValueError(f"link {link!r} is not of the form 'PK>IR' or 'PK>IR:flash'")
    if not colon:
        return sender, receiver, BASE_LANE
    if lane_name not in _LANE_SUFFIXES:
        raise ValueError(f"link {link!r} names no lane ({', '.join(_LANE_SUFFIXES)})")
    return sender, receiver, Lane(lane_name)


def lane_of_link(link: str) -> Lane:
    return split_lane_link(link)[2]


def link_lanes(sender: str, receiver: str) -> list[str]:
    """The link ids of every lane from ``sender`` to ``receiver``, highest precedence first."""
    return [link_id(sender, receiver, lane) for lane in LANES]


def parse_lane(value: str | None) -> Lane:
    """A lane named on the wire (``?lane=``); absent means the base lane. ValueError if unknown."""
    if value is None or value == "":
        return BASE_LANE
    try:
        return Lane(value)
    except ValueError:
        raise ValueError(f"lane {value!r} is not one of {', '.join(LANES)}") from None


def next_lane(waiting: Sequence[Lane], passed_over: dict[Lane, int], fair_every: int) -> Lane:
    """Which lane's batch goes next: the highest waiting lane, unless a lower one has been passed over
    ``fair_every`` times in a row (then the lowest such lane gets one batch: nothing starves).

    ``passed_over`` counts, per lane, the batches of higher lanes sent while it waited; the caller resets a
    lane's count when it is served and drops it when the lane is empty.
    """
    order = sorted(waiting, key=LANES.index)
    if not order:
        raise ValueError("no lane is waiting")
    starving = [lane for lane in order if passed_over.get(lane, 0) >= fair_every]
    return starving[-1] if starving else order[0]


_LANE_SUFFIXES: Final = tuple(lane.value for lane in Lane if lane != BASE_LANE)


class RecordShapeError(ValueError):
    """The record inside a validly signed envelope is not a record this node can apply."""


_OPS: Final = frozenset(o.value for o in Op)
_HANDLINGS: Final = frozenset(h.value for h in Handling)
_TLPS: Final = frozenset(t.value for t in Tlp)


def check_record(record: dict[str, Any]) -> dict[str, Any]:
    """Check the generic record fields of an envelope's ``record`` (the kind's own schema comes later)."""
    required = {
        "kind": str,
        "origin": str,
        "id": str,
        "version": int,
        "op": str,
        "handling": str,
        "tlp": str,
        "content": dict,
        "content_hash": str,
    }
    for name, typ in required.items():
        if name not in record:
            raise RecordShapeError(f"record field {name!r} is missing")
        value = record[name]
        if not isinstance(value, typ) or (typ is int and isinstance(value, bool)):
            raise RecordShapeError(f"record field {name!r} must be of type {typ.__name__}")
    if not KIND_PATTERN.fullmatch(record["kind"]):
        raise RecordShapeError(f"record kind {record['kind']!r} is not a valid kind name")
    if not PARTY_PATTERN.fullmatch(record["origin"]):
        raise RecordShapeError(f"record origin {record['origin']!r} is not a party code")
    if not RECORD_ID_PATTERN.fullmatch(record["id"]):
        raise RecordShapeError("record id must be 1-64 characters of letters, digits and . _ : -")
    if record["version"] < 1:
        raise RecordShapeError("record version must be 1 or more")
    if record["op"] not in _OPS:
        raise RecordShapeError(f"record op {record['op']!r} is not one of upsert, withdraw")
    if record["handling"] not in _HANDLINGS:
        raise RecordShapeError(f"handling {record['handling']!r} is not one of no_onward, onward_allowed")
    if record["tlp"] not in _TLPS:
        raise RecordShapeError(f"tlp {record['tlp']!r} is not a TLP 2.0 label")
    return record


def backoff_seconds(
    failures: int, *, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None
) -> float:
    """Exponential back-off with full jitter: uniform in [0.5, 1] of min(cap, base * 2^failures)."""
    ceiling = min(cap, base * float(2 ** min(failures, 20)))
    jitter: float = (rng or random).random()
    return ceiling * (0.5 + 0.5 * jitter)


CHUNK: Final = 500  # values per IN (...) query: well inside every database's limit on bound parameters


def chunked(values: Sequence[str]) -> list[Sequence[str]]:
    """``values`` in slices of :data:`CHUNK`, one ``IN (...)`` query each."""
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def delivery_state(sent: bool, receipted: bool) -> str:
    """What a page shows for one envelope: queued, sent or receipted."""
    if receipted:
        return "receipted"
    return "sent" if sent else "queued"


@dataclass(frozen=True)
class DeliveryWake:
    """Hands freshly enqueued envelopes to this process's delivery worker (in ``node.components``).

    ``wake(party, fresh)``: ``party`` has new envelopes (None: look at every peer); ``fresh`` are those
    envelopes as ``(seq, body)``, so the worker need not read them back.
    """

    wake: Callable[..., None]
