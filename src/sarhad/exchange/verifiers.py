"""Checking a received batch's hashes and signatures, in spawned processes when the batch is large.

The checks (shape, canonical JSON, SHA-256, Ed25519) hold the GIL for most of their time, so threads hardly
ran in parallel and a receiving node stayed on one CPU. Large batches (a backlog) are split over processes, one
per CPU, and the receiving process checks the next batch while it applies the one before. Small batches, a live
link's, are checked in the calling thread: no hand-over latency.

The verifier processes watch the node process that started them and exit when it is gone, also after a
``kill -9``, when nothing would otherwise tell them. A stop is the node's to run: they ignore SIGTERM and SIGINT
(a service manager or a terminal signals the whole process group), and ``sarhad serve`` shuts them down
(``shutdown``) when its server has stopped, so that their queues' semaphores are released, not reported leaked.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import repeat
from typing import Any

from sarhad.exchange import protocol

log = logging.getLogger("sarhad.exchange.verifiers")

PARALLEL_FROM = 64  # envelopes; smaller batches (a live link) are verified at once in the calling thread
PARENT_CHECK_SECONDS = 1.0

Verdict = protocol.ProtocolError | protocol.Checked  # the refusal, or the accepted envelope's check

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def cpus() -> int:
    try:
        return max(1, min(len(os.sched_getaffinity(0)), 8))  # the CPUs this process may use
    except AttributeError:  # not on Linux
        return max(1, min(os.cpu_count() or 1, 8))


def verify_all(envelopes: list[dict[str, Any]], windows: list[protocol.KeyWindow]) -> list[Verdict]:
    """Check each envelope's hash and signature with the keys valid at its seq (``windows``)."""
    pool = _verifier_pool() if len(envelopes) >= PARALLEL_FROM else None
    if pool is None:
        checked = protocol.verify_envelopes(envelopes, windows)
    else:
        size = -(-len(envelopes) // cpus())
        chunks = [envelopes[i : i + size] for i in range(0, len(envelopes), size)]
        try:
            parts = pool.map(protocol.verify_envelopes, chunks, repeat(windows))
            checked = [result for part in parts for result in part]
        except (
            BrokenProcessPool
        ):  # a verifier died (killed, out of memory): check here, start afresh next time
            log.warning("the envelope verifier processes stopped; verifying this batch in-process")
            _discard(pool)
            checked = protocol.verify_envelopes(envelopes, windows)
    return [
        result if result.ok else protocol.ProtocolError(result.text, result.message, env.get("seq"))
        for env, result in zip(envelopes, checked, strict=True)
    ]


def _verifier_pool() -> ProcessPoolExecutor | None:
    """The verifier processes, started on first use; None where there is one CPU."""
    global _pool
    workers = cpus()
    if workers == 1:
        return None
    with _pool_lock:
        if _pool is None:
            # Spawned, not forked: the node process has threads and open database connections.
            _pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=watch_parent,
                initargs=(os.getpid(),),
            )
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Stop the verifier processes, if any were started, waiting for them (the node is stopping)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def watch_parent(parent_pid: int) -> None:
    """In a verifier process: leave stopping to the node process, and exit as soon as it is gone."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, signal.SIG_IGN)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(0)  # the node is gone; nothing here is worth finishing

    threading.Thread(target=watch, name="sarhad-verifier-watch", daemon=True).start()
