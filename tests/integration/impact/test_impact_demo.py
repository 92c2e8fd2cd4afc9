"""The demo seed: one section agreed at high on both nodes, and proposals waiting for the other side."""

from __future__ import annotations

from pathlib import Path

from impact_helpers import seed
from typer.testing import CliRunner

from sarhad.accounts.actors import SystemActor
from sarhad.cli import app as cli_app
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.impact import demo, services
from support.inprocess import deliver, pair
from support.processes import free_port


def test_the_demo_seed_agrees_one_section_and_leaves_proposals_pending(tmp_path: Path) -> None:
    nodes: dict[str, Node] = {}
    for party, name in (("PK", "Pakistan"), ("IR", "Iran")):
        folder = tmp_path / "demo" / party.lower()
        result = CliRunner().invoke(
            cli_app,
            [
                "init",
                "--party",
                party,
                "--name",
                name,
                "--data-dir",
                str(folder),
                "--port",
                str(free_port()),
                "--demo",
            ],
        )
        assert result.exit_code == 0, result.output
        nodes[party] = build_node(load_settings(folder))
        seed(nodes[party])
    pk, ir = nodes["PK"], nodes["IR"]
    try:
        pair(pk, ir)
        demo.seed(pk, "PK")
        demo.seed(ir, "IR")
        deliver(pk, ir)
        deliver(ir, pk)
        for node in (pk, ir):
            with node.sessions() as session:
                views = {v["section"]: v for v in services.section_levels(session, node, SystemActor())}
            assert views["S5"]["level"] == "high" and views["S5"]["pending"] is None
            assert views["S3"]["level"] == "low" and views["S3"]["pending"]["proposer"] == "PK"
            assert views["S2"]["level"] == "low" and views["S2"]["pending"]["proposer"] == "IR"
    finally:
        pk.dispose()
        ir.dispose()
