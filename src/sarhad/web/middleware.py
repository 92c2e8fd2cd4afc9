"""Plain ASGI middleware: the body-size guard with the security headers, and the request metrics.

Written against ASGI directly rather than Starlette's ``BaseHTTPMiddleware``: that one runs every request
through an extra task and memory streams, which cost about a millisecond of the event loop per request and
sit on the hotline's latency path.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sarhad.core.errors import PayloadTooLarge


class BodyTooLarge(Exception):
    """Raised by the guarded ``receive`` once a request body has streamed past the limit."""


class GuardMiddleware:
    """Refuse a body over ``max_body_bytes``; add the security headers to every response that does not set
    them itself.

    A declared ``Content-Length`` over the limit is refused before anything is read. A body without one
    (``Transfer-Encoding: chunked``) is counted as it streams: the chunk that passes the limit is not handed
    to the app, which gets an exception instead, and the client gets the same ``413 too_large`` answer
    (whatever the app would have answered to the broken read is dropped). Nothing past the limit is read.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, tile_url: str) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        tiles = tile_url.split("/{")[0] if tile_url else ""
        self.headers: list[tuple[bytes, bytes]] = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (
                b"content-security-policy",
                (
                    f"default-src 'self'; img-src 'self' data: {tiles}; style-src 'self' 'unsafe-inline'; "
                    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
                ).encode(),
            ),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = _header(scope["headers"], b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await self._refuse(send, PayloadTooLarge(f"request body over {self.max_body_bytes} bytes"))
            return

        received = 0
        over = False
        started = False
        limit = self.max_body_bytes

        async def counted_receive() -> Message:
            nonlocal received, over
            if over:  # the app asks again after the refusal: there is nothing more for it
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    over = True
                    raise BodyTooLarge()
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if over:
                return  # the app's answer to a body cut short; the refusal is sent instead
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in self.headers if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, counted_receive if length is None else receive, send_with_headers)
        except Exception:
            if not over:
                raise
            # BodyTooLarge, or what the app made of it: the refusal below answers
        if over and not started:
            await self._refuse(send, PayloadTooLarge(f"request body over {limit} bytes"))

    async def _refuse(self, send: Send, error: PayloadTooLarge) -> None:
        body = json.dumps(error.to_dict()).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send(
            {"type": "http.response.start", "status": error.status_code, "headers": headers + self.headers}
        )
        await send({"type": "http.response.body", "body": body})


class MetricsMiddleware:
    """Count requests and time them per method and route template (the matched route's path)."""

    def __init__(self, app: ASGIApp, *, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the server answers if the app raises before starting a response

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            # The router writes the matched route into the shared scope on its way down.
            template = getattr(scope.get("route"), "path", "unmatched")
            self.latency.labels(scope["method"], template).observe(time.perf_counter() - started)
            self.requests.labels(scope["method"], template, str(status)).inc()


def _header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


class NoStoreMiddleware:
    """``Cache-Control: no-store`` on every response but static assets: no browser, proxy or disk cache keeps a
    page, an API answer, an export or an event stream, any of which may carry record content.

    A static asset is what is served under ``/static/`` or declares itself ``Cache-Control: public`` (the
    packages' fixed lists of scripts and styles); any other Cache-Control a route sets (``no-cache`` on the
    event stream) is replaced.
    """

    def __init__(self, app: ASGIApp, *, static_prefix: str = "/static/") -> None:
        self.app = app
        self.static_prefix = static_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.static_prefix):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                declared = _header(headers, b"cache-control")
                if declared is None or not declared.lower().startswith("public"):
                    headers = [h for h in headers if h[0].lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_no_store)
