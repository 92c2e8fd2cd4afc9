"""HTTP client side of the link protocol: signed requests to a peer node, plain or mutual TLS.

The delivery worker talks to its peers through aiohttp: per request it costs the event loop a fraction of
what httpx does, and every envelope's trip to the peer waits behind that cost.
"""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from typing import Any

import aiohttp

from sarhad.core.node import Node
from sarhad.exchange import protocol
from sarhad.exchange.identity import identity

API = "/exchange/v1"


class PeerUnreachable(Exception):
    """No answer from the peer: refused or dropped connection, a timeout, a TLS failure."""


@dataclass(frozen=True)
class PeerResponse:
    """A peer's answer, read in full."""

    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


def link_path(sender: str, receiver: str, tail: str) -> str:
    return f"{API}/links/{sender}/{receiver}/{tail}"


def make_client(node: Node, timeout: float = 15.0) -> aiohttp.ClientSession:
    """A client session for talking to peers; with mutual TLS when the node's TLS settings are complete.

    Create it inside the running event loop; use it as an async context manager.
    """
    tls = node.settings.tls
    context: ssl.SSLContext | bool = True
    if tls.enabled:
        context = ssl.create_default_context(cafile=tls.ca_file)
        context.load_cert_chain(tls.cert_file, tls.key_file)
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout, connect=5.0),
        # Per peer: two pipelined batches of a lane, and room beside them for a higher lane's batch (a FLASH
        # must not wait for a connection that a bulk batch holds).
        connector=aiohttp.TCPConnector(ssl=context, limit=16, limit_per_host=8),
        skip_auto_headers=("User-Agent",),
        auto_decompress=False,
    )


def signed_headers(node: Node, method: str, path_with_query: str, body: bytes) -> dict[str, str]:
    me = identity(node)
    headers = protocol.sign_request(
        me.private_key, node.party, method, path_with_query, body, node.clock.now()
    )
    headers["content-type"] = "application/json"
    return headers


async def send(
    client: aiohttp.ClientSession,
    node: Node,
    base_url: str,
    method: str,
    path_with_query: str,
    payload: dict[str, Any] | None = None,
    *,
    raw_body: bytes | None = None,
) -> PeerResponse:
    """Send a signed request (the body exactly as signed) and read the whole answer.

    Raises PeerUnreachable when there is no HTTP answer; any HTTP status is an answer.
    """
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
    try:
        async with client.request(method, base_url + path_with_query, data=body, headers=headers) as answer:
            return PeerResponse(status_code=answer.status, content=await answer.read())
    except (TimeoutError, aiohttp.ClientError, ssl.SSLError, OSError) as exc:
        raise PeerUnreachable(f"{type(exc).__name__}: {exc or 'no answer'}") from exc
