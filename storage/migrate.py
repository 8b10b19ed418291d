"""The database's tables, brought up to date with Alembic migrations.

    python -m storage.migrate upgrade              # to the newest revision (make run does it)
    python -m storage.migrate current              # the revision the database is at
    python -m storage.migrate check                # exit 1 unless it is at the newest one
    python -m storage.migrate revision -m "what"   # a new revision from storage/schema.py

The tables are declared in :mod:`storage.schema`; the revisions in ``storage/migrations/``
create and change them, on SQLite and PostgreSQL alike. ``make run`` and the staff workspace
upgrade the database before they use it. The Rasa server's tracker store only checks the
revision (several workers start at once, and one process should change a schema, not
three): an old database stops it with the command to run.

An upgrade runs without the statement timeout every PostgreSQL connection carries
(:mod:`storage.database`, there to keep a visitor's turn from waiting on the database): on a
large log a migration's DDL may rightly take longer, and so may the wait for another
process's upgrade to finish.

No ``alembic.ini`` is needed: the configuration is built here, from the settings.
"""

from __future__ import annotations

import argparse
import re
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from apt_settings import settings
from storage.database import engine_for, lift_statement_timeout

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# PostgreSQL: one upgrade at a time, whichever process starts first (pg_advisory_xact_lock).
_UPGRADE_LOCK_KEY = 0x41505453  # "APTS"


class SchemaNotCurrent(RuntimeError):
    """The database is not at the newest revision; the message says what to run."""


def alembic_config(connection: Optional[Connection] = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None, "storage/migrations has no revision"
    return revision


def current(engine: Optional[Engine] = None) -> Optional[str]:
    """The database's revision, or None for a database the migrations never ran on."""
    with (engine or engine_for()).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _upgrade_lock(connection: Connection) -> Iterator[None]:
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY})
    yield


def upgrade(engine: Optional[Engine] = None, revision: str = "head") -> None:
    """Bring the database to ``revision`` (default: the newest); nothing to do is a no-op.
    One transaction, without the statement timeout (see the module's docstring)."""
    with (engine or engine_for()).begin() as connection:
        lift_statement_timeout(connection)
        with _upgrade_lock(connection):
            command.upgrade(alembic_config(connection), revision)


def require_current(engine: Optional[Engine] = None) -> None:
    """SchemaNotCurrent unless the database is at the newest revision."""
    engine = engine or engine_for()
    found, newest = current(engine), head()
    if found != newest:
        where = engine.url.render_as_string(hide_password=True)
        state = f"at revision {found}" if found else "not set up"
        raise SchemaNotCurrent(
            f"the database {where} is {state}; this version needs revision {newest}: "
            "run `python -m storage.migrate upgrade` (make run does it)"
        )


def create_database(url: str) -> bool:
    """Create the PostgreSQL database named in ``url`` if it does not exist (for ``make
    run-scale``; a SQLite file is created on first use). True if it was created. Its
    connection is not the project's engine, so it carries no statement timeout to lift (nor
    could it: ``CREATE DATABASE`` runs outside a transaction)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return False
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}", parsed.database):
        raise ValueError(f"{parsed.database!r}: use letters, digits and underscores for the database name")
    server = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True)
    try:
        with server.connect() as connection:
            found = connection.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).first()
            if found is None:
                connection.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
                return True
    finally:
        server.dispose()
    return False


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m storage.migrate", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("create", help="create the PostgreSQL database if it does not exist")
    commands.add_parser("upgrade", help="bring the database to the newest revision")
    commands.add_parser("current", help="print the database's revision")
    commands.add_parser("check", help="exit 1 unless the database is at the newest revision")
    revision = commands.add_parser("revision", help="write a new revision from storage/schema.py")
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    if args.command == "create":
        try:
            created = create_database(settings().database_url)
        except (ValueError, sa.exc.SQLAlchemyError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        print("database created" if created else "database exists")
        return 0
    engine = engine_for()
    try:
        if args.command == "upgrade":
            upgrade(engine)
            print(f"database at revision {current(engine)}")
        elif args.command == "current":
            print(current(engine) or "(not set up)")
        elif args.command == "check":
            require_current(engine)
            print(f"database at the newest revision, {head()}")
        else:
            require_current(engine)
            with engine.begin() as connection:
                command.revision(alembic_config(connection), message=args.message, autogenerate=True)
    except (SchemaNotCurrent, sa.exc.SQLAlchemyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
