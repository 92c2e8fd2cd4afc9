"""The hotline's background task: take due escalation steps, and note urgent messages the link did not carry.

Every app process runs it. Due times are in the database (they survive restarts) and each step is taken
with a compare-and-set UPDATE, so several processes never take the same step twice. The task sleeps until
the next due time, at most ``IDLE_SECONDS``, so a message that arrived meanwhile (deadlines are at least
1 s) is scheduled in time without waking the task on the hot path of every delivery.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from sarhad.core.node import Node
from sarhad.hotline import escalation

log = logging.getLogger("sarhad.hotline")
IDLE_SECONDS = 0.5


def run_due(node: Node) -> tuple[int, datetime | None]:
    """Take every due step and link-down notice now; return (how many taken, the next due time)."""
    taken = 0
    with node.sessions() as session:
        due = escalation.due_escalations(session, node.clock.now())
        overdue = escalation.overdue_undelivered(session, node)
    for origin, message_id, step in due:
        with node.transaction() as session:
            taken += escalation.escalate(session, node, origin, message_id, step)
    for origin, message_id in overdue:
        with node.transaction() as session:
            taken += escalation.note_link_down(session, node, origin, message_id)
    with node.sessions() as session:
        times = [t for t in (escalation.next_due(session), escalation.next_link_check(session, node)) if t]
    return taken, min(times) if times else None


async def escalation_task(node: Node) -> None:
    while True:
        delay = IDLE_SECONDS
        try:
            _, next_at = await asyncio.to_thread(run_due, node)
            if next_at is not None:
                delay = min(delay, max(0.005, (next_at - node.clock.now()).total_seconds()))
        except Exception:
            log.exception("hotline escalation pass failed")
        await asyncio.sleep(delay)


TASKS = (escalation_task,)
