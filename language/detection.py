"""Which language a message is written in, or asks for.

Detection weighs two kinds of evidence, and a message switches the conversation's language
only when together they are sure (short or mixed messages such as "ok", "Kenya" or "we are an
NGO in Togo" keep the conversation's language):

- Lingua (``lingua-language-detector``, offline, its language models shipped in the package),
  restricted to the three languages so that it never guesses a fourth: it reads letters,
  accents and common words, and is reliable on a sentence but not on one or two words
  ("merci" was Spanish to it, "hello" Spanish too);
- the assistant's own training vocabulary (:class:`Vocabulary`, learnt by the NLU step from
  the training examples, whose French and Spanish files say their language): how often each
  word appears in each language's examples. "merci", "salut", "vale" or "hello" are each
  written in one language only.

The two are combined as independent experts (their probabilities multiplied, then
normalised). Place names are left out first (:func:`detect`'s ``ignored`` spans, the NLU's
country and region entities): "Do you have projects in Bénin?" is English whatever the
accent. Explicit requests ("in French please", "en español") are read by :func:`requested`
and win over detection.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

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
    r"\b(?:in|en|parlez|parles|speak|hablas|habla|hablan|respond|answer|reply|write|talk|switch|change|"
    r"passez|passer|parler|cambia|cambie|cambiar|hablar|hablen|"
    r"répondez|repondez|responde|responda|please|svp|por favor|s'il vous pla[iî]t)\b",
    re.IGNORECASE,
)


@cache
def _detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*CODES).with_preloaded_language_models().build()


def preload() -> None:
    """Load Lingua's language models now (about 115 MiB, a second or more), not at the first
    message a visitor sends."""
    _detector()


def words_of(text: str) -> List[str]:
    """The words of ``text`` as the vocabulary counts them: lower case, accents removed
    (visitors often leave them out), apostrophes splitting ("l'équipe": "l", "equipe")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return re.findall(r"\w+", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


@dataclass(frozen=True)
class Vocabulary:
    """How often each word appears in each language's training examples."""

    counts: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # language -> word -> n

    @classmethod
    def learnt_from(cls, examples: Iterable[Tuple[str, str]]) -> Vocabulary:
        """From ``(language, text)`` pairs; languages outside LANGUAGES are skipped."""
        counts: Dict[str, Counter] = {code: Counter() for code in CODES.values()}
        for language, text in examples:
            if language in counts and not text.startswith("/"):
                counts[language].update(words_of(text))
        return cls({language: dict(counter) for language, counter in counts.items()})

    def probabilities(self, words: Sequence[str]) -> Optional[Dict[str, float]]:
        """Each language's probability given the words the vocabulary knows (naive Bayes
        with add-one smoothing, equal priors); None if it knows none of them."""
        known = [w for w in words if any(w in self.counts.get(code, {}) for code in CODES.values())]
        if not known:
            return None
        vocabulary = len({w for counter in self.counts.values() for w in counter})
        scores = {}
        for code in CODES.values():
            counter = self.counts.get(code, {})
            total = sum(counter.values()) + vocabulary
            scores[code] = sum(math.log((counter.get(w, 0) + 1) / total) for w in known)
        top = max(scores.values())
        exp = {code: math.exp(score - top) for code, score in scores.items()}
        norm = sum(exp.values())
        return {code: value / norm for code, value in exp.items()}


def _without(text: str, ignored: Sequence[Tuple[int, int]]) -> str:
    """``text`` with the spans ``ignored`` (place names) blanked out."""
    chars = list(text)
    for start, end in ignored:
        for i in range(max(start, 0), min(end, len(chars))):
            chars[i] = " "
    return "".join(chars)


def probabilities(text: str, vocabulary: Optional[Vocabulary] = None) -> Dict[str, float]:
    """Each language's probability for ``text``: Lingua's, times the vocabulary's if it
    knows a word of the text, normalised."""
    lingua = {CODES[v.language]: v.value for v in _detector().compute_language_confidence_values(text)}
    if not lingua:
        return {}
    known = vocabulary.probabilities(words_of(text)) if vocabulary is not None else None
    if known is None:
        return lingua
    joint = {code: lingua.get(code, 0.0) * known[code] for code in CODES.values()}
    norm = sum(joint.values())
    return {code: value / norm for code, value in joint.items()} if norm > 0 else lingua


def detect(
    text: str, vocabulary: Optional[Vocabulary] = None, ignored: Sequence[Tuple[int, int]] = ()
) -> Optional[str]:
    """The language ``text`` is surely written in, or None when unsure; ``ignored``: spans
    (start, end) of place names, which say nothing of the visitor's language."""
    if text.startswith("/"):
        return None
    text = _without(text, ignored)
    words = re.findall(r"\w+", text)
    if not words:
        return None
    values = probabilities(text, vocabulary)
    if not values:
        return None
    best = max(values, key=lambda code: values[code])
    needed = SENTENCE_CONFIDENCE if len(words) >= SENTENCE_WORDS else SHORT_CONFIDENCE
    return best if values[best] >= needed else None


# A request's clause ends at punctuation or at "and" ("in Spanish please: what is the OPCAT?",
# "can you switch to French and tell me about your partners?").
_CLAUSE = re.compile(r"(?:(?!\b(?:and|et|y|then|puis|luego)\b)[^,:;.!?¡¿\n])+", re.IGNORECASE)
REQUEST_WORDS = 6  # a request is short: a longer message that names a language asks about it
# Courtesies do not count towards that length: "could you say that in French please?"
_COURTESY = re.compile(
    r"\b(?:please|pls|plz|kindly|svp|stp|s'il (?:vous|te) pla[iî]t|por favor"
    r"|thanks?|thank you|merci|gracias)\b",
    re.IGNORECASE,
)


def _named(text: str) -> List[str]:
    return [
        code
        for code, pattern in _NAMES.items()
        if re.search(rf"\b(?:{pattern})(?![-\w])", text, re.IGNORECASE)  # not "French-speaking"
    ]


def _asks_for(text: str) -> Optional[str]:
    """The language a short text asks for, on its own."""
    if len(re.findall(r"\w+", _COURTESY.sub(" ", text))) > REQUEST_WORDS:
        return None
    named = _named(text)
    if len(named) != 1:
        return None
    alone = re.fullmatch(rf"\W*(?:{_NAMES[named[0]]})\W*", text, re.IGNORECASE)
    return named[0] if alone or _ASKS.search(text) else None


def request_span(text: str) -> Optional[Tuple[str, int, int]]:
    """(language, start, end) of the part of ``text`` that asks for a language: the whole of
    a short message ("in French please", "¿hablas español?", "English"), or one short clause
    of a longer one ("in Spanish please: what is the OPCAT?"). None when no part asks, or the
    message names more than one language."""
    if text.startswith("/") or len(_named(text)) != 1:
        return None
    for clause in _CLAUSE.finditer(text):
        language = _asks_for(clause.group())
        if language:
            return language, clause.start(), clause.end()
    whole = _asks_for(text)
    return (whole, 0, len(text)) if whole else None


def requested(text: str) -> Optional[str]:
    """The language a message asks for (see :func:`request_span`), or None. A long message
    that names a language in passing is a question, not a request."""
    span = request_span(text)
    return span[0] if span else None


def besides_request(text: str) -> Optional[Tuple[int, str]]:
    """(offset, text) of what a message says besides asking for a language, when that is a
    question of its own ("answer in French: who funds you?" -> "who funds you?"): the longer
    side of the request's clause. None for a message that only asks for a language."""
    span = request_span(text)
    if span is None:
        return None
    _, start, end = span
    before, after = text[:start], text[end:]
    side, offset = (after, end) if len(after.strip()) >= len(before.strip()) else (before, 0)
    stripped = re.sub(r"^[\s,:;.!-]*(?:(?:and|et|y|then|puis|luego)\b[\s,]*)?", "", side, flags=re.IGNORECASE)
    offset += len(side) - len(stripped)
    stripped = stripped.rstrip(" ,:;-\n")
    if len(re.findall(r"\w+", stripped)) < 2:
        return None
    return offset, stripped
