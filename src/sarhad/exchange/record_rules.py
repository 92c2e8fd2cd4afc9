"""Pure rules every shared record kind follows: labels, handling, release targets, withdrawal reasons. No I/O.

The database half of the lifecycle (access to one's own record, withdrawing, storing what peers send) is
``exchange.records``; these are the checks it and the kinds' services make, kept pure so they are unit-tested
without a node. Each raises :class:`~sarhad.core.errors.RuleError` naming the field to correct.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from sarhad.core.errors import RuleError
from sarhad.exchange.domain import Handling, Tlp

REASON_MAX: Final = 2000  # characters of a withdrawal reason

# TLP 2.0 from least to most restricted. A release may keep or tighten a record's label, never loosen it.
TLP_ORDER: Final[tuple[Tlp, ...]] = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED)


def content_time(value: datetime | None) -> str | None:
    """An aware instant as it is written into record content: ISO 8601 in UTC with ``+00:00``; None stays None.

    Not ``core.formats.iso_utc`` (``Z``): bulletins, requests, incidents and impact levels have always written
    ``+00:00`` into the content they hash and sign (impact's joint content is signed by both parties), and the
    same record must keep the same bytes on every node. The hotline's content has always used ``Z``
    (``iso_utc``); a receiver accepts either spelling.
    """
    return value.astimezone(UTC).isoformat() if value is not None else None


def check_tlp(value: str) -> Tlp:
    """A TLP 2.0 label by its code (``amber+strict``)."""
    try:
        return Tlp(value)
    except ValueError:
        raise RuleError(
            "tlp", f"TLP {value!r} is not a TLP 2.0 label; use one of {', '.join(t.value for t in Tlp)}"
        ) from None


def check_handling(value: str) -> Handling:
    """A handling code (``no_onward`` or ``onward_allowed``)."""
    try:
        return Handling(value)
    except ValueError:
        raise RuleError(
            "handling", f"handling {value!r} is not one of {', '.join(h.value for h in Handling)}"
        ) from None


def check_release_tlp(current: str, wanted: str, noun: str = "record") -> Tlp:
    """A release keeps the record's TLP or tightens it; it never loosens it."""
    have, want = check_tlp(current), check_tlp(wanted)
    if TLP_ORDER.index(want) < TLP_ORDER.index(have):
        raise RuleError(
            "tlp",
            f"the {noun} is TLP:{have.value.upper()}; a release may not loosen it to TLP:{want.value.upper()}",
        )
    return want


def check_onward_handling(received: str, requested: str | None, noun: str = "record") -> Handling:
    """The handling of a relayed copy: the originator's (onward allowed), inherited by default.

    The exchange protocol (docs/exchange-protocol.md, applying a record) makes a receiver quarantine a record
    whose origin is not the link's sender unless its handling is ``onward_allowed``; so a relayed copy marked
    ``no_onward`` would be receipted but never shown at the third party. Refuse it here, openly. A received
    ``no_onward`` record is left to the exchange, which refuses its onward release with its own message.
    """
    handling = check_handling(requested or received)
    if handling != Handling.ONWARD_ALLOWED and check_handling(received) == Handling.ONWARD_ALLOWED:
        raise RuleError(
            "handling",
            f"a {noun} passed on to a third party keeps its originator's handling 'onward release allowed'; "
            "the exchange protocol does not let a relaying party narrow it (the receiver would quarantine it)",
        )
    return handling


def check_release_targets(
    own_party: str, targets: Iterable[str], peers: set[str], field: str = "release_to"
) -> list[str]:
    """The parties to release to: at least one, configured peers only, never this node's own party.

    Sorted, without repeats.
    """
    wanted = sorted(set(targets))
    if not wanted:
        raise RuleError(field, "name at least one party to release to")
    if own_party in wanted:
        raise RuleError(field, f"{own_party} is this node's own party; release to peers only")
    unknown = [p for p in wanted if p not in peers]
    if unknown:
        known = ", ".join(sorted(peers)) or "none"
        raise RuleError(field, f"{', '.join(unknown)} is not a configured peer (configured peers: {known})")
    return wanted


def check_reason(reason: str, noun: str = "record") -> str:
    """A withdrawal's reason, trimmed: 1 to ``REASON_MAX`` characters (the receivers are told it)."""
    reason = reason.strip()
    if not reason or len(reason) > REASON_MAX:
        raise RuleError("reason", f"say why the {noun} is withdrawn (1 to {REASON_MAX} characters)")
    return reason


def received_reason(content: Mapping[str, Any]) -> str:
    """The reason carried by a received tombstone, cut to ``REASON_MAX`` (a peer may send anything)."""
    return str(content.get("reason", ""))[:REASON_MAX]
