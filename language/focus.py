"""Where the question is in a message that the model reads as a whole.

The NLU model gives one intent per message. Visitors write:

- a greeting and a question in one message ("Hello, do you work in Chad?", "Bonjour, vous
  êtes où ?"): the greeting's words outweigh the question's and only the greeting is
  answered;
- a long message with context (who they are, then the question, then a request): the
  context dilutes the question and the model is unsure of everything.

These pure functions find the parts worth reading on their own: the text after a leading
greeting or a follow-up's opening ("and ...?", "et ... ?", "¿y ...?"), and the sentences of a
long message (with their offsets in the message, so that entities found in a part can be
placed in the whole). ``server/patches/focus.py`` parses those parts
when the whole message gave a greeting or no clear answer, and keeps the part that gives a
clear one.
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

# A greeting at the start of a message, in the three languages, with what usually follows it
# ("Hello there,", "Hi team!", "Bonjour à tous,", "Buenos días, señores:").
_GREETING = re.compile(
    r"""^\W*
    (?:hello|hellow|helo|hi|hey|hiya|greetings|good\s+(?:morning|afternoon|evening|day)|dear
      |bonjour|bonsoir|salut|coucou|all[ôo]|cher|chère|chers|madame|monsieur
      |hola|buen[oa]s(?:\s+(?:d[ií]as|tardes|noches))?|saludos|estimad[oa]s?|se[ñn]or(?:es|a)?)\b
    (?:[\s,]+(?:there|all|everyone|team|apt|sir|madam|friends|folks|à\s+tous|a\s+todos|l'apt|la\s+apt
      |madame|monsieur|mesdames|messieurs|señor(?:es|a)?|amigos|equipo|l'équipe)\b)*
    [\s,;:.!¡¿-]*""",
    re.IGNORECASE | re.VERBOSE,
)
# The end of a sentence: . ! ? ; (or a line break), followed by space and more text.
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
# The end of a clause, inside a sentence too: a comma, or "and", "but" and their French and
# Spanish forms ("they beat my brother in custody, is there a helpline").
_CLAUSE_END = re.compile(
    r"(?<=[.!?;,])\s+|\n+|\s+(?:and|but|so|et|mais|donc|y|pero|entonces)\s+", re.IGNORECASE
)
_QUESTION_START = re.compile(
    r"^\W*(?:where|who|what|which|when|why|how|do|does|did|are|is|can|could|would|may|will|have|has"
    r"|please|tell\s+me|i\s+would\s+like\s+to\s+know|i\s+want\s+to\s+know|i'?d\s+like\s+to\s+know"
    r"|o[uù]|qui|que|qu'|quel|quelle|quels|quelles|quand|pourquoi|comment|combien|est-ce"
    r"|pouvez|pourriez|avez|[êe]tes|travaillez|financez|j'aimerais\s+savoir|je\s+voudrais\s+savoir"
    r"|d[oó]nde|qui[eé]n|qu[eé]|cu[aá]l|cu[aá]ndo|por\s+qu[eé]|c[oó]mo|cu[aá]nt[oa]s?|pueden|podr[ií]an"
    r"|tienen|trabajan|financian|quisiera\s+saber|me\s+gustar[ií]a\s+saber|¿)\b",
    re.IGNORECASE,
)
# A correction at the start of a message: what follows is what the visitor meant ("no, I meant
# Togo", "sorry, I meant your partners", "non, je voulais dire au Togo", "perdón, me refería a
# los socios"). A bare "no" or "sorry" is not one: the words saying "I meant" are needed.
_CORRECTION = re.compile(
    r"""^\W*
    (?:(?:no|nope|non|sorry|pardon|d[ée]sol[ée]e?|oops|oups|perd[oó]n|disculpa|disculpe|perdona|ah|oh
        |wait|attends|attendez|espera|actually|en\s+fait|en\s+realidad|i\s+mean|je\s+veux\s+dire)
      [\s,;:.!-]+){0,3}
    (?:i\s+meant(?:\s+to\s+(?:say|ask(?:\s+about)?|write))?|what\s+i\s+meant\s+(?:is|was)|i\s+was\s+asking\s+about
      |i\s+mean(?=\s)|my\s+mistake|correction|typo
      |je\s+voulais\s+(?:dire|parler|demander)(?=\s)|je\s+parlais(?=\s)|je\s+veux\s+dire|je\s+me\s+suis\s+tromp[ée]e?
      |quise\s+decir|quer[ií]a\s+(?:decir|preguntar(?:\s+por)?)|me\s+refer[ií]a\s+a|me\s+refiero\s+a|mejor\s+dicho
      |me\s+equivoqu[ée])
    (?:[\s,;:.!-]+(?:que|about|de|à|a)(?=\s))?
    [\s,;:.!-]*""",
    re.IGNORECASE | re.VERBOSE,
)
# A follow-up's opening: what follows is asked like the question before ("and your budget?",
# "what about in Asia?", "et au Bénin ?", "¿y en Bolivia?", "y qué hay de los socios").
_CONNECTIVE = re.compile(
    r"""^\W*
    (?:and(?:\s+(?:what|how)\s+about)?|also|what\s+about|how\s+about|what\s+of
      |et\s+qu'en\s+est-il\s+(?:de|du|des)|et(?:\s+(?:pour|sur|concernant|quid\s+de))?|quid\s+de|aussi
      |y(?:\s+qu[eé](?:\s+hay)?\s+de)?|qu[eé]\s+(?:tal|hay\s+de)|tambi[eé]n)
    \b[\s,;:.!-]*""",
    re.IGNORECASE | re.VERBOSE,
)
FEWEST_WORDS = 2
MOST_SENTENCES = 6
# The key of a message's parse data naming the part of it that was read (server/patches/focus.py).
FOCUSED_ON = "focused_on"


def _words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def _rest_after(opening: re.Pattern[str], text: str, fewest_words: int) -> Optional[Tuple[int, str]]:
    """``(offset, rest)`` when ``text`` starts with ``opening`` and goes on with at least
    ``fewest_words`` words; None otherwise."""
    match = opening.match(text)
    if match is None or match.end() == 0:
        return None
    rest = text[match.end() :].strip()
    if _words(rest) < fewest_words:
        return None
    return text.index(rest, match.end()), rest


def after_greeting(text: str) -> Optional[Tuple[int, str]]:
    """The text after a leading greeting, of at least ``FEWEST_WORDS`` words (a greeting
    alone is a greeting)."""
    return _rest_after(_GREETING, text, FEWEST_WORDS)


def after_correction(text: str) -> Optional[Tuple[int, str]]:
    """What was meant after a correction of what came before ("no, I meant Togo"): one word
    is enough (a place)."""
    return _rest_after(_CORRECTION, text, 1)


def after_connective(text: str) -> Optional[Tuple[int, str]]:
    """What follows a follow-up's opening ("and your budget?", "¿y en Bolivia?"): one word is
    enough."""
    return _rest_after(_CONNECTIVE, text, 1)


def sentences(text: str, clauses: bool = False) -> List[Tuple[int, str]]:
    """The sentences (or, with ``clauses``, the clauses) of ``text`` with their offsets, when
    it has two or more of at least ``FEWEST_WORDS`` words each (at most ``MOST_SENTENCES``,
    the question-like first); else []."""
    found: List[Tuple[int, str]] = []
    start = 0
    for boundary in (_CLAUSE_END if clauses else _SENTENCE_END).finditer(text):
        found.append((start, text[start : boundary.start()]))
        start = boundary.end()
    found.append((start, text[start:]))
    found = [
        (offset + len(part) - len(part.lstrip()), part.strip())
        for offset, part in found
        if _words(part) >= FEWEST_WORDS
    ]
    if len(found) < 2:
        return []
    found.sort(key=lambda item: not is_question_like(item[1]))  # stable: questions first, in order
    return found[:MOST_SENTENCES]


def is_question_like(sentence: str) -> bool:
    """A sentence that asks: it ends with a question mark or starts like a question or a request."""
    return sentence.rstrip().endswith("?") or _QUESTION_START.search(sentence) is not None
