"""An app served by a real uvicorn server in a background thread, and a Server-Sent Events client.

The starlette TestClient buffers whole responses, so a stream is tested over a real socket.
"""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from support.processes import free_port

PASSWORD = "correct horse battery"


@contextlib.contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, lifespan="on", timeout_graceful_shutdown=1
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@dataclass
class SseClient:
    """Reads ``url`` in a thread; each event is put on ``events`` as (received monotonic time, frame)."""

    url: str
    headers: dict[str, str]
    events: queue.Queue[tuple[float, dict[str, Any]]] = field(default_factory=queue.Queue)
    comments: list[str] = field(default_factory=list)
    connected: threading.Event = field(default_factory=threading.Event)
    closed: threading.Event = field(default_factory=threading.Event)
    status: int = 0
    stop: bool = False

    def start(self) -> SseClient:
        threading.Thread(target=self._run, daemon=True).start()
        if not self.connected.wait(10):
            raise AssertionError(f"event stream at {self.url} did not open")
        return self

    def _run(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(5.0, read=None)) as client,
                client.stream("GET", self.url, headers=self.headers) as response,
            ):
                self.status = response.status_code
                self.connected.set()
                frame: dict[str, str] = {}
                for line in response.iter_lines():
                    if self.stop:
                        break
                    if line.startswith(":"):
                        self.comments.append(line[1:].strip())
                    elif line == "":
                        if "data" in frame:
                            self.events.put((time.monotonic(), {**frame, "json": json.loads(frame["data"])}))
                        frame = {}
                    else:
                        key, _, value = line.partition(":")
                        frame[key] = value.lstrip(" ")
        except httpx.HTTPError:
            pass
        finally:
            self.connected.set()
            self.closed.set()

    def next(self, timeout: float = 5.0, topic: str | None = None) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no event{' ' + topic if topic else ''} within {timeout} s")
            try:
                _, frame = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if topic is None or frame.get("event") == topic:
                return frame

    def nothing(self, wait: float = 0.8) -> bool:
        try:
            self.events.get(timeout=wait)
        except queue.Empty:
            return True
        return False
