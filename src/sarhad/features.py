"""The feature packages of a node, in the order their routers and workers are registered.

Each package may provide ``api.router``, ``pages.router``, ``cli.app`` (a Typer group, added under the
package's ``CLI_NAME``) and ``workers.TASKS`` (async background tasks), ``handlers`` (record kinds) and
``demo.seed(node, party)`` (exercise data for ``sarhad demo``, run once after the nodes are paired). Adding a domain package means
adding its name here; nothing else in the core changes.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

FEATURES: tuple[str, ...] = (
    "web",
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
)


def feature_module(feature: str, module: str) -> ModuleType | None:
    name = f"sarhad.{feature}.{module}"
    if importlib.util.find_spec(f"sarhad.{feature}") is None or importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)
