"""The protocol's refusal: :class:`ProtocolError` with a stable code from :data:`ERROR_CODES`."""

from __future__ import annotations

from typing import Final

ERROR_CODES: Final = frozenset(
    {
        "malformed",  # a field is missing, of the wrong type or format, or an unknown field is present
        "bad_hash",  # the stated hash is not the hash of the content
        "unknown_key",  # the signing key's fingerprint is not among the keys given
        "wrong_key",  # the key is known but not the one allowed here (other party, rotated away)
        "bad_signature",  # the signature does not verify with the named key
        "bad_link",  # the link (or the receipt's party) is not the one expected
        "seq_gap",  # seq is not last seq + 1
        "bad_prev",  # prev is not the hash of the previous envelope
        "equivocation",  # two different envelopes for the same (link, seq)
        "stale_request",  # a signed request's time is outside the allowed skew
        "bad_rotation",  # a key_rotation record is inconsistent
        "too_deep",  # objects and arrays nested deeper than the limit (canonical.MAX_DEPTH)
        "unsafe_number",  # a number outside ±(2^53 − 1), or not finite
        "duplicate_member",  # an object names one member twice
    }
)
"""Codes raised by this module. The ledger verifier adds a few of its own (see ``sarhad.exchange.ledger``)."""


class ProtocolError(Exception):
    """A message from (or for) a peer that the protocol refuses.

    ``code`` is stable snake_case for programs (one of :data:`ERROR_CODES` or a ledger code), ``message`` is
    for people and names the offending field, ``seq`` is the envelope or receipt seq concerned, if known.
    """

    def __init__(self, code: str, message: str, seq: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.seq = seq

    def __repr__(self) -> str:
        return f"ProtocolError(code={self.code!r}, message={self.message!r}, seq={self.seq!r})"


def malformed(message: str, seq: int | None = None) -> ProtocolError:
    return ProtocolError("malformed", message, seq)
