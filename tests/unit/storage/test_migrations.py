"""The migrations build exactly the tables of storage/schema.py, on SQLite and PostgreSQL;
the servers refuse a database that is not at the newest revision, with the command to run.
Migrations and retention jobs may run longer than the statement timeout a turn may not."""

from __future__ import annotations

import secrets
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from apt_settings import settings
from storage import migrate, retention, schema
from storage.database import engine_for, lift_statement_timeout
from tests.support.commands import run_module
from tests.support.databases import drop_postgres_database, postgres_database_or_skip

SHORT_TIMEOUT = 1.0  # APT_DATABASE_TIMEOUT in the statement timeout tests
HELD_SECONDS = 3.0  # how long a job there waits for another transaction's lock: beyond the timeout


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


# -- the statement timeout: a turn's statements are cut off, maintenance's are not ----------------


def postgres_with_short_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A PostgreSQL database at the newest revision, whose engine carries a 1 s statement
    timeout (the setting is read when the engine is created)."""
    monkeypatch.setenv("APT_DATABASE_TIMEOUT", str(SHORT_TIMEOUT))
    settings.cache_clear()
    name = f"apt_timeout_{secrets.token_hex(6)}"
    try:
        url = postgres_database_or_skip(name)
        try:
            migrate.upgrade(engine_for(url))
            yield url
        finally:
            drop_postgres_database(name)
    finally:
        monkeypatch.undo()
        settings.cache_clear()


@pytest.fixture
def short_timeout_postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    yield from postgres_with_short_timeout(monkeypatch)


@contextmanager
def held_elsewhere(url: str, lock: str) -> Iterator[Callable[[], None]]:
    """The lock taken by ``lock`` (SQL), held by another transaction until HELD_SECONDS
    after the function given is called."""
    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        with engine_for(url).begin() as connection:
            lift_statement_timeout(connection)
            connection.execute(sa.text(lock))
            locked.set()
            release.wait(60)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert locked.wait(10), "the lock was not taken"
        yield lambda: threading.Timer(HELD_SECONDS, release.set).start()
    finally:
        release.set()
        holder.join()


def cut_off(url: str, statement: str) -> None:
    """``statement`` on a plain connection of the engine is cancelled by the statement timeout."""
    with engine_for(url).connect() as connection:
        with pytest.raises(sa.exc.OperationalError, match="statement timeout"):
            connection.execute(sa.text(statement))


def waits_for_the_lock(job: Callable[[], object], release_later: Callable[[], None]) -> object:
    """``job()``, timed from when the lock is released HELD_SECONDS later: it must wait for it."""
    started = time.monotonic()
    release_later()
    result = job()
    assert time.monotonic() - started > HELD_SECONDS - 0.1, "the job did not wait for the lock"
    return result


@pytest.mark.postgres
def test_an_upgrade_waits_for_another_upgrade_longer_than_the_statement_timeout(
    short_timeout_postgres: str,
) -> None:
    url = short_timeout_postgres
    lock = f"SELECT pg_advisory_xact_lock({migrate._UPGRADE_LOCK_KEY})"
    with held_elsewhere(url, lock) as release_later:
        cut_off(url, lock)
        waits_for_the_lock(lambda: migrate.upgrade(engine_for(url)), release_later)
    assert migrate.current(engine_for(url)) == migrate.head()


@pytest.mark.postgres
def test_retention_jobs_wait_for_a_locked_log_longer_than_the_statement_timeout(
    short_timeout_postgres: str,
) -> None:
    url = short_timeout_postgres
    engine = engine_for(url)
    old = time.time() - 100 * 86400
    with engine.begin() as connection:
        for sender in ("old", "gone"):
            connection.execute(
                schema.events.insert().values(sender_id=sender, type_name="user", timestamp=old, data="{}")
            )
    with held_elsewhere(url, f"LOCK TABLE {schema.events.name} IN ACCESS EXCLUSIVE MODE") as release_later:
        cut_off(url, f"SELECT count(*) FROM {schema.events.name}")
        # The scrub of abandoned forms and the search for old conversations wait.
        assert waits_for_the_lock(lambda: retention.purge(engine, days=365), release_later) == 0
    with held_elsewhere(url, f"LOCK TABLE {schema.reviews.name} IN ACCESS EXCLUSIVE MODE") as release_later:
        deleted = waits_for_the_lock(lambda: retention.forget(engine, "gone"), release_later)
        assert deleted[schema.events.name] == 1  # type: ignore[index]
    assert retention.purge(engine, days=90) == 1
