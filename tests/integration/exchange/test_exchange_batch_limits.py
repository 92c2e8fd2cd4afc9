"""Batch limits between two real nodes: no record and no difference in configuration may jam a link.

The receiver refuses a push over its limits with 413 (see test_exchange_faults). These tests look at the
other side of that rule: what the sender does about it.
"""

from __future__ import annotations

import pytest
from exchange_nodes import make_pair, running, wait_for

pytestmark = pytest.mark.slow  # two real node processes; still part of every run

SMALL_BYTES = "65536"  # exchange_batch_max_bytes on both nodes: a push body may be up to 192 KiB
ARRIVAL_SECONDS = 15.0


def test_a_record_too_large_for_any_batch_does_not_jam_the_link(tmp_path) -> None:
    env = {"SARHAD_EXCHANGE_BATCH_MAX_BYTES": SMALL_BYTES}
    pk, ir = make_pair(tmp_path, pk_env=env, ir_env=env)
    with running(pk, ir):
        pk.start()
        ir.start()
        pk.propose("IR", 1)
        wait_for(lambda: ir.head("PK>IR") == 1, ARRIVAL_SECONDS, "a normal record to arrive")

        # a proposal whose envelope alone is bigger than any push IR accepts (same limits on both nodes)
        with pk.http() as client:
            response = client.post(
                "/api/v1/joint",
                headers={"Authorization": f"Bearer {pk.token()}"},
                json={
                    "subject": "test",
                    "title": "huge",
                    "signatories": ["IR"],
                    "content": {"blob": "x" * 300_000},
                },
            )
        # Refusing it up front (4xx) is fine; accepting it and then never delivering anything after it is not.
        assert response.status_code in (201, 413, 422), response.text
        pk.propose("IR", 2)
        wait_for(
            lambda: pk.receipted("PK>IR") == pk.head("PK>IR"),
            ARRIVAL_SECONDS,
            "every envelope after the huge one to be delivered",
            on_timeout=lambda: pk.diagnosis() + ir.diagnosis(),
        )
        received = [
            n
            for (n,) in ir.query(
                "SELECT json_extract(content, '$.content.n') FROM exchange_received_records WHERE origin = 'PK'"
            )
        ]
        assert 2 in received


def test_a_receiver_with_a_smaller_batch_limit_than_the_sender_still_gets_everything(tmp_path) -> None:
    # Each party configures its own node. IR accepts at most 20 envelopes per push; PK batches up to 500.
    pk, ir = make_pair(tmp_path, ir_env={"SARHAD_EXCHANGE_BATCH_MAX_ENVELOPES": "20"})
    with running(pk, ir):
        pk.start()
        for n in range(1, 51):
            pk.propose("IR", n)
        ir.start()
        wait_for(
            lambda: pk.receipted("PK>IR") == 50,
            ARRIVAL_SECONDS,
            "PK to deliver 50 envelopes to a receiver that takes 20 at a time",
            on_timeout=lambda: pk.diagnosis() + ir.diagnosis(),
        )
        assert ir.head("PK>IR") == 50
