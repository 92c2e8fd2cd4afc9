"""Every error code the exchange's link endpoints can send is in the protocol document's §13, with its status.

The node's list is ``refusals.WIRE_ERRORS``; the code that can raise on the link path is scanned for every
``ErrorCode`` member and protocol code it names, so a new refusal that is not in that list, or not in the
document with the same status, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

from sarhad.core.errors import ErrorCode
from sarhad.exchange.protocol import ERROR_CODES
from sarhad.exchange.refusals import WIRE_ERRORS

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "exchange-protocol.md"
EXCHANGE = ROOT / "src" / "sarhad" / "exchange"
# The modules a request to /exchange/v1 runs through, up to the answer.
LINK_PATH = [
    EXCHANGE / "api.py",
    EXCHANGE / "receive.py",
    EXCHANGE / "receipts.py",
    EXCHANGE / "refusals.py",
    *sorted((EXCHANGE / "protocol").glob("*.py")),
]
ADMIN_ONLY = {ErrorCode.INVALID}  # the admin API under /api/v1 in api.py; no link endpoint answers with it
# A protocol code that is a quarantine reason, never an answer: a bad key rotation is accepted into the log and
# quarantined (§6), and the ledger verifier reports it (§13.2).
NOT_AN_ANSWER = {ErrorCode.BAD_ROTATION}


def documented() -> dict[str, set[int]]:
    """§13.1's table: code -> statuses."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### 13.1", 1)[1].split("\n### ", 1)[0]
    rows: dict[str, set[int]] = {}
    for code, statuses in re.findall(r"^\| `([a-z_]+)` \| ([0-9, ]+) \|", section, flags=re.MULTILINE):
        rows[code] = {int(s) for s in statuses.split(",")}
    return rows


def raised_on_the_link_path() -> set[ErrorCode]:
    found: set[ErrorCode] = set()
    for path in LINK_PATH:
        source = path.read_text(encoding="utf-8")
        found |= {ErrorCode[name] for name in re.findall(r"ErrorCode\.([A-Z_]+)", source)}
        found |= {ErrorCode(code) for code in re.findall(r'ProtocolError\(\s*"([a-z_]+)"', source)}
    found |= {ErrorCode(code) for code in ERROR_CODES}
    return found - ADMIN_ONLY - NOT_AN_ANSWER


def test_every_code_the_link_path_can_raise_is_a_listed_wire_error() -> None:
    assert raised_on_the_link_path() - set(WIRE_ERRORS) == set()


def test_every_wire_error_is_in_section_13_with_its_status() -> None:
    doc = documented()
    for code, statuses in WIRE_ERRORS.items():
        assert code.value in doc, f"§13.1 lacks {code.value}"
        assert doc[code.value] == set(statuses), (
            f"{code.value}: doc says {doc[code.value]}, node {set(statuses)}"
        )


def test_section_13_lists_no_code_the_node_does_not_send() -> None:
    assert set(documented()) - {c.value for c in WIRE_ERRORS} == set()


def test_a_retired_key_is_refused_for_requests_as_wrong_key() -> None:
    """§8: only a party's current key signs requests; a key it rotated away from is ``wrong_key``."""
    from datetime import UTC, datetime, timedelta

    from sarhad.exchange import protocol

    old, new = protocol.generate_private_key(), protocol.generate_private_key()
    now = datetime.now(UTC)
    headers = protocol.sign_request(old, "IR", "GET", "/exchange/v1/links/PK/IR/envelopes", b"", now)
    current = {protocol.fingerprint(new.public_key()): new.public_key()}
    owners = {protocol.fingerprint(k.public_key()): "IR" for k in (old, new)}
    try:
        protocol.verify_request(
            headers, "GET", "/exchange/v1/links/PK/IR/envelopes", b"", current, now, timedelta(minutes=5),
            key_owners=owners,
        )  # fmt: skip
    except protocol.ProtocolError as exc:
        assert exc.code == "wrong_key"
    else:
        raise AssertionError("a retired key was accepted")
