"""Hotline exports: every CSV cell goes through the shared formula neutraliser, times are written in UTC."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, cast

from sarhad.core.node import Node
from sarhad.hotline import reports
from sarhad.hotline.models import HotlineMessage


def rows_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_report_csv_neutralises_formulas_and_writes_seconds_with_three_decimals() -> None:
    row = reports.ReportRow(
        direction="in",
        channel='=HYPERLINK("http://x")',
        precedence="FLASH",
        count=2,
        delivery_p50=None,
        delivery_p90=None,
        ack_p50=1.5,
        ack_p90=2.25,
        escalations=1,
        escalated_messages=1,
        unacknowledged=0,
    )
    header, line = rows_of(reports.report_csv([row]))
    assert header[4:8] == ["delivery_p50_s", "delivery_p90_s", "ack_p50_s", "ack_p90_s"]
    assert line == ["in", '\'=HYPERLINK("http://x")', "FLASH", "2", "", "", "1.500", "2.250", "1", "1", "0"]


def test_the_messages_csv_neutralises_every_formula_prefix_and_writes_times_in_utc() -> None:
    pakistan = timezone(timedelta(hours=5))
    values: dict[str, Any] = {c.name: None for c in HotlineMessage.__table__.columns}
    values.update(
        origin="IR",
        id="m1",
        precedence="FLASH",
        state="delivered",
        from_party="IR",
        from_position_id="IR-S1-CDR",
        to_party="PK",
        to_position_id="PK-S1-CDR",
        subject="\t=cmd()",
        sent_by="@admin",
        created_at=datetime(2026, 11, 23, 15, 0, tzinfo=pakistan),
        delivered_at=datetime(2026, 11, 23, 10, 0, 1, 500000, tzinfo=UTC),
        escalations=0,
        incident="-1+1",
        thread_id="m1",
    )
    message = cast(HotlineMessage, SimpleNamespace(**values))
    header, line = rows_of(reports.messages_csv(cast(Node, SimpleNamespace(party="PK")), [message]))
    cell = dict(zip(header, line, strict=True))
    assert cell["subject"] == "'\t=cmd()" and cell["sent_by"] == "'@admin" and cell["incident"] == "'-1+1"
    assert cell["direction"] == "in" and cell["escalations"] == "0" and cell["seen_at"] == ""
    assert cell["created_at"] == "2026-11-23T10:00:00Z"  # converted to UTC, not labelled Z in +05:00
    assert cell["delivered_at"] == "2026-11-23T10:00:01.500000Z"
