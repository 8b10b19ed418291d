"""Which visitor messages the assistant missed, read from a conversation's stored events.

Pure functions over ``(event id, event)`` pairs; :mod:`review.queries` reads the events and
the widget's feedback (through :mod:`storage.conversations`) and hands them here. A *miss*
is a message the visitor typed (not a button's payload) that

- fell back: the FallbackClassifier recorded it as ``nlu_fallback``;
- was followed by "None of these", the visitor's answer to the second-chance offer the
  assistant makes after a fallback (``action_default_ask_affirmation``, whose buttons are the
  model's guesses); a guess chosen instead is shown beside the message;
- got an answer the visitor marked 👎 in the widget (``feedback``, which names the answer by
  the id its stored bot event carries, :func:`feedback_on`);
- or whose best guess, the model's best intent other than ``nlu_fallback``, had a confidence
  below the one staff chose.

Misses whose texts are the same (once lower-cased, without accents or punctuation), in any
language, or near duplicates in the same language (:func:`group`) are shown, and decided,
together.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from rapidfuzz import fuzz, process

from language import LANGUAGES
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


# Feedback given before answers had ids names the stored bot message it was shown on by its
# row in ``events`` (storage/migrations/versions/0004_feedback_answer_ids.py).
EVENT_ANSWER_PREFIX = "event-"


def feedback_on(event_id: int, event: Mapping[str, Any], feedback: Mapping[str, str]) -> str:
    """The visitor's feedback ("up", "down" or "") on a stored bot message, from
    ``feedback`` (answer id -> value): by the answer id in its metadata, else by its row."""
    answer_id = (event.get("metadata") or {}).get("answer_id")
    if isinstance(answer_id, str) and answer_id in feedback:
        return feedback[answer_id]
    return feedback.get(f"{EVENT_ANSWER_PREFIX}{event_id}", "")


def read_messages(
    sender_id: str, events: Sequence[Tuple[int, Dict[str, Any]]], feedback: Mapping[str, str]
) -> List[Message]:
    """The typed visitor messages of one conversation (its events from the start, in order),
    with ``feedback`` (answer id -> "up" or "down") given to the answers to each."""
    languages = message_languages([event for _, event in events])
    messages: Dict[int, Message] = {}
    last: Optional[Message] = None  # the message the assistant is answering
    offered: Optional[Message] = None  # a fallback whose second-chance offer awaits an answer
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
        elif kind == "bot":
            value = feedback_on(event_id, event, feedback)
            if last is not None and value and last.feedback != "down":
                last.feedback = value
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
    """Misses with the same text (in any language) or near-duplicate texts (in one language),
    newest first."""

    misses: List[Miss] = field(default_factory=list)

    @property
    def languages(self) -> List[str]:
        found = {m.message.language for m in self.misses}
        return [code for code in LANGUAGES if code in found] + sorted(found - set(LANGUAGES))

    @property
    def language(self) -> str:
        return ", ".join(self.languages)

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
    """Misses grouped: first those whose normalised texts are the same, whatever their
    language (a visitor's language is detected, and the same words may be tagged English in one
    conversation and French in another); then those near duplicates of each other (RapidFuzz's
    ratio, NEAR_DUPLICATE) in a language they share. Groups, and the misses in each, newest
    first."""
    same: Dict[str, Group] = {}
    for miss in sorted(found, key=lambda m: -m.message.at):
        key = normalised(miss.message.text) or f"\0{miss.message.event_id}"  # no words: alone
        same.setdefault(key, Group()).misses.append(miss)
    groups: List[Group] = []
    keys: List[Tuple[str, int]] = []  # the texts matched against, with their group
    for key, bucket in same.items():  # newest first
        languages = set(bucket.languages)
        choices = [(text, index) for text, index in keys if languages & set(groups[index].languages)]
        match = None
        if not key.startswith("\0") and choices:
            match = process.extractOne(
                key, [text for text, _ in choices], scorer=fuzz.ratio, score_cutoff=NEAR_DUPLICATE
            )
        if match is None:
            groups.append(bucket)
            keys.append((key, len(groups) - 1))
            continue
        target = groups[choices[match[2]][1]]
        target.misses = sorted(target.misses + bucket.misses, key=lambda m: -m.message.at)
        keys.append((key, choices[match[2]][1]))
    return groups
