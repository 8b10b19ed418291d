"""Test databases: SQLite always, PostgreSQL where the local server answers (a failure in
CI when it does not), and a conversation's stored events."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional

import pytest
import sqlalchemy


def required_in_ci() -> bool:
    """In CI (CI=true) a missing PostgreSQL server or source folder is a failure, not a skip."""
    return os.environ.get("CI") == "true"


# The machine's PostgreSQL server, where each test creates and drops a database of its own.
POSTGRES_SERVER = os.environ.get("TEST_POSTGRES_SERVER", "postgresql://postgres@127.0.0.1:5432/postgres")


def postgres_database(name: str) -> Optional[str]:
    """Create an empty database on the local PostgreSQL; None if no server answers."""
    import sqlalchemy as sa

    server = sa.create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError:
        return None
    finally:
        server.dispose()
    return str(sa.engine.make_url(POSTGRES_SERVER).set(database=name))


def postgres_database_or_skip(name: str) -> str:
    """A new empty PostgreSQL database; without a server, a skip (a failure in CI)."""
    url = postgres_database(name)
    if url is None:
        if required_in_ci():
            pytest.fail(f"no PostgreSQL server at {POSTGRES_SERVER}")
        pytest.skip(f"no PostgreSQL server at {POSTGRES_SERVER}")
    return url


def drop_postgres_database(name: str) -> None:
    import sqlalchemy as sa

    from storage import database

    for url in [u for u in database._engines if u.endswith(f"/{name}")]:
        database._engines.pop(url).dispose()
    server = sa.create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def stored_events(database_url: str, sender: str) -> List[Dict[str, Any]]:
    """A conversation's stored events, in the order the staff workspace shows them (by id)."""
    from storage import schema
    from storage.database import engine_for

    with engine_for(database_url).connect() as connection:
        rows = connection.execute(
            sqlalchemy.select(schema.events.c.data)
            .where(schema.events.c.sender_id == sender)
            .order_by(schema.events.c.id)
        ).scalars()
        return [json.loads(row) for row in rows]
