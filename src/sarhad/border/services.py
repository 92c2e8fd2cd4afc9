"""The one write path of the border model, and its queries. API, pages, CLI and the demo all call these.

Writes happen in the caller's transaction (``node.transaction()``) and are audited there with
``record_event``, so a change and its audit entry commit or roll back together.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from typing import Any, TypeVar

from shapely.geometry import Point
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sarhad.accounts import services as accounts
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
from sarhad.border.schemas import (
    CrossingPatch,
    FencePatch,
    MarketPatch,
    RefCrossing,
    ReferenceScenario,
)
from sarhad.core.clock import Clock
from sarhad.core.errors import Conflict, ErrorCode, InvalidInput, NotFound, PermissionDenied
from sarhad.core.node import Node

REFERENCE_FILE = "pk_ir.json"
T = TypeVar("T")


def reference_data(name: str = REFERENCE_FILE) -> dict[str, Any]:
    """The built-in reference scenario (``sarhad/border/reference/<name>``) as a dict."""
    text = files("sarhad.border").joinpath("reference", name).read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


# ----------------------------------------------------------------------------------------------------
# small helpers


def _bbox_values(geometry: dict[str, Any] | None) -> dict[str, float | None]:
    if geometry is None:
        return {"min_lon": None, "min_lat": None, "max_lon": None, "max_lat": None}
    min_lon, min_lat, max_lon, max_lat = domain.bbox(domain.from_geojson(geometry))
    return {"min_lon": min_lon, "min_lat": min_lat, "max_lon": max_lon, "max_lat": max_lat}


def _point(location: Any) -> dict[str, Any] | None:
    if location is None:
        return None
    return {
        "type": "Point",
        "coordinates": [round(float(c), domain.COORDINATE_DECIMALS) for c in location.coordinates[:2]],
    }


@dataclass
class ChangeCount:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def _upsert(
    session: Session,
    model: type[T],
    key: Any,
    values: dict[str, Any],
    *,
    on_create: dict[str, Any] | None = None,
) -> tuple[T, str]:
    """Create the row, or set the values that differ; ``on_create`` values are only set on a new row."""
    row = session.get(model, key)
    if row is None:
        row = model(**values, **(on_create or {}))
        session.add(row)
        return row, "created"
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return row, "updated" if changed else "unchanged"


def _line_of(row: BorderLine) -> domain.Line:
    return domain.as_line(row.geometry)


def _sections_of(session: Session, line_id: str) -> list[BorderSection]:
    return list(
        session.scalars(
            select(BorderSection).where(BorderSection.line_id == line_id).order_by(BorderSection.seq)
        )
    )


def _place_sections(
    line: domain.Line, sections: Sequence[BorderSection], bounds_m: Sequence[float]
) -> set[str]:
    """Set each section's stretch and geometry from the bounds; returns the ids of sections that changed."""
    changed: set[str] = set()
    for section, start, end in zip(sections, bounds_m[:-1], bounds_m[1:], strict=True):
        geometry = domain.to_geojson(domain.substring_by_chainage(line, start, end))
        values: dict[str, Any] = {
            "start_m": round(start, 3),
            "end_m": round(end, 3),
            "length_m": round(end - start, 3),
            "geometry": geometry,
            **_bbox_values(geometry),
        }
        for name, value in values.items():
            if getattr(section, name) != value:
                setattr(section, name, value)
                changed.add(section.id)
    return changed


def _fence_geometry(
    line: domain.Line, section: BorderSection, start_fraction: float, end_fraction: float
) -> dict[str, Any]:
    start, end = domain.fence_stretch_m(section.start_m, section.end_m, start_fraction, end_fraction)
    return domain.to_geojson(domain.substring_by_chainage(line, start, min(end, section.end_m)))


def _place_fence(session: Session, line: domain.Line, sections: Sequence[BorderSection]) -> None:
    """Recompute geometry and geodesic length of every fence segment of the given sections."""
    by_id = {s.id: s for s in sections}
    for segment in session.scalars(select(FenceSegment).where(FenceSegment.section_id.in_(list(by_id)))):
        geometry = _fence_geometry(
            line, by_id[segment.section_id], segment.start_fraction, segment.end_fraction
        )
        length = round(domain.line_length_m(domain.as_line(geometry)), 3)
        if segment.geometry != geometry:
            segment.geometry = geometry
            for name, value in _bbox_values(geometry).items():
                setattr(segment, name, value)
        if segment.length_m != length:
            segment.length_m = length


# ----------------------------------------------------------------------------------------------------
# seeding the reference scenario


@dataclass
class SeedReport:
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


def seed_reference_scenario(
    session: Session, node: Node, data: dict[str, Any], *, actor: str = "seed"
) -> SeedReport:
    """Load a reference scenario (parties, outlines, line, sections, posts, crossings, markets, fence).

    Idempotent: a second run with the same data changes nothing (and writes no audit entry). Reference
    facts (names, places, sources) are refreshed on later runs; operational state that users edit
    (crossing status and hours, market status and days, fence status) is set only when a row is created.
    A border line imported from an official file is kept: its geometry and section limits are not
    replaced by the reference line. Positions are seeded for the node's own party only.
    """
    try:
        ref = ReferenceScenario.model_validate(data)
    except ValueError as exc:
        raise InvalidInput(f"the reference scenario is not valid: {exc}", code=ErrorCode.BAD_REFERENCE) from exc
    report = SeedReport()
    now = node.clock.now()

    for party in ref.parties:
        _, outcome = _upsert(
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
        _, outcome = _upsert(
            session,
            CountryOutline,
            outline.iso2,
            {
                "iso2": outline.iso2,
                "names": outline.names,
                "geometry": geometry,
                "extra": outline.extras,
                **_bbox_values(geometry),
            },
        )
        report.count("country_outlines").add(outcome)
    session.flush()

    line = _seed_line_and_sections(session, ref, report, now, actor)
    session.flush()

    for post in ref.posts:
        point = _point(post.location)
        _, outcome = _upsert(
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
                **_bbox_values(point),
            },
        )
        report.count("posts").add(outcome)

    for crossing in [*ref.crossings, *ref.local_corridors]:
        _seed_crossing(session, crossing, report)
    session.flush()

    for market in ref.markets:
        point = _point(market.location)
        _, outcome = _upsert(
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
                **_bbox_values(point),
            },
            on_create={"status": market.status, "schedule": market.schedule, "updated_by": ""},
        )
        report.count("markets").add(outcome)

    sections = {s.id: s for s in session.scalars(select(BorderSection))}
    for segment in ref.fence.segments:
        section = sections[segment.section]
        geometry = _fence_geometry(
            _line_for_section(session, section, line), section, segment.start_fraction, segment.end_fraction
        )
        _, outcome = _upsert(
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
                **_bbox_values(geometry),
            },
            on_create={"status": segment.status, "updated_by": ""},
        )
        report.count("fence_segments").add(outcome)
    session.flush()

    _seed_positions(session, node.party, ref, report)
    session.flush()

    if report.changed:
        record_event(
            session,
            node.clock,
            actor=actor,
            action="border.seed",
            record_kind="border.scenario",
            record_id=ref.id,
            details=report.as_dict(),
        )
    return report


def _line_for_section(session: Session, section: BorderSection, default: domain.Line) -> domain.Line:
    row = session.get(BorderLine, section.line_id)
    return _line_of(row) if row is not None else default


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
        line = _line_of(row)
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
            **_bbox_values(geometry),
        }
    row, outcome = _upsert(
        session, BorderLine, border.id, values, on_create={"updated_at": now, "updated_by": actor}
    )
    report.count("lines").add(outcome)
    session.flush()

    existing = {s.id: s for s in _sections_of(session, border.id)}
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
        for section_id in _place_sections(line, rows, bounds):
            if outcomes[section_id] == "unchanged":
                outcomes[section_id] = "updated"
    for outcome in outcomes.values():
        report.count("sections").add(outcome)
    return line


def _seed_crossing(session: Session, crossing: RefCrossing, report: SeedReport) -> None:
    extras = crossing.extras
    extras.pop("km_along_line", None)  # derived from the line; computed on demand
    _, outcome = _upsert(
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
        geometry = _point(side.location)
        _, outcome = _upsert(
            session,
            CrossingSide,
            (crossing.id, party),
            {
                "crossing_id": crossing.id,
                "party": party,
                "names": side.names,
                "geometry": geometry,
                "extra": side.extras,
                **_bbox_values(geometry),
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


def position_id_for_post(party: str, post_id: str) -> str:
    upper = post_id.upper()
    return upper if upper.startswith(f"{party}-") else f"{party}-{upper}"


def _seed_positions(session: Session, party: str, ref: ReferenceScenario, report: SeedReport) -> None:
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
                "position_id": position_id_for_post(party, post.id),
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
        accounts.upsert_position(session, **item)
        session.flush()  # parents before children (the parent is a foreign key)
        report.count("positions").add("created" if current is None else "updated")


# ----------------------------------------------------------------------------------------------------
# importing an official border line


@dataclass
class ImportReport:
    line_id: str
    created: bool
    length_km: float
    sections: list[tuple[str, float, float]]  # id, start km, end km
    reversed: bool
    warnings: list[str]


def import_border_line(
    session: Session,
    clock: Clock,
    text: str,
    *,
    source_name: str,
    line_id: str | None = None,
    left_party: str | None = None,
    right_party: str | None = None,
    reverse: bool = False,
    cut_points_km: Sequence[float] | None = None,
    actor: str = "cli",
) -> ImportReport:
    """Replace (or create) a border line from GeoJSON text; sections and fence follow the new line.

    Nothing is written unless the whole import succeeds: the text is parsed and every derived geometry is
    computed before the caller's transaction commits, and any refusal raises ``InvalidInput``.

    * Existing section limits keep their place on the ground (projected onto the new line), unless
      ``cut_points_km`` gives them anew (one fewer than there are sections).
    * A new line gets sections from ``cut_points_km`` (none: one section for the whole line).
    * A line that runs the opposite way from the current one is refused unless ``reverse`` flips it,
      because left/right decide which party a place belongs to.
    * Posts and crossing sides that fall on the other party's side of the new line are reported as
      warnings (not refused: an official line may well correct an estimated coordinate).
    """
    try:
        parsed = geo.parse_border_geojson(text)
    except geo.BorderGeometryError as exc:
        raise InvalidInput(
            f"{source_name} is not a usable border line: {exc}", code=ErrorCode.BAD_BORDER_GEOJSON
        ) from exc
    if reverse:
        parsed = domain.reverse_line(parsed)
    geometry = domain.to_geojson(parsed)
    line = domain.as_line(geometry)
    total = domain.line_length_m(line)

    lines = list(session.scalars(select(BorderLine).order_by(BorderLine.id)))
    if line_id is None:
        if len(lines) == 1:
            line_id = lines[0].id
        elif not lines:
            if not (left_party and right_party):
                raise InvalidInput(
                    "no border line exists yet: give --left-party and --right-party", code=ErrorCode.PARTIES_NEEDED
                )
            line_id = f"{left_party}-{right_party}"
        else:
            raise InvalidInput(
                f"there are several border lines ({', '.join(r.id for r in lines)}); say which with --line",
                code=ErrorCode.LINE_NEEDED,
            )
    row = session.get(BorderLine, line_id)
    warnings: list[str] = []
    now = clock.now()

    if row is None:
        if not (left_party and right_party):
            raise InvalidInput(
                f"border line {line_id!r} is new: give --left-party and --right-party", code=ErrorCode.PARTIES_NEEDED
            )
        if left_party == right_party:
            raise InvalidInput("the left and right parties must differ")
        try:
            bounds = domain.bounds_from_cut_points(cut_points_km or [], total)
        except geo.BorderGeometryError as exc:
            raise InvalidInput(str(exc), code=ErrorCode.BAD_CUT_POINTS) from exc
        row = BorderLine(
            id=line_id,
            names={"en": f"{left_party}–{right_party} border"},
            left_party=left_party,
            right_party=right_party,
            geometry=geometry,
            length_m=round(total, 3),
            source=f"import:{source_name}",
            updated_at=now,
            updated_by=actor,
            extra={},
            **_bbox_values(geometry),
        )
        session.add(row)
        session.flush()
        sections = []
        for k in range(1, len(bounds)):
            section_id = f"{line_id}-S{k}"
            if session.get(BorderSection, section_id) is not None:
                raise Conflict(f"section id {section_id} is taken by another line", code=ErrorCode.SECTION_EXISTS)
            section = BorderSection(
                id=section_id,
                line_id=line_id,
                seq=k,
                names={"en": f"Section {k}"},
                extra={},
                start_m=0.0,
                end_m=0.0,
                length_m=0.0,
                geometry={},
            )
            session.add(section)
            sections.append(section)
        created = True
    else:
        old_line = _line_of(row)
        if domain.runs_reversed(old_line, line):
            raise InvalidInput(
                f"{source_name} runs the opposite way from the current line {line_id} (it starts near the current "
                "line's end); left and right would swap parties. Pass --reverse to flip it.",
                code=ErrorCode.REVERSED_LINE,
            )
        sections = _sections_of(session, line_id)
        try:
            if cut_points_km is not None:
                if len(cut_points_km) != len(sections) - 1:
                    raise InvalidInput(
                        f"line {line_id} has {len(sections)} sections, so give {len(sections) - 1} cut points "
                        f"(got {len(cut_points_km)})",
                        code=ErrorCode.BAD_CUT_POINTS,
                    )
                bounds = domain.bounds_from_cut_points(cut_points_km, total)
            elif sections:
                bounds = domain.map_bounds(
                    old_line, [sections[0].start_m, *(s.end_m for s in sections)], line
                )
            else:
                bounds = [0.0, total]
        except geo.BorderGeometryError as exc:
            raise InvalidInput(str(exc), code=ErrorCode.BAD_CUT_POINTS) from exc
        if left_party and right_party:
            if left_party == right_party:
                raise InvalidInput("the left and right parties must differ")
            row.left_party, row.right_party = left_party, right_party
        row.geometry = geometry
        row.length_m = round(total, 3)
        row.source = f"import:{source_name}"
        row.updated_at, row.updated_by = now, actor
        for name, value in _bbox_values(geometry).items():
            setattr(row, name, value)
        if not sections:
            section = BorderSection(
                id=f"{line_id}-S1",
                line_id=line_id,
                seq=1,
                names={"en": "Section 1"},
                extra={},
                start_m=0.0,
                end_m=0.0,
                length_m=0.0,
                geometry={},
            )
            session.add(section)
            sections = [section]
        created = False

    try:
        _place_sections(line, sections, bounds)
        session.flush()
        _place_fence(session, line, sections)
    except geo.BorderGeometryError as exc:
        raise InvalidInput(
            f"cannot place the sections on the new line: {exc}", code=ErrorCode.BAD_CUT_POINTS
        ) from exc
    warnings += _side_warnings(session, row, line)
    record_event(
        session,
        clock,
        actor=actor,
        action="border.import",
        record_kind="border.line",
        record_id=line_id,
        details={
            "source": source_name,
            "created": created,
            "reversed": reverse,
            "length_km": round(total / 1000, 3),
            "sections": [[s.id, round(s.start_m / 1000, 3), round(s.end_m / 1000, 3)] for s in sections],
            "warnings": warnings[:50],
        },
    )
    return ImportReport(
        line_id=line_id,
        created=created,
        length_km=round(total / 1000, 3),
        sections=[(s.id, round(s.start_m / 1000, 3), round(s.end_m / 1000, 3)) for s in sections],
        reversed=reverse,
        warnings=warnings,
    )


def _side_warnings(session: Session, row: BorderLine, line: domain.Line) -> list[str]:
    parties = {row.left_party, row.right_party}
    out: list[str] = []
    places: list[tuple[str, str, dict[str, Any] | None]] = [
        (f"post {p.id}", p.party, p.geometry)
        for p in session.scalars(select(BorderPost).order_by(BorderPost.id))
    ]
    places += [
        (f"crossing {s.crossing_id} ({s.party} side)", s.party, s.geometry)
        for s in session.scalars(select(CrossingSide).order_by(CrossingSide.crossing_id, CrossingSide.party))
    ]
    for label, party, geometry in places:
        if geometry is None or party not in parties:
            continue
        side = geo.side_of_line(domain.from_geojson(geometry), line, row.left_party, row.right_party)
        if side != party:
            where = "on the line" if side == geo.ON_LINE else f"on the {side} side"
            out.append(f"{label} of {party} is {where} of the new line")
    return out


# ----------------------------------------------------------------------------------------------------
# queries


@dataclass(frozen=True)
class ListFilter:
    section: str | None = None
    party: str | None = None
    status: str | None = None
    kind: str | None = None
    bbox: tuple[float, float, float, float] | None = None


def _in_bbox(query: Select[Any], model: Any, box: tuple[float, float, float, float] | None) -> Select[Any]:
    if box is None:
        return query
    min_lon, min_lat, max_lon, max_lat = box
    return query.where(
        model.max_lon >= min_lon, model.min_lon <= max_lon, model.max_lat >= min_lat, model.min_lat <= max_lat
    )


def list_parties(session: Session) -> list[BorderParty]:
    return list(session.scalars(select(BorderParty).order_by(BorderParty.code)))


def list_outlines(session: Session, flt: ListFilter | None = None) -> list[CountryOutline]:
    flt = flt or ListFilter()
    query = _in_bbox(select(CountryOutline), CountryOutline, flt.bbox)
    if flt.party:
        query = query.where(CountryOutline.iso2 == flt.party)
    return list(session.scalars(query.order_by(CountryOutline.iso2)))


def list_lines(session: Session, flt: ListFilter | None = None) -> list[BorderLine]:
    flt = flt or ListFilter()
    query = _in_bbox(select(BorderLine), BorderLine, flt.bbox)
    if flt.party:
        query = query.where((BorderLine.left_party == flt.party) | (BorderLine.right_party == flt.party))
    return list(session.scalars(query.order_by(BorderLine.id)))


def list_sections(session: Session, flt: ListFilter | None = None) -> list[BorderSection]:
    flt = flt or ListFilter()
    query = _in_bbox(select(BorderSection), BorderSection, flt.bbox)
    if flt.section:
        query = query.where(BorderSection.id == flt.section)
    return list(session.scalars(query.order_by(BorderSection.line_id, BorderSection.seq)))


def list_posts(session: Session, flt: ListFilter | None = None) -> list[BorderPost]:
    flt = flt or ListFilter()
    query = _in_bbox(select(BorderPost), BorderPost, flt.bbox)
    if flt.section:
        query = query.where(BorderPost.section_id == flt.section)
    if flt.party:
        query = query.where(BorderPost.party == flt.party)
    if flt.kind:
        query = query.where(BorderPost.kind == flt.kind)
    return list(session.scalars(query.order_by(BorderPost.section_id, BorderPost.party, BorderPost.id)))


def list_crossings(
    session: Session, flt: ListFilter | None = None
) -> list[tuple[Crossing, list[CrossingSide]]]:
    """Crossings with their sides (ordered by party); a bbox keeps crossings with a side in it."""
    flt = flt or ListFilter()
    query = select(Crossing)
    if flt.section:
        query = query.where(Crossing.section_id == flt.section)
    if flt.status:
        query = query.where(Crossing.status == flt.status)
    if flt.kind:
        query = query.where(Crossing.kind == flt.kind)
    crossings = list(session.scalars(query.order_by(Crossing.kind.desc(), Crossing.section_id, Crossing.id)))
    sides: dict[str, list[CrossingSide]] = {}
    for side in session.scalars(select(CrossingSide).order_by(CrossingSide.crossing_id, CrossingSide.party)):
        sides.setdefault(side.crossing_id, []).append(side)
    out = []
    for crossing in crossings:
        mine = sides.get(crossing.id, [])
        if flt.party and not any(s.party == flt.party for s in mine):
            continue
        if flt.bbox is not None:
            lo_lon, lo_lat, hi_lon, hi_lat = flt.bbox
            if not any(
                s.min_lon is not None
                and s.max_lon is not None
                and s.min_lat is not None
                and s.max_lat is not None
                and s.max_lon >= lo_lon
                and s.min_lon <= hi_lon
                and s.max_lat >= lo_lat
                and s.min_lat <= hi_lat
                for s in mine
            ):
                continue
        out.append((crossing, mine))
    return out


def list_markets(session: Session, flt: ListFilter | None = None) -> list[Market]:
    flt = flt or ListFilter()
    query = _in_bbox(select(Market), Market, flt.bbox)
    if flt.section:
        query = query.where(Market.section_id == flt.section)
    if flt.status:
        query = query.where(Market.status == flt.status)
    if flt.party:
        query = query.where(Market.host_party == flt.party)
    return list(session.scalars(query.order_by(Market.section_id, Market.id)))


def list_fence_segments(session: Session, flt: ListFilter | None = None) -> list[FenceSegment]:
    flt = flt or ListFilter()
    query = _in_bbox(select(FenceSegment), FenceSegment, flt.bbox)
    if flt.section:
        query = query.where(FenceSegment.section_id == flt.section)
    if flt.party:
        query = query.where(FenceSegment.party == flt.party)
    if flt.status:
        query = query.where(FenceSegment.status == flt.status)
    segments = list(session.scalars(query))
    order = {s.id: s.seq for s in session.scalars(select(BorderSection))}
    return sorted(segments, key=lambda f: (order.get(f.section_id, 0), f.party, f.start_fraction))


def get_crossing(session: Session, crossing_id: str) -> Crossing:
    row = session.get(Crossing, crossing_id)
    if row is None:
        raise NotFound(f"no crossing point {crossing_id!r}")
    return row


def get_market(session: Session, market_id: str) -> Market:
    row = session.get(Market, market_id)
    if row is None:
        raise NotFound(f"no border market {market_id!r}")
    return row


def get_fence_segment(session: Session, segment_id: str) -> FenceSegment:
    row = session.get(FenceSegment, segment_id)
    if row is None:
        raise NotFound(f"no fence segment {segment_id!r}")
    return row


def line_parties(session: Session) -> list[str]:
    """Parties along the border lines, in line order (left, right), without repeats."""
    seen: dict[str, None] = {}
    for row in list_lines(session):
        seen.setdefault(row.left_party, None)
        seen.setdefault(row.right_party, None)
    return list(seen)


@dataclass
class ProgressReport:
    rows: list[domain.FenceProgress]
    totals: list[domain.FenceProgress]
    published: dict[str, Any]

    def for_section(self, section_id: str) -> dict[str, dict[str, Any]]:
        return {row.party: row.as_dict() for row in self.rows if row.section_id == section_id}

    def as_dict(self) -> dict[str, Any]:
        return {
            "sections": [row.as_dict() for row in self.rows],
            "totals": [row.as_dict() for row in self.totals],
            "published": self.published,
        }


def fence_progress(session: Session) -> ProgressReport:
    """Fence km by status per section and side, and per side in total (geodesic, from the geometry)."""
    sections = list_sections(session)
    segments = [
        domain.FenceSegmentFacts(s.section_id, s.party, s.status, s.length_m, s.reported_length_km)
        for s in session.scalars(select(FenceSegment))
    ]
    rows, totals = domain.fence_progress(
        segments, {s.id: s.length_m for s in sections}, line_parties(session)
    )
    published: dict[str, Any] = {}
    for line in list_lines(session):
        fence = (line.extra or {}).get("fence_published")
        if fence:
            published[line.id] = fence
    return ProgressReport(rows=rows, totals=totals, published=published)


@dataclass(frozen=True)
class Location:
    lon: float
    lat: float
    side: str  # a party code, or geo.ON_LINE
    line_id: str
    section_id: str | None
    distance_to_border_m: float
    chainage_km: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "lon": self.lon,
            "lat": self.lat,
            "side": self.side,
            "on_line": self.side == geo.ON_LINE,
            "line": self.line_id,
            "section": self.section_id,
            "distance_to_border_m": round(self.distance_to_border_m, 1),
            "chainage_km": round(self.chainage_km, 3),
        }


def locate(session: Session, lon: float, lat: float) -> Location:
    """Which side of the (nearest) border line a point is on, its nearest section and distance to the line."""
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InvalidInput("lat must be within [-90, 90] and lon within [-180, 180]")
    lines = list_lines(session)
    if not lines:
        raise NotFound(
            "no border line is loaded yet; seed the reference scenario or import a line", code=ErrorCode.NO_BORDER
        )
    point = Point(lon, lat)
    shapes = {row.id: _line_of(row) for row in lines}
    distances = {line_id: geo.distance_to_line_m(point, shape) for line_id, shape in shapes.items()}
    line_id = min(distances, key=lambda k: distances[k])
    row = next(r for r in lines if r.id == line_id)
    line = shapes[line_id]
    side = geo.side_of_line(point, line, row.left_party, row.right_party)
    sections = {
        s.id: domain.as_line(s.geometry)
        for s in _sections_of(session, line_id)
        if s.geometry.get("coordinates")
    }
    section_id = geo.nearest_section(point, sections)[0] if sections else None
    return Location(
        lon=lon,
        lat=lat,
        side=side,
        line_id=line_id,
        section_id=section_id,
        distance_to_border_m=distances[line_id],
        chainage_km=domain.chainage_of_point(line, point) / 1000,
    )


def chainage_km_of(session: Session, geometry: dict[str, Any] | None, cache: dict[str, Any]) -> float | None:
    """Chainage (km) of a point on the nearest border line, or None without geometry or line."""
    if geometry is None:
        return None
    if "lines" not in cache:
        cache["lines"] = [_line_of(r) for r in list_lines(session)]
    lines = cache["lines"]
    if not lines:
        return None
    point = domain.from_geojson(geometry)
    line = min(lines, key=lambda ln: geo.distance_to_line_m(point, ln))
    return round(domain.chainage_of_point(line, point) / 1000, 3)


# ----------------------------------------------------------------------------------------------------
# edits


def _may_edit(owner_party: str, node_party: str, what: str) -> None:
    """Only the owner's node writes a party's own record (the other side's copy is theirs to change)."""
    if owner_party != node_party:
        raise PermissionDenied(
            f"{what} belongs to {owner_party}; it is changed on {owner_party}'s node, not on this {node_party} node",
            code=ErrorCode.NOT_OWNER,
        )


def _in_scope(scope_sections: Sequence[str], section_id: str | None, what: str) -> None:
    if scope_sections and section_id not in scope_sections:
        raise PermissionDenied(
            f"{what} is in section {section_id or '(none)'}, outside your sections ({', '.join(scope_sections)})",
            code=ErrorCode.OUT_OF_SCOPE,
        )


def update_crossing(
    session: Session,
    node: Node,
    crossing_id: str,
    patch: CrossingPatch,
    *,
    actor: str,
    scope_sections: Sequence[str] = (),
    client_ip: str = "",
) -> Crossing:
    """Set a crossing's status and/or opening hours. Both sides run a crossing, so either node may."""
    row = get_crossing(session, crossing_id)
    _in_scope(scope_sections, row.section_id, f"crossing {crossing_id}")
    before = {"status": row.status, "hours": row.hours}
    if patch.status is not None:
        row.status = patch.status
    if patch.hours is not None:
        row.hours = patch.hours.stored()
    after = {"status": row.status, "hours": row.hours}
    row.updated_at, row.updated_by = node.clock.now(), actor
    record_event(
        session,
        node.clock,
        actor=actor,
        action="border.crossing.update",
        record_kind="border.crossing",
        record_id=crossing_id,
        client_ip=client_ip,
        details={"before": before, "after": after, "reason": patch.reason},
    )
    return row


def update_fence_segment(
    session: Session,
    node: Node,
    segment_id: str,
    patch: FencePatch,
    *,
    actor: str,
    scope_sections: Sequence[str] = (),
    client_ip: str = "",
) -> FenceSegment:
    """Set the status of one of this node's party's fence segments."""
    row = get_fence_segment(session, segment_id)
    _may_edit(row.party, node.party, f"fence segment {segment_id}")
    _in_scope(scope_sections, row.section_id, f"fence segment {segment_id}")
    before = row.status
    row.status = patch.status
    row.updated_at, row.updated_by = node.clock.now(), actor
    record_event(
        session,
        node.clock,
        actor=actor,
        action="border.fence.update",
        record_kind="border.fence_segment",
        record_id=segment_id,
        client_ip=client_ip,
        details={"before": {"status": before}, "after": {"status": row.status}, "reason": patch.reason},
    )
    return row


def update_market(
    session: Session,
    node: Node,
    market_id: str,
    patch: MarketPatch,
    *,
    actor: str,
    scope_sections: Sequence[str] = (),
    client_ip: str = "",
) -> Market:
    """Set a market's status and/or market days; only the host party's node may."""
    row = get_market(session, market_id)
    _may_edit(row.host_party, node.party, f"market {market_id}")
    _in_scope(scope_sections, row.section_id, f"market {market_id}")
    before = {"status": row.status, "schedule": row.schedule}
    if patch.status is not None:
        row.status = patch.status
    if patch.schedule is not None:
        row.schedule = patch.schedule.stored()
    after = {"status": row.status, "schedule": row.schedule}
    row.updated_at, row.updated_by = node.clock.now(), actor
    record_event(
        session,
        node.clock,
        actor=actor,
        action="border.market.update",
        record_kind="border.market",
        record_id=market_id,
        client_ip=client_ip,
        details={"before": before, "after": after, "reason": patch.reason},
    )
    return row
