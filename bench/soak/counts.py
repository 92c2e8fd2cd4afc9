"""The soak's counts, from both nodes' databases after the load: records, envelopes, acknowledgements,
escalation steps, quarantined records and live events (``bench.soak``)."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text


def pk_rows(engine: Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def ir_rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        return connection.execute(sql).fetchall()


RECORDS = {  # kind -> (sender, SQL of its records: id and marker)
    "bulletins": ("PK", "SELECT id, title FROM bulletins WHERE origin = 'PK' AND title LIKE 'soak b %'"),
    "incidents": (
        "PK",
        "SELECT id, description FROM incidents WHERE origin = 'PK' AND description LIKE 'soak i %'",
    ),
    "FLASH PK>IR": (
        "PK",
        "SELECT id, subject FROM hotline_messages WHERE origin = 'PK' AND subject LIKE 'soak f %'",
    ),
    "FLASH IR>PK": (
        "IR",
        "SELECT id, subject FROM hotline_messages WHERE origin = 'IR' AND subject LIKE 'soak f %'",
    ),
    "IMMEDIATE IR>PK": (
        "IR",
        "SELECT id, subject FROM hotline_messages WHERE origin = 'IR' AND subject LIKE 'soak e %'",
    ),
}


def as_dict(value: Any) -> dict[str, Any]:
    """A JSON column's value: text on SQLite, already decoded on PostgreSQL."""
    decoded = json.loads(value) if isinstance(value, str | bytes) else value
    return decoded if isinstance(decoded, dict) else {}


def count(
    engine: Engine, ir_db: Path, streams: dict[str, tuple[list[int], dict[int, tuple[str, Any]], int]]
) -> dict[str, Any]:
    """Everything the soak checks, read from PK's database (``engine``) and IR's SQLite file ``ir_db``;
    ``streams``: per node, the event ids its commander's live client received, in order, each id's topic
    and data as received, and the id its first connection started after (events up to it were before the
    client: not missed)."""
    read = {"PK": lambda sql: pk_rows(engine, sql), "IR": lambda sql: ir_rows(ir_db, sql)}
    # envelopes first: one that arrives between the two reads then shows as an envelope missing too
    envelopes: dict[str, dict[str, int]] = {}
    for sender, prefix in (("PK", "PK>IR"), ("IR", "IR>PK")):
        receiver = "IR" if sender == "PK" else "PK"
        sql_out = f"SELECT link, seq FROM exchange_outbox WHERE link LIKE '{prefix}%'"
        sql_in = f"SELECT link, seq FROM exchange_inbox WHERE link LIKE '{prefix}%'"
        written, arrived = set(read[sender](sql_out)), read[receiver](sql_in)
        envelopes[prefix] = {
            "written": len(written),
            "received": len(set(arrived) & written),
            "missing": len(written - set(arrived)),
            "duplicated": len(arrived) - len(set(arrived)),
        }
    records: dict[str, dict[str, int]] = {}
    for kind, (sender, sql) in RECORDS.items():
        receiver = "IR" if sender == "PK" else "PK"
        sent, got = read[sender](sql), read[receiver](sql)
        sent_ids, got_ids = {r[0] for r in sent}, {r[0] for r in got}
        duplicated = sum(n - 1 for n in Counter(r[1] for r in got).values() if n > 1)
        duplicated -= sum(n - 1 for n in Counter(r[1] for r in sent).values() if n > 1)
        records[kind] = {
            "sent": len(sent_ids),
            "received": len(got_ids & sent_ids),
            "lost": len(sent_ids - got_ids),
            "duplicated": max(0, duplicated) + len(got_ids - sent_ids),
        }
    acked = "SELECT id FROM hotline_messages WHERE subject LIKE 'soak f %' AND acknowledged_at IS NOT NULL"
    acknowledgements = {}
    for origin, receiver in (("PK", "IR"), ("IR", "PK")):
        sql = f"{acked} AND origin = '{origin}'"
        made, known = {r[0] for r in read[receiver](sql)}, {r[0] for r in read[origin](sql)}
        acknowledgements[f"{receiver} acks {origin}'s FLASH"] = {"made": len(made), "lost": len(made - known)}
    steps = Counter(
        (mid, as_dict(details).get("step"))
        for mid, details in pk_rows(
            engine,
            "SELECT e.message_id, e.details FROM hotline_events e JOIN hotline_messages m "
            "ON m.origin = e.message_origin AND m.id = e.message_id "
            "WHERE e.kind = 'escalated' AND m.subject LIKE 'soak e %'",
        )
    )
    immediate = {r[0] for r in read["PK"](RECORDS["IMMEDIATE IR>PK"][1])}
    escalations = {
        "steps": sum(steps.values()),
        "taken_twice": sum(n - 1 for n in steps.values() if n > 1),
        "messages_never_escalated": len(immediate - {mid for mid, _ in steps}),
    }
    quarantined = {  # received records a node could not apply: kept aside, not shown to anyone
        side: [
            f"{link} seq {seq} {kind}: {reason}"
            for link, seq, kind, reason in read[side](
                "SELECT link, seq, record_kind, reason FROM exchange_inbox WHERE status = 'quarantined'"
            )
        ]
        for side in ("PK", "IR")
    }
    live: dict[str, dict[str, int]] = {}
    for side, (ids, contents, start) in streams.items():
        sql = "SELECT id, data FROM live_events WHERE topic = 'hotline.message'"
        soak_ids = {
            int(event_id)
            for event_id, data in read[side](sql)
            if int(event_id) > start
            and str((json.loads(data) if isinstance(data, str) else data).get("subject", "")).startswith(
                "soak "
            )
        }
        seen = Counter(ids)
        stored = {
            int(event_id): (str(topic), as_dict(data))
            for event_id, topic, data in read[side]("SELECT id, topic, data FROM live_events")
        }
        live[f"{side} commander's stream"] = {
            "events": len(soak_ids),
            "missed": len(soak_ids - set(seen)),
            "repeated": sum(n - 1 for n in seen.values() if n > 1),
            # an id the client was given that the database holds with other content, or not at all
            "not_as_stored": sum(1 for i, got in contents.items() if stored.get(i) != (got[0], got[1])),
        }
    return {
        "records": records,
        "envelopes": envelopes,
        "acknowledgements": acknowledgements,
        "escalations": escalations,
        "live": live,
        "quarantined": quarantined,
    }


def faults(result: dict[str, Any]) -> int:
    return int(
        sum(r["lost"] + r["duplicated"] for r in result["records"].values())
        + sum(e["missing"] + e["duplicated"] for e in result["envelopes"].values())
        + sum(a["lost"] for a in result["acknowledgements"].values())
        + result["escalations"]["taken_twice"]
        + result["escalations"]["messages_never_escalated"]
        + sum(s["missed"] + s["repeated"] + s["not_as_stored"] for s in result["live"].values())
        + sum(len(q) for q in result["quarantined"].values())
    )
