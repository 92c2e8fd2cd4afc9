"""Two batches out at once: the sender sends the next full batch before the first is answered, and the receiver
verifies it while it applies the first, then applies them in seq order.

Two real nodes over loopback HTTP, with small batches so that a backlog is many full batches.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from exchange_nodes import assert_received_exactly_once, make_pair, running, wait_for

pytestmark = pytest.mark.slow  # two real node processes; still part of every run

SMALL = {"SARHAD_EXCHANGE_BATCH_MAX_ENVELOPES": "10"}
N = 150


def test_a_backlog_sent_two_batches_at_a_time_arrives_once_and_in_order(tmp_path: Path) -> None:
    pk, ir = make_pair(tmp_path, pk_env=SMALL, ir_env=SMALL)
    with running(pk, ir):
        pk.start()  # IR is away while the backlog builds: 15 full batches when it returns
        for n in range(1, N + 1):
            pk.bulletin("IR", n)
        ir.start()
        wait_for(
            lambda: pk.receipted("PK>IR") == N,
            60,
            "the whole backlog to be receipted",
            on_timeout=lambda: pk.diagnosis() + ir.diagnosis(),
        )
        assert_received_exactly_once(ir, "PK>IR", N, proposals=0, bulletins=N)
        assert ir.count("exchange_alerts") == 0, ir.query("SELECT kind, message FROM exchange_alerts")


def test_a_receiver_with_smaller_batches_than_the_pipeline_still_gets_everything_once(tmp_path: Path) -> None:
    """Both batches out are refused as too large; the sender halves, and resumes from what IR holds."""
    pk, ir = make_pair(tmp_path, pk_env={"SARHAD_EXCHANGE_BATCH_MAX_ENVELOPES": "40"}, ir_env=SMALL)
    with running(pk, ir):
        pk.start()
        for n in range(1, N + 1):
            pk.bulletin("IR", n)
        ir.start()
        wait_for(
            lambda: pk.receipted("PK>IR") == N,
            60,
            "the whole backlog to be receipted",
            on_timeout=lambda: pk.diagnosis() + ir.diagnosis(),
        )
        assert_received_exactly_once(ir, "PK>IR", N, proposals=0, bulletins=N)
