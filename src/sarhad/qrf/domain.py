"""Pure rules of QRF units: the status set, the transition table, content checks, staleness. No I/O.

A unit's status is one of a small standard set (Resgrid's unit states, narrowed to what a border QRF needs).
Who may move a unit from one status to another is the transition table :data:`TRANSITIONS`: a unit goes
``responding`` only from a ready state (available, or standby at N minutes' notice), never from
unavailable or out of service; ``on_scene`` only from ``responding`` (a returning unit needs a new dispatch,
``responding``, before it is on scene again). Setting the current status again is a *confirmation*: it
keeps the status time and refreshes the confirmation time (standby may also change its notice that way).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sarhad.core.errors import ErrorCode, RuleError

KIND = "qrf.unit"

CALL_SIGN_MAX = 40
STRENGTH_MAX = 5000
NOTICE_MAX_MINUTES = 24 * 60
STALE_AFTER = timedelta(hours=6)  # no change or confirmation for this long: the board flags the status

_CALL_SIGN = re.compile(r"^[\w][\w .\-/]*$")


class Status(StrEnum):
    AVAILABLE = "available"
    STANDBY = "standby"  # at N minutes' notice
    RESPONDING = "responding"
    ON_SCENE = "on_scene"
    RETURNING = "returning"
    UNAVAILABLE = "unavailable"
    OUT_OF_SERVICE = "out_of_service"


class UnitType(StrEnum):
    MOBILE_INFANTRY = "mobile_infantry"
    MOUNTED = "mounted"
    ARMOURED = "armoured"
    AIR = "air"
    MEDICAL = "medical"
    EOD = "eod"
    K9 = "k9"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.AVAILABLE: frozenset(
        {Status.STANDBY, Status.RESPONDING, Status.UNAVAILABLE, Status.OUT_OF_SERVICE}
    ),
    Status.STANDBY: frozenset(
        {Status.AVAILABLE, Status.RESPONDING, Status.UNAVAILABLE, Status.OUT_OF_SERVICE}
    ),
    # a responding unit arrives, or is stood down on the way (returning), or cancelled before it left
    Status.RESPONDING: frozenset({Status.ON_SCENE, Status.RETURNING, Status.AVAILABLE}),
    Status.ON_SCENE: frozenset({Status.RETURNING}),
    # a returning unit may be dispatched again (responding), never straight back on scene
    Status.RETURNING: frozenset({Status.AVAILABLE, Status.RESPONDING, Status.UNAVAILABLE}),
    Status.UNAVAILABLE: frozenset({Status.AVAILABLE, Status.STANDBY, Status.OUT_OF_SERVICE}),
    Status.OUT_OF_SERVICE: frozenset({Status.AVAILABLE, Status.UNAVAILABLE}),
}

READY = frozenset({Status.AVAILABLE, Status.STANDBY})


def check_status(value: str) -> Status:
    try:
        return Status(value)
    except ValueError:
        raise RuleError(
            "status", f"unknown status {value!r}; one of {', '.join(s.value for s in Status)}"
        ) from None


def check_unit_type(value: str) -> UnitType:
    try:
        return UnitType(value)
    except ValueError:
        raise RuleError(
            "unit_type", f"unknown unit type {value!r}; one of {', '.join(t.value for t in UnitType)}"
        ) from None


def check_call_sign(value: str) -> str:
    value = value.strip()
    if not 1 <= len(value) <= CALL_SIGN_MAX or not _CALL_SIGN.fullmatch(value):
        raise RuleError(
            "call_sign",
            f"a call sign has 1 to {CALL_SIGN_MAX} characters: letters, digits, spaces, '.', '-', '/'",
        )
    return value


def check_strength(value: int) -> int:
    if not 1 <= value <= STRENGTH_MAX:
        raise RuleError("strength", f"strength is 1 to {STRENGTH_MAX} personnel")
    return value


def check_notice(status: Status, notice_minutes: int | None) -> int | None:
    """Standby needs its notice in minutes (1 to 1,440); every other status has none."""
    if status is Status.STANDBY:
        if notice_minutes is None or not 1 <= notice_minutes <= NOTICE_MAX_MINUTES:
            raise RuleError(
                "notice_minutes",
                f"standby needs its notice: 1 to {NOTICE_MAX_MINUTES} minutes",
                code=ErrorCode.QRF_NOTICE_REQUIRED,
            )
        return notice_minutes
    if notice_minutes is not None:
        raise RuleError(
            "notice_minutes",
            f"only standby has a notice time, not {status.value}",
            code=ErrorCode.QRF_NOTICE_REQUIRED,
        )
    return None


@dataclass(frozen=True)
class Change:
    """What a status request does: ``changed`` False is a confirmation of the current status."""

    status: Status
    notice_minutes: int | None
    changed: bool


def transition(current: Status, wanted: Status, notice_minutes: int | None) -> Change:
    """The change from ``current`` to ``wanted`` by the transition table, or a :class:`RuleError`
    (``qrf_illegal_transition``; a dispatch of a unit that is not ready says so)."""
    notice = check_notice(wanted, notice_minutes)
    if wanted is current:
        return Change(wanted, notice, changed=False)
    if wanted not in TRANSITIONS[current]:
        if wanted is Status.RESPONDING:
            message = f"a unit that is {current.value} cannot be dispatched (responding); it must be available or on standby"
        elif wanted is Status.ON_SCENE:
            message = f"a unit that is {current.value} cannot go on scene; only a responding unit arrives on scene (dispatch it first)"
        else:
            allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current]))
            message = (
                f"a unit that is {current.value} cannot go {wanted.value}; from {current.value}: {allowed}"
            )
        raise RuleError("status", message, code=ErrorCode.QRF_ILLEGAL_TRANSITION)
    return Change(wanted, notice, changed=True)


def is_stale(confirmed_at: datetime, now: datetime, after: timedelta = STALE_AFTER) -> bool:
    """A status nobody changed or confirmed for ``after`` (six hours) is stale: the board flags it."""
    return now - confirmed_at > after
