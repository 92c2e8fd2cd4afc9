"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import importlib

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.pool import NullPool

from sarhad.core.database import Base, current_revision, head_revision, upgrade_database
from sarhad.features import FEATURES, feature_module


def _load_all_models() -> None:
    for feature in FEATURES:
        feature_module(feature, "models")
    importlib.import_module("sarhad.exchange.models")


def test_upgrade_to_head_matches_the_models(database_url: str) -> None:
    _load_all_models()
    before, after = upgrade_database(database_url)
    assert before is None and after == head_revision() == current_revision(database_url)
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
            tables = set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    assert differences == [], f"models and migrations disagree: {differences}"
    assert {"users", "audit_log", "exchange_outbox", "exchange_inbox"} <= tables


def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    upgrade_database(database_url)
    before, after = upgrade_database(database_url)
    assert before == after == head_revision()
