"""The node's incident types: the built-in taxonomy plus the node's own additions, loaded once per node."""

from __future__ import annotations

from sarhad.core.node import Node
from sarhad.incidents import domain
from sarhad.incidents.domain import IncidentType, Taxonomy


def taxonomy(node: Node) -> dict[str, IncidentType]:
    """The node's incident types: the built-in taxonomy plus ``<data_dir>/incident_types.json``."""
    cached = node.components.setdefault(
        Taxonomy, lambda: Taxonomy(domain.load_taxonomy(node.settings.data_dir / domain.NODE_TAXONOMY_FILE))
    )
    return dict(cached.types)


def type_name(node: Node, code: str, language: str = "en") -> str:
    """The type's name in ``language``; a code this node does not know (a peer's type) is shown as its code."""
    found = taxonomy(node).get(code)
    return found.name(language) if found else code.replace("_", " ")
