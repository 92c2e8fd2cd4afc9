"""Two (or more) real sarhad nodes for the exchange integration tests, and the tools to poke at them.

A :class:`Party` is one node: a data directory made by the real ``sarhad init``, a user made by
``sarhad user add``, and a ``sarhad serve`` subprocess (:class:`support.processes.NodeProcess`, or
:class:`TlsNodeProcess` for mutual TLS). :func:`make_pair` pairs two of them with ``sarhad keys show`` and
``sarhad peer add``, as an operator would.

The tests look at a node's state through its own database (read-only SQL on the SQLite file, one
statement at a time so the running node is never held up) and through its API.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from support.processes import NodeProcess, free_port

PASSWORD = "Exchange-Integration-Passw0rd"
USER = "liaison"
SARHAD = Path(sys.executable).with_name("sarhad")
T = TypeVar("T")


# ---------------------------------------------------------------------------------------------------------
# the CLI


def _cli_app() -> Any:
    """The real ``sarhad`` Typer app with every feature's commands registered (as ``sarhad.cli.main`` does)."""
    from sarhad.cli import app
    from sarhad.features import FEATURES, feature_module

    if not any(group.name == "peer" for group in app.registered_groups):
        for feature in FEATURES:
            module = feature_module(feature, "cli")
            if module is not None and hasattr(module, "register"):
                module.register(app)
    return app


def cli(*args: str, env: dict[str, str] | None = None) -> str:
    """Run ``sarhad ARGS`` in-process (the real CLI code path); return its output or fail the test."""
    result = CliRunner().invoke(_cli_app(), list(args), env=env, catch_exceptions=True)
    if result.exit_code != 0:
        detail = result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            import traceback

            detail += "".join(traceback.format_exception(result.exception))
        pytest.fail(f"`sarhad {' '.join(args)}` exited with {result.exit_code}:\n{detail}", pytrace=False)
    return result.output


def cli_exit(*args: str) -> tuple[int, str]:
    """Run ``sarhad ARGS`` in-process and return its exit code and output (stdout and stderr), whatever it is."""
    result = CliRunner().invoke(_cli_app(), list(args), catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def cli_process(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run ``sarhad ARGS`` as a separate process (as an operator or an auditor would); never raises on exit code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SARHAD_")}
    env["COLUMNS"] = "200"  # Rich wraps at the terminal width; keep messages on one line where it can
    return subprocess.run(
        [str(SARHAD), *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def flat(text: str) -> str:
    """Rich wraps long lines; compare messages with every whitespace run made a single space."""
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------------------
# waiting


def wait_for(
    probe: Callable[[], T | None],
    timeout: float,
    what: str,
    interval: float = 0.1,
    on_timeout: str | Callable[[], str] = "",
) -> T:
    """Call ``probe`` until it returns something truthy; fail the test after ``timeout`` seconds.

    ``on_timeout`` (text, or a function giving it) is added to the failure message: logs, state.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = probe()
        if last:
            return last
        if time.monotonic() > deadline:
            detail = on_timeout() if callable(on_timeout) else on_timeout
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})\n{detail}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------------------
# mutual TLS material


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sarhad integration tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


class TestCa:
    """A throw-away certificate authority in a directory; issues server+client certificates for 127.0.0.1."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def __init__(self, folder: Path, name: str = "sarhad test CA") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        self.name = _name(name)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.cert_file = folder / "ca.pem"
        self.cert_file.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, common_name: str, party: str | None = None) -> CertPair:
        """A certificate for ``common_name`` valid for 127.0.0.1 and localhost, as server and as client;
        with ``party``, it names that party (``urn:sarhad:party:XX``), as a node's certificate must."""
        names: list[x509.GeneralName] = [
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            x509.DNSName("localhost"),
        ]
        if party is not None:
            names.append(x509.UniformResourceIdentifier(f"urn:sarhad:party:{party}"))
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        pair = CertPair(self.folder / f"{common_name}.crt.pem", self.folder / f"{common_name}.key.pem")
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pair.key.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        pair.key.chmod(0o600)
        return pair


def tls_client_kwargs(ca: Path, client: CertPair | None) -> dict[str, Any]:
    """httpx arguments for a client that trusts ``ca`` and (optionally) presents ``client``."""
    import ssl

    context = ssl.create_default_context(cafile=str(ca))
    if client is not None:
        context.load_cert_chain(str(client.cert), str(client.key))
    return {"verify": context}


class TlsNodeProcess(NodeProcess):
    """A node served over mutual TLS: health checks present a client certificate from the same CA."""

    def __init__(self, *args: Any, ca: Path, client: CertPair, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ca = ca
        self.client = client

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def wait_healthy(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (self.start_timeout if timeout is None else timeout)
        last = "no answer yet"
        with httpx.Client(timeout=2.0, **tls_client_kwargs(self.ca, self.client)) as client:
            while True:
                if self.process is None or self.process.poll() is not None:
                    code = None if self.process is None else self.process.returncode
                    raise AssertionError(f"{self.name} exited with code {code} while starting\n{self.logs()}")
                try:
                    response = client.get(f"{self.url}/healthz")
                    if response.status_code == 200 and response.json().get("status") == "ok":
                        return
                    last = f"{response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"{self.name} not healthy at {self.url}/healthz (last: {last})\n{self.logs()}"
                    )
                time.sleep(0.1)


# ---------------------------------------------------------------------------------------------------------
# a party's node


@dataclass
class Party:
    """One party's node: data directory, port, process, and read access to its database."""

    code: str
    name: str
    data_dir: Path
    port: int
    env: dict[str, str] = field(default_factory=dict)
    ca: Path | None = None
    client_cert: CertPair | None = None
    process: NodeProcess | None = None
    _token: str | None = None

    # -- process --------------------------------------------------------------------------------------

    @property
    def scheme(self) -> str:
        return "https" if self.ca is not None else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def _make_process(self) -> NodeProcess:
        if self.ca is not None:
            assert self.client_cert is not None
            return TlsNodeProcess(
                self.data_dir,
                port=self.port,
                env=self.env,
                name=self.code,
                ca=self.ca,
                client=self.client_cert,
            )
        return NodeProcess(self.data_dir, port=self.port, env=self.env, name=self.code)

    def start(self) -> Party:
        if self.process is None:
            self.process = self._make_process()
        with pytest.MonkeyPatch.context() as mp:  # the test runner's SARHAD_* must not reach the node
            for key in list(os.environ):
                if key.startswith("SARHAD_") and not key.startswith("SARHAD_TEST_"):
                    mp.delenv(key)
            self.process.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is not None:
            self.process.stop(timeout)

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def is_running(self) -> bool:
        return self.process is not None and self.process.is_running()

    def logs(self) -> str:
        return self.process.logs(60) if self.process is not None else "(never started)"

    def diagnosis(self) -> str:
        """The node's view of its peers and links, then the end of its logs: for failure messages."""
        peers = self.query(
            "SELECT party, push, pull, failures, next_attempt_at, lease_owner, lease_until, last_contact_at, "
            "last_error FROM exchange_peers"
        )
        links = self.query("SELECT link, seq, sent_seq, receipted_seq FROM exchange_links")
        now = datetime.now(UTC).isoformat()
        return f"--- {self.code} at {now}: peers {peers}\nlinks {links}\n{self.logs()}"

    # -- identity --------------------------------------------------------------------------------------

    def public_key(self) -> str:
        """The node's current public key, as ``sarhad keys show`` prints it."""
        out = cli("keys", "show", "-d", str(self.data_dir))
        match = re.search(r"public key:\s+(\S+)", out)
        assert match is not None, out
        return match.group(1)

    def fingerprint(self) -> str:
        out = cli("keys", "show", "-d", str(self.data_dir))
        match = re.search(r"fingerprint:\s+([0-9a-f]{64})", out)
        assert match is not None, out
        return match.group(1)

    @property
    def key_file(self) -> Path:
        return self.data_dir / "signing-key.pem"

    # -- API --------------------------------------------------------------------------------------------

    def http(self, **kwargs: Any) -> httpx.Client:
        """A plain client for this node (with a client certificate if it speaks mutual TLS)."""
        tls = tls_client_kwargs(self.ca, self.client_cert) if self.ca is not None else {}
        return httpx.Client(base_url=self.url, timeout=30.0, **tls, **kwargs)

    def token(self) -> str:
        if self._token is None:
            with self.http() as client:
                response = client.post("/api/v1/auth/token", data={"username": USER, "password": PASSWORD})
            assert response.status_code == 200, response.text
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the node's API as the test user; return the JSON answer or fail with the response."""
        with self.http() as client:
            response = client.request(
                method, path, headers={"Authorization": f"Bearer {self.token()}"}, **kwargs
            )
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def propose(self, to: str, n: int, title: str = "") -> dict[str, Any]:
        """A joint record proposed to ``to`` through the API: one envelope on the link to it."""
        return self.api(  # type: ignore[no-any-return]
            "POST",
            "/api/v1/joint",
            json={
                "subject": "test",
                "title": title or f"{self.code} #{n}",
                "signatories": [to],
                "content": {"n": n},
            },
        )

    def bulletin(self, to: str, n: int) -> dict[str, Any]:
        """A bulletin written and released to ``to`` through the API: one envelope on the link to it."""
        return self.api(  # type: ignore[no-any-return]
            "POST",
            "/api/v1/bulletins",
            json={"title": f"{self.code} bulletin {n}", "body": f"n={n}", "release_to": [to], "tlp": "amber"},
        )

    def peer_status(self, peer: str) -> dict[str, Any]:
        rows = self.api("GET", "/api/v1/exchange/peers")
        match = [r for r in rows if r["peer"] == peer]
        assert match, rows
        return match[0]  # type: ignore[no-any-return]

    # -- database (read-only, statement by statement) -----------------------------------------------------

    @property
    def db_path(self) -> Path:
        return self.data_dir / "sarhad.db"

    @contextlib.contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        connection = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        try:
            connection.execute("PRAGMA busy_timeout=30000")
            yield connection
        finally:
            connection.close()

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with self.db() as connection:
            return connection.execute(sql, params).fetchall()

    def scalar(self, sql: str, *params: Any) -> Any:
        rows = self.query(sql, *params)
        return rows[0][0] if rows else None

    def head(self, link: str) -> int:
        """The link's head as this node knows it (last envelope written or accepted)."""
        return int(self.scalar("SELECT seq FROM exchange_links WHERE link = ?", link))

    def head_hash(self, link: str) -> tuple[int, str]:
        rows = self.query("SELECT seq, hash FROM exchange_links WHERE link = ?", link)
        return int(rows[0][0]), str(rows[0][1])

    def receipted(self, link: str) -> int:
        return int(self.scalar("SELECT receipted_seq FROM exchange_links WHERE link = ?", link))

    def inbox(self, link: str) -> list[tuple[int, str, str, str]]:
        """(seq, status, record id, reason) of every envelope accepted on ``link``, in seq order."""
        return [
            (int(seq), str(status), str(rid), str(reason))
            for seq, status, rid, reason in self.query(
                "SELECT seq, status, record_id, reason FROM exchange_inbox WHERE link = ? ORDER BY seq", link
            )
        ]

    def count(self, table: str, where: str = "1=1", *params: Any) -> int:
        return int(self.scalar(f"SELECT count(*) FROM {table} WHERE {where}", *params))


def create_party(
    root: Path,
    code: str,
    name: str,
    *,
    env: dict[str, str] | None = None,
    ca: TestCa | None = None,
) -> Party:
    """``sarhad init`` a demo node and ``sarhad user add`` a liaison officer + admin to it."""
    data_dir = root / f"node-{code.lower()}"
    port = free_port()
    cli("init", "--party", code, "--name", name, "--data-dir", str(data_dir), "--port", str(port), "--demo")
    cli(
        "user",
        "add",
        USER,
        "-d",
        str(data_dir),
        "--role",
        "liaison_officer",
        "--role",
        "admin",
        env={"SARHAD_NEW_PASSWORD": PASSWORD},
    )
    party = Party(code=code, name=name, data_dir=data_dir, port=port, env=dict(env or {}))
    if ca is not None:
        server = ca.issue(f"node-{code.lower()}", party=code)
        party.ca = ca.cert_file
        party.client_cert = ca.issue(f"client-of-{code.lower()}", party=code)
        party.env.update(
            SARHAD_TLS_CERT_FILE=str(server.cert),
            SARHAD_TLS_KEY_FILE=str(server.key),
            SARHAD_TLS_CA_FILE=str(ca.cert_file),
        )
    return party


def add_peer(me: Party, peer: Party, *options: str, url: str | None = None) -> None:
    """``sarhad peer add`` on ``me`` for ``peer``, with the key ``sarhad keys show`` prints on the peer."""
    cli(
        "peer",
        "add",
        "-d",
        str(me.data_dir),
        "--party",
        peer.code,
        "--url",
        url or peer.url,
        "--key",
        peer.public_key(),
        "--fingerprint",
        peer.fingerprint(),
        *options,
    )


def make_pair(
    root: Path,
    *,
    pk_env: dict[str, str] | None = None,
    ir_env: dict[str, str] | None = None,
    pk_peer_options: Sequence[str] = (),
    ir_peer_options: Sequence[str] = (),
    pk_peer_url: str | None = None,
    tls: bool = False,
) -> tuple[Party, Party]:
    """Two paired nodes, PK and IR (not started). ``*_peer_options`` go to that node's ``peer add``."""
    ca = TestCa(root / "ca") if tls else None
    pk = create_party(root, "PK", "Pakistan", env=pk_env, ca=ca)
    ir = create_party(root, "IR", "Iran", env=ir_env, ca=ca)
    add_peer(pk, ir, *pk_peer_options, url=pk_peer_url)
    add_peer(ir, pk, *ir_peer_options)
    return pk, ir


@contextlib.contextmanager
def running(*parties: Party) -> Iterator[None]:
    """Make sure every party's process is stopped (or killed) at the end, whatever the test did."""
    try:
        yield
    finally:
        for party in parties:
            if party.is_running():
                try:
                    party.stop()
                except Exception:
                    party.kill()


# ---------------------------------------------------------------------------------------------------------
# records


def bulk_release(party: Party, to: str, count: int, first: int = 1) -> None:
    """Release ``count`` joint-record proposals to ``to`` on a stopped node, in one transaction.

    The real release path (``release.release_record`` → ``enqueue_record``: transactional outbox, one signed
    envelope each), without 2000 HTTP round trips. The content is what ``joint.propose`` sends.
    """
    from sarhad.accounts.actors import SystemActor
    from sarhad.core.ids import new_id
    from sarhad.core.node import build_node
    from sarhad.core.settings import load_settings
    from sarhad.exchange import release

    assert not party.is_running(), "bulk_release writes the database directly; stop the node first"
    node = build_node(load_settings(party.data_dir, environ={}))
    try:
        with node.transaction() as session:
            for n in range(first, first + count):
                joint_id = new_id()
                content = {"n": n}
                wire = {
                    "joint_id": joint_id,
                    "subject": "test",
                    "title": f"bulk #{n}",
                    "signatories": sorted([party.code, to]),
                    "content": content,
                    "content_hash": release.content_hash(content),
                    "based_on_hash": None,
                    "proposed_by": "bulk",
                }
                release.release_record(
                    session,
                    node,
                    kind="joint.proposal",
                    record_id=f"{joint_id}.p1.{party.code}",
                    version=1,
                    content=wire,
                    to=[to],
                    actor=SystemActor("bulk"),
                )
    finally:
        node.dispose()


def assert_received_exactly_once(
    receiver: Party, link: str, count: int, proposals: int | None = None, bulletins: int = 0
) -> None:
    """The receiver holds envelopes 1..count on ``link``, each applied, each record stored once.

    ``proposals`` / ``bulletins``: how many of them are joint-record proposals (default: all but the
    bulletins) and bulletins; each must have been applied once by its kind's handler.
    """
    inbox = receiver.inbox(link)
    seqs = [seq for seq, _status, _rid, _reason in inbox]
    assert seqs == list(range(1, count + 1)), (
        f"{link} on {receiver.code}: expected seqs 1..{count} contiguous, got {len(seqs)} "
        f"(first {seqs[:3]}, last {seqs[-3:]}, missing {sorted(set(range(1, count + 1)) - set(seqs))[:10]})"
    )
    bad = [(seq, status, reason) for seq, status, _rid, reason in inbox if status != "applied"]
    assert not bad, f"not applied: {bad[:5]}"
    record_ids = [rid for _seq, _status, rid, _reason in inbox]
    assert len(set(record_ids)) == count, "one record arrived in two envelopes"
    sender = link.split(">")[0]
    # each record stored once in the received-records table and applied once by its kind's handler
    assert receiver.count("exchange_received_records", "origin = ?", sender) == count
    expected_proposals = count - bulletins if proposals is None else proposals
    assert receiver.count("exchange_joint_proposals", "proposer = ?", sender) == expected_proposals
    assert receiver.count("bulletins", "origin = ?", sender) == bulletins
    assert receiver.head(link) == count


def envelope_json(text: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(text)
    return value
