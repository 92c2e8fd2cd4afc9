"""Pure rules of the hotline: precedence, message checks, states, escalation plans, report statistics."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sarhad.core.errors import RuleError
from sarhad.core.text import check_title

# record kinds on the exchange
MESSAGE_KIND = "hotline.message"
SEEN_KIND = "hotline.seen"
ACK_KIND = "hotline.ack"
ESCALATION_KIND = "hotline.escalation"
CLOSE_KIND = "hotline.close"

SUBJECT_MAX = 200
BODY_MAX = 4000
REPLY_MAX = 2000
INCIDENT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$")
POSITION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
LINK_DOWN_SECONDS = 30  # a FLASH or IMMEDIATE message not delivered by then: tell the sender loudly
DEADLINE_MIN_SECONDS = 1
DEADLINE_MAX_SECONDS = 30 * 86400
MAX_STEPS = 10
MAX_REPEATS = 20


class Precedence(StrEnum):
    FLASH = "FLASH"
    IMMEDIATE = "IMMEDIATE"
    PRIORITY = "PRIORITY"
    ROUTINE = "ROUTINE"


PRECEDENCES = tuple(p.value for p in Precedence)
URGENT = frozenset({Precedence.FLASH.value, Precedence.IMMEDIATE.value})
DEFAULT_DEADLINES: dict[str, int] = {"FLASH": 120, "IMMEDIATE": 600, "PRIORITY": 3600, "ROUTINE": 86400}


class State(StrEnum):
    QUEUED = "queued"
    DELIVERED = "delivered"
    SEEN = "seen"
    ACKNOWLEDGED = "acknowledged"
    CLOSED = "closed"


STATE_ORDER = {s.value: i for i, s in enumerate(State)}


def advance(current: str, new: str) -> str:
    """States only move forward: a late 'seen' never undoes 'acknowledged'."""
    return new if STATE_ORDER[new] > STATE_ORDER[current] else current


@dataclass(frozen=True)
class MessageFields:
    precedence: str
    subject: str
    body: str
    lat: float | None
    lon: float | None
    incident: str | None


def check_message(
    *,
    precedence: str,
    subject: str,
    body: str,
    lat: float | None = None,
    lon: float | None = None,
    incident: str | None = None,
) -> MessageFields:
    """A new message's fields, trimmed; raises :class:`RuleError` naming the field that breaks a rule."""
    if precedence not in PRECEDENCES:
        raise RuleError("precedence", f"must be one of {', '.join(PRECEDENCES)}")
    subject = subject.strip()
    if not subject:
        raise RuleError("subject", "say what the message is about")
    if len(subject) > SUBJECT_MAX:
        raise RuleError("subject", f"at most {SUBJECT_MAX} characters (this one has {len(subject)})")
    check_title(subject, "subject")  # no bidi overrides (sarhad.core.text)
    body = body.strip()
    if not body:
        raise RuleError("body", "the message has no text")
    if len(body) > BODY_MAX:
        raise RuleError("body", f"at most {BODY_MAX} characters (this one has {len(body)})")
    if (lat is None) != (lon is None):
        raise RuleError("lat", "give both lat and lon, or neither")
    if lat is not None and lon is not None:
        if not (math.isfinite(lat) and -90 <= lat <= 90):
            raise RuleError("lat", "must be between -90 and 90")
        if not (math.isfinite(lon) and -180 <= lon <= 180):
            raise RuleError("lon", "must be between -180 and 180")
    if incident is not None:
        incident = incident.strip() or None
    if incident is not None and not INCIDENT_PATTERN.fullmatch(incident):
        raise RuleError(
            "incident", "an incident reference is 1-100 letters, digits or . _ : / - (e.g. PK-2026-0042)"
        )
    return MessageFields(precedence, subject, body, lat, lon, incident)


def check_reply(text: str | None) -> str | None:
    """An acknowledgement's optional reply, trimmed (empty: None)."""
    if text is None:
        return None
    text = text.strip()
    if len(text) > REPLY_MAX:
        raise RuleError("reply", f"at most {REPLY_MAX} characters (this one has {len(text)})")
    return text or None


def check_deadlines(values: Mapping[str, Any]) -> dict[str, int]:
    """A full deadline table (seconds per precedence); missing precedences keep the defaults."""
    unknown = sorted(set(values) - set(PRECEDENCES))
    if unknown:
        raise RuleError("deadlines", f"unknown precedence(s) {', '.join(unknown)}")
    table = dict(DEFAULT_DEADLINES)
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise RuleError(key, "a deadline is a whole number of seconds")
        if not DEADLINE_MIN_SECONDS <= value <= DEADLINE_MAX_SECONDS:
            raise RuleError(
                key, f"a deadline is between {DEADLINE_MIN_SECONDS} and {DEADLINE_MAX_SECONDS} seconds"
            )
        table[key] = value
    return table


# --- escalation --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyStep:
    """Wait ``wait_seconds`` (None: the precedence's acknowledgement deadline), then notify ``notify``:
    ``"parent"`` (the position above the one notified last) or a position id."""

    wait_seconds: int | None
    notify: str


DEFAULT_POLICY_STEPS = (PolicyStep(None, "parent"),)
DEFAULT_MAX_REPEATS = 2


def check_policy(steps: Sequence[Mapping[str, Any]], max_repeats: int) -> list[PolicyStep]:
    """An escalation policy's steps and repeats, checked (position ids are checked by the service)."""
    if len(steps) > MAX_STEPS:
        raise RuleError("steps", f"at most {MAX_STEPS} steps")
    if (
        isinstance(max_repeats, bool)
        or not isinstance(max_repeats, int)
        or not 0 <= max_repeats <= MAX_REPEATS
    ):
        raise RuleError("max_repeats", f"between 0 and {MAX_REPEATS}")
    out: list[PolicyStep] = []
    for index, step in enumerate(steps):
        wait = step.get("wait_seconds")
        if wait is not None and (
            isinstance(wait, bool)
            or not isinstance(wait, int)
            or not DEADLINE_MIN_SECONDS <= wait <= DEADLINE_MAX_SECONDS
        ):
            raise RuleError(
                f"steps.{index}.wait_seconds",
                f"null (the precedence's deadline) or {DEADLINE_MIN_SECONDS}-{DEADLINE_MAX_SECONDS} seconds",
            )
        notify = step.get("notify", "parent")
        if not isinstance(notify, str) or not (notify == "parent" or POSITION_PATTERN.fullmatch(notify)):
            raise RuleError(f"steps.{index}.notify", "'parent' or a position id")
        out.append(PolicyStep(wait, notify))
    return out


@dataclass(frozen=True)
class PlannedStep:
    """One escalation step frozen into a message: due ``offset_seconds`` after delivery, notify ``target``."""

    number: int
    offset_seconds: int
    target: str

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "offset_seconds": self.offset_seconds, "target": self.target}


def plan_escalation(
    steps: Sequence[PolicyStep],
    max_repeats: int,
    deadline_seconds: int,
    addressed: str,
    parent_of: Mapping[str, str | None],
) -> list[PlannedStep]:
    """The whole escalation schedule, resolved now (so later policy or hierarchy edits do not change it).

    The last step is repeated ``max_repeats`` more times; ``"parent"`` climbs from the position notified
    last (at the top of the hierarchy it notifies the top position again).
    """
    plan: list[PlannedStep] = []
    if not steps:
        return plan
    sequence = list(steps) + [steps[-1]] * max_repeats
    offset = 0
    current = addressed
    for number, step in enumerate(sequence, start=1):
        offset += step.wait_seconds if step.wait_seconds is not None else deadline_seconds
        target = (parent_of.get(current) or current) if step.notify == "parent" else step.notify
        plan.append(PlannedStep(number, offset, target))
        current = target
    return plan


# --- report ------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between closest ranks; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (rank - low))


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from ``start`` to ``end`` (never negative); None if either is missing."""
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())
