"""An NLU step that tells Rasa which language the visitor writes in or asks for.

It adds entities that fill two slots (``domain.yml``), which the response generator reads
(:mod:`language.nlg`):

- ``language``: from an explicit request ("in French please", the language buttons' payloads
  carry it themselves), else from the message when Lingua is sure of it; a short or mixed
  message adds nothing, so the conversation keeps its language;
- ``page_language``: the language of the page the widget is on, from the message's metadata
  (``{"language": "fr"}``), used until the visitor's own messages settle it.

Payload messages (``/intent{...}``) are left alone. It runs last in the pipeline, after the
entity guard, so that its values are the only ``language`` entities.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message

from components.stateless import StatelessComponent
from language import LANGUAGE_SLOT, PAGE_LANGUAGE_SLOT, supported
from language.detection import detect, requested

EXTRACTOR = "LanguageDetector"


def _entity(name: str, value: str) -> Dict[str, Any]:
    return {
        "entity": name,
        "value": value,
        "start": 0,
        "end": 0,
        "confidence_entity": 1.0,
        "extractor": EXTRACTOR,
    }


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class LanguageDetector(StatelessComponent):
    """Adds ``language`` and ``page_language`` entities (see the module's docstring)."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            entities = [
                e
                for e in message.get(ENTITIES) or []
                if e.get("entity") not in (LANGUAGE_SLOT, PAGE_LANGUAGE_SLOT)
            ]
            if not text.startswith("/"):
                chosen: Optional[str] = requested(text) or detect(text)
                if chosen:
                    entities.append(_entity(LANGUAGE_SLOT, chosen))
            page = supported((message.get(METADATA) or {}).get("language"))
            if page:
                entities.append(_entity(PAGE_LANGUAGE_SLOT, page))
            message.set(ENTITIES, entities, add_to_output=True)
        return messages
