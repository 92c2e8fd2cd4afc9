"""Each received batch asks which of its records were withdrawn already. The question is answered from the
partial index of withdrawn records, not by scanning every record held (it was a third of the receiving node's
time in ``bench.exchange``, growing with the table), and it answers exactly the withdrawn ones."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from sarhad.core.database import insert_rows, table_of
from sarhad.core.node import Node
from sarhad.exchange.inbox import withdrawn_among
from sarhad.exchange.models import ReceivedRecord

AT = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def held(n: int, withdrawn: set[int]) -> list[dict[str, Any]]:
    return [
        {
            "origin": "IR",
            "record_kind": "bulletin",
            "record_id": f"r{i:05d}",
            "version": 1,
            "content": {"title": "t"},
            "content_hash": "a" * 64,
            "handling": "no_onward",
            "tlp": "amber",
            "link": "IR>PK",
            "seq": i + 1,
            "received_at": AT,
            "withdrawn_at": AT if i in withdrawn else None,
        }
        for i in range(n)
    ]


def test_the_withdrawn_among_a_batch_are_found_through_the_partial_index(node: Node) -> None:
    with node.transaction() as session:
        insert_rows(session, table_of(ReceivedRecord), held(3000, {5, 1700, 2999}))
    asked = [f"r{i:05d}" for i in range(1690, 1710)] + ["r00005", "r09999"]
    statement = withdrawn_among(asked)
    with node.sessions() as session:
        found = {tuple(row) for row in session.execute(statement)}
        compiled = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
        if node.engine.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        else:  # a table this small may be scanned by choice; what matters is that the index can answer it
            session.execute(text("SET LOCAL enable_seqscan = off"))
            plan = " ".join(str(row[0]) for row in session.execute(text(f"EXPLAIN {compiled}")))
    assert found == {("IR", "bulletin", "r01700"), ("IR", "bulletin", "r00005")}
    assert "ix_exchange_received_withdrawn" in plan, plan
