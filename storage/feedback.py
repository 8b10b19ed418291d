"""The widget's feedback on answers ("Was this helpful?"), kept like a turn: never waiting on
the database.

One row per conversation and answer in the ``feedback`` table (:data:`storage.schema.feedback`),
the visitor's latest choice; the answer is named by the id the response generator gave it
(:mod:`language.answers`), which the stored bot event carries in its metadata.

A visitor who clicks 👍 while the database hangs must not wait for it, and the click must not
be lost. So feedback goes through the same machinery as the conversation's turns
(:class:`storage.resilient_log.ResilientLog`: a database thread with the database timeout,
the circuit breaker, the local spool, recovery), with rows of its own:

- its spool is the folder ``feedback`` inside ``APT_SPOOL_DIRECTORY``, so that the tracker
  store's flush never reads a click as an event of the conversation, nor this one an event;
- a spooled click is an event of type ``feedback`` whose JSON is ``{"answer_id", "value"}``
  and whose timestamp is the time of the click; written, it replaces any earlier choice on
  the same answer, so writing it twice (a flush retried) changes nothing, and the clicks on
  one answer are written in the order they were made.

The acknowledgement the visitor gets means "kept": in the database, or in the spool until the
database answers again.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy import orm

from apt_settings import settings
from storage import schema
from storage.database import engine_for
from storage.resilient_log import ResilientLog
from storage.spool import Batch, Spool, SpooledEvent, counts

FEEDBACK_EVENT = "feedback"
# What a visitor may answer to "Was this helpful?" (the widget's channel checks it).
FEEDBACK_VALUES = schema.FEEDBACK_VALUES
SPOOL_FOLDER = "feedback"


def spool_directory(base: Optional[Path] = None) -> Path:
    """Where clicks wait for the database: a folder of the turns' spool directory."""
    return Path(base or settings().spool_directory) / SPOOL_FOLDER


def waiting(database_url: Optional[str] = None) -> int:
    """How many clicks wait for the database in this machine's spool (for ``/health``)."""
    return counts(spool_directory(), database_url or settings().database_url).pending


def write_feedback(connection: Any, sender_id: str, answer_id: str, value: str, created_at: float) -> None:
    """The visitor's choice on one answer, replacing an earlier one (the caller commits)."""
    table = schema.feedback
    connection.execute(sa.delete(table).where(table.c.sender_id == sender_id, table.c.answer_id == answer_id))
    connection.execute(
        table.insert().values(sender_id=sender_id, answer_id=answer_id, value=value, created_at=created_at)
    )


def write_rows(session: orm.Session, sender_id: str, batches: Sequence[Batch]) -> None:
    """Write spooled or new clicks (the resilient log's ``write_rows``), in order."""
    for batch in batches:
        for event in batch.events:
            if event.type_name != FEEDBACK_EVENT:
                continue  # never written by this module: nothing of a conversation's turns
            data = event.decoded if event.decoded is not None else json.loads(event.data)
            write_feedback(
                session, sender_id, str(data["answer_id"]), str(data["value"]), float(event.timestamp or 0)
            )


def click(sender_id: str, answer_id: str, value: str, at: Optional[float] = None) -> Batch:
    """One click as the log keeps it."""
    moment = time.time() if at is None else at
    data = {"answer_id": answer_id, "value": value}
    return Batch(sender_id, (SpooledEvent(FEEDBACK_EVENT, moment, json.dumps(data), data),))


class FeedbackLog:
    """The feedback of one process's conversations, on ``url`` (default: the project's
    database), waiting at most ``timeout`` seconds (default ``APT_DATABASE_TIMEOUT``) for it."""

    def __init__(
        self, url: Optional[str] = None, directory: Optional[Path] = None, timeout: Optional[float] = None
    ) -> None:
        conf = settings()
        self.engine = engine_for(url)
        address = self.engine.url.render_as_string(hide_password=False)
        self.sessionmaker = orm.sessionmaker(bind=self.engine)
        self.spool = Spool(directory or spool_directory(), address)
        self.log = ResilientLog(
            address,
            float(timeout or conf.database_timeout),
            self.spool,
            session_scope=self.session_scope,
            read_stored=lambda _sender, _all: [],
            list_stored=lambda: [],
            write_rows=write_rows,
            scrubbed=lambda row: row,
        )

    @contextmanager
    def session_scope(self) -> Iterator[orm.Session]:
        session = self.sessionmaker()
        try:
            yield session
        finally:
            session.close()

    async def record(self, sender_id: str, answer_id: str, value: str) -> None:
        """Keep the click: in the database within the timeout, else in the spool (then written
        when the database answers again). Never raises for the database."""
        self.log.recover_if_waiting()
        await self.log.write(click(sender_id, answer_id, value), 0)

    def recover_if_waiting(self) -> None:
        """Start writing waiting clicks, if any (also those of a process that died)."""
        self.log.recover_if_waiting()

    @property
    def database_up(self) -> bool:
        return self.log.guard.database_up

    def pending(self) -> int:
        return self.spool.counts().pending + self.log.waiting.unspooled_count()

    def close(self) -> None:
        self.log.close()
        self.spool.close()
