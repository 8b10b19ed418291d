"""Every read of the conversation log the workspace makes, in one place.

The list, filters and exports read only the summary tables (indexed; pages are fetched by
keyset, "older than the last row shown", so page 2,000 costs what page 1 does); a transcript
reads one conversation's events through the ``sender_id`` index. Times are UTC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import sqlalchemy as sa

from storage.schema import corrections, events, facets, reviews, summaries

FLAGS = {
    "disclosure": "Disclosure of torture or detention",
    "funding": "Funding enquiry",
    "fallback": "Fallback (not understood or out of scope)",
    "unreviewed": "Not reviewed yet",
    "reviewed": "Reviewed",
}


@dataclass(frozen=True)
class Filters:
    date_from: Optional[date] = None
    date_to: Optional[date] = None
    intent: str = ""
    flag: str = ""
    low_confidence: bool = False
    text: str = ""
    errors: Tuple[str, ...] = ()

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        """Filters from a query string; anything invalid is dropped and reported."""
        errors: List[str] = []

        def day(name: str, label: str) -> Optional[date]:
            value = (args.get(name) or "").strip()
            if not value:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError:
                errors.append(f"{label} must be a date like 2026-11-23.")
                return None

        flag = (args.get("flag") or "").strip()
        if flag and flag not in FLAGS:
            errors.append("Unknown flag.")
            flag = ""
        return cls(
            date_from=day("from", "From"),
            date_to=day("to", "To"),
            intent=(args.get("intent") or "").strip()[:255],
            flag=flag,
            low_confidence=(args.get("low") or "") in ("1", "on", "true"),
            text=(args.get("q") or "").strip()[:200],
            errors=tuple(errors),
        )

    def query_args(self) -> Dict[str, str]:
        """The filters as query-string arguments (for pagination and export links)."""
        pairs = {
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "intent": self.intent,
            "flag": self.flag,
            "low": "1" if self.low_confidence else "",
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
    elif filters.flag == "reviewed":
        conditions.append(reviews.c.reviewed.is_(True))
    elif filters.flag == "unreviewed":
        conditions.append(sa.or_(reviews.c.reviewed.is_(None), reviews.c.reviewed.is_(False)))
    if filters.low_confidence:
        conditions.append(s.lowest_confidence < low_confidence)
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


def _page_query(filters: Filters, low_confidence: float, after: Optional[Cursor], limit: int) -> Any:
    query = sa.select(*_COLUMNS).select_from(_FROM).where(*_conditions(filters, low_confidence))
    if after is not None:
        query = query.where(
            sa.or_(
                summaries.c.last_active_at < after.last_active_at,
                sa.and_(
                    summaries.c.last_active_at == after.last_active_at,
                    summaries.c.sender_id < after.sender_id,
                ),
            )
        )
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
    return Page(
        rows=rows,
        total=total,
        next_cursor=next_cursor,
        intents=intents_of(connection, [r["sender_id"] for r in rows]),
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
        names = intents_of(connection, [r["sender_id"] for r in rows])
        after = Cursor(rows[-1]["last_active_at"], rows[-1]["sender_id"])
        for row in rows:
            yield {**row, "intents": names.get(row["sender_id"], [])}


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


def summary(connection: Any, sender_id: str) -> Optional[Dict[str, Any]]:
    row = connection.execute(
        sa.select(*_COLUMNS, reviews.c.reviewed_by, reviews.c.reviewed_at, reviews.c.note_by)
        .select_from(_FROM)
        .where(summaries.c.sender_id == sender_id)
    ).first()
    return dict(row._mapping) if row else None


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
        return Entry(event_id, "bot", at, text=str(data.get("text") or ""), buttons=buttons)
    if kind == "action" and data.get("name") != "action_listen":
        return Entry(event_id, "action", at, name=str(data.get("name")))
    if kind == "slot":
        return Entry(event_id, "slot", at, name=str(data.get("name")), value=json.dumps(data.get("value")))
    if kind == "session_started":
        return Entry(event_id, "session", at)
    if kind == "active_loop":
        return Entry(event_id, "form", at, name=str(data.get("name") or "(form ended)"))
    return None


def transcript(connection: Any, sender_id: str) -> List[Entry]:
    """The conversation in order: messages with their NLU, actions, slot changes, forms."""
    corrected = dict(
        connection.execute(
            sa.select(corrections.c.event_id, corrections.c.intent).where(
                corrections.c.sender_id == sender_id
            )
        ).all()
    )
    rows = connection.execute(
        sa.select(events.c.id, events.c.data).where(events.c.sender_id == sender_id).order_by(events.c.id)
    )
    entries = (_entry(event_id, json.loads(data), corrected) for event_id, data in rows)
    return [e for e in entries if e is not None]


def user_message(connection: Any, sender_id: str, event_id: int) -> Optional[Entry]:
    """One visitor message of one conversation (for corrections)."""
    row = connection.execute(
        sa.select(events.c.data).where(events.c.id == event_id, events.c.sender_id == sender_id)
    ).first()
    if row is None:
        return None
    entry = _entry(event_id, json.loads(row.data), {})
    return entry if entry is not None and entry.kind == "user" else None


def _day(column: Any, dialect: str) -> Any:
    if dialect == "sqlite":
        return sa.func.date(column, "unixepoch")
    return sa.func.to_char(sa.func.to_timestamp(column), "YYYY-MM-DD")


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
    }
