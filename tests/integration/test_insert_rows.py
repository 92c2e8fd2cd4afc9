"""``insert_rows``, the fast bulk insert of the exchange's busiest paths, stores exactly what a Core ``insert``
stores: the same timestamps (aware UTC in, aware UTC out), JSON, nulls and defaults, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import insert, select

from sarhad.audit.models import AuditEntry
from sarhad.core.database import insert_rows, table_of
from sarhad.core.node import Node
from sarhad.exchange.models import ReceivedRecord

TEHRAN = timezone(timedelta(hours=3, minutes=30))


def received(record_id: str, at: datetime, withdrawn: datetime | None, content: Any) -> dict[str, Any]:
    return {
        "origin": "IR",
        "record_kind": "bulletin",
        "record_id": record_id,
        "version": 3,
        "content": content,
        "content_hash": "a" * 64,
        "handling": "no_onward",
        "tlp": "amber",
        "link": "IR>PK",
        "seq": 7,
        "received_at": at,
        "withdrawn_at": withdrawn,
    }


def stored(node: Node, prefix: str) -> list[tuple[Any, ...]]:
    with node.sessions() as session:
        rows = session.scalars(
            select(ReceivedRecord)
            .where(ReceivedRecord.record_id.startswith(prefix))
            .order_by(ReceivedRecord.record_id)
        ).all()
        return [
            (r.record_id[len(prefix) :], r.version, r.content, r.received_at, r.withdrawn_at, r.seq)
            for r in rows
        ]


def test_rows_read_back_the_same_as_rows_written_by_a_core_insert(node: Node) -> None:
    at = datetime(2026, 3, 20, 23, 59, 59, 999999, tzinfo=TEHRAN)  # Nowruz eve in Tehran: another UTC date
    plain = datetime(1999, 1, 1, 0, 0, 0, tzinfo=UTC)  # no microseconds
    contents = [{"title": "ü سرحد", "n": 1, "nested": [True, None, {"b": 2, "a": 1}]}, {}, {"lat": 25.5}]
    rows = [received(str(i), at if i % 2 else plain, None if i else at, c) for i, c in enumerate(contents)]
    with node.transaction() as session:
        session.execute(
            insert(table_of(ReceivedRecord)), [{**r, "record_id": "core-" + r["record_id"]} for r in rows]
        )
        insert_rows(
            session, table_of(ReceivedRecord), [{**r, "record_id": "fast-" + r["record_id"]} for r in rows]
        )
    core, fast = stored(node, "core-"), stored(node, "fast-")
    assert len(fast) == 3
    assert fast == core
    assert fast[1][3] == at and fast[1][3].tzinfo is not None and fast[1][3].utcoffset() == timedelta(0)


def test_json_given_as_text_is_stored_as_that_json(node: Node) -> None:
    content = {"body": "x" * 50, "title": "t"}
    text = json.dumps(content, separators=(",", ":"), sort_keys=True)
    with node.transaction() as session:
        insert_rows(
            session,
            table_of(ReceivedRecord),
            [received("text-1", datetime.now(UTC), None, text)],
            encoded=frozenset({"content"}),
        )
    assert stored(node, "text-")[0][2] == content


def test_columns_left_out_get_the_model_defaults_as_with_a_core_insert(node: Node) -> None:
    at = datetime.now(UTC)
    events = [
        {"at": at, "actor": f"u{i}", "action": f"test.{name}", "outcome": "ok"}
        for i in range(3)
        for name in ("core", "fast")
    ]
    with node.transaction() as session:
        session.execute(insert(table_of(AuditEntry)), [e for e in events if e["action"] == "test.core"])
        insert_rows(session, table_of(AuditEntry), [e for e in events if e["action"] == "test.fast"])
    with node.sessions() as session:
        written = session.scalars(
            select(AuditEntry).where(AuditEntry.action.startswith("test.")).order_by(AuditEntry.id)
        ).all()
    by_path = {
        name: [(e.actor, e.details, e.client_ip, e.record_id) for e in written if e.action == f"test.{name}"]
        for name in ("core", "fast")
    }
    assert by_path["fast"] == by_path["core"] == [(f"u{i}", {}, "", None) for i in range(3)]
    assert [e.id for e in written] == sorted({e.id for e in written})  # ids assigned in the order given


def test_a_naive_timestamp_is_refused_and_nothing_is_written(node: Node) -> None:
    with pytest.raises(Exception, match="naive datetime"), node.transaction() as session:
        insert_rows(session, table_of(ReceivedRecord), [received("naive-1", datetime(2026, 1, 1), None, {})])
    assert stored(node, "naive-") == []
