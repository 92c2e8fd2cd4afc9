"""Appendix A of the protocol (the record kinds' content schemas) is exactly what the code registers."""

from __future__ import annotations

from pathlib import Path

from sarhad.exchange.content_schemas import render

APPENDIX = Path(__file__).resolve().parents[3] / "docs" / "exchange-content-schemas.md"


def test_the_content_schema_appendix_matches_the_registered_kinds() -> None:
    assert APPENDIX.read_text(encoding="utf-8") == render(), (
        "docs/exchange-content-schemas.md is out of date: run python scripts/protocol_appendix.py"
    )


def test_the_appendix_covers_the_kinds_a_second_implementation_needs() -> None:
    text = render()
    for kind in ("bulletin", "hotline.message", "incident", "request", "request.answer", "joint.proposal"):
        assert f"### `{kind}`" in text, kind
    assert "subject `border.section_impact`" in text
