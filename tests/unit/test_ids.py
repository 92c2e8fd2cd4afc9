"""Record ids are UUIDv7 text (RFC 9562): the canonical form, version 7, the RFC variant, ordered by time."""

from __future__ import annotations

import time
import uuid

from sarhad.core.ids import new_id


def test_an_id_is_a_canonical_version_7_uuid_carrying_the_current_millisecond() -> None:
    before = time.time_ns() // 1_000_000
    text = new_id()
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(text)
    assert str(parsed) == text  # lowercase, dashed, 36 characters
    assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
    assert before <= parsed.int >> 80 <= after


def test_ids_made_in_later_milliseconds_sort_later_and_never_repeat() -> None:
    ids = []
    for _ in range(3):
        ids.append(new_id())
        time.sleep(0.002)
    assert ids == sorted(ids)
    assert len({new_id() for _ in range(10_000)}) == 10_000
