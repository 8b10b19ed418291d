"""Rasa's response generator in the conversation's language.

Configured in the endpoints files (``nlg: type: server.nlg.LocalisedNaturalLanguageGenerator``).
It runs in the Rasa server, like Rasa's default one, so every response (FAQ answers, forms,
fallbacks, and the responses the custom actions name) is answered in the visitor's language
without the action server. Each language has Rasa's own template generator (variables,
conditions, buttons), over that language's responses (:mod:`language.wording`).

It is a ``TemplatedNaturalLanguageGenerator`` because Rasa creates the generator before the
model is loaded, then hands such a generator the model's responses (``agent.py``: it sets
``responses``); setting them here builds the three languages' generators.

Each answer that states facts of the APT's sources also says which (``content/knowledge/sources.yml``):
the message gets a ``source`` field, which Rasa stores in the bot event's metadata and the
staff transcript shows; the chat channels send only the text and buttons to the visitor.

Each answer (:func:`language.answers.is_answer`) also gets an id, ``answer_id``, stored the
same way: the widget's socket channel sends it with the answer, and the visitor's "Was this
helpful?" names it (:mod:`language.answers`).
"""

from __future__ import annotations

from functools import cache
from typing import Any, Dict, List, Optional

import yaml
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from apt_settings import ROOT, settings
from language import LANGUAGES, conversation_language
from language.answers import ANSWER_ID, is_answer, new_answer_id
from language.wording import responses_in

Responses = Dict[str, List[Dict[str, Any]]]
SOURCES = ROOT / "content" / "knowledge" / "sources.yml"
SOURCE_KEY = "source"


@cache
def answer_sources() -> Dict[str, str]:
    """Response name -> the source it states ("FAQ: ...", "Profile: ...")."""
    groups = yaml.safe_load(SOURCES.read_text(encoding="utf-8")) or {}
    return {str(name): str(source) for group in groups.values() for name, source in group.items()}


class LocalisedNaturalLanguageGenerator(TemplatedNaturalLanguageGenerator):
    def __init__(
        self, endpoint_config: Optional[EndpointConfig] = None, domain: Optional[Domain] = None
    ) -> None:
        self._english: Responses = {}
        self.generators: Dict[str, TemplatedNaturalLanguageGenerator] = {}
        self._answer_key: Optional[bytes] = None
        super().__init__(dict((domain or Domain.empty()).responses))

    @property
    def responses(self) -> Responses:
        return self._english

    @responses.setter
    def responses(self, english: Responses) -> None:
        self._english = dict(english)
        self.generators = {
            language: TemplatedNaturalLanguageGenerator(responses_in(language, self._english))
            for language in LANGUAGES
        } if self._english else {}  # fmt: skip

    async def generate(
        self, utter_action: str, tracker: DialogueStateTracker, output_channel: str, **kwargs: Any
    ) -> Optional[Dict[str, Any]]:
        generator = self.generators.get(conversation_language(tracker.current_slot_values()))
        if generator is None:
            message = await super().generate(utter_action, tracker, output_channel, **kwargs)
        else:
            message = await generator.generate(utter_action, tracker, output_channel, **kwargs)
        if message is None:
            return None
        source = answer_sources().get(utter_action)
        if source:
            message[SOURCE_KEY] = source
        if is_answer(utter_action):
            message[ANSWER_ID] = new_answer_id(tracker.sender_id, self.answer_key())
        return message

    def answer_key(self) -> bytes:
        """The key of answer ids (the setting ``APT_SESSION_SECRET``), read once."""
        if self._answer_key is None:
            self._answer_key = settings().secret("session_secret").encode("ascii")
        return self._answer_key
