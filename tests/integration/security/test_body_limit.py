"""The 32 MiB body limit holds for chunked bodies too: counted as they stream, refused at the limit."""

from __future__ import annotations

import contextlib
import json
import socket
from urllib.parse import urlparse

from sarhad.app import MAX_BODY_BYTES, create_app
from sarhad.core.node import Node
from support.served import serve

CHUNK = 1024 * 1024


def _chunked_post(base: str, path: str, total: int) -> tuple[bytes, int]:
    """POST ``total`` bytes with ``Transfer-Encoding: chunked`` over a raw socket, a MiB at a time, until the
    server answers or stops reading; returns (the answer, the bytes of body sent before it came)."""
    url = urlparse(base)
    sock = socket.create_connection((url.hostname or "127.0.0.1", url.port or 80), timeout=30)
    sent = 0
    try:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {url.netloc}\r\nContent-Type: application/json\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
        )
        sock.settimeout(0.0)
        answer = b""
        chunk = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
        while sent < total:
            with contextlib.suppress(BlockingIOError):
                answer += sock.recv(65536)
            if answer:
                break
            sock.settimeout(10)
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break  # the server closed its end: read what it said
            sock.settimeout(0.0)
            sent += CHUNK
        else:
            sock.settimeout(10)
            sock.sendall(b"0\r\n\r\n")
        sock.settimeout(30)
        while True:
            try:
                more = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not more:
                break
            answer += more
        return answer, sent
    finally:
        sock.close()


def test_a_chunked_body_over_the_limit_is_refused_without_being_read_to_the_end(node: Node) -> None:
    total = 2 * MAX_BODY_BYTES  # far beyond what socket buffers could swallow on top of the limit
    with serve(create_app(node, run_workers=False)) as base:
        answer, sent = _chunked_post(base, "/api/v1/bulletins", total)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), head
    assert json.loads(body.decode())["error"]["code"] == "too_large"
    assert b"x-frame-options: deny" in head.lower()
    assert sent < total, "the server read the whole body before answering"


def test_a_chunked_body_under_the_limit_reaches_the_app(node: Node) -> None:
    with serve(create_app(node, run_workers=False)) as base:
        answer, sent = _chunked_post(base, "/api/v1/bulletins", 2 * CHUNK)
    assert sent == 2 * CHUNK
    assert answer.startswith(b"HTTP/1.1 422"), answer[:200]  # the app read it all: blank is not JSON
