"""The assistant's three languages: English, French and Spanish (the APT website's).

- :mod:`language.detection`: the language a visitor writes in, or asks for.
- :mod:`language.wording`: every response in each language (``domain.yml`` in English,
  ``wording/fr.yml`` and ``wording/es.yml``), loaded and checked once.
- :mod:`server.nlg`: Rasa's response generator, answering in the conversation's language.
- :mod:`language.grammar`: a place's name with its article and after "in" ("au Sénégal").

The conversation's language is the slot ``language``; before the visitor has written anything
that settles it, the page's language (slot ``page_language``, sent by the widget), else English.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional

LANGUAGES = ("en", "fr", "es")
DEFAULT = "en"
LANGUAGE_SLOT = "language"
PAGE_LANGUAGE_SLOT = "page_language"


def supported(value: Any) -> Optional[str]:
    """``value`` as one of LANGUAGES ("fr-CH" -> "fr"), or None."""
    if not isinstance(value, str):
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGUAGES else None


def conversation_language(slots: Mapping[str, Any]) -> str:
    """The language to answer in, from the conversation's slots."""
    return supported(slots.get(LANGUAGE_SLOT)) or supported(slots.get(PAGE_LANGUAGE_SLOT)) or DEFAULT
