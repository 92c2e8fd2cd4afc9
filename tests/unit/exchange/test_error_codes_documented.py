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
    return found - ADMIN_ONLY


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
