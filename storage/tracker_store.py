"""Rasa's SQL tracker store, with personal data redacted before anything is written.

Configured in ``endpoints.yml`` (``type: storage.tracker_store.RedactingSQLTrackerStore``);
the database is the project's (:mod:`storage.database`: SQLite by default, PostgreSQL or any
SQLAlchemy URL through ``APT_DATABASE_URL``).

On every save, the new events are redacted (:func:`redact_event`), written to Rasa's
``events`` table, and folded into the conversation's summary row (:mod:`storage.summary`)
in the same transaction, so the log and the staff list never disagree.

What is redacted: personal data in the visitor's text, wherever Rasa copies it (the message,
the parsed message, entity values, string slot values). The enquiry form's personal answers
(``PERSONAL_SLOTS``: the email address and the organisation name, which the visitor agreed
to pass on and which are kept only in the ``funding_enquiries`` table) are treated apart:

- the visitor's reply to those questions is replaced whole, at once;
- the slot values must survive from one turn to the next (the name is asked before the email,
  and Rasa reads each turn back from this store), so they are stored as given while the
  enquiry form is active, and scrubbed from the log as soon as it is not (recorded, refused,
  stopped). A form abandoned mid-way is scrubbed at the conversation's next message, or by
  ``python -m storage.retention purge`` (:func:`scrub_abandoned_forms`) an hour later.

The assistant's own messages are stored as they are: they carry the APT's public contacts,
never a visitor's.

When the database does not answer, the conversation goes on and no turn is lost:

- **Never on the event loop.** Every database call (read, save, list) runs on one of the
  store's ``DATABASE_THREADS`` threads and is awaited for at most ``APT_DATABASE_TIMEOUT``
  (3 s). The driver's own timeouts (:mod:`storage.database`) do not cover a network or server
  that accepted the connection and went silent: this wait does; a thread still stuck is left
  to end on its own, and a write it had not committed is rolled back (:class:`_Attempt`).
  The threads are daemon threads, so that a stuck one never keeps a worker from stopping.
- **Circuit breaker.** The first call that fails or times out marks the database down for
  this process: from then on no turn waits on it. A conversation is read from the process's
  recent conversations (:class:`_RecentConversations`: each conversation's stored events,
  kept on every read and save) plus its spooled events; a save redacts exactly as before and
  appends the new events to the spool (:mod:`storage.spool`, a SQLite file on local disk).
  Calls already waiting give up as soon as one of them finds the database down.
- **Recovery.** A task on the server's loop (started with the first failure, or at the first
  turn after start when spool files exist, e.g. left by a process that died) opens a new
  connection every ``PROBE_SECONDS``; once one answers, it writes every spooled conversation,
  one at a time in one transaction each (events, summary and facets: the same code as a
  save, :meth:`RedactingSQLTrackerStore._write_rows`), then marks the database up.
- **Order.** The staff workspace shows a conversation in the order of event ids. A save or
  read of a conversation that has spooled events (in any worker's spool file) first writes
  them; if it cannot (another process holds them or is writing them), the new turn is
  spooled behind them.
- **Nothing twice.** Spooled rows are deleted once the database has committed them; a flush
  interrupted in between, or a write that committed after the turn stopped waiting for it,
  leaves events that are both stored and spooled: the flush skips the ones already stored
  (:func:`_not_yet_stored`).
- **Rasa's FailSafeTrackerStore never takes over**: the store does not raise on a database
  error in ``retrieve`` or ``save`` (Rasa would otherwise keep the turn in one process's memory
  and drop it there). If even the spool cannot be written, the events stay in this process's
  memory (logged as an error, no visitor text) and are spooled when it can be written.

Limits: the recent conversations are per process, so a conversation last handled by another
worker before the outage is read during the outage without its earlier events (Rasa sees a
new conversation; nothing stored is lost or changed). The spool is local to the machine.

This class builds on ``SQLTrackerStore``'s internals (it skips its constructor, overrides
``_retrieve``, ``save`` and ``keys``, and uses ``_event_query`` and ``SQLEvent``): importing the
module checks that the installed Rasa is the release they were read from
(:mod:`runtime.compat`). The tables come from the migrations; a database that is not at the
newest revision stops the server with the command to run
(:func:`storage.migrate.require_current`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
import time
import weakref
from collections import Counter, OrderedDict
from concurrent.futures import Future
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from apt_settings import settings
from runtime.compat import require_supported_versions
from storage import schema
from storage.database import engine_for, probe
from storage.migrate import require_current
from storage.redaction import redact
from storage.spool import Batch, Counts, Spool, SpooledEvent, SpooledRow
from storage.summary import Summary, summarise

require_supported_versions()

logger = logging.getLogger(__name__)

REQUESTED_SLOT = "requested_slot"
PERSONAL_SLOTS = {"contact_email": "[ENQUIRY EMAIL]", "organisation_name": "[ENQUIRY ORGANISATION]"}
PERSONAL_FORM = "enquiry_form"
ABANDONED_AFTER_SECONDS = 3600
STORED_EVENTS = "_apt_stored_events"  # attribute of a tracker: how many of its events are stored


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_value(v) for v in value]
    return value


def redact_event(
    event: Dict[str, Any], requested_slot: Optional[str], keep_personal_slots: bool = False
) -> Tuple[Dict[str, Any], Optional[str]]:
    """The event as it may be stored, and the form question pending after it.

    ``requested_slot`` is the slot the form was asking for when this event happened: a
    visitor's message that answers a ``PERSONAL_SLOTS`` question is replaced whole.
    ``keep_personal_slots`` keeps those slots' values (while the enquiry form still needs them).
    """
    event = deepcopy(event)
    kind = event.get("event")
    if kind == "slot":
        name = event.get("name")
        if name == REQUESTED_SLOT:
            requested_slot = event.get("value")
        elif name in PERSONAL_SLOTS:
            if event.get("value") is not None and not keep_personal_slots:
                event["value"] = PERSONAL_SLOTS[name]
        else:
            event["value"] = _redact_value(event.get("value"))
    elif kind == "user":
        placeholder = PERSONAL_SLOTS.get(requested_slot or "")
        text = event.get("text")
        event["text"] = placeholder if placeholder and text else _redact_value(text)
        parse_data = event.get("parse_data") or {}
        if "text" in parse_data:
            parse_data["text"] = event["text"]
        for entity in parse_data.get("entities") or []:
            for key in ("value", "text"):
                if key in entity:
                    entity[key] = placeholder or _redact_value(entity[key])
    elif kind == "active_loop" and event.get("name") is None:
        requested_slot = None
    return event, requested_slot


def requested_slot_before(events: Iterable[Any]) -> Optional[str]:
    """The form question pending after ``events`` (Rasa event objects)."""
    requested: Optional[str] = None
    for event in events:
        if isinstance(event, SlotSet) and event.key == REQUESTED_SLOT:
            requested = event.value
        elif isinstance(event, ActiveLoop) and event.name is None:
            requested = None
    return requested


# -- when the database does not answer -------------------------------------------------------

DATABASE_THREADS = 8  # threads of one store's database calls (fewer than the pool's 15 connections)
RECENT_CONVERSATIONS = 512  # conversations whose stored events a process keeps for an outage
PROBE_SECONDS = 2.0  # while the database is down: how often it is tried again
BREAKER_POLL_SECONDS = 0.25  # a waiting call gives up this soon after another found it down
FLUSH_BUDGET_SECONDS = 10.0  # one pass of writing spooled turns, before it checks in again
SPOOL_WAIT_SECONDS = 5.0  # a turn waits at most this long for the local spool
MAX_UNSPOOLED_EVENTS = 100_000  # kept in memory when even the spool fails; beyond, dropped (logged)

WRITTEN, KEEP, FAILED, HELD = "written", "keep", "failed", "held"


class DatabaseUnavailable(Exception):
    """The database did not answer in time, or this process already knows it is down."""


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` means the database could not be reached or did not answer in time
    (rather than refusing one statement, e.g. a constraint)."""
    if isinstance(error, DatabaseUnavailable | asyncio.TimeoutError | TimeoutError | OSError):
        return True
    if isinstance(
        error,
        sa.exc.OperationalError | sa.exc.InterfaceError | sa.exc.DisconnectionError | sa.exc.TimeoutError,
    ):
        return True
    return isinstance(error, sa.exc.DBAPIError) and bool(error.connection_invalidated)


def _describe(error: BaseException) -> str:
    """An error's kind, for the log: never its message, which may quote a visitor's text."""
    if isinstance(error, DatabaseUnavailable):
        return str(error)
    original = getattr(error, "orig", None)
    return type(original).__name__ if original is not None else type(error).__name__


def _since_session_start(rows: List[str]) -> List[str]:
    """The stored events (JSON) from the latest session start on, as Rasa's query reads them."""
    for index in range(len(rows) - 1, -1, -1):
        if '"session_started"' in rows[index] and json.loads(rows[index]).get("event") == "session_started":
            return rows[index:]
    return rows


def _merged(stored: List[str], waiting: List[str]) -> List[str]:
    """Stored events followed by the spooled ones not among them (one may be in both: a write
    that committed after it had been given up)."""
    present = Counter(stored)
    merged = list(stored)
    for row in waiting:
        if present[row] > 0:
            present[row] -= 1
        else:
            merged.append(row)
    return merged


def _scrubbed(row: str) -> str:
    """A stored event (JSON) with the enquiry answers replaced, as :func:`scrub_personal_slots`
    does in the database."""
    if '"slot"' not in row:
        return row
    data = json.loads(row)
    name = data.get("name")
    if data.get("event") != "slot" or name not in PERSONAL_SLOTS:
        return row
    if data.get("value") in (None, PERSONAL_SLOTS[name]):
        return row
    data["value"] = PERSONAL_SLOTS[name]
    return json.dumps(data)


@dataclass
class _Recent:
    rows: List[str]  # the stored events (JSON) since the session start
    length: int  # how many events the tracker has that these rows were read or saved with


class _RecentConversations:
    """The stored events of the conversations this process handled last (a bounded LRU),
    kept as the database holds them on every read and save: during an outage a conversation
    goes on from here (plus its spooled events). Only what the database also holds, redacted."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[str, _Recent] = OrderedDict()
        self._lock = threading.Lock()

    def _keep(self, sender_id: str, entry: _Recent) -> None:
        entry.rows = _since_session_start(entry.rows)
        self._entries[sender_id] = entry
        self._entries.move_to_end(sender_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def put(self, sender_id: str, rows: List[str]) -> None:
        with self._lock:
            if rows:
                self._keep(sender_id, _Recent(list(rows), len(rows)))
            else:
                self._entries.pop(sender_id, None)

    def rows(self, sender_id: str) -> List[str]:
        with self._lock:
            entry = self._entries.get(sender_id)
            return list(entry.rows) if entry else []

    def saved(self, sender_id: str, stored_before: int, rows: List[str]) -> None:
        """A tracker that had ``stored_before`` events stored was saved with ``rows`` more."""
        with self._lock:
            entry = self._entries.get(sender_id)
            if entry is None and stored_before == 0:
                entry = _Recent([], 0)
            if entry is None or entry.length != stored_before:
                self._entries.pop(sender_id, None)  # read by another process meanwhile
                return
            self._keep(sender_id, _Recent(entry.rows + rows, entry.length + len(rows)))

    def flushed(self, sender_id: str, rows: List[str]) -> None:
        """Spooled events were written to the database."""
        with self._lock:
            entry = self._entries.get(sender_id)
            if entry is not None:
                self._keep(sender_id, _Recent(entry.rows + rows, entry.length + len(rows)))

    def scrub(self, sender_id: str) -> None:
        with self._lock:
            entry = self._entries.get(sender_id)
            if entry is not None:
                entry.rows = [_scrubbed(row) for row in entry.rows]

    def senders(self) -> List[str]:
        with self._lock:
            return list(self._entries)


class _Attempt:
    """One database write, shared by its thread and the coroutine waiting for it.

    The coroutine may give up (timeout) while the thread goes on. Before ``COMMIT`` the
    thread asks :meth:`may_commit`: once given up, it rolls back, and the turn's events are
    spooled. A write given up *during* its ``COMMIT`` may or may not have committed: its
    events are spooled held, and :meth:`finish` resolves them when the thread returns."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.committing = False
        self.abandoned = False
        self.outcome: Optional[str] = None
        self.on_finish: Optional[Callable[[bool], object]] = None

    def may_commit(self) -> bool:
        with self.lock:
            if self.abandoned:
                return False
            self.committing = True
            return True

    def finish(self, outcome: str) -> None:
        with self.lock:
            self.outcome = outcome
            callback = self.on_finish
        if callback is not None:
            callback(outcome == WRITTEN)


class _DaemonThreads:
    """``count`` daemon threads running submitted calls, each with its ``Future``. Not a
    ThreadPoolExecutor: the interpreter joins those threads at exit, so a thread stuck on a
    database that stopped answering would keep a Rasa worker from ever stopping."""

    def __init__(self, count: int, name: str) -> None:
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._count = count
        self._name = name
        self._threads: List[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, function: Callable[..., Any], *args: Any) -> Future:
        future: Future = Future()
        self._queue.put((future, function, args))
        if len(self._threads) < self._count:
            with self._lock:
                while len(self._threads) < self._count:
                    thread = threading.Thread(target=self._work, name=self._name, daemon=True)
                    thread.start()
                    self._threads.append(thread)
        return future

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            future, function, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = function(*args)
            except BaseException as error:
                future.set_exception(error)
            else:
                future.set_result(result)

    def shutdown(self) -> None:
        """The threads end once the calls submitted so far are done."""
        for _ in self._threads:
            self._queue.put(None)


_stores: weakref.WeakSet[RedactingSQLTrackerStore] = weakref.WeakSet()


def unspooled_events() -> Tuple[int, bool]:
    """For ``/health``: the events this process keeps in memory because the spool could not
    be written, and whether the spool's last write failed."""
    stores = list(_stores)
    return sum(store.unspooled_count() for store in stores), any(store.spool_failing for store in stores)


class RedactingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore on the project's database that stores only redacted events, and that
    goes on without the database when it does not answer (see the module's docstring)."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        url: Optional[str] = None,
        spool_directory: Optional[str] = None,
        database_timeout: Optional[float] = None,
        **kwargs: Any,
    ) -> None:
        # Rasa's constructor retries an unreachable database forever, in silence, and creates
        # its table itself; this one uses the project's engine, whose tables the migrations
        # own, and fails at start with the reason instead.
        self.engine = engine_for(url)
        self.url = self.engine.url.render_as_string(hide_password=False)
        require_current(self.engine)
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)
        if event_broker is not None:
            logger.warning("The event broker receives events before redaction.")
        TrackerStore.__init__(self, domain, event_broker, **kwargs)
        conf = settings()
        self.timeout = float(database_timeout or conf.database_timeout)
        self._lock_wait = min(1.0, self.timeout / 3)
        self.spool = Spool(Path(spool_directory or conf.spool_directory), self.url)
        self._database = _DaemonThreads(DATABASE_THREADS, "apt-database")
        self._spooler = _DaemonThreads(1, "apt-spool")
        self._prober = _DaemonThreads(1, "apt-database-probe")
        self._up = True
        self._recent = _RecentConversations(RECENT_CONVERSATIONS)
        self._unspooled: OrderedDict[str, List[Batch]] = OrderedDict()
        self._unspooled_lock = threading.Lock()
        self.spool_failing = False
        self._recovery: Optional[asyncio.Task] = None
        self._next_spool_check = 0.0
        self.stats: Counter = Counter()  # outages, spooled and flushed events (for tests and logs)
        _stores.add(self)

    @property
    def database_up(self) -> bool:
        """False from the first failed call until the database answers and what waited for
        it has been written."""
        return self._up

    def close(self) -> None:
        """Stop the store's threads (a stuck one is left to end) and release its spool file
        (kept if events wait in it: another process writes them)."""
        if self._recovery is not None and not self._recovery.done():
            try:
                self._recovery.cancel()
            except RuntimeError:
                pass  # its loop has closed
        for threads in (self._database, self._spooler, self._prober):
            threads.shutdown()
        self.spool.close()
        _stores.discard(self)

    @contextmanager
    def session_scope(self) -> Iterator[sa.orm.Session]:
        """A session, closed after use. Rasa's own reads any ``ValueError`` raised inside it as
        a missing PostgreSQL schema and exits the worker (a NUL character in a conversation id
        did that: psycopg2 raises ValueError for it); here an error fails that one message
        only. The schema is checked once, at start (:func:`storage.migrate.require_current`)."""
        session = self.sessionmaker()
        try:
            yield session
        finally:
            session.close()

    # -- Rasa's interface ----------------------------------------------------------------------

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        """Rasa's query and tracker, noting on the tracker how many of its events are stored,
        so that :meth:`save` knows which are new without counting them in the database.
        Without the database: the conversation's recent stored events and its spooled ones."""
        self._check_spool()
        note = not fetch_events_from_all_sessions
        if self._up and not self._has_unspooled(sender_id):
            try:
                stored, waiting = await self._call(self._read, sender_id, fetch_events_from_all_sessions)
            except Exception as error:
                self._failed(error, "reading a conversation")
            else:
                if note and not waiting:
                    self._recent.put(sender_id, stored)
                rows = stored
                if waiting:
                    rows = _merged(stored, waiting)
                    rows = _since_session_start(rows) if note else rows
                return self._tracker(sender_id, rows, note)
        return self._tracker(sender_id, await self._offline_rows(sender_id), note)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Write the tracker's new events, redacted, to the database; if it does not answer
        in time (or fails), to the spool, and the turn goes on. Never raises for the database:
        Rasa would then keep the turn in one process's memory only (FailSafeTrackerStore)."""
        await self.stream_events(tracker)
        self._check_spool()
        events = list(tracker.events)
        stored = _known_stored(tracker)
        if stored is None:
            stored = _stored_prefix(events, await self._stored_rows(tracker.sender_id))
        if stored >= len(events):
            return
        batch = _batch(tracker, events, stored)
        if await self._write(batch):
            self._recent.saved(tracker.sender_id, stored, [event.data for event in batch.events])
        if batch.scrub_after:
            self._recent.scrub(tracker.sender_id)
        _note_stored(tracker, len(events))

    async def keys(self) -> Iterable[str]:
        if self._up:
            try:
                keys: Iterable[str] = await self._call(self._keys)
                return keys
            except Exception as error:
                self._failed(error, "listing conversations")
        spooled = await self._spool_call(self.spool.senders) or []
        with self._unspooled_lock:
            kept = list(self._unspooled)
        return sorted(set(self._recent.senders()) | set(spooled) | set(kept))

    # -- on the event loop ---------------------------------------------------------------------

    def _tracker(self, sender_id: str, rows: List[str], note: bool) -> Optional[DialogueStateTracker]:
        if not rows or not self.domain:
            return None
        tracker = DialogueStateTracker.from_dict(
            sender_id, [json.loads(row) for row in rows], self.domain.slots
        )
        if note and len(tracker.events) == len(rows):
            _note_stored(tracker, len(rows))
        return tracker

    async def _stored_rows(self, sender_id: str) -> List[str]:
        """The conversation's events as stored (database, every session, and spool)."""
        if self._up and not self._has_unspooled(sender_id):
            try:
                stored, waiting = await self._call(self._read, sender_id, True)
                return _merged(stored, waiting)
            except Exception as error:
                self._failed(error, "counting a conversation's events")
        return await self._offline_rows(sender_id)

    async def _offline_rows(self, sender_id: str) -> List[str]:
        spooled = await self._spool_call(self.spool.rows_for, sender_id) or []
        with self._unspooled_lock:
            kept = [event.data for batch in self._unspooled.get(sender_id, []) for event in batch.events]
        return _since_session_start(self._recent.rows(sender_id) + [row.data for row in spooled] + kept)

    async def _write(self, batch: Batch) -> bool:
        """True once the batch is in the database; False once it is kept (spool or memory)."""
        if self._up and not self._has_unspooled(batch.sender_id):
            attempt = _Attempt()
            outcome: Optional[str] = None
            try:
                outcome = await self._call(self._write_batch, attempt, batch)
            except Exception as error:
                self._failed(error, "saving a turn")
            if outcome == WRITTEN:
                return True
            if outcome is None:
                decision, held = self._give_up(attempt, batch)
                if decision == WRITTEN:
                    return True
                if held is not None:
                    await self._spool_wait(held)
                    return False
        await self._spool_wait(self._spooler.submit(self._append, batch, False))
        return False

    def _give_up(self, attempt: _Attempt, batch: Batch) -> Tuple[str, Optional[Future]]:
        """Stop waiting for a write: what to do with its batch (see :class:`_Attempt`)."""
        with attempt.lock:
            if attempt.outcome is not None:
                return (WRITTEN if attempt.outcome == WRITTEN else KEEP), None
            attempt.abandoned = True
            if not attempt.committing:
                return KEEP, None
            # Submitted under the attempt's lock: the spool thread appends before it resolves.
            held = self._spooler.submit(self._append, batch, True)
            attempt.on_finish = lambda committed: self._spooler.submit(self._resolve, batch, committed)
            return HELD, held

    def _failed(self, error: BaseException, doing: str) -> None:
        if is_outage(error):
            if self._up:
                self._up = False
                self.stats["outages"] += 1
                logger.warning(
                    "The database did not answer while %s (%s): turns are kept in the spool "
                    "until it does.",
                    doing,
                    _describe(error),
                )
        else:
            logger.error(
                "The database failed while %s (%s): the turn is kept in the spool.", doing, _describe(error)
            )
        self._start_recovery()

    def _check_spool(self) -> None:
        """Start writing what waits, if anything does (at most every PROBE_SECONDS a
        directory listing; spool files of a process that died are written this way too)."""
        if not self._up or self.unspooled_count():
            self._start_recovery()
            return
        now = time.monotonic()
        if now >= self._next_spool_check:
            self._next_spool_check = now + PROBE_SECONDS
            if self.spool.has_files():
                self._start_recovery()

    def _start_recovery(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        task = self._recovery
        if task is not None and not task.done() and task.get_loop() is loop:
            return
        self._recovery = loop.create_task(self._recover())

    async def _recover(self) -> None:
        """While anything waits: try the database every PROBE_SECONDS while it is down; when
        it answers, write what waits (memory to spool, spool to database) and mark it up."""
        try:
            while True:
                if not self._up and not await self._answers():
                    await asyncio.sleep(PROBE_SECONDS)
                    continue
                await self._spool_call(self._respool)
                try:
                    left = await self._call(
                        self._flush_all, timeout=FLUSH_BUDGET_SECONDS + self.timeout, follow_breaker=False
                    )
                except Exception as error:
                    self._failed(error, "writing spooled turns")
                    await asyncio.sleep(PROBE_SECONDS)
                    continue
                if not self._up:
                    self._up = True
                    logger.warning(
                        "The database answers again: %d spooled event(s) written so far.",
                        self.stats["flushed"],
                    )
                if left.pending == 0 and not self.unspooled_count():
                    return
                await asyncio.sleep(PROBE_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # never let the task die silently; the next turn restarts it
            logger.error(
                "Writing spooled turns stopped (%s); it starts again with the next turn.", _describe(error)
            )

    async def _answers(self) -> bool:
        future = self._prober.submit(probe, self.url, self.timeout)
        try:
            await self._wait(future, self.timeout + 1, follow_breaker=False)
            return True
        except Exception:
            return False

    async def _call(
        self,
        function: Callable[..., Any],
        *args: Any,
        timeout: Optional[float] = None,
        follow_breaker: bool = True,
    ) -> Any:
        """``function(*args)`` on a database thread, waited for at most ``timeout`` (default
        the database timeout); a call still running then is left to end on its own."""
        if follow_breaker and not self._up:
            raise DatabaseUnavailable("the database is down")
        future = self._database.submit(function, *args)
        try:
            return await self._wait(future, timeout or self.timeout, follow_breaker)
        except DatabaseUnavailable:
            future.cancel()  # not started yet: never will
            raise

    async def _wait(self, future: Future, timeout: float, follow_breaker: bool) -> Any:
        """The result of a thread's ``future``, without blocking the loop: DatabaseUnavailable
        after ``timeout`` or, with ``follow_breaker``, as soon as another call found the
        database down."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future = loop.create_future()

        def settle(done: Future) -> None:
            if not waiter.done():
                waiter.set_result(done)

        def on_done(done: Future) -> None:
            try:
                loop.call_soon_threadsafe(settle, done)
            except RuntimeError:
                pass  # the loop has closed: no one waits any more

        future.add_done_callback(on_done)
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise DatabaseUnavailable(f"no answer within {timeout:g} s")
            step = min(remaining, BREAKER_POLL_SECONDS) if follow_breaker else remaining
            done, _ = await asyncio.wait({waiter}, timeout=step)
            if done:
                return waiter.result().result()
            if follow_breaker and not self._up:
                raise DatabaseUnavailable("the database went down meanwhile")

    async def _spool_call(self, function: Callable[..., Any], *args: Any) -> Any:
        """``function(*args)`` on the spool's thread (after the appends before it); None if it
        fails or takes longer than SPOOL_WAIT_SECONDS."""
        try:
            return await self._wait(self._spooler.submit(function, *args), SPOOL_WAIT_SECONDS, False)
        except Exception as error:
            logger.error("The spool could not be read (%s).", _describe(error))
            return None

    async def _spool_wait(self, future: Future) -> None:
        try:
            await self._wait(future, SPOOL_WAIT_SECONDS, False)
        except Exception:
            logger.error("The spool did not answer in time: the turn is kept when it does.")

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
                    _describe(error),
                    len(batch.events),
                )
                self._remember(batch)
            else:
                self.spool_failing = False
                self.stats["spooled"] += len(batch.events)
        if batch.scrub_after:
            self._scrub_kept(batch.sender_id)

    def _scrub_kept(self, sender_id: str) -> None:
        with self._unspooled_lock:
            for index, batch in enumerate(self._unspooled.get(sender_id, [])):
                events = tuple(
                    SpooledEvent(event.type_name, event.timestamp, _scrubbed(event.data))
                    for event in batch.events
                )
                self._unspooled[sender_id][index] = replace(batch, events=events)
        try:
            self.spool.scrub(sender_id, _scrubbed)
        except Exception as error:
            logger.error("The spool could not be scrubbed (%s).", _describe(error))

    def _remember(self, batch: Batch) -> None:
        with self._unspooled_lock:
            if self._unspooled_total() + len(batch.events) > MAX_UNSPOOLED_EVENTS:
                logger.error(
                    "%d event(s) were lost: neither the database nor the spool took them.", len(batch.events)
                )
                return
            self._unspooled.setdefault(batch.sender_id, []).append(batch)

    def _unspooled_total(self) -> int:
        return sum(len(batch.events) for batches in self._unspooled.values() for batch in batches)

    def unspooled_count(self) -> int:
        with self._unspooled_lock:
            return self._unspooled_total() if self._unspooled else 0

    def _has_unspooled(self, sender_id: str) -> bool:
        with self._unspooled_lock:
            return sender_id in self._unspooled

    def _respool(self) -> None:
        """Move what memory kept into the spool, in order, while the spool takes it."""
        while True:
            with self._unspooled_lock:
                if not self._unspooled:
                    return
                sender_id, batches = next(iter(self._unspooled.items()))
            while batches:
                self.spool.append(batches[0])  # an error stops here: tried again later
                with self._unspooled_lock:
                    done = batches.pop(0)
                self.stats["spooled"] += len(done.events)
            with self._unspooled_lock:
                if not self._unspooled.get(sender_id):
                    self._unspooled.pop(sender_id, None)

    def _resolve(self, batch: Batch, committed: bool) -> None:
        try:
            self.spool.resolve(batch.batch_id, committed)
        except Exception as error:
            logger.error("A held spooled turn could not be resolved (%s).", _describe(error))

    # -- on database threads -------------------------------------------------------------------

    def _read(self, sender_id: str, all_sessions: bool) -> Tuple[List[str], List[str]]:
        """The conversation's stored events, and its spooled events that could not be
        written first (another process writes them, or holds them)."""
        _, waiting = self._settle(sender_id)
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, all_sessions)
            stored = [row.data for row in query.with_entities(self.SQLEvent.data).all()]
        return stored, [row.data for row in waiting]

    def _keys(self) -> List[str]:
        with self.session_scope() as session:
            return [sender for (sender,) in session.query(self.SQLEvent.sender_id).distinct().all()]

    def _write_batch(self, attempt: _Attempt, batch: Batch) -> str:
        with attempt.lock:
            if attempt.abandoned:
                return KEEP  # given up before it started: already spooled
        try:
            _, waiting = self._settle(batch.sender_id)
            if waiting:  # written after them, in order, when they are
                attempt.finish(KEEP)
                return KEEP
            with self.session_scope() as session:
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

    def _settle(self, sender_id: str) -> Tuple[List[SpooledRow], List[SpooledRow]]:
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
            with self.session_scope() as session:
                fresh = _not_yet_stored(session, sender_id, rows)
                self._write_rows(session, sender_id, _batches(sender_id, rows, fresh))
                session.commit()
        except Exception as error:
            if is_outage(error):
                raise
            logger.error(
                "The database refused %d spooled event(s) (%s): they are kept in %s.",
                len(rows),
                _describe(error),
                self.spool.unwritable_path,
            )
            self.spool.quarantine(rows, _describe(error))
            return []
        self.spool.remove(rows)
        self.stats["flushed"] += len(fresh)
        self.stats["skipped"] += len(rows) - len(fresh)
        self._recent.flushed(sender_id, [row.data for row in fresh])
        return fresh

    def _flush_all(self) -> Counts:
        """Write every conversation's spooled events (for at most FLUSH_BUDGET_SECONDS), and
        remove the spool files left empty; the counts of what still waits."""
        deadline = time.monotonic() + FLUSH_BUDGET_SECONDS
        if self.spool.has_files():
            for sender_id in self.spool.senders():
                if time.monotonic() > deadline:
                    break
                self._settle(sender_id)
        left = self.spool.counts()
        if left.pending == 0 and left.files:
            with self.spool.flush_lock(self._lock_wait) as locked:
                if locked:
                    self.spool.clean_up()
        return left

    def _write_rows(self, session: sa.orm.Session, sender_id: str, batches: Sequence[Batch]) -> None:
        """Add the batches' events and update the conversation's summary and facets (the
        caller commits): the one way events reach the database, live or from the spool."""
        stored: List[Dict[str, Any]] = []
        for batch in batches:
            for event in batch.events:
                data = event.decoded if event.decoded is not None else json.loads(event.data)
                session.add(
                    self.SQLEvent(
                        sender_id=sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=(data.get("parse_data") or {}).get("intent", {}).get("name"),
                        action_name=data.get("name"),
                        data=event.data,
                    )
                )
                stored.append(data)
            if batch.scrub_after:
                scrub_personal_slots(session, schema.events.c.sender_id == sender_id)
        if stored:
            self._update_summary(session, sender_id, stored)

    @staticmethod
    def _update_summary(session: sa.orm.Session, sender_id: str, events: List[Dict[str, Any]]) -> None:
        previous = load_summary(session, sender_id)
        summary = summarise(sender_id, events, previous)
        if previous is None:
            session.execute(schema.summaries.insert().values(**summary.row()))
        else:
            session.execute(
                schema.summaries.update()
                .where(schema.summaries.c.sender_id == sender_id)
                .values(**summary.row())
            )
        session.execute(schema.facets.delete().where(schema.facets.c.sender_id == sender_id))
        rows = [
            {"sender_id": sender_id, "kind": kind, "value": value[:255], "count": count}
            for kind, counter in (("intent", summary.intents), ("country", summary.countries))
            for value, count in counter.items()
        ]
        if rows:
            session.execute(schema.facets.insert(), rows)


def _known_stored(tracker: DialogueStateTracker) -> Optional[int]:
    """How many of the tracker's events are stored, if this store read or saved it; else None
    (they are then compared with the stored events of its session: :func:`_stored_prefix`)."""
    stored = tracker.__dict__.get(STORED_EVENTS)
    if stored is None or tracker.events.maxlen is not None or stored > len(tracker.events):
        return None
    return int(stored)


def _stored_prefix(events: List[Any], rows: List[str]) -> int:
    """How many of a tracker's first events are stored: each is among the stored ``rows``
    (same kind, same timestamp).

    Rasa counts the stored events of the session and takes as many of the tracker's first
    events as stored, which loses events when the tracker is not the stored session plus new
    events: a tracker Rasa created because the conversation could not be read (during an
    outage, by a process that had not seen it) and saved once the database is back, or a
    tracker of every session. A tracker read from the store, or a copy of one, matches."""
    stored = set()
    for row in rows:
        data = json.loads(row)
        stored.add((data.get("event"), data.get("timestamp")))
    count = 0
    for event in events:
        if (event.type_name, event.timestamp) not in stored:
            break
        count += 1
    return count


def _batch(tracker: DialogueStateTracker, events: List[Any], stored: int) -> Batch:
    """The tracker's new events, redacted as they may be stored."""
    earlier, new_events = events[:stored], events[stored:]
    requested = requested_slot_before(earlier)
    form_needs_them = tracker.active_loop_name == PERSONAL_FORM
    redacted: List[SpooledEvent] = []
    for event in new_events:
        data, requested = redact_event(event.as_dict(), requested, keep_personal_slots=form_needs_them)
        redacted.append(SpooledEvent(event.type_name, data.get("timestamp"), json.dumps(data), data))
    scrub_after = not form_needs_them and _holds_personal_values(earlier)
    return Batch(tracker.sender_id, tuple(redacted), scrub_after)


def _not_yet_stored(session: sa.orm.Session, sender_id: str, rows: List[SpooledRow]) -> List[SpooledRow]:
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


def _batches(sender_id: str, rows: List[SpooledRow], fresh: List[SpooledRow]) -> List[Batch]:
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


def _note_stored(tracker: DialogueStateTracker, count: int) -> None:
    """Record that the tracker's first ``count`` events are in the database."""
    tracker.__dict__[STORED_EVENTS] = count


def _holds_personal_values(events: Iterable[Any]) -> bool:
    """Whether events read back from the log still carry a personal slot value."""
    for event in events:
        if isinstance(event, SlotSet) and event.key in PERSONAL_SLOTS:
            if event.value is not None and event.value != PERSONAL_SLOTS[event.key]:
                return True
    return False


def scrub_personal_slots(connection: Any, where: Any) -> int:
    """Replace the stored values of ``PERSONAL_SLOTS`` in the slot events matching ``where``;
    returns how many events were rewritten."""
    rows = connection.execute(
        sa.select(schema.events.c.id, schema.events.c.data).where(
            where,
            schema.events.c.type_name == "slot",
            schema.events.c.action_name.in_(list(PERSONAL_SLOTS)),
        )
    ).all()
    changed = 0
    for event_id, raw in rows:
        data = json.loads(raw)
        placeholder = PERSONAL_SLOTS[data["name"]]
        if data.get("value") not in (None, placeholder):
            data["value"] = placeholder
            connection.execute(
                schema.events.update().where(schema.events.c.id == event_id).values(data=json.dumps(data))
            )
            changed += 1
    return changed


def scrub_abandoned_forms(engine: sa.engine.Engine, now: Optional[float] = None) -> int:
    """Scrub personal slot values left by enquiry forms abandoned over an hour ago."""
    cutoff = (now or time.time()) - ABANDONED_AFTER_SECONDS
    with engine.begin() as connection:
        return scrub_personal_slots(connection, schema.events.c.timestamp < cutoff)


def load_summary(connection: Any, sender_id: str) -> Optional[Summary]:
    """The stored summary of one conversation with its facets, or None."""
    row = connection.execute(
        sa.select(schema.summaries).where(schema.summaries.c.sender_id == sender_id)
    ).first()
    if row is None:
        return None
    facets = connection.execute(sa.select(schema.facets).where(schema.facets.c.sender_id == sender_id)).all()
    summary = Summary(**dict(row._mapping))
    for facet in facets:
        counter = summary.intents if facet.kind == "intent" else summary.countries
        counter[facet.value] = facet.count
    return summary
