"""Alembic's entry point. `storage.migrate` runs it with an open connection in the config."""

from alembic import context

from storage.migrate import context_options

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run migrations through storage.migrate, which provides the connection")

context.configure(connection=connection, **context_options(connection))
with context.begin_transaction():
    context.run_migrations()
