"""The hotline pages: inbox with the FLASH alert, compose, the thread (opening marks seen), acknowledge, report."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from hotline_helpers import PASSWORD, audit_actions, deliver, message

from sarhad.core.node import Node
from support.pages import post_login


def sign_in(client: TestClient, username: str) -> None:
    answer = post_login(client, username, PASSWORD)
    assert answer.status_code == 303, answer.text


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_compose_alert_open_acknowledge_and_report(
    pk: Node, ir: Node, pk_client: TestClient, ir_client: TestClient
) -> None:
    sign_in(pk_client, "commander")
    page = pk_client.get("/hotline/compose")
    assert page.status_code == 200 and "IR-S1-CDR" in page.text
    channel = re.search(r'<option value="([^"]+)"[^>]*>PK-S1-CDR', page.text)
    assert channel
    too_long = {
        "csrf_token": csrf(page.text),
        "channel": channel.group(1),
        "precedence": "FLASH",
        "subject": "Crossing",
        "body": "x" * 4001,
    }
    refused = pk_client.post("/hotline/compose", data=too_long)
    assert refused.status_code == 422 and "at most 4000 characters" in refused.text
    sent = pk_client.post(
        "/hotline/compose", data={**too_long, "body": "At pillar 12"}, follow_redirects=False
    )
    assert sent.status_code == 303
    mid = sent.headers["location"].rsplit("/", 1)[-1]
    assert "queued" in pk_client.get(f"/hotline/messages/{mid}").text

    deliver(pk, ir)
    sign_in(ir_client, "commander")
    inbox = ir_client.get("/hotline")
    assert 'class="urgent-alert urgent-flash flash-alert"' in inbox.text and "Crossing" in inbox.text
    assert 'src="/hotline/static/hotline.js"' in inbox.text and "<script>" not in inbox.text
    thread = ir_client.get(f"/hotline/messages/{mid}")
    assert thread.status_code == 200 and message(ir, "PK", mid).state == "seen"
    reads = len(audit_actions(ir, "hotline.read"))
    assert ir_client.get(f"/hotline/messages/{mid}", headers={"X-Sarhad-Live": "refresh"}).status_code == 200
    assert len(audit_actions(ir, "hotline.read")) == reads  # the page's own live refresh is not a new read
    acked = ir_client.post(
        f"/hotline/messages/{mid}/ack",
        data={"csrf_token": csrf(thread.text), "reply": "On it", "next": "/hotline"},
        follow_redirects=False,
    )
    assert acked.status_code == 303 and acked.headers["location"] == "/hotline"
    assert 'class="urgent-alert urgent-flash flash-alert"' not in ir_client.get("/hotline").text

    deliver(ir, pk)
    detail = pk_client.get(f"/hotline/messages/{mid}").text
    assert "Signed acknowledgement held" in detail and "On it" in detail
    report = pk_client.get("/hotline/report")
    assert report.status_code == 200 and "PK-S1-CDR" in report.text
    assert (
        'class="chart-data"' in report.text and "/static/vendor/chart.js/dist/chart.umd.min.js" in report.text
    )
    assert pk_client.get("/hotline/static/hotline.js").status_code == 200
    assert pk_client.get("/hotline/static/nope.js").status_code == 404


def test_admin_page_sets_deadlines_policies_and_channels(pk: Node, ir: Node, pk_client: TestClient) -> None:
    sign_in(pk_client, "commander")
    assert pk_client.get("/hotline/admin").status_code == 403
    pk_client.cookies.clear()
    sign_in(pk_client, "admin")
    page = pk_client.get("/hotline/admin")
    assert page.status_code == 200 and 'name="flash" value="120"' in page.text
    token = csrf(page.text)
    bad = pk_client.post(
        "/hotline/admin/deadlines",
        data={"csrf_token": token, "flash": "0", "immediate": "600", "priority": "3600", "routine": "86400"},
    )
    assert bad.status_code == 422 and 'id="f-flash" aria-invalid="true"' in bad.text
    ok = pk_client.post(
        "/hotline/admin/deadlines",
        data={"csrf_token": token, "flash": "90", "immediate": "600", "priority": "3600", "routine": "86400"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    policy = pk_client.post(
        "/hotline/admin/policy",
        data={
            "csrf_token": token,
            "position": "PK-S1-CDR",
            "steps": "30 PK-MOI\ndeadline parent",
            "max_repeats": "1",
        },
        follow_redirects=False,
    )
    assert policy.status_code == 303
    refused = pk_client.post(
        "/hotline/admin/policy",
        data={"csrf_token": token, "position": "PK-S1-CDR", "steps": "soon parent", "max_repeats": "1"},
    )
    assert refused.status_code == 422 and "Line 1: the wait is a number of seconds" in refused.text
    assert 'id="f-steps" aria-invalid="true"' in refused.text  # on the position's own form
    channel = pk_client.post(
        "/hotline/admin/channel",
        data={
            "csrf_token": token,
            "own_position": "PK-MOI",
            "counterpart_party": "IR",
            "counterpart_position": "IR-S1-CDR",
            "name_en": "Regiment commander S1",
        },
        follow_redirects=False,
    )
    assert channel.status_code == 303
    with pk.sessions() as session:
        from sarhad.hotline import configuration

        assert configuration.deadlines(session)["FLASH"] == 90
        steps, repeats = configuration.policy_of(session, "PK-S1-CDR")
        assert [(s.wait_seconds, s.notify) for s in steps] == [
            (30, "PK-MOI"),
            (None, "parent"),
        ] and repeats == 1
        assert any(
            c.own_position_id == "PK-MOI" and c.counterpart_position_id == "IR-S1-CDR"
            for c in configuration.list_channels(session)
        )
