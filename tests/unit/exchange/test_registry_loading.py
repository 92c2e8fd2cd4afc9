"""The record kinds are registered once, by importing every feature's handlers; a thread that asks for a kind
while another is importing them waits for it (a restarted node's concurrent receives once found
``hotline.message`` "unknown" and quarantined it)."""

from __future__ import annotations

import threading
from types import ModuleType

import pytest

from sarhad import features
from sarhad.exchange import registry


def test_a_kind_asked_for_while_another_thread_loads_the_handlers_is_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    registry.load_handlers()
    kind = registry.get_kind("hotline.message")
    assert kind is not None
    # as in a fresh process: nothing loaded, the hotline's kind registered only once its handlers are imported
    monkeypatch.setattr(registry, "_loaded", False)
    monkeypatch.delitem(registry._KINDS, "hotline.message")
    answers: list[registry.RecordKind | None] = []
    other = threading.Thread(target=lambda: answers.append(registry.get_kind("hotline.message")))
    real = features.feature_module

    def importing(feature: str, module: str) -> ModuleType | None:
        if not other.is_alive() and not answers:
            other.start()  # a concurrent receive asks while this thread is importing
            other.join(0.5)  # it answers now (wrongly), or waits for the loading to end
        loaded = real(feature, module)
        if feature == "hotline":
            registry.register_kind(kind)  # the module is imported already: register as its import did
        return loaded

    monkeypatch.setattr(features, "feature_module", importing)
    registry.load_handlers()
    other.join()
    assert answers == [kind]
