"""Two real ``sarhad serve`` processes of one node on one database (issue 17): a client that resumes its event
stream with ``Last-Event-ID``, on either process, at any point, gets every event exactly once.

The events are the hotline's own: a FLASH sent through either process publishes ``hotline.message`` to the
sender's position, which the commander holds. The truth is the event table itself.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from live_helpers import SseClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from sarhad.accounts.actors import SystemActor
from sarhad.core.node import build_node
from sarhad.core.notify import OUTBOX_CHANNEL
from sarhad.core.settings import load_settings
from sarhad.exchange.identity import identity
from sarhad.exchange.peers import add_peer
from sarhad.live.listener import APPLICATION_NAME
from sarhad.live.models import LiveEvent
from support.processes import NodeProcess, free_port, get_token

sys.path.append(str(Path(__file__).resolve().parent.parent / "hotline"))
from hotline_helpers import PASSWORD, seed_channels, seed_node

Processes = tuple[NodeProcess, NodeProcess, dict[str, str], Path]


@pytest.fixture
def two_processes(make_node_dir: Callable[..., Path], database_url: str) -> Iterator[Processes]:
    """PK served by processes A and B on one database (IR, its peer, is not running: messages stay queued)."""
    pk_dir = make_node_dir("PK", "Pakistan", database_url=database_url)
    ir_dir = make_node_dir("IR", "Iran")
    pk, ir = build_node(load_settings(pk_dir)), build_node(load_settings(ir_dir))
    try:
        seed_node(pk, "IR")
        with pk.transaction() as session:
            add_peer(
                session,
                pk,
                party="IR",
                url=f"http://127.0.0.1:{free_port()}",
                public_key_b64=identity(ir).public_key_b64,
                name="IR",
                actor=SystemActor("test"),
            )
        seed_channels(pk, "IR")
    finally:
        pk.dispose()
        ir.dispose()
    with (
        NodeProcess(pk_dir, port=free_port(), name="a") as a,
        NodeProcess(pk_dir, port=free_port(), name="b") as b,
    ):
        headers = {"Authorization": f"Bearer {get_token(a.url, 'commander', PASSWORD)}"}
        yield a, b, headers, pk_dir


def send_flash(process: NodeProcess, headers: dict[str, str], subject: str) -> str:
    answer = httpx.post(
        f"{process.url}/api/v1/hotline/messages",
        json={"to_position": "IR-S1-CDR", "precedence": "FLASH", "subject": subject, "body": "At pillar 12."},
        headers=headers,
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def table_ids(pk_dir: Path, after: int = 0, topic: str = "hotline.%") -> list[int]:
    """The ids of the hotline events in the table (every one of them is for the commander's positions)."""
    node = build_node(load_settings(pk_dir))
    try:
        with node.sessions() as session:
            query = select(LiveEvent.id).where(LiveEvent.id > after, LiveEvent.topic.like(topic))
            return list(session.scalars(query.order_by(LiveEvent.id)))
    finally:
        node.dispose()


def top_id(pk_dir: Path) -> int:
    node = build_node(load_settings(pk_dir))
    try:
        with node.sessions() as session:
            return int(session.scalar(select(func.max(LiveEvent.id))) or 0)
    finally:
        node.dispose()


def read_some(
    process: NodeProcess, headers: dict[str, str], last_id: int, count: int, wait: float
) -> list[int]:
    """Connect with ``Last-Event-ID``, take up to ``count`` event frames and drop the connection (fewer when
    none comes for ``wait`` seconds)."""
    ids: list[int] = []
    frame: dict[str, str] = {}
    try:
        with httpx.stream(
            "GET",
            f"{process.url}/api/v1/events",
            headers={**headers, "Last-Event-ID": str(last_id)},
            timeout=httpx.Timeout(10.0, read=wait),
        ) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line == "":
                    if "data" in frame:
                        ids.append(int(frame["id"]))
                        if len(ids) == count:
                            break
                    frame = {}
                elif not line.startswith(":"):
                    key, _, value = line.partition(":")
                    frame[key] = value.lstrip(" ")
    except httpx.ReadTimeout:
        pass
    return ids


def collect(client: SseClient, until: Callable[[dict[str, Any]], bool], timeout: float = 15.0) -> list[int]:
    """Event ids from a stream up to and including the first frame ``until`` accepts."""
    ids = []
    while True:
        frame = client.next(timeout=timeout)
        ids.append(int(frame["id"]))
        if until(frame):
            return ids


def test_a_stream_dropped_after_its_own_process_event_resumes_with_the_other_process_event(
    two_processes: Processes,
) -> None:
    """The issue's reproduction, ten times: a FLASH through B, then one through A; A's stream is dropped as
    soon as A's event arrives and resumed (after Last-Event-ID) on A; B's event is neither lost nor repeated."""
    a, b, headers, pk_dir = two_processes
    last = top_id(pk_dir)
    start = last
    received: list[int] = []
    for round_ in range(10):
        stream = SseClient(f"{a.url}/api/v1/events", {**headers, "Last-Event-ID": str(last)}).start()
        send_flash(b, headers, f"via B {round_}")
        via_a = send_flash(a, headers, f"via A {round_}")
        received += collect(stream, lambda f, m=via_a: f["json"]["data"]["message"] == m)  # type: ignore[misc]
        stream.stop = True  # dropped right after A's event
        last = received[-1]
        expected = table_ids(pk_dir, after=start)
        if received != expected:  # B's event is still to come: it must come on the resumed stream
            resumed = SseClient(f"{a.url}/api/v1/events", {**headers, "Last-Event-ID": str(last)}).start()
            while len(received) < len(expected):
                received.append(int(resumed.next(timeout=10)["id"]))
            resumed.stop = True
            last = received[-1]
    # every event, once each, in id order (FLASH messages left undelivered for 30 s add ``hotline.link_down``)
    assert received == table_ids(pk_dir, after=start)[: len(received)]
    assert len(received) >= 20


def test_a_client_that_reconnects_after_every_event_to_either_process_misses_and_repeats_none(
    two_processes: Processes,
) -> None:
    """FLASH messages sent through A and B at once (their commits interleave) while a client reads 1, 2, 3 or 4
    events per connection (so it drops after replayed and after live events alike) and reconnects, alternately
    to A and to B, with the last id it saw."""
    a, b, headers, pk_dir = two_processes
    start = top_id(pk_dir)
    per_process = 12

    def sender(process: NodeProcess) -> None:
        for n in range(per_process):
            send_flash(process, headers, f"{process.name} {n}")

    senders = [threading.Thread(target=sender, args=(p,)) for p in (a, b)]
    for thread in senders:
        thread.start()
    received: list[int] = []
    last = start
    connections = 0
    while True:
        sending = any(thread.is_alive() for thread in senders)
        got = read_some((a, b)[connections % 2], headers, last, count=1 + connections % 4, wait=3.0)
        connections += 1
        received += got
        if got:
            last = got[-1]
        elif not sending:
            break  # the senders are done and nothing more comes
    for thread in senders:
        thread.join()
    truth = table_ids(pk_dir, after=start)
    messages = table_ids(pk_dir, after=start, topic="hotline.message")
    assert len(messages) == 2 * per_process and set(messages) <= set(received)
    # nothing missed up to the last event it got (a later ``hotline.link_down`` may follow), none repeated
    assert received == [i for i in truth if i <= received[-1]]
    assert connections > 2 * per_process / 4


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_events_still_arrive_while_the_listener_connection_is_down_and_it_reconnects(
    two_processes: Processes,
) -> None:
    a, b, headers, pk_dir = two_processes
    url = load_settings(pk_dir).resolved_database_url
    admin = create_engine(url, poolclass=NullPool)
    listeners = text(
        "SELECT pid FROM pg_stat_activity WHERE application_name = :name AND datname = current_database()"
    )
    try:
        with admin.connect() as connection:
            before = set(connection.scalars(listeners, {"name": APPLICATION_NAME}))
            assert len(before) == 2  # one per process
            for pid in before:
                connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        stream = SseClient(f"{b.url}/api/v1/events", headers).start()
        mid = send_flash(a, headers, "while B's listener is down")
        frame = stream.next(timeout=10)  # through B's poll, or its listener if it is already back
        assert frame["json"]["data"]["message"] == mid
        stream.stop = True
        for _ in range(100):  # the listeners come back (each within its back-off)
            with admin.connect() as connection:
                after = set(connection.scalars(listeners, {"name": APPLICATION_NAME}))
            if len(after) == 2 and not after & before:
                break
            threading.Event().wait(0.2)
        assert len(after) == 2 and not after & before
    finally:
        admin.dispose()


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_release_committed_in_one_process_notifies_the_others_on_commit(two_processes: Processes) -> None:
    """A FLASH through A releases it to IR (the exchange's outbox): the transaction sends
    ``NOTIFY sarhad_outbox, '<sender> IR'``, which wakes the delivery workers of the node's other processes."""
    a, _b, headers, pk_dir = two_processes
    url = make_url(load_settings(pk_dir).resolved_database_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as connection:
        connection.execute(f"LISTEN {OUTBOX_CHANNEL}")
        send_flash(a, headers, "released to IR")
        notes = list(connection.notifies(timeout=10, stop_after=1))
    assert len(notes) == 1
    sender, _, party = notes[0].payload.partition(" ")
    assert party == "IR" and sender
