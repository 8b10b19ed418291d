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
# A request to be told, in the three languages: it asks as a question does ("we would also like
# to know your budget", "nous aimerions savoir", "nos gustaría conocer", "le agradecería...").
# Shared with the splitter of two questions in one message (language/questions.py).
REQUEST_OPENER = (
    r"(?:i|we)(?:'d|\s+would)?(?:\s+(?:also|really))?\s+(?:like|love|want|wish|need)\s+to"
    r"\s+(?:know|ask|understand|learn|find\s+out|hear)"
    r"|(?:i|we)(?:'m|'re|\s+am|\s+are)\s+(?:also\s+)?(?:interested\s+in|curious\s+about|wondering)"
    r"|(?:i|we)\s+(?:was|were)\s+(?:also\s+)?wondering|i\s+wonder"
    r"|(?:could|can|would)\s+you\s+(?:please\s+|also\s+)?(?:tell|explain|let\s+(?:me|us)\s+know|describe"
    r"|clarify|confirm|share|send|give|provide|indicate)"
    r"|(?:je|nous)\s+(?:voudrais|voudrions|aimerais|aimerions|souhaite|souhaitons|souhaiterais"
    r"|souhaiterions|cherche|cherchons|veux|voulons)\s+(?:aussi\s+|[ée]galement\s+)?(?:savoir|conna[iî]tre"
    r"|comprendre|demander|en\s+savoir)"
    r"|j'aimerais\s+(?:aussi\s+|[ée]galement\s+)?(?:savoir|conna[iî]tre|comprendre|en\s+savoir)"
    r"|(?:je\s+me|nous\s+nous)\s+demand(?:e|ons)"
    r"|merci\s+de\s+(?:nous|me)\s+(?:dire|indiquer|pr[ée]ciser|expliquer|faire\s+savoir)"
    r"|(?:nos|me)\s+(?:gustar[ií]a|interesa(?:r[ií]a)?)\s+(?:tambi[eé]n\s+)?(?:saber|conocer|entender|preguntar)"
    r"|(?:quisiera|quisi[eé]ramos|queremos|quiero|necesitamos|necesito|quer[ií]a|quer[ií]amos)"
    r"\s+(?:tambi[eé]n\s+)?(?:saber|conocer|entender|preguntar)"
    r"|(?:le|les)\s+agradecer[ií]a(?:mos)?|(?:me|nos)\s+pregunt(?:o|amos|aba|[áa]bamos)"
    r"|podr[ií]an?\s+(?:decir|indicar|explicar|informar)(?:nos|me)"
)
_QUESTION_START = re.compile(
    rf"^\W*(?:{REQUEST_OPENER}|where|who|what|which|when|why|how|do|does|did|are|is|can|could|would|may|will|have|has"
    r"|please|tell\s+me|explain|describe|parlez-moi|dites-moi|expliquez|expliquez-moi|pr[ée]sentez"
    r"|h[aá]bl(?:ame|enme|eme)|cu[eé]nt(?:ame|eme|enme)|expl[ií]c(?:ame|eme|enme)|d[ií]ga(?:me|nme)"
    r"|i\s+would\s+like\s+to\s+know|i\s+want\s+to\s+know|i'?d\s+like\s+to\s+know"
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
      |i\s+(?:asked|said)(?=\s)|i(?:\s+am|'m)\s+(?:asking|talking)(?=\s)|i\s+was\s+(?:asking|talking)(?=\s)
      |i\s+wanted\s+to\s+(?:know|ask)(?=\s)|my\s+question\s+(?:is|was)(?=\s)
      |je\s+voulais\s+(?:dire|parler|demander|savoir)(?=\s)|je\s+parlais(?=\s)|je\s+parle(?=\s)|je\s+veux\s+dire
      |je\s+me\s+suis\s+tromp[ée]e?|j'ai\s+demand[ée](?=\s)|je\s+(?:vous\s+)?demandais(?=\s)|je\s+vous\s+ai\s+demand[ée](?=\s)
      |ma\s+question\s+(?:porte|portait|concerne|concernait|[ée]tait)(?=\s)
      |quise\s+decir|quer[ií]a\s+(?:decir|preguntar(?:\s+por)?|saber)|me\s+refer[ií]a\s+a|me\s+refiero\s+a|mejor\s+dicho
      |me\s+equivoqu[ée]|(?:les?\s+|te\s+)?pregunt(?:[ée]|aba)(?=\s)|estoy\s+preguntando(?=\s)|habl(?:o|aba)\s+de
      |mi\s+pregunta\s+(?:es|era)(?=\s))
    (?:[\s,;:.!-]+(?:que|about|de|à|a|sur|sobre|por|on|for)(?=\s))?
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


# A correction by contrast: "not Benin but Togo", "pas le Niger mais le Nigeria", "no Honduras
# sino Guatemala": what was meant follows the "but".
_CONTRAST = re.compile(
    r"""^\W*(?:(?:no|nope|non|sorry|pardon|d[ée]sol[ée]e?|perd[oó]n|oops|oups)[\s,;:.!-]+){0,2}
    (?:not|non\s+pas|pas|no)\s+[^,.;!?]{1,40}?[\s,;]+(?:but|mais|sino|rather|plut[oô]t)\s+""",
    re.IGNORECASE | re.VERBOSE,
)
# What was meant is said, then what was not: "Peru, not Paraguay", "le Pérou, pas le Paraguay",
# "Guatemala, no Honduras": the denied part is dropped.
_DENIED_AFTER = re.compile(
    r"[\s,;]+(?:and\s+not|not|rather\s+than|instead\s+of|et\s+non|et\s+pas|pas|non|plut[oô]t\s+que|y\s+no|no|en\s+vez\s+de|en\s+lugar\s+de)"
    r"\s+[^,.;!?]{1,40}[.!?]*$",
    re.IGNORECASE,
)


def after_correction(text: str) -> Optional[Tuple[int, str]]:
    """What was meant after a correction of what came before ("no, I meant Togo", "not Benin
    but Togo"), without what it says was not meant ("I meant Peru, not Paraguay"): one word is
    enough (a place)."""
    found = _rest_after(_CORRECTION, text, 1) or _rest_after(_CONTRAST, text, 1)
    if found is None:
        return None
    offset, rest = found
    meant = _DENIED_AFTER.sub("", rest).strip()
    return (offset, meant) if meant and _words(meant) >= 1 else found


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


# Words that point back at the place of the answer before: "which other countries in that
# region?", "how many countries there?", "et dans les pays voisins ?", "¿en qué otros países de
# la región?". A question about places that names none is then about that place's region
# (actions/country_questions.py); after an answer about places, a short message with them is a
# follow-up of it (server/patches/focus.py).
_POINTS_BACK_AT_A_PLACE = re.compile(
    r"\b(?:th(?:at|is|e)\s+(?:same\s+)?(?:region|area|sub-?region|part\s+of\s+the\s+world)|same\s+region|there"
    r"|neighbou?ring\s+countries|nearby\s+countries|countries\s+(?:nearby|around)|the\s+neighbou?rs"
    r"|(?:cette|la|m[êe]me)\s+(?:r[ée]gion|zone|sous-r[ée]gion)|l[àa]-bas|pays\s+(?:voisins|alentour)|les\s+voisins"
    r"|(?:esa|esta|la|misma)\s+(?:regi[oó]n|zona|subregi[oó]n)|all[ií]|ah[ií]|all[aá]|pa[ií]ses\s+vecinos|los\s+vecinos)\b",
    re.IGNORECASE,
)
# "is there a helpline?", "how many countries are there?": "there" that says something exists.
_THERE_EXISTS = re.compile(
    r"\b(?:is|are|was|were)\s+there\b|\bthere\s+(?:is|are|was|were|'s)\b", re.IGNORECASE
)


def points_back_at_a_place(text: str) -> bool:
    """Whether ``text`` points back at the place of the answer before (see above)."""
    return _POINTS_BACK_AT_A_PLACE.search(text or "") is not None and not _THERE_EXISTS.search(text or "")
