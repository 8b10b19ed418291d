"""Where turns wait, on local disk, while the database cannot take them.

The tracker store (:mod:`storage.tracker_store`) writes a turn's events here when the
database does not answer in time, and writes them to the database when it answers again.
Only events already redacted exactly as the database would store them ever reach the spool.

Files, in the setting ``APT_SPOOL_DIRECTORY`` (``var/spool``), readable by their owner only,
each named after the database its events belong to (``<key>``, a hash of its URL without the
password: a spool is never written to another database than its own, e.g. a test's):

- ``spool-<key>-<pid>-<random>.sqlite``: one per tracker store (one per Rasa worker process), the
  only file that process appends to. A SQLite database in WAL mode with ``synchronous=FULL``
  (a commit is on disk before the turn goes on: this is the only copy of the turn) and
  ``secure_delete`` (written-out rows are overwritten, not left in free pages). Created on the
  first event spooled, deleted once every event in it is in the database.
- ``spool-<key>-<pid>-<random>.lock``: held with ``flock`` by the owning process for its lifetime,
  so that the kernel releases it when the process dies: a spool file whose lock is free
  belongs to a dead process, and whoever flushes removes it once it is empty.
- ``flush-<key>.lock``: held (``flock``) by whoever writes spooled events to the database, one
  conversation at a time, so that two processes never write the same events.
- ``unwritable-<key>.sqlite``: events the database refused for a reason other than an outage (a
  bug, a constraint): kept here for an operator instead of retried forever.

Decisions:

- **Every process may flush every file.** A conversation moves between the Rasa workers
  (each request goes to whichever is free), so its turns during an outage can be spread over
  several workers' files; they are written one conversation at a time, across all files, in
  the order they were spooled (the wall-clock time of the spooling, then file and row: the
  conversation's lock makes its turns one after the other), under the flush lock. Claiming
  whole files instead would let two workers write one conversation's turns out of order.
- **Rows are deleted after the database commits.** A process killed between the two leaves
  rows that are already in the database; the flush compares a conversation's spooled events
  with the ones stored since the earliest of them and skips those already there (same
  timestamp, same JSON), so a retried flush writes nothing twice.
- **Held rows.** When a database write timed out during its ``COMMIT``, whether it committed
  is unknown until its thread returns; its events are spooled ``held`` and no one writes
  that conversation's spooled events until the owner resolves them (deleted if the commit
  went through, released otherwise), or the owner dies (its connection is then gone and the
  comparison above decides).
- Only one machine's processes share a spool: it is on local disk.

This module does not import Rasa: ``python -m storage.spool`` says how many events wait for
the project's database (counts only, no visitor data).
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import secrets
import sqlite3
import sys
import threading
import time
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple
from urllib.parse import quote

SPOOL_PREFIX = "spool-"
SPOOL_SUFFIX = ".sqlite"
LOCK_SUFFIX = ".lock"
BUSY_TIMEOUT_SECONDS = 5
LOCK_POLL_SECONDS = 0.01
DELETE_CHUNK = 500
ORPHAN_LOCK_SECONDS = 60

_COLUMNS = "sender_id, batch_id, spooled_at, scrub_after, held, type_name, timestamp, data"
_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS spooled (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: rows are deleted by id
    sender_id TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    spooled_at INTEGER NOT NULL,           -- time.time_ns() of the spooling
    scrub_after INTEGER NOT NULL,          -- scrub the enquiry answers after this batch
    held INTEGER NOT NULL DEFAULT 0,
    type_name TEXT NOT NULL,
    timestamp REAL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS spooled_sender ON spooled (sender_id, id);
CREATE TABLE IF NOT EXISTS unwritable ({_COLUMNS}, reason TEXT NOT NULL);
"""


@dataclass(frozen=True)
class SpooledEvent:
    """One event as the database will store it: Rasa's type name and the redacted JSON."""

    type_name: str
    timestamp: Optional[float]
    data: str
    decoded: Optional[Dict[str, Any]] = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Batch:
    """The new events of one save of one conversation, written (or spooled) together."""

    sender_id: str
    events: Tuple[SpooledEvent, ...]
    scrub_after: bool = False
    batch_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass(frozen=True)
class SpooledRow:
    """A spooled event as read back, with where it is."""

    file: Path
    id: int
    sender_id: str
    batch_id: str
    spooled_at: int
    scrub_after: bool
    held: bool
    type_name: str
    timestamp: Optional[float]
    data: str

    @property
    def order(self) -> Tuple[int, str, int]:
        return (self.spooled_at, self.file.name, self.id)

    def event(self) -> SpooledEvent:
        return SpooledEvent(self.type_name, self.timestamp, self.data)


@dataclass(frozen=True)
class Counts:
    """How many events wait (``held`` among them), in how many files, and how many the
    database refused (``unwritable``)."""

    pending: int = 0
    held: int = 0
    files: int = 0
    unwritable: int = 0


def _create_private_file(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def _connect(path: Path, create: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit); an existing file only,
    unless ``create`` (FileNotFoundError if it is gone)."""
    if create:
        _create_private_file(path)
    elif not path.exists():
        raise FileNotFoundError(errno.ENOENT, "no spool file", str(path))
    connection = sqlite3.connect(
        f"file:{quote(str(path))}?mode=rw",
        uri=True,
        timeout=BUSY_TIMEOUT_SECONDS,
        isolation_level=None,
        check_same_thread=False,
    )
    try:
        if create:
            connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=FULL")
        connection.execute("PRAGMA secure_delete=ON")
        if create:
            connection.executescript(_SCHEMA)
    except BaseException:
        connection.close()
        raise
    return connection


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


@contextmanager
def _writing(path: Path) -> Iterator[Optional[sqlite3.Connection]]:
    """A write transaction on an existing spool file, closed after; None if the file is gone
    (another process flushed and removed it)."""
    try:
        connection = _connect(path)
    except FileNotFoundError:
        yield None
        return
    try:
        with _transaction(connection):
            yield connection
    finally:
        connection.close()


def _missing(error: sqlite3.OperationalError) -> bool:
    """A file being created (no table yet) or removed meanwhile: nothing in it."""
    text = str(error)
    return "no such table" in text or "unable to open" in text


def _row(path: Path, values: Sequence[Any]) -> SpooledRow:
    (row_id, sender_id, batch_id, spooled_at, scrub_after, held, type_name, timestamp, data) = values
    return SpooledRow(
        path,
        row_id,
        sender_id,
        batch_id,
        spooled_at,
        bool(scrub_after),
        bool(held),
        type_name,
        timestamp,
        data,
    )


def _remove_files(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass


class Spool:
    """One process's spool file, and every spool file of the directory for reading and
    flushing. Thread-safe: the owner's appends go through one connection under a mutex,
    everything else opens its own connection."""

    def __init__(self, directory: Path, database: str) -> None:
        self.directory = Path(directory)
        self.key = database_key(database)
        self._prefix = f"{SPOOL_PREFIX}{self.key}-"
        self.unwritable_path = self.directory / f"unwritable-{self.key}{SPOOL_SUFFIX}"
        self._flush_lock_path = self.directory / f"flush-{self.key}{LOCK_SUFFIX}"
        name = f"{self._prefix}{os.getpid()}-{secrets.token_hex(4)}"
        self.path = self.directory / f"{name}{SPOOL_SUFFIX}"
        self._owner_lock_path = self.directory / f"{name}{LOCK_SUFFIX}"
        self._owner_lock: Optional[int] = None
        self._own: Optional[sqlite3.Connection] = None
        self._mutex = threading.Lock()

    # -- the owner's file ----------------------------------------------------------------------

    def _own_connection(self) -> sqlite3.Connection:
        if self._owner_lock is None:
            _create_private_file(self._owner_lock_path)
            descriptor = os.open(self._owner_lock_path, os.O_RDWR)
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new name: never contended
            self._owner_lock = descriptor
        if self._own is None or not self.path.exists():
            if self._own is not None:
                self._own.close()
            self._own = _connect(self.path, create=True)
        return self._own

    def append(self, batch: Batch, held: bool = False) -> None:
        """Spool the batch's events (on disk when this returns)."""
        spooled_at = time.time_ns()
        rows = [
            (batch.sender_id, batch.batch_id, spooled_at, int(batch.scrub_after), int(held),
             event.type_name, event.timestamp, event.data)
            for event in batch.events
        ]  # fmt: skip
        with self._mutex:
            connection = self._own_connection()
            with _transaction(connection):
                connection.executemany(
                    f"INSERT INTO spooled ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
                )

    def resolve(self, batch_id: str, committed: bool) -> None:
        """A held batch's write has ended: its events are in the database (delete them), or
        not (release them for the flush)."""
        with self._mutex:
            if self._own is None or not self.path.exists():
                return
            with _transaction(self._own) as connection:
                if committed:
                    connection.execute("DELETE FROM spooled WHERE batch_id = ?", (batch_id,))
                else:
                    connection.execute("UPDATE spooled SET held = 0 WHERE batch_id = ?", (batch_id,))

    def close(self) -> None:
        """Close the owner's file (kept if events wait in it) and release its lock."""
        with self._mutex:
            if self._own is not None:
                self._own.close()
                self._own = None
            if self._owner_lock is not None:
                if not self.path.exists():
                    try:
                        os.unlink(self._owner_lock_path)
                    except FileNotFoundError:
                        pass
                os.close(self._owner_lock)
                self._owner_lock = None

    # -- every file of the directory -----------------------------------------------------------

    def files(self) -> List[Path]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return sorted(
            self.directory / name
            for name in names
            if name.startswith(self._prefix) and name.endswith(SPOOL_SUFFIX)
        )

    def has_files(self) -> bool:
        """Whether any spool file exists (a directory listing: the fast check of every turn)."""
        try:
            with os.scandir(self.directory) as entries:
                return any(
                    entry.name.startswith(self._prefix) and entry.name.endswith(SPOOL_SUFFIX)
                    for entry in entries
                )
        except FileNotFoundError:
            return False

    def _query(self, path: Path, sql: str, parameters: Sequence[Any] = ()) -> List[Tuple[Any, ...]]:
        try:
            connection = _connect(path)
        except (FileNotFoundError, sqlite3.OperationalError):
            return []
        try:
            return connection.execute(sql, parameters).fetchall()
        except sqlite3.OperationalError as error:
            if _missing(error):
                return []
            raise
        finally:
            connection.close()

    def rows_for(self, sender_id: str) -> List[SpooledRow]:
        """The conversation's spooled events, in every file, in the order they were spooled."""
        found = [
            _row(path, values)
            for path in self.files()
            for values in self._query(
                path, f"SELECT id, {_COLUMNS} FROM spooled WHERE sender_id = ? ORDER BY id", (sender_id,)
            )
        ]
        return sorted(found, key=lambda row: row.order)

    def senders(self) -> List[str]:
        """The conversations with spooled events, the longest waiting first."""
        first: Dict[str, int] = {}
        for path in self.files():
            for sender_id, spooled_at in self._query(
                path, "SELECT sender_id, MIN(spooled_at) FROM spooled GROUP BY sender_id"
            ):
                first[sender_id] = min(spooled_at, first.get(sender_id, spooled_at))
        return sorted(first, key=lambda sender: (first[sender], sender))

    def counts(self) -> Counts:
        pending = held = files = 0
        for path in self.files():
            for total, held_here in self._query(path, "SELECT COUNT(*), COALESCE(SUM(held), 0) FROM spooled"):
                pending += total
                held += held_here
                files += 1
        unwritable = sum(n for (n,) in self._query(self.unwritable_path, "SELECT COUNT(*) FROM unwritable"))
        return Counts(pending, held, files, unwritable)

    def owner_alive(self, path: Path) -> bool:
        """Whether the process that spooled into ``path`` still runs (holds its lock)."""
        if path == self.path:
            return True
        lock_path = path.with_suffix(LOCK_SUFFIX)
        try:
            descriptor = os.open(lock_path, os.O_RDWR)
        except FileNotFoundError:
            return False
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(descriptor)  # also releases the lock if it was taken
        return False

    def flushable(self, rows: Iterable[SpooledRow]) -> bool:
        """False while a living process holds one of the rows (its write may still commit)."""
        alive: Dict[Path, bool] = {}
        for row in rows:
            if row.held:
                if row.file not in alive:
                    alive[row.file] = self.owner_alive(row.file)
                if alive[row.file]:
                    return False
        return True

    def remove(self, rows: Iterable[SpooledRow]) -> None:
        """Delete rows (written to the database) from their files."""
        by_file: Dict[Path, List[int]] = defaultdict(list)
        for row in rows:
            by_file[row.file].append(row.id)
        for path, ids in by_file.items():
            with _writing(path) as connection:
                if connection is None:
                    continue
                for start in range(0, len(ids), DELETE_CHUNK):
                    chunk = ids[start : start + DELETE_CHUNK]
                    marks = ", ".join("?" * len(chunk))
                    connection.execute(f"DELETE FROM spooled WHERE id IN ({marks})", chunk)

    def quarantine(self, rows: Sequence[SpooledRow], reason: str) -> None:
        """Move rows the database refused to the unwritable file, out of the flush."""
        connection = _connect(self.unwritable_path, create=True)
        try:
            with _transaction(connection):
                connection.executemany(
                    f"INSERT INTO unwritable ({_COLUMNS}, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (r.sender_id, r.batch_id, r.spooled_at, int(r.scrub_after), 0, r.type_name,
                         r.timestamp, r.data, reason)
                        for r in rows
                    ],
                )  # fmt: skip
        finally:
            connection.close()
        self.remove(rows)

    def scrub(self, sender_id: str, scrubbed: Callable[[str], str]) -> None:
        """Rewrite the conversation's spooled slot events with ``scrubbed`` (the enquiry
        answers, once the enquiry form has ended)."""
        for path in self.files():
            changes = [
                (new, row_id)
                for row_id, data in self._query(
                    path,
                    "SELECT id, data FROM spooled WHERE sender_id = ? AND type_name = 'slot'",
                    (sender_id,),
                )
                if (new := scrubbed(data)) != data
            ]
            if not changes:
                continue
            with _writing(path) as connection:
                if connection is not None:
                    connection.executemany("UPDATE spooled SET data = ? WHERE id = ?", changes)

    @contextmanager
    def flush_lock(self, wait: float) -> Iterator[bool]:
        """Hold the directory's flush lock; yields False if it was not free within ``wait``."""
        _create_private_file(self._flush_lock_path)
        descriptor = os.open(self._flush_lock_path, os.O_RDWR)
        try:
            deadline = time.monotonic() + wait
            while True:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(LOCK_POLL_SECONDS)
            yield True
        finally:
            os.close(descriptor)

    def clean_up(self) -> None:
        """Remove empty spool files: the owner's own, and those of dead processes (with
        their locks). Call while holding the flush lock."""
        for path in self.files():
            if path == self.path:
                with self._mutex:
                    if not self._query(path, "SELECT 1 FROM spooled LIMIT 1"):
                        if self._own is not None:
                            self._own.close()
                            self._own = None
                        _remove_files(path)
                continue
            lock_path = path.with_suffix(LOCK_SUFFIX)
            descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                try:
                    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # its process runs: it removes its own file
                if not self._query(path, "SELECT 1 FROM spooled LIMIT 1"):
                    _remove_files(path)
                    os.unlink(lock_path)
            finally:
                os.close(descriptor)
        self._remove_orphan_locks()

    def _remove_orphan_locks(self) -> None:
        """Locks of dead processes whose spool file is gone (a minute old at least: a
        starting process creates its lock just before it takes it)."""
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return
        for name in names:
            lock_path = self.directory / name
            if not (name.startswith(self._prefix) and name.endswith(LOCK_SUFFIX)):
                continue
            if lock_path == self._owner_lock_path or lock_path.with_suffix(SPOOL_SUFFIX).exists():
                continue
            try:
                if time.time() - lock_path.stat().st_mtime < ORPHAN_LOCK_SECONDS:
                    continue
                descriptor = os.open(lock_path, os.O_RDWR)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                os.unlink(lock_path)
            except (BlockingIOError, FileNotFoundError):
                pass
            finally:
                os.close(descriptor)


def database_key(url: str) -> str:
    """The name a database's spool files carry: a hash of its URL without the password."""
    from sqlalchemy.engine import make_url

    shown = make_url(url).render_as_string(hide_password=True)
    return hashlib.blake2b(shown.encode("utf-8"), digest_size=6).hexdigest()


def counts(directory: Path, database: str) -> Counts:
    """The counts of ``database``'s spool (no file is created)."""
    return Spool(directory, database).counts()


def main(argv: Optional[List[str]] = None) -> int:
    from apt_settings import settings

    args = sys.argv[1:] if argv is None else argv
    if args:
        print("usage: python -m storage.spool", file=sys.stderr)
        return 2
    conf = settings()
    spool = Spool(conf.spool_directory, conf.database_url)
    found = spool.counts()
    print(f"spool {conf.spool_directory}: {found.pending} event(s) waiting for the database "
          f"({found.held} held by a write in progress) in {found.files} file(s); "
          f"{found.unwritable} event(s) the database refused ({spool.unwritable_path.name})")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
