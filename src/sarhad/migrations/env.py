"""Alembic environment: runs migrations on the URL given in the programmatic config."""

from alembic import context

from sarhad.core.database import make_engine

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url is not None

engine = make_engine(url, pool=False)
with engine.connect() as connection:
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
