"""Precedence lanes between real node processes (docs/exchange-protocol.md §16).

- Two nodes with lanes agree on them in their hellos; a bulk backlog then travels on the bulk lane's chain,
  and a bulletin released afterwards (routine lane) overtakes it over a slow emulated link; a key rotation
  is carried on every chain; each chain's ledger section verifies offline.
- A node with lanes off (as a node before lanes) still interoperates: the other node finds no lanes in its
  hello answer and puts everything on the link's one chain, both ways.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from exchange_nodes import Party, add_peer, cli_exit, cli_process, create_party, flat, running, wait_for

from support.link_emulator import EmulatedLink

BACKLOG = 400
LANES_OFF = {"SARHAD_EXCHANGE_LANES": "false"}


def _lanes(party: Party, peer: str) -> int:
    return int(party.scalar("SELECT lanes FROM exchange_peers WHERE party = ?", peer))


def _bulk_release(party: Party, to: str, count: int) -> None:
    """``count`` bulletins through the bulletins' bulk path (an import) on a stopped node."""
    from sarhad.accounts.actors import SystemActor
    from sarhad.bulletins import bulk
    from sarhad.bulletins.schemas import BulletinContentIn
    from sarhad.core.node import build_node
    from sarhad.core.settings import load_settings

    assert not party.is_running()
    node = build_node(load_settings(party.data_dir, environ=dict(party.env)))
    try:
        with node.transaction() as session:
            content = BulletinContentIn(title="imported", body="x" * 1000)
            bulk.create_bulletins(
                session, node, SystemActor("import"), [content] * count, tlp="amber", release_to=[to]
            )
    finally:
        node.dispose()


def _all_receipted(party: Party) -> bool:
    rows = party.query("SELECT seq, receipted_seq FROM exchange_links WHERE direction = 'out'")
    return all(seq == receipted for seq, receipted in rows)


def _sent(party: Party, link: str) -> int:
    """Envelopes ``party`` wrote on ``link``, not counting its audit log heads (a node signs one at every
    stop and sends it to its peers: docs/audit.md)."""
    return party.count("exchange_outbox", "link = ? AND record_kind != 'audit.head'", link)


def _export_and_verify(party: Party, peer: str, out: Path) -> dict:
    result = cli_process("ledger", "export", "--peer", peer, str(out), "-d", str(party.data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    code, output = cli_exit("ledger", "verify", str(out))
    assert code == 0 and "ledger verified" in flat(output), output
    return json.loads(out.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture
def slow_pair(tmp_path: Path) -> Iterator[tuple[Party, Party, EmulatedLink]]:
    """PK reaches IR over an emulated 1 Mbit/s link (20 ms round trip); IR reaches PK directly."""
    pk = create_party(tmp_path, "PK", "Pakistan")
    ir = create_party(tmp_path, "IR", "Iran")
    with EmulatedLink("127.0.0.1", ir.port, bits_per_second=1_000_000, rtt_seconds=0.02) as link:
        add_peer(pk, ir, url=link.url)
        add_peer(ir, pk)
        with running(pk, ir):
            yield pk, ir, link


def test_a_release_overtakes_a_bulk_backlog_on_its_own_lane_and_every_chain_verifies(
    slow_pair: tuple[Party, Party, EmulatedLink], tmp_path: Path
) -> None:
    pk, ir, _ = slow_pair
    pk.start()
    ir.start()
    wait_for(lambda: _lanes(pk, "IR") == 1 and _lanes(ir, "PK") == 1, 30, "lanes agreed in the hellos")
    pk.stop()
    ir.stop()

    _bulk_release(pk, "IR", BACKLOG)
    rotated = cli_process("keys", "rotate", "-d", str(pk.data_dir))  # carried on every chain
    assert rotated.returncode == 0, rotated.stdout + rotated.stderr
    assert pk.head("PK>IR:bulk") == BACKLOG + 1  # the import, then the rotation, on the bulk lane's chain
    # the rotation on the base chain (beside the audit log heads each stop signs, which ride it too)
    assert _sent(pk, "PK>IR") == 1

    pk.start()
    ir.start()
    bulletin = pk.bulletin("IR", 1)  # a routine release, after the whole backlog
    wait_for(
        lambda: any(rid == bulletin["id"] for _, _, rid, _ in ir.inbox("PK>IR")),
        60,
        "the routine bulletin on IR",
        on_timeout=lambda: pk.diagnosis() + ir.diagnosis(),
    )
    # It overtook the backlog: the bulk lane had not been delivered when it arrived.
    assert ir.count("exchange_inbox", "link = 'PK>IR:bulk'") < BACKLOG

    wait_for(lambda: _all_receipted(pk), 120, "the backlog drained", on_timeout=pk.diagnosis)
    assert [status for _, status, _, _ in ir.inbox("PK>IR:bulk")] == ["applied"] * (BACKLOG + 1)
    doc = _export_and_verify(pk, "IR", tmp_path / "pk.ledger.json")
    chains = {entry["link"]: len(entry["envelopes"]) for entry in doc["links"]}
    assert chains["PK>IR:bulk"] == BACKLOG + 1 and chains["PK>IR"] == pk.head("PK>IR"), chains
    assert _sent(pk, "PK>IR") == 2, chains  # the rotation and the routine bulletin
    ir_doc = _export_and_verify(ir, "PK", tmp_path / "ir.ledger.json")
    assert {entry["link"] for entry in ir_doc["links"]} >= {"PK>IR", "PK>IR:bulk", "IR>PK"}


@pytest.mark.parametrize("old", ["IR", "PK"])
def test_a_node_without_lanes_still_interoperates_on_one_chain(tmp_path: Path, old: str) -> None:
    pk = create_party(tmp_path, "PK", "Pakistan", env=LANES_OFF if old == "PK" else None)
    ir = create_party(tmp_path, "IR", "Iran", env=LANES_OFF if old == "IR" else None)
    add_peer(pk, ir)
    add_peer(ir, pk)
    with running(pk, ir):
        pk.start()
        ir.start()
        new, new_peer = (pk, "IR") if old == "IR" else (ir, "PK")
        # IR's hello on starting reached PK (and its answer IR): the new node found no lanes offered.
        wait_for(
            lambda: pk.scalar("SELECT last_contact_at FROM exchange_peers") is not None, 30, "IR's hello"
        )
        assert _lanes(new, new_peer) == 0
        pk.stop()
        _bulk_release(pk, "IR", 50)  # what would go on the bulk lane goes on the link's one chain
        pk.start()
        for n in range(3):
            pk.bulletin("IR", n)
            ir.bulletin("PK", n)
        wait_for(lambda: _all_receipted(pk) and _all_receipted(ir), 60, "delivery both ways")
        for party in (pk, ir):
            links = {row[0] for row in party.query("SELECT link FROM exchange_links")}
            assert links == {"PK>IR", "IR>PK"}, links
        assert _sent(pk, "PK>IR") == 53 and _sent(ir, "IR>PK") == 3
        assert ir.head("PK>IR") == pk.head("PK>IR") and pk.head("IR>PK") == ir.head("IR>PK")
        _export_and_verify(pk, "IR", tmp_path / "pk.ledger.json")
        _export_and_verify(ir, "PK", tmp_path / "ir.ledger.json")
