"""Refusals of the link protocol: one class per HTTP status, the protocol's error code on each.

A peer's push, pull, receipt or signed request that the protocol refuses raises one of these; the link
endpoints answer with its status and ``{"error": {"code", "message", "details"}}``. The status is fixed by
the class (as for every :class:`~sarhad.core.errors.SarhadError`); ``code`` is an :class:`ErrorCode` of the
protocol (``docs/exchange-protocol.md``).
"""

from __future__ import annotations

from typing import Final, Self

from sarhad.core.errors import ErrorCode, SarhadError


class ExchangeRefusal(SarhadError):
    """A peer's request that the protocol refuses (400); ``code`` is the protocol error code."""

    status_code = 400

    @classmethod
    def at(cls, code: ErrorCode, message: str, seq: int | None = None) -> Self:
        """The refusal, naming in its details the seq of the envelope or receipt concerned (if known)."""
        return cls(message, code=code, details={"seq": seq} if seq is not None else {})


class ExchangeForbidden(ExchangeRefusal):
    """The caller is not a party this node exchanges with (403)."""

    status_code = 403


class ExchangeNotFound(ExchangeRefusal):
    """No such link on this node (404)."""

    status_code = 404


class ExchangeConflict(ExchangeRefusal):
    """The batch does not fit what this node holds: a gap, or equivocation (409)."""

    status_code = 409


class ExchangeTooLarge(ExchangeRefusal):
    """The batch is over the limits (413)."""

    status_code = 413


WIRE_ERRORS: Final[dict[ErrorCode, frozenset[int]]] = {
    # The body, the JSON domain, the request target's parameters (§2, §9)
    ErrorCode.MALFORMED: frozenset({400}),
    ErrorCode.TOO_DEEP: frozenset({400}),
    ErrorCode.UNSAFE_NUMBER: frozenset({400}),
    ErrorCode.DUPLICATE_MEMBER: frozenset({400}),
    ErrorCode.OUT_OF_RANGE: frozenset({400}),
    ErrorCode.TOO_LARGE: frozenset({413}),
    # Envelopes and the chain (§4, §5)
    ErrorCode.BAD_HASH: frozenset({400}),
    ErrorCode.UNKNOWN_KEY: frozenset({400}),
    ErrorCode.WRONG_KEY: frozenset({400}),
    ErrorCode.BAD_SIGNATURE: frozenset({400}),
    ErrorCode.BAD_LINK: frozenset({400}),
    ErrorCode.BAD_PREV: frozenset({400}),
    ErrorCode.SEQ_GAP: frozenset({409}),
    ErrorCode.EQUIVOCATION: frozenset({409}),
    # Who may call, and for which link (§8, §9)
    ErrorCode.STALE_REQUEST: frozenset({400}),
    ErrorCode.UNKNOWN_LINK: frozenset({404}),
    ErrorCode.UNKNOWN_PEER: frozenset({403}),
    ErrorCode.TLS_PARTY_MISMATCH: frozenset({403}),
    ErrorCode.TLS_PARTY_MISSING: frozenset({403}),
    # Receipts (§7, §9)
    ErrorCode.BAD_RECEIPT: frozenset({400}),
}
"""Every error code the link endpoints (``/exchange/v1``) answer with, and its HTTP status: the node's side of
``docs/exchange-protocol.md`` §13. A test checks that every code the link code can raise is listed here and
that §13 lists each with the same status."""
