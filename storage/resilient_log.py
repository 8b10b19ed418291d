"""Where the tracker store's rows come from and go to, so that an outage never holds a turn.

The store (:mod:`storage.tracker_store`) turns trackers into redacted rows and back; this
reads and writes those rows: in the database while it answers, else from and to what this
process keeps. Its collaborators, one concern each: :mod:`storage.outage` (every call on a
thread, with a timeout, the circuit breaker, recovery), :mod:`storage.waiting_turns` (the
turns kept meanwhile, and their writing in order) and :mod:`storage.recent_conversations`
(what a conversation is read from meanwhile).

- **Reading.** From the database, after the conversation's spooled events are written (so
  that they come first), or followed by those that could not be. Once it is down: the
  conversation's recent stored events plus its waiting ones.
- **Writing.** To the database, unless the conversation has events in this process's memory
  (they go first). If it fails or does not answer in time, or is known down, the events go
  to the spool, and the turn goes on. Nothing here raises for the database: the store must
  not (Rasa would keep the turn in one process's memory only).
"""

from __future__ import annotations

from collections import Counter
from typing import Callable, ContextManager, List, Optional, Tuple

from sqlalchemy import orm

from storage.outage import FAILED, KEEP, WRITTEN, Attempt, OutageGuard
from storage.recent_conversations import RecentConversations, since_session_start
from storage.spool import Batch, Spool
from storage.waiting_turns import FLUSH_BUDGET_SECONDS, WaitingTurns, WriteRows, merged


class ResilientLog:
    """One store's conversation log. On database threads, ``read_stored(sender_id,
    all_sessions)`` gives a conversation's stored events (JSON), as Rasa's query reads them,
    and ``list_stored()`` the conversations; ``write_rows`` and ``scrubbed``: see
    :class:`storage.waiting_turns.WaitingTurns`."""

    def __init__(
        self,
        url: str,
        timeout: float,
        spool: Spool,
        session_scope: Callable[[], ContextManager[orm.Session]],
        read_stored: Callable[[str, bool], List[str]],
        list_stored: Callable[[], List[str]],
        write_rows: WriteRows,
        scrubbed: Callable[[str], str],
    ) -> None:
        self._session_scope = session_scope
        self._read_stored = read_stored
        self._list_stored = list_stored
        self._write_rows = write_rows
        self._scrubbed = scrubbed
        self.stats: Counter = Counter()  # outages, spooled and flushed events (for tests and logs)
        self.guard = OutageGuard(url, timeout, self._write_waiting, self.stats)
        self.recent = RecentConversations()
        self.waiting = WaitingTurns(
            spool,
            session_scope=session_scope,
            write_rows=write_rows,
            scrubbed=scrubbed,
            recent=self.recent,
            lock_wait=min(1.0, timeout / 3),
            stats=self.stats,
        )

    def close(self) -> None:
        self.guard.close()
        self.waiting.close()

    def recover_if_waiting(self) -> None:
        """Start writing what waits, if anything does (called as a turn starts)."""
        if not self.guard.database_up or self.waiting.any_waiting():
            self.guard.recover()

    # -- on the event loop ---------------------------------------------------------------------

    async def read(self, sender_id: str, all_sessions: bool) -> List[str]:
        """The conversation's events (JSON), as Rasa's query reads them: stored, then waiting."""
        if self._database_usable(sender_id):
            try:
                stored, waiting = await self.guard.call(self._read, sender_id, all_sessions)
            except Exception as error:
                self.guard.failed(error, "reading a conversation")
            else:
                if not all_sessions and not waiting:
                    self.recent.put(sender_id, stored)
                if not waiting:
                    return stored
                rows = merged(stored, waiting)
                return rows if all_sessions else since_session_start(rows)
        return await self._offline_rows(sender_id)

    async def stored_rows(self, sender_id: str) -> List[str]:
        """The conversation's events as stored (database, every session, and waiting)."""
        if self._database_usable(sender_id):
            try:
                stored, waiting = await self.guard.call(self._read, sender_id, True)
                return merged(stored, waiting)
            except Exception as error:
                self.guard.failed(error, "counting a conversation's events")
        return await self._offline_rows(sender_id)

    async def write(self, batch: Batch, stored_before: int) -> None:
        """Write the batch of a tracker that had ``stored_before`` events stored: to the
        database, else to the spool (or memory)."""
        if await self._write(batch):
            self.recent.saved(batch.sender_id, stored_before, [event.data for event in batch.events])
        if batch.scrub_after:
            self.recent.scrub(batch.sender_id, self._scrubbed)

    async def senders(self) -> List[str]:
        """The conversations: stored, or while the database is down, recent and waiting."""
        if self.guard.database_up:
            try:
                stored: List[str] = await self.guard.call(self._list_stored)
                return stored
            except Exception as error:
                self.guard.failed(error, "listing conversations")
        waiting = await self.waiting.senders()
        return sorted(set(self.recent.senders()) | set(waiting))

    def _database_usable(self, sender_id: str) -> bool:
        """Whether to try the database: it is not known down, and this process keeps none of
        the conversation's events in memory (they must be written first, in order)."""
        return self.guard.database_up and not self.waiting.has_unspooled(sender_id)

    async def _offline_rows(self, sender_id: str) -> List[str]:
        waiting = await self.waiting.rows(sender_id)
        return since_session_start(self.recent.rows(sender_id) + waiting)

    async def _write(self, batch: Batch) -> bool:
        """True once the batch is in the database; False once it is kept (spool or memory)."""
        if self._database_usable(batch.sender_id):
            attempt = Attempt()
            outcome: Optional[str] = None
            try:
                outcome = await self.guard.call(self._write_batch, attempt, batch)
            except Exception as error:
                self.guard.failed(error, "saving a turn")
            if outcome == WRITTEN:
                return True
            if outcome is None:
                decision, held = attempt.give_up(
                    lambda: self.waiting.keep(batch, held=True),
                    lambda committed: self.waiting.resolve(batch, committed),
                )
                if decision == WRITTEN:
                    return True
                if held is not None:
                    await self.waiting.wait(held)
                    return False
        await self.waiting.wait(self.waiting.keep(batch))
        return False

    async def _write_waiting(self) -> bool:
        """For the guard's recovery: what memory kept to the spool, the spool to the
        database; True once nothing waits."""
        await self.waiting.respool()
        left = await self.guard.call(
            self.waiting.flush_all, timeout=FLUSH_BUDGET_SECONDS + self.guard.timeout, follow_breaker=False
        )
        return left.pending == 0 and not self.waiting.unspooled_count()

    # -- on database threads -------------------------------------------------------------------

    def _read(self, sender_id: str, all_sessions: bool) -> Tuple[List[str], List[str]]:
        """The conversation's stored events, and its spooled events that could not be
        written first (another process writes them, or holds them)."""
        _, waiting = self.waiting.settle(sender_id)
        return self._read_stored(sender_id, all_sessions), [row.data for row in waiting]

    def _write_batch(self, attempt: Attempt, batch: Batch) -> str:
        with attempt.lock:
            if attempt.abandoned:
                return KEEP  # given up before it started: already spooled
        try:
            _, waiting = self.waiting.settle(batch.sender_id)
            if waiting:  # written after them, in order, when they are
                attempt.finish(KEEP)
                return KEEP
            with self._session_scope() as session:
                self._write_rows(session, batch.sender_id, [batch])
                if not attempt.may_commit():
                    attempt.finish(KEEP)
                    return KEEP  # rolled back when the session closes
                session.commit()
        except BaseException:
            attempt.finish(FAILED)
            raise
        attempt.finish(WRITTEN)
        return WRITTEN
