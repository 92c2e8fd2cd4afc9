"""Every domain rule a page form can break is shown in the viewer's language, never in the API's English.

The rules raise :class:`RuleError` with an English message (the API keeps it as it is). The pages translate it
when they render a refused form (``sarhad.web.forms.rule_message``): a fixed message is marked ``N_()`` where it
is raised and looked up in the catalogue; a message with values in it is recognised by pattern and written anew.
This test reads every ``RuleError(...)`` of the packages whose pages have forms, fills each formatted value
with ``1``, and renders it on an Urdu and a Persian page: no English word may be left.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from sarhad.core.i18n import current_language
from sarhad.web.forms import row_message, rule_message

SOURCE = Path(__file__).resolve().parents[3] / "src" / "sarhad"
# The packages whose rules page forms reach (the exchange's rules refuse received records, not forms).
FORM_PACKAGES = ("incidents", "hotline", "requests", "bulletins", "impact", "border", "core/text.py")
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
# Names of file formats, the same in every language, and what a CSV file holds literally (yes, draft, ...).
KEPT_WORDS = {"JPEG", "PNG", "WebP", "PDF", "yes", "draft", "reported", "security", "injured", "opium"}
API_ONLY = {"parse_bbox"}  # rules of API query parameters, which no form has


def _constants(tree: ast.Module) -> dict[str, ast.expr]:
    """Names bound to a value anywhere in the module (module constants and local variables alike)."""
    found: dict[str, ast.expr] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = node.value
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            found[node.target.id] = node.value
    return found


def _sample(node: ast.expr, names: dict[str, ast.expr]) -> str | None:
    """The message as the rule would write it, with every formatted value ``1``; None if not a text."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(str(part.value) if isinstance(part, ast.Constant) else "1" for part in node.values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_" and node.args:
        return _sample(node.args[0], names)
    if isinstance(node, ast.Name) and node.id in names:
        return _sample(names[node.id], names)
    return None


def _problem_functions(tree: ast.Module) -> Iterator[ast.expr]:
    """The texts returned by ``*_problem`` functions (their result is raised as a rule's message)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name.endswith("_problem"):
            for inner in ast.walk(node):
                if (
                    isinstance(inner, ast.Return)
                    and inner.value is not None
                    and not (isinstance(inner.value, ast.Constant) and inner.value.value is None)
                ):
                    yield inner.value.body if isinstance(inner.value, ast.IfExp) else inner.value


def rule_messages() -> list[tuple[str, str]]:
    """(where, sample message) of every RuleError raised in the form packages."""
    files: list[Path] = []
    for package in FORM_PACKAGES:
        path = SOURCE / package
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    found: list[tuple[str, str]] = []
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = _constants(tree)
        messages: list[tuple[int, ast.expr]] = []
        skipped = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef) and node.name in API_ONLY
            for inner in ast.walk(node)
        }
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "RuleError"
                and len(node.args) >= 2
            ):
                messages.append((node.lineno, node.args[1]))
        if path.name == "text.py":
            messages.extend((getattr(n, "lineno", 0), n) for n in _problem_functions(tree))
        for line, message in messages:
            if isinstance(message, ast.Name) and message.id == "problem":
                continue  # the *_problem functions' texts, read above
            sample = _sample(message, names)
            where = f"{path.relative_to(SOURCE)}:{line}"
            assert sample is not None, f"{where}: a rule message the test cannot read; write it as a text"
            found.append((where, sample))
    return found


def test_the_scan_finds_the_rules_of_every_form_package() -> None:
    places = {where.split("/")[0].split(":")[0] for where, _ in rule_messages()}
    assert {"incidents", "hotline", "requests", "bulletins", "impact", "core"} <= places
    assert any(w.startswith("incidents/domain.py") for w, m in rule_messages() if "credibility" in m)


def shown_on_a_page(where: str, message: str) -> str:
    """What a page shows for a rule's message: the CSV import's rows go through row_message."""
    return row_message(message) if where.startswith("incidents/bulk.py") else rule_message(message)


@pytest.mark.parametrize("language", ["ur", "fa"])
def test_every_rule_message_of_a_form_is_translated(language: str) -> None:
    token = current_language.set(language)
    try:
        english = [
            f"{where}: {sample!r} -> {shown!r}"
            for where, sample in rule_messages()
            if set(ENGLISH_WORD.findall(shown := shown_on_a_page(where, sample))) - KEPT_WORDS
        ]
    finally:
        current_language.reset(token)
    assert not english, "\n".join(english)


def test_english_pages_keep_the_rules_words() -> None:
    assert rule_message("information credibility is a digit from 1 to 6") == (
        "Information credibility is a digit from 1 to 6."
    )
