"""A node prepared for running the API against its own OpenAPI document (schemathesis): the reference border,
a peer (IR, never called), and one signed-in user holding every role, so every operation is reachable."""

from __future__ import annotations

import base64
from pathlib import Path

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.accounts.domain import Role
from sarhad.border import seeding
from sarhad.core.node import build_node
from sarhad.core.settings import load_settings
from sarhad.exchange.peers import add_peer

USERNAME = "admin"
PASSWORD = "conformance run passphrase"
PEER_KEY = base64.b64encode(bytes(range(1, 33))).decode()  # a well-formed Ed25519 public key of no one


def prepare(data_dir: Path) -> None:
    node = build_node(load_settings(data_dir))
    try:
        with node.transaction() as session:
            seeding.seed_reference_scenario(session, node, SystemActor("seed"), seeding.reference_data())
            accounts.create_user(
                session,
                node.clock,
                SystemActor(),
                username=USERNAME,
                password=PASSWORD,
                roles=[role.value for role in Role],
            )
        with node.transaction() as session:
            add_peer(
                session,
                node,
                party="IR",
                url="http://127.0.0.1:9/ir",
                public_key_b64=PEER_KEY,
                name="Iran",
                actor=SystemActor("test"),
            )
    finally:
        node.dispose()
