"""Retention of the conversation log: delete old conversations, or one on request.

    python -m storage.retention purge [--days N] [--full]    # default: RETENTION_DAYS (90)
    python -m storage.retention forget SENDER_ID             # a visitor's request to be forgotten

A conversation is its events and everything derived from it: its summary and facets, the
staff's review mark and note, and corrections made from its messages. ``purge`` deletes all
of that for conversations whose last message is older than N days; funding enquiries are a
separate record (kept until the APT deletes them). ``forget`` also deletes the funding
enquiry made in that conversation, since the visitor asks to erase what they gave.

Which tables hold a conversation's data is said by the tables themselves, in
:mod:`storage.schema` (``info={"conversation_key": ...}``): a new table declared there is
covered here without a change.

These jobs run without the statement timeout every PostgreSQL connection carries
(:mod:`storage.database`, there to keep a visitor's turn from waiting on the database): on a
large log, finding and deleting old conversations may rightly take longer (:func:`_maintenance`).

**Deleted is not yet gone from disk.** A deleted row stays in its table's pages until
something reclaims the space. SQLite zeroes it at once (``secure_delete``) and ``forget``
checkpoints the write-ahead log. On PostgreSQL, a plain ``VACUUM`` frees the dead rows but
does not zero the freed bytes of a page (a probe with ``pageinspect`` found a deleted text
still in the page after it), so:

- ``forget`` runs ``VACUUM FULL`` on each table it deleted from: the table is rewritten
  without the dead rows and its old files are removed. It holds the table's exclusive lock
  while it runs (seconds on the APT's volume): visitors' turns wait for it, or go to the
  local spool after the statement timeout and are written afterwards (:mod:`storage.outage`).
  It waits at most ``LOCK_WAIT`` for the lock; if it cannot have it, the rows are deleted
  and the command says so (exit status 3): ``purge --full`` then finishes the job;
- ``purge`` runs a plain ``VACUUM`` (no lock against visitors; the space is reused by new
  rows), and with ``--full`` a ``VACUUM FULL`` of every conversation table.

What no command here reaches: PostgreSQL's write-ahead log segments (recycled after
checkpoints) and any backup, which keep the text until they rotate (docs/security.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import contextmanager
from typing import Dict, Iterable, Iterator, List, Optional

import sqlalchemy as sa

from storage import schema
from storage.database import checkpoint, engine_for, lift_statement_timeout
from storage.migrate import SchemaNotCurrent, require_current

RETENTION_DAYS = 90
BATCH = 500
# How long forget waits for a table's exclusive lock before saying the vacuum must be redone.
LOCK_WAIT = "10s"


class VacuumNotDone(RuntimeError):
    """The rows are deleted, but a table could not be rewritten (its lock was not free)."""


@contextmanager
def _maintenance(engine: sa.engine.Engine) -> Iterator[sa.engine.Connection]:
    """A transaction with no statement timeout, committed at the end."""
    with engine.begin() as connection:
        lift_statement_timeout(connection)
        yield connection


def _delete(engine: sa.engine.Engine, sender_ids: List[str], with_kept: bool) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    with _maintenance(engine) as connection:
        for column in schema.conversation_columns(include_kept=with_kept):
            deleted = connection.execute(sa.delete(column.table).where(column.in_(sender_ids))).rowcount
            counts[column.table.name] = counts.get(column.table.name, 0) + max(deleted, 0)
    return counts


def vacuum(engine: sa.engine.Engine, tables: Iterable[str], full: bool) -> None:
    """Reclaim the space of deleted rows on PostgreSQL (see the module's docstring); nothing on
    other databases. ``full`` rewrites each table, waiting at most ``LOCK_WAIT`` for it."""
    if engine.dialect.name != "postgresql":
        return
    known = {table.name for table in schema.metadata.sorted_tables}
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("SET statement_timeout = 0"))
        connection.execute(sa.text(f"SET lock_timeout = '{LOCK_WAIT}'"))
        for table in sorted(set(tables)):
            if table not in known:  # names from the schema only: they are written into SQL
                raise ValueError(f"{table!r} is not a table of the project's schema")
            try:
                connection.execute(sa.text(f'VACUUM {"FULL " if full else ""}"{table}"'))
            except sa.exc.OperationalError as error:
                if "lock timeout" not in str(error):
                    raise
                raise VacuumNotDone(
                    f"the rows are deleted, but the table {table} was busy for {LOCK_WAIT}: run the "
                    f"command again to remove them from its files"
                ) from None


def forget(engine: sa.engine.Engine, sender_id: str) -> Dict[str, int]:
    """Delete one conversation everywhere, and from the database's files too (SQLite's
    write-ahead log, PostgreSQL's table pages); returns rows deleted per table."""
    require_current(engine)
    counts = _delete(engine, [sender_id], with_kept=True)
    checkpoint(engine)
    vacuum(engine, [table for table, count in counts.items() if count], full=True)
    return counts


def expired(engine: sa.engine.Engine, days: float, now: Optional[float] = None) -> Iterable[str]:
    """Conversations whose last event is older than ``days``."""
    cutoff = (now or time.time()) - days * 86400
    last_event = sa.func.max(schema.events.c.timestamp)
    query = (
        sa.select(schema.events.c.sender_id).group_by(schema.events.c.sender_id).having(last_event < cutoff)
    )
    summarised = sa.select(schema.summaries.c.sender_id).where(schema.summaries.c.last_active_at < cutoff)
    with _maintenance(engine) as connection:
        found = set(connection.execute(query).scalars()) | set(connection.execute(summarised).scalars())
    return sorted(found)


def purge(engine: sa.engine.Engine, days: float, now: Optional[float] = None, full: bool = False) -> int:
    """Delete conversations older than ``days``; returns how many. Also scrubs what enquiry
    forms abandoned over an hour ago left in the log. Then vacuums the conversation tables
    (``full``: rewrites them, see the module's docstring)."""
    from storage.tracker_store import scrub_abandoned_forms

    if days <= 0:
        raise ValueError("the retention period must be more than 0 days")
    require_current(engine)
    with _maintenance(engine) as connection:
        scrub_abandoned_forms(connection, now)
    sender_ids = list(expired(engine, days, now))
    tables = set()
    for start in range(0, len(sender_ids), BATCH):
        counts = _delete(engine, sender_ids[start : start + BATCH], with_kept=False)
        tables |= {table for table, count in counts.items() if count}
    checkpoint(engine)
    if full:  # every conversation table: also what an earlier forget could not rewrite
        tables = {column.table.name for column in schema.conversation_columns(include_kept=True)}
    vacuum(engine, tables | {schema.events.name}, full=full)  # the scrub rewrote events rows too
    return len(sender_ids)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m storage.retention", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    purge_command = commands.add_parser("purge", help="delete conversations older than N days")
    purge_command.add_argument("--days", type=float, default=RETENTION_DAYS, help=f"default {RETENTION_DAYS}")
    purge_command.add_argument(
        "--full",
        action="store_true",
        help="rewrite the tables (PostgreSQL VACUUM FULL; locks them while it runs)",
    )
    commands.add_parser("forget", help="delete one conversation").add_argument("sender_id")
    args = parser.parse_args(argv)
    engine = engine_for()
    try:
        require_current(engine)
    except SchemaNotCurrent as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.command == "purge":
        if args.days <= 0:
            parser.error("--days must be more than 0")
        try:
            count = purge(engine, args.days, full=args.full)
        except VacuumNotDone as error:
            print(f"error: {error}", file=sys.stderr)
            return 3
        print(f"deleted {count} conversation(s) with no message in the last {args.days:g} days")
        return 0
    try:
        counts = forget(engine, args.sender_id)
    except VacuumNotDone as error:
        print(f"error: {error}", file=sys.stderr)
        return 3
    if not counts.get("events") and not counts.get("conversation_summaries"):
        print(f"error: no conversation {args.sender_id!r}", file=sys.stderr)
        return 1
    print(f"deleted conversation {args.sender_id}: " + ", ".join(f"{n} {t}" for t, n in counts.items() if n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
