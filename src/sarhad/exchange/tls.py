"""Mutual TLS bound to the party: the client certificate must name the party that signs the request or push.

With ``[tls]`` configured the node serves HTTPS and requires a client certificate from its CA (``sarhad
serve``). A certificate from that CA only says "one of the parties"; which party it is, is named in the
certificate itself, as a subject alternative name URI ``urn:sarhad:party:XX``. The link endpoints compare it
with the party whose signature they have just checked (the request's ``X-Sarhad-Party``, or the sender of the
link a push is for) and refuse a mismatch (``403 tls_party_mismatch``) or a certificate naming no party, or
more than one (``403 tls_party_missing``), before doing anything else. See docs/exchange-protocol.md §9.

The web server hands the certificate to the app in the ASGI TLS extension (``scope["extensions"]["tls"]``,
``client_cert_chain``): :func:`http_protocol` wraps uvicorn's HTTP protocol so that every request of a
connection carries the certificate that connection presented.
"""

from __future__ import annotations

import asyncio
import functools
import re
import ssl
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from cryptography import x509

from sarhad.core.errors import ErrorCode
from sarhad.core.node import Node
from sarhad.exchange.refusals import ExchangeForbidden

PARTY_URI_PREFIX: Final = "urn:sarhad:party:"
_PARTY_URI: Final = re.compile(r"urn:sarhad:party:([A-Z]{2})")

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


@functools.lru_cache(maxsize=64)
def certificate_parties(pem: str) -> tuple[str, ...]:
    """The parties a certificate names (``urn:sarhad:party:XX`` URIs among its subject alternative names)."""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound):
        return ()
    found = []
    for uri in names.get_values_for_type(x509.UniformResourceIdentifier):
        match = _PARTY_URI.fullmatch(uri)
        if match is not None:
            found.append(match.group(1))
    return tuple(sorted(set(found)))


def _client_certificate(scope: Scope) -> str | None:
    tls = scope.get("extensions", {}).get("tls") or {}
    chain = tls.get("client_cert_chain") or []
    return str(chain[0]) if chain else None


def require_tls_party(scope: Scope, node: Node, party: str) -> None:
    """With mutual TLS on, refuse unless the connection's client certificate names exactly ``party``.

    ``party`` is the one whose signature authenticated the request (or the sender of the link pushed to).
    Without ``[tls]`` (plain HTTP: the loopback demo) there is no certificate and nothing to compare.
    """
    if not node.settings.tls.enabled:
        return
    pem = _client_certificate(scope)
    named = certificate_parties(pem) if pem is not None else ()
    if len(named) != 1:
        raise ExchangeForbidden(
            "the TLS client certificate names "
            + ("no party" if not named else f"{len(named)} parties ({', '.join(named)})")
            + f"; with mutual TLS a node's certificate must name its party once, as {PARTY_URI_PREFIX}{party}",
            code=ErrorCode.TLS_PARTY_MISSING,
            details={"claimed_party": party, "certificate_parties": list(named)},
        )
    if named[0] != party:
        raise ExchangeForbidden(
            f"the TLS client certificate is {named[0]}'s, but the request is signed as {party}",
            code=ErrorCode.TLS_PARTY_MISMATCH,
            details={"claimed_party": party, "certificate_party": named[0]},
        )


def _with_client_certificate(app: ASGIApp, pem: str | None, name: str) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            extensions = scope.setdefault("extensions", {})
            extensions["tls"] = {
                "client_cert_chain": [pem] if pem is not None else [],
                "client_cert_name": name or None,
                "client_cert_error": None,
            }
        await app(scope, receive, send)

    return wrapped


def http_protocol() -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, passing each connection's client certificate to the app (ASGI TLS extension)."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    base: Any = AutoHTTPProtocol

    class ClientCertificateProtocol(base):  # type: ignore[misc]
        app: ASGIApp

        def connection_made(self, transport: asyncio.Transport) -> None:
            ssl_object = transport.get_extra_info("ssl_object")
            if isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
                der = ssl_object.getpeercert(binary_form=True)
                pem = ssl.DER_cert_to_PEM_cert(der) if der else None
                subject = ""
                if pem is not None:
                    try:
                        subject = x509.load_pem_x509_certificate(pem.encode("ascii")).subject.rfc4514_string()
                    except ValueError:
                        subject = ""
                self.app = _with_client_certificate(self.app, pem, subject)
            super().connection_made(transport)

    return ClientCertificateProtocol
