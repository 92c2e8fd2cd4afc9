"""Mutual TLS between nodes, with a throw-away CA made for the test."""

from __future__ import annotations

import socket
import ssl
from pathlib import Path

import httpx
import pytest
from exchange_nodes import (
    CertPair,
    TestCa,
    assert_received_exactly_once,
    make_pair,
    running,
    tls_client_kwargs,
    wait_for,
)

from support.processes import NodeProcessError

pytestmark = pytest.mark.slow  # two real node processes; still part of every run

STOP_SECONDS = 10.0


def _raw_request(port: int, ca: Path, client: CertPair | None, version: ssl.TLSVersion) -> str:
    """GET /healthz over a raw TLS socket: "handshake refused", "no answer", or the HTTP status line."""
    context = ssl.create_default_context(cafile=str(ca))
    context.minimum_version = context.maximum_version = version
    if client is not None:
        context.load_cert_chain(str(client.cert), str(client.key))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        try:
            tls = context.wrap_socket(raw, server_hostname="127.0.0.1")
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return "handshake refused"
        with tls:
            try:
                tls.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                data = tls.recv(4096)
            except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
                return "no answer"
    return data.decode("latin-1").split("\r\n", 1)[0] if data else "no answer"


def test_exchange_works_over_mutual_tls_and_a_client_without_a_certificate_is_refused(tmp_path) -> None:
    pk, ir = make_pair(tmp_path, tls=True)
    assert pk.url.startswith("https://") and ir.url.startswith("https://")
    with running(pk, ir):
        pk.start()
        ir.start()
        for n in range(1, 4):
            pk.propose("IR", n)
        ir.propose("PK", 100)
        wait_for(
            lambda: pk.receipted("PK>IR") == 3 and ir.receipted("IR>PK") == 1,
            30,
            "both links to be receipted over mutual TLS",
            on_timeout=lambda: pk.diagnosis() + ir.diagnosis(),
        )
        assert_received_exactly_once(ir, "PK>IR", 3)
        assert_received_exactly_once(pk, "IR>PK", 1)

        assert pk.ca is not None and pk.client_cert is not None
        # a client that trusts the CA but presents no certificate gets no HTTP answer ...
        with (
            httpx.Client(timeout=10, **tls_client_kwargs(pk.ca, None)) as client,
            pytest.raises(httpx.TransportError),
        ):
            client.post(f"{ir.url}/exchange/v1/links/PK/IR/envelopes", json={"envelopes": []})
        # ... because the TLS layer refuses it: with TLS 1.2 the handshake itself fails, with TLS 1.3 (where
        # the client finishes first) the server closes the connection before a single byte of HTTP
        assert _raw_request(ir.port, pk.ca, None, ssl.TLSVersion.TLSv1_2) == "handshake refused"
        assert _raw_request(ir.port, pk.ca, None, ssl.TLSVersion.TLSv1_3) in (
            "handshake refused",
            "no answer",
        )
        # the same raw request with a certificate from the shared CA is answered (the refusal is the certificate)
        for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
            assert _raw_request(ir.port, pk.ca, pk.client_cert, version).startswith("HTTP/1.1 200")

        # a certificate from another CA is refused the same way
        stranger_ca = TestCa(tmp_path / "other-ca", name="some other CA")
        stranger = stranger_ca.issue("stranger")
        with (
            httpx.Client(timeout=10, **tls_client_kwargs(pk.ca, stranger)) as client,
            pytest.raises(httpx.TransportError),
        ):
            client.get(f"{ir.url}/healthz")

        # plain HTTP to the TLS port does not reach the app
        with httpx.Client(timeout=10) as client, pytest.raises(httpx.TransportError):
            client.get(f"http://127.0.0.1:{ir.port}/healthz")

        # a client with a certificate from the shared CA is let in
        with ir.http() as client:
            assert client.get("/healthz").json()["status"] == "ok"

        # a TLS node stops on SIGTERM in good time, even while its peer keeps an idle keep-alive connection
        # to it open (IR's delivery client to PK)
        try:
            pk.stop(timeout=STOP_SECONDS)
        except NodeProcessError:
            pytest.fail(
                f"PK (mutual TLS) ignored SIGTERM for {STOP_SECONDS:.0f} s while IR was connected:\n{pk.logs()}",
                pytrace=False,
            )
