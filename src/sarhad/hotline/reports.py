"""Reports and exports: per direction, channel and precedence times to delivery and acknowledgement, and the
message list as CSV (formulas neutralised) or GeoJSON.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sarhad.core.formats import csv_text, iso_utc
from sarhad.core.node import Node
from sarhad.hotline import domain
from sarhad.hotline.models import HotlineMessage


@dataclass
class ReportRow:
    """One line of the report: a direction, channel and precedence (times in seconds)."""

    direction: str
    channel: str
    precedence: str
    count: int
    delivery_p50: float | None
    delivery_p90: float | None
    ack_p50: float | None
    ack_p90: float | None
    escalations: int
    escalated_messages: int
    unacknowledged: int

    def as_dict(self) -> dict[str, Any]:
        """The row as a JSON object (the API's answer)."""
        return dict(self.__dict__)


def report(session: Session, node: Node, start: datetime, end: datetime) -> list[ReportRow]:
    """Per direction, channel and precedence, for messages created in ``[start, end)``.

    Sent messages: time to delivery = queued → the receiver's receipt; time to acknowledgement = queued → the
    acknowledgement reaching us (both on this node's clock). Received messages: delivery is 0 by definition
    here; acknowledgement = arrival → the officer's act (this node's clock).
    """
    rows = session.scalars(
        select(HotlineMessage).where(HotlineMessage.created_at >= start, HotlineMessage.created_at < end)
    ).all()
    groups: dict[tuple[str, str, str], list[HotlineMessage]] = {}
    for m in rows:
        direction = "out" if m.origin == node.party else "in"
        channel = (
            f"{m.from_position_id} → {m.to_party}:{m.to_position_id}"
            if direction == "out"
            else f"{m.from_party}:{m.from_position_id} → {m.to_position_id}"
        )
        groups.setdefault((direction, channel, m.precedence), []).append(m)
    order = {p: i for i, p in enumerate(domain.PRECEDENCES)}
    out: list[ReportRow] = []
    for (direction, channel, precedence), messages in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1], order.get(kv[0][2], 9))
    ):
        if direction == "out":
            delivery = [domain.seconds_between(m.created_at, m.delivered_at) for m in messages]
            ack = [domain.seconds_between(m.created_at, m.acknowledged_at) for m in messages]
        else:
            delivery = []
            ack = [domain.seconds_between(m.delivered_at, m.acknowledged_at) for m in messages]
        d = [v for v in delivery if v is not None]
        a = [v for v in ack if v is not None]
        out.append(
            ReportRow(
                direction=direction,
                channel=channel,
                precedence=precedence,
                count=len(messages),
                delivery_p50=domain.percentile(d, 50),
                delivery_p90=domain.percentile(d, 90),
                ack_p50=domain.percentile(a, 50),
                ack_p90=domain.percentile(a, 90),
                escalations=sum(m.escalations for m in messages),
                escalated_messages=sum(1 for m in messages if m.escalations),
                unacknowledged=sum(1 for m in messages if m.acknowledged_at is None),
            )
        )
    return out


REPORT_COLUMNS = (
    "direction",
    "channel",
    "precedence",
    "count",
    "delivery_p50",
    "delivery_p90",
    "ack_p50",
    "ack_p90",
    "escalations",
    "escalated_messages",
    "unacknowledged",
)


# the CSV header names the seconds columns with their unit
REPORT_CSV_COLUMNS = tuple(f"{c}_s" if c[-3:] in ("p50", "p90") else c for c in REPORT_COLUMNS)


def _seconds(value: float | None) -> str | None:
    return None if value is None else f"{value:.3f}"


def report_csv(rows: Iterable[ReportRow]) -> str:
    """The report as CSV, seconds with three decimals; every cell through the shared formula neutraliser."""
    return csv_text(
        REPORT_CSV_COLUMNS,
        (
            {
                csv_column: _seconds(value) if isinstance(value, float) else value
                for csv_column, value in zip(
                    REPORT_CSV_COLUMNS, (getattr(row, c) for c in REPORT_COLUMNS), strict=True
                )
            }
            for row in rows
        ),
    )


MESSAGE_COLUMNS = (
    "origin",
    "id",
    "direction",
    "precedence",
    "state",
    "from_party",
    "from_position",
    "to_party",
    "to_position",
    "subject",
    "sent_by",
    "created_at",
    "delivered_at",
    "seen_at",
    "acknowledged_at",
    "acknowledged_by",
    "escalations",
    "incident",
    "thread",
)


def messages_csv(node: Node, rows: Iterable[HotlineMessage]) -> str:
    """The messages as CSV (times in UTC); every cell through the shared formula neutraliser."""
    return csv_text(
        MESSAGE_COLUMNS,
        (
            {
                "origin": m.origin,
                "id": m.id,
                "direction": "out" if m.origin == node.party else "in",
                "precedence": m.precedence,
                "state": m.state,
                "from_party": m.from_party,
                "from_position": m.from_position_id,
                "to_party": m.to_party,
                "to_position": m.to_position_id,
                "subject": m.subject,
                "sent_by": m.sent_by,
                "created_at": iso_utc(m.created_at),
                "delivered_at": iso_utc(m.delivered_at),
                "seen_at": iso_utc(m.seen_at),
                "acknowledged_at": iso_utc(m.acknowledged_at),
                "acknowledged_by": m.acknowledged_by,
                "escalations": m.escalations,
                "incident": m.incident,
                "thread": m.thread_id,
            }
            for m in rows
        ),
    )


def messages_geojson(node: Node, rows: Iterable[HotlineMessage]) -> dict[str, Any]:
    """The messages that carry a location, as a GeoJSON FeatureCollection (lon, lat order)."""
    features = []
    for m in rows:
        if m.lat is None or m.lon is None:
            continue
        features.append(
            {
                "type": "Feature",
                "id": f"{m.origin}/{m.id}",
                "geometry": {"type": "Point", "coordinates": [m.lon, m.lat]},
                "properties": {
                    "origin": m.origin,
                    "id": m.id,
                    "direction": "out" if m.origin == node.party else "in",
                    "precedence": m.precedence,
                    "state": m.state,
                    "subject": m.subject,
                    "from_position": m.from_position_id,
                    "to_position": m.to_position_id,
                    "created_at": iso_utc(m.created_at),
                    "incident": m.incident,
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}
