"""An app served by a real uvicorn server in a background thread, and a Server-Sent Events client.

The starlette TestClient buffers whole responses, so a stream is tested over a real socket.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from support.served import serve

__all__ = ["PASSWORD", "SseClient", "serve"]

PASSWORD = "correct horse battery"


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
