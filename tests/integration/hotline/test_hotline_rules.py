"""Escalation under several processes and after policy edits, link-down notices, forged records, threads,
and the read side of the API (positions, channels, filters, CSV, report, configuration)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

from fastapi.testclient import TestClient
from hotline_helpers import count, deliver, message, timeline_kinds, token

from sarhad.accounts.actors import SystemActor
from sarhad.core.clock import SystemClock
from sarhad.core.node import Node, build_node
from sarhad.exchange.models import InboundEnvelope
from sarhad.exchange.release import release_record
from sarhad.hotline import configuration, demo, sending
from sarhad.hotline.models import EscalationPolicy, HotlineChannel, HotlineMessage
from sarhad.hotline.schemas import MessageIn
from sarhad.hotline.workers import run_due


def ir_sends(ir: Node, precedence: str = "FLASH", **extra: object) -> str:
    """IR's commander writes to PK-S1-CDR (so the receiving side runs on the parametrised database)."""
    data = MessageIn(to_position="PK-S1-CDR", precedence=precedence, subject="From IR", body="text", **extra)  # type: ignore[arg-type]
    with ir.transaction() as session:
        return sending.send_message(session, ir, SystemActor("ir.cmd"), data).id


def shift(node: Node, seconds: float) -> None:
    node.clock = SystemClock(seconds)


def link_down_banner(html: str) -> str:
    """Whether the thread page's link-down banner (which says "Not delivered after 30 s") is shown."""
    match = re.search(r'<div id="link-down"[^>]*>\s*([^<]*)', html)
    assert match, "the thread page has no link-down banner"
    assert "not delivered after 30 s" in match.group(1).lower()
    return "hidden" if re.search(r"\bhidden\b", match.group(0).split(">", 1)[0]) else "shown"


def test_several_processes_never_take_the_same_escalation_step_twice(pk: Node, ir: Node) -> None:
    with pk.transaction() as session:
        configuration.set_deadlines(session, pk, SystemActor(), {"FLASH": 1})
    mid = ir_sends(ir)
    deliver(ir, pk)
    others = [build_node(pk.settings) for _ in range(3)]
    for other in [pk, *others]:
        shift(other, 1.5)
    results: list[int] = []
    barrier = threading.Barrier(4)

    def worker(node: Node) -> None:
        barrier.wait()
        results.append(run_due(node)[0])

    threads = [threading.Thread(target=worker, args=(n,)) for n in [pk, *others]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for other in others:
        other.dispose()
    assert sorted(results) == [0, 0, 0, 1]
    assert message(pk, "IR", mid).escalations == 1
    assert timeline_kinds(pk, "IR", mid).count("escalated") == 1


def test_editing_a_policy_never_changes_an_escalation_already_running(pk: Node, ir: Node) -> None:
    with pk.transaction() as session:
        configuration.set_policy(
            session, pk, SystemActor(), "PK-S1-CDR", [{"wait_seconds": 5, "notify": "PK-MOI"}], 0
        )
    mid = ir_sends(ir, "ROUTINE")
    deliver(ir, pk)
    with pk.transaction() as session:
        configuration.set_policy(
            session, pk, SystemActor(), "PK-S1-CDR", [{"wait_seconds": 3600, "notify": "parent"}], 3
        )
    frozen = message(pk, "IR", mid)
    assert frozen.escalation_policy is not None
    assert frozen.escalation_policy["plan"] == [{"number": 1, "offset_seconds": 5, "target": "PK-MOI"}]
    shift(pk, 6)
    assert run_due(pk)[0] == 1
    done = message(pk, "IR", mid)
    assert done.escalated_positions == ["PK-MOI"] and done.next_escalation_at is None


def test_an_acknowledged_message_never_escalates(pk: Node, ir: Node, pk_client: TestClient) -> None:
    with pk.transaction() as session:
        configuration.set_deadlines(session, pk, SystemActor(), {"FLASH": 1})
    mid = ir_sends(ir)
    deliver(ir, pk)
    answer = pk_client.post(
        f"/api/v1/hotline/messages/{mid}/ack", json={}, headers=token(pk_client, "commander")
    )
    assert answer.status_code == 200, answer.text
    shift(pk, 10)
    assert run_due(pk)[0] == 0 and message(pk, "IR", mid).escalations == 0


def test_an_undelivered_flash_tells_the_sender_loudly_after_30_seconds_then_goes(
    pk: Node, ir: Node, pk_client: TestClient
) -> None:
    headers = token(pk_client, "commander")
    body = {"to_position": "IR-S1-CDR", "precedence": "FLASH", "subject": "s", "body": "b"}
    mid = pk_client.post("/api/v1/hotline/messages", json=body, headers=headers).json()["id"]
    routine = pk_client.post(
        "/api/v1/hotline/messages", json={**body, "precedence": "ROUTINE"}, headers=headers
    ).json()["id"]
    assert run_due(pk)[0] == 0
    shift(pk, 31)
    assert run_due(pk)[0] == 1  # only the FLASH; a ROUTINE message waits quietly
    assert pk_client.get(f"/api/v1/hotline/messages/{mid}", headers=headers).json()["link_down"] is True
    assert pk_client.get(f"/api/v1/hotline/messages/{routine}", headers=headers).json()["link_down"] is False
    # the thread page says it loudly: the banner is shown for the FLASH, hidden for the ROUTINE message
    assert link_down_banner(pk_client.get(f"/hotline/messages/{mid}", headers=headers).text) == "shown"
    assert link_down_banner(pk_client.get(f"/hotline/messages/{routine}", headers=headers).text) == "hidden"
    deliver(pk, ir)
    detail = pk_client.get(f"/api/v1/hotline/messages/{mid}", headers=headers).json()
    assert detail["state"] == "delivered" and detail["link_down"] is False
    assert [e["kind"] for e in detail["timeline"]] == ["queued", "link_down", "delivered"]


def test_an_ack_for_a_message_never_sent_is_quarantined_and_writes_nothing(pk: Node, ir: Node) -> None:
    forged = {
        "message": {"origin": "PK", "id": "0190aaaa-0000-7000-8000-000000000000"},
        "message_content_hash": "0" * 64,
        "delivered_at": "2026-11-23T10:00:00Z",
        "seen_at": "2026-11-23T10:00:01Z",
        "acknowledged_at": "2026-11-23T10:00:02Z",
        "by": "mallory",
        "by_name": "Mallory",
        "position": "IR-S1-CDR",
        "reply": None,
    }
    with ir.transaction() as session:
        release_record(
            session,
            ir,
            kind="hotline.ack",
            record_id="forged.ack",
            version=1,
            content=forged,
            to=["PK"],
            actor=SystemActor("x"),
        )
    before = count(pk, HotlineMessage)
    deliver(ir, pk)
    with pk.sessions() as session:
        quarantined = session.query(InboundEnvelope).filter(InboundEnvelope.status == "quarantined").all()
        assert len(quarantined) == 1 and "never sent" in quarantined[0].reason
    assert count(pk, HotlineMessage) == before


def test_replies_thread_and_route_back(
    pk: Node, ir: Node, pk_client: TestClient, ir_client: TestClient
) -> None:
    first = ir_sends(ir, "PRIORITY")
    deliver(ir, pk)
    headers = token(pk_client, "commander")
    reply = pk_client.post(
        "/api/v1/hotline/messages",
        json={"reply_to": first, "precedence": "PRIORITY", "subject": "RE", "body": "answer"},
        headers=headers,
    )
    assert reply.status_code == 201, reply.text
    assert reply.json()["to_position"] == "IR-S1-CDR" and reply.json()["thread"] == first
    deliver(pk, ir)
    thread = ir_client.get(f"/api/v1/hotline/messages/{first}", headers=token(ir_client, "commander")).json()
    assert [m["subject"] for m in thread["thread_messages"]] == ["From IR", "RE"]


def test_read_side_positions_channels_filters_csv_report_and_config(
    pk: Node, ir: Node, pk_client: TestClient
) -> None:
    headers = token(pk_client, "commander")
    positions = {p["id"]: p for p in pk_client.get("/api/v1/hotline/positions", headers=headers).json()}
    assert positions["PK-S1-CDR"]["held_by_me"] and positions["PK-S1-CDR"]["parent_id"] == "PK-MOI"
    assert positions["IR-S1-CDR"]["own"] is False and positions["IR-MOI"]["party"] == "IR"
    channels = pk_client.get("/api/v1/hotline/channels", headers=headers).json()
    assert {(c["own_position"], c["counterpart_position"]) for c in channels} >= {
        ("PK-MOI", "IR-MOI"),
        ("PK-S1-CDR", "IR-S1-CDR"),
    }

    ir_sends(ir, "FLASH")
    deliver(ir, pk)
    body = {"to_position": "IR-S1-CDR", "precedence": "ROUTINE", "subject": "=cmd()", "body": "b"}
    assert pk_client.post("/api/v1/hotline/messages", json=body, headers=headers).status_code == 201
    inbox = pk_client.get("/api/v1/hotline/messages?direction=in", headers=headers).json()
    assert [m["direction"] for m in inbox] == ["in"]
    outbox = pk_client.get(
        "/api/v1/hotline/messages?direction=out&precedence=ROUTINE", headers=headers
    ).json()
    assert [m["subject"] for m in outbox] == ["=cmd()"]
    csv = pk_client.get("/api/v1/hotline/messages?format=csv", headers=headers)
    assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("origin,id,direction")
    assert "'=cmd()" in csv.text  # a spreadsheet formula is neutralised
    located = {**body, "subject": "located", "lat": 27.5, "lon": 62.25}
    assert pk_client.post("/api/v1/hotline/messages", json=located, headers=headers).status_code == 201
    exported = pk_client.get("/api/v1/hotline/messages?format=geojson", headers=headers)
    # a download: the browser saves it as a file with a sensible name
    disposition = exported.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="hotline-PK-') and disposition.endswith('.geojson"')
    assert exported.headers["content-type"].startswith("application/geo+json")
    geo = exported.json()
    assert [f["geometry"]["coordinates"] for f in geo["features"]] == [[62.25, 27.5]]
    # the ministry's holder does not see the section commander's messages
    assert pk_client.get("/api/v1/hotline/messages", headers=token(pk_client, "secretariat")).json() == []

    report = pk_client.get(
        "/api/v1/hotline/report?from=2020-01-01T00:00:00Z&to=2100-01-01T00:00:00Z", headers=headers
    )
    rows = {(r["direction"], r["precedence"]): r for r in report.json()}
    assert rows[("in", "FLASH")]["count"] == 1 and rows[("in", "FLASH")]["unacknowledged"] == 1
    assert rows[("out", "ROUTINE")]["count"] == 2

    import typer
    from typer.testing import CliRunner

    from sarhad.hotline.cli import register

    cli = typer.Typer()
    register(cli)
    args = [
        "hotline",
        "report",
        "--data-dir",
        str(pk.settings.data_dir),
        "--from",
        "2020-01-01",
        "--to",
        "2100-01-01",
    ]
    table = CliRunner().invoke(cli, args)
    assert table.exit_code == 0, table.output
    assert "hotline PK 2020-01-01" in table.output
    as_csv = CliRunner().invoke(cli, [*args, "--csv"])
    lines = as_csv.output.splitlines()
    assert as_csv.exit_code == 0 and lines[0].startswith("direction,channel,precedence,count")
    assert any(line.startswith("in,IR:IR-S1-CDR → PK-S1-CDR,FLASH,1,") for line in lines), lines

    config = pk_client.get("/api/v1/hotline/config", headers=headers).json()
    assert config["deadlines"]["FLASH"] == 120 and config["link_down_seconds"] == 30
    refused = pk_client.put(
        "/api/v1/hotline/config/deadlines", json={"deadlines": {"FLASH": 60}}, headers=headers
    )
    assert refused.status_code == 403
    admin = token(pk_client, "admin")
    bad = pk_client.put("/api/v1/hotline/config/deadlines", json={"deadlines": {"FLASH": 0}}, headers=admin)
    assert bad.status_code == 422
    ok = pk_client.put("/api/v1/hotline/config/deadlines", json={"deadlines": {"FLASH": 60}}, headers=admin)
    assert ok.status_code == 200 and ok.json()["FLASH"] == 60
    policy = pk_client.put(
        "/api/v1/hotline/config/policies/PK-S1-CDR",
        json={"steps": [{"wait_seconds": None, "notify": "nowhere"}]},
        headers=admin,
    )
    assert policy.status_code == 422


def test_demo_seed_makes_channels_and_policies(pk: Node, ir: Node) -> None:
    with pk.transaction() as session:
        session.query(HotlineChannel).delete()
    demo.seed(pk, "PK")
    with pk.sessions() as session:
        assert session.query(HotlineChannel).count() >= 2
        assert session.get(EscalationPolicy, "PK-S1-CDR") is not None


def test_escalation_clock_starts_at_delivery_not_at_sending(pk: Node, ir: Node) -> None:
    mid = ir_sends(ir)
    shift(ir, 3600)  # an hour later on the sender's side, the link comes back
    shift(pk, 3600)
    deliver(ir, pk)
    received = message(pk, "IR", mid)
    assert received.delivered_at is not None and received.ack_due_at is not None
    assert received.ack_due_at - received.delivered_at == timedelta(seconds=120)
    assert received.delivered_at - received.created_at >= timedelta(seconds=3599)
