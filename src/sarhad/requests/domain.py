"""Pure rules of requests to the other side: what a valid request and answer are, deadlines, overdue. No I/O.

A request is written by the requesting party and released to the party it is addressed to; the answer is
written by the addressed party and released back. Both sides compute "overdue" from the same absolute
deadline carried in the request and their own node clock, so both flag it at the same instant (up to the
skew between the two clocks, which the exchange already bounds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sarhad.core.errors import RuleError
from sarhad.exchange.record_rules import content_time

REQUEST_KIND = "request"
ANSWER_KIND = "request.answer"

TEXT_MAX = 10_000
ANSWER_MAX = 10_000
REASON_MAX = 2_000  # a late answer's reason
SUMMARY_MAX = 120
SET_DEADLINE_MAX = timedelta(days=365)  # a "set" deadline further out than this is a typing mistake


class RequestType(StrEnum):
    INFORMATION = "information"
    ACTION = "action"


class Action(StrEnum):
    SEARCH = "search"
    INTERDICT = "interdict"
    DETAIN = "detain"
    INVESTIGATE = "investigate"


class DeadlineChoice(StrEnum):
    URGENT = "urgent"  # 8 hours
    DAYS_7 = "7d"
    DAYS_14 = "14d"
    SET = "set"  # an explicit instant


DEADLINE_SPANS: dict[DeadlineChoice, timedelta] = {
    DeadlineChoice.URGENT: timedelta(hours=8),
    DeadlineChoice.DAYS_7: timedelta(days=7),
    DeadlineChoice.DAYS_14: timedelta(days=14),
}


class Status(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    WITHDRAWN = "withdrawn"


class Direction(StrEnum):
    OUTGOING = "outgoing"  # this node's party asked
    INCOMING = "incoming"  # this node's party is asked


@dataclass(frozen=True)
class OpenRequest:
    """A request that is neither answered nor withdrawn at a given instant (daily report, statistics)."""

    id: str
    direction: str  # "outgoing" | "incoming"
    kind: str  # "information" | "action"
    action: str | None  # search / interdict / detain / investigate, for requests for action
    incident_origin: str
    incident_id: str
    deadline: datetime
    overdue: bool
    summary: str


@dataclass(frozen=True)
class ResponseStatsRow:
    """Requests created in one calendar month (UTC), by how they stood at the end of the period."""

    month: str  # "YYYY-MM"
    answered_on_time: int
    answered_late: int
    open: int
    overdue: int


def check_type_and_action(kind: str, action: str | None) -> tuple[RequestType, Action | None]:
    try:
        request_type = RequestType(kind)
    except ValueError:
        raise RuleError(
            "kind", f"request kind {kind!r} is unknown; use one of {', '.join(t.value for t in RequestType)}"
        ) from None
    if request_type == RequestType.INFORMATION:
        if action:
            raise RuleError("action", "a request for information names no action; leave action empty")
        return request_type, None
    if not action:
        raise RuleError(
            "action", f"a request for action names the action: one of {', '.join(a.value for a in Action)}"
        )
    try:
        return request_type, Action(action)
    except ValueError:
        raise RuleError(
            "action", f"action {action!r} is unknown; use one of {', '.join(a.value for a in Action)}"
        ) from None


def resolve_deadline(
    choice: str, deadline_at: datetime | None, now: datetime
) -> tuple[DeadlineChoice, datetime]:
    """The absolute deadline (UTC) of a request made at ``now``: 8 h, 7 days, 14 days, or a set instant."""
    try:
        chosen = DeadlineChoice(choice)
    except ValueError:
        raise RuleError(
            "deadline",
            f"deadline {choice!r} is unknown; use one of {', '.join(d.value for d in DeadlineChoice)}",
        ) from None
    if chosen != DeadlineChoice.SET:
        if deadline_at is not None:
            raise RuleError(
                "deadline_at", f"deadline {chosen.value} sets its own time; leave deadline_at empty"
            )
        return chosen, now + DEADLINE_SPANS[chosen]
    if deadline_at is None:
        raise RuleError("deadline_at", "a set deadline needs deadline_at (e.g. 2026-11-24T18:00:00+05:00)")
    if deadline_at.tzinfo is None:
        raise RuleError("deadline_at", "deadline_at needs a time zone (e.g. 2026-11-24T18:00:00+05:00)")
    at = deadline_at.astimezone(UTC)
    if at <= now:
        raise RuleError(
            "deadline_at", f"the deadline {at.isoformat()} is not in the future (node time {now.isoformat()})"
        )
    if at - now > SET_DEADLINE_MAX:
        raise RuleError("deadline_at", f"the deadline is more than {SET_DEADLINE_MAX.days} days away")
    return chosen, at


def check_text(text: str, field: str = "text", maximum: int = TEXT_MAX) -> str:
    text = text.strip()
    if not text:
        raise RuleError(field, f"{field} must not be empty")
    if len(text) > maximum:
        raise RuleError(field, f"{field} is {len(text)} characters; at most {maximum} are allowed")
    return text


def is_overdue(status: str, deadline: datetime, now: datetime) -> bool:
    """An open request is overdue from its deadline on; an answered or withdrawn one never is."""
    return status == Status.OPEN and now >= deadline


def is_late(deadline: datetime, answered_at: datetime) -> bool:
    """An answer given after the deadline is late (an answer exactly at the deadline is on time)."""
    return answered_at > deadline


def check_answer(
    answer: str, late_reason: str | None, deadline: datetime, answered_at: datetime
) -> tuple[str, str]:
    """The answer text and the late reason; a late answer without a reason is refused."""
    text = check_text(answer, "answer", ANSWER_MAX)
    reason = (late_reason or "").strip()
    if len(reason) > REASON_MAX:
        raise RuleError("late_reason", f"the reason is longer than {REASON_MAX} characters")
    if is_late(deadline, answered_at) and not reason:
        raise RuleError(
            "late_reason",
            f"the deadline passed at {deadline.isoformat()}; an answer after the deadline must say why it is late",
        )
    return text, reason


def summary(request_type: str, action: str | None, text: str) -> str:
    """One line for reports: "Action (detain): first words of the text…"."""
    head = f"Action ({action})" if request_type == RequestType.ACTION and action else "Information"
    line = " ".join(text.split())
    if len(line) > SUMMARY_MAX:
        line = line[: SUMMARY_MAX - 1] + "…"
    return f"{head}: {line}"


def month_of(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m")


def stats_bucket(
    status_at_end: str, deadline: datetime, answered_at: datetime | None, end: datetime
) -> str | None:
    """How a request stood at ``end``: answered_on_time / answered_late / open / overdue (None: withdrawn).

    ``status_at_end`` is the status at ``end`` (an answer given after ``end`` does not count yet).
    """
    if status_at_end == Status.ANSWERED and answered_at is not None:
        return "answered_late" if is_late(deadline, answered_at) else "answered_on_time"
    if status_at_end == Status.OPEN:
        return "overdue" if end >= deadline else "open"
    return None


def request_content(
    *,
    addressee: str,
    incident_origin: str,
    incident_id: str,
    kind: str,
    action: str | None,
    deadline_choice: str,
    deadline: datetime,
    text: str,
    created_by: str,
    created_at: datetime,
    updated_at: datetime,
) -> dict[str, Any]:
    """The content of a ``request`` record version as released to the addressed party (times with
    ``+00:00``, as requests have always been signed: ``record_rules.content_time``)."""
    return {
        "addressee": addressee,
        "incident": {"origin": incident_origin, "id": incident_id},
        "kind": kind,
        "action": action,
        "deadline_choice": deadline_choice,
        "deadline": content_time(deadline),
        "text": text,
        "created_by": created_by,
        "created_at": content_time(created_at),
        "updated_at": content_time(updated_at),
    }


def answer_record_id(request_origin: str, request_id: str) -> str:
    """The id of the answer record at the answering party: one answer per request."""
    return f"{request_origin}:{request_id}"


def time_left(deadline: datetime, now: datetime) -> tuple[bool, int, int, int]:
    """(past the deadline, days, hours, minutes) between now and the deadline, rounded down to the minute: the
    countdown of the requests list."""
    seconds = int((deadline - now).total_seconds())
    past = seconds < 0
    minutes_total = abs(seconds) // 60
    days, rest = divmod(minutes_total, 24 * 60)
    return past, days, rest // 60, rest % 60
