"""Questions about a named person: the APT's people named in its profile, and no one else.

"Who is Mark Thomson?" gets his role from the knowledge base, and so does "who is your
secretary general?" or "¿quién se ocupa de la recaudación de fondos?": a role is recognised in
the three languages (its name in each language's knowledge base, and the contact's
``aliases``). A question about anyone else ("who is the president of the united states") gets
an honest "I can only tell you about the APT", never the APT's contacts as if they were the
answer.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Dict, List, Optional

from rapidfuzz import fuzz
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.base import KnowledgeAction, latest_text
from content.knowledge import Contact, KnowledgeBase
from content.knowledge_languages import knowledge_in
from language import LANGUAGES

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


def described_contact(text: str, kb: KnowledgeBase) -> Optional[Contact]:
    """The APT person whose role the text names (in any of the three languages), if exactly
    one."""
    folded = _padded_words(text)
    found = []
    for number, contact in enumerate(kb.contacts):
        roles = {contact.role, *contact.aliases}
        if kb.contacts == _english_contacts():  # the project's own: its translated roles too
            roles |= {knowledge_in(language).contacts[number].role for language in LANGUAGES}
        if any(_padded_words(role) in folded for role in roles):
            found.append(contact)
    return found[0] if len(found) == 1 else None


def _padded_words(text: str) -> str:
    """The words of ``text``, folded, between spaces: for whole-phrase containment."""
    return " " + " ".join(re.findall(r"[\w-]+", _plain(text))) + " "


def _english_contacts() -> List[Contact]:
    return list(knowledge_in("en").contacts)


def person_asked(text: str, kb: KnowledgeBase) -> Optional[Contact]:
    """The APT person a question is about: by name, else by role."""
    return named_contact(text, kb) or described_contact(text, kb)


def say_who(dispatcher: CollectingDispatcher, contact: Contact, kb: KnowledgeBase) -> None:
    dispatcher.utter_message(
        response="utter_person",
        person_name=contact.name,
        person_role=contact.role,
        apt_short_name=kb.organisation.short_name,
    )


class ActionAnswerPerson(KnowledgeAction):
    def name(self) -> str:
        return "action_answer_person"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        kb = self.knowledge_for(tracker)
        contact = person_asked(latest_text(tracker), kb)
        if contact is None:
            dispatcher.utter_message(response="utter_person_unknown")
        else:
            say_who(dispatcher, contact, kb)
        return []
