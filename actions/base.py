"""The seam between rasa-sdk actions and the knowledge base."""

from __future__ import annotations

import abc
import re
from typing import Any, List, Optional, Tuple

from rasa_sdk import Action, Tracker

from actions.countries import PlaceResolver, resolver_for
from content.knowledge import KnowledgeBase, load_knowledge_base
from content.knowledge_languages import knowledge_in
from language import conversation_language


class KnowledgeAction(Action, abc.ABC):
    """An action that answers from the knowledge base.

    rasa-sdk instantiates every concrete action with no arguments when the action server
    starts, so the defaults load (and validate) the process-wide knowledge base then: a
    broken knowledge base stops the server at start. Tests pass their own.
    """

    def __init__(
        self,
        knowledge: Optional[KnowledgeBase] = None,
        places: Optional[PlaceResolver] = None,
    ) -> None:
        self.knowledge = knowledge or load_knowledge_base()
        self.places = places or resolver_for(self.knowledge)

    def knowledge_for(self, tracker: Tracker) -> KnowledgeBase:
        """The knowledge base in the conversation's language (the project's own has French
        and Spanish translations; a test's knowledge base is used as it is)."""
        if self.knowledge is not load_knowledge_base():
            return self.knowledge
        return knowledge_in(conversation_language(tracker.slots))

    @abc.abstractmethod
    def name(self) -> str:
        """Abstract here so that rasa-sdk skips the shared base classes."""


def latest_intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def latest_text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def entity_values(tracker: Tracker, entity: str) -> List[str]:
    """Values of one entity type in the latest message, as strings, in order."""
    values: List[Any] = [
        e.get("value") for e in tracker.latest_message.get("entities") or [] if e.get("entity") == entity
    ]
    return [str(v) for v in values if v]


# "not Benin", "pas au Bénin", "no en Bolivia", "instead of Benin": a country named only to be
# corrected ("we are based in Togo, not Benin", "not Kenya, Uganda").
NEGATED = re.compile(
    r"\b(?:not|pas|non|no|ni|instead\s+of|rather\s+than|au\s+lieu\s+du?|en\s+(?:lugar|vez)\s+de)"
    r"\s+(?:(?:in|from|en|au|aux|du|de|des|à|a|the|le|la|les|el|los|las|d')\s*){0,2}$",
    re.IGNORECASE,
)


def country_mentions(tracker: Tracker) -> Tuple[List[str], List[str]]:
    """The country names the latest message states, and those it names only to negate."""
    text = tracker.latest_message.get("text") or ""
    stated: List[str] = []
    negated: List[str] = []
    for entity in tracker.latest_message.get("entities") or []:
        value = entity.get("value")
        if entity.get("entity") != "country" or not value:
            continue
        before = text[: int(entity.get("start") or 0)]
        (negated if NEGATED.search(before) else stated).append(str(value))
    return stated, negated
