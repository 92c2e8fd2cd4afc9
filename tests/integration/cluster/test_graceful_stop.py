"""Issue 17 item 4: a node stopped with SIGTERM under load stops gracefully.

IR (SQLite, and PostgreSQL) is receiving a backlog from PK in batches large enough for the envelope verifier
processes (``exchange.verifiers``: from ``PARALLEL_FROM`` envelopes a batch), PK keeps sending FLASH messages
(live events and pushes on IR), and IR's commander has an event stream open. On SIGTERM the stream must end
at once and cleanly (the server's last chunk, not a cut connection), the process must exit with 0, and its
stderr must show no traceback and no leaked semaphore of the verifier processes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from cluster_helpers import PASSWORD, prepare, send_flash

from sarhad.accounts.actors import SystemActor
from sarhad.bulletins import bulk as bulletins
from sarhad.bulletins.schemas import BulletinContentIn
from sarhad.core.node import build_node
from sarhad.core.settings import load_settings
from sarhad.exchange import verifiers
from support.processes import NodeProcess, get_token

BACKLOG = 6000  # envelopes PK holds for IR when both start: batches of up to 1,000 keep the verifiers busy


class Stream:
    """IR's event stream, read in a thread: how it ended (``"end"``: the server finished the response)."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url, self.headers = url, headers
        self.frames = 0
        self.ended = ""
        self.open = threading.Event()
        self.done = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        assert self.open.wait(15), f"event stream at {url} did not open"

    def _read(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10.0, read=60.0)) as client,
                client.stream("GET", self.url, headers=self.headers) as response,
            ):
                assert response.status_code == 200
                self.open.set()
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        self.frames += 1
            self.ended = "end"
        except Exception as exc:  # a cut connection (the server cancelled the stream, or died)
            self.ended = f"{type(exc).__name__}: {exc}"
        finally:
            self.open.set()
            self.done.set()


def queue_backlog(pk_dir: Path, count: int) -> None:
    node = build_node(load_settings(pk_dir))
    content = BulletinContentIn(title="backlog", body="x" * 400)
    try:
        for _ in range(count // 500):
            with node.transaction() as session:
                bulletins.create_bulletins(
                    session, node, SystemActor("test"), [content] * 500, tlp="amber", release_to=["IR"]
                )
    finally:
        node.dispose()


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(FileNotFoundError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found += [int(p) for p in handle.read().split()]
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def received(ir_dir: Path) -> int:
    from sqlalchemy import func, select

    from sarhad.exchange.models import LinkHead

    node = build_node(load_settings(ir_dir))
    try:
        with node.sessions() as session:
            return int(session.scalar(select(func.sum(LinkHead.seq)).where(LinkHead.direction == "in")) or 0)
    finally:
        node.dispose()


def test_sigterm_under_load_ends_streams_at_once_and_exits_cleanly(
    make_node_dir: Callable[..., Path], database_url: str
) -> None:
    pk_dir, ir_dir = prepare(make_node_dir, None, ir_database_url=database_url)
    queue_backlog(pk_dir, BACKLOG)
    ir = NodeProcess(ir_dir, port=load_settings(ir_dir).port, name="ir").start()
    try:
        ir_cmd = {"Authorization": f"Bearer {get_token(ir.url, 'commander', PASSWORD)}"}
        stream = Stream(f"{ir.url}/api/v1/events", ir_cmd)
        with NodeProcess(pk_dir, port=load_settings(pk_dir).port, name="pk") as pk:
            pk_cmd = {"Authorization": f"Bearer {get_token(pk.url, 'commander', PASSWORD)}"}
            sending = threading.Event()

            def send_flashes() -> None:
                n = 0
                while not sending.is_set():
                    with contextlib.suppress(Exception):
                        send_flash(pk, pk_cmd, f"under load {n}")
                    n += 1
                    time.sleep(0.05)

            sender = threading.Thread(target=send_flashes, daemon=True)
            sender.start()
            try:
                # under load: the verifier processes are working on the backlog, the flashes flow
                deadline = time.monotonic() + 60
                while not (children(ir.pid or 0) and received(ir_dir) >= verifiers.PARALLEL_FROM):
                    assert time.monotonic() < deadline, f"IR never received a large batch\n{ir.logs()}"
                    time.sleep(0.1)
                assert received(ir_dir) < BACKLOG, "the backlog was drained before the stop: not under load"
                stderr_before = ir.stderr_path.stat().st_size
                helpers = children(ir.pid or 0)  # the verifiers and multiprocessing's resource tracker
                assert ir.process is not None
                ir.process.send_signal(signal.SIGTERM)
                code = ir.process.wait(30)
                assert stream.done.wait(5)
                deadline = time.monotonic() + 15  # what they write as they go, a leak warning among it
                while any(alive(pid) for pid in helpers) and time.monotonic() < deadline:
                    time.sleep(0.1)
            finally:
                sending.set()
                sender.join(30)
        errors = ir.stderr_path.read_bytes()[stderr_before:].decode(errors="replace")
        assert stream.ended == "end", f"the event stream did not end cleanly: {stream.ended}\n{errors}"
        assert code == 0, f"exit code {code}\n{errors}"
        assert "leaked semaphore" not in errors and "Traceback" not in errors, errors
        assert "timeout graceful shutdown exceeded" not in errors, errors
    finally:
        ir.kill()
