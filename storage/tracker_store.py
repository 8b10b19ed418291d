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

This class builds on ``SQLTrackerStore``'s internals (it skips its constructor, overrides
``_retrieve`` and uses ``_event_query`` and ``_additional_events``): importing the module
checks that the installed Rasa is the release they were read from (:mod:`runtime.compat`).
The tables come from the migrations; a database that is not at the newest revision stops
the server with the command to run (:func:`storage.migrate.require_current`).
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from copy import deepcopy
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActiveLoop, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from runtime.compat import require_supported_versions
from storage import schema
from storage.database import engine_for
from storage.migrate import require_current
from storage.redaction import redact
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


class RedactingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore on the project's database that stores only redacted events."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        url: Optional[str] = None,
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

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        """Rasa's query and tracker, noting on the tracker how many of its events are stored,
        so that :meth:`save` knows which are new without counting them in the database."""
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions)
            rows = query.with_entities(self.SQLEvent.data).all()
        if not rows or not self.domain:
            return None
        events = [json.loads(row.data) for row in rows]
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions and len(tracker.events) == len(rows):
            _note_stored(tracker, len(rows))
        return tracker

    def _stored_count(self, session: sa.orm.Session, tracker: DialogueStateTracker) -> int:
        """How many of the tracker's events are already in the database. Rasa counts them in
        the database on every save (about 8 % of the server's time under load); a tracker this
        store read or saved carries the number, others are counted as Rasa does."""
        stored = tracker.__dict__.get(STORED_EVENTS)
        if stored is None or tracker.events.maxlen is not None or stored > len(tracker.events):
            return len(tracker.events) - sum(1 for _ in self._additional_events(session, tracker))
        return stored

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        with self.session_scope() as session:
            events = list(tracker.events)
            stored = self._stored_count(session, tracker)
            earlier, new_events = events[:stored], events[stored:]
            if not new_events:
                return
            requested = requested_slot_before(earlier)
            form_needs_them = tracker.active_loop_name == PERSONAL_FORM
            stored_events: List[Dict[str, Any]] = []
            for event in new_events:
                data, requested = redact_event(
                    event.as_dict(), requested, keep_personal_slots=form_needs_them
                )
                stored_events.append(data)
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=(data.get("parse_data") or {}).get("intent", {}).get("name"),
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            self._update_summary(session, tracker.sender_id, stored_events)
            if not form_needs_them and _holds_personal_values(earlier):
                scrub_personal_slots(session, schema.events.c.sender_id == tracker.sender_id)
            session.commit()
        _note_stored(tracker, len(tracker.events))

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
