"""Which language a message is written in, or asks for.

Detection uses Lingua (``lingua-language-detector``, offline, its language models shipped in
the package), restricted to the three languages, so that it never guesses a fourth. A
message switches the conversation's language only when Lingua is sure: short or mixed
messages ("ok", "Kenya", "merci", "we are an NGO in Togo") are not, and keep the
conversation's language. Explicit requests ("in French please", "en español") are read by
:func:`requested` and win over detection.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any, Dict, Optional

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

CODES: Dict[Any, str] = {Language.ENGLISH: "en", Language.FRENCH: "fr", Language.SPANISH: "es"}
# How sure Lingua must be to switch: very sure for one or two words ("sí", "presupuesto"),
# less for a sentence, where it is rarely wrong.
SHORT_CONFIDENCE = 0.9
SENTENCE_CONFIDENCE = 0.75
SENTENCE_WORDS = 4

# Each language's name as a visitor may write it, in the three languages.
_NAMES = {
    "en": r"english|anglais|ingl[eé]s",
    "fr": r"french|fran[cç]ais|franc[eé]s",
    "es": r"spanish|espagnol|espa[nñ]ol|castellano",
}
_ASKS = re.compile(
    r"\b(?:in|en|parlez|parles|speak|hablas|habla|hablan|respond|answer|reply|write|talk|"
    r"répondez|repondez|responde|responda|please|svp|por favor|s'il vous pla[iî]t)\b",
    re.IGNORECASE,
)


@cache
def _detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*CODES).with_preloaded_language_models().build()


def detect(text: str) -> Optional[str]:
    """The language ``text`` is surely written in, or None when unsure."""
    words = re.findall(r"\w+", text)
    if not words or text.startswith("/"):
        return None
    values = _detector().compute_language_confidence_values(text)
    if not values:
        return None
    best = values[0]
    needed = SENTENCE_CONFIDENCE if len(words) >= SENTENCE_WORDS else SHORT_CONFIDENCE
    return CODES.get(best.language) if best.value >= needed else None


def requested(text: str) -> Optional[str]:
    """The language a short message asks for ("in French please", "¿hablas español?",
    "English"), or None. A long message that names a language is a question, not a request."""
    if text.startswith("/") or len(re.findall(r"\w+", text)) > 6:
        return None
    named = [
        code
        for code, pattern in _NAMES.items()
        if re.search(rf"\b(?:{pattern})(?![-\w])", text, re.IGNORECASE)  # not "French-speaking"
    ]
    if len(named) != 1:
        return None
    alone = re.fullmatch(rf"\W*(?:{_NAMES[named[0]]})\W*", text, re.IGNORECASE)
    return named[0] if alone or _ASKS.search(text) else None
