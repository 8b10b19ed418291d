"""Retention of the conversation log: delete old conversations, or one on request.

    python -m storage.retention purge [--days N]     # default: RETENTION_DAYS (90)
    python -m storage.retention forget SENDER_ID     # a visitor's request to be forgotten

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


def forget(engine: sa.engine.Engine, sender_id: str) -> Dict[str, int]:
    """Delete one conversation everywhere, and from SQLite's write-ahead log too; returns rows
    deleted per table."""
    require_current(engine)
    counts = _delete(engine, [sender_id], with_kept=True)
    checkpoint(engine)
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


def purge(engine: sa.engine.Engine, days: float, now: Optional[float] = None) -> int:
    """Delete conversations older than ``days``; returns how many. Also scrubs what enquiry
    forms abandoned over an hour ago left in the log."""
    from storage.tracker_store import scrub_abandoned_forms

    if days <= 0:
        raise ValueError("the retention period must be more than 0 days")
    require_current(engine)
    with _maintenance(engine) as connection:
        scrub_abandoned_forms(connection, now)
    sender_ids = list(expired(engine, days, now))
    for start in range(0, len(sender_ids), BATCH):
        _delete(engine, sender_ids[start : start + BATCH], with_kept=False)
    return len(sender_ids)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m storage.retention", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    purge_command = commands.add_parser("purge", help="delete conversations older than N days")
    purge_command.add_argument("--days", type=float, default=RETENTION_DAYS, help=f"default {RETENTION_DAYS}")
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
        count = purge(engine, args.days)
        print(f"deleted {count} conversation(s) with no message in the last {args.days:g} days")
        return 0
    counts = forget(engine, args.sender_id)
    if not counts.get("events") and not counts.get("conversation_summaries"):
        print(f"error: no conversation {args.sender_id!r}", file=sys.stderr)
        return 1
    print(f"deleted conversation {args.sender_id}: " + ", ".join(f"{n} {t}" for t, n in counts.items() if n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
