"""§8 signed requests and the §9 endpoints they guard (pull, receipts, the receipt, hello), with every refusal
of §13 that they can meet, each with its exact status and code; numeric parameters out of range included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import AF_KEY, IR_KEY, Node, bearer, sarhad
from .wire import GENESIS, Key, compact, jcs, receipt, request_headers

PULL = "/exchange/v1/links/PK/IR/envelopes"
RECEIPTS = "/exchange/v1/links/PK/IR/receipts"


def error(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]["code"]


@pytest.fixture(scope="module")
def released(node: Node) -> list[dict[str, Any]]:
    """Two bulletins PK released to IR through its API: envelopes 1 and 2 on PK>IR, pulled by IR."""
    with httpx.Client(base_url=node.url, timeout=60.0, headers=bearer(node)) as client:
        for n in (1, 2):
            answer = client.post(
                "/api/v1/bulletins",
                json={"title": f"PK {n}", "body": "text", "release_to": ["IR"], "tlp": "amber"},
            )
            assert answer.status_code == 201, answer.text
    pulled = node.call("GET", PULL + "?after=0")
    assert pulled.status_code == 200, pulled.text
    envelopes: list[dict[str, Any]] = pulled.json()["envelopes"]
    assert [e["seq"] for e in envelopes] == [1, 2] and pulled.json()["last_seq"] == 2
    return envelopes


def test_pull_answers_envelopes_after_the_cursor_exactly_as_signed(
    node: Node, released: list[dict[str, Any]]
) -> None:
    answer = node.call("GET", PULL + "?after=1&limit=5")
    assert answer.status_code == 200
    assert answer.json() == {"envelopes": [released[1]], "last_seq": 2}
    assert node.call("GET", PULL + "?limit=1").json()["envelopes"] == [released[0]]
    # The whole range is served on every database (PostgreSQL's INTEGER columns hold 2^31 - 1 at most).
    for after in (2**31 - 1, 2**31, 2**32 + 1, 2**53 - 1):
        assert node.call("GET", f"{PULL}?after={after}").json() == {"envelopes": [], "last_seq": 2}


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("after=-1", 400, "out_of_range"),
        ("after=9007199254740992", 400, "out_of_range"),
        ("after=18446744073709551616", 400, "out_of_range"),
        ("after=" + "9" * 5000, 400, "out_of_range"),
        ("limit=0", 400, "out_of_range"),
        ("limit=-5", 400, "out_of_range"),
        ("limit=99999999999999999999", 400, "out_of_range"),
        ("after=abc", 400, "malformed"),
        ("after=1.5", 400, "malformed"),
        ("after=%2B1", 400, "malformed"),
        ("after=01", 400, "malformed"),
        ("after=", 400, "malformed"),
        ("after=1&after=2", 400, "malformed"),
    ],
)
def test_pull_parameters_out_of_their_range_are_refused_before_the_database(
    node: Node, released: list[dict[str, Any]], query: str, status: int, code: str
) -> None:
    assert error(node.call("GET", f"{PULL}?{query}")) == (status, code)


def test_missing_or_malformed_headers_are_malformed(node: Node) -> None:
    assert error(node.call("GET", PULL, signed=False)) == (400, "malformed")
    bad_time = request_headers(IR_KEY, "IR", "GET", PULL)
    bad_time["X-Sarhad-Time"] = "yesterday"
    assert error(node.call("GET", PULL, headers=bad_time)) == (400, "malformed")


def test_request_outside_the_skew_window_is_stale_request(node: Node) -> None:
    old = request_headers(IR_KEY, "IR", "GET", PULL, time="2020-01-01T00:00:00Z")
    assert error(node.call("GET", PULL, headers=old)) == (400, "stale_request")


def test_unknown_key_wrong_key_and_bad_signature(node: Node) -> None:
    assert error(node.call("GET", PULL, key=AF_KEY)) == (400, "unknown_key")
    # IR's key, claimed for another party: the key belongs to IR only.
    assert error(node.call("GET", "/exchange/v1/links/PK/AF/envelopes", party="AF")) == (400, "wrong_key")
    forged = request_headers(IR_KEY, "IR", "GET", PULL + "?after=1")  # signed for another target
    assert error(node.call("GET", PULL, headers=forged)) == (400, "bad_signature")


def test_link_the_caller_is_not_the_receiver_of_is_unknown_link(node: Node) -> None:
    assert error(node.call("GET", "/exchange/v1/links/AF/IR/envelopes")) == (404, "unknown_link")
    assert error(node.call("GET", "/exchange/v1/links/PK/AF/envelopes")) == (404, "unknown_link")
    assert error(node.call("GET", "/exchange/v1/links/PK/AF/receipt")) == (404, "unknown_link")
    assert error(node.call("POST", "/exchange/v1/links/PK/AF/receipts", b"{}")) == (404, "unknown_link")


def _post_receipt(node: Node, body: bytes) -> httpx.Response:
    return node.call("POST", RECEIPTS, body)


def test_valid_receipt_is_taken_and_an_older_one_is_answered_with_its_own_seq(
    node: Node, released: list[dict[str, Any]]
) -> None:
    two = receipt(IR_KEY, "PK>IR", 2, released[1]["hash"], "IR")
    answer = _post_receipt(node, jcs({"receipt": two}))
    assert (answer.status_code, answer.json()) == (200, {"receipted_seq": 2})
    # §9: an older (lower) receipt changes nothing and is answered 200 with the seq it names.
    one = receipt(IR_KEY, "PK>IR", 1, released[0]["hash"], "IR")
    answer = _post_receipt(node, jcs({"receipt": one}))
    assert (answer.status_code, answer.json()) == (200, {"receipted_seq": 1})
    zero = receipt(IR_KEY, "PK>IR", 0, GENESIS, "IR")
    assert _post_receipt(node, jcs({"receipt": zero})).json() == {"receipted_seq": 0}


def test_receipt_refusals(node: Node, released: list[dict[str, Any]]) -> None:
    beyond = receipt(IR_KEY, "PK>IR", 3, released[1]["hash"], "IR")
    assert error(_post_receipt(node, jcs({"receipt": beyond}))) == (400, "bad_receipt")
    wrong_hash = receipt(IR_KEY, "PK>IR", 2, released[0]["hash"], "IR")
    assert error(_post_receipt(node, jcs({"receipt": wrong_hash}))) == (400, "bad_receipt")
    by_other = receipt(IR_KEY, "PK>IR", 1, released[0]["hash"], "AF")
    assert error(_post_receipt(node, jcs({"receipt": by_other}))) == (400, "bad_link")
    other_link = receipt(IR_KEY, "PK>AF", 1, released[0]["hash"], "AF")
    assert error(_post_receipt(node, jcs({"receipt": other_link}))) == (400, "bad_link")
    stranger = receipt(AF_KEY, "PK>IR", 1, released[0]["hash"], "IR")
    assert error(_post_receipt(node, jcs({"receipt": stranger}))) == (400, "unknown_key")
    forged = receipt(IR_KEY, "PK>IR", 1, released[0]["hash"], "IR")
    forged["sig"] = receipt(AF_KEY, "PK>IR", 1, released[0]["hash"], "IR")["sig"]
    assert error(_post_receipt(node, jcs({"receipt": forged}))) == (400, "bad_signature")
    shapeless = {**receipt(IR_KEY, "PK>IR", 1, released[0]["hash"], "IR"), "extra": 1}
    assert error(_post_receipt(node, jcs({"receipt": shapeless}))) == (400, "malformed")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"", "malformed"),
        (b"[]", "malformed"),
        (b'{"receipt":{},"more":1}', "malformed"),
        (b'{"receipt":1,"receipt":{}}', "duplicate_member"),
        (b'{"receipt":{"seq":9223372036854775808}}', "unsafe_number"),
        (b'{"receipt":' + b"[" * 100 + b"]" * 100 + b"}", "too_deep"),
    ],
)
def test_receipt_body_refusals(node: Node, body: bytes, code: str) -> None:
    assert error(_post_receipt(node, body)) == (400, code)


def test_receipt_with_a_seq_beyond_64_bits_is_unsafe_number_not_a_server_error(
    node: Node, released: list[dict[str, Any]]
) -> None:
    text = jcs({"receipt": receipt(IR_KEY, "PK>IR", 2, released[1]["hash"], "IR")})
    huge = text.replace(b'"seq":2', b'"seq":' + b"9" * 30)
    assert error(_post_receipt(node, huge)) == (400, "unsafe_number")


def test_get_receipt_answers_the_receivers_signed_receipt(node: Node) -> None:
    answer = node.call("GET", "/exchange/v1/links/IR/PK/receipt")
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"receipt"}
    assert set(body["receipt"]) == {"v", "link", "seq", "hash", "received_at", "by", "key", "sig"}
    assert body["receipt"]["by"] == "PK" and body["receipt"]["link"] == "IR>PK"


def test_hello(node: Node) -> None:
    body = compact({"party": "IR"})
    answer = node.call("POST", "/exchange/v1/hello", body)
    assert (answer.status_code, answer.json()) == (200, {"party": "PK", "lanes": 1})  # §16.4: it offers lanes
    offer = node.call("POST", "/exchange/v1/hello", compact({"party": "IR", "lanes": 1, "later": {"x": 1}}))
    assert (offer.status_code, offer.json()) == (200, {"party": "PK", "lanes": 1}), offer.text
    assert error(node.call("POST", "/exchange/v1/hello", compact({"party": "IR", "lanes": "1"}))) == (
        400,
        "malformed",
    )
    assert error(node.call("POST", "/exchange/v1/hello", compact({"lanes": 1}))) == (400, "malformed")
    assert error(node.call("POST", "/exchange/v1/hello", compact({"party": "AF"}))) == (400, "malformed")
    assert error(node.call("POST", "/exchange/v1/hello", b'{"party":"IR","party":"IR"}')) == (
        400,
        "duplicate_member",
    )
    assert error(node.call("POST", "/exchange/v1/hello", body, key=Key.from_seed(bytes(32)))) == (
        400,
        "unknown_key",
    )


def test_admin_alert_id_beyond_the_safe_range_is_invalid_not_a_server_error(node: Node) -> None:
    with httpx.Client(base_url=node.url, timeout=30.0, headers=bearer(node)) as client:
        for alert_id in (2**31, 2**53, 2**64):
            answer = client.post(f"/api/v1/exchange/alerts/{alert_id}/ack")
            assert (answer.status_code, answer.json()["error"]["code"]) == (422, "invalid")


def test_after_the_request_attacks_the_ledger_exports_and_verifies(node: Node, tmp_path: Path) -> None:
    assert "ledger verified" in node.export_and_verify(tmp_path / "ledger.json")
    assert sarhad("peer", "list", "-d", str(node.data_dir))
