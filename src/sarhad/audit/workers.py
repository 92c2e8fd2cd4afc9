"""Background task of the audit log: sign its head every minute, and once more when the node stops."""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from sarhad.audit.heads import sign_head
from sarhad.core.node import Node

log = logging.getLogger("sarhad.audit")
HEAD_SECONDS: Final = 60.0


async def sign_heads(node: Node) -> None:
    """Every ``HEAD_SECONDS`` sign the head if the log grew (``heads.sign_head``); at shutdown sign it anyway,
    so the last entries before a stop are covered by a head the peer will witness when the link is next up."""
    try:
        while True:
            await asyncio.sleep(HEAD_SECONDS)
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
