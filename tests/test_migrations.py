"""The migrations build exactly the tables of storage/schema.py, on SQLite and PostgreSQL;
the servers refuse a database that is not at the newest revision, with the command to run."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from storage import migrate, schema
from storage.database import engine_for
from tests.conftest import run_module


def differences(url: str) -> list:
    with engine_for(url).connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), schema.metadata)


def test_migrations_build_exactly_the_declared_tables(blank_database_url: str) -> None:
    migrate.upgrade(engine_for(blank_database_url))
    assert differences(blank_database_url) == []
    assert migrate.current(engine_for(blank_database_url)) == migrate.head()


def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    migrate.upgrade(engine_for(database_url))
    assert differences(database_url) == []


def test_downgrade_to_base_and_back(database_url: str) -> None:
    engine = engine_for(database_url)
    with engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection), "base")
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert differences(database_url) == []


def test_a_database_from_before_migrations_is_adopted_with_its_rows(blank_database_url: str) -> None:
    engine = engine_for(blank_database_url)
    schema.metadata.create_all(engine, tables=[schema.events, schema.enquiries])  # as create_all did
    with engine.begin() as connection:
        connection.execute(schema.events.insert().values(sender_id="old", type_name="user", data="{}"))
    migrate.upgrade(engine)
    assert differences(blank_database_url) == []
    with engine.connect() as connection:
        assert connection.execute(sa.select(schema.events.c.sender_id)).scalars().all() == ["old"]


def test_a_database_not_at_the_newest_revision_is_refused_with_the_command(blank_database_url: str) -> None:
    engine = engine_for(blank_database_url)
    try:
        migrate.require_current(engine)
    except migrate.SchemaNotCurrent as error:
        assert "python -m storage.migrate upgrade" in str(error) and "not set up" in str(error)
    else:
        raise AssertionError("a blank database was accepted")


def test_the_tracker_store_refuses_an_old_database(blank_database_url: str) -> None:
    from storage.tracker_store import RedactingSQLTrackerStore

    try:
        RedactingSQLTrackerStore(url=blank_database_url)
    except migrate.SchemaNotCurrent:
        return
    raise AssertionError("the tracker store started on a database without tables")


@pytest.mark.slow  # a fresh Python process that imports Rasa
def test_command_line_upgrade_and_check(blank_database_url: str) -> None:
    checked = run_module("storage.migrate", "check", database_url=blank_database_url)
    assert checked.returncode == 1 and "storage.migrate upgrade" in checked.stderr
    upgraded = run_module("storage.migrate", "upgrade", database_url=blank_database_url)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"revision {migrate.head()}" in upgraded.stdout
    assert run_module("storage.migrate", "check", database_url=blank_database_url).returncode == 0


def test_every_table_holding_conversation_data_is_covered_by_retention() -> None:
    keyed = {column.table.name for column in schema.conversation_columns(include_kept=True)}
    holding_sender = {
        t.name for t in schema.metadata.sorted_tables if {"sender_id", "conversation_id"} & set(t.c.keys())
    }
    assert holding_sender == keyed
    kept = keyed - {column.table.name for column in schema.conversation_columns(include_kept=False)}
    assert kept == {"funding_enquiries"}
