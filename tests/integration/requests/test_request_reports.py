"""What the daily report and the statistics page read: open requests at an instant, and responses per month."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from request_helpers import create_incident, token

from sarhad.core.clock import FixedClock
from sarhad.core.node import Node
from sarhad.requests import services
from sarhad.requests.schemas import AnswerIn, RequestCreateIn
from support.inprocess import deliver

PK_ACTOR = services.SystemActor("pk.liaison")
IR_ACTOR = services.SystemActor("ir.liaison")


def _ask(
    node: Node,
    to: str,
    incident_origin: str,
    incident_id: str,
    deadline: str,
    text: str,
    kind: str = "information",
    action: str | None = None,
) -> str:
    data = RequestCreateIn.model_validate(
        {
            "to": to,
            "incident": {"origin": incident_origin, "id": incident_id},
            "kind": kind,
            "action": action,
            "deadline": deadline,
            "text": text,
        }
    )
    with node.transaction() as session:
        return services.create_request(session, node, PK_ACTOR if node.party == "PK" else IR_ACTOR, data).id


def _answer(node: Node, origin: str, request_id: str, text: str, late_reason: str | None = None) -> None:
    with node.transaction() as session:
        services.answer_request(
            session,
            node,
            IR_ACTOR if node.party == "IR" else PK_ACTOR,
            origin,
            request_id,
            AnswerIn(answer=text, late_reason=late_reason),
        )


def test_open_requests_lists_both_directions_with_overdue_first_as_of_the_given_instant(
    pk: Node, ir: Node, clock: FixedClock
) -> None:
    incident = create_incident(pk, release_to=("IR",))
    deliver(pk, ir)
    start = clock.now()
    urgent = _ask(pk, "IR", "PK", incident, "urgent", "Detain the driver\nif he crosses.", "action", "detain")
    weekly = _ask(pk, "IR", "PK", incident, "7d", "Who owns the vehicle?")
    incoming = _ask(ir, "PK", "PK", incident, "14d", "Send photos of the seized goods.")
    deliver(pk, ir)
    deliver(ir, pk)
    clock.advance(timedelta(hours=9))
    _answer(ir, "PK", weekly, "Registered to a company in Zahedan.")
    deliver(ir, pk)

    with pk.sessions() as session:
        now_open = services.open_requests(session, pk, clock.now())
        earlier = services.open_requests(session, pk, start + timedelta(hours=1))
        before_any = services.open_requests(session, pk, start - timedelta(seconds=1))
    assert [(o.id, o.direction, o.overdue) for o in now_open] == [
        (urgent, "outgoing", True),
        (incoming, "incoming", False),
    ]
    first = now_open[0]
    assert (first.kind, first.action, first.incident_origin, first.incident_id) == (
        "action",
        "detain",
        "PK",
        incident,
    )
    assert first.summary == "Action (detain): Detain the driver if he crosses."
    assert first.deadline == start + timedelta(hours=8)
    # An hour after they were made, all three were open and none overdue (the answer came later).
    assert {o.id for o in earlier} == {urgent, weekly, incoming} and not any(o.overdue for o in earlier)
    assert before_any == []
    with (
        ir.sessions() as session
    ):  # IR sees the same requests from the other direction, the same overdue flag
        at_ir = services.open_requests(session, ir, clock.now())
    assert [(o.id, o.direction, o.overdue) for o in at_ir] == [
        (urgent, "incoming", True),
        (incoming, "outgoing", False),
    ]


def test_response_stats_count_on_time_late_open_and_overdue_per_month_of_creation(
    pk: Node, ir: Node, clock: FixedClock
) -> None:
    incident = create_incident(pk, release_to=("IR",))
    deliver(pk, ir)
    start = clock.now()
    on_time = _ask(pk, "IR", "PK", incident, "7d", "a")
    late = _ask(pk, "IR", "PK", incident, "urgent", "b", "action", "search")
    _ask(pk, "IR", "PK", incident, "urgent", "c", "action", "investigate")  # never answered: overdue
    _ask(pk, "IR", "PK", incident, "14d", "d")  # not answered, deadline ahead: open
    deliver(pk, ir)
    _answer(ir, "PK", on_time, "done")
    clock.advance(timedelta(hours=10))
    _answer(ir, "PK", late, "done", late_reason="Search team was delayed by a sandstorm.")
    deliver(ir, pk)
    with pk.sessions() as session:
        rows = services.response_stats(session, start - timedelta(days=1), clock.now() + timedelta(seconds=1))
        before_answers = services.response_stats(
            session, start - timedelta(days=1), start + timedelta(minutes=1)
        )
    month = start.strftime("%Y-%m")
    assert [(r.month, r.answered_on_time, r.answered_late, r.open, r.overdue) for r in rows] == [
        (month, 1, 1, 1, 1)
    ]
    # As of one minute after they were made: nothing answered yet (the on-time answer came at once, though).
    assert [(r.answered_on_time, r.answered_late, r.open, r.overdue) for r in before_answers] == [
        (1, 0, 3, 0)
    ]
    with ir.sessions() as session:
        at_ir = services.response_stats(
            session, start - timedelta(days=1), clock.now() + timedelta(seconds=1)
        )
    assert [(r.answered_on_time, r.answered_late, r.open, r.overdue) for r in at_ir] == [(1, 1, 1, 1)]


def test_the_api_serves_open_requests_and_response_statistics(
    pk: Node, ir: Node, clock: FixedClock, pk_client: TestClient
) -> None:
    incident = create_incident(pk, release_to=("IR",))
    start = clock.now()
    urgent = _ask(pk, "IR", "PK", incident, "urgent", "Search the wadi.", "action", "search")
    clock.advance(timedelta(hours=8))
    headers = token(pk_client, "liaison")
    opened = pk_client.get("/api/v1/requests/open", headers=headers).json()
    assert [(o["id"], o["overdue"], o["summary"]) for o in opened] == [
        (urgent, True, "Action (search): Search the wadi.")
    ]
    earlier = pk_client.get("/api/v1/requests/open", params={"at": start.isoformat()}, headers=headers).json()
    assert [o["overdue"] for o in earlier] == [False]
    span = {"since": (start - timedelta(days=1)).isoformat(), "until": clock.now().isoformat()}
    stats = pk_client.get("/api/v1/requests/stats", params=span, headers=headers).json()
    assert stats == [
        {"month": start.strftime("%Y-%m"), "answered_on_time": 0, "answered_late": 0, "open": 0, "overdue": 1}
    ]
    incoming = pk_client.get(
        "/api/v1/requests/stats", params={**span, "direction": "incoming"}, headers=headers
    )
    assert incoming.json() == []
    backwards = pk_client.get(
        "/api/v1/requests/stats", params={"since": span["until"], "until": span["since"]}, headers=headers
    )
    assert backwards.status_code == 422
