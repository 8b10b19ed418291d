"""Rasa's response generator in the conversation's language.

Configured in the endpoints files (``nlg: type: language.nlg.LocalisedNaturalLanguageGenerator``).
It runs in the Rasa server, like Rasa's default one, so every response (FAQ answers, forms,
fallbacks, and the responses the custom actions name) is answered in the visitor's language
without the action server. Each language has Rasa's own template generator (variables,
conditions, buttons), over that language's responses (:mod:`language.wording`).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from rasa.core.nlg.generator import NaturalLanguageGenerator
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from language import LANGUAGES, conversation_language
from language.wording import responses_in


class LocalisedNaturalLanguageGenerator(NaturalLanguageGenerator):
    def __init__(
        self, endpoint_config: Optional[EndpointConfig] = None, domain: Optional[Domain] = None
    ) -> None:
        english = dict((domain or Domain.empty()).responses)
        self.generators = {
            language: TemplatedNaturalLanguageGenerator(responses_in(language, english))
            for language in LANGUAGES
        }

    async def generate(
        self, utter_action: str, tracker: DialogueStateTracker, output_channel: str, **kwargs: Any
    ) -> Optional[Dict[str, Any]]:
        language = conversation_language(tracker.current_slot_values())
        return await self.generators[language].generate(utter_action, tracker, output_channel, **kwargs)
