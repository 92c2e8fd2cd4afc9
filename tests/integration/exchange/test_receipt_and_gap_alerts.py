"""Issue 14, defects 6 and 7, against a real PK node process; IR is played by this test with IR's real key
(as a second implementation, or a hostile or broken peer, would):

- a validly signed receipt whose hash does not match PK's log is refused and alerted, whether it comes
  posted after a pull or in the answer to PK's push (before: the alert was rolled back with the refusal);
- a receiver that answers every push with ``409 seq_gap`` (one restored from an old backup that takes nothing)
  gets the link's back-off, not a tight resend loop, and PK alerts after N repeats (before: PK resent at once,
  for ever, and never alerted).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from exchange_nodes import Party, add_peer, create_party, running, wait_for

from sarhad.exchange import protocol

WRONG_HASH = "ab" * 32


def _ir_key(ir: Party) -> Any:
    return protocol.private_key_from_pem(ir.key_file.read_bytes())


def _alerts(pk: Party, kind: str) -> list[dict[str, Any]]:
    return [a for a in pk.api("GET", "/api/v1/exchange/alerts") if a["kind"] == kind]


class FakeReceiver:
    """IR's endpoints as a test-controlled HTTP server, answering PK's pushes as ``answer`` says."""

    def __init__(self, ir_key: Any, answer: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]) -> None:
        self.pushes = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if self.path.startswith("/exchange/v1/hello"):
                    status, payload = 200, {"party": "IR"}  # a node before lanes: one chain
                else:
                    outer.pushes += 1
                    status, payload = answer(json.loads(body))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.ir_key = ir_key
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def receipt(self, link: str, seq: int, digest: str) -> dict[str, Any]:
        return protocol.make_receipt(self.ir_key, link, seq, digest, datetime.now(UTC), "IR")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def pk_and_ir(tmp_path: Path) -> Iterator[tuple[Party, Party]]:
    """PK (to be started with IR's URL pointing wherever the test says) and IR's data directory, never started."""
    pk = create_party(tmp_path, "PK", "Pakistan", env={"SARHAD_EXCHANGE_SEQ_GAP_ALERT_AFTER": "3"})
    ir = create_party(tmp_path, "IR", "Iran")
    add_peer(ir, pk)
    with running(pk):
        yield pk, ir


def test_a_validly_signed_receipt_that_does_not_match_the_log_is_alerted_when_posted(
    pk_and_ir: tuple[Party, Party],
) -> None:
    pk, ir = pk_and_ir
    add_peer(pk, ir, "--pull", "--no-push")  # IR is never reachable: it pulls
    pk.start()
    pk.bulletin("IR", 1)
    key = _ir_key(ir)
    path = "/exchange/v1/links/PK/IR/envelopes?after=0"
    headers = protocol.sign_request(key, "IR", "GET", path, b"", datetime.now(UTC))
    with pk.http() as client:
        pulled = client.get(path, headers=headers)
        assert pulled.status_code == 200, pulled.text
        assert [e["seq"] for e in pulled.json()["envelopes"]] == [1]
        body = json.dumps(
            {"receipt": protocol.make_receipt(key, "PK>IR", 1, WRONG_HASH, datetime.now(UTC), "IR")}
        )
        receipt_path = "/exchange/v1/links/PK/IR/receipts"
        answer = client.post(
            receipt_path,
            content=body.encode(),
            headers=protocol.sign_request(key, "IR", "POST", receipt_path, body.encode(), datetime.now(UTC)),
        )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "bad_receipt", answer.text
    alerts = _alerts(pk, "receipt_mismatch")
    assert len(alerts) == 1 and alerts[0]["link"] == "PK>IR" and alerts[0]["seq"] == 1, alerts
    assert pk.receipted("PK>IR") == 0  # refused: nothing acknowledged


def test_a_validly_signed_receipt_that_does_not_match_the_log_is_alerted_when_it_answers_a_push(
    pk_and_ir: tuple[Party, Party],
) -> None:
    pk, ir = pk_and_ir
    fake = FakeReceiver(
        _ir_key(ir),
        lambda push: (
            200,
            {
                "receipt": fake.receipt(
                    push["envelopes"][-1]["link"], push["envelopes"][-1]["seq"], WRONG_HASH
                )
            },
        ),
    )
    try:
        add_peer(pk, ir, url=fake.url)
        pk.start()
        pk.bulletin("IR", 1)
        alerts = wait_for(
            lambda: _alerts(pk, "receipt_mismatch"),
            30,
            "PK's receipt_mismatch alert",
            on_timeout=pk.diagnosis,
        )
        assert alerts[0]["link"] == "PK>IR" and alerts[0]["seq"] == 1
        assert pk.receipted("PK>IR") == 0
    finally:
        fake.close()


def test_repeated_seq_gaps_back_off_and_alert_instead_of_a_tight_resend_loop(
    pk_and_ir: tuple[Party, Party],
) -> None:
    pk, ir = pk_and_ir

    def gap(push: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        link = push["envelopes"][0]["link"]
        return 409, {
            "error": {
                "code": "seq_gap",
                "message": "restored from a backup",
                "details": {
                    "seq": push["envelopes"][0]["seq"],
                    "last_seq": 0,
                    "receipt": fake.receipt(link, 0, protocol.GENESIS_HASH),
                },
            }
        }

    fake = FakeReceiver(_ir_key(ir), gap)
    try:
        add_peer(pk, ir, url=fake.url)
        pk.start()
        for n in range(3):
            pk.bulletin("IR", n)
        alerts = wait_for(
            lambda: _alerts(pk, "seq_gap_repeated"),
            60,
            "PK's seq_gap_repeated alert",
            on_timeout=pk.diagnosis,
        )
        assert alerts[0]["link"] == "PK>IR"
        # Backed off: each repeated gap counted as a failed attempt (a tight loop never records one), and the
        # alert came after a handful of pushes, not hundreds.
        failures = int(pk.scalar("SELECT failures FROM exchange_peers WHERE party = 'IR'"))
        assert failures >= 2, pk.diagnosis()
        assert fake.pushes <= 10, fake.pushes
        assert "seq_gap" in str(pk.scalar("SELECT last_error FROM exchange_peers WHERE party = 'IR'"))
    finally:
        fake.close()
