"""Alembic's environment: runs the revisions on the connection storage.migrate hands over."""

from __future__ import annotations

from alembic import context

from storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the migrations through storage.migrate (python -m storage.migrate upgrade)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things: Alembic then copies the table ("batch" mode).
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
