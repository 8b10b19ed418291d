"""Questions about a named person: the APT's people named in its profile, and no one else.

"Who is Mark Thomson?" gets his role from the knowledge base. A question about anyone else
("who is the president of the united states") gets an honest "I can only tell you about the
APT", never the APT's contacts as if they were the answer.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, List, Optional

from rapidfuzz import fuzz
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction, latest_text
from actions.knowledge import Contact, KnowledgeBase

# A surname or full name typed with a typo ("Tomson", "Vincent Plotton") still matches.
NAME_SIMILARITY = 85


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def named_contact(text: str, kb: KnowledgeBase) -> Optional[Contact]:
    """The APT person whose full name or surname the text names, if exactly one."""
    words = re.findall(r"\w+", _plain(text))
    found = []
    for contact in kb.contacts:
        parts = re.findall(r"\w+", _plain(contact.name))
        wanted = [" ".join(parts), parts[-1]]
        spans = [" ".join(words[i : i + n]) for n in (1, len(parts)) for i in range(len(words) - n + 1)]
        if any(fuzz.ratio(span, name) >= NAME_SIMILARITY for span in spans for name in wanted):
            found.append(contact)
    return found[0] if len(found) == 1 else None


class ActionAnswerPerson(KnowledgeAction):
    def name(self) -> str:
        return "action_answer_person"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        kb = self.knowledge_for(tracker)
        contact = named_contact(latest_text(tracker), kb)
        if contact is None:
            dispatcher.utter_message(response="utter_person_unknown")
        else:
            dispatcher.utter_message(
                response="utter_person",
                person_name=contact.name,
                person_role=contact.role,
                apt_short_name=kb.organisation.short_name,
            )
        return []
