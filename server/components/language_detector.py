"""An NLU step that tells Rasa which language the visitor writes in or asks for.

It adds entities that fill two slots (``domain.yml``), which the response generator reads
(:mod:`server.nlg`):

- ``language``: from an explicit request ("in French please", the language buttons' payloads
  carry it themselves), else from the message when the detector is sure of it
  (:mod:`language.detection`: Lingua and the training vocabulary, place names left out); a
  short or mixed message adds nothing, so the conversation keeps its language;
- ``page_language``: the language of the page the widget is on, from the message's metadata
  (``{"language": "fr"}``), used until the visitor's own messages settle it.

It learns the training vocabulary of each language at training time: the French and Spanish
training files say their language in each intent's metadata (``metadata: {language: fr}``),
the others are English. The vocabulary is kept with the model (``vocabulary.json``); a model
without it detects with Lingua alone.

Payload messages (``/intent{...}``) are left alone. It runs last in the pipeline, after the
entity guard, so that its values are the only ``language`` entities and the place entities
it ignores are the checked ones.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Tuple

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, METADATA, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from language import DEFAULT, LANGUAGE_SLOT, LANGUAGES, PAGE_LANGUAGE_SLOT, supported
from language.detection import Vocabulary, detect, preload, requested

logger = logging.getLogger(__name__)

EXTRACTOR = "LanguageDetector"
VOCABULARY_FILE = "vocabulary.json"
# Entities whose words are names of places, not of the visitor's language.
PLACE_ENTITIES = ("country", "region")


def _entity(name: str, value: str) -> Dict[str, Any]:
    return {
        "entity": name,
        "value": value,
        "start": 0,
        "end": 0,
        "confidence_entity": 1.0,
        "extractor": EXTRACTOR,
    }


def example_language(example: Message) -> str:
    """The language a training example is written in: its intent's metadata, else English."""
    metadata = example.get(METADATA) or {}
    declared = (metadata.get("intent") or {}).get("language") if isinstance(metadata, dict) else None
    return supported(declared) or DEFAULT


def place_spans(message: Message) -> List[Tuple[int, int]]:
    return [
        (int(e["start"]), int(e["end"]))
        for e in message.get(ENTITIES) or []
        if e.get("entity") in PLACE_ENTITIES
        and isinstance(e.get("start"), int)
        and isinstance(e.get("end"), int)
    ]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=True)
class LanguageDetector(GraphComponent):
    """Adds ``language`` and ``page_language`` entities (see the module's docstring)."""

    def __init__(
        self, model_storage: ModelStorage, resource: Resource, vocabulary: Optional[Vocabulary] = None
    ) -> None:
        self._model_storage = model_storage
        self._resource = resource
        self.vocabulary = vocabulary

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        self.vocabulary = Vocabulary.learnt_from(
            (example_language(example), example.get(TEXT) or "") for example in training_data.intent_examples
        )
        with self._model_storage.write_to(self._resource) as directory:
            (directory / VOCABULARY_FILE).write_text(json.dumps(self.vocabulary.counts), encoding="utf-8")
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> GraphComponent:
        """With the model (a server starting): the vocabulary, and Lingua's models too, so
        that a process is ready only once it can answer at once."""
        vocabulary = None
        try:
            with model_storage.read_from(resource) as directory:
                counts = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
            vocabulary = Vocabulary({code: dict(counts.get(code) or {}) for code in LANGUAGES})
        except (ValueError, OSError):
            logger.warning("The model has no training vocabulary: languages are detected by Lingua alone.")
        preload()
        return cls(model_storage, resource, vocabulary)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            entities = [
                e
                for e in message.get(ENTITIES) or []
                if e.get("entity") not in (LANGUAGE_SLOT, PAGE_LANGUAGE_SLOT)
            ]
            if not text.startswith("/"):
                chosen = requested(text) or detect(text, self.vocabulary, place_spans(message))
                if chosen:
                    entities.append(_entity(LANGUAGE_SLOT, chosen))
            page = supported((message.get(METADATA) or {}).get("language"))
            if page:
                entities.append(_entity(PAGE_LANGUAGE_SLOT, page))
            message.set(ENTITIES, entities, add_to_output=True)
        return messages
