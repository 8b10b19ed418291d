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

from language.focus import REQUEST_OPENER, is_question_like

MOST_QUESTIONS = 3
FEWEST_WORDS = 3

# How a question starts, in the three languages (lower case, accents as typed or not),
# requests to be told included ("I would like to know", "pourriez-vous", "quisiera saber").
_QUESTION_START = (
    rf"(?:{REQUEST_OPENER}|where|who|whom|what|which|when|why|how|do|does|did|are|is|can|could|may|have|has"
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
_SENTENCE_END_OR_QUESTION = re.compile(r"(?<=[.!?])\s+(?=\S)")
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


# Two topics asked about in one question, joined as noun phrases ("tell me about your partners
# and your budget", "quels sont vos objectifs et vos partenaires ?", "¿cuál es su presupuesto y
# su dirección?"), or two questions in two sentences that the cuts above leave together ("Tell
# me about your budget. Also, who leads the APT."). Whether they are two things asked is the
# model's call (server/patches/compound.py): these are only the candidates.
_LAST_CONJUNCTION = re.compile(
    r",?\s+(?:and|as\s+well\s+as|et|ainsi\s+que|y|e|as[ií]\s+como)\s+"
    r"(?:(?:also|aussi|tambi[eé]n|adem[aá]s)\s+)?(?=\S)(?!.*\s(?:and|et|y|e)\s)",
    re.IGNORECASE,
)
# Words a noun phrase starts with (articles, possessives): what comes before the first of them
# in the question ("tell me about ") is said again before the second topic.
_DETERMINERS = (
    r"the|your|its|their|our|his|her|a|an|some"
    r"|le|la|les|l'|votre|vos|leur|leurs|son|sa|ses|un|une|des|du"
    r"|el|los|las|su|sus|un|una|unos|unas|del|al"
)
_DETERMINER = re.compile(rf"(?<![\w'])(?:{_DETERMINERS})(?:\s+|(?<=')(?=\w))", re.IGNORECASE)
# What a clause starts with: then "and" joins clauses, not topics ("... and we train police").
_CLAUSE_SUBJECT = re.compile(
    r"^(?:i|we|you|they|it|he|she|there|this|that|je|j'|nous|vous|ils|elles|il|elle|on|c'|ce"
    r"|yo|nosotros|nosotras|ustedes|usted|ellos|ellas|él|ella|eso|esto|tengo|somos|estamos)(?![\w])",
    re.IGNORECASE,
)
# A preposition before each topic ("parlez-moi de l'OPCAT et de vos partenaires"): what comes
# before its first use is said again.
_PREPOSITION = re.compile(
    r"^(?:of|about|on|for|de|d'|du|des|sur|pour|sobre|acerca\s+de|para)(?:\s+|(?<=')(?=\w))", re.IGNORECASE
)
MOST_TOPIC_WORDS = 10
_TRAILING = re.compile(r"[\s,;:.!?¿¡]+$")


def _topics(sentence: str) -> List[str]:
    """``sentence`` (a question or a request) as one question per topic, when its last "and"
    joins two short noun phrases; else []."""
    if not _asks(sentence):
        return []
    match = _LAST_CONJUNCTION.search(sentence)
    if match is None:
        return []
    first, second = sentence[: match.start()], sentence[match.end() :]
    ending = "?" if sentence.rstrip().endswith("?") else ""
    topic = _TRAILING.sub("", second)
    if not topic or _words(topic) > MOST_TOPIC_WORDS or _CLAUSE_SUBJECT.search(topic):
        return []
    if _STARTS_LIKE_A_QUESTION.search(topic) or _words(first) < 2:
        return []
    opener = ""
    preposition = _PREPOSITION.match(topic)
    if preposition is not None:
        used = re.search(rf"(?<![\w']){re.escape(preposition.group(0).strip())}", first, re.IGNORECASE)
        opener = first[: used.start()] if used is not None and used.start() > 0 else ""
    elif _DETERMINER.match(topic):
        # the question before the first topic's own article: "tell me about " of "tell me
        # about your partners"; never the question's first word ("the", "la").
        starts = [m.start() for m in _DETERMINER.finditer(first) if m.start() > 0]
        opener = first[: starts[0]] if starts else ""
    return [f"{_TRAILING.sub('', first)}{ending}", f"{opener}{topic}{ending}"]


# A request inside a sentence that does not open like one ("Also, the name of your director
# would help.", "Nous aurions aussi besoin de votre adresse.", "Y su dirección, por favor."):
# the sentence asks too.
_REQUEST_CUE = re.compile(
    r"\b(?:please|would\s+(?:help|be\s+(?:great|helpful|useful|appreciated))|appreciate|let\s+(?:me|us)\s+know"
    r"|send\s+(?:me|us)|give\s+(?:me|us)|share|interested\s+in|need\s+to\s+know|want\s+to\s+know"
    r"|s'il\s+vous\s+pla[iî]t|svp|merci\s+de|j'aimerais|je\s+voudrais|nous\s+voudrions|nous\s+aimerions"
    r"|besoin\s+de\s+(?:savoir|conna[iî]tre)|int[ée]ress[ée]e?s?\s+par|pourriez|pouvez"
    r"|por\s+favor|agradecer[ií]a|gustar[ií]a|quisiera|necesit(?:o|amos)\s+saber|me\s+interesa|nos\s+interesa"
    r"|podr[ií]an)\b",
    re.IGNORECASE,
)


def _asks(sentence: str) -> bool:
    """Whether a sentence asks: it opens like a question or a request, or has one inside."""
    return is_question_like(_LEADING_AND.sub("", sentence)) or _REQUEST_CUE.search(sentence) is not None


def candidate_parts(text: str) -> List[str]:
    """What one message (not cut by :func:`questions`) may ask, part by part, for the model to
    confirm: its sentences, each question-like one with the context before it, or one question
    per topic of its last question sentence; [] when there is nothing to try."""
    sentences = [s for s in _SENTENCE_END_OR_QUESTION.split(text.strip()) if s.strip()]
    asking = [index for index, sentence in enumerate(sentences) if _asks(sentence)]
    if len(asking) >= 2:
        parts: List[str] = []
        for index, sentence in enumerate(sentences):
            if index in asking and index != asking[0] or not parts:
                parts.append(sentence)
            else:  # context, or what follows the last question (a closing word)
                parts[-1] = f"{parts[-1]} {sentence}"
        parts = [_LEADING_AND.sub("", p).strip() for p in parts]
        return parts if 2 <= len(parts) <= MOST_QUESTIONS else []
    if not asking:
        return []
    context = " ".join(sentences[: asking[0]])
    closing = " ".join(sentences[asking[0] + 1 :])
    topics = _topics(sentences[asking[0]])
    if not topics:
        return []
    first = f"{context} {topics[0]}" if context else topics[0]
    last = f"{topics[-1]} {closing}" if closing else topics[-1]
    return [first, last]
