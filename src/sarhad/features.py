"""The feature packages of a node, in the order their modules are found and registered.

Each package may provide any of these modules, found by name (``feature_module``):

- ``api`` and ``pages``: a ``router``, included in the app (``app.create_app``);
- ``cli``: ``register(app)``, which adds the package's commands to the ``sarhad`` Typer app (``cli.py``);
- ``workers``: ``TASKS``, async background tasks each app process runs (``app.create_app``);
- ``handlers``: imported for the record kinds it registers with the exchange (``exchange.registry``);
- ``demo``: ``seed(node, party)``, exercise data for ``sarhad demo``, run once the demo nodes are paired.

Adding a domain package means adding its name here (and its tables' migration); no core module changes.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

FEATURES: tuple[str, ...] = (
    "web",
    "dashboard",
    "accounts",
    "audit",
    "border",
    "exchange",
    "bulletins",
    "live",
    "hotline",
    "incidents",
    "requests",
    "impact",
    "intel",
    "qrf",
)


def feature_module(feature: str, module: str) -> ModuleType | None:
    """``sarhad.<feature>.<module>``, imported; None if the package has no such module."""
    name = f"sarhad.{feature}.{module}"
    if importlib.util.find_spec(f"sarhad.{feature}") is None or importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)
