"""Shared fixtures: the knowledge base for unit tests, one trained model and one running
stack (action server + Rasa server) per test session.

Tests that need the trained model, the running stack or the browser (or that run Rasa's
own commands) are marked ``slow`` here, by the fixtures they use: ``make unit`` runs the
others, in well under a minute. Tests that need the model (``trained_model``, or a fixture
built on it) are also marked ``model``: ``make test`` runs the other slow tests while the
session's training is still going (scripts/run_tests.py).
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path
from typing import Iterator, List

import pytest
import sqlalchemy

from apt_settings import settings
from content.knowledge import KnowledgeBase, load_knowledge_base
from tests.support.commands import BIN, MODEL, run
from tests.support.databases import drop_postgres_database, postgres_database_or_skip
from tests.support.stacks import Stack, running_stack

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# What endpoints.yml and credentials.yml expand, for the Rasa commands the tests run.
for _name, _value in settings().rasa_environment().items():
    os.environ.setdefault(_name, _value)

SLOW_FIXTURES = {"trained_model", "stack", "postgres_stack", "browser"}
MODEL_FIXTURE = "trained_model"
# Set by scripts/run_tests.py for the slow tests it runs before the session's model exists.
WITHOUT_MODEL = "TEST_WITHOUT_MODEL"


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if SLOW_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slow)
        if MODEL_FIXTURE in fixtures:
            item.add_marker(pytest.mark.model)


# -- unit-test fixtures ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def knowledge() -> KnowledgeBase:
    return load_knowledge_base()


# -- the trained model and the running stack -------------------------------------------------


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model, trained once per session (kept as it is when nothing it is made from changed)."""
    if os.environ.get(WITHOUT_MODEL):
        pytest.fail(
            "this test reached the trained model without naming it: a test (or fixture) that needs "
            "the model takes `trained_model` or a fixture built on it as an argument, so that it "
            "is marked `model` and runs after the session's training",
            pytrace=False,
        )
    result = run([str(BIN / "python"), "scripts/train.py", "--fixed-model-name", "apt", "--out", "models"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert MODEL.is_file()
    return MODEL


@pytest.fixture(scope="session")
def stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack on a fresh SQLite database, for the whole session."""
    database_file = tmp_path_factory.mktemp("stack") / "apt.db"
    log_path = tmp_path_factory.getbasetemp() / "stack.log"
    with running_stack(trained_model, f"sqlite:///{database_file}", log_path) as running:
        yield running


@pytest.fixture(scope="module")
def postgres_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The stack on a fresh PostgreSQL database, for the tests of one module."""
    name = f"apt_stack_{secrets.token_hex(6)}"
    url = postgres_database_or_skip(name)
    try:
        with running_stack(
            trained_model, url, tmp_path_factory.getbasetemp() / "postgres-stack.log"
        ) as running:
            yield running
    finally:
        drop_postgres_database(name)


# -- databases: SQLite always, PostgreSQL where the local server answers ---------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def blank_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no table at all: a SQLite file, and a fresh PostgreSQL database.

    PostgreSQL tests run wherever the server at 127.0.0.1:5432 answers; its absence is a
    skip with the reason, and a failure under CI=true.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'apt.db'}"
        return
    name = f"apt_test_{secrets.token_hex(6)}"
    url = postgres_database_or_skip(name)
    try:
        yield url
    finally:
        drop_postgres_database(name)


@pytest.fixture
def project_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A migrated SQLite database made the project's database (APT_DATABASE_URL) for the test."""
    from storage.database import engine_for
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'project.db'}"
    monkeypatch.setenv("APT_DATABASE_URL", url)
    settings.cache_clear()
    upgrade(engine_for(url))
    yield url
    monkeypatch.undo()
    settings.cache_clear()


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated once per session, copied for each test that needs one."""
    from storage.database import engine_for
    from storage.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "apt.db"
    engine = engine_for(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture
def database_url(blank_database_url: str, migrated_sqlite_file: Path) -> str:
    """An empty project database at the newest schema revision (SQLite and PostgreSQL)."""
    from storage.database import engine_for
    from storage.migrate import upgrade

    url = sqlalchemy.engine.make_url(blank_database_url)
    if url.get_backend_name() == "sqlite" and url.database:
        shutil.copyfile(migrated_sqlite_file, url.database)
    else:
        upgrade(engine_for(blank_database_url))
    return blank_database_url


# -- the browser (Debian's chromium, driven by Playwright) ------------------------------------
