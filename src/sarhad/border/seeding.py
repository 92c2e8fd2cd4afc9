"""Seeding a reference scenario: parties, outlines, the line and its sections, posts, crossings, markets,
fence, and the positions of this node's party.

Idempotent: a second run with the same data changes no row and writes no audit entry. Runs in the caller's
transaction, audited there with ``record_event``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.accounts.models import Position
from sarhad.audit.services import record_event
from sarhad.border import domain, geo
from sarhad.border.models import (
    BorderLine,
    BorderParty,
    BorderPost,
    BorderSection,
    CountryOutline,
    Crossing,
    CrossingSide,
    FenceSegment,
    Market,
)
from sarhad.border.placement import (
    ChangeCount,
    bbox_values,
    fence_geometry,
    line_of,
    place_sections,
    point_geometry,
    sections_of,
    upsert,
)
from sarhad.border.schemas import RefCrossing, ReferenceScenario
from sarhad.core.errors import ErrorCode, InvalidInput
from sarhad.core.node import Node

REFERENCE_FILE = "pk_ir.json"


def reference_data(name: str = REFERENCE_FILE) -> dict[str, Any]:
    """The built-in reference scenario (``sarhad/border/reference/<name>``) as a dict."""
    text = files("sarhad.border").joinpath("reference", name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass
class SeedReport:
    """What a seeding run created, updated and left unchanged, per kind of row."""

    counts: dict[str, ChangeCount] = field(default_factory=dict)

    def count(self, kind: str) -> ChangeCount:
        return self.counts.setdefault(kind, ChangeCount())

    @property
    def changed(self) -> bool:
        return any(c.changed for c in self.counts.values())

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            k: {"created": c.created, "updated": c.updated, "unchanged": c.unchanged}
            for k, c in self.counts.items()
        }


def seed_reference_scenario(session: Session, node: Node, actor: Actor, data: dict[str, Any]) -> SeedReport:
    """Load a reference scenario (parties, outlines, line, sections, posts, crossings, markets, fence).

    Idempotent: a second run with the same data changes nothing (and writes no audit entry). Reference
    facts (names, places, sources) are refreshed on later runs; operational state that users edit
    (crossing status and hours, market status and days, fence status) is set only when a row is created.
    A border line imported from an official file is kept: its geometry and section limits are not
    replaced by the reference line. Positions are seeded for the node's own party only.
    Needs ``border.edit`` (the command line and the demo pass a ``SystemActor``).
    """
    require(actor, Permission.BORDER_EDIT, "editing the border model")
    try:
        ref = ReferenceScenario.model_validate(data)
    except ValueError as exc:
        raise InvalidInput(
            f"the reference scenario is not valid: {exc}", code=ErrorCode.BAD_REFERENCE
        ) from exc
    report = SeedReport()
    now = node.clock.now()

    for party in ref.parties:
        _, outcome = upsert(
            session,
            BorderParty,
            party.code,
            {
                "code": party.code,
                "names": party.names,
                "time_zone": party.time_zone,
                "calendar": party.calendar,
                "languages": party.languages,
                "extra": party.extras,
            },
        )
        report.count("parties").add(outcome)

    for outline in ref.country_outlines:
        geometry = domain.to_geojson(domain.from_geojson(outline.geometry))
        _, outcome = upsert(
            session,
            CountryOutline,
            outline.iso2,
            {
                "iso2": outline.iso2,
                "names": outline.names,
                "geometry": geometry,
                "extra": outline.extras,
                **bbox_values(geometry),
            },
        )
        report.count("country_outlines").add(outcome)
    session.flush()

    line = _seed_line_and_sections(session, ref, report, now, actor.username)
    session.flush()

    for post in ref.posts:
        point = point_geometry(post.location)
        _, outcome = upsert(
            session,
            BorderPost,
            post.id,
            {
                "id": post.id,
                "party": post.party,
                "section_id": post.section,
                "kind": post.kind,
                "names": post.names,
                "geometry": point,
                "extra": post.extras,
                **bbox_values(point),
            },
        )
        report.count("posts").add(outcome)

    for crossing in [*ref.crossings, *ref.local_corridors]:
        _seed_crossing(session, crossing, report)
    session.flush()

    for market in ref.markets:
        point = point_geometry(market.location)
        _, outcome = upsert(
            session,
            Market,
            market.id,
            {
                "id": market.id,
                "crossing_id": market.crossing,
                "section_id": market.section,
                "host_party": market.host_party,
                "names": market.names,
                "inaugurated": market.inaugurated,
                "geometry": point,
                "extra": market.extras,
                **bbox_values(point),
            },
            on_create={"status": market.status, "schedule": market.schedule, "updated_by": ""},
        )
        report.count("markets").add(outcome)

    sections = {s.id: s for s in session.scalars(select(BorderSection))}
    for segment in ref.fence.segments:
        section = sections[segment.section]
        geometry = fence_geometry(
            _line_for_section(session, section, line), section, segment.start_fraction, segment.end_fraction
        )
        _, outcome = upsert(
            session,
            FenceSegment,
            segment.id,
            {
                "id": segment.id,
                "party": segment.party,
                "section_id": segment.section,
                "start_fraction": segment.start_fraction,
                "end_fraction": segment.end_fraction,
                "length_m": round(domain.line_length_m(domain.as_line(geometry)), 3),
                "reported_length_km": segment.length_km,
                "geometry": geometry,
                "extra": segment.extras,
                **bbox_values(geometry),
            },
            on_create={"status": segment.status, "updated_by": ""},
        )
        report.count("fence_segments").add(outcome)
    session.flush()

    _seed_positions(session, actor, node.party, ref, report)
    session.flush()

    if report.changed:
        record_event(
            session,
            node.clock,
            actor=actor.username,
            action="border.seed",
            record_kind="border.scenario",
            record_id=ref.id,
            details=report.as_dict(),
        )
    return report


def _line_for_section(session: Session, section: BorderSection, default: domain.Line) -> domain.Line:
    row = session.get(BorderLine, section.line_id)
    return line_of(row) if row is not None else default


def _seed_line_and_sections(
    session: Session, ref: ReferenceScenario, report: SeedReport, now: datetime, actor: str
) -> domain.Line:
    border = ref.border
    source = f"reference:{ref.id}"
    extra = border.extras
    published = {
        key.removesuffix("_published").upper(): value
        for key, value in ref.fence.extras.items()
        if key.endswith("_published") and isinstance(value, dict)
    }
    if published:
        extra["fence_published"] = published
    row = session.get(BorderLine, border.id)
    keep_geometry = row is not None and row.source != source
    if keep_geometry:
        assert row is not None
        line = line_of(row)
        values: dict[str, Any] = {"names": border.names, "extra": extra}
    else:
        try:
            parsed = geo.parse_border_geojson(json.dumps(border.geometry))
        except geo.BorderGeometryError as exc:
            raise InvalidInput(
                f"the reference border line is not usable: {exc}", code=ErrorCode.BAD_REFERENCE
            ) from exc
        geometry = domain.to_geojson(parsed)
        line = domain.as_line(geometry)
        values = {
            "id": border.id,
            "names": border.names,
            "left_party": border.left_party,
            "right_party": border.right_party,
            "geometry": geometry,
            "length_m": round(domain.line_length_m(line), 3),
            "source": source,
            "extra": extra,
            **bbox_values(geometry),
        }
    row, outcome = upsert(
        session, BorderLine, border.id, values, on_create={"updated_at": now, "updated_by": actor}
    )
    report.count("lines").add(outcome)
    session.flush()

    existing = {s.id: s for s in sections_of(session, border.id)}
    rows: list[BorderSection] = []
    outcomes: dict[str, str] = {}
    for section in sorted(ref.sections, key=lambda s: s.order):
        extras = section.extras
        for derived in (
            "start_km",
            "end_km",
            "length_km",
        ):  # derived from the line; kept as the source gave them
            if derived in extras:
                extras[f"reference_{derived}"] = extras.pop(derived)
        current = existing.get(section.id)
        if current is None:
            if keep_geometry:
                raise InvalidInput(
                    f"the reference scenario adds section {section.id} to line {border.id}, which was imported "
                    "from an official file; import the line again with --cut-km to place the sections",
                    code=ErrorCode.SECTIONS_CHANGED,
                )
            current = BorderSection(
                id=section.id,
                line_id=border.id,
                seq=section.order,
                names=section.names,
                extra=extras,
                start_m=0.0,
                end_m=0.0,
                length_m=0.0,
                geometry={},
            )
            session.add(current)
            outcomes[section.id] = "created"
        else:
            outcomes[section.id] = "unchanged"
            for name, value in (("seq", section.order), ("names", section.names), ("extra", extras)):
                if getattr(current, name) != value:
                    setattr(current, name, value)
                    outcomes[section.id] = "updated"
        rows.append(current)
    if not keep_geometry:
        try:
            bounds = domain.bounds_from_cut_points(border.cut_points_km, domain.line_length_m(line))
        except geo.BorderGeometryError as exc:
            raise InvalidInput(
                f"the reference section limits are not usable: {exc}", code=ErrorCode.BAD_REFERENCE
            ) from exc
        for section_id in place_sections(line, rows, bounds):
            if outcomes[section_id] == "unchanged":
                outcomes[section_id] = "updated"
    for outcome in outcomes.values():
        report.count("sections").add(outcome)
    return line


def _seed_crossing(session: Session, crossing: RefCrossing, report: SeedReport) -> None:
    extras = crossing.extras
    extras.pop("km_along_line", None)  # derived from the line; computed on demand
    _, outcome = upsert(
        session,
        Crossing,
        crossing.id,
        {
            "id": crossing.id,
            "section_id": crossing.section,
            "kind": crossing.kind,
            "names": crossing.names,
            "modes": list(crossing.modes),
            "opened": crossing.opened,
            "extra": extras,
        },
        on_create={"status": crossing.status, "hours": crossing.hours, "updated_by": ""},
    )
    report.count("crossings").add(outcome)
    session.flush()
    for party, side in crossing.sides.items():
        geometry = point_geometry(side.location)
        _, outcome = upsert(
            session,
            CrossingSide,
            (crossing.id, party),
            {
                "crossing_id": crossing.id,
                "party": party,
                "names": side.names,
                "geometry": geometry,
                "extra": side.extras,
                **bbox_values(geometry),
            },
        )
        report.count("crossing_sides").add(outcome)


MINISTRY_NAMES = {"en": "Ministry of Interior", "ur": "وزارتِ داخلہ", "fa": "وزارت کشور"}
COMMANDER_NAMES = {"en": "Sector commander", "ur": "سیکٹر کمانڈر", "fa": "فرمانده بخش مرزی"}
DUTY_OFFICER_NAMES = {"en": "Duty officer", "ur": "ڈیوٹی افسر", "fa": "افسر نگهبان"}


def _compose(
    prefix: dict[str, str], *parts: dict[str, str], bracket: dict[str, str] | None = None
) -> dict[str, str]:
    out: dict[str, str] = {}
    for lang, head in prefix.items():
        separator = "، " if lang in ("ur", "fa") else ", "
        text = head
        for part in parts:
            text += separator + (part.get(lang) or part.get("en", ""))
        if bracket is not None:
            text += f" ({bracket.get(lang) or bracket.get('en', '')})"
        out[lang] = text
    return out


def _seed_positions(
    session: Session, actor: Actor, party: str, ref: ReferenceScenario, report: SeedReport
) -> None:
    """Ministry, a sector commander per section and a duty officer per post, for this node's party only."""
    me = next((p for p in ref.parties if p.code == party), None)
    if me is None:
        return
    wanted: list[dict[str, Any]] = [
        {
            "position_id": f"{party}-MOI",
            "party": party,
            "names": _compose(MINISTRY_NAMES, bracket=me.names),
            "kind": "ministry",
            "section_id": None,
            "parent_id": None,
        }
    ]
    for section in sorted(ref.sections, key=lambda s: s.order):
        wanted.append(
            {
                "position_id": f"{party}-{section.id}-CDR",
                "party": party,
                "names": _compose(
                    {lang: f"{head} {section.id}" for lang, head in COMMANDER_NAMES.items()},
                    section.names,
                    bracket=me.names,
                ),
                "kind": "commander",
                "section_id": section.id,
                "parent_id": f"{party}-MOI",
            }
        )
    for post in ref.posts:
        if post.party != party:
            continue
        wanted.append(
            {
                "position_id": domain.position_id_for_post(party, post.id),
                "party": party,
                "names": _compose(DUTY_OFFICER_NAMES, post.names),
                "kind": "post",
                "section_id": post.section,
                "parent_id": f"{party}-{post.section}-CDR" if post.section else f"{party}-MOI",
            }
        )
    for item in wanted:
        current = session.get(Position, item["position_id"])
        same = current is not None and (
            current.party,
            current.names,
            current.kind,
            current.section_id,
            current.parent_id,
        ) == (item["party"], item["names"], item["kind"], item["section_id"], item["parent_id"])
        if same:
            report.count("positions").add("unchanged")
            continue
        accounts.upsert_position(session, actor, **item)
        session.flush()  # parents before children (the parent is a foreign key)
        report.count("positions").add("created" if current is None else "updated")
