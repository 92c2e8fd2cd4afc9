"""Background tasks of live events: the hub (its fetcher and, on PostgreSQL, its listener) and pruning."""

from __future__ import annotations

import asyncio
import logging

from sarhad.core.node import Node
from sarhad.live import services
from sarhad.live.hub import close_on_termination, ensure_hub

log = logging.getLogger("sarhad.live")
PRUNE_EVERY_SECONDS = 3600.0


async def live_task(node: Node) -> None:
    """Own this process's hub for the app's lifetime; prune the table hourly; close the streams on exit."""
    hub = await ensure_hub(node)
    restore = close_on_termination(hub)
    try:
        while True:
            try:
                removed = await asyncio.to_thread(_prune, node)
                if removed:
                    log.info("pruned %d live events", removed)
            except Exception:
                log.exception("pruning live events failed")
            await asyncio.sleep(PRUNE_EVERY_SECONDS)
    finally:
        restore()
        hub.close()
        for task in (hub.poller, hub.listener):
            if task is not None:
                task.cancel()


def _prune(node: Node) -> int:
    with node.transaction() as session:
        return services.prune(session, node)


TASKS = (live_task,)
