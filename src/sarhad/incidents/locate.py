"""Side of the border and nearest section of many points, fast: the border is loaded once, then each point
costs a few vectorised operations on the line's vertices.

``sarhad.border.queries.locate`` is the authoritative single-point answer (geodesic, densified line); this
locator gives the same side (it uses the same local-plane rule as ``border.geo.side_of_line``) and the same
section except within a few hundred metres of a section limit, and a distance to the line accurate to a
fraction of a percent (local equirectangular plane). It serves bulk import, the demo and the benchmark, where
``locate`` (milliseconds per point) would be far too slow. A test compares the two. ``place_of`` is the
single-point answer the services use for an incident typed in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pyproj import Geod
from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.border import domain as border_domain
from sarhad.border import queries as border
from sarhad.border.geo import ON_LINE, _local_xy, _nearest_segment, _side_sign
from sarhad.border.models import BorderLine, BorderSection
from sarhad.core.errors import NotFound

_GEOD = Geod(ellps="WGS84")
_M_PER_DEG = 111_195.0  # metres per degree on the mean-radius sphere (local plane scale)


@dataclass(frozen=True)
class Place:
    side: str | None  # a party code, "ON_LINE", or None without a border
    section_id: str | None
    distance_to_border_m: float | None


def place_of(session: Session, lat: float, lon: float) -> Place:
    """The authoritative place of one point (``border.queries.place_of_point``); all None without a border line."""
    try:
        where = border.place_of_point(session, lon, lat)
    except NotFound:
        return Place(None, None, None)
    return Place(where.side, where.section_id, where.distance_to_border_m)


@dataclass
class _Part:
    xy: NDArray[np.float64]
    cum: NDArray[np.float64]  # chainage (m) at each vertex, including the offset of earlier parts
    seg: NDArray[np.float64]  # geodesic length of each segment


@dataclass
class _Line:
    left: str
    right: str
    parts: list[_Part]
    sections: list[tuple[float, float, str]]  # (start_m, end_m, id) in chainage order


class BorderLocator:
    """Built once from the database (``BorderLocator.load``); ``place(lon, lat)`` per point."""

    def __init__(self, lines: list[_Line]) -> None:
        self._lines = lines

    @classmethod
    def load(cls, session: Session) -> BorderLocator:
        lines = []
        for row in session.scalars(select(BorderLine).order_by(BorderLine.id)):
            parts = []
            offset = 0.0
            for part in border_domain.parts_of(border_domain.as_line(row.geometry)):
                xy = np.asarray(part.coords, dtype=np.float64)[:, :2]
                if len(xy) < 2:
                    continue
                _, _, dist = _GEOD.inv(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1])
                seg = np.asarray(dist, dtype=np.float64)
                cum = offset + np.concatenate([[0.0], np.cumsum(seg)])
                parts.append(_Part(xy=xy, cum=cum, seg=seg))
                offset = float(cum[-1])
            sections = [
                (float(s.start_m), float(s.end_m), s.id)
                for s in session.scalars(
                    select(BorderSection).where(BorderSection.line_id == row.id).order_by(BorderSection.seq)
                )
            ]
            if parts:
                lines.append(_Line(row.left_party, row.right_party, parts, sections))
        return cls(lines)

    @property
    def empty(self) -> bool:
        return not self._lines

    def places(self, lons: Sequence[float], lats: Sequence[float]) -> list[Place]:
        """``place`` for many points at once: the nearest segment is found for all points in one array
        operation per line part; only points whose nearest spot is a vertex take the scalar side rule."""
        n = len(lons)
        if n == 0:
            return []
        if not self._lines:
            return [Place(None, None, None)] * n
        px = np.asarray(lons, dtype=np.float64)[:, None]
        py = np.asarray(lats, dtype=np.float64)[:, None]
        k = np.cos(np.radians(py))
        best_d2 = np.full(n, np.inf)
        best: list[tuple[int, int] | None] = [None] * n
        best_i = np.zeros(n, dtype=np.int64)
        best_t = np.zeros(n)
        for li, line in enumerate(self._lines):
            for pi, part in enumerate(line.parts):
                ax = (part.xy[:-1, 0][None, :] - px) * k
                ay = part.xy[:-1, 1][None, :] - py
                bx = (part.xy[1:, 0][None, :] - px) * k
                by = part.xy[1:, 1][None, :] - py
                abx, aby = bx - ax, by - ay
                length2 = abx * abx + aby * aby
                t = np.clip(-(ax * abx + ay * aby) / length2, 0.0, 1.0)
                nx, ny = ax + t * abx, ay + t * aby
                d2 = nx * nx + ny * ny
                i = np.argmin(d2, axis=1)
                rows = np.arange(n)
                dmin = d2[rows, i]
                better = dmin < best_d2
                best_d2 = np.where(better, dmin, best_d2)
                best_i = np.where(better, i, best_i)
                best_t = np.where(better, t[rows, i], best_t)
                for hit in np.nonzero(better)[0].tolist():
                    best[hit] = (li, pi)
        result = []
        xs = [float(v) for v in lons]
        ys = [float(v) for v in lats]
        for r in range(n):
            where = best[r]
            assert where is not None
            line = self._lines[where[0]]
            part = line.parts[where[1]]
            seg_i, seg_t = int(best_i[r]), float(best_t[r])
            lon, lat = xs[r], ys[r]
            distance = math.sqrt(float(best_d2[r])) * _M_PER_DEG
            if distance < 1e-4:
                side = ON_LINE
            else:
                last = len(part.xy) - 2
                if (seg_t <= 0.0 and seg_i > 0) or (seg_t >= 1.0 and seg_i < last):
                    sign = _side_sign(_local_xy(part.xy, lon, lat), seg_i, seg_t)
                else:
                    kx = math.cos(math.radians(lat))
                    ax_ = (float(part.xy[seg_i, 0]) - lon) * kx
                    ay_ = float(part.xy[seg_i, 1]) - lat
                    bx_ = (float(part.xy[seg_i + 1, 0]) - lon) * kx
                    by_ = float(part.xy[seg_i + 1, 1]) - lat
                    sign = (bx_ - ax_) * (-ay_) - (by_ - ay_) * (-ax_)
                side = line.left if sign > 0 else line.right if sign < 0 else ON_LINE
            result.append(Place(side, self._section(line, part, seg_i, seg_t), distance))
        return result

    @staticmethod
    def _section(line: _Line, part: _Part, i: int, t: float) -> str | None:
        chainage = float(part.cum[i]) + t * float(part.seg[i])
        section = None
        for _start, end, section_id in line.sections:
            section = section_id
            if chainage < end:
                break
        return section

    def place(self, lon: float, lat: float) -> Place:
        best: tuple[float, _Line, _Part, int, float, NDArray[np.float64]] | None = None
        for line in self._lines:
            for part in line.parts:
                local = _local_xy(part.xy, lon, lat)
                i, t, d2 = _nearest_segment(local)
                if best is None or d2 < best[0]:
                    best = (d2, line, part, i, t, local)
        if best is None:
            return Place(None, None, None)
        d2, line, part, i, t, local = best
        distance = math.sqrt(d2) * _M_PER_DEG
        if distance < 1e-4:
            side = ON_LINE
        else:
            sign = _side_sign(local, i, t)
            side = line.left if sign > 0 else line.right if sign < 0 else ON_LINE
        chainage = float(part.cum[i]) + t * float(part.seg[i])
        section = None
        for _start, end, section_id in line.sections:
            section = section_id
            if chainage < end:
                break
        if line.sections and chainage < line.sections[0][0]:
            section = line.sections[0][2]
        return Place(side=side, section_id=section, distance_to_border_m=distance)
