"""Where the project's database is, and one engine per URL per process.

Everything the project stores (conversation events, their summaries, funding enquiries, staff
accounts and review notes) lives in one database: the setting ``APT_DATABASE_URL`` (any
SQLAlchemy URL, e.g. ``postgresql://rasa@127.0.0.1:5432/apt``), by default the SQLite file
``var/apt.db`` in the project, so nothing has to be installed. Its tables are declared in
:mod:`storage.schema` and created by the migrations (:mod:`storage.migrate`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from apt_settings import settings

_engines: Dict[str, Engine] = {}


def database_url() -> str:
    """The project's database, from the settings."""
    return settings().database_url


def is_sqlite(url: str) -> bool:
    return sa.engine.make_url(url).get_backend_name() == "sqlite"


def engine_for(url: Optional[str] = None) -> Engine:
    """A pooled engine for ``url`` (default: the project's database), created on first use.

    For SQLite the file's folder is created, and each connection waits for a busy lock
    instead of failing at once, since the Rasa server, the action server and the staff
    workspace write to the same file. SQLite connections are pooled (SQLAlchemy 1.4 opens a
    new one per session for a file): opening one, with its settings and schema read, was
    over 10 % of the Rasa server's time under load. A pooled connection is used by one
    thread at a time, so it may move between threads.
    """
    url = url or database_url()
    if url not in _engines:
        engine_url = sa.engine.make_url(url)
        kwargs: Dict[str, object] = {"future": True}
        if is_sqlite(url):
            if engine_url.database:
                _create_private_file(Path(engine_url.database))
            kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
            kwargs["poolclass"] = sa.pool.QueuePool
        else:
            kwargs["pool_pre_ping"] = True
        engine = sa.create_engine(engine_url, **kwargs)
        if is_sqlite(url):
            sa.event.listen(engine, "connect", _write_ahead_log)
        _engines[url] = engine
    return _engines[url]


def _create_private_file(path: Path) -> None:
    """The SQLite file (and its folder), readable and writable by its owner only: it holds
    visitors' conversations. SQLite gives its -wal and -shm files the same permissions."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def checkpoint(engine: Engine) -> None:
    """Write SQLite's write-ahead log into the database file and empty it, so that deleted
    rows are gone from disk (``secure_delete`` zeroes them in the file itself); nothing to do
    on other databases."""
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def _write_ahead_log(dbapi_connection: Any, _record: object) -> None:
    """Readers (the staff workspace) then never block the Rasa server's writes.

    ``synchronous=NORMAL`` is SQLite's recommended setting in WAL mode: a commit no longer
    waits for the disk (fsync was 13 % of the Rasa server's time under load); the database
    cannot be corrupted, and a crash of a process loses nothing, only a power cut can lose
    the last commits before the next checkpoint.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Deleted rows (a forgotten conversation) are overwritten with zeros, not left in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def check_connection(url: Optional[str] = None) -> None:
    """Raise with a readable message if the database cannot be reached."""
    url = url or database_url()
    try:
        with engine_for(url).connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as error:
        safe = sa.engine.make_url(url).render_as_string(hide_password=True)
        raise RuntimeError(
            f"cannot reach the database {safe}: {error.__class__.__name__}: {error}"
        ) from error
