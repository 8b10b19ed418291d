"""A stored bot message as a reply: its response, its labels, and the language it is in.

**Which language a reply is in.** First, by its words: the reply's text is matched against
the response's text in each language (``domain.yml`` for English, ``wording/fr.yml`` and
``wording/es.yml`` as written, without the English that fills a missing translation), with
every ``{variable}`` matching anything; when exactly one language's wording matches, that is
the reply's language. A response whose text is nothing but a variable (``{opcat_text}``),
or reads the same in several languages, cannot tell: then the language is the one the
assistant chose for it, the conversation's language from the ``language`` and
``page_language`` slots at that point of the stored conversation (replayed from the slot
events), which is how ``server/nlg.py`` picks the wording and the actions pick the
knowledge base. Each reply records which of the two told (``language_by``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Dict, List, Optional, Pattern

from benchmark.blind.blindset import LANGUAGES
from benchmark.blind.labels import labels_of
from benchmark.blind.names import Names
from language import LANGUAGE_SLOT, PAGE_LANGUAGE_SLOT, conversation_language
from language.wording import WORDING, english_responses, load_translation

PLACEHOLDER = re.compile(r"\{(\w+)\}")
# What the event's metadata holds besides the response's variables.
NOT_VALUES = {"utter_action", "source", "template_name", "response_ids", "json_message", "template"}
RESETS = {"session_started", "restart", "reset_slots"}


def _pattern(text: str) -> Pattern[str]:
    """A response's text as a pattern: its words as written (any spacing), each variable
    anything."""
    parts = PLACEHOLDER.split(text.replace("{{", "{").replace("}}", "}"))
    pieces = []
    for index, part in enumerate(parts):
        if index % 2:
            pieces.append("(?:.*?)")
        else:
            pieces.append(r"\s*".join(re.escape(word) for word in part.split()))
    return re.compile(r"\s*" + r"\s*".join(piece for piece in pieces if piece) + r"\s*", re.DOTALL)


class Wording:
    """Each response's texts in each language, as patterns."""

    @cached_property
    def _patterns(self) -> Dict[str, Dict[str, List[Pattern[str]]]]:
        patterns: Dict[str, Dict[str, List[Pattern[str]]]] = {}
        for language in LANGUAGES:
            responses = (
                english_responses() if language == "en" else load_translation(WORDING / f"{language}.yml")
            )
            patterns[language] = {
                name: [_pattern(str(v["text"])) for v in variations if v.get("text")]
                for name, variations in responses.items()
            }
        return patterns

    def languages_of(self, response: str, text: str) -> List[str]:
        """The languages whose wording of ``response`` reads as ``text``."""
        if not text.strip():
            return []
        return [
            language
            for language in LANGUAGES
            if any(p.fullmatch(text) for p in self._patterns[language].get(response, []))
        ]


@dataclass
class Reply:
    response: Optional[str]
    text: str
    language: str
    language_by: str  # "wording" or "slots" (see the module's docstring)
    labels: List[str]
    buttons: List[Dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return {
            "response": self.response,
            "labels": self.labels,
            "language": self.language,
            "language_by": self.language_by,
            "text": self.text,
            "buttons": [button.get("title") for button in self.buttons],
        }


class Transcript:
    """Reads a conversation's stored events in order, keeping its slots, and turns each bot
    event into a :class:`Reply`."""

    def __init__(self, names: Names, wording: Wording) -> None:
        self.names = names
        self.wording = wording
        self.slots: Dict[str, Any] = {}

    def language(self) -> str:
        return conversation_language(self.slots)

    def read(self, events: List[Dict[str, Any]]) -> List[Reply]:
        replies = []
        for event in events:
            kind = event.get("event")
            if kind in RESETS:
                self.slots = {}
            elif kind == "slot" and event.get("name") in (LANGUAGE_SLOT, PAGE_LANGUAGE_SLOT):
                self.slots[str(event["name"])] = event.get("value")
            elif kind == "bot":
                replies.append(self.reply(event))
        return replies

    def reply(self, event: Dict[str, Any]) -> Reply:
        metadata = dict(event.get("metadata") or {})
        response = metadata.get("utter_action")
        text = str(event.get("text") or "")
        buttons = list((event.get("data") or {}).get("buttons") or [])
        values = {k: v for k, v in metadata.items() if k not in NOT_VALUES}
        told = self.wording.languages_of(response, text) if response else []
        if len(told) == 1:
            language, by = told[0], "wording"
        else:
            language, by = self.language(), "slots"
        labels = labels_of(response, values, buttons, self.names)
        return Reply(response, text, language, by, labels, buttons)
