"""The second chance after a message the model is unsure of, instead of a dead end.

Rasa's two-stage fallback asks the visitor to confirm what the model guessed, as Rasa's
reference assistant does: this replaces Rasa's default ``action_default_ask_affirmation``
(one "Did you mean 'ask_budget'?") with the two or three most likely questions, labelled in
the visitor's language, plus "None of these". A rule runs it on ``nlu_fallback``; it is not
Rasa's ``action_two_stage_fallback`` loop, whose "no" asks to rephrase and offers again:

- a choice is an ordinary message (``/ask_budget``, with the original message's places as
  entities) that the rules answer as if it had been typed;
- "None of these" (``/none_of_these``) gets an honest answer with the APT's address
  (``action_none_of_these``) and nothing more is offered;
- a second unclear message right after an offer gets the plain fallback answer, never a
  second offer: the offer cannot loop;
- an unclear message that is only a place ("Afrique", "Rangoon") gets that place's answer.

The offer, its buttons and the visitor's choice are ordinary events of the conversation, so
staff see what was offered and chosen; the bot message's metadata also lists the intents
offered (``offered``) and their confidences.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence, Tuple

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction
from actions.countries import PlaceResolver
from actions.country_questions import PlaceAction
from language import conversation_language
from language.offers import CARRIED_ENTITIES, NONE_OF_THESE, choice_payload, offer_labels

FALLBACK_INTENT = "nlu_fallback"
OFFER_ACTION = "action_default_ask_affirmation"
# The offer's bot message carries the intents offered, with their confidences, in its
# metadata under this key (the keyword of utter_message below).
OFFERED = "offered"
# At most this many questions are offered, and only guesses the model gives at least this
# much weight to: below it a button would be noise, and the plain fallback answer is honest.
MOST_OFFERED = 3
LEAST_CONFIDENCE = 0.05


def likely_intents(
    ranking: Sequence[Dict[str, Any]], offerable: Sequence[str], limit: int = MOST_OFFERED
) -> List[Tuple[str, float]]:
    """The model's best guesses that can be offered, most likely first."""
    guesses: List[Tuple[str, float]] = []
    for entry in ranking:
        name, confidence = entry.get("name"), float(entry.get("confidence") or 0.0)
        if name in offerable and name != NONE_OF_THESE and confidence >= LEAST_CONFIDENCE:
            guesses.append((str(name), confidence))
    return guesses[:limit]


def carried_entities(entities: Sequence[Dict[str, Any]], places: PlaceResolver) -> Dict[str, str]:
    """The unclear message's first country and region, to carry into the chosen question, by
    the names the resolver gives them (the only values the chat channels' edge lets through;
    language entities are the detector's, not the visitor's words)."""
    carried: Dict[str, str] = {}
    for entity in entities:
        name, value = entity.get("entity"), entity.get("value")
        if name not in CARRIED_ENTITIES or not isinstance(value, str) or name in carried:
            continue
        if name == "country":
            found = places.countries("", [value])
            if found:
                carried[name] = found[0].name
        else:
            place = places.place("", [value])
            if place is not None:
                carried[name] = place.name
    return carried


def offered_just_before(tracker: Tracker) -> bool:
    """Whether the assistant's last message was an offer: the unclear message now is the
    visitor's answer to it."""
    for event in reversed(tracker.events):
        if event.get("event") == "bot":
            return OFFERED in (event.get("metadata") or {})
    return False


class ActionOfferChoices(PlaceAction):
    """Replaces Rasa's ``action_default_ask_affirmation`` (see the module's docstring)."""

    def name(self) -> str:
        return OFFER_ACTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        if self.only_a_place(tracker):  # "Afrique", "Rangoon": that place's answer, no offer
            return self.answer_bare_place(dispatcher, tracker)
        labels = offer_labels(conversation_language(tracker.slots))
        message = tracker.latest_message or {}
        guesses = likely_intents(message.get("intent_ranking") or [], list(labels))
        if offered_just_before(tracker) or not guesses:
            dispatcher.utter_message(response="utter_default")
            return []
        carried = carried_entities(message.get("entities") or [], self.places)
        buttons = [{"title": labels[name], "payload": choice_payload(name, carried)} for name, _ in guesses]
        buttons.append({"title": labels[NONE_OF_THESE], "payload": f"/{NONE_OF_THESE}"})
        dispatcher.utter_message(
            response="utter_offer_choices",
            buttons=buttons,
            offered={name: round(confidence, 3) for name, confidence in guesses},
        )
        return []


class ActionNoneOfThese(KnowledgeAction):
    """ "None of these": say honestly that the assistant cannot answer, and where to write."""

    def name(self) -> str:
        return "action_none_of_these"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        organisation = self.knowledge_for(tracker).organisation
        dispatcher.utter_message(
            response="utter_none_of_these",
            address=", ".join([f"{organisation.name} ({organisation.short_name})", *organisation.address]),
        )
        return []
