"""Background task of the audit log: sign its head every minute, and once more when the node stops."""

from __future__ import annotations

import asyncio
import logging

from sarhad.audit.heads import sign_head
from sarhad.core.node import Node

log = logging.getLogger("sarhad.audit")


async def sign_heads(node: Node) -> None:
    """Every ``audit_head_seconds`` (setting; 60) sign the head if the log grew (``heads.sign_head``); at
    shutdown sign it anyway, so the last entries before a stop are covered by a head the peer will witness
    when the link is next up. With the setting at 0 only the shutdown's head is signed."""
    interval = node.settings.audit_head_seconds
    try:
        while True:
            if interval <= 0:
                await asyncio.Event().wait()  # until cancelled at shutdown
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(sign_head, node)
            except Exception:  # a busy database or a missing key: said in the log, tried again next minute
                log.warning("signing the audit log's head failed", exc_info=True)
    except asyncio.CancelledError:
        try:
            await asyncio.to_thread(sign_head, node, force=True)
        except Exception:
            log.warning("signing the audit log's head at shutdown failed", exc_info=True)
        raise


TASKS = (sign_heads,)
