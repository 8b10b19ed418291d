"""What the staff list shows of a conversation, computed from its stored (redacted) events.

Pure functions over event dictionaries (``Event.as_dict()``), merged batch by batch: the
tracker store only sees the events of the current save, and a conversation can span several
Rasa sessions.

A note on confidence: when the FallbackClassifier steps in, Rasa records the message's intent
as ``nlu_fallback`` at exactly the threshold (0.6), and the model's own ranking after it in
``parse_data.intent_ranking``. What the workspace calls the message's confidence is therefore
that of the model's best guess (:func:`guesses`), not the recorded ``nlu_fallback`` 0.6.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from storage.schema import SUMMARY_MAX_SEARCH_TEXT

# Messages the visitor got no real answer to: not understood (the FallbackClassifier's
# nlu_fallback) or recognised as outside what the assistant covers.
FALLBACK_INTENT = "nlu_fallback"
FALLBACK_INTENTS = frozenset({FALLBACK_INTENT, "out_of_scope"})
# The visitor's answer to the second-chance offer after a fallback: none of the guesses.
NONE_OF_THESE_INTENT = "none_of_these"
DISCLOSURE_INTENT = "disclose_abuse"
DISCLOSURE_SLOT = "disclosure_reported"
ENQUIRY_SLOT = "enquiry_status"
ENQUIRY_RECORDED = "recorded"
COUNTRY_SLOT = "country"
LANGUAGE_SLOT = "language"
DEFAULT_LANGUAGE = "en"
FIRST_MESSAGE_LENGTH = 200

# The funding conversation's steps (docs/funding.md), each marked by one stored event; a
# conversation's ``funding_step`` is the furthest it reached (1 to 5, 0: never offered).
FUNDING_STEPS = ("offered", "accepted", "fit assessed", "consented", "stored")


def funding_step_of(event: Dict[str, Any]) -> int:
    """The funding step an event marks (see FUNDING_STEPS), else 0: the offer's response ran;
    funding_form started (only a yes to the offer starts it); the fit was assessed (the slot
    partnership_fit set); enquiry_form started (only a yes to the consent question starts
    it); the enquiry was recorded (the slot enquiry_status set to "recorded")."""
    kind, name, value = event.get("event"), event.get("name"), event.get("value")
    if kind == "action" and name == "utter_offer_partnership_check":
        return 1
    if kind == "active_loop" and name == "funding_form":
        return 2
    if kind == "slot" and name == "partnership_fit" and value:
        return 3
    if kind == "active_loop" and name == "enquiry_form":
        return 4
    if kind == "slot" and name == ENQUIRY_SLOT and value == ENQUIRY_RECORDED:
        return 5
    return 0


def is_typed(text: str) -> bool:
    """A message the visitor typed, not a button's payload (``/intent{...}``)."""
    return bool(text) and not text.startswith("/")


def guesses(parse_data: Dict[str, Any], top: int = 3) -> List[Tuple[str, float]]:
    """The model's own best intents for a message, best first, without ``nlu_fallback``."""
    ranking = parse_data.get("intent_ranking") or []
    intent = parse_data.get("intent") or {}
    if not ranking and intent.get("name"):
        ranking = [intent]
    found: List[Tuple[str, float]] = []
    for entry in ranking:
        name, confidence = entry.get("name"), entry.get("confidence")
        if name and name != FALLBACK_INTENT and confidence is not None and name not in dict(found):
            found.append((str(name), float(confidence)))
    return sorted(found, key=lambda pair: -pair[1])[:top]


def best_guess_confidence(parse_data: Dict[str, Any]) -> Optional[float]:
    best = guesses(parse_data, top=1)
    return best[0][1] if best else None


def language_of(value: Any) -> Optional[str]:
    """A value of the slot ``language`` as stored (en, fr, es), else None."""
    return value[:8] if isinstance(value, str) and value else None


def message_languages(events: Sequence[Dict[str, Any]], language: Optional[str] = None) -> Dict[int, str]:
    """The language of each visitor message, by its position in ``events`` (a conversation
    from its start, or from where the language was ``language``): the slot ``language`` set
    after it and before the visitor's next message, else the language before it, else English."""
    found: Dict[int, str] = {}
    pending: Optional[int] = None
    for position, event in enumerate(events):
        kind = event.get("event")
        if kind == "user":
            if pending is not None:
                found[pending] = language or DEFAULT_LANGUAGE
            pending = position
        elif kind == "slot" and event.get("name") == LANGUAGE_SLOT and language_of(event.get("value")):
            language = language_of(event.get("value"))
    if pending is not None:
        found[pending] = language or DEFAULT_LANGUAGE
    return found


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
    first_message: Optional[str] = None
    best_guess_confidence: Optional[float] = None
    nlu_fallback_count: int = 0
    none_of_these_count: int = 0
    funding_step: int = 0
    # {language: [typed messages, understood]}; read from the row's JSON as stored.
    language_counts: Any = None
    language: Optional[str] = None
    intents: Counter = field(default_factory=Counter)
    countries: Counter = field(default_factory=Counter)

    def __post_init__(self) -> None:
        counts = self.language_counts
        if isinstance(counts, str):
            counts = json.loads(counts)
        object.__setattr__(self, "language_counts", {k: list(v) for k, v in (counts or {}).items()})

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
            "first_message": self.first_message,
            "best_guess_confidence": self.best_guess_confidence,
            "nlu_fallback_count": self.nlu_fallback_count,
            "none_of_these_count": self.none_of_these_count,
            "funding_step": self.funding_step,
            "language_counts": json.dumps(self.language_counts, sort_keys=True)
            if self.language_counts
            else None,
            "language": self.language,
        }


def _lowest(a: Optional[float], b: Optional[float]) -> Optional[float]:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None


def _count_language(summary: Summary, language: str, understood: bool) -> Summary:
    counts = {k: list(v) for k, v in summary.language_counts.items()}
    messages, understood_before = counts.get(language, [0, 0])
    counts[language] = [messages + 1, understood_before + understood]
    return replace(summary, language_counts=counts)


def summarise(
    sender_id: str, events: Iterable[Dict[str, Any]], previous: Optional[Summary] = None
) -> Summary:
    """``previous`` (the stored summary, if any) updated with a batch of new events.

    A typed message is counted in the language of its turn: the slot ``language`` set after
    it, before the visitor's next message, else the language before it, else English.
    """
    summary = previous
    texts = []
    pending: Optional[bool] = None  # the turn's typed message, not yet counted: understood?
    language = previous.language if previous else None
    for event in events:
        timestamp = float(event.get("timestamp") or 0.0)
        if summary is None:
            summary = Summary(sender_id=sender_id, started_at=timestamp, last_active_at=timestamp)
        kind = event.get("event")
        if kind == "user":
            if pending is not None:
                summary = _count_language(summary, language or DEFAULT_LANGUAGE, pending)
                pending = None
            parse_data = event.get("parse_data") or {}
            intent = parse_data.get("intent") or {}
            name = intent.get("name")
            confidence = intent.get("confidence")
            text = str(event.get("text") or "")
            intents = summary.intents.copy()
            if name:
                intents[name] += 1
            texts.append(text)
            typed = is_typed(text)
            if typed:
                pending = name != FALLBACK_INTENT
            summary = replace(
                summary,
                last_active_at=max(summary.last_active_at, timestamp),
                channel=summary.channel or str(event.get("input_channel") or ""),
                user_messages=summary.user_messages + 1,
                fallback_count=summary.fallback_count + (name in FALLBACK_INTENTS),
                nlu_fallback_count=summary.nlu_fallback_count + (name == FALLBACK_INTENT),
                none_of_these_count=summary.none_of_these_count + (name == NONE_OF_THESE_INTENT),
                lowest_confidence=_lowest(
                    summary.lowest_confidence, float(confidence) if confidence is not None else None
                ),
                best_guess_confidence=_lowest(
                    summary.best_guess_confidence, best_guess_confidence(parse_data) if typed else None
                ),
                first_message=summary.first_message
                or (" ".join(text.split())[:FIRST_MESSAGE_LENGTH] if typed else None),
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
            elif name == LANGUAGE_SLOT and language_of(value):
                language = language_of(value)
        step = funding_step_of(event)
        if step > summary.funding_step:
            summary = replace(summary, funding_step=step)
    if summary is None:
        raise ValueError("no events to summarise")
    if pending is not None:
        summary = _count_language(summary, language or DEFAULT_LANGUAGE, pending)
    if language or (summary.language is None and summary.user_messages):
        summary = replace(summary, language=language or DEFAULT_LANGUAGE)
    if texts:
        joined = "\n".join(t.lower() for t in ([summary.search_text] if summary.search_text else []) + texts)
        summary = replace(summary, search_text=joined[:SUMMARY_MAX_SEARCH_TEXT])
    return summary
