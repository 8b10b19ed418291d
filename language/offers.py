"""The second chance's buttons: their labels in each language and their payloads.

Shared by the action that offers them (``actions/second_chance.py``) and the chat channels'
edge (``server/channels/edge.py``), which lets a payload through to Rasa only if it is one the
assistant can offer: ``/<intent>`` for an intent with a label, optionally with the unclear
message's country or region by the name the knowledge base's place resolver gives it
(``/ask_country_engagement{"country": "Azerbaijan"}``). Anything else that starts with "/" is
read as text, so a typed payload can neither set another intent nor put markup, or any
sentence, into a slot.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any, Dict, FrozenSet, Mapping, Optional

import yaml

from language import DEFAULT, LANGUAGES
from language.wording import WORDING

NONE_OF_THESE = "none_of_these"
CARRIED_ENTITIES = ("country", "region")
# A place's name as the knowledge base or the country library writes it: letters (accents
# included), spaces and . , ' ’ ( ) -; no markup, no digits.
PLAIN_NAME = re.compile(r"[^\W\d_][\w .,'’()\-]{0,119}")
_PAYLOAD = re.compile(r"/(?P<intent>\w+)(?P<entities>\{.*\})?", re.DOTALL)


@cache
def offer_labels(language: str) -> Dict[str, str]:
    """The button label of each intent that may be offered (``offer_labels`` in
    ``wording/<language>.yml``), in that file's order; an intent without one is never offered."""
    if language not in LANGUAGES:
        raise ValueError(f"{language!r} is not one of {', '.join(LANGUAGES)}")
    data = yaml.safe_load((WORDING / f"{language}.yml").read_text(encoding="utf-8"))["offer_labels"]
    return {str(intent): str(label) for intent, label in data.items()}


@cache
def place_names() -> FrozenSet[str]:
    """The only values a choice may carry: the names of places the knowledge base resolves."""
    from content.knowledge import load_knowledge_base

    return load_knowledge_base().place_names()


def is_place_name(value: Any) -> bool:
    return isinstance(value, str) and PLAIN_NAME.fullmatch(value) is not None and value in place_names()


def choice_payload(intent: str, entities: Mapping[str, str]) -> str:
    """``/intent`` with the carried places as entities, as Rasa parses a button payload."""
    carried = {k: v for k, v in entities.items() if k in CARRIED_ENTITIES and is_place_name(v)}
    return f"/{intent}{json.dumps(carried, ensure_ascii=False)}" if carried else f"/{intent}"


def is_choice_payload(text: str) -> bool:
    """Whether ``text`` is a payload the second chance can offer (see the module's docstring)."""
    match = _PAYLOAD.fullmatch(text.strip())
    if match is None or match["intent"] not in offer_labels(DEFAULT):
        return False
    if match["entities"] is None:
        return True
    try:
        entities: Optional[Any] = json.loads(match["entities"])
    except ValueError:
        return False
    return (
        isinstance(entities, dict)
        and 0 < len(entities) <= len(CARRIED_ENTITIES)
        and all(key in CARRIED_ENTITIES and is_place_name(value) for key, value in entities.items())
    )
