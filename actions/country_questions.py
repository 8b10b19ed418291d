"""Answers about where the APT works: one country, a region, counts, and follow-ups.

A follow-up ("and Uganda?", "what about in Asia?") is answered like the question before it:
each answer records its kind in the ``place_question`` slot, and the follow-up action reuses
that kind with the place the follow-up names.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers
from actions.base import KnowledgeAction, country_mentions, entity_values, latest_text
from actions.countries import Area, CountryMatch, Where
from language.focus import FOCUSED_ON, after_correction, points_back_at_a_place

ENGAGEMENT, LIST, COUNT = "engagement", "list", "count"
# A message that is only a place ("Lagos", "Afrique", "¿y Bolivia?", "what about MENA") has
# at most this many words once these little words are left out.
MOST_PLACE_WORDS = 4
_FILLERS = re.compile(
    r"\b(?:and|what|about|how|in|the|et|quid|de|du|des|le|la|les|au|aux|à|a|y|en|el|los|las|qué|que|tal|sobre)\b",
    re.IGNORECASE,
)

# Words that make a short message about a place a question about something else than the
# APT's work there: "capital of Australia", "la météo à Genève", "visa para Perú". Such a
# message read as out of scope stays out of scope.
_ABOUT_SOMETHING_ELSE = re.compile(
    r"\b(?:capital|capitale|weather|forecast|temperature|climate|m[ée]t[ée]o|temps\s+qu|clima|tiempo"
    r"|population|poblaci[oó]n|habitants?|habitantes|visas?|permit|permis|permiso|s[ée]jour|residencia"
    r"|flights?|vols?|vuelos?|hotels?|h[ôo]tels?|hoteles|restaurants?|resto|restaurantes?|tourism|tourisme|turismo"
    r"|currency|monnaie|moneda|time\s*zone|fuseau|huso|football|foot|f[uú]tbol|world\s+cup|mundial"
    r"|coupe\s+du\s+monde|president|pr[ée]sident[ea]?|presidente|language|langue|idioma|lengua)\b",
    re.IGNORECASE,
)


def _meant(tracker: Tracker) -> str:
    """The text of the latest message a place is looked for in: after a correction, what was
    meant ("perdón, no Honduras sino Guatemala": "Guatemala"), else the whole message."""
    text = latest_text(tracker)
    corrected = after_correction(text)
    return corrected[1] if corrected is not None else text


class PlaceAction(KnowledgeAction):
    """Shared answering logic; concrete actions choose which question they answer."""

    def _countries(self, tracker: Tracker) -> List[CountryMatch]:
        """The countries the latest message asks about: not those it names only to negate
        ("not Kenya, Uganda"), unless nothing else is left."""
        matches = self.places.countries(_meant(tracker), entity_values(tracker, "country"))
        _, negated = country_mentions(tracker)
        if negated:
            dropped = {match.iso3 for match in self.places.countries("", negated)}
            kept = [match for match in matches if match.iso3 not in dropped]
            return kept or matches
        return matches

    def _countries_unless_place(self, tracker: Tracker) -> List[CountryMatch]:
        """Countries named, unless the message names a region and no country entity."""
        if not entity_values(tracker, "country") and self._place(tracker) is not None:
            return []
        return self._countries(tracker)

    def _place(self, tracker: Tracker) -> Optional[Where]:
        return self.places.place(_meant(tracker), entity_values(tracker, "region"))

    def _place_before(self, tracker: Tracker) -> Optional[Where]:
        """The region of the place the conversation was about, when the latest message points
        back at it ("that region", "there"): the last region named, or the last country's
        sub-region (listed or not: "¿y en los países vecinos?" after Bolivia), whichever came
        last."""
        if not points_back_at_a_place(latest_text(tracker)):
            return None
        for event in reversed(tracker.events):
            if event.get("event") != "slot" or not event.get("value"):
                continue
            if event.get("name") == "region":
                return self.places.place(str(event["value"]))
            if event.get("name") == "country":
                matches = self.places.countries(str(event["value"]))
                return self.places.subregion_of(matches[0]) if matches else None
        return None

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
        place = self._place(tracker) or self._place_before(tracker)
        kb = self.knowledge_for(tracker)
        if isinstance(place, Area):
            # A region the profile does not use as a heading: its sub-regions inside it.
            if kind == COUNT:
                answers.country_count(dispatcher, kb, place)
            else:
                answers.countries_in_area(dispatcher, kb, place)
            return [SlotSet("region", place.name), SlotSet("place_question", kind)]
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

    def only_a_place(self, tracker: Tracker) -> bool:
        """Whether the latest message, or the part of it that was read (after "no, I meant"), is
        nothing but the name of a place: a bare "Lagos" or "Afrique" that the NLU read as a
        yes, a greeting or not at all."""
        text = latest_text(tracker)
        if text.startswith("/"):
            return False
        focused = tracker.latest_message.get(FOCUSED_ON)  # "no, I meant Lagos": "Lagos"
        return any(self._is_a_place(t) for t in (text, focused) if isinstance(t, str) and t)

    def _is_a_place(self, text: str) -> bool:
        if _ABOUT_SOMETHING_ELSE.search(text):
            return False
        words = re.findall(r"[^\W\d_][\w'’-]*", _FILLERS.sub(" ", text))
        if not 0 < len(words) <= MOST_PLACE_WORDS:
            return False
        return bool(self.places.countries(text)) or self.places.place(text) is not None

    def answer_bare_place(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[EventType]:
        """A message that is only a place: the question asked before about places (a
        follow-up), else whether the APT works there, or which countries it lists there."""
        matches = self._countries_unless_place(tracker)
        if matches:
            return self.answer_engagement(dispatcher, tracker, matches)
        previous = tracker.get_slot("place_question")
        return self.answer_place(dispatcher, tracker, COUNT if previous == COUNT else LIST)


class ActionAnswerCountryEngagement(PlaceAction):
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


class ActionListCountries(PlaceAction):
    """ "Which countries in <region>?", or a summary by region when none is named."""

    def name(self) -> str:
        return "action_list_countries"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        return self.answer_place(dispatcher, tracker, LIST)


class ActionCountCountries(PlaceAction):
    def name(self) -> str:
        return "action_count_countries"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        return self.answer_place(dispatcher, tracker, COUNT)


class ActionAnswerFollowUp(PlaceAction):
    """ "And Uganda?" / "what about in Asia?": the previous question, for a new place."""

    def name(self) -> str:
        return "action_answer_follow_up"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        matches = self._countries_unless_place(tracker)
        if matches:
            return self.answer_engagement(dispatcher, tracker, matches)
        if self._place(tracker) is not None or self._place_before(tracker) is not None:
            previous = tracker.get_slot("place_question")
            return self.answer_place(dispatcher, tracker, COUNT if previous == COUNT else LIST)
        dispatcher.utter_message(response="utter_ask_which_place")
        return []


class PlaceOrResponse(PlaceAction):
    """A message that is only a place the NLU did not read as one gets that place's answer;
    any other gets what ``otherwise`` sends (a literal response name in each subclass, so the
    domain's validator and the wording tests find it)."""

    def otherwise(self, dispatcher: CollectingDispatcher) -> None:
        raise NotImplementedError

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        if self.only_a_place(tracker):
            return self.answer_bare_place(dispatcher, tracker)
        self.otherwise(dispatcher)
        return []


class ActionPlaceOrAcknowledge(PlaceOrResponse):
    """A yes or a no outside a question: acknowledged, unless the message is only a place
    the NLU mistook for one ("Lagos", "MENA")."""

    def otherwise(self, dispatcher: CollectingDispatcher) -> None:
        dispatcher.utter_message(response="utter_acknowledge")

    def name(self) -> str:
        return "action_place_or_acknowledge"


class ActionPlaceOrOutOfScope(PlaceOrResponse):
    """An out-of-scope message: declined, unless it is only a place ("Kathmandu")."""

    def otherwise(self, dispatcher: CollectingDispatcher) -> None:
        dispatcher.utter_message(response="utter_out_of_scope")

    def name(self) -> str:
        return "action_place_or_out_of_scope"


class ActionPlaceOrDefault(PlaceOrResponse):
    """An answer with no question asked ("inform" outside the funding check): one that names a
    place gets that place's answer, a bare "Kenya" as a sentence that tells of one ("oops, a
    typo: it was Nigeria, not Niger", "we are a network based in Peru"), where the visitor
    got "I'm not sure I understood"; anything else gets that."""

    def otherwise(self, dispatcher: CollectingDispatcher) -> None:
        dispatcher.utter_message(response="utter_default")

    def name(self) -> str:
        return "action_place_or_default"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        text = latest_text(tracker)
        names_a_place = not text.startswith("/") and not _ABOUT_SOMETHING_ELSE.search(text)
        if names_a_place and (self._countries_unless_place(tracker) or self._place(tracker) is not None):
            return self.answer_bare_place(dispatcher, tracker)
        return await super().run(dispatcher, tracker, domain)
