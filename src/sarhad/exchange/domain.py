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


def link_id(sender: str, receiver: str) -> str:
    return f"{sender}>{receiver}"


def split_link(link: str) -> tuple[str, str]:
    sender, _, receiver = link.partition(">")
    if not (PARTY_PATTERN.fullmatch(sender) and PARTY_PATTERN.fullmatch(receiver)) or sender == receiver:
        raise ValueError(f"link {link!r} is not of the form 'PK>IR'")
    return sender, receiver


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
