"""Fuzzing the link endpoints (push, pull, receipts) of a real node and the offline ledger verifier.

Every answer must be either a success or one of the refusals of the protocol's §13.1 with its status; never a
5xx, never an exception on the server (the test client re-raises it). The verifier must return a report for any
document and ``parse_ledger`` refuse bad bytes only with ``LedgerError``. Short by default; ``make fuzz`` runs
thousands of inputs per property (``FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sarhad.core.errors import ErrorCode
from sarhad.core.node import Node
from sarhad.exchange import ledger, protocol
from sarhad.exchange.models import LinkHead
from sarhad.exchange.refusals import WIRE_ERRORS

from .conftest import EXAMPLES, IR_KEY

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)

leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["PK>IR", "IR>PK", "0" * 64, "2025-01-15T09:30:00Z", "upsert", "bulletin"])
)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


def deep(levels: int) -> Any:
    value: Any = 0
    for _ in range(levels):
        value = [value]
    return value


def assert_clean(answer: Any) -> None:
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        code = ErrorCode(answer.json()["error"]["code"])
        assert code in WIRE_ERRORS, code
        assert answer.status_code in WIRE_ERRORS[code], (code, answer.status_code)


def head(node: Node, link: str) -> tuple[int, str]:
    with node.sessions() as session:
        row = session.get(LinkHead, link)
        assert row is not None
        return row.seq, row.hash


def record(n: int) -> dict[str, Any]:
    content = {"title": f"fuzz {n}", "body": "text"}
    return {
        "kind": "bulletin", "origin": "IR", "id": f"fuzz-{n}", "version": 1, "op": "upsert",
        "handling": "no_onward", "tlp": "amber", "content": content,
        "content_hash": protocol.sha256_hex(protocol.canonical_json(content)),
    }  # fmt: skip


def next_envelope(node: Node) -> dict[str, Any]:
    seq, last = head(node, "IR>PK")
    return protocol.make_envelope(IR_KEY, "IR>PK", seq + 1, last, datetime.now(UTC), record(seq + 1))


def dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def push_bodies(draw: st.DrawFn, node: Node) -> bytes:
    env = next_envelope(node)
    how = draw(
        st.sampled_from(["bytes", "value", "field", "record", "resealed", "text", "duplicate", "deep"])
    )
    if how == "bytes":
        return draw(st.binary(max_size=200))
    if how == "value":
        return dumps(draw(json_values))
    if how in ("field", "record", "resealed"):
        target = env if how == "field" else env["record"]
        name = draw(st.sampled_from([*sorted(target), "extra"]))
        if draw(st.booleans()):
            target[name] = draw(json_values)
        else:
            target.pop(name, None)
        if how == "resealed":  # signed over the mutation, so it reaches the checks after the signature
            try:
                env["hash"] = protocol.envelope_hash(env)
                env["sig"] = base64.b64encode(
                    IR_KEY.sign(f"sarhad-envelope-v1:{env['hash']}".encode())
                ).decode()
            except (protocol.ProtocolError, KeyError, TypeError):
                pass
        return dumps({"envelopes": [env]})
    body = protocol.canonical_json({"envelopes": [env]})
    if how == "text":
        at = draw(st.integers(0, 100_000)) % (len(body) + 1)  # not drawn from the state: drawing must replay
        return body[:at] + draw(st.binary(max_size=8)) + body[at + draw(st.integers(0, 8)) :]
    if how == "duplicate":
        name = draw(st.sampled_from(["seq", "v", "record", "link", "hash"]))
        return b'{"envelopes":[{"' + name.encode() + b'":' + dumps(draw(json_values)) + b"," + body[15:]
    levels = draw(st.integers(20, 3000))
    text = dumps({"envelopes": [{**env, "record": {**env["record"], "x": "@D@"}}]})
    return text.replace(b'"@D@"', b"[" * levels + b"0" + b"]" * levels)


@FUZZ
@given(data=st.data())
def test_push_never_fails_on_the_server(
    fuzz_node: Node, fuzz_client: TestClient, data: st.DataObject
) -> None:
    body = data.draw(push_bodies(fuzz_node))
    link = data.draw(st.sampled_from(["IR/PK", "IR/PK", "AF/PK", "PK/IR", "ir/pk", "I/PK"]))
    answer = fuzz_client.post(f"/exchange/v1/links/{link}/envelopes", content=body)
    assert_clean(answer)


def signed(method: str, target: str, body: bytes = b"") -> dict[str, str]:
    headers = protocol.sign_request(IR_KEY, "IR", method, target, body, datetime.now(UTC))
    headers["content-type"] = "application/json"
    return headers


param_values = st.one_of(
    st.integers().map(str),
    st.text(alphabet="0123456789-+.eE", max_size=30),
    st.sampled_from(
        [
            "",
            "9" * 5000,
            "18446744073709551616",
            "9007199254740992",
            "9007199254740991",
            "2147483648",
            "-0",
            "00",
        ]
    ),
)


@FUZZ
@given(params=st.lists(st.tuples(st.sampled_from(["after", "limit", "x"]), param_values), max_size=3))
def test_pull_never_fails_on_the_server(fuzz_client: TestClient, params: list[tuple[str, str]]) -> None:
    query = "&".join(f"{name}={value}" for name, value in params)
    target = "/exchange/v1/links/PK/IR/envelopes" + (f"?{query}" if query else "")
    answer = fuzz_client.get(target, headers=signed("GET", target))
    assert_clean(answer)


@st.composite
def receipt_bodies(draw: st.DrawFn) -> bytes:
    valid = protocol.make_receipt(IR_KEY, "PK>IR", 0, protocol.GENESIS_HASH, datetime.now(UTC), "IR")
    how = draw(st.sampled_from(["bytes", "value", "field", "duplicate", "number"]))
    if how == "bytes":
        return draw(st.binary(max_size=200))
    if how == "value":
        return dumps(draw(json_values))
    if how == "field":
        mutated = copy.deepcopy(valid)
        mutated[draw(st.sampled_from([*sorted(valid), "extra"]))] = draw(json_values)
        return dumps({"receipt": mutated})
    if how == "duplicate":
        return b'{"receipt":' + dumps(draw(json_values)) + b',"receipt":' + dumps(valid) + b"}"
    return dumps({"receipt": {**valid, "seq": draw(st.integers())}})


@FUZZ
@given(body=receipt_bodies())
def test_receipts_never_fail_on_the_server(fuzz_client: TestClient, body: bytes) -> None:
    target = "/exchange/v1/links/PK/IR/receipts"
    answer = fuzz_client.post(target, content=body, headers=signed("POST", target, body))
    assert_clean(answer)


# --- the offline verifier ---------------------------------------------------------------------------------------


def sample_ledger() -> dict[str, Any]:
    pk = protocol.generate_private_key()
    envs: list[dict[str, Any]] = []
    prev = protocol.GENESIS_HASH
    for n in range(1, 4):
        env = protocol.make_envelope(pk, "PK>IR", n, prev, datetime.now(UTC), {**record(n), "origin": "PK"})
        envs.append(env)
        prev = env["hash"]
    receipts = [protocol.make_receipt(IR_KEY, "PK>IR", 2, envs[1]["hash"], datetime.now(UTC), "IR")]
    parties = {
        "PK": {"keys": [ledger.key_entry(pk.public_key(), {"PK>IR": 1})]},
        "IR": {"keys": [ledger.key_entry(IR_KEY.public_key(), {})]},
    }
    return ledger.build_ledger("PK", parties, [{"link": "PK>IR", "envelopes": envs, "receipts": receipts}])


SAMPLE = sample_ledger()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


PATHS = _paths(SAMPLE)[1:]


@FUZZ
@given(
    path=st.sampled_from(PATHS),
    value=json_values | st.builds(deep, st.integers(30, 900)),
    reseal=st.booleans(),
)
# Found by this test: a receipt whose seq is a list (unhashable) made the verifier raise TypeError.
@example(path=("links", 0, "receipts", 0, "seq"), value=[0], reseal=True)
def test_the_verifier_reports_on_any_mutated_ledger_without_crashing(
    path: tuple[Any, ...], value: Any, reseal: bool
) -> None:
    doc = copy.deepcopy(SAMPLE)
    target: Any = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    if reseal:
        doc["digest"] = ledger.ledger_digest(doc)
    report = ledger.verify_ledger(doc)  # a report, whatever the document holds: never an exception
    assert isinstance(report.ok, bool)


@FUZZ
@given(at=st.integers(0, 10_000), junk=st.binary(min_size=1, max_size=4))
def test_the_ledger_reader_refuses_damaged_bytes_only_with_ledger_error(at: int, junk: bytes) -> None:
    data = ledger.dump_ledger(SAMPLE)
    at %= len(data)
    damaged = data[:at] + junk + data[at + len(junk) :]
    try:
        doc = ledger.parse_ledger(damaged)
    except ledger.LedgerError:
        return
    ledger.verify_ledger(doc)
