"""An NLU step that drops entity values no visitor's answer could be.

Entities become slots (``country``, ``organisation_type``...) and both are stored in the
conversation log and counted in the staff insights. DIET tags spans of whatever the visitor
typed, so a message such as ``inform{"country": "<svg onload=alert(1)>"}`` could give a
"country" made of markup. Here an entity value must look like a name or an answer: letters
(any script), digits, spaces and the punctuation of names (``.,'’()-&/``), at most
``MAX_VALUE_CHARS`` characters. Anything else is dropped before a slot is filled; the
visitor's message itself is kept as typed (and shown as text to staff).
"""

from __future__ import annotations

import unicodedata
from typing import Any, List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_VALUE
from rasa.shared.nlu.training_data.message import Message

from server.components.stateless import StatelessComponent

MAX_VALUE_CHARS = 100
NAME_PUNCTUATION = set(".,'’()-&/ ")


def plausible_value(value: Any) -> bool:
    """A value that could be a country, a region or an answer to the funding questions."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_VALUE_CHARS:
        return False
    return all(ch in NAME_PUNCTUATION or unicodedata.category(ch)[0] in ("L", "M", "N") for ch in value)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class EntityValueGuard(StatelessComponent):
    """Removes entities whose value is not a plausible name or answer."""

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            entities = message.get(ENTITIES) or []
            kept = [e for e in entities if plausible_value(e.get(ENTITY_ATTRIBUTE_VALUE))]
            if len(kept) != len(entities):
                message.set(ENTITIES, kept, add_to_output=True)
        return messages
