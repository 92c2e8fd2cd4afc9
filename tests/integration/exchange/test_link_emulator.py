"""The link emulator (tests/support/link_emulator.py) passes bytes through unchanged both ways, and drops or
stalls connections on demand: what the poor-link tests and bench/precedence rely on."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator

import pytest

from support.link_emulator import EmulatedLink


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.request.sendall(data)


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def _receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def test_bytes_go_through_unchanged_both_ways(echo_port: int) -> None:
    payload = bytes(range(256)) * 400  # 100 KiB: many packets on the emulated wire
    with (
        EmulatedLink("127.0.0.1", echo_port, bits_per_second=50_000_000, rtt_seconds=0.01) as link,
        socket.create_connection(("127.0.0.1", link.port), timeout=30) as sock,
    ):
        sock.sendall(payload)
        assert _receive(sock, len(payload)) == payload
        assert link.bytes_forwarded == 2 * len(payload)  # there and back


def test_a_stalled_link_moves_nothing_until_it_resumes(echo_port: int) -> None:
    with (
        EmulatedLink("127.0.0.1", echo_port) as link,
        socket.create_connection(("127.0.0.1", link.port), timeout=30) as sock,
    ):
        sock.sendall(b"before")
        assert _receive(sock, 6) == b"before"
        link.stall()
        forwarded = link.bytes_forwarded
        sock.sendall(b"while stalled")
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):
            sock.recv(100)
        assert link.bytes_forwarded == forwarded
        link.resume()
        sock.settimeout(30)
        assert _receive(sock, 13) == b"while stalled"


def test_a_dropped_link_resets_the_open_connections(echo_port: int) -> None:
    with (
        EmulatedLink("127.0.0.1", echo_port) as link,
        socket.create_connection(("127.0.0.1", link.port), timeout=30) as sock,
    ):
        sock.sendall(b"x")
        assert _receive(sock, 1) == b"x"
        link.drop()
        with pytest.raises((ConnectionError, OSError)):
            for _ in range(50):  # the reset shows on the next read or write
                sock.sendall(b"y")
                if not sock.recv(1):
                    raise ConnectionResetError("closed")
