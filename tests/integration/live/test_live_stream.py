"""The live-event stream: delivered after commit, filtered by positions held now, replayed after a
reconnect with Last-Event-ID, fed by other processes (PostgreSQL notifications, or the poll), with heartbeats
and a clean end."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from live_helpers import PASSWORD, SseClient, serve

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.app import create_app
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.live import api as live_api
from sarhad.live import services as live
from sarhad.live.models import LiveEvent
from support.processes import NodeProcess


def bearer(base: str, username: str) -> dict[str, str]:
    answer = httpx.post(f"{base}/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def publish(node: Node, topic: str, positions: list[str], **data: object) -> int:
    with node.transaction() as session:
        row = live.publish(session, node, topic, dict(data), positions=positions)
    return row.id  # set when the transaction commits


def test_events_reach_holders_of_the_audience_only_and_only_after_commit(live_node: Node) -> None:
    with serve(create_app(live_node)) as base:
        alice = SseClient(f"{base}/api/v1/events", bearer(base, "alice")).start()
        bob = SseClient(f"{base}/api/v1/events", bearer(base, "bob")).start()
        assert alice.status == 200
        started = time.monotonic()
        event_id = publish(live_node, "test.ping", ["PK-S1-CDR"], n=1)
        received_at, frame = alice.events.get(timeout=5)
        assert frame["event"] == "test.ping" and frame["id"] == str(event_id)
        assert frame["json"]["data"] == {"n": 1}
        assert received_at - started < 1.0
        assert bob.nothing(0.8)

        with pytest.raises(RuntimeError), live_node.transaction() as session:
            live.publish(session, live_node, "test.rolled_back", {}, positions=["PK-S1-CDR"])
            raise RuntimeError("roll back")
        assert alice.nothing(1.2)  # neither at once nor through the poller

        # the duty roster decides: bob takes over PK-S1-CDR, and now sees its events
        with live_node.transaction() as session:
            accounts.assign_position(
                session, live_node.clock, SystemActor(), position_id="PK-S1-CDR", username="bob"
            )
        time.sleep(1.1)  # positions are re-read at most once a second
        publish(live_node, "test.after_handover", ["PK-S1-CDR"])
        assert bob.next(topic="test.after_handover")
        assert alice.nothing(1.0)
        alice.stop = bob.stop = True


def test_reconnect_with_last_event_id_replays_what_was_missed(live_node: Node) -> None:
    first = publish(live_node, "test.one", ["PK-S1-CDR"])
    publish(live_node, "test.hidden", ["PK-MOI"])
    third = publish(live_node, "test.three", ["PK-S1-CDR"])
    with serve(create_app(live_node)) as base:
        headers = {**bearer(base, "alice"), "Last-Event-ID": str(first - 1)}
        client = SseClient(f"{base}/api/v1/events", headers).start()
        ids = [client.next()["id"], client.next()["id"]]
        assert ids == [str(first), str(third)]
        assert client.nothing(0.5)
        client.stop = True


def test_events_committed_by_another_engine_arrive_once_by_notification_or_poll(live_node: Node) -> None:
    other = build_node(live_node.settings)  # a second "process": its own engine, no hub
    try:
        with serve(create_app(live_node)) as base:
            client = SseClient(f"{base}/api/v1/events", bearer(base, "alice")).start()
            started = time.monotonic()
            publish(other, "test.elsewhere", ["PK-S1-CDR"])
            received_at, frame = client.events.get(timeout=5)
            assert frame["event"] == "test.elsewhere"
            assert received_at - started < 2.0
            assert client.nothing(1.2)  # dispatched once, not once per poll
            client.stop = True
    finally:
        other.dispose()


def test_heartbeats_and_anonymous_refusal(live_node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live_api, "HEARTBEAT_SECONDS", 0.2)
    with serve(create_app(live_node)) as base:
        assert httpx.get(f"{base}/api/v1/events").status_code == 401
        client = SseClient(f"{base}/api/v1/events", bearer(base, "carol")).start()
        time.sleep(0.7)
        assert "connected" in client.comments and client.comments.count("ping") >= 2
        client.stop = True


def test_sigterm_ends_open_streams_so_the_node_stops_at_once(make_node_dir: Callable[..., Path]) -> None:
    data_dir = make_node_dir("PK", "Pakistan")
    node = build_node(load_settings(data_dir))
    with node.transaction() as session:
        accounts.create_user(
            session, node.clock, SystemActor(), username="alice", password=PASSWORD, roles=["commander"]
        )
    node.dispose()
    with NodeProcess(data_dir) as process:
        client = SseClient(f"{process.url}/api/v1/events", bearer(process.url, "alice")).start()
        started = time.monotonic()
        assert process.stop() in (0, -15)  # uvicorn re-raises SIGTERM after a graceful shutdown
        stopped = time.monotonic() - started
    assert client.closed.wait(5)
    assert stopped < 4.5, f"stopping took {stopped:.1f} s with a stream open"


def test_old_events_are_pruned_but_ids_never_start_again_below_what_clients_hold(live_node: Node) -> None:
    from datetime import timedelta

    publish(live_node, "test.old", ["PK-S1-CDR"])
    newest = publish(live_node, "test.old", ["PK-S1-CDR"])
    with live_node.transaction() as session:
        # everything is old, but the newest row stays: on SQLite an emptied table would hand out id 1 again
        assert live.prune(session, live_node, older_than=timedelta(seconds=-1)) == 1
    with live_node.sessions() as session:
        assert [row.id for row in session.query(LiveEvent)] == [newest]
    assert publish(live_node, "test.new", ["PK-S1-CDR"]) > newest
