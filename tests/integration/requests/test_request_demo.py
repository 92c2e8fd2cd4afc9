"""The demo seed: open exercise requests (one overdue) and one answered late with its reason, on both nodes."""

from __future__ import annotations

from pathlib import Path

from request_helpers import create_incident, seed_border
from typer.testing import CliRunner

from sarhad.cli import app as cli_app
from sarhad.core.node import Node, build_node
from sarhad.core.settings import load_settings
from sarhad.requests import demo, services
from sarhad.requests.models import PartyRequest
from support.inprocess import pair
from support.processes import free_port


def test_the_demo_seed_leaves_an_overdue_request_and_a_late_answer_with_its_reason(tmp_path: Path) -> None:
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
        seed_border(nodes[party])
    pk, ir = nodes["PK"], nodes["IR"]
    try:
        pair(pk, ir)
        create_incident(pk)
        create_incident(ir, lat=28.97, lon=61.56)
        demo.seed(pk, "PK")
        demo.seed(ir, "IR")
        for node, other in ((pk, "IR"), (ir, "PK")):
            with node.sessions() as session:
                rows = session.query(PartyRequest).all()
                now = node.clock.now()
                outgoing = [r for r in rows if r.origin == node.party]
                incoming = [r for r in rows if r.origin == other]
                open_now = services.open_requests(session, node, now)
            assert len(outgoing) == 3 and len(incoming) == 3
            assert all(r.text.startswith("EXERCISE") for r in rows)
            late = [r for r in outgoing if r.status == "answered"]
            assert (
                len(late) == 1 and late[0].answered_at is not None and late[0].answered_at > late[0].deadline
            )
            assert late[0].late_reason.startswith("The investigating team")
            assert any(o.overdue and o.direction == "outgoing" for o in open_now)
            assert any(not o.overdue and o.direction == "outgoing" for o in open_now)
    finally:
        pk.dispose()
        ir.dispose()
