"""Two nodes in one test process, paired, with delivery through the exchange's own code path (no network).

The sender's outbox batch goes through ``receive_batch`` on the receiver, and the receiver's signed receipt
through ``accept_receipt`` on the sender, exactly as the delivery worker and the link endpoint do it.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

from sarhad.accounts.actors import SystemActor
from sarhad.core.node import Node
from sarhad.exchange.domain import link_id
from sarhad.exchange.identity import identity
from sarhad.exchange.models import LinkHead
from sarhad.exchange.outbox import mark_sent, outbound_batch
from sarhad.exchange.peers import add_peer
from sarhad.exchange.receipts import accept_receipt
from sarhad.exchange.receive import BatchResult, receive_batch

T = TypeVar("T")


def pair(a: Node, b: Node) -> None:
    """Pin each node's key at the other, as ``sarhad peer add`` does (the URLs are never called here)."""
    for here, there in ((a, b), (b, a)):
        with here.transaction() as session:
            add_peer(
                session,
                here,
                party=there.party,
                url=f"http://127.0.0.1:1/{there.party.lower()}",
                public_key_b64=identity(there).public_key_b64,
                name=there.settings.name,
                actor=SystemActor("test"),
            )


def deliver(sender: Node, receiver: Node) -> BatchResult:
    """Send everything the sender holds for the receiver (beyond its last receipt) and bring the receipt back."""
    link = link_id(sender.party, receiver.party)
    with sender.transaction() as session:
        head = session.get(LinkHead, link)
        assert head is not None
        bodies = outbound_batch(session, sender, receiver.party, head.receipted_seq)
        mark_sent(session, sender, receiver.party, head.seq)
    result = receive_batch(receiver, link, [json.loads(body) for body in bodies])
    with sender.transaction() as session:
        accept_receipt(session, sender, receiver.party, result.receipt)
    return result


def run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run`` in a thread of its own: the browser tests leave an event loop running in the main thread,
    and ``asyncio.run`` refuses to start inside one. Exceptions (failed assertions) reach the caller."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(factory())
        except BaseException as exc:  # handed to the caller's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="test-event-loop")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return cast(T, outcome["value"])
