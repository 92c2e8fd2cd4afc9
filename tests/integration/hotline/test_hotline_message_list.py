"""The message list: a page is full whenever more matching messages exist, and the text search is literal."""

from __future__ import annotations

from fastapi.testclient import TestClient
from hotline_helpers import deliver, token

from sarhad.accounts.actors import SystemActor
from sarhad.core.clock import SystemClock
from sarhad.core.node import Node
from sarhad.hotline import configuration, sending
from sarhad.hotline.schemas import MessageIn
from sarhad.hotline.workers import run_due


def ir_sends(ir: Node, to_position: str, subject: str) -> str:
    data = MessageIn(to_position=to_position, precedence="ROUTINE", subject=subject, body="text")  # type: ignore[arg-type]
    with ir.transaction() as session:
        return sending.send_message(session, ir, SystemActor("ir.cmd"), data).id


def subjects(client: TestClient, headers: dict[str, str], **params: str | int) -> list[str]:
    answer = client.get("/api/v1/hotline/messages", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return [m["subject"] for m in answer.json()]


def test_a_page_is_full_when_newer_messages_the_viewer_may_not_read_come_between(
    pk: Node, ir: Node, pk_client: TestClient
) -> None:
    # The ministry's messages escalate (to the ministry itself: it is the top of the hierarchy), so the
    # database cannot tell from the columns that the commander may not read them; they are newer than
    # the commander's and far more than a page.
    with pk.transaction() as session:
        configuration.set_policy(
            session, pk, SystemActor(), "PK-MOI", [{"wait_seconds": 1, "notify": "parent"}], 0
        )
    mine = [ir_sends(ir, "PK-S1-CDR", f"for the commander {i}") for i in range(3)]
    others = [ir_sends(ir, "PK-MOI", f"for the ministry {i}") for i in range(12)]
    deliver(ir, pk)
    pk.clock = SystemClock(2)
    assert run_due(pk)[0] == len(others)

    commander = token(pk_client, "commander")
    assert subjects(pk_client, commander, limit=2) == ["for the commander 2", "for the commander 1"]
    assert len(subjects(pk_client, commander, limit=3)) == len(mine)
    assert subjects(pk_client, commander, limit=5) == [f"for the commander {i}" for i in (2, 1, 0)]
    assert len(subjects(pk_client, token(pk_client, "secretariat"), limit=200)) == len(others)


def test_the_text_search_matches_percent_and_underscore_literally(
    pk: Node, ir: Node, pk_client: TestClient
) -> None:
    headers = token(pk_client, "commander")
    for subject in ("50% of the patrol", "500 men", "a_b crossing", "axb crossing"):
        body = {"to_position": "IR-S1-CDR", "precedence": "ROUTINE", "subject": subject, "body": "text"}
        assert pk_client.post("/api/v1/hotline/messages", json=body, headers=headers).status_code == 201
    assert subjects(pk_client, headers, q="50%") == ["50% of the patrol"]
    assert subjects(pk_client, headers, q="a_b") == ["a_b crossing"]
    assert sorted(subjects(pk_client, headers, q="50")) == ["50% of the patrol", "500 men"]
