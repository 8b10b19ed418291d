"""Answers about where the APT works: one country, a region, counts, and follow-ups.

A follow-up ("and Uganda?", "what about in Asia?") is answered like the question before it:
each answer records its kind in the ``place_question`` slot, and the follow-up action reuses
that kind with the place the follow-up names.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers
from actions.base import KnowledgeAction, entity_values, latest_text
from actions.countries import CountryMatch
from actions.knowledge import Place

ENGAGEMENT, LIST, COUNT = "engagement", "list", "count"


class _PlaceAction(KnowledgeAction):
    """Shared answering logic; concrete actions choose which question they answer."""

    def _countries(self, tracker: Tracker) -> List[CountryMatch]:
        return self.places.countries(latest_text(tracker), entity_values(tracker, "country"))

    def _countries_unless_place(self, tracker: Tracker) -> List[CountryMatch]:
        """Countries named, unless the message names a region and no country entity."""
        if not entity_values(tracker, "country") and self._place(tracker) is not None:
            return []
        return self._countries(tracker)

    def _place(self, tracker: Tracker) -> Optional[Place]:
        return self.places.place(latest_text(tracker), entity_values(tracker, "region"))

    def answer_engagement(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, matches: List[CountryMatch]
    ) -> List[EventType]:
        kb = self.knowledge_for(tracker)
        for match in matches:
            answers.country(dispatcher, kb, match)
        if not all(match.is_listed for match in matches):
            # How the APT chooses countries is the FAQ answer, kept in domain.yml.
            dispatcher.utter_message(response="utter_faq_country_selection")
        return [SlotSet("country", matches[-1].name), SlotSet("place_question", ENGAGEMENT)]

    def answer_place(self, dispatcher: CollectingDispatcher, tracker: Tracker, kind: str) -> List[EventType]:
        place = self._place(tracker)
        kb = self.knowledge_for(tracker)
        shown = kb.same_place(place, self.knowledge) if place is not None else None
        if kind == COUNT:
            answers.country_count(dispatcher, kb, shown)
        elif shown is not None:
            answers.countries_in_place(dispatcher, kb, shown)
        else:
            if entity_values(tracker, "region"):
                answers.unknown_region(dispatcher, kb)
            answers.countries_summary(dispatcher, kb)
        return [SlotSet("region", place.name if place else None), SlotSet("place_question", kind)]


class ActionAnswerCountryEngagement(_PlaceAction):
    """ "Do you work in X?" (also: a region asked this way gets the region's list)."""

    def name(self) -> str:
        return "action_answer_country_engagement"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        matches = self._countries_unless_place(tracker)
        if matches:
            return self.answer_engagement(dispatcher, tracker, matches)
        if self._place(tracker) is not None:
            return self.answer_place(dispatcher, tracker, LIST)
        dispatcher.utter_message(response="utter_ask_which_country")
        return []


class ActionListCountries(_PlaceAction):
    """ "Which countries in <region>?", or a summary by region when none is named."""

    def name(self) -> str:
        return "action_list_countries"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        return self.answer_place(dispatcher, tracker, LIST)


class ActionCountCountries(_PlaceAction):
    def name(self) -> str:
        return "action_count_countries"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        return self.answer_place(dispatcher, tracker, COUNT)


class ActionAnswerFollowUp(_PlaceAction):
    """ "And Uganda?" / "what about in Asia?": the previous question, for a new place."""

    def name(self) -> str:
        return "action_answer_follow_up"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        matches = self._countries_unless_place(tracker)
        if matches:
            return self.answer_engagement(dispatcher, tracker, matches)
        if self._place(tracker) is not None:
            previous = tracker.get_slot("place_question")
            return self.answer_place(dispatcher, tracker, COUNT if previous == COUNT else LIST)
        dispatcher.utter_message(response="utter_ask_which_place")
        return []
