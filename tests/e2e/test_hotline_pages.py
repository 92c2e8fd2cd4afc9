"""The hotline in two browsers against two real nodes: the IR commander's inbox raises the FLASH alert live,
without a reload; the acknowledge click clears it; the PK commander's page shows delivered, then acknowledged,
without a reload."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select

from sarhad.accounts import services as accounts
from sarhad.accounts.actors import SystemActor
from sarhad.accounts.models import Position
from sarhad.core.node import build_node
from sarhad.core.settings import load_settings
from sarhad.exchange.identity import identity
from sarhad.exchange.peers import add_peer
from sarhad.hotline import configuration
from support.processes import NodeProcess, free_port

PASSWORD = "correct horse battery"


def _prepare(make_node_dir: Callable[..., Path]) -> dict[str, Path]:
    from sarhad.border import seeding as border

    ports = {"PK": free_port(), "IR": free_port()}
    dirs = {p: make_node_dir(p, n, port=ports[p]) for p, n in (("PK", "Pakistan"), ("IR", "Iran"))}
    nodes = {p: build_node(load_settings(d)) for p, d in dirs.items()}
    try:
        for node in nodes.values():
            with node.transaction() as session:
                border.seed_reference_scenario(session, node, SystemActor("seed"), border.reference_data())
            with node.transaction() as session:
                accounts.create_user(
                    session,
                    node.clock,
                    SystemActor(),
                    username="commander",
                    password=PASSWORD,
                    roles=["commander"],
                )
                session.flush()
                for pid in session.scalars(select(Position.id).where(Position.kind == "commander")).all():
                    accounts.assign_position(
                        session, node.clock, SystemActor(), position_id=pid, username="commander"
                    )
        for party, node in nodes.items():
            other = "IR" if party == "PK" else "PK"
            with node.transaction() as session:
                add_peer(
                    session,
                    node,
                    party=other,
                    url=f"http://127.0.0.1:{ports[other]}",
                    public_key_b64=identity(nodes[other]).public_key_b64,
                    name=other,
                    actor=SystemActor("test"),
                )
        for party, node in nodes.items():
            with node.transaction() as session:
                configuration.seed_reference_channels(
                    session, node, SystemActor(), "IR" if party == "PK" else "PK"
                )
    finally:
        for node in nodes.values():
            node.dispose()
    return dirs


@pytest.fixture
def nodes(make_node_dir: Callable[..., Path]) -> Iterator[dict[str, NodeProcess]]:
    dirs = _prepare(make_node_dir)
    pk_dir, ir_dir = dirs["PK"], dirs["IR"]
    with (
        NodeProcess(pk_dir, port=load_settings(pk_dir).port, name="pk") as pk,
        NodeProcess(ir_dir, port=load_settings(ir_dir).port, name="ir") as ir,
    ):
        yield {"PK": pk, "IR": ir}


@pytest.fixture
def second_context(chromium: Browser) -> Iterator[BrowserContext]:
    context = chromium.new_context(
        locale="en-GB", timezone_id="Asia/Tehran", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def sign_in(page: Page, base: str, then: str) -> None:
    page.goto(f"{base}/login?next={then}")
    page.fill("input[name=username]", "commander")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}{then}")


def test_flash_alert_appears_live_is_cleared_by_the_ack_and_the_sender_sees_it_live(
    page: Page, second_context: BrowserContext, nodes: dict[str, NodeProcess]
) -> None:
    pk, ir = nodes["PK"], nodes["IR"]
    ir_page = second_context.new_page()
    sign_in(ir_page, ir.url, "/hotline")
    expect(ir_page.locator("#hotline-root")).to_have_attribute("data-connected", "1")
    expect(ir_page.locator(".flash-alert")).to_have_count(0)
    ir_page.evaluate("window.__notReloaded = true")

    sign_in(page, pk.url, "/hotline/compose")
    page.select_option(
        "select[name=channel]",
        label=page.locator("select[name=channel] option", has_text="IR-S2-CDR").first.inner_text(),
    )
    page.select_option("select[name=precedence]", "FLASH")
    page.fill("input[name=subject]", "Armed group crossing at pillar 40")
    page.fill("textarea[name=body]", "Twelve men, two vehicles, heading north.")
    page.click("form.hotline-compose button[type=submit]")
    expect(page).to_have_url(re.compile(r".*/hotline/messages/[0-9a-f-]+$"))
    expect(page.locator("#hotline-root")).to_have_attribute("data-connected", "1")
    page.evaluate("window.__notReloaded = true")

    # IR: the alert arrives live, visual and audible
    alert = ir_page.locator(".flash-alert")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("Armed group crossing at pillar 40")
    expect(ir_page.locator("#alerts")).to_have_attribute("data-alarm", "1")
    expect(ir_page.locator("body")).to_have_class(re.compile("hotline-alarm"))
    assert ir_page.evaluate("window.__notReloaded === true")
    assert int(ir_page.locator("#alerts").get_attribute("data-beeps") or "0") >= 1

    # PK: delivered, without a reload
    expect(page.locator("#message-state [data-state]")).to_have_attribute("data-state", "delivered")
    assert page.evaluate("window.__notReloaded === true")

    # IR acknowledges from the alert: the alert and the alarm stop
    ir_page.click(".flash-alert .ack-button")
    expect(ir_page.locator(".flash-alert")).to_have_count(0)
    expect(ir_page.locator("#alerts")).to_have_attribute("data-alarm", "0")

    # PK: acknowledged, still without a reload, with who acknowledged
    expect(page.locator("#message-state [data-state]")).to_have_attribute("data-state", "acknowledged")
    expect(page.locator("#ack-line")).to_contain_text("commander (IR-S2-CDR)")
    assert page.evaluate("window.__notReloaded === true")
