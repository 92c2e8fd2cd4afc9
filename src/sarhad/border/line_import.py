"""Importing an official border line: all or nothing, sections keep their place on the ground, the fence
follows the new line, and places that end up on the other side are reported.

Runs in the caller's transaction: any refusal raises before it commits, so the database stays as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.accounts.actors import Actor, require
from sarhad.accounts.domain import Permission
from sarhad.audit.services import record_event
from sarhad.border import domain, geo
from sarhad.border.models import BorderLine, BorderPost, BorderSection, CrossingSide
from sarhad.border.placement import bbox_values, line_of, place_fence, place_sections, sections_of
from sarhad.core.clock import Clock
from sarhad.core.errors import Conflict, ErrorCode, InvalidInput


@dataclass
class ImportReport:
    """The outcome of an import: the line, its length, the new section limits and the warnings."""

    line_id: str
    created: bool
    length_km: float
    sections: list[tuple[str, float, float]]  # id, start km, end km
    reversed: bool
    warnings: list[str]


def import_border_line(
    session: Session,
    clock: Clock,
    actor: Actor,
    text: str,
    *,
    source_name: str,
    line_id: str | None = None,
    left_party: str | None = None,
    right_party: str | None = None,
    reverse: bool = False,
    cut_points_km: Sequence[float] | None = None,
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

    Needs ``border.edit`` (the command line passes a ``SystemActor``).
    """
    require(actor, Permission.BORDER_EDIT, "editing the border model")
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
                    "no border line exists yet: give --left-party and --right-party",
                    code=ErrorCode.PARTIES_NEEDED,
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
                f"border line {line_id!r} is new: give --left-party and --right-party",
                code=ErrorCode.PARTIES_NEEDED,
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
            updated_by=actor.username,
            extra={},
            **bbox_values(geometry),
        )
        session.add(row)
        session.flush()
        sections = []
        for k in range(1, len(bounds)):
            section_id = f"{line_id}-S{k}"
            if session.get(BorderSection, section_id) is not None:
                raise Conflict(
                    f"section id {section_id} is taken by another line", code=ErrorCode.SECTION_EXISTS
                )
            section = _new_section(line_id, k)
            session.add(section)
            sections.append(section)
        created = True
    else:
        old_line = line_of(row)
        if domain.runs_reversed(old_line, line):
            raise InvalidInput(
                f"{source_name} runs the opposite way from the current line {line_id} (it starts near the current "
                "line's end); left and right would swap parties. Pass --reverse to flip it.",
                code=ErrorCode.REVERSED_LINE,
            )
        sections = sections_of(session, line_id)
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
        row.updated_at, row.updated_by = now, actor.username
        for name, value in bbox_values(geometry).items():
            setattr(row, name, value)
        if not sections:
            section = _new_section(line_id, 1)
            session.add(section)
            sections = [section]
        created = False

    try:
        place_sections(line, sections, bounds)
        session.flush()
        place_fence(session, line, sections)
    except geo.BorderGeometryError as exc:
        raise InvalidInput(
            f"cannot place the sections on the new line: {exc}", code=ErrorCode.BAD_CUT_POINTS
        ) from exc
    warnings += _side_warnings(session, row, line)
    record_event(
        session,
        clock,
        actor=actor.username,
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


def _new_section(line_id: str, seq: int) -> BorderSection:
    """Section ``<line>-S<seq>`` with no stretch yet; ``place_sections`` sets its limits and geometry."""
    return BorderSection(
        id=f"{line_id}-S{seq}",
        line_id=line_id,
        seq=seq,
        names={"en": f"Section {seq}"},
        extra={},
        start_m=0.0,
        end_m=0.0,
        length_m=0.0,
        geometry={},
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
