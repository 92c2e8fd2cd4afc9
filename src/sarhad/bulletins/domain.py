"""Pure rules of liaison bulletins: what a valid bulletin is, and what goes over the link. No I/O.

The same rules check a bulletin typed by a user here and one received from a peer, so a peer cannot make
this node store what its own users could not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sarhad.exchange.domain import Handling, Tlp

KIND = "bulletin"
TITLE_MAX = 200
BODY_MAX = 20_000  # characters; a bulletin is a notice, longer reports belong to intelligence reports
PLACE_NAME_MAX = 200
REASON_MAX = 2000

# TLP 2.0 from least to most restricted. A release may keep or tighten a bulletin's label, never loosen it.
TLP_ORDER: tuple[Tlp, ...] = (Tlp.CLEAR, Tlp.GREEN, Tlp.AMBER, Tlp.AMBER_STRICT, Tlp.RED)


class BulletinRuleError(ValueError):
    """A bulletin breaks a rule; ``field`` names the input to correct."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Place:
    name: str
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class BulletinFields:
    """A bulletin's content after every rule has passed (titles trimmed, times in UTC)."""

    title: str
    body: str
    place: Place | None
    valid_from: datetime | None
    valid_until: datetime | None


def check_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise BulletinRuleError("title", "a bulletin needs a title")
    if len(title) > TITLE_MAX:
        raise BulletinRuleError(
            "title", f"the title is {len(title)} characters; at most {TITLE_MAX} are allowed"
        )
    return title


def check_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise BulletinRuleError("body", "a bulletin needs a text")
    if len(body) > BODY_MAX:
        raise BulletinRuleError("body", f"the text is {len(body)} characters; at most {BODY_MAX} are allowed")
    return body


def check_place(name: str | None, lat: float | None, lon: float | None) -> Place | None:
    """No place, a named place, a point, or both; a point needs both coordinates in range."""
    name = " ".join((name or "").split())
    if len(name) > PLACE_NAME_MAX:
        raise BulletinRuleError("place.name", f"the place name is longer than {PLACE_NAME_MAX} characters")
    if (lat is None) != (lon is None):
        raise BulletinRuleError("place", "give both latitude and longitude, or neither")
    if lat is not None and lon is not None:
        if not math.isfinite(lat) or not -90.0 <= lat <= 90.0:
            raise BulletinRuleError("place.lat", f"latitude {lat} is outside -90 to 90")
        if not math.isfinite(lon) or not -180.0 <= lon <= 180.0:
            raise BulletinRuleError("place.lon", f"longitude {lon} is outside -180 to 180")
    if not name and lat is None:
        return None
    return Place(name=name, lat=lat, lon=lon)


def check_validity(
    valid_from: datetime | None, valid_until: datetime | None
) -> tuple[datetime | None, datetime | None]:
    for field, value in (("valid_from", valid_from), ("valid_until", valid_until)):
        if value is not None and value.tzinfo is None:
            raise BulletinRuleError(field, f"{field} needs a time zone (e.g. 2026-11-23T08:00:00+05:00)")
    start = valid_from.astimezone(UTC) if valid_from else None
    end = valid_until.astimezone(UTC) if valid_until else None
    if start is not None and end is not None and end <= start:
        raise BulletinRuleError(
            "valid_until", "the bulletin must be valid until a time after it becomes valid"
        )
    return start, end


def check_bulletin(
    *,
    title: str,
    body: str,
    place_name: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
) -> BulletinFields:
    """Every content rule of a bulletin; raises BulletinRuleError naming the first field that breaks one."""
    start, end = check_validity(valid_from, valid_until)
    return BulletinFields(
        title=check_title(title),
        body=check_body(body),
        place=check_place(place_name, lat, lon),
        valid_from=start,
        valid_until=end,
    )


def check_tlp(value: str) -> Tlp:
    try:
        return Tlp(value)
    except ValueError:
        raise BulletinRuleError(
            "tlp", f"TLP {value!r} is not a TLP 2.0 label; use one of {', '.join(t.value for t in Tlp)}"
        ) from None


def check_handling(value: str) -> Handling:
    try:
        return Handling(value)
    except ValueError:
        raise BulletinRuleError(
            "handling", f"handling {value!r} is not one of {', '.join(h.value for h in Handling)}"
        ) from None


def check_release_tlp(bulletin_tlp: str, release_tlp: str) -> Tlp:
    """A release keeps the bulletin's TLP or tightens it; it never loosens it."""
    current, wanted = check_tlp(bulletin_tlp), check_tlp(release_tlp)
    if TLP_ORDER.index(wanted) < TLP_ORDER.index(current):
        raise BulletinRuleError(
            "tlp",
            f"the bulletin is TLP:{current.value.upper()}; a release may not loosen it to "
            f"TLP:{wanted.value.upper()}",
        )
    return wanted


def check_onward_handling(received_handling: str, requested: str | None) -> Handling:
    """The handling of a relayed copy: the originator's (onward allowed), inherited by default.

    The exchange protocol (docs/exchange-protocol.md, applying a record) makes a receiver quarantine a record
    whose origin is not the link's sender unless its handling is ``onward_allowed``; so a relayed copy marked
    ``no_onward`` would be receipted but never shown at the third party. Refuse it here, openly.
    """
    handling = check_handling(requested or received_handling)
    if handling != Handling.ONWARD_ALLOWED and check_handling(received_handling) == Handling.ONWARD_ALLOWED:
        raise BulletinRuleError(
            "handling",
            "a bulletin passed on to a third party keeps its originator's handling 'onward release allowed'; "
            "the exchange protocol does not let a relaying party narrow it (the receiver would quarantine it)",
        )
    return handling


def check_release_targets(own_party: str, targets: list[str], peers: set[str]) -> list[str]:
    """The parties to release to: configured peers, not this node's own party. Sorted, without repeats."""
    wanted = sorted(set(targets))
    if own_party in wanted:
        raise BulletinRuleError("release_to", f"{own_party} is this node's own party; release to peers only")
    unknown = [p for p in wanted if p not in peers]
    if unknown:
        known = ", ".join(sorted(peers)) or "none"
        raise BulletinRuleError(
            "release_to", f"{', '.join(unknown)} is not a configured peer (configured peers: {known})"
        )
    return wanted


# --- the record content sent over the link ----------------------------------------------------------------


class BulletinLike(Protocol):
    title: str
    body: str
    place_name: str | None
    lat: float | None
    lon: float | None
    valid_from: datetime | None
    valid_until: datetime | None
    created_at: datetime
    updated_at: datetime


def iso(value: datetime | None) -> str | None:
    """An aware instant as ISO 8601 in UTC (``2026-11-23T08:00:00+00:00``), or None."""
    return value.astimezone(UTC).isoformat() if value is not None else None


def snapshot(bulletin: BulletinLike) -> dict[str, Any]:
    """The content of one version of a bulletin as released over the link: JSON-able, times in ISO UTC.

    TLP and handling are not in the content: they travel on the record itself and may differ per release.
    """
    place: dict[str, Any] | None = None
    if bulletin.place_name is not None or bulletin.lat is not None:
        place = {"name": bulletin.place_name or "", "lat": bulletin.lat, "lon": bulletin.lon}
    return {
        "title": bulletin.title,
        "body": bulletin.body,
        "place": place,
        "valid_from": iso(bulletin.valid_from),
        "valid_until": iso(bulletin.valid_until),
        "created_at": iso(bulletin.created_at),
        "updated_at": iso(bulletin.updated_at),
    }


def is_current(valid_from: datetime | None, valid_until: datetime | None, now: datetime) -> bool:
    """Whether a bulletin's validity period (open at either end when not given) includes ``now``."""
    return (valid_from is None or valid_from <= now) and (valid_until is None or now < valid_until)


CSV_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas in exported text (bulletins may come from another state's node)."""
    return "'" + value if value.startswith(CSV_FORMULA_PREFIXES) else value
