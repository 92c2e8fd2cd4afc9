"""Issue 17 item 3: when the process that holds a link's delivery lease is killed (``kill -9``), another
process of the node takes the link over and delivers, within the lease's takeover time.

PK is served by two real ``sarhad serve`` processes on one database (PostgreSQL, and SQLite: one host), IR by a
third. A FLASH delivered through PK makes one of them take the lease of the link to IR; that one is killed, and a
FLASH sent through the survivor must reach IR within ``2 × delivery.TAKEOVER_SECONDS`` of the kill (twice the
worst case the lease allows, so a busy machine does not fail it). With the 30 s lease of before, the survivor
waited for the dead holder's lease to run out: 15 to 30 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from cluster_helpers import PASSWORD, held_by_ir, lease_holder, prepare, send_flash

from sarhad.core.settings import load_settings
from sarhad.exchange import delivery
from support.processes import NodeProcess, free_port, get_token


def wait_until(check: Callable[[], bool], deadline: float) -> bool:
    """Whether ``check`` came true before ``deadline`` (``time.monotonic``)."""
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def test_the_surviving_process_delivers_after_the_lease_holder_is_killed(
    make_node_dir: Callable[..., Path], database_url: str
) -> None:
    pk_dir, ir_dir = prepare(make_node_dir, database_url)
    with (
        NodeProcess(ir_dir, port=load_settings(ir_dir).port, name="ir") as ir,
        NodeProcess(pk_dir, port=free_port(), name="a") as a,
        NodeProcess(pk_dir, port=free_port(), name="b") as b,
    ):
        pk_cmd = {"Authorization": f"Bearer {get_token(a.url, 'commander', PASSWORD)}"}
        ir_cmd = {"Authorization": f"Bearer {get_token(ir.url, 'commander', PASSWORD)}"}
        first = send_flash(a, pk_cmd, "before the kill")
        assert wait_until(lambda: held_by_ir(ir, ir_cmd, first), time.monotonic() + 30), a.logs()

        holder_pid = lease_holder(pk_dir)
        assert holder_pid in (a.pid, b.pid), f"lease held by {holder_pid}, not by a ({a.pid}) or b ({b.pid})"
        holder, survivor = (a, b) if holder_pid == a.pid else (b, a)
        holder.kill()
        killed_at = time.monotonic()

        after = send_flash(survivor, pk_cmd, "after the kill")
        bound = 2 * delivery.TAKEOVER_SECONDS
        arrived = wait_until(lambda: held_by_ir(ir, ir_cmd, after), killed_at + bound)
        assert arrived, (
            f"not delivered within {bound} s of the lease holder's kill -9 "
            f"(lease {delivery.LEASE_SECONDS} s)\n{survivor.logs()}"
        )
        assert lease_holder(pk_dir) == survivor.pid
