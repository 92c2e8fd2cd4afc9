"""With mutual TLS on, the client certificate must be the certificate of the party that signs (§9).

IR serves over mutual TLS (a real ``sarhad serve`` process, a throw-away CA shared by PK, IR and AF). The test
plays PK, whose node is paired but not started: validly signed pushes and requests of PK's, sent over
connections that present AF's certificate (from the same CA), a certificate naming no party, or PK's own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from exchange_nodes import CertPair, Party, TestCa, add_peer, create_party, running, tls_client_kwargs

from sarhad.exchange import protocol
from sarhad.exchange.release import content_hash

pytestmark = pytest.mark.slow  # a real node process over TLS; still part of every run

LINK = "PK>IR"


@dataclass
class Setup:
    ir: Party
    pk_key: Ed25519PrivateKey
    ca: Path
    pk_cert: CertPair
    af_cert: CertPair
    anonymous_cert: CertPair

    def client(self, cert: CertPair) -> httpx.Client:
        return httpx.Client(base_url=self.ir.url, timeout=30.0, **tls_client_kwargs(self.ca, cert))

    def envelope(self) -> dict[str, Any]:
        seq, prev = self.ir.head_hash(LINK)
        content = {"n": seq + 1}
        record = {
            "kind": "joint.proposal",
            "origin": "PK",
            "id": f"mtls-{seq + 1}.p1.PK",
            "version": 1,
            "op": "upsert",
            "handling": "no_onward",
            "tlp": "amber",
            "content": {
                "joint_id": f"mtls-{seq + 1}",
                "subject": "test",
                "title": f"over TLS {seq + 1}",
                "signatories": ["IR", "PK"],
                "content": content,
                "content_hash": content_hash(content),
                "based_on_hash": None,
                "proposed_by": "liaison",
            },
        }
        record["content_hash"] = content_hash(record["content"])
        return protocol.make_envelope(self.pk_key, LINK, seq + 1, prev, datetime.now(UTC), record)

    def push(self, cert: CertPair) -> httpx.Response:
        with self.client(cert) as client:
            return client.post("/exchange/v1/links/PK/IR/envelopes", json={"envelopes": [self.envelope()]})

    def signed_get(self, cert: CertPair, path: str = "/exchange/v1/links/PK/IR/receipt") -> httpx.Response:
        headers = protocol.sign_request(self.pk_key, "PK", "GET", path, b"", datetime.now(UTC))
        with self.client(cert) as client:
            return client.get(path, headers=headers)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    root: Path = tmp_path_factory.mktemp("mtls-party")
    ca = TestCa(root / "ca")
    pk = create_party(root, "PK", "Pakistan", ca=ca)
    ir = create_party(root, "IR", "Iran", ca=ca)
    af = create_party(root, "AF", "Afghanistan", ca=ca)
    for here, there in ((pk, ir), (ir, pk), (ir, af), (af, ir)):
        add_peer(here, there)
    assert pk.client_cert is not None and af.client_cert is not None
    with running(ir):
        ir.start()
        yield Setup(
            ir=ir,
            pk_key=protocol.private_key_from_pem(pk.key_file.read_bytes()),
            ca=ca.cert_file,
            pk_cert=pk.client_cert,
            af_cert=af.client_cert,
            anonymous_cert=ca.issue("no-party"),
        )


def _refused(response: httpx.Response, code: str) -> dict[str, Any]:
    assert response.status_code == 403, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code, error
    return error


def test_a_push_signed_by_pk_over_afs_certificate_is_refused_and_writes_nothing(setup: Setup) -> None:
    before = setup.ir.head_hash(LINK), setup.ir.inbox(LINK)
    error = _refused(setup.push(setup.af_cert), "tls_party_mismatch")
    assert error["details"] == {"claimed_party": "PK", "certificate_party": "AF"}
    _refused(setup.push(setup.anonymous_cert), "tls_party_missing")
    assert (setup.ir.head_hash(LINK), setup.ir.inbox(LINK)) == before

    answer = setup.push(setup.pk_cert)  # the same push over PK's own certificate
    assert answer.status_code == 200 and answer.json()["applied"] == 1, answer.text


def test_a_request_signed_by_pk_over_afs_certificate_is_refused(setup: Setup) -> None:
    error = _refused(setup.signed_get(setup.af_cert), "tls_party_mismatch")
    assert "AF's" in error["message"] and "signed as PK" in error["message"]
    _refused(setup.signed_get(setup.anonymous_cert), "tls_party_missing")
    pull = "/exchange/v1/links/IR/PK/envelopes?after=0"
    _refused(setup.signed_get(setup.af_cert, pull), "tls_party_mismatch")

    answer = setup.signed_get(setup.pk_cert)
    assert answer.status_code == 200, answer.text
    assert answer.json()["receipt"]["link"] == LINK
    assert json.loads(setup.signed_get(setup.pk_cert, pull).text)["envelopes"] == []
