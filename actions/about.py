"""Answers about the APT itself: what it is, its vision, objectives, activities, contacts."""

from __future__ import annotations

from typing import Any, Callable, Dict, List

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import answers
from actions.base import KnowledgeAction, latest_intent, latest_text
from actions.people import person_asked, say_who
from content.knowledge import KnowledgeBase

# Which answer each "about the APT" intent gets (each sends its domain.yml response). Rules
# map every one of these intents to action_answer_about_apt; an intent missing here is a
# programming error caught by tests.
Answer = Callable[[CollectingDispatcher, KnowledgeBase], None]
ANSWER_BY_INTENT: Dict[str, Answer] = {
    "ask_about_apt": answers.about_apt,
    "ask_vision": answers.vision,
    "ask_objectives": answers.objectives,
    "ask_legal_instruments": lambda dispatcher, kb: answers.activity(dispatcher, kb, "legal_instruments"),
    "ask_advocacy": lambda dispatcher, kb: answers.activity(dispatcher, kb, "advocacy"),
    "ask_capacity_building": lambda dispatcher, kb: answers.activity(dispatcher, kb, "capacity"),
    "ask_practical_tools": lambda dispatcher, kb: answers.activity(dispatcher, kb, "tools"),
    "ask_opcat": answers.opcat,
    "ask_operations": answers.operations,
    "ask_budget": answers.budget,
    "ask_address": answers.address,
    "ask_contacts": answers.contacts,
    "ask_partners": answers.partners,
    "ask_cinat": answers.cinat,
}


class ActionAnswerAboutApt(KnowledgeAction):
    def name(self) -> str:
        return "action_answer_about_apt"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        intent, kb = latest_intent(tracker) or "", self.knowledge_for(tracker)
        person = person_asked(latest_text(tracker), kb) if intent == "ask_contacts" else None
        if person is not None:  # "who is your secretary general?": that person, not the list
            say_who(dispatcher, person, kb)
            return []
        ANSWER_BY_INTENT.get(intent, answers.about_apt)(dispatcher, kb)
        return []
