"""The conversation log as the staff workspace (and the benchmark) reads it: the repository of
the conversation aggregate, read only.

A conversation is its row of ``conversation_summaries`` and of ``conversation_facets``
(written by :mod:`storage.tracker_store` on every save), its ``events`` (Rasa's tracker
store) and the widget's ``feedback`` on its answers (:mod:`storage.feedback`); the lists also
show and filter on what staff recorded about it (review marks, tags: :mod:`storage.reviews`).

The list, filters and exports read only the summary tables (indexed; pages are fetched by
keyset, "older than the last row shown", so page 2,000 costs what page 1 does); a transcript
reads one conversation's events through the ``sender_id`` index. The inbox, and the insights'
feedback and most-missed figures, read the events of the conversations whose summary says
they may hold a miss (a fallback, "None of these", a 👎, a low best guess), newest first, a
batch of conversations at a time (:func:`candidate_batches`). Times are UTC.

Every function takes the caller's connection (:func:`storage.database.connect_unbounded`),
so that what a page reads is one transaction; it returns plain values (dicts, tuples, rows).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from storage.database import engine_for
from storage.reviews import tags_of
from storage.schema import events, facets, feedback, reviews, summaries, tags
from storage.summary import FUNDING_STEPS

# Test traffic: conversations over the REST channel, which the tests, the benchmark and curl
# use; visitors chat through the widget (socket.io). See docs/staff-workspace.md.
TEST_CHANNELS = ("rest",)

StoredEvents = List[Tuple[int, Dict[str, Any]]]


@dataclass(frozen=True)
class ConversationFilters:
    """Which conversations a list, an export or the insights cover (an empty field: any)."""

    date_from: Optional[date] = None
    date_to: Optional[date] = None
    intent: str = ""
    # disclosure, funding, fallback, nlu_fallback, none_of_these, reviewed, unreviewed
    flag: str = ""
    # The conversation's lowest best-guess confidence (storage.summary): below the fallback
    # threshold (``low_confidence``), or within [confidence_min, confidence_max].
    low_confidence: bool = False
    confidence_min: Optional[float] = None
    confidence_max: Optional[float] = None
    feedback: str = ""  # any, up, down
    channel: str = ""
    traffic: str = ""  # visitors, test (TEST_CHANNELS)
    language: str = ""
    tag: str = ""
    text: str = ""


def _epoch(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(filters: ConversationFilters, low_confidence: float) -> List[Any]:
    s = summaries.c
    conditions: List[Any] = []
    if filters.date_from:
        conditions.append(s.started_at >= _epoch(filters.date_from))
    if filters.date_to:
        conditions.append(s.started_at < _epoch(filters.date_to + timedelta(days=1)))
    if filters.intent:
        conditions.append(
            sa.exists().where(
                facets.c.sender_id == s.sender_id, facets.c.kind == "intent", facets.c.value == filters.intent
            )
        )
    if filters.flag == "disclosure":
        conditions.append(s.disclosure.is_(True))
    elif filters.flag == "funding":
        conditions.append(s.funding_enquiry.is_(True))
    elif filters.flag == "fallback":
        conditions.append(s.fallback_count > 0)
    elif filters.flag == "nlu_fallback":
        conditions.append(s.nlu_fallback_count > 0)
    elif filters.flag == "none_of_these":
        conditions.append(s.none_of_these_count > 0)
    elif filters.flag == "reviewed":
        conditions.append(reviews.c.reviewed.is_(True))
    elif filters.flag == "unreviewed":
        conditions.append(sa.or_(reviews.c.reviewed.is_(None), reviews.c.reviewed.is_(False)))
    if filters.low_confidence:
        conditions.append(s.best_guess_confidence < low_confidence)
    if filters.confidence_min is not None:
        conditions.append(s.best_guess_confidence >= filters.confidence_min)
    if filters.confidence_max is not None:
        conditions.append(s.best_guess_confidence <= filters.confidence_max)
    if filters.feedback:
        given = sa.exists().where(feedback.c.sender_id == s.sender_id)
        if filters.feedback != "any":
            given = given.where(feedback.c.value == filters.feedback)
        conditions.append(given)
    if filters.channel:
        conditions.append(s.channel == filters.channel)
    if filters.traffic == "test":
        conditions.append(s.channel.in_(TEST_CHANNELS))
    elif filters.traffic == "visitors":
        conditions.append(s.channel.not_in(TEST_CHANNELS))
    if filters.language:
        conditions.append(sa.func.coalesce(s.language, "en") == filters.language)
    if filters.tag:
        conditions.append(sa.exists().where(tags.c.sender_id == s.sender_id, tags.c.tag == filters.tag))
    if filters.text:
        conditions.append(s.search_text.like(_like_pattern(filters.text), escape="\\"))
    return conditions


_FROM = summaries.outerjoin(reviews, reviews.c.sender_id == summaries.c.sender_id)
_COLUMNS = [summaries, reviews.c.reviewed, reviews.c.note]


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last row's activity time and id."""

    last_active_at: float
    sender_id: str

    def token(self) -> str:
        return f"{self.last_active_at!r}:{self.sender_id}"

    @classmethod
    def parse(cls, token: Optional[str]) -> Optional[Cursor]:
        if not token or ":" not in token:
            return None
        moment, sender_id = token.split(":", 1)
        try:
            return cls(float(moment), sender_id)
        except ValueError:
            return None


@dataclass
class Page:
    rows: List[Dict[str, Any]]
    total: int
    next_cursor: Optional[Cursor]
    intents: Dict[str, List[str]] = field(default_factory=dict)
    feedback: Dict[str, Dict[str, int]] = field(default_factory=dict)
    tags: Dict[str, List[str]] = field(default_factory=dict)


def _after(after: Cursor) -> Any:
    return sa.or_(
        summaries.c.last_active_at < after.last_active_at,
        sa.and_(summaries.c.last_active_at == after.last_active_at, summaries.c.sender_id < after.sender_id),
    )


def _page_query(
    filters: ConversationFilters, low_confidence: float, after: Optional[Cursor], limit: int
) -> Any:
    query = sa.select(*_COLUMNS).select_from(_FROM).where(*_conditions(filters, low_confidence))
    if after is not None:
        query = query.where(_after(after))
    return query.order_by(summaries.c.last_active_at.desc(), summaries.c.sender_id.desc()).limit(limit)


# -- lists and exports ---------------------------------------------------------------------------


def list_conversations(
    connection: Connection,
    filters: ConversationFilters,
    low_confidence: float,
    page_size: int,
    after: Optional[Cursor] = None,
) -> Page:
    rows = [
        dict(r._mapping)
        for r in connection.execute(_page_query(filters, low_confidence, after, page_size + 1))
    ]
    more = len(rows) > page_size
    rows = rows[:page_size]
    total = connection.execute(
        sa.select(sa.func.count()).select_from(_FROM).where(*_conditions(filters, low_confidence))
    ).scalar_one()
    next_cursor = Cursor(rows[-1]["last_active_at"], rows[-1]["sender_id"]) if more else None
    sender_ids = [r["sender_id"] for r in rows]
    return Page(
        rows=rows,
        total=total,
        next_cursor=next_cursor,
        intents=intents_of(connection, sender_ids),
        feedback=feedback_of(connection, sender_ids),
        tags=tags_of(connection, sender_ids),
    )


def iter_conversations(
    connection: Connection, filters: ConversationFilters, low_confidence: float, batch: int = 500
) -> Iterator[Dict[str, Any]]:
    """Every conversation matching ``filters``, newest first, ``batch`` rows in memory at a time."""
    after: Optional[Cursor] = None
    while True:
        rows = [
            dict(r._mapping) for r in connection.execute(_page_query(filters, low_confidence, after, batch))
        ]
        if not rows:
            return
        sender_ids = [r["sender_id"] for r in rows]
        names, given, labels = (
            intents_of(connection, sender_ids),
            feedback_of(connection, sender_ids),
            tags_of(connection, sender_ids),
        )
        after = Cursor(rows[-1]["last_active_at"], rows[-1]["sender_id"])
        for row in rows:
            counts = given.get(row["sender_id"], {})
            yield {
                **row,
                "intents": names.get(row["sender_id"], []),
                "feedback_up": counts.get("up", 0),
                "feedback_down": counts.get("down", 0),
                "tags": labels.get(row["sender_id"], []),
            }


def next_unreviewed(
    connection: Connection, filters: ConversationFilters, low_confidence: float, current: Optional[Cursor]
) -> Optional[str]:
    """The next conversation of the list (older than ``current``, else from the newest) that
    matches ``filters`` and is not reviewed; None when there is none."""
    unreviewed = sa.or_(reviews.c.reviewed.is_(None), reviews.c.reviewed.is_(False))
    for after in [current, None] if current else [None]:
        query = _page_query(filters, low_confidence, after, 1).where(unreviewed)
        if current is not None:
            query = query.where(summaries.c.sender_id != current.sender_id)
        row = connection.execute(query).first()
        if row is not None:
            return str(row.sender_id)
    return None


def intents_of(connection: Connection, sender_ids: List[str]) -> Dict[str, List[str]]:
    """Intents seen in each conversation, most frequent first."""
    if not sender_ids:
        return {}
    query = (
        sa.select(facets.c.sender_id, facets.c.value)
        .where(facets.c.kind == "intent", facets.c.sender_id.in_(sender_ids))
        .order_by(facets.c.sender_id, facets.c.count.desc(), facets.c.value)
    )
    result: Dict[str, List[str]] = {}
    for sender_id, value in connection.execute(query):
        result.setdefault(sender_id, []).append(value)
    return result


def feedback_of(connection: Connection, sender_ids: List[str]) -> Dict[str, Dict[str, int]]:
    """How many answers of each conversation visitors marked "up" and "down"."""
    if not sender_ids:
        return {}
    query = (
        sa.select(feedback.c.sender_id, feedback.c.value, sa.func.count())
        .where(feedback.c.sender_id.in_(sender_ids))
        .group_by(feedback.c.sender_id, feedback.c.value)
    )
    result: Dict[str, Dict[str, int]] = {}
    for sender_id, value, count in connection.execute(query):
        result.setdefault(sender_id, {})[value] = int(count)
    return result


def channels(connection: Connection) -> List[str]:
    query = sa.select(summaries.c.channel).where(summaries.c.channel != "").distinct()
    return sorted(connection.execute(query).scalars())


def summary(connection: Connection, sender_id: str) -> Optional[Dict[str, Any]]:
    """One conversation's summary with its review mark and note; None if there is none."""
    row = connection.execute(
        sa.select(*_COLUMNS, reviews.c.reviewed_by, reviews.c.reviewed_at, reviews.c.note_by)
        .select_from(_FROM)
        .where(summaries.c.sender_id == sender_id)
    ).first()
    return dict(row._mapping) if row else None


def known(connection: Connection, sender_ids: List[str]) -> Set[str]:
    """Those of ``sender_ids`` that have a summary (are in the log)."""
    return set(
        connection.execute(
            sa.select(summaries.c.sender_id).where(summaries.c.sender_id.in_(sender_ids))
        ).scalars()
    )


# -- events --------------------------------------------------------------------------------------


def events_of(connection: Connection, sender_ids: List[str]) -> Dict[str, StoredEvents]:
    """The stored events of conversations, in order, by conversation: (event id, event)."""
    found: Dict[str, StoredEvents] = {s: [] for s in sender_ids}
    if not sender_ids:
        return found
    rows = connection.execute(
        sa.select(events.c.sender_id, events.c.id, events.c.data)
        .where(events.c.sender_id.in_(sender_ids))
        .order_by(events.c.sender_id, events.c.id)
    )
    for sender_id, event_id, data in rows:
        found[sender_id].append((event_id, json.loads(data)))
    return found


def feedback_by_answer(connection: Connection, sender_ids: List[str]) -> Dict[str, Dict[str, str]]:
    """The widget's feedback in these conversations: answer id -> "up" or "down" (an empty
    dict for a conversation without any)."""
    found: Dict[str, Dict[str, str]] = defaultdict(dict)
    if sender_ids:
        rows = connection.execute(
            sa.select(feedback.c.sender_id, feedback.c.answer_id, feedback.c.value).where(
                feedback.c.sender_id.in_(sender_ids)
            )
        )
        for sender_id, answer_id, value in rows:
            found[sender_id][answer_id] = value
    return found


def event_data(connection: Connection, event_id: int, sender_id: Optional[str] = None) -> Optional[str]:
    """The stored JSON of one event (of conversation ``sender_id``, if given); None if there is
    no such event."""
    query = sa.select(events.c.data).where(events.c.id == event_id)
    if sender_id is not None:
        query = query.where(events.c.sender_id == sender_id)
    return connection.execute(query).scalar()


def stored_event(connection: Connection, event_id: int) -> Optional[Tuple[str, str]]:
    """(conversation, stored JSON) of one event; None if there is no such event."""
    row = connection.execute(
        sa.select(events.c.sender_id, events.c.data).where(events.c.id == event_id)
    ).first()
    return (row.sender_id, row.data) if row is not None else None


def user_message_senders(connection: Connection, event_ids: Iterable[int]) -> List[str]:
    """The conversations of the visitor messages among these event ids."""
    return list(
        connection.execute(
            sa.select(events.c.sender_id)
            .where(events.c.id.in_(set(event_ids)), events.c.type_name == "user")
            .distinct()
        ).scalars()
    )


def events_after(database_url: str, sender_id: str, after: int) -> StoredEvents:
    """The conversation's events stored after event id ``after``, in order: (id, event)."""
    with engine_for(database_url).connect() as connection:
        rows = connection.execute(
            sa.select(events.c.id, events.c.data)
            .where(events.c.sender_id == sender_id, events.c.id > after)
            .order_by(events.c.id)
        ).all()
    return [(int(row.id), json.loads(row.data)) for row in rows]


# -- the inbox of missed messages ----------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A conversation that may hold a missed message."""

    sender_id: str
    last_active_at: float
    channel: str


def candidate_batches(
    connection: Connection,
    filters: ConversationFilters,
    reasons: Sequence[str],
    below: float,
    batch: int = 200,
) -> Iterator[List[Candidate]]:
    """The conversations matching ``filters`` in which a miss of one of ``reasons`` (fallback,
    none_of_these, down, low: a best guess below ``below``) may be, from their summary; the
    most recently active first, ``batch`` at a time, each batch read when it is asked for."""
    s = summaries.c
    may_hold = {
        "fallback": s.nlu_fallback_count > 0,
        "none_of_these": s.none_of_these_count > 0,
        "down": sa.exists().where(feedback.c.sender_id == s.sender_id, feedback.c.value == "down"),
        "low": s.best_guess_confidence < below,
    }
    conditions = _conditions(filters, 0.0)
    conditions.append(sa.or_(*(may_hold[r] for r in reasons)))
    candidates = sa.select(summaries.c.sender_id, summaries.c.last_active_at, summaries.c.channel).where(
        *conditions
    )
    after: Optional[Cursor] = None
    while True:
        query = candidates
        if after is not None:
            query = query.where(_after(after))
        rows = connection.execute(
            query.order_by(summaries.c.last_active_at.desc(), summaries.c.sender_id.desc()).limit(batch)
        ).all()
        if not rows:
            return
        after = Cursor(rows[-1].last_active_at, rows[-1].sender_id)
        yield [Candidate(r.sender_id, r.last_active_at, r.channel) for r in rows]


# -- insights ------------------------------------------------------------------------------------


def _day(column: Any, dialect: str) -> Any:
    if dialect == "sqlite":
        return sa.func.date(column, "unixepoch")
    return sa.func.to_char(sa.func.to_timestamp(column), "YYYY-MM-DD")


def per_day(
    connection: Connection, filters: ConversationFilters, low_confidence: float
) -> List[Tuple[str, int, int]]:
    """(day the conversations started, UTC; how many; their visitor messages), by day."""
    day = _day(summaries.c.started_at, connection.dialect.name).label("day")
    rows = connection.execute(
        sa.select(day, sa.func.count(), sa.func.sum(summaries.c.user_messages))
        .select_from(_FROM)
        .where(*_conditions(filters, low_confidence))
        .group_by(day)
        .order_by(day)
    ).all()
    return [(d, int(c), int(m or 0)) for d, c, m in rows]


def totals(
    connection: Connection, filters: ConversationFilters, low_confidence: float
) -> Tuple[int, int, int, int, int]:
    """Conversations, visitor messages, fallbacks, disclosures and funding enquiries."""
    row = connection.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(summaries.c.user_messages), 0),
            sa.func.coalesce(sa.func.sum(summaries.c.fallback_count), 0),
            sa.func.coalesce(sa.func.sum(sa.case((summaries.c.disclosure.is_(True), 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((summaries.c.funding_enquiry.is_(True), 1), else_=0)), 0),
        )
        .select_from(_FROM)
        .where(*_conditions(filters, low_confidence))
    ).one()
    conversations, messages, fallbacks, disclosures, enquiries = (int(v) for v in row)
    return conversations, messages, fallbacks, disclosures, enquiries


def top_facets(
    connection: Connection, filters: ConversationFilters, low_confidence: float, kind: str, top: int
) -> List[Tuple[str, int]]:
    """The ``top`` values of a facet (intent, country) over the matching conversations, with
    how often they were seen."""
    matching = (
        sa.select(summaries.c.sender_id).select_from(_FROM).where(*_conditions(filters, low_confidence))
    )
    total = sa.func.sum(facets.c.count).label("total")
    query = (
        sa.select(facets.c.value, total)
        .where(facets.c.kind == kind, facets.c.sender_id.in_(matching))
        .group_by(facets.c.value)
        .order_by(total.desc(), facets.c.value)
        .limit(top)
    )
    return [(value, int(count)) for value, count in connection.execute(query)]


def funnel(
    connection: Connection, filters: ConversationFilters, low_confidence: float
) -> List[Tuple[str, int]]:
    """Conversations that reached each step of the funding conversation (FUNDING_STEPS)."""
    counts = connection.execute(
        sa.select(
            *(
                sa.func.coalesce(sa.func.sum(sa.case((summaries.c.funding_step >= step, 1), else_=0)), 0)
                for step in range(1, len(FUNDING_STEPS) + 1)
            )
        )
        .select_from(_FROM)
        .where(*_conditions(filters, low_confidence))
    ).one()
    return [(name, int(count)) for name, count in zip(FUNDING_STEPS, counts, strict=True)]


def language_counts(
    connection: Connection, filters: ConversationFilters, low_confidence: float
) -> Iterator[Tuple[float, Dict[str, List[int]]]]:
    """(start, {language: [typed messages, understood]}) of each matching conversation that
    counted its messages per language."""
    rows = connection.execute(
        sa.select(summaries.c.started_at, summaries.c.language_counts)
        .select_from(_FROM)
        .where(*_conditions(filters, low_confidence), summaries.c.language_counts.is_not(None))
    )
    for started_at, counts in rows:
        yield started_at, json.loads(counts)


def with_feedback(
    connection: Connection, filters: ConversationFilters, low_confidence: float, limit: int
) -> List[str]:
    """The ``limit`` most recently active matching conversations in which visitors gave
    feedback."""
    return list(
        connection.execute(
            sa.select(summaries.c.sender_id)
            .select_from(_FROM)
            .where(
                *_conditions(filters, low_confidence),
                sa.exists().where(feedback.c.sender_id == summaries.c.sender_id),
            )
            .order_by(summaries.c.last_active_at.desc())
            .limit(limit)
        ).scalars()
    )
