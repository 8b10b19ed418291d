"""Where the project's database is, and one engine per URL per process.

Everything the project stores (conversation events, their summaries, funding enquiries, staff
accounts and review notes) lives in one database: the setting ``APT_DATABASE_URL`` (any
SQLAlchemy URL, e.g. ``postgresql://rasa@127.0.0.1:5432/apt``), by default the SQLite file
``var/apt.db`` in the project, so nothing has to be installed. Its tables are declared in
:mod:`storage.schema` and created by the migrations (:mod:`storage.migrate`).

Nothing waits on the database without a bound (the setting ``APT_DATABASE_TIMEOUT``,
``database_timeout``, 3 s by default). On PostgreSQL:

- ``connect_timeout``: opening a connection (TCP, then the server's answer) fails after the
  timeout (libpq counts whole seconds, at least 1);
- ``statement_timeout`` (sent in ``options``, so it holds for every statement of every
  connection): the server cancels a statement that runs longer, e.g. one waiting on a lock;
- the pool's ``pool_timeout``: waiting for a free pooled connection fails after the timeout,
  and ``pool_pre_ping`` replaces a pooled connection the server or the network dropped;
- TCP keepalives and ``tcp_user_timeout``: a connection whose peer vanished (a network
  partition) fails after about 20 s instead of waiting forever.

None of these bounds a stall of the network or of a server that accepted the connection and
stopped answering (a read on an established connection waits as long as the peer's kernel
acknowledges): the callers that must not wait bound their own wait (the tracker store runs
its calls in threads, :mod:`storage.tracker_store`). Long maintenance statements (a
migration's DDL on a large table, a purge) lift the statement timeout for their own
transaction with :func:`lift_statement_timeout`.

SQLite is a local file: it keeps its busy timeout (30 s waiting for another process's write
lock) and has no connection to time out.

It also opens the staff workspace's connections (:func:`connect_unbounded`,
:func:`begin_unbounded`), answers the health check (:func:`answers`) and makes the
benchmark's scratch PostgreSQL databases (:func:`scratch_database`). The queries themselves
are in the repository modules of ``storage/``, one per aggregate.
"""

from __future__ import annotations

import math
import os
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, Optional

import sqlalchemy as sa

# The handles callers outside storage/ hold and pass back to the repository functions
# (storage.conversations, storage.reviews, storage.staff, storage.corrections ...); their
# annotations take these names from here, never from SQLAlchemy.
from sqlalchemy.engine import Connection, Engine

from apt_settings import settings

_engines: Dict[str, Engine] = {}
_probe_engines: Dict[str, Engine] = {}

SQLITE_BUSY_TIMEOUT_SECONDS = 30
# libpq: idle seconds before the first keepalive, seconds between them, how many may go
# unanswered; and how long sent data may stay unacknowledged (milliseconds).
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 3, "keepalives_count": 3}
TCP_USER_TIMEOUT_MS = 20_000


def database_url() -> str:
    """The project's database, from the settings."""
    return settings().database_url


def is_sqlite(url: str) -> bool:
    return sa.engine.make_url(url).get_backend_name() == "sqlite"


def database_timeout() -> float:
    """Seconds a connection or statement may take (the setting ``APT_DATABASE_TIMEOUT``)."""
    return float(settings().database_timeout)


def connect_args(url: str, timeout: Optional[float] = None) -> Dict[str, Any]:
    """The driver's connection arguments for ``url``: the bounds described above."""
    timeout = database_timeout() if timeout is None else timeout
    if is_sqlite(url):
        return {"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False}
    if sa.engine.make_url(url).get_driver_name() != "psycopg2":
        return {}  # another driver: its own defaults (the project installs psycopg2 only)
    return {
        "connect_timeout": max(1, math.ceil(timeout)),
        "options": f"-c statement_timeout={max(1, round(timeout * 1000))}",
        "tcp_user_timeout": TCP_USER_TIMEOUT_MS,
        **KEEPALIVE,
    }


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
        kwargs: Dict[str, object] = {"future": True, "connect_args": connect_args(url)}
        if is_sqlite(url):
            if engine_url.database:
                _create_private_file(Path(engine_url.database))
            kwargs["poolclass"] = sa.pool.QueuePool
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_timeout"] = database_timeout()
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


def lift_statement_timeout(connection: Any) -> None:
    """No statement timeout for the rest of this transaction (PostgreSQL's ``SET LOCAL``):
    for maintenance that may rightly run long, such as a migration or a purge."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SET LOCAL statement_timeout = 0"))


@contextmanager
def connect_unbounded(url: Optional[str] = None) -> Iterator[Connection]:
    """A connection for reading, in one transaction without the statement timeout (the staff
    workspace's lists, insights and exports read the whole log and may rightly take longer
    than a visitor's turn)."""
    with engine_for(url).connect() as connection:
        lift_statement_timeout(connection)
        yield connection


@contextmanager
def begin_unbounded(url: Optional[str] = None) -> Iterator[Connection]:
    """A transaction without the statement timeout, committed at the end."""
    with engine_for(url).begin() as connection:
        lift_statement_timeout(connection)
        yield connection


def probe(url: Optional[str] = None, timeout: Optional[float] = None) -> None:
    """Raise unless the database answers now, on a new connection (never a pooled one, which
    may be the very connection that hangs). On PostgreSQL ``SELECT 1`` within the connect
    and statement timeouts; on SQLite the write lock is taken and released, since a SQLite
    database that cannot be written (another process holds the lock) can still be read."""
    url = url or database_url()
    key = f"{url} {timeout}"
    if key not in _probe_engines:
        _probe_engines[key] = sa.create_engine(
            url, future=True, poolclass=sa.pool.NullPool, connect_args=connect_args(url, timeout)
        )
    engine = _probe_engines[key]
    if is_sqlite(url):
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {round((timeout or database_timeout()) * 1000)}")
            cursor.execute("BEGIN IMMEDIATE")
            raw.rollback()
        finally:
            raw.close()
        return
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))


def answers(url: Optional[str] = None, timeout: Optional[float] = None) -> bool:
    """Whether the database answers now (:func:`probe`); never raises for the database."""
    try:
        probe(url, timeout)
        return True
    except (sa.exc.SQLAlchemyError, OSError):
        return False


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


def server_error(url: str, connect_timeout: int = 5) -> Optional[str]:
    """None if the server at ``url`` accepts a connection (opened once, then closed), else
    the error, as text."""
    engine = sa.create_engine(url, connect_args={"connect_timeout": connect_timeout})
    try:
        with engine.connect():
            pass
    except sa.exc.SQLAlchemyError as error:
        return str(error)
    finally:
        engine.dispose()
    return None


@contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """A new empty PostgreSQL database (named ``prefix`` and a random suffix) on the server of
    ``server_url`` (a URL of a database there to connect to); its URL. Dropped at the end, with
    any connection still open to it."""
    name = f"{prefix}{secrets.token_hex(6)}"
    server = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield str(sa.engine.make_url(server_url).set(database=name))
        finally:
            with server.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()
