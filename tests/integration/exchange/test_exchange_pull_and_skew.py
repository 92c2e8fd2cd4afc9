"""Pull mode (one open direction is enough) and clock skew between the nodes (no check depends on it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from exchange_nodes import (
    assert_received_exactly_once,
    make_pair,
    running,
    wait_for,
)

from support.processes import free_port

pytestmark = pytest.mark.slow  # two real node processes; still part of every run

ARRIVAL_SECONDS = 30.0  # a puller polls every 10 s when idle; generous on top of that


def _db_time(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_pull_only_link_delivers_through_pull_and_the_sender_sees_the_receipts(tmp_path) -> None:
    # PK cannot open a connection to IR at all (its peer URL for IR leads nowhere) and has push off;
    # IR pulls from PK. Everything PK releases must still reach IR, and PK must hold IR's receipts.
    nowhere = f"http://127.0.0.1:{free_port()}"
    pk, ir = make_pair(
        tmp_path, pk_peer_options=["--no-push"], ir_peer_options=["--pull"], pk_peer_url=nowhere
    )
    with running(pk, ir):
        pk.start()
        for n in range(1, 6):
            pk.propose("IR", n)
        status = pk.peer_status("IR")
        assert (status["backlog"], status["receipted_seq"]) == (5, 0)

        ir.start()
        wait_for(
            lambda: pk.receipted("PK>IR") == 5,
            ARRIVAL_SECONDS,
            "IR to pull the backlog and return its receipt",
            on_timeout=lambda: pk.diagnosis() + ir.diagnosis(),
        )
        assert_received_exactly_once(ir, "PK>IR", 5)

        # a release while both run also arrives, by IR's next poll
        for n in range(6, 9):
            pk.propose("IR", n)
        wait_for(
            lambda: pk.receipted("PK>IR") == 8,
            ARRIVAL_SECONDS,
            "IR to pull the later releases",
            on_timeout=lambda: pk.diagnosis() + ir.diagnosis(),
        )
        assert_received_exactly_once(ir, "PK>IR", 8)
        status = pk.peer_status("IR")
        assert (status["backlog"], status["receipted_seq"], status["received_seq"]) == (0, 8, 0)
        # PK holds IR's signed receipt for 8
        stored = pk.query("SELECT seq FROM exchange_receipts WHERE link = 'PK>IR' AND direction = 'received'")
        assert max(seq for (seq,) in stored) == 8
        # and PK never pushed: its only way to IR leads nowhere, and no push was even attempted
        assert "/exchange/v1/links/PK/IR/envelopes" not in pk.process.stderr_path.read_text()  # type: ignore[union-attr]


def test_exchange_works_both_ways_with_the_clocks_four_hours_apart(tmp_path) -> None:
    # PK's clock is 2 h ahead, IR's 2 h behind. PK>IR goes by pull (signed GET and receipts, timestamps
    # checked against IR's and PK's clocks), IR>PK by push; decisions travel back the same way.
    pk, ir = make_pair(
        tmp_path,
        pk_env={"SARHAD_CLOCK_OFFSET_SECONDS": "7200"},
        ir_env={"SARHAD_CLOCK_OFFSET_SECONDS": "-7200"},
        pk_peer_options=["--no-push"],
        ir_peer_options=["--pull"],
    )
    with running(pk, ir):
        pk.start()
        ir.start()
        proposals = [pk.propose("IR", n) for n in range(1, 4)]
        for n in range(101, 104):
            ir.propose("PK", n)

        def both_receipted() -> bool:
            return pk.receipted("PK>IR") == 3 and ir.receipted("IR>PK") == 3

        wait_for(
            both_receipted,
            ARRIVAL_SECONDS,
            "both links to be receipted",
            on_timeout=lambda: pk.diagnosis() + ir.diagnosis(),
        )
        assert_received_exactly_once(ir, "PK>IR", 3)
        assert_received_exactly_once(pk, "IR>PK", 3)

        # the skew really was in force: each side recorded its own clock
        for receiver, link, expected in ((ir, "PK>IR", 4), (pk, "IR>PK", -4)):
            for sent, received in receiver.query(
                "SELECT sent_at, received_at FROM exchange_inbox WHERE link = ?", link
            ):
                gap = _db_time(sent) - _db_time(received)
                assert abs(gap - timedelta(hours=expected)) < timedelta(minutes=5), (link, sent, received)

        # IR accepts PK's first proposal: the decision goes IR>PK by push and PK sees the record agreed
        joint_id = proposals[0]["id"]
        content_hash = proposals[0]["proposals"][0]["content_hash"]
        ir.api(
            "POST",
            f"/api/v1/joint/{joint_id}/decisions",
            json={"content_hash": content_hash, "decision": "accept"},
        )
        agreed = wait_for(
            lambda: (j := pk.api("GET", f"/api/v1/joint/{joint_id}"))["agreed"]["content_hash"] and j,
            ARRIVAL_SECONDS,
            "PK to see IR's acceptance",
            on_timeout=lambda: pk.diagnosis() + ir.diagnosis(),
        )
        assert agreed["agreed"]["content"] == {"n": 1}
        wait_for(
            lambda: ir.receipted("IR>PK") == 4, ARRIVAL_SECONDS, "IR to hold PK's receipt for the decision"
        )
