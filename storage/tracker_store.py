"""Rasa's SQL tracker store, with personal data redacted before anything is written.

Configured in ``endpoints.yml`` (``type: storage.tracker_store.RedactingSQLTrackerStore``);
the database is the project's (:mod:`storage.database`: SQLite by default, PostgreSQL or any
SQLAlchemy URL through ``APT_DATABASE_URL``).

On every save, the new events are redacted (:func:`redact_event`), written to Rasa's
``events`` table, and folded into the conversation's summary row (:mod:`storage.summary`)
in the same transaction (:func:`write_rows`), so the log and the staff list never disagree.

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

When the database does not answer, the conversation goes on and no turn is lost: the store
reads and writes its rows through :mod:`storage.resilient_log` (the database while it
answers, else the spool and this process's recent conversations; see there). It never
raises on a database error in ``retrieve`` or ``save``, so that Rasa's FailSafeTrackerStore
never takes over: it would keep the turn in one process's memory and drop it there.

This class builds on ``SQLTrackerStore``'s internals (it skips its constructor, overrides
``_retrieve``, ``save`` and ``keys``, and uses ``_event_query`` and ``SQLEvent``): importing the
module checks that the installed Rasa is the release they were read from
(:mod:`rasa_versions`). The tables come from the migrations; a database that is not at the
newest revision stops the server with the command to run
(:func:`storage.migrate.require_current`).
"""

from __future__ import annotations

import json
import logging
import time
import weakref
from contextlib import contextmanager
from copy import deepcopy
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import orm

from apt_settings import settings
from privacy.redaction import redact
from rasa_versions import require_supported_versions
from storage import schema
from storage.database import engine_for
from storage.migrate import require_current
from storage.resilient_log import ResilientLog
from storage.spool import Batch, Spool, SpooledEvent
from storage.summary import Summary, summarise

require_supported_versions()

logger = logging.getLogger(__name__)

REQUESTED_SLOT = "requested_slot"
PERSONAL_SLOTS = {"contact_email": "[ENQUIRY EMAIL]", "organisation_name": "[ENQUIRY ORGANISATION]"}
PERSONAL_FORM = "enquiry_form"
ABANDONED_AFTER_SECONDS = 3600
STORED_EVENTS = "_apt_stored_events"  # attribute of a tracker: how many of its events are stored


# -- what is stored ----------------------------------------------------------------------------


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


def scrubbed_row(row: str) -> str:
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


def _holds_personal_values(events: Iterable[Any]) -> bool:
    """Whether events read back from the log still carry a personal slot value."""
    for event in events:
        if isinstance(event, SlotSet) and event.key in PERSONAL_SLOTS:
            if event.value is not None and event.value != PERSONAL_SLOTS[event.key]:
                return True
    return False


def redacted_batch(tracker: DialogueStateTracker, events: List[Any], stored: int) -> Batch:
    """The tracker's events after the first ``stored``, redacted as they may be stored."""
    earlier, new_events = events[:stored], events[stored:]
    requested = requested_slot_before(earlier)
    form_needs_them = tracker.active_loop_name == PERSONAL_FORM
    redacted: List[SpooledEvent] = []
    for event in new_events:
        data, requested = redact_event(event.as_dict(), requested, keep_personal_slots=form_needs_them)
        redacted.append(SpooledEvent(event.type_name, data.get("timestamp"), json.dumps(data), data))
    scrub_after = not form_needs_them and _holds_personal_values(earlier)
    return Batch(tracker.sender_id, tuple(redacted), scrub_after)


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


def scrub_abandoned_forms(connection: Any, now: Optional[float] = None) -> int:
    """Scrub personal slot values left by enquiry forms abandoned over an hour ago (the
    caller commits: :func:`storage.retention.purge`)."""
    cutoff = (now or time.time()) - ABANDONED_AFTER_SECONDS
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


# -- how it is written ---------------------------------------------------------------------------


def write_rows(session: orm.Session, sender_id: str, batches: Sequence[Batch]) -> None:
    """Add the batches' events and update the conversation's summary and facets (the
    caller commits): the one way events reach the database, live or from the spool."""
    stored: List[Dict[str, Any]] = []
    for batch in batches:
        for event in batch.events:
            data = event.decoded if event.decoded is not None else json.loads(event.data)
            session.add(
                SQLTrackerStore.SQLEvent(
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
        update_summary(session, sender_id, stored)


def update_summary(session: orm.Session, sender_id: str, events: List[Dict[str, Any]]) -> None:
    """Fold newly stored events into the conversation's summary row and facets."""
    previous = load_summary(session, sender_id)
    summary = summarise(sender_id, events, previous)
    if previous is None:
        session.execute(schema.summaries.insert().values(**summary.row()))
    else:
        session.execute(
            schema.summaries.update().where(schema.summaries.c.sender_id == sender_id).values(**summary.row())
        )
    session.execute(schema.facets.delete().where(schema.facets.c.sender_id == sender_id))
    rows = [
        {"sender_id": sender_id, "kind": kind, "value": value[:255], "count": count}
        for kind, counter in (("intent", summary.intents), ("country", summary.countries))
        for value, count in counter.items()
    ]
    if rows:
        session.execute(schema.facets.insert(), rows)


# -- which of a tracker's events are stored ------------------------------------------------------


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


def _note_stored(tracker: DialogueStateTracker, count: int) -> None:
    """Record that the tracker's first ``count`` events are in the database."""
    tracker.__dict__[STORED_EVENTS] = count


# -- the store -----------------------------------------------------------------------------------

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
        self.sessionmaker = orm.sessionmaker(bind=self.engine)
        if event_broker is not None:
            logger.warning("The event broker receives events before redaction.")
        TrackerStore.__init__(self, domain, event_broker, **kwargs)
        conf = settings()
        self.spool = Spool(Path(spool_directory or conf.spool_directory), self.url)
        self.log = ResilientLog(
            self.url,
            float(database_timeout or conf.database_timeout),
            self.spool,
            session_scope=self.session_scope,
            read_stored=self._read_stored,
            list_stored=self._list_stored,
            write_rows=write_rows,
            scrubbed=scrubbed_row,
        )
        self.stats = self.log.stats
        _stores.add(self)

    @property
    def database_up(self) -> bool:
        """False from the first failed call until the database answers and what waited for
        it has been written."""
        return self.log.guard.database_up

    @property
    def spool_failing(self) -> bool:
        return self.log.waiting.spool_failing

    def unspooled_count(self) -> int:
        return self.log.waiting.unspooled_count()

    def close(self) -> None:
        """Stop the store's threads (a stuck one is left to end) and release its spool file
        (kept if events wait in it: another process writes them)."""
        self.log.close()
        self.spool.close()
        _stores.discard(self)

    @contextmanager
    def session_scope(self) -> Iterator[orm.Session]:
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
        so that :meth:`save` knows which are new without counting them in the database."""
        self.log.recover_if_waiting()
        rows = await self.log.read(sender_id, fetch_events_from_all_sessions)
        if not rows or not self.domain:
            return None
        tracker = DialogueStateTracker.from_dict(
            sender_id, [json.loads(row) for row in rows], self.domain.slots
        )
        if not fetch_events_from_all_sessions and len(tracker.events) == len(rows):
            _note_stored(tracker, len(rows))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Write the tracker's new events, redacted, to the database; if it does not answer
        in time (or fails), to the spool, and the turn goes on. Never raises for the database:
        Rasa would then keep the turn in one process's memory only (FailSafeTrackerStore)."""
        await self.stream_events(tracker)
        self.log.recover_if_waiting()
        events = list(tracker.events)
        stored = _known_stored(tracker)
        if stored is None:
            stored = _stored_prefix(events, await self.log.stored_rows(tracker.sender_id))
        if stored >= len(events):
            return
        await self.log.write(redacted_batch(tracker, events, stored), stored)
        _note_stored(tracker, len(events))

    async def keys(self) -> Iterable[str]:
        return await self.log.senders()

    # -- on database threads -------------------------------------------------------------------

    def _read_stored(self, sender_id: str, all_sessions: bool) -> List[str]:
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, all_sessions)
            return [row.data for row in query.with_entities(self.SQLEvent.data).all()]

    def _list_stored(self) -> List[str]:
        with self.session_scope() as session:
            return [sender for (sender,) in session.query(self.SQLEvent.sender_id).distinct().all()]
