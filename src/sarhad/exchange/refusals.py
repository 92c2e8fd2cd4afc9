"""Refusals of the link protocol: one class per HTTP status, the protocol's error code on each.

A peer's push, pull, receipt or signed request that the protocol refuses raises one of these; the link
endpoints answer with its status and ``{"error": {"code", "message", "details"}}``. The status is fixed by
the class (as for every :class:`~sarhad.core.errors.SarhadError`); ``code`` is an :class:`ErrorCode` of the
protocol (``docs/exchange-protocol.md``).
"""

from __future__ import annotations

from typing import Self

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
