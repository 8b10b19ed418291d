"""What the staff list shows of a conversation, computed from its stored (redacted) events.

Pure functions over event dictionaries (``Event.as_dict()``), merged batch by batch: the
tracker store only sees the events of the current save, and a conversation can span several
Rasa sessions.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterable, Optional

from storage.schema import SUMMARY_MAX_SEARCH_TEXT

# Messages the visitor got no real answer to: not understood (the FallbackClassifier's
# nlu_fallback) or recognised as outside what the assistant covers.
FALLBACK_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
DISCLOSURE_INTENT = "disclose_abuse"
DISCLOSURE_SLOT = "disclosure_reported"
ENQUIRY_SLOT = "enquiry_status"
ENQUIRY_RECORDED = "recorded"
COUNTRY_SLOT = "country"


@dataclass(frozen=True)
class Summary:
    sender_id: str
    started_at: float
    last_active_at: float
    channel: str = ""
    user_messages: int = 0
    bot_messages: int = 0
    fallback_count: int = 0
    lowest_confidence: Optional[float] = None
    disclosure: bool = False
    funding_enquiry: bool = False
    search_text: str = ""
    intents: Counter = field(default_factory=Counter)
    countries: Counter = field(default_factory=Counter)

    def row(self) -> Dict[str, Any]:
        """The ``conversation_summaries`` row (facets are stored apart)."""
        return {
            "sender_id": self.sender_id,
            "started_at": self.started_at,
            "last_active_at": self.last_active_at,
            "channel": self.channel,
            "user_messages": self.user_messages,
            "bot_messages": self.bot_messages,
            "fallback_count": self.fallback_count,
            "lowest_confidence": self.lowest_confidence,
            "disclosure": self.disclosure,
            "funding_enquiry": self.funding_enquiry,
            "search_text": self.search_text,
        }


def _lowest(a: Optional[float], b: Optional[float]) -> Optional[float]:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None


def summarise(
    sender_id: str, events: Iterable[Dict[str, Any]], previous: Optional[Summary] = None
) -> Summary:
    """``previous`` (the stored summary, if any) updated with a batch of new events."""
    summary = previous
    texts = []
    for event in events:
        timestamp = float(event.get("timestamp") or 0.0)
        if summary is None:
            summary = Summary(sender_id=sender_id, started_at=timestamp, last_active_at=timestamp)
        kind = event.get("event")
        if kind == "user":
            intent = (event.get("parse_data") or {}).get("intent") or {}
            name = intent.get("name")
            confidence = intent.get("confidence")
            intents = summary.intents.copy()
            if name:
                intents[name] += 1
            texts.append(str(event.get("text") or ""))
            summary = replace(
                summary,
                last_active_at=max(summary.last_active_at, timestamp),
                channel=summary.channel or str(event.get("input_channel") or ""),
                user_messages=summary.user_messages + 1,
                fallback_count=summary.fallback_count + (name in FALLBACK_INTENTS),
                lowest_confidence=_lowest(
                    summary.lowest_confidence, float(confidence) if confidence is not None else None
                ),
                disclosure=summary.disclosure or name == DISCLOSURE_INTENT,
                intents=intents,
            )
        elif kind == "bot":
            summary = replace(
                summary,
                bot_messages=summary.bot_messages + 1,
                last_active_at=max(summary.last_active_at, timestamp),
            )
        elif kind == "slot":
            name, value = event.get("name"), event.get("value")
            if name == DISCLOSURE_SLOT and value is True:
                summary = replace(summary, disclosure=True)
            elif name == ENQUIRY_SLOT and value == ENQUIRY_RECORDED:
                summary = replace(summary, funding_enquiry=True)
            elif name == COUNTRY_SLOT and isinstance(value, str) and value:
                countries = summary.countries.copy()
                countries[value] += 1
                summary = replace(summary, countries=countries)
    if summary is None:
        raise ValueError("no events to summarise")
    if texts:
        joined = "\n".join(t.lower() for t in ([summary.search_text] if summary.search_text else []) + texts)
        summary = replace(summary, search_text=joined[:SUMMARY_MAX_SEARCH_TEXT])
    return summary
