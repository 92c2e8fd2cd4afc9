"""Store and forward: a node keeps working while its peer is away, and everything goes when it returns.

Two real nodes over loopback HTTP. Records are liaison bulletins released to IR (one envelope PK>IR each).
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from exchange_nodes import Party, assert_received_exactly_once, cli_process, wait_for

from sarhad.core.node import build_node
from sarhad.core.settings import load_settings
from sarhad.exchange.models import Peer

pytestmark = pytest.mark.slow  # two real node processes; still part of every run

N = 200
PROMPT_SECONDS = 20.0  # generous: the real figure is a second or two; timings belong in bench/


def _set_long_backoff(pk: Party, peer: str, minutes: int = 10) -> None:
    """Make PK's delivery worker believe it must wait ``minutes`` before trying ``peer`` again.

    This stands for a long outage (the back-off has grown) without waiting for it. Only the peer's hello
    can end it early. Written through the node's own models; repeated until no in-flight attempt of the
    running worker overwrites it.
    """
    node = build_node(load_settings(pk.data_dir, environ={}))
    try:
        for _ in range(50):
            with node.transaction() as session:
                row = session.get(Peer, peer)
                assert row is not None
                target = node.clock.now() + timedelta(minutes=minutes)
                row.next_attempt_at, row.failures = target, max(row.failures, 12)
            time.sleep(0.5)
            with node.sessions() as session:
                row = session.get(Peer, peer)
                assert row is not None
                if row.next_attempt_at is not None and row.next_attempt_at >= target - timedelta(seconds=1):
                    return
        raise AssertionError("the delivery worker kept overwriting the back-off")
    finally:
        node.dispose()


def _peer_list_row(party: Party, link: str) -> list[str]:
    """The cells of ``sarhad peer list``'s row for ``link`` (run as its own process, as an operator would)."""
    listing = cli_process("peer", "list", "-d", str(party.data_dir))
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if f" {link} " in line)
    return [cell.strip() for cell in row.strip().strip("│").split("│")]


def test_backlog_built_while_peer_is_down_shows_in_status_and_arrives_once_in_order_after_hello(
    pair: tuple[Party, Party],
) -> None:
    pk, ir = pair
    pk.start()  # IR stays down for the whole first half

    for n in range(1, N + 1):
        pk.bulletin("IR", n)

    # PK tried, failed, and says so; the backlog and its age are visible in the API ...
    status = wait_for(
        lambda: (s := pk.peer_status("IR"))["last_error"] and s,
        15,
        "PK to record a failed push",
        on_timeout=pk.logs(),
    )
    assert status["last_seq"] == N
    assert status["receipted_seq"] == 0
    assert status["backlog"] == N
    assert status["backlog_age_seconds"] > 0
    assert status["oldest_unreceipted_at"] is not None
    # ... and in `sarhad peer list`
    cells = _peer_list_row(pk, "PK>IR")
    assert cells[:6] == ["IR", "PK>IR", str(N), "0", "0", str(N)], (
        cells
    )  # peer, link, last, sent, receipted, backlog
    assert cells[6].endswith(" s") and cells[6] != "-", cells  # age of the oldest unreceipted envelope
    assert ir.head("PK>IR") == 0  # nothing can have arrived: IR was never started

    _set_long_backoff(pk, "IR")

    ir.start()
    up = time.monotonic()
    wait_for(
        lambda: pk.receipted("PK>IR") == N,
        PROMPT_SECONDS,
        "PK to resume after IR's hello and have all envelopes receipted",
        on_timeout=pk.logs() + ir.logs(),
    )
    elapsed = time.monotonic() - up
    print(f"\nbacklog of {N} drained {elapsed:.2f} s after IR came up")

    assert_received_exactly_once(ir, "PK>IR", N, bulletins=N)
    bodies = [
        body
        for (body,) in ir.query(
            "SELECT json_extract(content, '$.body') FROM exchange_received_records WHERE origin = 'PK' ORDER BY seq"
        )
    ]
    assert bodies == [f"n={n}" for n in range(1, N + 1)], "records applied out of release order"
    listed = ir.api("GET", "/api/v1/bulletins", params={"limit": 500})
    from_pk = [b for b in listed if b["origin"] == "PK"]
    assert sorted(b["title"] for b in from_pk) == sorted(f"PK bulletin {n}" for n in range(1, N + 1))
    # and the sender's own view of each bulletin says it was delivered
    delivered = pk.api("GET", "/api/v1/bulletins", params={"limit": 500})
    assert {d["state"] for b in delivered for d in b["deliveries"]} == {"receipted"}
    status = pk.peer_status("IR")
    assert (status["backlog"], status["receipted_seq"], status["backlog_age_seconds"]) == (0, N, 0)
    assert status["last_error"] == ""
    assert _peer_list_row(pk, "PK>IR")[:7] == ["IR", "PK>IR", str(N), str(N), str(N), "0", "-"]


def test_status_does_not_claim_contact_with_a_peer_that_was_never_reached(pair: tuple[Party, Party]) -> None:
    pk, _ir = pair  # IR is never started: nothing ever answers at its address
    pk.start()
    time.sleep(3)  # PK's delivery worker has said hello and made its first passes (they run at start-up)
    status = pk.peer_status("IR")
    assert status["last_contact_at"] is None, (
        f"PK reports contact with IR at {status['last_contact_at']}, but IR has never been up",
        pk.diagnosis(),
    )
    pk.propose("IR", 1)
    status = wait_for(
        lambda: (s := pk.peer_status("IR"))["last_error"] and s, 15, "PK to record a failed push"
    )
    assert status["last_contact_at"] is None
    assert status["backlog"] == 1
