"""The registry of record kinds. Each domain package registers its kind, its schema and its handler.

A handler applies a received record (already verified, in the receiving transaction) to the domain's own
tables. The exchange stores the generic copy itself; a kind only does what is special to it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy.orm import Session

from sarhad.core.node import Node
from sarhad.exchange.protocol import canonical_json


@dataclass(frozen=True)
class IncomingRecord:
    """A verified record from a peer's envelope."""

    kind: str
    origin: str
    record_id: str
    version: int
    op: str  # "upsert" or "withdraw"
    handling: str
    tlp: str
    content: dict[str, Any]
    content_hash: str
    link: str
    seq: int
    sent_at: str
    content_json: str = ""  # the content as canonical JSON text, as verified ("" if not at hand)
    validated: BaseModel | None = None  # the content checked against the kind's schema, if it has one
    origin_sig: dict[str, Any] | None = (
        None  # the originator's verified signature (docs §11.2), if it came with one
    )

    def content_text(self) -> str:
        """The content as canonical JSON text: what a JSON column can be given as it is (``insert_rows``)."""
        return self.content_json or canonical_json(self.content).decode()


class RecordHandler(Protocol):
    def __call__(self, session: Session, node: Node, record: IncomingRecord) -> None: ...


class BatchHandler(Protocol):
    def __call__(self, session: Session, node: Node, records: list[IncomingRecord]) -> None: ...


@dataclass(frozen=True)
class ReceiptedRecord:
    """One of our envelopes that the peer has just receipted (signed that it holds it)."""

    kind: str
    record_id: str
    version: int
    op: str
    link: str
    seq: int


class ReceiptHandler(Protocol):
    def __call__(self, session: Session, node: Node, party: str, records: list[ReceiptedRecord]) -> None: ...


@dataclass(frozen=True)
class RecordKind:
    name: str
    schema: type[BaseModel] | None
    apply: RecordHandler | None = None
    withdraw: RecordHandler | None = None
    # Optional, for speed: apply a run of consecutive records of this kind (upserts and withdrawals, in
    # order) with the same effect as calling ``apply``/``withdraw`` for each. Anything it raises rolls the
    # batch back to its savepoint and the exchange redoes it one record at a time, so the culprit alone is
    # quarantined.
    apply_batch: BatchHandler | None = None
    # Called on the sender's node, in a savepoint of the transaction that stores a peer's receipt, with this
    # kind's records that the receipt newly covers (e.g. so a hotline message becomes "delivered" at once).
    # If it raises, its savepoint is rolled back, an alert is raised, and the receipt is stored anyway.
    on_receipted: ReceiptHandler | None = None
    control: bool = False  # protocol-level kinds (key rotation), not user records
    # The precedence lane its records travel in (docs/exchange-protocol.md, "Precedence lanes"): a lane name,
    # or a function of the record (the hotline's message goes by its precedence). Bulk imports ask for the
    # bulk lane themselves, whatever the kind says.
    lane: str | Callable[[dict[str, Any]], str] = "routine"


_KINDS: dict[str, RecordKind] = {}


def register_kind(kind: RecordKind) -> RecordKind:
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> RecordKind | None:
    load_handlers()
    return _KINDS.get(name)


def kinds_with_receipt_hooks() -> dict[str, ReceiptHandler]:
    load_handlers()
    return {name: kind.on_receipted for name, kind in _KINDS.items() if kind.on_receipted is not None}


_loaded = False
_loading = False  # the thread holding ``_LOAD_LOCK`` is importing (a handlers module may ask again)
_LOAD_LOCK = threading.RLock()


def load_handlers() -> None:
    """Import every feature's ``handlers`` module once, so their kinds are registered.

    Thread-safe: another thread waits until every kind is registered. (Marking it loaded before the imports
    ended let a freshly started process's concurrent receive requests find ``hotline.message`` "unknown"
    and quarantine it: the soak's lost FLASH and IMMEDIATE messages after a ``kill -9`` and restart.)"""
    global _loaded, _loading
    if _loaded:
        return
    with _LOAD_LOCK:
        if _loaded or _loading:
            return
        _loading = True
        try:
            from sarhad.features import FEATURES, feature_module

            for feature in FEATURES:
                feature_module(feature, "handlers")
        finally:
            _loading = False
        _loaded = True


def registered_kinds() -> dict[str, RecordKind]:
    """Every registered kind by name (the features' handlers loaded first)."""
    load_handlers()
    return dict(_KINDS)
