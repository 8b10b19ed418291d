"""The funding conversation: from "can you fund us?" to a recorded partnership enquiry.

funding_form asks the organisation type, country and kind of work (validated here against
the knowledge base), action_assess_partnership_fit explains the result, and, only after an
explicit yes, enquiry_form asks a name and an email that action_record_enquiry stores.
Values the visitor typed are validated before use and never echoed in a reply.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timezone
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from email_validator import EmailNotValidError, validate_email
from rasa_sdk import FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.base import KnowledgeAction, country_mentions
from actions.countries import CountryMatch, PlaceResolver
from actions.partnership import NOT_A_FIT, assess, explain
from content.knowledge import KnowledgeBase, OrganisationType, WorkArea
from language.focus import is_question_like
from language.form_answers import is_description
from language.options import Option, recognise
from storage.enquiries import MAX_NAME_LENGTH, Enquiry, InvalidEnquiry, is_plain_name, store_for

logger = logging.getLogger(__name__)

CONSENT_QUESTION = "utter_ask_enquiry_consent"
ABANDONED = "abandoned"
EMAIL_PATTERN = re.compile(r"\S+@\S+")
FUNDING_ANSWERS = ("organisation_type", "organisation_country", "work_area")

# Readings of a message that say something other than an answer: stop, or a disclosure.
NOT_AN_ANSWER = ("stop", "disclose_abuse")
# The offer of the check, after the funding question's answer ("Shall we?").
OFFER_RESPONSE = "utter_offer_partnership_check"
# The entity of the "Change ..." buttons shown before the consent question.
ANSWER_TO_CHANGE = "answer_to_change"
# The kind of work a description that names none of the others is taken as.
OTHER_WORK = "other"


def _first_text(value: Any) -> str:
    """Slots filled from entities may hold a list; a button payload may hold anything."""
    if isinstance(value, list):
        value = value[-1] if value else ""
    return value if isinstance(value, str) else ""


def _answer_text(tracker: Tracker) -> str:
    """The latest message's whole text, unless it is a button payload: an entity the model
    found in it may be a part that names no option alone ("comisarías")."""
    text = tracker.latest_message.get("text") or ""
    return "" if text.startswith("/") else text


def stated_countries(tracker: Tracker) -> List[str]:
    """The country names the latest message states, leaving out those it negates."""
    return country_mentions(tracker)[0]


def answers_the_offer(tracker: Tracker) -> bool:
    """Whether the latest message replies to the offer of the check (the assistant's message
    just before it): the form is being started by a reply that may tell about the
    organisation ("we are a small NGO from Benin", read as a yes: language/form_answers.py)."""
    events = list(tracker.events)
    users = [i for i, e in enumerate(events) if e.get("event") == "user"]
    if not users or tracker.get_slot("requested_slot"):
        return False
    for event in reversed(events[: users[-1]]):
        if event.get("event") == "user":
            return False
        if event.get("event") == "bot":
            return (event.get("metadata") or {}).get("utter_action") == OFFER_RESPONSE
    return False


def typed_option(tracker: Tracker, slot: str, options: Sequence[Option]) -> Dict[str, Any]:
    """The latest message as the answer to ``slot`` when the form asks for it, nothing filled
    it, and it names one of ``options`` without asking anything: "we're a law faculty" or
    "mostly training judges" read by the NLU as another question ("do you train judges?")
    are still answers. A question ("what is the OPCAT?"), a "stop" or a button are left to
    the form's other paths."""
    asked = tracker.get_slot("requested_slot") == slot
    if not (asked or answers_the_offer(tracker)) or tracker.get_slot(slot):
        return {}
    text = tracker.latest_message.get("text") or ""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if not text or text.startswith("/") or intent in NOT_AN_ANSWER or is_question_like(text):
        return {}
    return {slot: text} if recognise(options, text) is not None else {}


def corrects_the_country(tracker: Tracker) -> bool:
    """Whether the latest message names a country while another question was asked."""
    return bool(stated_countries(tracker)) and tracker.get_slot("requested_slot") != "organisation_country"


class ValidateFundingForm(KnowledgeAction, FormValidationAction):
    """Turns free answers into the knowledge base's options; an answer it cannot read
    empties the slot so that the form asks again, with the options as buttons."""

    def name(self) -> str:
        return "validate_funding_form"

    def extract_organisation_type(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        return typed_option(tracker, "organisation_type", self.knowledge.partnership.organisation_types)

    def extract_work_area(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        return typed_option(tracker, "work_area", self.knowledge.partnership.work_areas)

    def extract_organisation_country(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        """The country a reply to the offer told ("somos una ONG de Perú"); while the form asks,
        the domain's mappings read it."""
        stated = stated_countries(tracker) if answers_the_offer(tracker) else []
        return {"organisation_country": stated[0]} if len(stated) == 1 else {}

    def validate_organisation_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        partnership = self.knowledge.partnership
        other = ("work_area", partial(_id_of, partnership.work_areas))
        return _option_or_ask_again(
            "organisation_type", partnership.organisation_types, value, dispatcher, tracker, other
        )

    def validate_organisation_country(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        stated = stated_countries(tracker)
        if len(stated) == 1:  # "we are in Togo, not Benin": the one not negated
            matches = self.places.countries("", stated)
        else:
            text = _first_text(value)
            matches = self.places.countries(text, [text])
        if len(matches) != 1:
            if not _asked(tracker, "organisation_country"):
                return {"organisation_country": _before_this_message(tracker, "organisation_country")}
            dispatcher.utter_message(response="utter_unrecognised_country")
            return {"organisation_country": None}
        return {"organisation_country": matches[0].iso3}

    def validate_work_area(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        partnership = self.knowledge.partnership
        other = ("organisation_type", partial(_id_of, partnership.organisation_types))
        return _option_or_ask_again("work_area", partnership.work_areas, value, dispatcher, tracker, other)


def _before_this_message(tracker: Tracker, slot: str) -> Any:
    """The slot's value before the latest message: a validator's tracker already holds the
    values extracted from it, valid or not."""
    events = list(tracker.events)
    last_user = max((i for i, e in enumerate(events) if e.get("event") == "user"), default=len(events))
    for event in reversed(events[:last_user]):
        if event.get("event") == "slot" and event.get("name") == slot:
            return event.get("value")
    return None


def _asked(tracker: Tracker, slot: str) -> bool:
    return tracker.get_slot("requested_slot") == slot


def _id_of(options: Sequence[Option], text: str) -> Optional[str]:
    option = recognise(options, text)
    return option.id if option is not None else None


def _option_or_ask_again(
    slot: str,
    options: Sequence[Option],
    value: Any,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    other: Optional[Tuple[str, Callable[[str], Optional[str]]]] = None,
) -> Dict[str, Any]:
    """The option the value names, or, for the question asked, the option the whole message
    names (the model's entity may be a part of the answer that names none alone). Nothing
    recognised: the question asked says so and is asked again (unless the message corrected
    the country); a value for another question is dropped without a word, keeping an answer
    given before ("our office is in Lagos" must not undo "we are an association"). A message
    that answers the ``other`` question instead ("we are an NGO" when the kind of work is
    asked) changes that answer, and the question asked is asked again without a complaint; one
    that names the answer already given ("as an NGO we document prison conditions") is read
    for the question asked.
    A description of the visitor's work that names no kind of work ("we run radio programmes
    on human rights") is "other work": the question is open, its buttons only examples
    (but "we are based in Togo, not Benin" corrects the country, and the work is asked again)."""
    asked = _asked(tracker, slot)
    option = recognise(options, _first_text(value))
    if option is None and asked:
        option = recognise(options, _answer_text(tracker))
    if option is not None:
        return {slot: option.id}
    if not asked:
        return {slot: _before_this_message(tracker, slot)}  # an answer given before stays
    answered = other[1](_answer_text(tracker)) if other is not None else None
    if other is not None and answered is not None and answered != tracker.get_slot(other[0]):
        return {slot: None, other[0]: answered}
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    describes_work = slot == "work_area" and is_description(_answer_text(tracker), intent)
    if describes_work and not corrects_the_country(tracker):
        return {slot: OTHER_WORK}
    if not corrects_the_country(tracker) and slot == "organisation_type":
        dispatcher.utter_message(response="utter_unrecognised_organisation_type")
    elif not corrects_the_country(tracker):
        dispatcher.utter_message(response="utter_unrecognised_work_area")
    return {slot: None}


class ActionAssessPartnershipFit(KnowledgeAction):
    def name(self) -> str:
        return "action_assess_partnership_fit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        answers = _partnership_answers(self.knowledge, self.places, tracker)
        if answers is None:
            dispatcher.utter_message(response="utter_partnership_answers_lost")
            return [SlotSet("partnership_fit", None)]
        assessment = assess(self.knowledge, *answers)
        explain(dispatcher, self.knowledge_for(tracker), assessment)
        if assessment.level != NOT_A_FIT:
            # The answers are restated above; before the consent question, a way to change them.
            dispatcher.utter_message(response="utter_change_answers")
        return [SlotSet("partnership_fit", assessment.level)]


class ActionChangeAnswer(KnowledgeAction):
    """An answer changed after the assessment, before consenting: a "Change ..." button asks
    that question again (the form, with that answer emptied); a typed country ("actually we
    are in Togo"), kind of organisation ("en fait nous sommes une université") or kind of work
    replaces that answer and the fit is assessed again."""

    def name(self) -> str:
        return "action_change_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        chosen = next(
            (
                e.get("value")
                for e in tracker.latest_message.get("entities") or []
                if e.get("entity") == ANSWER_TO_CHANGE and e.get("value") in FUNDING_ANSWERS
            ),
            None,
        )
        if chosen:
            return [
                SlotSet(str(chosen), None),
                SlotSet("partnership_fit", None),
                FollowupAction("funding_form"),
            ]
        changed: List[EventType] = []
        matches = self.places.countries("", stated_countries(tracker))
        if len(matches) == 1:
            changed.append(SlotSet("organisation_country", matches[0].iso3))
        partnership, text = self.knowledge.partnership, _answer_text(tracker)
        named = {
            "organisation_type": _id_of(partnership.organisation_types, text),
            "work_area": _id_of(partnership.work_areas, text),
        }
        changed += [
            SlotSet(slot, value)
            for slot, value in named.items()
            if value is not None and value != tracker.get_slot(slot)
        ]
        if changed:
            return [*changed, FollowupAction("action_assess_partnership_fit")]
        dispatcher.utter_message(response="utter_change_answers")
        return []


def _partnership_answers(
    knowledge: KnowledgeBase, places: PlaceResolver, tracker: Tracker
) -> Optional[Tuple[OrganisationType, CountryMatch, WorkArea]]:
    """The three validated answers of funding_form, or None if one is missing."""
    organisation = knowledge.partnership.organisation_type(tracker.get_slot("organisation_type") or "")
    work = knowledge.partnership.work_area(tracker.get_slot("work_area") or "")
    country = places.by_code(tracker.get_slot("organisation_country") or "")
    if organisation is None or work is None or country is None:
        return None
    return organisation, country, work


def consent_time(tracker: Tracker) -> Optional[float]:
    """When the visitor said yes to the consent question, or None if they did not.

    Read from the conversation itself: the bot asked the consent question and the very next
    user message was a yes (affirm), so a slot set by a crafted message cannot fake it.
    """
    asked = False
    for event in tracker.events:
        if (
            event.get("event") == "bot"
            and (event.get("metadata") or {}).get("utter_action") == CONSENT_QUESTION
        ):
            asked = True
        elif event.get("event") == "user":
            intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if asked and intent == "affirm":
                consented = event.get("timestamp")
                return float(consented) if consented is not None else None
            asked = False
    return None


def _asks_instead(text: str) -> bool:
    """Whether an answer to the name or e-mail question is a question instead ("what will you
    do with my email?"): it is answered with why they are asked, not stored as a name or
    counted as a wrong address. It ends with "?", or starts like a question with no capital
    after its first word ("Can-Do Youth Network" and "Que Hacer A.C." are names)."""
    words = text.split()
    if len(words) < 2:
        return False
    lower_case = not any(word[:1].isupper() for word in words[1:])
    return text.rstrip().endswith("?") or (is_question_like(text) and lower_case)


class ValidateEnquiryForm(FormValidationAction):
    def name(self) -> str:
        return "validate_enquiry_form"

    async def required_slots(
        self, domain_slots: List[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[str]:
        # After a second unreadable email address the form ends without storing anything.
        return [] if tracker.get_slot("enquiry_status") == ABANDONED else domain_slots

    def validate_organisation_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        name = " ".join(_first_text(value).split())
        if _asks_instead(name):
            dispatcher.utter_message(response="utter_enquiry_details_why")
            return {"organisation_name": None}
        if not is_plain_name(name, MAX_NAME_LENGTH):
            dispatcher.utter_message(response="utter_invalid_organisation_name", max_length=MAX_NAME_LENGTH)
            return {"organisation_name": None}
        return {"organisation_name": name}

    def validate_contact_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[str, Any]:
        if _asks_instead(_first_text(value)) and not EMAIL_PATTERN.search(_first_text(value)):
            dispatcher.utter_message(response="utter_enquiry_details_why")  # not a wrong address
            return {"contact_email": None}
        candidates = EMAIL_PATTERN.findall(_first_text(value)) or [_first_text(value)]
        for candidate in candidates:
            try:
                checked = validate_email(candidate.strip(".,;:()<>"), check_deliverability=False)
                return {"contact_email": checked.normalized}
            except EmailNotValidError:
                continue
        if tracker.get_slot("email_retry"):
            dispatcher.utter_message(response="utter_invalid_email_given_up")
            return {"contact_email": None, "enquiry_status": ABANDONED}
        dispatcher.utter_message(response="utter_invalid_email")
        return {"contact_email": None, "email_retry": True}


class ActionRecordEnquiry(KnowledgeAction):
    """Stores the enquiry, only with consent and only with every answer validated."""

    def name(self) -> str:
        return "action_record_enquiry"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        reset = [
            SlotSet("email_retry", None),
            SlotSet("organisation_name", None),
            SlotSet("contact_email", None),
        ]
        if tracker.get_slot("enquiry_status") == ABANDONED:
            return [*reset, SlotSet("enquiry_status", None)]
        consented_at = consent_time(tracker)
        answers = _partnership_answers(self.knowledge, self.places, tracker)
        name, email = tracker.get_slot("organisation_name"), tracker.get_slot("contact_email")
        if consented_at is None or answers is None or not name or not email:
            dispatcher.utter_message(response="utter_enquiry_incomplete")
            return [*reset, SlotSet("enquiry_status", None)]
        organisation, country, work = answers
        enquiry = Enquiry(
            conversation_id=tracker.sender_id,
            organisation_type=organisation.id,
            country_iso3=country.iso3,
            country=country.name,
            work_area=work.id,
            # Assessed again here: a slot is whatever the last call to this server said.
            fit=assess(self.knowledge, *answers).level,
            organisation_name=name,
            email=email,
            consent=True,
            consent_at=datetime.fromtimestamp(consented_at, timezone.utc).isoformat(timespec="seconds"),
        )
        try:
            store_for().record(enquiry)
        except InvalidEnquiry as error:
            logger.warning("%s", error)
            dispatcher.utter_message(response="utter_enquiry_incomplete")
            return [*reset, SlotSet("enquiry_status", None)]
        dispatcher.utter_message(response="utter_enquiry_recorded")
        dispatcher.utter_message(response="utter_no_funding_promised")
        return [*reset, SlotSet("enquiry_status", "recorded")]
