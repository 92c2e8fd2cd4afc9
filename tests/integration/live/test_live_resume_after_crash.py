"""A real ``sarhad serve`` process killed with ``kill -9`` and restarted while a client resumes its event stream
(issue 17: a commander never misses a live event).

A stream opened without ``Last-Event-ID`` starts from a point of the event log; the client must be told that
point (an ``id:`` line with no data, which sets an EventSource's ``lastEventId``), or a client whose connection
breaks before its first event reconnects without ``Last-Event-ID`` and misses every event committed while it
was away. That is what the soak (``bench.soak``) once counted as 4 missed events on IR's stream.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from sarhad.accounts.actors import SystemActor
from sarhad.core.node import build_node
from sarhad.core.settings import load_settings
from sarhad.exchange.identity import identity
from sarhad.exchange.peers import add_peer
from support.processes import NodeProcess, free_port, get_token

sys.path.append(str(Path(__file__).resolve().parent.parent / "hotline"))
from hotline_helpers import PASSWORD, seed_channels, seed_node


@pytest.fixture
def pk_process(make_node_dir: Callable[..., Path], database_url: str) -> Iterator[NodeProcess]:
    """PK served by one process (its peer IR is not running: messages stay queued)."""
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
    with NodeProcess(pk_dir, port=free_port(), name="pk") as process:
        yield process


def send_flash(process: NodeProcess, headers: dict[str, str], subject: str) -> str:
    answer = httpx.post(
        f"{process.url}/api/v1/hotline/messages",
        json={"to_position": "IR-S1-CDR", "precedence": "FLASH", "subject": subject, "body": "At pillar 12."},
        headers=headers,
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


class EventSourceLike:
    """What a browser's EventSource keeps across connections: ``lastEventId``, set by every block with an
    ``id:`` field (with data or not), and sent as ``Last-Event-ID`` when it reconnects."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.headers = url, headers
        self.last_event_id: str | None = None
        self.messages: list[str] = []  # the hotline message ids of the hotline.message events, as received

    def connect(self, on_connected: Callable[[], None], until: Callable[[], bool] = lambda: False) -> None:
        """Read one connection: ``on_connected`` once the stream says it is connected; return at its end (the
        process died) or once ``until()`` holds."""
        headers = dict(self.headers)
        if self.last_event_id is not None:
            headers["Last-Event-ID"] = self.last_event_id
        block: dict[str, str] = {}
        try:
            with httpx.stream(
                "GET", self.url, headers=headers, timeout=httpx.Timeout(10.0, read=60.0)
            ) as response:
                assert response.status_code == 200
                for line in response.iter_lines():
                    if line.startswith(":"):
                        if line[1:].strip() == "connected":
                            on_connected()
                    elif line == "":
                        if "id" in block:
                            self.last_event_id = block["id"]
                        if block.get("event") == "hotline.message":
                            self.messages.append(json.loads(block["data"])["data"]["message"])
                        block = {}
                        if until():
                            return
                    else:
                        key, _, value = line.partition(":")
                        block[key] = value.lstrip(" ")
        except (httpx.RemoteProtocolError, httpx.ReadError):
            pass  # the process was killed mid-stream


def test_a_stream_broken_by_a_crash_before_its_first_event_resumes_without_missing_one(
    pk_process: NodeProcess,
) -> None:
    """A commander's client connects (no Last-Event-ID: its first connection), the process is killed with -9
    before any event reached it and restarted; a FLASH is sent before the client is back. The client
    reconnects as a browser does and gets that FLASH, before the one sent after it reconnected."""
    headers = {"Authorization": f"Bearer {get_token(pk_process.url, 'commander', PASSWORD)}"}
    client = EventSourceLike(f"{pk_process.url}/api/v1/events", headers)

    client.connect(on_connected=pk_process.kill)  # the first connection ends with the process
    pk_process.start()
    while_away = send_flash(pk_process, headers, "sent while the client was away")

    after: list[str] = []
    client.connect(
        on_connected=lambda: after.append(send_flash(pk_process, headers, "sent after it reconnected")),
        until=lambda: bool(after) and after[0] in client.messages,
    )
    assert client.messages == [while_away, after[0]]
