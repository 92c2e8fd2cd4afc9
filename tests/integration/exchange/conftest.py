"""Fixtures for the exchange integration tests: real ``sarhad serve`` processes talking over loopback HTTP.

The building blocks live in ``exchange_nodes.py`` (importable from the tests in this folder); the fixtures
here only make sure no process outlives its test.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from exchange_nodes import Party, make_pair, running


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Party, Party]]:
    """PK and IR, paired both ways with push, not started; stopped (or killed) after the test."""
    pk, ir = make_pair(tmp_path)
    with running(pk, ir):
        yield pk, ir
