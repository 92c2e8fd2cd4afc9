"""Crashes: ``kill -9`` of the sender or the receiver while a backlog is being delivered, and a receiver
restored from a backup. After recovery the receiver must hold exactly envelopes 1..N, each applied once.

The backlog is written into PK's outbox while PK is stopped (``bulk_release``: the real release path, one
transaction), so that delivery starts the moment PK's process comes up and the test can kill a process
while batches are in flight.
"""

from __future__ import annotations

import shutil
import time

import pytest
from exchange_nodes import Party, assert_received_exactly_once, bulk_release, make_pair, running, wait_for

pytestmark = pytest.mark.slow  # two real node processes; still part of every run

LINK = "PK>IR"
N = 1000
DRAIN_SECONDS = 30.0  # generous; a 1000-envelope backlog drains in a few seconds on a laptop


def _kill_mid_delivery(victim: Party, receiver: Party, n: int) -> int:
    """Poll the receiver's head and ``kill -9`` ``victim`` as soon as some but not all envelopes arrived."""
    wait_for(
        lambda: receiver.head(LINK) > 0,
        DRAIN_SECONDS,
        "delivery to start",
        interval=0.01,
        on_timeout=lambda: victim.diagnosis() + receiver.diagnosis(),
    )
    victim.kill()
    head = receiver.head(LINK)
    if head >= n:
        pytest.fail(f"delivery finished before the kill landed (head {head}); lower the batch size")
    return head


def test_sender_killed_mid_delivery_resumes_after_restart_and_receiver_holds_each_envelope_once(
    tmp_path,
) -> None:
    pk, ir = make_pair(tmp_path, pk_env={"SARHAD_EXCHANGE_BATCH_MAX_ENVELOPES": "20"})
    with running(pk, ir):
        bulk_release(pk, "IR", N)
        ir.start()
        pk.start()  # delivery starts at once
        at_kill = _kill_mid_delivery(pk, ir, N)
        receipted_at_kill = pk.receipted(LINK)
        print(f"\nPK killed with IR at {at_kill}/{N}, PK's last stored receipt {receipted_at_kill}")
        assert receipted_at_kill <= at_kill

        restarted = time.monotonic()
        pk.start()
        wait_for(
            lambda: pk.receipted(LINK) == N,
            DRAIN_SECONDS,
            "PK to deliver the rest after its restart",
            on_timeout=lambda: pk.diagnosis() + ir.diagnosis(),
        )
        print(f"drained {time.monotonic() - restarted:.1f} s after PK's restart")
        assert_received_exactly_once(ir, LINK, N)
        status = pk.peer_status("IR")
        assert (status["backlog"], status["receipted_seq"]) == (0, N)


def test_receiver_killed_while_applying_loses_nothing_and_applies_nothing_twice(tmp_path) -> None:
    batch = 100
    pk, ir = make_pair(tmp_path, pk_env={"SARHAD_EXCHANGE_BATCH_MAX_ENVELOPES": str(batch)})
    with running(pk, ir):
        bulk_release(pk, "IR", N)
        ir.start()
        pk.start()
        at_kill = _kill_mid_delivery(ir, ir, N)
        # a batch is applied in one transaction: the dead receiver holds whole batches and nothing else
        inbox = ir.inbox(LINK)
        print(f"\nIR killed at {at_kill}/{N}")
        assert [seq for seq, *_ in inbox] == list(range(1, at_kill + 1))
        assert at_kill % batch == 0, f"head {at_kill} is not a batch boundary: a batch was applied in part"
        assert ir.count("exchange_received_records", "origin = 'PK'") == at_kill

        restarted = time.monotonic()
        ir.start()  # its hello ends PK's back-off
        wait_for(
            lambda: pk.receipted(LINK) == N,
            DRAIN_SECONDS,
            "PK to deliver the rest after IR's restart",
            on_timeout=pk.logs() + ir.logs(),
        )
        print(f"drained {time.monotonic() - restarted:.1f} s after IR's restart")
        assert_received_exactly_once(ir, LINK, N)
        assert pk.peer_status("IR")["backlog"] == 0


def test_receiver_restored_from_backup_gets_the_lost_envelopes_again(tmp_path) -> None:
    """The sender's cursor is ahead of the receiver: IR answers 409 seq_gap and PK resumes from IR's head."""
    pk, ir = make_pair(tmp_path)
    with running(pk, ir):
        ir.start()
        pk.start()
        for n in range(1, 11):
            pk.propose("IR", n)
        wait_for(lambda: pk.receipted(LINK) == 10, DRAIN_SECONDS, "the first 10 to be receipted")

        ir.stop()
        backup = tmp_path / "ir-backup"
        backup.mkdir()
        for name in ("sarhad.db", "sarhad.db-wal", "sarhad.db-shm"):
            if (ir.data_dir / name).exists():
                shutil.copy2(ir.data_dir / name, backup / name)
        ir.start()
        for n in range(11, 21):
            pk.propose("IR", n)
        wait_for(lambda: pk.receipted(LINK) == 20, DRAIN_SECONDS, "the next 10 to be receipted")

        # disaster: IR is restored from the backup taken at 10; PK believes IR holds 20
        ir.stop()
        for name in ("sarhad.db", "sarhad.db-wal", "sarhad.db-shm"):
            (ir.data_dir / name).unlink(missing_ok=True)
            if (backup / name).exists():
                shutil.copy2(backup / name, ir.data_dir / name)
        assert ir.head(LINK) == 10
        ir.start()
        for n in range(21, 26):
            pk.propose("IR", n)
        wait_for(
            lambda: ir.head(LINK) == 25,
            DRAIN_SECONDS,
            "PK to resend 11..25 to the restored IR",
            on_timeout=pk.logs() + ir.logs(),
        )
        assert_received_exactly_once(ir, LINK, 25)
        wait_for(lambda: pk.receipted(LINK) == 25, DRAIN_SECONDS, "PK to hold IR's receipt for 25")
