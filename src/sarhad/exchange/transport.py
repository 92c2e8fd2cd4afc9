"""HTTP client side of the link protocol: signed requests to a peer node, plain or mutual TLS."""

from __future__ import annotations

import json
import ssl
from typing import Any

import httpx

from sarhad.core.node import Node
from sarhad.exchange import protocol
from sarhad.exchange.services import identity

API = "/exchange/v1"


def link_path(sender: str, receiver: str, tail: str) -> str:
    return f"{API}/links/{sender}/{receiver}/{tail}"


def make_client(node: Node, timeout: float = 15.0) -> httpx.AsyncClient:
    """An HTTP client for talking to peers; with mutual TLS when the node's TLS settings are complete."""
    tls = node.settings.tls
    verify: ssl.SSLContext | bool = True
    if tls.enabled:
        context = ssl.create_default_context(cafile=tls.ca_file)
        context.load_cert_chain(tls.cert_file, tls.key_file)
        verify = context
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=5.0),
        verify=verify,
        limits=httpx.Limits(max_connections=4, max_keepalive_connections=2),
    )


def signed_headers(node: Node, method: str, path_with_query: str, body: bytes) -> dict[str, str]:
    me = identity(node)
    headers = protocol.sign_request(
        me.private_key, node.party, method, path_with_query, body, node.clock.now()
    )
    headers["content-type"] = "application/json"
    return headers


async def send(
    client: httpx.AsyncClient,
    node: Node,
    base_url: str,
    method: str,
    path_with_query: str,
    payload: dict[str, Any] | None = None,
    *,
    raw_body: bytes | None = None,
) -> httpx.Response:
    """Send a signed request; the body is sent exactly as signed."""
    body = (
        raw_body
        if raw_body is not None
        else (
            json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
            if payload is not None
            else b""
        )
    )
    headers = signed_headers(node, method, path_with_query, body)
    return await client.request(method, base_url + path_with_query, content=body, headers=headers)
