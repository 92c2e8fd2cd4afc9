"""The two demo nodes (``sarhad demo``'s PK and IR, every feature's exercise data) as real processes on free
ports, for browser tests that need every page to have something to show."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console

from sarhad import demo
from support.processes import NodeProcess, free_port, get_token


@dataclass
class DemoPair:
    pk: NodeProcess
    ir: NodeProcess
    credentials: dict[str, dict[str, str]]

    def password(self, username: str) -> str:
        return self.credentials[username[:2].upper()][username]

    def token(self, username: str) -> str:
        node = self.pk if username.startswith("pk.") else self.ir
        return get_token(node.url, username, self.password(username))


@contextmanager
def demo_pair(root: Path, *, wait_for_exchange: bool = True) -> Iterator[DemoPair]:
    """Seed the demo pair under ``root`` (on free ports) and run both nodes; with ``wait_for_exchange``, until
    PK holds incidents IR released to it."""
    original = demo.PARTIES
    demo.PARTIES = tuple(
        demo.DemoParty(p.code, p.name, free_port(), p.time_zone, p.calendar, p.language) for p in original
    )
    try:
        credentials = demo.prepare(root, Console(quiet=True))
    finally:
        demo.PARTIES = original
    with ExitStack() as stack:
        pk = stack.enter_context(NodeProcess(root / "pk", port=_port(root / "pk")))
        ir = stack.enter_context(NodeProcess(root / "ir", port=_port(root / "ir")))
        pair = DemoPair(pk, ir, credentials)
        if wait_for_exchange:
            token = pair.token("pk.liaison")
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                held = httpx.get(
                    f"{pk.url}/api/v1/incidents?origin=IR&limit=1&days=365",
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=10,
                ).json()
                if held:
                    break
                time.sleep(0.5)
            else:
                raise AssertionError("IR's released incidents did not reach PK\n" + pk.logs() + ir.logs())
        yield pair


def _port(folder: Path) -> int:
    from sarhad.core.settings import load_settings

    return load_settings(folder).port
