"""Every read of the conversation log the workspace makes, in one place.

The list, filters and exports read only the summary tables (indexed; pages are fetched by
keyset, "older than the last row shown", so page 2,000 costs what page 1 does); a transcript
reads one conversation's events through the ``sender_id`` index. The inbox, and the insights'
feedback and most-missed figures, read the events of the conversations whose summary says
they may hold a miss (a fallback, "None of these", a 👎, a low best guess), newest first, a
batch of conversations at a time, until they have enough (:func:`missed_messages`).
Times are UTC.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Set, Tuple

import sqlalchemy as sa

from review import misses
from storage.schema import (
    corrections,
    dismissals,
    events,
    facets,
    feedback,
    reviews,
    saved_filters,
    staff_decisions,
    summaries,
    tags,
)
from storage.summary import FUNDING_STEPS

FLAGS = {
    "disclosure": "Disclosure of torture or detention",
    "funding": "Funding enquiry",
    "fallback": "Fallback (not understood or out of scope)",
    "nlu_fallback": "Not understood (nlu_fallback)",
    "none_of_these": "Answered “None of these”",
    "unreviewed": "Not reviewed yet",
    "reviewed": "Reviewed",
}
FEEDBACK = {"any": "Any feedback", "up": "👍 helpful", "down": "👎 not helpful"}
# Test traffic: conversations over the REST channel, which the tests, the benchmark and curl
# use; visitors chat through the widget (socket.io). See docs/staff-workspace.md.
TEST_CHANNELS = ("rest",)
TRAFFIC = {"visitors": "Visitors only (no test traffic)", "test": "Test traffic only (REST channel)"}
LANGUAGES = {"en": "English", "fr": "French", "es": "Spanish"}
MAX_TAG_LENGTH = 64


def _day_arg(args: Mapping[str, str], name: str, label: str, errors: List[str]) -> Optional[date]:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors.append(f"{label} must be a date like 2026-11-23.")
        return None


def _confidence_arg(args: Mapping[str, str], name: str, label: str, errors: List[str]) -> Optional[float]:
    value = (args.get(name) or "").strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0.0 <= number <= 1.0:
        errors.append(f"{label} must be a number from 0 to 1, like 0.6.")
        return None
    return number


def _choice_arg(
    args: Mapping[str, str], name: str, choices: Iterable[str], errors: List[str], error: str
) -> str:
    value = (args.get(name) or "").strip()
    if value and value not in choices:
        errors.append(error)
        return ""
    return value


@dataclass(frozen=True)
class Filters:
    date_from: Optional[date] = None
    date_to: Optional[date] = None
    intent: str = ""
    flag: str = ""
    # The conversation's lowest best-guess confidence (storage.summary): below the fallback
    # threshold (``low_confidence``), or within [confidence_min, confidence_max].
    low_confidence: bool = False
    confidence_min: Optional[float] = None
    confidence_max: Optional[float] = None
    feedback: str = ""
    channel: str = ""
    traffic: str = ""
    language: str = ""
    tag: str = ""
    text: str = ""
    errors: Tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        """Filters from a query string; anything invalid is dropped and reported."""
        errors: List[str] = []
        return cls(
            date_from=_day_arg(args, "from", "From", errors),
            date_to=_day_arg(args, "to", "To", errors),
            intent=(args.get("intent") or "").strip()[:255],
            flag=_choice_arg(args, "flag", FLAGS, errors, "Unknown flag."),
            low_confidence=(args.get("low") or "") in ("1", "on", "true"),
            confidence_min=_confidence_arg(args, "conf_min", "The lowest confidence", errors),
            confidence_max=_confidence_arg(args, "conf_max", "The highest confidence", errors),
            feedback=_choice_arg(args, "feedback", FEEDBACK, errors, "Unknown feedback."),
            channel=(args.get("channel") or "").strip()[:64],
            traffic=_choice_arg(args, "traffic", TRAFFIC, errors, "Unknown kind of traffic."),
            language=_choice_arg(args, "language", LANGUAGES, errors, "Unknown language."),
            tag=(args.get("tag") or "").strip()[:MAX_TAG_LENGTH],
            text=(args.get("q") or "").strip()[:200],
            errors=tuple(errors),
        )

    def query_args(self) -> Dict[str, Any]:
        """The filters as query-string arguments (for pagination and export links)."""
        pairs: Dict[str, Any] = {
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "intent": self.intent,
            "flag": self.flag,
            "low": "1" if self.low_confidence else "",
            "conf_min": "" if self.confidence_min is None else f"{self.confidence_min:g}",
            "conf_max": "" if self.confidence_max is None else f"{self.confidence_max:g}",
            "feedback": self.feedback,
            "channel": self.channel,
            "traffic": self.traffic,
            "language": self.language,
            "tag": self.tag,
            "q": self.text,
        }
        return {k: v for k, v in pairs.items() if v}


def _epoch(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp()


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _conditions(filters: Filters, low_confidence: float) -> List[Any]:
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


def _page_query(filters: Filters, low_confidence: float, after: Optional[Cursor], limit: int) -> Any:
    query = sa.select(*_COLUMNS).select_from(_FROM).where(*_conditions(filters, low_confidence))
    if after is not None:
        query = query.where(_after(after))
    return query.order_by(summaries.c.last_active_at.desc(), summaries.c.sender_id.desc()).limit(limit)


def list_conversations(
    connection: Any, filters: Filters, low_confidence: float, page_size: int, after: Optional[Cursor] = None
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
    connection: Any, filters: Filters, low_confidence: float, batch: int = 500
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
    connection: Any, filters: Filters, low_confidence: float, current: Optional[Cursor]
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


def intents_of(connection: Any, sender_ids: List[str]) -> Dict[str, List[str]]:
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


def feedback_of(connection: Any, sender_ids: List[str]) -> Dict[str, Dict[str, int]]:
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


def tags_of(connection: Any, sender_ids: List[str]) -> Dict[str, List[str]]:
    if not sender_ids:
        return {}
    query = (
        sa.select(tags.c.sender_id, tags.c.tag).where(tags.c.sender_id.in_(sender_ids)).order_by(tags.c.tag)
    )
    result: Dict[str, List[str]] = {}
    for sender_id, tag in connection.execute(query):
        result.setdefault(sender_id, []).append(tag)
    return result


def all_tags(connection: Any) -> List[str]:
    return list(connection.execute(sa.select(tags.c.tag).distinct().order_by(tags.c.tag)).scalars())


def channels(connection: Any) -> List[str]:
    query = sa.select(summaries.c.channel).where(summaries.c.channel != "").distinct()
    return sorted(connection.execute(query).scalars())


def saved_filters_of(connection: Any, username: str) -> List[Dict[str, Any]]:
    rows = connection.execute(
        sa.select(saved_filters).where(saved_filters.c.username == username).order_by(saved_filters.c.name)
    )
    return [dict(r._mapping) for r in rows]


RECENT_DECISIONS = 10
RECENT_DAYS = 7


def recent_decisions(connection: Any, username: str) -> List[Dict[str, Any]]:
    """The staff member's latest decisions not undone (of the last RECENT_DAYS days), newest
    first, each with the visitor message it was about (the first, if several; read from the
    log, so gone once its conversation is)."""
    rows = connection.execute(
        sa.select(staff_decisions)
        .where(
            staff_decisions.c.username == username,
            staff_decisions.c.undone_at.is_(None),
            staff_decisions.c.made_at >= datetime.now(timezone.utc).timestamp() - RECENT_DAYS * 86400,
        )
        .order_by(staff_decisions.c.made_at.desc(), staff_decisions.c.id.desc())
        .limit(RECENT_DECISIONS)
    ).all()
    found = []
    for row in rows:
        record = json.loads(row.record)
        ids = [int(i) for i in record.get("event_ids") or record.get("previous") or []]
        example = None
        if ids:
            data = connection.execute(sa.select(events.c.data).where(events.c.id == min(ids))).scalar()
            example = str(json.loads(data).get("text") or "") if data else None
        found.append({"id": row.id, "made_at": row.made_at, "summary": row.summary, "example": example})
    return found


def summary(connection: Any, sender_id: str) -> Optional[Dict[str, Any]]:
    row = connection.execute(
        sa.select(*_COLUMNS, reviews.c.reviewed_by, reviews.c.reviewed_at, reviews.c.note_by)
        .select_from(_FROM)
        .where(summaries.c.sender_id == sender_id)
    ).first()
    return dict(row._mapping) if row else None


# -- one conversation ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One line of a transcript."""

    event_id: int
    kind: str  # user, bot, action, slot, session, form
    at: float
    text: str = ""
    intent: str = ""
    confidence: Optional[float] = None
    entities: Tuple[Tuple[str, str], ...] = ()
    buttons: Tuple[str, ...] = ()
    name: str = ""
    value: str = ""
    correction: str = ""
    # user: the model's own best guesses (without nlu_fallback), the message's language, what
    # the visitor answered to the second-chance offer after it.
    guesses: Tuple[Tuple[str, float], ...] = ()
    language: str = ""
    chose: str = ""
    # bot: the answer's source (metadata.source) and the visitor's feedback on it ("up", "down").
    source: str = ""
    feedback: str = ""
    # user: for a button's payload, the button's title as the visitor saw it.
    clicked: str = ""

    @property
    def typed(self) -> bool:
        return self.kind == "user" and not self.text.startswith("/")

    @property
    def best_guess(self) -> Optional[float]:
        return self.guesses[0][1] if self.guesses else None


# Payloads the widget sends itself, not from a button of the assistant's (web/src/chat.js).
WIDGET_PAYLOADS = {
    "/greet": "Opened the assistant (the widget asks for the greeting)",
    "/help": "Main questions (the widget's menu button)",
}


def with_button_titles(entries: List[Entry], stored: List[Tuple[int, Dict[str, Any]]]) -> List[Entry]:
    """Each visitor message that is a button's payload gets the title of that button as the
    assistant offered it, in the visitor's language (the latest offered with that payload);
    the widget's own payloads get a description."""
    titles: Dict[str, str] = {}
    offered: Dict[int, Dict[str, str]] = {}  # event id of a user message -> buttons offered before it
    for event_id, data in stored:
        if data.get("event") == "bot":
            for button in (data.get("data") or {}).get("buttons") or []:
                if isinstance(button, dict) and isinstance(button.get("payload"), str):
                    titles[button["payload"].strip()] = str(button.get("title") or "")
        elif data.get("event") == "user":
            offered[event_id] = dict(titles)
    found = []
    for entry in entries:
        if entry.kind == "user" and entry.text.startswith("/"):
            title = offered.get(entry.event_id, {}).get(entry.text.strip()) or WIDGET_PAYLOADS.get(
                entry.text.strip()
            )
            if title:
                entry = replace(entry, clicked=title)
        found.append(entry)
    return found


def _entry(event_id: int, data: Dict[str, Any], corrected: Dict[int, str]) -> Optional[Entry]:
    kind, at = data.get("event"), float(data.get("timestamp") or 0)
    if kind == "user":
        parse = data.get("parse_data") or {}
        intent = parse.get("intent") or {}
        return Entry(
            event_id,
            "user",
            at,
            text=str(data.get("text") or ""),
            intent=str(intent.get("name") or ""),
            confidence=intent.get("confidence"),
            entities=tuple((str(e.get("entity")), str(e.get("value"))) for e in parse.get("entities") or []),
            correction=corrected.get(event_id, ""),
        )
    if kind == "bot":
        buttons = tuple(str(b.get("title")) for b in (data.get("data") or {}).get("buttons") or [])
        source = (data.get("metadata") or {}).get("source")
        return Entry(
            event_id,
            "bot",
            at,
            text=str(data.get("text") or ""),
            buttons=buttons,
            source=source if isinstance(source, str) else "",
        )
    if kind == "action" and data.get("name") != "action_listen":
        return Entry(event_id, "action", at, name=str(data.get("name")))
    if kind == "slot":
        return Entry(event_id, "slot", at, name=str(data.get("name")), value=json.dumps(data.get("value")))
    if kind == "session_started":
        return Entry(event_id, "session", at)
    if kind == "active_loop":
        return Entry(event_id, "form", at, name=str(data.get("name") or "(form ended)"))
    return None


def _events(connection: Any, sender_ids: List[str]) -> Dict[str, List[Tuple[int, Dict[str, Any]]]]:
    """The stored events of conversations, in order, by conversation."""
    found: Dict[str, List[Tuple[int, Dict[str, Any]]]] = {s: [] for s in sender_ids}
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


def _feedback_by_answer(connection: Any, sender_ids: List[str]) -> Dict[str, Dict[str, str]]:
    """The widget's feedback in these conversations: answer id -> "up" or "down"."""
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


def transcript(connection: Any, sender_id: str) -> List[Entry]:
    """The conversation in order: messages with their NLU, the model's guesses, language and
    feedback, actions, slot changes, forms."""
    corrected = dict(
        connection.execute(
            sa.select(corrections.c.event_id, corrections.c.intent).where(
                corrections.c.sender_id == sender_id
            )
        ).all()
    )
    stored = _events(connection, [sender_id])[sender_id]
    given = _feedback_by_answer(connection, [sender_id])[sender_id]
    messages = {m.event_id: m for m in misses.read_messages(sender_id, stored, given)}
    entries: List[Entry] = []
    for event_id, data in stored:
        entry = _entry(event_id, data, corrected)
        if entry is None:
            continue
        message = messages.get(event_id)
        if message is not None:
            entry = replace(entry, guesses=message.guesses, language=message.language, chose=message.chose)
        elif entry.kind == "bot":
            entry = replace(entry, feedback=misses.feedback_on(event_id, data, given))
        entries.append(entry)
    return with_button_titles(entries, stored)


def conversation_messages(connection: Any, event_ids: Iterable[int]) -> List[misses.Message]:
    """The typed visitor messages with these event ids (for a decision on them), with their
    language and the model's guesses read from their conversations."""
    wanted = set(event_ids)
    if not wanted:
        return []
    sender_ids = list(
        connection.execute(
            sa.select(events.c.sender_id)
            .where(events.c.id.in_(wanted), events.c.type_name == "user")
            .distinct()
        ).scalars()
    )
    stored = _events(connection, sender_ids)
    given = _feedback_by_answer(connection, sender_ids)
    found = [
        message
        for sender_id in sender_ids
        for message in misses.read_messages(sender_id, stored[sender_id], given[sender_id])
        if message.event_id in wanted
    ]
    return sorted(found, key=lambda m: m.event_id)


def user_message(connection: Any, sender_id: str, event_id: int) -> Optional[Entry]:
    """One visitor message of one conversation."""
    row = connection.execute(
        sa.select(events.c.data).where(events.c.id == event_id, events.c.sender_id == sender_id)
    ).first()
    if row is None:
        return None
    entry = _entry(event_id, json.loads(row.data), {})
    return entry if entry is not None and entry.kind == "user" else None


# -- the inbox of missed messages ----------------------------------------------------------------


@dataclass(frozen=True)
class InboxFilters:
    reasons: Tuple[str, ...] = tuple(misses.REASONS)
    below: float = 0.6
    language: str = ""
    traffic: str = ""
    channel: str = ""
    date_from: Optional[date] = None
    date_to: Optional[date] = None
    errors: Tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args: Any, below: float) -> InboxFilters:
        """From a query string (``reason`` may repeat); without any ``reason``, every reason."""
        errors: List[str] = []
        asked = [r for r in (args.getlist("reason") if hasattr(args, "getlist") else []) if r]
        reasons = tuple(r for r in misses.REASONS if r in asked) or tuple(misses.REASONS)
        if any(r not in misses.REASONS for r in asked):
            errors.append("Unknown reason.")
        chosen = _confidence_arg(args, "below", "The confidence", errors)
        return cls(
            reasons=reasons,
            below=below if chosen is None else chosen,
            language=_choice_arg(args, "language", LANGUAGES, errors, "Unknown language."),
            traffic=_choice_arg(args, "traffic", TRAFFIC, errors, "Unknown kind of traffic."),
            channel=(args.get("channel") or "").strip()[:64],
            date_from=_day_arg(args, "from", "From", errors),
            date_to=_day_arg(args, "to", "To", errors),
            errors=tuple(errors),
        )

    def query_args(self) -> Dict[str, Any]:
        pairs: Dict[str, Any] = {
            "reason": list(self.reasons) if set(self.reasons) != set(misses.REASONS) else "",
            "below": f"{self.below:g}",
            "language": self.language,
            "traffic": self.traffic,
            "channel": self.channel,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
        }
        return {k: v for k, v in pairs.items() if v}


def _candidates(filters: InboxFilters) -> Any:
    """Conversations in which a miss of one of the filters' reasons may be (from their summary)."""
    s = summaries.c
    may_hold = {
        "fallback": s.nlu_fallback_count > 0,
        "none_of_these": s.none_of_these_count > 0,
        "down": sa.exists().where(feedback.c.sender_id == s.sender_id, feedback.c.value == "down"),
        "low": s.best_guess_confidence < filters.below,
    }
    conditions = _conditions(
        Filters(
            date_from=filters.date_from,
            date_to=filters.date_to,
            traffic=filters.traffic,
            channel=filters.channel,
        ),
        0.0,
    )
    conditions.append(sa.or_(*(may_hold[r] for r in filters.reasons)))
    return sa.select(summaries.c.sender_id, summaries.c.last_active_at, summaries.c.channel).where(
        *conditions
    )


def _handled(connection: Any, sender_ids: List[str]) -> Set[int]:
    """Messages of these conversations staff corrected or dismissed."""
    found: Set[int] = set()
    for table in (corrections, dismissals):
        found |= set(
            connection.execute(sa.select(table.c.event_id).where(table.c.sender_id.in_(sender_ids))).scalars()
        )
    return found


def missed_messages(
    connection: Any, filters: InboxFilters, limit: int, include_handled: bool = False, batch: int = 200
) -> Tuple[List[misses.Miss], bool]:
    """The newest misses (at least ``limit`` of them if there are as many), conversation by
    conversation from the most recently active; and whether there are more."""
    found: List[misses.Miss] = []
    after: Optional[Cursor] = None
    while len(found) < limit:
        query = _candidates(filters)
        if after is not None:
            query = query.where(_after(after))
        rows = connection.execute(
            query.order_by(summaries.c.last_active_at.desc(), summaries.c.sender_id.desc()).limit(batch)
        ).all()
        if not rows:
            return found, False
        after = Cursor(rows[-1].last_active_at, rows[-1].sender_id)
        sender_ids = [r.sender_id for r in rows]
        stored, given = _events(connection, sender_ids), _feedback_by_answer(connection, sender_ids)
        handled = set() if include_handled else _handled(connection, sender_ids)
        for row in rows:
            messages = misses.read_messages(row.sender_id, stored[row.sender_id], given[row.sender_id])
            found += [
                miss
                for miss in misses.misses(messages, filters.below, filters.reasons, row.channel)
                if miss.message.event_id not in handled
                and (not filters.language or miss.message.language == filters.language)
            ]
    return found, True


def inbox(connection: Any, filters: InboxFilters, limit: int) -> Tuple[List[misses.Group], bool]:
    """The open misses (not corrected, not dismissed), near duplicates grouped, newest first."""
    found, more = missed_messages(connection, filters, limit)
    return misses.group(found), more


# -- insights ------------------------------------------------------------------------------------


def _day(column: Any, dialect: str) -> Any:
    if dialect == "sqlite":
        return sa.func.date(column, "unixepoch")
    return sa.func.to_char(sa.func.to_timestamp(column), "YYYY-MM-DD")


def _utc_day(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=timezone.utc).strftime("%Y-%m-%d")


def funnel(connection: Any, conditions: List[Any]) -> List[Tuple[str, int]]:
    """Conversations that reached each step of the funding conversation (FUNDING_STEPS)."""
    counts = connection.execute(
        sa.select(
            *(
                sa.func.coalesce(sa.func.sum(sa.case((summaries.c.funding_step >= step, 1), else_=0)), 0)
                for step in range(1, len(FUNDING_STEPS) + 1)
            )
        )
        .select_from(_FROM)
        .where(*conditions)
    ).one()
    return [(name, int(count)) for name, count in zip(FUNDING_STEPS, counts, strict=True)]


def understood(connection: Any, conditions: List[Any]) -> Dict[str, Any]:
    """Typed visitor messages and how many were understood (not nlu_fallback), per day (the
    conversation's first day, UTC) and per language."""
    per_day: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    per_language: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    rows = connection.execute(
        sa.select(summaries.c.started_at, summaries.c.language_counts)
        .select_from(_FROM)
        .where(*conditions, summaries.c.language_counts.is_not(None))
    )
    for started_at, counts in rows:
        day = _utc_day(started_at)
        for language, (messages, understood_count) in json.loads(counts).items():
            for totals in (per_day[day], per_language[language]):
                totals[0] += messages
                totals[1] += understood_count

    def rows_of(totals: Dict[str, List[int]], keys: List[str]) -> List[Tuple[str, int, int]]:
        return [(key, totals[key][0], totals[key][1]) for key in keys]

    languages = [code for code in LANGUAGES if code in per_language] + sorted(
        set(per_language) - set(LANGUAGES)
    )
    return {"per_day": rows_of(per_day, sorted(per_day)), "per_language": rows_of(per_language, languages)}


def _answer_label(event: Dict[str, Any]) -> str:
    """What names an answer in the feedback figures: its source, else its response, else its start."""
    metadata = event.get("metadata") or {}
    for key in ("source", "utter_action"):
        if isinstance(metadata.get(key), str) and metadata[key]:
            return str(metadata[key])
    text = " ".join(str(event.get("text") or "").split())
    return text if len(text) <= 60 else text[:59] + "…"


def feedback_per_answer(
    connection: Any, conditions: List[Any], top: int, conversations: int = 2000
) -> List[Tuple[str, int, int]]:
    """(answer, 👍, 👎) for the answers visitors gave feedback on, most feedback first (over the
    ``conversations`` most recent conversations with feedback)."""
    sender_ids = list(
        connection.execute(
            sa.select(summaries.c.sender_id)
            .select_from(_FROM)
            .where(*conditions, sa.exists().where(feedback.c.sender_id == summaries.c.sender_id))
            .order_by(summaries.c.last_active_at.desc())
            .limit(conversations)
        ).scalars()
    )
    given = _feedback_by_answer(connection, sender_ids)
    counts: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    for sender_id, stored in _events(connection, sender_ids).items():
        for event_id, event in stored:
            if event.get("event") != "bot":
                continue
            value = misses.feedback_on(event_id, event, given[sender_id])
            if value:
                counts[_answer_label(event)][0 if value == "up" else 1] += 1
    ranked = sorted(counts.items(), key=lambda item: (-(item[1][0] + item[1][1]), item[0]))
    return [(label, up, down) for label, (up, down) in ranked[:top]]


def most_missed(
    connection: Any, filters: Filters, below: float, top: int, limit: int = 2000
) -> List[Tuple[str, int]]:
    """The questions most often missed (near duplicates counted together), with how often,
    over the newest ``limit`` misses of the period, handled or not."""
    period = InboxFilters(
        below=below,
        date_from=filters.date_from,
        date_to=filters.date_to,
        traffic=filters.traffic,
        channel=filters.channel,
    )
    found, _ = missed_messages(connection, period, limit, include_handled=True)
    groups = sorted(misses.group(found), key=lambda g: -len(g.misses))
    return [(g.newest.message.text, len(g.misses)) for g in groups[:top]]


def insights(connection: Any, filters: Filters, low_confidence: float, top: int = 15) -> Dict[str, Any]:
    """Figures for the insights page, over the conversations matching ``filters``."""
    dialect = connection.dialect.name
    conditions = _conditions(filters, low_confidence)
    day = _day(summaries.c.started_at, dialect).label("day")
    per_day = connection.execute(
        sa.select(day, sa.func.count(), sa.func.sum(summaries.c.user_messages))
        .select_from(_FROM)
        .where(*conditions)
        .group_by(day)
        .order_by(day)
    ).all()
    totals = connection.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(summaries.c.user_messages), 0),
            sa.func.coalesce(sa.func.sum(summaries.c.fallback_count), 0),
            sa.func.coalesce(sa.func.sum(sa.case((summaries.c.disclosure.is_(True), 1), else_=0)), 0),
            sa.func.coalesce(sa.func.sum(sa.case((summaries.c.funding_enquiry.is_(True), 1), else_=0)), 0),
        )
        .select_from(_FROM)
        .where(*conditions)
    ).one()
    matching = sa.select(summaries.c.sender_id).select_from(_FROM).where(*conditions)

    def top_values(kind: str) -> List[Tuple[str, int]]:
        total = sa.func.sum(facets.c.count).label("total")
        query = (
            sa.select(facets.c.value, total)
            .where(facets.c.kind == kind, facets.c.sender_id.in_(matching))
            .group_by(facets.c.value)
            .order_by(total.desc(), facets.c.value)
            .limit(top)
        )
        return [(value, int(count)) for value, count in connection.execute(query)]

    conversations, messages, fallbacks, disclosures, enquiries = (int(v) for v in totals)
    return {
        "days": [d for d, _, _ in per_day],
        "conversations_per_day": [int(c) for _, c, _ in per_day],
        "messages_per_day": [int(m or 0) for _, _, m in per_day],
        "top_intents": top_values("intent"),
        "countries": top_values("country"),
        "conversations": conversations,
        "messages": messages,
        "fallbacks": fallbacks,
        "fallback_rate": (fallbacks / messages) if messages else 0.0,
        "disclosures": disclosures,
        "enquiries": enquiries,
        "funnel": funnel(connection, conditions),
        "understood": understood(connection, conditions),
        "feedback": feedback_per_answer(connection, conditions, top),
        "missed": most_missed(connection, filters, low_confidence, top),
    }
