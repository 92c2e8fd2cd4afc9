"""Pure rules of liaison bulletins: what a valid bulletin is, and what goes over the link. No I/O.

The same rules check a bulletin typed by a user here and one received from a peer, so a peer cannot make
this node store what its own users could not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sarhad.core import text
from sarhad.core.errors import RuleError
from sarhad.exchange.record_rules import content_time

KIND = "bulletin"
TITLE_MAX = 200
BODY_MAX = 20_000  # characters; a bulletin is a notice, longer reports belong to intelligence reports
PLACE_NAME_MAX = 200


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
        raise RuleError("title", "a bulletin needs a title")
    if len(title) > TITLE_MAX:
        raise RuleError("title", f"the title is {len(title)} characters; at most {TITLE_MAX} are allowed")
    text.check_title(title, "title")  # no bidi overrides (sarhad.core.text)
    return title


def check_body(body: str) -> str:
    body = body.strip()
    if not body:
        raise RuleError("body", "a bulletin needs a text")
    if len(body) > BODY_MAX:
        raise RuleError("body", f"the text is {len(body)} characters; at most {BODY_MAX} are allowed")
    return body


def check_place(name: str | None, lat: float | None, lon: float | None) -> Place | None:
    """No place, a named place, a point, or both; a point needs both coordinates in range."""
    name = " ".join((name or "").split())
    if len(name) > PLACE_NAME_MAX:
        raise RuleError("place.name", f"the place name is longer than {PLACE_NAME_MAX} characters")
    if (lat is None) != (lon is None):
        raise RuleError("place", "give both latitude and longitude, or neither")
    if lat is not None and lon is not None:
        if not math.isfinite(lat) or not -90.0 <= lat <= 90.0:
            raise RuleError("place.lat", f"latitude {lat} is outside -90 to 90")
        if not math.isfinite(lon) or not -180.0 <= lon <= 180.0:
            raise RuleError("place.lon", f"longitude {lon} is outside -180 to 180")
    if not name and lat is None:
        return None
    return Place(name=name, lat=lat, lon=lon)


def check_validity(
    valid_from: datetime | None, valid_until: datetime | None
) -> tuple[datetime | None, datetime | None]:
    for field, value in (("valid_from", valid_from), ("valid_until", valid_until)):
        if value is not None and value.tzinfo is None:
            raise RuleError(field, f"{field} needs a time zone (e.g. 2026-11-23T08:00:00+05:00)")
    start = valid_from.astimezone(UTC) if valid_from else None
    end = valid_until.astimezone(UTC) if valid_until else None
    if start is not None and end is not None and end <= start:
        raise RuleError("valid_until", "the bulletin must be valid until a time after it becomes valid")
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
    """Every content rule of a bulletin; raises RuleError naming the first field that breaks one."""
    start, end = check_validity(valid_from, valid_until)
    return BulletinFields(
        title=check_title(title),
        body=check_body(body),
        place=check_place(place_name, lat, lon),
        valid_from=start,
        valid_until=end,
    )


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


def snapshot(bulletin: BulletinLike) -> dict[str, Any]:
    """The content of one version of a bulletin as released over the link: JSON-able, times in ISO UTC
    (``+00:00``, as bulletins have always been signed: ``record_rules.content_time``).

    TLP and handling are not in the content: they travel on the record itself and may differ per release.
    """
    place: dict[str, Any] | None = None
    if bulletin.place_name is not None or bulletin.lat is not None:
        place = {"name": bulletin.place_name or "", "lat": bulletin.lat, "lon": bulletin.lon}
    return {
        "title": bulletin.title,
        "body": bulletin.body,
        "place": place,
        "valid_from": content_time(bulletin.valid_from),
        "valid_until": content_time(bulletin.valid_until),
        "created_at": content_time(bulletin.created_at),
        "updated_at": content_time(bulletin.updated_at),
    }


def is_current(valid_from: datetime | None, valid_until: datetime | None, now: datetime) -> bool:
    """Whether a bulletin's validity period (open at either end when not given) includes ``now``."""
    return (valid_from is None or valid_from <= now) and (valid_until is None or now < valid_until)
