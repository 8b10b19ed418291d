"""A message read as the answer to the question the funding check just asked.

The NLU model reads each message alone. In the middle of the funding check that loses the one
thing that matters: the question the visitor is answering. Typed answers were read as other
things and the check went astray: "una ONG" unsure (the second chance), "no somos una ONG, somos
una fundación" as a "no" (the check stopped), "en Perú" as a question about Peru (answered, and
the country asked again), "we monitor police cells" not recognised at all.

So, while a form asks for an answer (the tracker's ``requested_slot``), a message that names
one is read as that answer: intent ``inform``, with the option as the entity its slot is filled
from. Everything else keeps the model's reading: a question ("what is the OPCAT?") is answered
and the question asked again, a disclosure gets the careful answer, a "stop" stops.

- **Kind of organisation, kind of work**: the message names an option
  (:func:`language.options.recognise`: a button's label, an alias, the option's keywords), or
  the model is unsure of it: the form then says it did not recognise the answer and asks
  again with the options as buttons, where the second chance would have offered unrelated
  questions.
- **Country**: the model found a country in it, or it is a short answer (at most
  ``MAX_SHORT_ANSWER_WORDS`` words) that is not small talk, or the model is unsure of it: the
  action server then reads the country itself (close spellings, other languages) and asks
  again, naming none, when it cannot.
- **A country named in answer to the country question** is that answer even when it reads
  as a question ("¿Perú cuenta?"), provided the model read it as about a place, but for a
  question that opens like a follow-up ("and do you work in Peru?", "y en Perú, ¿trabajan?"):
  that one is answered, and the country asked again; and **after the
  assessment**, where the consent question invites changing an answer ("we are based in
  Togo"), a message naming a country that the model read as a question about that place
  changes the country.
- **Organisation name**: any text answers it, but for a "stop" or a "no"; a name that the model
  reads as one ("No Más Tortura", "Stop Torture Now") is still a name: it has at least
  ``NAME_CAPITALS`` words with a capital letter after the first.
- **Contact e-mail**: the message holds something shaped like an address (a "no-reply@..."
  is not a "no").
- **Kind of work, described**: a statement about the organisation's own work that names no
  option ("we run radio programmes on human rights for rural listeners", "hacemos programas
  de radio sobre derechos humanos") is an answer all the same, when it reads as a description:
  at least three words it does not deny, and the model read it as information or could not
  read it, or it speaks in the first person ("we", "nous", "trabajamos"). One that reads as a
  disclosure ("we" and detention) keeps the model's reading, as every answer here does. The
  form then takes it as "other work" (``actions/funding.py``) instead of saying it did not
  recognise it: the question is open, the options are only examples.
- **A refusal of the offer or of the consent question** ("no thanks", "not now", "non merci,
  pas pour le moment", "mejor no, gracias"), or a "stop" there, is a ``deny``: the visitor is
  told nothing was sent, where a "no thanks" read as thanks got "you're welcome". **An
  acceptance** there ("sure, you can pass it on", "that would be great, thank you",
  "volontiers", "me parece bien") is an ``affirm``, where it was read as thanks or as a question
  about contacts. A correction ("no, I meant your budget") is neither, and is read for what it
  means; so is a message the model reads as another question ("no, I was asking how the APT
  itself is funded").
- **A "no" that corrects an answer** while the check asks its questions ("no, we are a
  university, not an NGO", "non, nous sommes au Togo", "no, trabajamos en capacitación") is an
  answer (``inform``), which the form reads as it reads any answer: it used to end the check as
  a "no". A "no" or a "stop" that names nothing still ends it.
- **A kind of work the model read as a topic** at the kind-of-work question ("plaidoyer pour
  la ratification du protocole", read surely as a question about the OPCAT; "formación de
  policías" as one about training): that kind of work (``WORK_BY_TOPIC``), where the question
  was answered and the check asked again. A question (question-like) is still a question.
- **Work with detainees named at the kind-of-work question** ("we visit detainees in police
  cells") is that answer although it has a disclosure's cues ("we" and detention); it stays a
  disclosure if the model read one.

- **The offer of the check** ("Shall we?"): a reply that tells about the organisation instead
  of saying yes ("we are a small NGO from Benin working on prison visits", "somos una ONG de
  Perú") is a yes (``affirm``, which starts the check): it names a kind of organisation or of
  work, or the model read it as information naming a country. The form then takes what it
  told from the same message (``actions/funding.py``). A question stays a question.

A message the model already read as ``inform`` gets the option as well: the model's own
entity may be a part of the answer ("comisarías" of "vigilamos las comisarías y las
cárceles") that names no option alone. The parse data keep the whole text and the language
entities; ``answer_to`` says which question the message was read as answering, for staff.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Dict, List, Optional, Union

from content.knowledge import OrganisationType, WorkArea, load_knowledge_base
from language.disclosure import reads_as_disclosure
from language.focus import after_connective, after_correction, is_question_like
from language.options import affirmed, fold, recognise

INFORM = "inform"
UNSURE = "nlu_fallback"
ANSWER_TO = "answer_to"
COUNTRY_ENTITY = "country"
MAX_SHORT_ANSWER_WORDS = 5
EMAIL_SHAPE = re.compile(r"\S+@\S+\.\S+")
# Readings a short message without a country keeps: the visitor said something else.
SMALL_TALK = {
    "greet",
    "thank",
    "goodbye",
    "bot_challenge",
    "help",
    "stop",
    "deny",
    "affirm",
    "choose_language",
    "disclose_abuse",
}
# The forms' questions this module reads answers to, and the entity each is filled from.
OPTION_QUESTIONS = ("organisation_type", "work_area")
COUNTRY_QUESTION = "organisation_country"
# Asked after the assessment: the consent question, which also invites changing an answer.
CONSENT_QUESTION = "utter_ask_enquiry_consent"
# Readings of a message that names a place and is about that place.
PLACE_READINGS = {"ask_country_engagement", "follow_up", "list_countries_in_region", UNSURE, INFORM}
OFFER_QUESTION = "utter_offer_partnership_check"
AFFIRM = "affirm"
# Readings of a reply to the offer that already say what the visitor wants.
DENY = "deny"
OFFER_REPLIES = {AFFIRM, DENY, "stop"}
# A reply to a yes/no question that says no without the model reading a "no": it opens with a
# refusal ("no thanks", "not now", "non merci", "pas maintenant", "mejor no", "ahora no").
REFUSAL_START = re.compile(
    r"^\W*(?:no(?![\s,!.]+(?:problem|prob|worries|hay\s+problema|problema|pasa\s+nada))|nope|nah|not\s+(?:now|yet|today|really|interested|for\s+now)|maybe\s+later|later"
    r"|non|pas\s+(?:maintenant|encore|vraiment|pour\s+l'instant|pour\s+le\s+moment|int[ée]ress[ée]e?s?)"
    r"|plus\s+tard|peut-[êe]tre\s+plus\s+tard|mejor\s+no|ahora\s+no|todav[ií]a\s+no|por\s+ahora\s+no"
    r"|de\s+momento\s+no|m[aá]s\s+tarde|quiz[aá]s?\s+m[aá]s\s+tarde)\b",
    re.IGNORECASE,
)
# A reply to a yes/no question that says yes without the model reading a "yes": it opens with
# an acceptance ("sure, you can pass it on", "that would be great", "volontiers", "me parece
# bien, gracias"), asks nothing and denies nothing.
ACCEPTANCE_START = re.compile(
    r"^\W*(?:yes|yeah|yep|yup|sure|ok|okay|o\.k\.|of\s+course|certainly|absolutely|definitely|please\s+do"
    r"|go\s+ahead|that\s+would\s+be\s+(?:great|good|nice|helpful|perfect)|sounds\s+good|perfect|fine|why\s+not"
    r"|oui|ouais|d'accord|dac|bien\s+s[ûu]r|volontiers|avec\s+plaisir|allez-y|vas-y|parfait|[çc]a\s+marche"
    r"|entendu|tr[èe]s\s+bien|pourquoi\s+pas|je\s+veux\s+bien|certainement|absolument"
    r"|s[ií]|claro|vale|de\s+acuerdo|por\s+supuesto|adelante|perfecto|me\s+parece\s+(?:bien|perfecto|genial)"
    r"|dale|bueno|con\s+gusto|encantad[oa]s?|desde\s+luego|est[aá]\s+bien|ok[aá]y?)\b",
    re.IGNORECASE,
)
# Readings that end the check, unless the message corrects an answer instead.
STOPPING = {"deny", "stop"}
# Readings of a reply to a yes/no question that the refusal check leaves as they are.
YES_OR_NO = {AFFIRM, DENY}
# A statement about the visitor's own organisation: it opens in the first person ("we", "our",
# "nous", "on", "nuestra"), or with a verb in the first person plural ("formons", "trabajamos").
FIRST_PERSON = re.compile(
    r"^\W*(?:we|we're|weve|we've|our|ours|i|i'm|im|my|us"
    r"|nous|on|notre|nos|je|j'|mon|ma|mes|moi"
    r"|nosotros|nosotras|nuestro|nuestra|nuestros|nuestras|yo|mi|mis|somos|estamos"
    r"|\w{2,}(?:amos|emos|imos|ons))\b",
    re.IGNORECASE,
)
# Readings of a statement that say the model saw no question in it.
DESCRIPTION_READINGS = {INFORM, UNSURE, "out_of_scope"}
FEWEST_DESCRIPTION_WORDS = 3
# The kinds of work (the knowledge base's ids) the APT's own topics name, for an answer to the
# kind-of-work question that the model read as a question on that topic, at least this surely.
WORK_BY_TOPIC = {
    "ask_capacity_building": "training",
    "ask_legal_instruments": "legal_reform",
    "ask_opcat": "npm_opcat",
    "ask_advocacy": "npm_opcat",
    "ask_victims_help": "victim_assistance",
}
SURE_TOPIC = 0.6
EMAIL_QUESTION = "contact_email"
NAME_QUESTION = "organisation_name"
NAME_CAPITALS = 2


def _intent(parsed: Dict[str, Any]) -> str:
    return str((parsed.get("intent") or {}).get("name") or "")


def _entities(parsed: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [e for e in parsed.get("entities") or [] if isinstance(e, dict)]


def _read_as(
    intent: str, parsed: Dict[str, Any], asked: str, entities: List[Dict[str, Any]]
) -> Dict[str, Any]:
    answer = copy.deepcopy(parsed)
    answer["intent"] = {"name": intent, "confidence": 1.0}
    others = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != intent]
    answer["intent_ranking"] = [{"name": intent, "confidence": 1.0}, *others]
    answer["entities"] = entities
    answer[ANSWER_TO] = asked
    return answer


def _as_inform(parsed: Dict[str, Any], asked: str, entities: List[Dict[str, Any]]) -> Dict[str, Any]:
    return _read_as(INFORM, parsed, asked, entities)


def is_description(text: str, intent: Optional[str] = None) -> bool:
    """Whether ``text`` reads as a statement about the visitor's own organisation or work rather
    than as a question or small talk: a few words that it does not deny ("I don't know", "je ne
    sais pas" say nothing of the work), asking nothing, and either in the first person or read
    by the model (``intent``, when known) as information or as nothing clear."""
    if len(affirmed(text).split()) < FEWEST_DESCRIPTION_WORDS or is_question_like(text):
        return False
    if intent is not None and intent in SMALL_TALK:
        return False
    return FIRST_PERSON.search(text) is not None or (intent is not None and intent in DESCRIPTION_READINGS)


def _yes_or_no(text: str, parsed: Dict[str, Any], asked: str) -> Optional[Dict[str, Any]]:
    """A reply to a yes/no question read as a "no" (a "stop", or one opening with a refusal) or
    as a "yes" (one opening with an acceptance and denying nothing after it). A correction
    ("no, I meant your budget") is neither: it is read for what was meant
    (``server/patches/focus.py``)."""
    intent = _intent(parsed)
    if intent in YES_OR_NO or is_question_like(text) or after_correction(text) is not None:
        return None
    asks_another_question = bool(intent) and intent not in SMALL_TALK | DESCRIPTION_READINGS
    if intent == "stop" or (REFUSAL_START.search(text) and not asks_another_question):
        # (not "no, I was asking how the APT itself is funded": a question, read as one)
        return _read_as(DENY, parsed, asked, _entities(parsed))
    if ACCEPTANCE_START.search(text) and fold(text).split() == affirmed(text).split():
        return _read_as(AFFIRM, parsed, asked, _entities(parsed))
    return None


def _option_answer(text: str, parsed: Dict[str, Any], asked: str) -> Optional[Dict[str, Any]]:
    partnership = load_knowledge_base().partnership
    option: Optional[Union[OrganisationType, WorkArea]] = (
        recognise(partnership.organisation_types, text)
        if asked == "organisation_type"
        else recognise(partnership.work_areas, text)
    )
    if option is None and asked == "work_area":
        option = _work_read_as_a_topic(parsed, partnership.work_areas)
    if option is None:
        described = asked == "work_area" and is_description(text, _intent(parsed))
        return (
            _as_inform(parsed, asked, _entities(parsed)) if described or _intent(parsed) == UNSURE else None
        )
    entities = [e for e in _entities(parsed) if e.get("entity") != asked]
    entities.append(
        {"entity": asked, "value": option.id, "start": 0, "end": len(text), "extractor": ANSWER_TO}
    )
    return _as_inform(parsed, asked, entities)


def _work_read_as_a_topic(parsed: Dict[str, Any], work_areas: List[WorkArea]) -> Optional[WorkArea]:
    """The kind of work an answer names that the model read, surely, as a question about the
    APT's own work of that kind ("plaidoyer pour la ratification du protocole" as the OPCAT):
    at the kind-of-work question, a statement on a topic is an answer on it."""
    wanted = WORK_BY_TOPIC.get(_intent(parsed))
    if wanted is None or _confidence(parsed) < SURE_TOPIC:
        return None
    return next((area for area in work_areas if area.id == wanted), None)


def _confidence(parsed: Dict[str, Any]) -> float:
    return float((parsed.get("intent") or {}).get("confidence") or 0.0)


def _names_work_with_detainees(text: str, parsed: Dict[str, Any], asked: str) -> bool:
    """An answer to the kind-of-work question that names one ("we visit detainees in police
    cells", "nous rendons visite aux détenus"): the cues of a disclosure (detention, "we") are
    what the question asks about. It stays a disclosure when the model read one."""
    if asked != "work_area" or _intent(parsed) == "disclose_abuse":
        return False
    return recognise(load_knowledge_base().partnership.work_areas, text) is not None


def _corrects_an_answer(text: str, parsed: Dict[str, Any]) -> bool:
    """Whether a "no" names an answer to one of the check's questions: a kind of organisation
    or of work it does not deny, or a country."""
    partnership = load_knowledge_base().partnership
    return (
        _names_a_country(parsed)
        or recognise(partnership.organisation_types, text) is not None
        or recognise(partnership.work_areas, text) is not None
    )


def _names_a_country(parsed: Dict[str, Any]) -> bool:
    return any(e.get("entity") == COUNTRY_ENTITY for e in _entities(parsed))


def _country_answer(text: str, parsed: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    named = _names_a_country(parsed)
    short = len(text.split()) <= MAX_SHORT_ANSWER_WORDS and _intent(parsed) not in SMALL_TALK
    if not (named or short or _intent(parsed) == UNSURE):
        return None
    return _as_inform(parsed, COUNTRY_QUESTION, _entities(parsed))


def _offer_answer(text: str, parsed: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """A reply to the offer that tells about the organisation, read as a yes."""
    if is_question_like(text) or _intent(parsed) in OFFER_REPLIES:
        return None
    partnership = load_knowledge_base().partnership
    names_an_option = (
        recognise(partnership.organisation_types, text) is not None
        or recognise(partnership.work_areas, text) is not None
    )
    informs_of_a_country = _names_a_country(parsed) and _intent(parsed) in (INFORM, UNSURE)
    if not (names_an_option or informs_of_a_country):
        return None
    return _read_as(AFFIRM, parsed, OFFER_QUESTION, _entities(parsed))


def as_answer(text: str, parsed: Dict[str, Any], asked: Optional[str]) -> Optional[Dict[str, Any]]:
    """``parsed`` read as the answer to the question ``asked`` (a form's requested slot), or
    None to keep the model's reading (see the module's docstring)."""
    text = (text or "").strip()
    if not asked or not text or text.startswith("/"):
        return None
    if reads_as_disclosure(text) and not _names_work_with_detainees(text, parsed, asked):
        return None  # a disclosure gets the careful answer, whatever was asked
    if asked == NAME_QUESTION:
        capitals = sum(1 for word in text.split()[1:] if word[:1].isupper())
        return _as_inform(parsed, asked, _entities(parsed)) if capitals >= NAME_CAPITALS else None
    if asked == EMAIL_QUESTION:
        return _as_inform(parsed, asked, _entities(parsed)) if EMAIL_SHAPE.search(text) else None
    if asked == OFFER_QUESTION:
        return _yes_or_no(text, parsed, asked) or _offer_answer(text, parsed)
    if asked not in (*OPTION_QUESTIONS, COUNTRY_QUESTION, CONSENT_QUESTION):
        return None
    about_a_named_place = _names_a_country(parsed) and _intent(parsed) in PLACE_READINGS
    if asked == CONSENT_QUESTION:
        # A country, kind of organisation or kind of work named there changes that answer
        # ("en fait nous sommes une université"); else a "yes" or a "no" is one.
        if about_a_named_place:
            return _as_inform(parsed, asked, _entities(parsed))
        answer = _yes_or_no(text, parsed, asked)
        # (not "no thanks, we are just a small NGO": a reply opening with a yes or a no is one,
        # unless it says it corrects: "no, I meant we are a university")
        opens_with_yes_or_no = REFUSAL_START.search(text) or ACCEPTANCE_START.search(text)
        corrects = after_correction(text) is not None or not opens_with_yes_or_no
        if answer is None and corrects and not is_question_like(text) and _corrects_an_answer(text, parsed):
            return _as_inform(parsed, asked, _entities(parsed))
        return answer
    if _intent(parsed) in STOPPING and _corrects_an_answer(text, parsed):
        # "no, we are a university, not an NGO": a correction, not a "no" that ends the check
        answer = _option_answer(text, parsed, asked) if asked in OPTION_QUESTIONS else None
        return answer or _as_inform(parsed, asked, _entities(parsed))
    follow_up = after_connective(text) is not None  # "and do you work in Peru?": asked, not answered
    if is_question_like(text) and (follow_up or not (asked == COUNTRY_QUESTION and about_a_named_place)):
        return None
    if asked == COUNTRY_QUESTION:
        return _country_answer(text, parsed)
    return _option_answer(text, parsed, asked)
