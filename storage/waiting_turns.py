"""The turns that wait for the database, and how they reach it: in order, nothing twice.

While the database cannot take a turn (:mod:`storage.outage`), the tracker store keeps its
events here, redacted exactly as the database would store them:

- appended to the spool (:mod:`storage.spool`, a SQLite file on local disk) by one thread, so
  that the disk never holds the event loop;
- if even the spool cannot be written, kept in this process's memory (logged as an error, no
  visitor text; at most ``MAX_UNSPOOLED_EVENTS``) and spooled, in order, once it can be.

Decisions:

- **Order.** The staff workspace shows a conversation in the order of event ids. A save or
  read of a conversation that has spooled events (in any worker's spool file) first writes
  them (:meth:`WaitingTurns.settle`); if it cannot (another process holds them or is writing
  them), the new turn is spooled behind them.
- **One transaction per conversation.** Recovery writes every spooled conversation
  (:meth:`WaitingTurns.flush_all`), each in one transaction (events, summary and facets) by
  the same code as a save (the store's ``write_rows``).
- **Nothing twice.** Spooled rows are deleted once the database has committed them; a flush
  interrupted in between, or a write that committed after the turn stopped waiting for it,
  leaves events that are both stored and spooled: the flush skips the ones already stored
  (:func:`not_yet_stored`).

The spool is local to the machine: it covers the workers of one server.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, OrderedDict
from concurrent.futures import Future
from dataclasses import replace
from typing import Any, Callable, ContextManager, List, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy import orm

from storage import schema
from storage.outage import PROBE_SECONDS, DaemonThreads, describe, is_outage, wait_for
from storage.recent_conversations import RecentConversations
from storage.spool import Batch, Counts, Spool, SpooledEvent, SpooledRow

logger = logging.getLogger(__name__)

FLUSH_BUDGET_SECONDS = 10.0  # one pass of writing spooled turns, before it checks in again
SPOOL_WAIT_SECONDS = 5.0  # a turn waits at most this long for the local spool
MAX_UNSPOOLED_EVENTS = 100_000  # kept in memory when even the spool fails; beyond, dropped (logged)

WriteRows = Callable[[orm.Session, str, Sequence[Batch]], None]


def merged(stored: List[str], waiting: List[str]) -> List[str]:
    """Stored events followed by the spooled ones not among them (one may be in both: a write
    that committed after it had been given up)."""
    present = Counter(stored)
    result = list(stored)
    for row in waiting:
        if present[row] > 0:
            present[row] -= 1
        else:
            result.append(row)
    return result


def not_yet_stored(session: orm.Session, sender_id: str, rows: List[SpooledRow]) -> List[SpooledRow]:
    """The spooled rows that are not in the database yet: a row counts as stored if the
    conversation has an event with the same JSON (timestamp included) from the earliest
    spooled timestamp on, one stored event for one spooled row."""
    query = sa.select(schema.events.c.data).where(schema.events.c.sender_id == sender_id)
    timestamps = [row.timestamp for row in rows if row.timestamp is not None]
    if timestamps and len(timestamps) == len(rows):
        query = query.where(schema.events.c.timestamp >= min(timestamps))
    present = Counter(session.execute(query).scalars())
    fresh = []
    for row in rows:
        if present[row.data] > 0:
            present[row.data] -= 1
        else:
            fresh.append(row)
    return fresh


def regrouped(sender_id: str, rows: List[SpooledRow], fresh: List[SpooledRow]) -> List[Batch]:
    """Spooled rows grouped back into their batches, in order, keeping only the ``fresh``
    events (a batch left empty still scrubs)."""
    keep = {(row.file, row.id) for row in fresh}
    batches: List[Batch] = []
    for row in rows:
        if not batches or batches[-1].batch_id != row.batch_id:
            batches.append(Batch(sender_id, (), row.scrub_after, row.batch_id))
        if (row.file, row.id) in keep:
            last = batches[-1]
            batches[-1] = replace(last, events=last.events + (row.event(),))
    return batches


class WaitingTurns:
    """One store's turns waiting for the database: its spool, its memory when the spool
    fails, and their writing. ``write_rows`` writes batches in a session (the caller
    commits); ``scrubbed`` rewrites a stored event as the database's scrub does."""

    def __init__(
        self,
        spool: Spool,
        session_scope: Callable[[], ContextManager[orm.Session]],
        write_rows: WriteRows,
        scrubbed: Callable[[str], str],
        recent: RecentConversations,
        lock_wait: float,
        stats: Counter,
    ) -> None:
        self.spool = spool
        self._session_scope = session_scope
        self._write_rows = write_rows
        self._scrubbed = scrubbed
        self._recent = recent
        self._lock_wait = lock_wait
        self._stats = stats
        self._spooler = DaemonThreads(1, "apt-spool")
        self._unspooled: OrderedDict[str, List[Batch]] = OrderedDict()
        self._unspooled_lock = threading.Lock()
        self.spool_failing = False
        self._next_spool_check = 0.0

    def close(self) -> None:
        self._spooler.shutdown()

    # -- on the event loop ---------------------------------------------------------------------

    def keep(self, batch: Batch, held: bool = False) -> Future:
        """Spool the batch (on the spool's thread, after what was submitted before)."""
        return self._spooler.submit(self._append, batch, held)

    def resolve(self, batch: Batch, committed: bool) -> None:
        """A held batch's write ended: whether it committed."""
        self._spooler.submit(self._resolve, batch, committed)

    async def call(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` on the spool's thread (after the appends before it); None if it
        fails or takes longer than SPOOL_WAIT_SECONDS."""
        try:
            return await wait_for(self._spooler.submit(function, *args), SPOOL_WAIT_SECONDS)
        except Exception as error:
            logger.error("The spool could not be read (%s).", describe(error))
            return None

    async def wait(self, future: Future) -> None:
        """Wait for a spooling, at most SPOOL_WAIT_SECONDS."""
        try:
            await wait_for(future, SPOOL_WAIT_SECONDS)
        except Exception:
            logger.error("The spool did not answer in time: the turn is kept when it does.")

    async def rows(self, sender_id: str) -> List[str]:
        """The conversation's waiting events (JSON), spooled then in memory."""
        spooled = await self.call(self.spool.rows_for, sender_id) or []
        with self._unspooled_lock:
            kept = [event.data for batch in self._unspooled.get(sender_id, []) for event in batch.events]
        return [row.data for row in spooled] + kept

    async def senders(self) -> List[str]:
        """The conversations with waiting events."""
        spooled = await self.call(self.spool.senders) or []
        with self._unspooled_lock:
            return list(spooled) + list(self._unspooled)

    async def respool(self) -> None:
        """Move what memory kept into the spool, in order, while the spool takes it."""
        await self.call(self._respool)

    def any_waiting(self) -> bool:
        """Whether turns wait: in memory, or in spool files (looked for at most every
        PROBE_SECONDS; the files of a process that died are found this way too)."""
        if self.unspooled_count():
            return True
        now = time.monotonic()
        if now < self._next_spool_check:
            return False
        self._next_spool_check = now + PROBE_SECONDS
        return self.spool.has_files()

    def has_unspooled(self, sender_id: str) -> bool:
        with self._unspooled_lock:
            return sender_id in self._unspooled

    def unspooled_count(self) -> int:
        """The events kept in memory because the spool could not be written."""
        with self._unspooled_lock:
            return self._unspooled_total() if self._unspooled else 0

    def _unspooled_total(self) -> int:
        return sum(len(batch.events) for batches in self._unspooled.values() for batch in batches)

    # -- on the spool's thread -----------------------------------------------------------------

    def _append(self, batch: Batch, held: bool) -> None:
        """Spool a batch; in memory if the spool cannot be written, or if earlier batches of
        its conversation are there (its order is kept)."""
        with self._unspooled_lock:
            behind = batch.sender_id in self._unspooled
        if behind:
            self._remember(batch)
        else:
            try:
                self.spool.append(batch, held)
            except Exception as error:
                self.spool_failing = True
                logger.error(
                    "The spool could not be written (%s): %d event(s) are kept in this process's "
                    "memory until it can.",
                    describe(error),
                    len(batch.events),
                )
                self._remember(batch)
            else:
                self.spool_failing = False
                self._stats["spooled"] += len(batch.events)
        if batch.scrub_after:
            self._scrub_kept(batch.sender_id)

    def _scrub_kept(self, sender_id: str) -> None:
        with self._unspooled_lock:
            for index, batch in enumerate(self._unspooled.get(sender_id, [])):
                events = tuple(
                    SpooledEvent(event.type_name, event.timestamp, self._scrubbed(event.data))
                    for event in batch.events
                )
                self._unspooled[sender_id][index] = replace(batch, events=events)
        try:
            self.spool.scrub(sender_id, self._scrubbed)
        except Exception as error:
            logger.error("The spool could not be scrubbed (%s).", describe(error))

    def _remember(self, batch: Batch) -> None:
        with self._unspooled_lock:
            if self._unspooled_total() + len(batch.events) > MAX_UNSPOOLED_EVENTS:
                logger.error(
                    "%d event(s) were lost: neither the database nor the spool took them.", len(batch.events)
                )
                return
            self._unspooled.setdefault(batch.sender_id, []).append(batch)

    def _respool(self) -> None:
        while True:
            with self._unspooled_lock:
                if not self._unspooled:
                    return
                sender_id, batches = next(iter(self._unspooled.items()))
            while batches:
                self.spool.append(batches[0])  # an error stops here: tried again later
                with self._unspooled_lock:
                    done = batches.pop(0)
                self._stats["spooled"] += len(done.events)
            with self._unspooled_lock:
                if not self._unspooled.get(sender_id):
                    self._unspooled.pop(sender_id, None)

    def _resolve(self, batch: Batch, committed: bool) -> None:
        try:
            self.spool.resolve(batch.batch_id, committed)
        except Exception as error:
            logger.error("A held spooled turn could not be resolved (%s).", describe(error))

    # -- on database threads -------------------------------------------------------------------

    def settle(self, sender_id: str) -> Tuple[List[SpooledRow], List[SpooledRow]]:
        """Write the conversation's spooled events first, so that a new turn is stored after
        them: (written, still waiting). Waiting: held by another process's write in progress,
        or the flush lock is busy; the caller then spools its turn behind them."""
        if not self.spool.has_files():
            return [], []
        rows = self.spool.rows_for(sender_id)
        if not rows:
            return [], []
        if not self.spool.flushable(rows):
            return [], rows
        with self.spool.flush_lock(self._lock_wait) as locked:
            if not locked:
                return [], rows
            rows = self.spool.rows_for(sender_id)  # another process may have written them
            if not rows:
                return [], []
            if not self.spool.flushable(rows):
                return [], rows
            return self._flush_rows(sender_id, rows), []

    def _flush_rows(self, sender_id: str, rows: List[SpooledRow]) -> List[SpooledRow]:
        """Write one conversation's spooled events in one transaction (events, summary,
        facets), then delete them from the spool; the ones already stored are skipped."""
        try:
            with self._session_scope() as session:
                fresh = not_yet_stored(session, sender_id, rows)
                self._write_rows(session, sender_id, regrouped(sender_id, rows, fresh))
                session.commit()
        except Exception as error:
            if is_outage(error):
                raise
            logger.error(
                "The database refused %d spooled event(s) (%s): they are kept in %s.",
                len(rows),
                describe(error),
                self.spool.unwritable_path,
            )
            self.spool.quarantine(rows, describe(error))
            return []
        self.spool.remove(rows)
        self._stats["flushed"] += len(fresh)
        self._stats["skipped"] += len(rows) - len(fresh)
        self._recent.flushed(sender_id, [row.data for row in fresh])
        return fresh

    def flush_all(self) -> Counts:
        """Write every conversation's spooled events (for at most FLUSH_BUDGET_SECONDS), and
        remove the spool files left empty; the counts of what still waits."""
        deadline = time.monotonic() + FLUSH_BUDGET_SECONDS
        if self.spool.has_files():
            for sender_id in self.spool.senders():
                if time.monotonic() > deadline:
                    break
                self.settle(sender_id)
        left = self.spool.counts()
        if left.pending == 0 and left.files:
            with self.spool.flush_lock(self._lock_wait) as locked:
                if locked:
                    self.spool.clean_up()
        return left
