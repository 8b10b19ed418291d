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
  as a question ("¿Perú cuenta?"), provided the model read it as about a place; and **after the
  assessment**, where the consent question invites changing an answer ("we are based in
  Togo"), a message naming a country that the model read as a question about that place
  changes the country.
- **Organisation name**: any text answers it, but for a "stop" or a "no"; a name that the model
  reads as one ("No Más Tortura", "Stop Torture Now") is still a name: it has at least
  ``NAME_CAPITALS`` words with a capital letter after the first.
- **Contact e-mail**: the message holds something shaped like an address (a "no-reply@..."
  is not a "no").

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
from language.focus import is_question_like
from language.options import recognise

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
OFFER_REPLIES = {AFFIRM, "deny", "stop"}
EMAIL_QUESTION = "contact_email"
NAME_QUESTION = "organisation_name"
NAME_CAPITALS = 2


def _intent(parsed: Dict[str, Any]) -> str:
    return str((parsed.get("intent") or {}).get("name") or "")


def _entities(parsed: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [e for e in parsed.get("entities") or [] if isinstance(e, dict)]


def _as_inform(parsed: Dict[str, Any], asked: str, entities: List[Dict[str, Any]]) -> Dict[str, Any]:
    answer = copy.deepcopy(parsed)
    confidence = 1.0
    answer["intent"] = {"name": INFORM, "confidence": confidence}
    others = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != INFORM]
    answer["intent_ranking"] = [{"name": INFORM, "confidence": confidence}, *others]
    answer["entities"] = entities
    answer[ANSWER_TO] = asked
    return answer


def _option_answer(text: str, parsed: Dict[str, Any], asked: str) -> Optional[Dict[str, Any]]:
    partnership = load_knowledge_base().partnership
    option: Optional[Union[OrganisationType, WorkArea]] = (
        recognise(partnership.organisation_types, text)
        if asked == "organisation_type"
        else recognise(partnership.work_areas, text)
    )
    if option is None:
        return _as_inform(parsed, asked, _entities(parsed)) if _intent(parsed) == UNSURE else None
    entities = [e for e in _entities(parsed) if e.get("entity") != asked]
    entities.append(
        {"entity": asked, "value": option.id, "start": 0, "end": len(text), "extractor": ANSWER_TO}
    )
    return _as_inform(parsed, asked, entities)


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
    answer = _as_inform(parsed, OFFER_QUESTION, _entities(parsed))
    answer["intent"] = {"name": AFFIRM, "confidence": 1.0}
    others = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != AFFIRM]
    answer["intent_ranking"] = [{"name": AFFIRM, "confidence": 1.0}, *others]
    return answer


def as_answer(text: str, parsed: Dict[str, Any], asked: Optional[str]) -> Optional[Dict[str, Any]]:
    """``parsed`` read as the answer to the question ``asked`` (a form's requested slot), or
    None to keep the model's reading (see the module's docstring)."""
    text = (text or "").strip()
    if not asked or not text or text.startswith("/") or reads_as_disclosure(text):
        return None  # a disclosure gets the careful answer, whatever was asked
    if asked == NAME_QUESTION:
        capitals = sum(1 for word in text.split()[1:] if word[:1].isupper())
        return _as_inform(parsed, asked, _entities(parsed)) if capitals >= NAME_CAPITALS else None
    if asked == EMAIL_QUESTION:
        return _as_inform(parsed, asked, _entities(parsed)) if EMAIL_SHAPE.search(text) else None
    if asked == OFFER_QUESTION:
        return _offer_answer(text, parsed)
    if asked not in (*OPTION_QUESTIONS, COUNTRY_QUESTION, CONSENT_QUESTION):
        return None
    about_a_named_place = _names_a_country(parsed) and _intent(parsed) in PLACE_READINGS
    if asked == CONSENT_QUESTION:
        return _as_inform(parsed, asked, _entities(parsed)) if about_a_named_place else None
    if is_question_like(text) and not (asked == COUNTRY_QUESTION and about_a_named_place):
        return None
    if asked == COUNTRY_QUESTION:
        return _country_answer(text, parsed)
    return _option_answer(text, parsed, asked)
