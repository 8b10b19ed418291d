"""Two questions in one message, answered one after the other.

"where are you based and do you work in Kenya?" or "are you a donor? and who is your
fundraising officer?" are two questions; the NLU reads one intent per message, so the chat
channels hand each question to Rasa as its own message, in order, in the same conversation
(``server/channels/rest.py``, ``server/channels/socketio_origins.py``). Staff see the two parts as two
visitor messages.

Splitting is deliberately narrow, so that one question is never cut in two:

- after a question mark followed by another question ("...donor? and who...", not
  "...Kenya? I am Jane");
- at "and" / "et" / "y" (or a comma before them) when what follows starts like a question
  ("where", "do you", "où", "est-ce que", "dónde", "¿"), or is an indirect one ("and whether
  you train police", "et si vous formez", "y quiénes son sus socios"), and what comes before
  started like one too, a request to be told included ("I would like to know what your budget
  is, and also who leads the APT", "Quisiera saber qué es la CINAT y quiénes son sus socios"), in
  the last sentence of a message that opens with context ("I train police in Ghana. Does the
  APT train police, and do you work in Ghana?"), the context staying with the first.

"we are an NGO in Togo and we work on detention" stays one message (the second part is not
a question), as do short parts (fewer than 3 words each) and anything beyond 3 parts.
"""

from __future__ import annotations

import re
from typing import List

MOST_QUESTIONS = 3
FEWEST_WORDS = 3

# How a question starts, in the three languages (lower case, accents as typed or not),
# requests to be told included ("I would like to know", "pourriez-vous", "quisiera saber").
_QUESTION_START = (
    r"(?:where|who|whom|what|which|when|why|how|do|does|did|are|is|can|could|may|have|has"
    r"|i\s+would\s+like\s+to\s+know|i'?d\s+like\s+to\s+know|i\s+want\s+to\s+know"
    r"|o[uù]|qui|que|qu'|quel|quelle|quels|quelles|quand|pourquoi|comment|combien|est-ce"
    r"|avez-vous|êtes-vous|etes-vous|pouvez-vous|pourriez-vous|travaillez|financez"
    r"|j'aimerais\s+savoir|je\s+voudrais\s+savoir|je\s+souhaiterais\s+savoir"
    r"|d[oó]nde|qui[eé]n(?:es)?|qu[eé]|cu[aá]l(?:es)?|cu[aá]ndo|por\s+qu[eé]|c[oó]mo|cu[aá]nt[oa]s?"
    r"|tienen|trabajan|financian|pueden|podr[ií]an|podr[ií]a|son|est[aá]n"
    r"|quisiera\s+saber|me\s+gustar[ií]a\s+saber|quiero\s+saber"
    r"|¿)"
)
_STARTS_LIKE_A_QUESTION = re.compile(rf"^\W*{_QUESTION_START}(?=[\s'¿-]|$)", re.IGNORECASE)
_AFTER_QUESTION_MARK = re.compile(r"(?<=\?)\s+(?=\S)")
# "and" before a second question, maybe "and also", or an indirect one: "... and whether you
# train police", "... et si vous formez les policiers", "... y si trabajan en Perú".
_JOINED_BY_AND = re.compile(
    rf",?\s+(?:and|et|y|e)\s+(?:(?:also|aussi|tambi[eé]n|adem[aá]s)\s+)?"
    rf"(?:(?:whether|if(?!\s+so\b)|si(?!\s+(?:oui|non|no|s[ií])\b))\s+)?"
    rf"(?={_QUESTION_START}(?:[\s'¿-]|$)|(?<=whether\s)|(?<=if\s)|(?<=si\s))",
    re.IGNORECASE,
)
# The end of a sentence that is not a question: the context before one ("I train police.").
_SENTENCE_END = re.compile(r"(?<=[.!])\s+(?=\S)")
_LEADING_AND = re.compile(r"^(?:and|et|y|e|also|aussi|también)\b[\s,]*", re.IGNORECASE)


def _words(text: str) -> int:
    return len(re.findall(r"\w+", text))


def _split_at_and(part: str) -> List[str]:
    """``part`` cut at "and" between two questions, in its last sentence that starts like a
    question: context before it ("I train police in Ghana. Does the APT train police, and do
    you work in Ghana?") stays with the first question, a closing word after it ("... and who
    leads the APT. Many thanks.") with the last."""
    sentences = _SENTENCE_END.split(part)
    for index in range(len(sentences) - 1, -1, -1):
        if not _STARTS_LIKE_A_QUESTION.search(sentences[index]):
            continue
        pieces = _JOINED_BY_AND.split(sentences[index])
        if len(pieces) < 2:
            return [part]
        context, tail = " ".join(sentences[:index]), " ".join(sentences[index + 1 :])
        first = f"{context} {pieces[0]}" if context else pieces[0]
        last = f"{pieces[-1]} {tail}" if tail else pieces[-1]
        return [first, *pieces[1:-1], last] if len(pieces) > 2 else [first, last]
    return [part]


def questions(text: str) -> List[str]:
    """The questions of one message, in order; the message itself when it is one question.
    (A button's payload never gets here: the chat channels' edge, ``server/channels/edge.py``,
    hands it to Rasa whole.)"""
    parts: List[str] = []
    for sentence in _AFTER_QUESTION_MARK.split(text.strip()):
        if parts and not _STARTS_LIKE_A_QUESTION.search(_LEADING_AND.sub("", sentence)):
            parts[-1] = f"{parts[-1]} {sentence}"  # "...Kenya? I am Jane": not a question
            continue
        parts.extend(_split_at_and(sentence))
    parts = [_LEADING_AND.sub("", p).strip() for p in parts]
    parts = [p for p in parts if p]
    if len(parts) < 2 or len(parts) > MOST_QUESTIONS or any(_words(p) < FEWEST_WORDS for p in parts):
        return [text]
    return parts
