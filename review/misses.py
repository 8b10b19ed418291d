"""Which visitor messages the assistant missed, read from a conversation's stored events.

Pure functions over ``(event id, event)`` pairs; :mod:`review.queries` reads the events and
the widget's feedback and hands them here. A *miss* is a message the visitor typed (not a
button's payload) that

- fell back: the FallbackClassifier recorded it as ``nlu_fallback``;
- was followed by "None of these", the visitor's answer to the second-chance offer the
  assistant makes after a fallback (``action_default_ask_affirmation``, whose buttons are the
  model's guesses); a guess chosen instead is shown beside the message;
- got an answer the visitor marked 👎 in the widget (``feedback``, where ``message_index`` is
  the answer's place among the assistant's messages of the conversation);
- or whose best guess, the model's best intent other than ``nlu_fallback``, had a confidence
  below the one staff chose.

Misses whose texts are near duplicates (same language, :func:`group`) are shown, and decided,
together.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from rapidfuzz import fuzz, process

from storage.summary import FALLBACK_INTENT, NONE_OF_THESE_INTENT, guesses, is_typed, message_languages

REASONS = {
    "fallback": "not understood (nlu_fallback)",
    "none_of_these": "“None of these”",
    "down": "answer marked not helpful (👎)",
    "low": "low confidence",
}
# What the assistant runs after a fallback to offer the model's guesses (and "None of these").
OFFER_ACTION = "action_default_ask_affirmation"
# Two normalised texts this similar (rapidfuzz's ratio, 0 to 100) are near duplicates.
NEAR_DUPLICATE = 85


@dataclass
class Message:
    """A typed visitor message, with what the conversation says about how it was understood."""

    event_id: int
    sender_id: str
    at: float
    text: str
    intent: str
    confidence: Optional[float]
    guesses: Tuple[Tuple[str, float], ...]
    language: str
    # The visitor's answer to the second-chance offer after it: an intent offered, or
    # "none_of_these"; "" when there was no offer or no answer.
    chose: str = ""
    # The visitor's feedback on the assistant's answers to it ("down" wins over "up").
    feedback: str = ""

    @property
    def best_guess(self) -> Optional[float]:
        return self.guesses[0][1] if self.guesses else None

    def reasons(self, below: float) -> Tuple[str, ...]:
        """Why this message is a miss (keys of REASONS), in that order; empty if it is not."""
        found = []
        if self.intent == FALLBACK_INTENT:
            found.append("fallback")
        if self.chose == NONE_OF_THESE_INTENT:
            found.append("none_of_these")
        if self.feedback == "down":
            found.append("down")
        if self.best_guess is not None and self.best_guess < below:
            found.append("low")
        return tuple(found)


def is_shown_answer(event: Mapping[str, Any]) -> bool:
    """A bot message the widget shows, and counts for feedback: one with text or buttons."""
    return bool(event.get("text") or (event.get("data") or {}).get("buttons"))


def read_messages(
    sender_id: str, events: Sequence[Tuple[int, Dict[str, Any]]], feedback: Mapping[int, str]
) -> List[Message]:
    """The typed visitor messages of one conversation (its events from the start, in order),
    with ``feedback`` (answer index -> "up" or "down") given to the answers to each."""
    languages = message_languages([event for _, event in events])
    messages: Dict[int, Message] = {}
    last: Optional[Message] = None  # the message the assistant is answering
    offered: Optional[Message] = None  # a fallback whose second-chance offer awaits an answer
    answer = 0
    for position, (event_id, event) in enumerate(events):
        kind = event.get("event")
        if kind == "user":
            parse_data = event.get("parse_data") or {}
            name = str((parse_data.get("intent") or {}).get("name") or "")
            text = str(event.get("text") or "")
            if is_typed(text):
                last = messages[event_id] = Message(
                    event_id=event_id,
                    sender_id=sender_id,
                    at=float(event.get("timestamp") or 0),
                    text=text,
                    intent=name,
                    confidence=(parse_data.get("intent") or {}).get("confidence"),
                    guesses=tuple(guesses(parse_data)),
                    language=languages.get(position, "en"),
                )
                offered = None
            elif offered is not None:
                offered.chose = name
                offered = None
        elif kind == "action" and event.get("name") == OFFER_ACTION and last is not None:
            offered = last if last.intent == FALLBACK_INTENT else None
        elif kind == "bot" and is_shown_answer(event):
            value = feedback.get(answer)
            if last is not None and value and last.feedback != "down":
                last.feedback = value
            answer += 1
    return list(messages.values())


def normalised(text: str) -> str:
    """Lower case, without accents, punctuation or repeated spaces: for near duplicates."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w\s]|_", " ", text).split())


@dataclass
class Miss:
    message: Message
    reasons: Tuple[str, ...]
    channel: str = ""


@dataclass
class Group:
    """Near-duplicate misses in one language, newest first."""

    language: str
    misses: List[Miss] = field(default_factory=list)

    @property
    def newest(self) -> Miss:
        return self.misses[0]

    @property
    def event_ids(self) -> List[int]:
        return [m.message.event_id for m in self.misses]

    @property
    def reasons(self) -> List[str]:
        return [r for r in REASONS if any(r in m.reasons for m in self.misses)]

    @property
    def guesses(self) -> List[Tuple[str, float]]:
        """The model's guesses for the newest message, then other intents guessed for the others."""
        found: Dict[str, float] = {}
        for miss in self.misses:
            for name, confidence in miss.message.guesses:
                found.setdefault(name, confidence)
        return list(found.items())

    @property
    def chosen(self) -> List[str]:
        """What visitors chose from the second-chance offer (not "None of these")."""
        return sorted(
            {m.message.chose for m in self.misses if m.message.chose not in ("", NONE_OF_THESE_INTENT)}
        )

    @property
    def texts(self) -> List[str]:
        seen: List[str] = []
        for miss in self.misses:
            if miss.message.text not in seen:
                seen.append(miss.message.text)
        return seen


def misses(
    messages: Iterable[Message], below: float, reasons: Iterable[str], channel: str = ""
) -> List[Miss]:
    """The messages missed for one of ``reasons``, each with all its reasons."""
    wanted = set(reasons)
    found = []
    for message in messages:
        why = message.reasons(below)
        if wanted & set(why):
            found.append(Miss(message, why, channel))
    return found


def group(found: Iterable[Miss]) -> List[Group]:
    """Misses grouped when their texts are near duplicates in the same language; groups (and
    the misses in each) newest first."""
    groups: List[Group] = []
    keys: Dict[str, List[str]] = {}
    members: Dict[str, List[Group]] = {}
    for miss in sorted(found, key=lambda m: -m.message.at):
        language, key = miss.message.language, normalised(miss.message.text)
        choices = keys.setdefault(language, [])
        match = (
            process.extractOne(key, choices, scorer=fuzz.ratio, score_cutoff=NEAR_DUPLICATE) if key else None
        )
        if match is not None:
            members[language][match[2]].misses.append(miss)
            continue
        new = Group(language, [miss])
        groups.append(new)
        choices.append(key)
        members.setdefault(language, []).append(new)
    return groups
