"""The last answer again, in the language the visitor has just asked for.

"Can you say that in French?", "en español por favor", after an answer in another language:
the visitor did not ask anything new, they want what they were just told in a language they
read. So after "the language is changed" (``utter_language_chosen``), the visitor's previous
turn is answered again: its responses re-sent by name (the response generator renders them in
the conversation's language, now the new one) and its knowledge-base actions run again on the
conversation as it stood then, with the new language's knowledge base.

A turn is answered again only when it was all answers (``language.answers.is_answer``) from
the actions below: never a form's question, an offer or the second chance (what the visitor
replies to those depends on them being the last thing said), a reply that could not answer,
or a turn already in the language asked for.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.about import ActionAnswerAboutApt
from actions.base import KnowledgeAction
from actions.countries import PlaceResolver
from actions.country_questions import (
    ActionAnswerCountryEngagement,
    ActionAnswerFollowUp,
    ActionCountCountries,
    ActionListCountries,
    ActionPlaceOrAcknowledge,
    ActionPlaceOrDefault,
    ActionPlaceOrOutOfScope,
)
from actions.people import ActionAnswerPerson
from content.knowledge import KnowledgeBase
from language import LANGUAGE_SLOT, PAGE_LANGUAGE_SLOT, conversation_language
from language.answers import is_answer

# The knowledge-base actions whose answer depends only on the message and the conversation
# before it (what they read from the tracker), so that running them again answers the same.
REPEATABLE: Tuple[type, ...] = (
    ActionAnswerAboutApt,
    ActionAnswerCountryEngagement,
    ActionListCountries,
    ActionCountCountries,
    ActionAnswerFollowUp,
    ActionPlaceOrAcknowledge,
    ActionPlaceOrOutOfScope,
    ActionPlaceOrDefault,
    ActionAnswerPerson,
)
# Rasa's own bookkeeping between two messages, never an answer.
BOOKKEEPING = {"action_listen", "action_session_start", "action_unlikely_intent", "action_extract_slots"}
LANGUAGE_REQUEST = "choose_language"


def _user_indexes(events: List[Dict[str, Any]]) -> List[int]:
    return [index for index, event in enumerate(events) if event.get("event") == "user"]


def _language_before(events: List[Dict[str, Any]]) -> str:
    """The conversation's language as it was after ``events``."""
    slots: Dict[str, Any] = {}
    for event in events:
        if event.get("event") == "slot" and event.get("name") in (LANGUAGE_SLOT, PAGE_LANGUAGE_SLOT):
            slots[event["name"]] = event.get("value")
        elif event.get("event") in ("restart", "session_started"):
            slots.clear()
    return conversation_language(slots)


class Turn(NamedTuple):
    message: Dict[str, Any]  # the visitor's ``user`` event
    before: List[Dict[str, Any]]  # the conversation up to the next message
    actions: List[str]  # what answered it, in order
    responses: List[str]  # the responses it was sent, in order


def _intent_of(event: Dict[str, Any]) -> Optional[str]:
    return ((event.get("parse_data") or {}).get("intent") or {}).get("name")


def previous_turn(tracker: Tracker) -> Optional[Turn]:
    """The visitor's last turn before the latest message that was not itself a request for a
    language: "y en español?" after "say that in French" repeats the answer before both."""
    events = list(tracker.events)
    users = _user_indexes(events)
    if len(users) < 2:
        return None
    turns = list(zip(users[:-1], users[1:], strict=True))
    previous, following = next(
        ((start, end) for start, end in reversed(turns) if _intent_of(events[start]) != LANGUAGE_REQUEST),
        (None, None),
    )
    if previous is None or following is None:
        return None
    between = events[previous + 1 : following]
    return Turn(
        events[previous],
        events[:following],
        [
            str(event.get("name"))
            for event in between
            if event.get("event") == "action" and event.get("name") not in BOOKKEEPING
        ],
        [
            str((event.get("metadata") or {}).get("utter_action"))
            for event in between
            if event.get("event") == "bot"
        ],
    )


class ActionAnswerAgain(KnowledgeAction):
    def __init__(
        self, knowledge: Optional[KnowledgeBase] = None, places: Optional[PlaceResolver] = None
    ) -> None:
        super().__init__(knowledge, places)
        self._repeatable: Dict[str, Action] = {
            action.name(): action for action in (kind(self.knowledge, self.places) for kind in REPEATABLE)
        }

    def name(self) -> str:
        return "action_answer_again"

    def plan(self, tracker: Tracker) -> Optional[Tuple[Tracker, List[str]]]:
        """The conversation as it stood at the previous turn (in today's language) and that
        turn's actions, when it is one to answer again."""
        turn = previous_turn(tracker)
        if turn is None or not turn.actions or not turn.responses:
            return None
        if not all(name in self._repeatable or name.startswith("utter_") for name in turn.actions):
            return None
        if not all(is_answer(response) for response in turn.responses):
            return None
        events = list(tracker.events)
        if _language_before(events[: _user_indexes(events)[-1]]) == conversation_language(tracker.slots):
            return None  # the language did not change
        message = turn.message
        parsed = {**(message.get("parse_data") or {}), "text": message.get("text") or ""}
        then = Tracker(
            tracker.sender_id, dict(tracker.slots), parsed, turn.before, False, None, {}, "action_listen"
        )
        return then, turn.actions

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        planned = self.plan(tracker)
        if planned is None:
            return []
        then, actions = planned
        for name in actions:
            if name in self._repeatable:
                # Only the messages: the slots it set were set the first time.
                await self._repeatable[name].run(dispatcher, then, domain)
            else:
                dispatcher.utter_message(response=name)
        return []
