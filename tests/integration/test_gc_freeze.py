"""``sarhad serve`` freezes what start-up built, so full garbage collections stop pausing requests."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from sarhad.app import create_app
from sarhad.core.node import Node


def test_serving_freezes_the_objects_built_at_start_up(node: Node) -> None:
    gc.unfreeze()
    try:
        with TestClient(create_app(node, run_workers=False, freeze_gc=True)) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() > 10_000  # modules, routes, templates …
    finally:
        gc.unfreeze()


def test_an_app_freezes_nothing_unless_asked(node: Node) -> None:
    gc.unfreeze()
    with TestClient(create_app(node, run_workers=False)) as client:  # tests build many apps in one process
        assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() == 0
