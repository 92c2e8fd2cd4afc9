"""PostgreSQL: a table the node fills in bulk (``insert_rows``) is analyzed once after its first rows if
PostgreSQL never has analyzed it, so the exchange's batched key lookups read the whole primary key and not
every row of an origin; and the outbox leaves room on its pages for a receipt's update (migration 0014)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from sarhad.core import pgstats
from sarhad.core.database import insert_rows, table_of
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.exchange.models import OutboundEnvelope, ReceivedRecord

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_node(make_node_dir: Callable[..., Path], postgres_database_url: str) -> Iterator[Node]:
    built = build_node(load_settings(make_node_dir("PK", "Pakistan", database_url=postgres_database_url)))
    try:
        yield built
    finally:
        built.dispose()


def received_rows(count: int, content: str = "{}") -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    return [
        {
            "origin": "IR",
            "record_kind": "bulletin",
            "record_id": str(uuid.uuid4()),
            "version": 1,
            "content": content,
            "content_hash": "a" * 64,
            "handling": "no_onward",
            "tlp": "amber",
            "link": "IR>PK",
            "seq": 1,
            "received_at": now,
            "withdrawn_at": None,
        }
        for _ in range(count)
    ]


def insert(node: Node, count: int, *, commit: bool = True, content: str = "{}") -> None:
    session = node.sessions()
    try:
        rows = received_rows(count, content)
        insert_rows(session, table_of(ReceivedRecord), rows, encoded=frozenset({"content"}))
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


def analyzed(node: Node, table: str = "exchange_received_records") -> tuple[float, int]:
    """PostgreSQL's row estimate of ``table`` (-1: never analyzed) and how often it was analyzed by hand."""
    with node.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT c.reltuples, s.analyze_count FROM pg_class c "
                "JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.relname = :t"
            ),
            {"t": table},
        ).one()
        return float(row[0]), int(row[1])


def lookup_plan(node: Node, ids: list[str]) -> str:
    """The plan of inbox._store_received's lookup of a batch's generic copies."""
    query = select(ReceivedRecord.record_id).where(
        ReceivedRecord.origin.in_(["IR"]),
        ReceivedRecord.record_kind.in_(["bulletin"]),
        ReceivedRecord.record_id.in_(ids),
    )
    with node.engine.connect() as connection:
        compiled = query.compile(connection, compile_kwargs={"literal_binds": True})
        return "\n".join(r[0] for r in connection.execute(text(f"EXPLAIN {compiled}")))


def test_a_table_filled_in_bulk_is_analyzed_once_its_first_rows_are_committed(pg_node: Node) -> None:
    insert(pg_node, pgstats.ANALYZE_FROM - 1)
    assert analyzed(pg_node)[0] < 0  # never analyzed: the planner guesses
    insert(pg_node, 1)
    estimate, count = analyzed(pg_node)
    assert estimate == pgstats.ANALYZE_FROM and count == 1


def test_the_lookup_of_a_batch_uses_the_whole_primary_key_after_the_first_rows(pg_node: Node) -> None:
    body = '{"body": "%s"}' % ("x" * 1000)  # a 1 KB bulletin's generic copy
    for _ in range(10):  # 10,000 received bulletins, 1,000 per batch
        insert(pg_node, 1000, content=body)
    plan = lookup_plan(pg_node, [str(uuid.uuid4()) for _ in range(250)])
    assert "Filter" not in plan, plan  # no row of the origin read and then dropped
    assert "record_id" in plan.split("Index Cond:", 1)[1], plan


def test_rows_of_a_transaction_rolled_back_do_not_use_up_the_check(pg_node: Node) -> None:
    insert(pg_node, pgstats.ANALYZE_FROM, commit=False)
    assert analyzed(pg_node)[0] < 0
    insert(pg_node, 1)
    assert analyzed(pg_node)[1] == 1


def test_a_table_is_analyzed_by_the_node_once_and_never_when_postgresql_already_has(pg_node: Node) -> None:
    with pg_node.engine.begin() as connection:
        connection.execute(text("ANALYZE exchange_outbox"))
    insert(pg_node, pgstats.ANALYZE_FROM)
    insert(pg_node, 2 * pgstats.ANALYZE_FROM)
    assert analyzed(pg_node)[1] == 1
    rows = [
        {
            "link": "PK>IR",
            "seq": seq,
            "hash": "h" * 64,
            "body": "{}",
            "size": 2,
            "record_kind": "bulletin",
            "record_id": str(seq),
            "record_version": 1,
            "op": "upsert",
            "created_at": datetime.now(UTC),
            "sent_at": None,
            "receipted_at": None,
        }
        for seq in range(1, pgstats.ANALYZE_FROM + 1)
    ]
    with pg_node.transaction() as session:
        insert_rows(session, table_of(OutboundEnvelope), rows)
    assert analyzed(pg_node, "exchange_outbox")[1] == 1  # the one by hand above


def test_a_receipt_s_update_of_outbox_rows_stays_on_their_pages(pg_node: Node) -> None:
    """Migration 0014: the outbox keeps half of each page free, so marking rows receipted writes no index
    entry (a HOT update)."""
    now = datetime.now(UTC)
    body = "x" * 1800  # the size of a 1 KB bulletin's envelope
    rows = [
        {
            "link": "PK>IR",
            "seq": seq,
            "hash": "h" * 64,
            "body": body,
            "size": len(body),
            "record_kind": "bulletin",
            "record_id": str(uuid.uuid4()),
            "record_version": 1,
            "op": "upsert",
            "created_at": now,
            "sent_at": None,
            "receipted_at": None,
        }
        for seq in range(1, 201)
    ]
    with pg_node.transaction() as session:
        insert_rows(session, table_of(OutboundEnvelope), rows)
    with pg_node.engine.connect() as connection:
        options = connection.scalar(text("SELECT reloptions FROM pg_class WHERE relname = 'exchange_outbox'"))
        assert "fillfactor=50" in options
        connection.execute(  # the statement receipts.store_receipt runs
            update(OutboundEnvelope)
            .where(OutboundEnvelope.link == "PK>IR", OutboundEnvelope.seq > 0, OutboundEnvelope.seq <= 200)
            .values(receipted_at=now, sent_at=now)
        )
        connection.commit()
        connection.execute(text("SELECT pg_stat_force_next_flush()"))
        connection.commit()
        updated, hot = connection.execute(
            text("SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'exchange_outbox'")
        ).one()
    assert (updated, hot) == (200, 200)
