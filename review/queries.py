"""What the workspace shows of the conversation log: filters from the query string, transcripts,
the inbox of missed messages, the insights' figures.

The queries are in ``storage/`` (one repository module per aggregate): the conversation log
in :mod:`storage.conversations`, what staff recorded in :mod:`storage.reviews`, corrections
in :mod:`storage.corrections`. This module puts what they return together: it parses the
filters of a page (:class:`Filters`, :class:`InboxFilters`), turns stored events into a
transcript's lines (:class:`Entry`), and reads the misses (:mod:`review.misses`) out of the
conversations that may hold one, a batch at a time, until it has enough
(:func:`missed_messages`). Times are UTC.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any, Dict, Iterable, List, Mapping, Optional, Set, Tuple

from review import misses
from storage import conversations, corrections, reviews
from storage.conversations import ConversationFilters, StoredEvents
from storage.database import Connection

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
TEST_CHANNELS = conversations.TEST_CHANNELS
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
class Filters(ConversationFilters):
    """The list's filters (:class:`storage.conversations.ConversationFilters`), from and to
    its query string, with what was wrong in it."""

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


RECENT_DECISIONS = 10
RECENT_DAYS = 7


def recent_decisions(connection: Connection, username: str) -> List[Dict[str, Any]]:
    """The staff member's latest decisions not undone (of the last RECENT_DAYS days), newest
    first, each with the visitor message it was about (the first, if several; read from the
    log, so gone once its conversation is)."""
    since = datetime.now(timezone.utc).timestamp() - RECENT_DAYS * 86400
    found = []
    for row in reviews.recent_decisions(connection, username, since, RECENT_DECISIONS):
        record = json.loads(row.record)
        ids = [int(i) for i in record.get("event_ids") or record.get("previous") or []]
        example = None
        if ids:
            data = conversations.event_data(connection, min(ids))
            example = str(json.loads(data).get("text") or "") if data else None
        found.append({"id": row.id, "made_at": row.made_at, "summary": row.summary, "example": example})
    return found


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


def with_button_titles(entries: List[Entry], stored: StoredEvents) -> List[Entry]:
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


def transcript(connection: Connection, sender_id: str) -> List[Entry]:
    """The conversation in order: messages with their NLU, the model's guesses, language and
    feedback, actions, slot changes, forms."""
    corrected = corrections.corrected_intents(connection, sender_id)
    stored = conversations.events_of(connection, [sender_id])[sender_id]
    given = conversations.feedback_by_answer(connection, [sender_id])[sender_id]
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


def conversation_messages(connection: Connection, event_ids: Iterable[int]) -> List[misses.Message]:
    """The typed visitor messages with these event ids (for a decision on them), with their
    language and the model's guesses read from their conversations."""
    wanted = set(event_ids)
    if not wanted:
        return []
    sender_ids = conversations.user_message_senders(connection, wanted)
    stored = conversations.events_of(connection, sender_ids)
    given = conversations.feedback_by_answer(connection, sender_ids)
    found = [
        message
        for sender_id in sender_ids
        for message in misses.read_messages(sender_id, stored[sender_id], given[sender_id])
        if message.event_id in wanted
    ]
    return sorted(found, key=lambda m: m.event_id)


def user_message(connection: Connection, sender_id: str, event_id: int) -> Optional[Entry]:
    """One visitor message of one conversation."""
    data = conversations.event_data(connection, event_id, sender_id)
    if data is None:
        return None
    entry = _entry(event_id, json.loads(data), {})
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


def _handled(connection: Connection, sender_ids: List[str]) -> Set[int]:
    """Messages of these conversations staff corrected or dismissed."""
    return corrections.corrected_in(connection, sender_ids) | reviews.dismissed_in(connection, sender_ids)


def missed_messages(
    connection: Connection, filters: InboxFilters, limit: int, include_handled: bool = False, batch: int = 200
) -> Tuple[List[misses.Miss], bool]:
    """The newest misses (at least ``limit`` of them if there are as many), conversation by
    conversation from the most recently active; and whether there are more."""
    found: List[misses.Miss] = []
    period = ConversationFilters(
        date_from=filters.date_from, date_to=filters.date_to, traffic=filters.traffic, channel=filters.channel
    )
    batches = conversations.candidate_batches(connection, period, filters.reasons, filters.below, batch)
    while len(found) < limit:
        rows = next(batches, None)
        if rows is None:
            return found, False
        sender_ids = [r.sender_id for r in rows]
        stored = conversations.events_of(connection, sender_ids)
        given = conversations.feedback_by_answer(connection, sender_ids)
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


def inbox(connection: Connection, filters: InboxFilters, limit: int) -> Tuple[List[misses.Group], bool]:
    """The open misses (not corrected, not dismissed), near duplicates grouped, newest first."""
    found, more = missed_messages(connection, filters, limit)
    return misses.group(found), more


# -- insights ------------------------------------------------------------------------------------


def _utc_day(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=timezone.utc).strftime("%Y-%m-%d")


def understood(connection: Connection, filters: ConversationFilters, low_confidence: float) -> Dict[str, Any]:
    """Typed visitor messages and how many were understood (not nlu_fallback), per day (the
    conversation's first day, UTC) and per language."""
    per_day: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    per_language: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    for started_at, counts in conversations.language_counts(connection, filters, low_confidence):
        day = _utc_day(started_at)
        for language, (messages, understood_count) in counts.items():
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
    connection: Connection, filters: ConversationFilters, low_confidence: float, top: int, latest: int = 2000
) -> List[Tuple[str, int, int]]:
    """(answer, 👍, 👎) for the answers visitors gave feedback on, most feedback first (over the
    ``latest`` most recent conversations with feedback)."""
    sender_ids = conversations.with_feedback(connection, filters, low_confidence, latest)
    given = conversations.feedback_by_answer(connection, sender_ids)
    counts: Dict[str, List[int]] = defaultdict(lambda: [0, 0])
    for sender_id, stored in conversations.events_of(connection, sender_ids).items():
        for event_id, event in stored:
            if event.get("event") != "bot":
                continue
            value = misses.feedback_on(event_id, event, given[sender_id])
            if value:
                counts[_answer_label(event)][0 if value == "up" else 1] += 1
    ranked = sorted(counts.items(), key=lambda item: (-(item[1][0] + item[1][1]), item[0]))
    return [(label, up, down) for label, (up, down) in ranked[:top]]


def most_missed(
    connection: Connection, filters: ConversationFilters, below: float, top: int, limit: int = 2000
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


def insights(
    connection: Connection, filters: Filters, low_confidence: float, top: int = 15
) -> Dict[str, Any]:
    """Figures for the insights page, over the conversations matching ``filters``."""
    per_day = conversations.per_day(connection, filters, low_confidence)
    count, messages, fallbacks, disclosures, enquiries = conversations.totals(
        connection, filters, low_confidence
    )
    return {
        "days": [d for d, _, _ in per_day],
        "conversations_per_day": [c for _, c, _ in per_day],
        "messages_per_day": [m for _, _, m in per_day],
        "top_intents": conversations.top_facets(connection, filters, low_confidence, "intent", top),
        "countries": conversations.top_facets(connection, filters, low_confidence, "country", top),
        "conversations": count,
        "messages": messages,
        "fallbacks": fallbacks,
        "fallback_rate": (fallbacks / messages) if messages else 0.0,
        "disclosures": disclosures,
        "enquiries": enquiries,
        "funnel": conversations.funnel(connection, filters, low_confidence),
        "understood": understood(connection, filters, low_confidence),
        "feedback": feedback_per_answer(connection, filters, low_confidence, top),
        "missed": most_missed(connection, filters, low_confidence, top),
    }
