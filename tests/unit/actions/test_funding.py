"""The funding conversation: slot validation, the fit assessment, consent and storage."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.countries import PlaceResolver
from actions.funding import (
    ABANDONED,
    ActionAssessPartnershipFit,
    ActionChangeAnswer,
    ActionRecordEnquiry,
    ValidateEnquiryForm,
    ValidateFundingForm,
    consent_time,
)
from actions.partnership import LIKELY, NOT_A_FIT, PARTIAL, Assessment, assess, explain
from apt_settings import ROOT
from content.knowledge import KnowledgeBase
from language.options import recognise
from storage import schema
from storage.database import engine_for
from storage.enquiries import Enquiry, EnquiryStore, export_csv
from tests.support.trackers import make_tracker
from tests.unit.actions.test_wording import texts

CONSENT_AT = "2026-12-01T10:00:00+00:00"


@pytest.fixture
def form(knowledge: KnowledgeBase, places: PlaceResolver) -> ValidateFundingForm:
    return ValidateFundingForm(knowledge, places)


# -- recognising answers ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("ngo", "ngo"), ("We are an NGO", "ngo"), ("a small charity", "ngo"),
        ("civil society organisation", "ngo"),
        ("nhri", "nhri"), ("the national human rights institution", "nhri"), ("Ombudsman office", "nhri"),
        ("state_body", "state_body"), ("the Ministry of Justice", "state_body"),
        ("government agency", "state_body"),
        ("a university", "academic"), ("universty", "academic"), ("research institute", "academic"),
        ("other", "other"),
        # French and Spanish, the buttons' own titles typed, accents or not.
        ("ONG", "ngo"), ("une association", "ngo"), ("nous sommes une petite ONG", "ngo"),
        ("una asociación de mujeres", "ngo"), ("Institution nationale des droits humains", "nhri"),
        ("defensoria del pueblo", "nhri"), ("Ministère ou organisme public", "state_body"),
        ("el ministerio de justicia", "state_body"), ("Institution académique", "academic"),
        ("una institución académica", "academic"), ("institucion academica", "academic"),
        ("somos una universidad", "academic"), ("Autre", "other"), ("Otra", "other"),
    ],
)  # fmt: skip
def test_organisation_type_is_recognised(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher, answer: str, expected: str
) -> None:
    result = form.validate_organisation_type(answer, dispatcher, make_tracker(), {})
    assert result == {"organisation_type": expected}
    assert dispatcher.messages == []


@pytest.mark.parametrize("answer", ["", "banana", "<script>alert(1)</script>", None, 42, ["x"]])
def test_unreadable_organisation_type_is_asked_again(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher, answer: Any
) -> None:
    asked = make_tracker(slots={"requested_slot": "organisation_type"})
    assert form.validate_organisation_type(answer, dispatcher, asked, {}) == {"organisation_type": None}
    assert texts(dispatcher) == ["Sorry, I didn't recognise that kind of organisation."]


def test_unreadable_work_area_is_asked_again(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher
) -> None:
    asked = make_tracker(slots={"requested_slot": "work_area"})
    assert form.validate_work_area("banana", dispatcher, asked, {}) == {"work_area": None}
    assert texts(dispatcher) == ["Sorry, I didn't recognise that kind of work."]


def test_an_unreadable_value_for_a_question_not_asked_is_dropped_without_a_word(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher
) -> None:
    """The model found a "work area" in an answer about the organisation ("a network of mothers
    of detainees"): nothing is said about it; the work is asked in its turn."""
    asked = make_tracker(
        text="a network of mothers of detainees", slots={"requested_slot": "organisation_type"}
    )
    assert form.validate_work_area("detainees", dispatcher, asked, {}) == {"work_area": None}
    assert form.validate_organisation_country("mothers", dispatcher, asked, {}) == {
        "organisation_country": None
    }
    assert dispatcher.messages == []


def test_an_answer_given_before_stays_when_a_later_message_holds_an_unreadable_one(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher
) -> None:
    """The validator's tracker already holds the new candidates ("office" of "our office is
    in Lagos"): the value before the message is kept, not the candidate."""
    events = [
        {"event": "slot", "name": "organisation_type", "value": "ngo"},
        {"event": "slot", "name": "work_area", "value": "training"},
        {"event": "user", "text": "our office is in Lagos"},
        {"event": "slot", "name": "organisation_type", "value": "office"},
        {"event": "slot", "name": "work_area", "value": "office"},
    ]
    slots = {"requested_slot": "organisation_country", "organisation_type": "office", "work_area": "office"}
    message = {
        "text": "our office is in Lagos",
        "intent": {"name": "inform", "confidence": 1.0},
        "entities": [],
    }
    asked = Tracker("test-sender", slots, message, events, False, None, {}, "action_listen")
    assert form.validate_organisation_type("office", dispatcher, asked, {}) == {"organisation_type": "ngo"}
    assert form.validate_work_area("office", dispatcher, asked, {}) == {"work_area": "training"}
    assert dispatcher.messages == []


@pytest.mark.parametrize(
    ("asked", "text", "changed"),
    [
        ("work_area", "on est une ONG", {"organisation_type": "ngo"}),
        ("work_area", "we are actually a university", {"organisation_type": "academic"}),
        ("organisation_type", "nos dedicamos a la reforma del código penal", {"work_area": "legal_reform"}),
    ],
)
def test_an_answer_to_the_other_question_changes_it_and_the_question_is_asked_again(
    form: ValidateFundingForm,
    dispatcher: CollectingDispatcher,
    asked: str,
    text: str,
    changed: Dict[str, str],
) -> None:
    """The visitor answers what they think was asked: taken as that answer, and the question
    asked comes again, without "I didn't recognise"."""
    tracker = make_tracker(text=text, slots={"requested_slot": asked})
    validate = form.validate_work_area if asked == "work_area" else form.validate_organisation_type
    assert validate(text, dispatcher, tracker, {}) == {asked: None, **changed}
    assert texts(dispatcher) == []


@pytest.mark.parametrize(
    "text",
    [
        "we run radio programmes on the rights of people in custody",
        "nous produisons des émissions de radio sur les droits des détenus",
        "hacemos programas de radio sobre los derechos de las personas presas",
        "nothing we do fits those, we mostly write reports",
    ],
)
def test_a_description_of_work_that_names_no_kind_is_other_work(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher, knowledge: KnowledgeBase, text: str
) -> None:
    """The question is open; its buttons are examples: a visitor who describes their work is
    not told it was not recognised (the fundraising team reads the enquiry)."""
    tracker = make_tracker(text=text, intent="inform", slots={"requested_slot": "work_area"})
    assert form.validate_work_area(text, dispatcher, tracker, {}) == {"work_area": "other"}
    assert knowledge.partnership.work_area("other") is not None
    assert texts(dispatcher) == []


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("banana split", "inform"),
        ("radio", "inform"),
        ("what now?", "inform"),
        ("I don't know", "inform"),  # says nothing of the work: the options are shown again
        ("je ne sais pas trop", "out_of_scope"),
        ("no estoy seguro la verdad", "nlu_fallback"),
    ],
)
def test_a_word_or_a_question_is_not_a_description(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher, text: str, intent: str
) -> None:
    tracker = make_tracker(text=text, intent=intent, slots={"requested_slot": "work_area"})
    assert form.validate_work_area(text, dispatcher, tracker, {}) == {"work_area": None}
    assert texts(dispatcher) == ["Sorry, I didn't recognise that kind of work."]


def test_the_whole_answer_is_read_when_the_models_part_names_no_option(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher
) -> None:
    asked = make_tracker(
        text="vigilamos las comisarías y las cárceles", slots={"requested_slot": "work_area"}
    )
    assert form.validate_work_area("comisarías", dispatcher, asked, {}) == {
        "work_area": "detention_monitoring"
    }


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("detention_monitoring", "detention_monitoring"), ("prison visits", "detention_monitoring"),
        ("legal reform", "legal_reform"), ("training judges", "training"), ("police training", "training"),
        ("OPCAT implementation", "npm_opcat"), ("our NPM", "npm_opcat"),
        ("rehabilitation for survivors", "victim_assistance"), ("legal aid to victims", "victim_assistance"),
        ("media campaigns", "other"),
        ("Monitoring de la détention", "detention_monitoring"),
        ("nous visitons les prisons", "detention_monitoring"),
        ("monitoreo de carceles", "detention_monitoring"), ("Réforme juridique", "legal_reform"),
        ("reforma legislativa", "legal_reform"), ("on forme des policiers", "training"),
        ("Formación de la policía o del poder judicial", "training"), ("capacitamos policías", "training"),
        ("Mécanisme national de prévention / OPCAT", "npm_opcat"), ("el MNPT", "npm_opcat"),
        ("Asistencia a las víctimas", "victim_assistance"), ("aide juridique", "victim_assistance"),
    ],
)  # fmt: skip
def test_work_area_is_recognised(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher, answer: str, expected: str
) -> None:
    assert form.validate_work_area(answer, dispatcher, make_tracker(), {}) == {"work_area": expected}


@pytest.mark.parametrize(
    ("slot", "text", "intent", "expected"),
    [
        ("organisation_type", "on est une fac de droit", "ask_activity", "academic"),
        ("organisation_type", "somos una facultad de derecho", "nlu_fallback", "academic"),
        ("work_area", "mostly training judges on legal safeguards", "ask_activity", "training"),
        ("work_area", "réforme du code pénal", "nlu_fallback", "legal_reform"),
        ("work_area", "setting up the NPM under the OPCAT", "ask_opcat", "npm_opcat"),
    ],
)
def test_a_typed_answer_the_nlu_read_as_another_question_is_still_the_answer(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher, slot: str, text: str, intent: str,
    expected: str,
) -> None:  # fmt: skip
    tracker = make_tracker(text=text, intent=intent, slots={"requested_slot": slot})
    extract = getattr(form, f"extract_{slot}")
    assert extract(dispatcher, tracker, {}) == {slot: text}
    validate = getattr(form, f"validate_{slot}")
    assert validate(text, dispatcher, tracker, {}) == {slot: expected}


@pytest.mark.parametrize(
    ("slot", "text", "intent", "slots"),
    [
        ("work_area", "what is the OPCAT?", "ask_opcat", {}),  # a question: answered, then asked again
        ("work_area", "est-ce que vous formez des policiers", "ask_activity", {}),
        ("organisation_type", "stop, we are an NGO", "stop", {}),
        ("organisation_type", "we are an NGO", "inform", {"organisation_type": "ngo"}),  # filled
        ("organisation_type", "we are an NGO", "inform", {"requested_slot": "work_area"}),  # not asked
        ("work_area", "banana bread", "nlu_fallback", {}),
    ],
)
def test_questions_stops_and_unreadable_text_are_not_taken_as_answers(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher, slot: str, text: str, intent: str,
    slots: Dict[str, Any],
) -> None:  # fmt: skip
    tracker = make_tracker(text=text, intent=intent, slots={"requested_slot": slot, **slots})
    assert getattr(form, f"extract_{slot}")(dispatcher, tracker, {}) == {}
    assert dispatcher.messages == []


COUNTRY_ANSWERS = [
    ("Kenya", "KEN"),
    ("Keyna", "KEN"),
    ("we are in Viet Nam", "VNM"),
    ("Norway", "NOR"),
    (["Uganda"], "UGA"),
]


@pytest.mark.parametrize(("answer", "iso3"), COUNTRY_ANSWERS)
def test_country_is_normalised_to_its_code(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher, answer: Any, iso3: str
) -> None:
    assert form.validate_organisation_country(answer, dispatcher, make_tracker(), {}) == {
        "organisation_country": iso3
    }


@pytest.mark.parametrize("answer", ["Narnia", "asdf", "Kenya and Uganda", "<b>x</b>"])
def test_unknown_or_several_countries_are_asked_again(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher, answer: str
) -> None:
    asked = make_tracker(slots={"requested_slot": "organisation_country"})
    assert form.validate_organisation_country(answer, dispatcher, asked, {}) == {"organisation_country": None}
    [text] = texts(dispatcher)
    assert "<" not in text and "didn't recognise one country" in text


def test_button_options_exist_in_the_knowledge_base(knowledge: KnowledgeBase) -> None:
    import yaml

    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    payloads = [
        b["payload"]
        for name in ("utter_ask_organisation_type", "utter_ask_work_area")
        for b in domain["responses"][name][0]["buttons"]
    ]
    types = {t.id for t in knowledge.partnership.organisation_types}
    areas = {a.id for a in knowledge.partnership.work_areas}
    for payload in payloads:
        value = payload.split('": "')[1].rstrip('"}')
        assert value in types | areas, payload


# -- the assessment -----------------------------------------------------------------------------


def assessment(knowledge: KnowledgeBase, places: PlaceResolver, org: str, iso3: str, work: str) -> Assessment:
    organisation = knowledge.partnership.organisation_type(org)
    area = knowledge.partnership.work_area(work)
    country = places.by_code(iso3)
    assert organisation is not None and area is not None and country is not None
    return assess(knowledge, organisation, country, area)


def reasons(knowledge: KnowledgeBase, result: Assessment) -> List[str]:
    """What the visitor reads about an assessment, one message each."""
    dispatcher = CollectingDispatcher()
    explain(dispatcher, knowledge, result)
    return texts(dispatcher)


def test_ngo_in_a_listed_country_doing_monitoring_is_a_likely_fit(
    knowledge: KnowledgeBase, places: PlaceResolver
) -> None:
    result = assessment(knowledge, places, "ngo", "KEN", "detention_monitoring")
    assert result.level == LIKELY
    assert reasons(knowledge, result) == [
        "This looks like a likely fit for a joint project with the APT.",
        "Organisation: the APT works with a non-governmental organisation (NGO), among other partners.",
        "Country: Kenya is among the countries where the APT works (Eastern Africa).",
        "Work: detention monitoring matches the APT's work on transparency in institutions.",
        "The APT does not fund organisations directly: a joint project would be developed together, "
        "with funds raised jointly, and nothing is promised at this stage.",
    ]


@pytest.mark.parametrize(
    ("org", "iso3", "work", "why"),
    [
        ("ngo", "NOR", "legal_reform", "Norway is not among the countries listed"),
        ("other", "KEN", "training", "the APT's partners are"),
        ("academic", "PER", "other", "I can't tell whether it matches"),
    ],
)
def test_partial_fit_says_why(
    knowledge: KnowledgeBase, places: PlaceResolver, org: str, iso3: str, work: str, why: str
) -> None:
    result = assessment(knowledge, places, org, iso3, work)
    assert result.level == PARTIAL
    explained = reasons(knowledge, result)
    assert explained[0] == "This could be a partial fit for a joint project with the APT:"
    assert any(why in r for r in explained)


def test_victim_assistance_is_not_a_fit_and_points_elsewhere(
    knowledge: KnowledgeBase, places: PlaceResolver
) -> None:
    result = assessment(knowledge, places, "ngo", "KEN", "victim_assistance")
    assert result.level == NOT_A_FIT
    explained = reasons(knowledge, result)
    assert explained[0] == "This does not look like a fit for a project with the APT:"
    assert any("Other NGOs offer legal and medical assistance" in r for r in explained)
    assert not any("does not fund" in r for r in explained)


def test_assess_action_explains_and_never_promises_money(
    knowledge: KnowledgeBase, places: PlaceResolver, dispatcher: CollectingDispatcher
) -> None:
    tracker = make_tracker(
        slots={"organisation_type": "nhri", "organisation_country": "ARG", "work_area": "npm_opcat"}
    )
    events = asyncio.run(ActionAssessPartnershipFit(knowledge, places).run(dispatcher, tracker, {}))
    assert events == [SlotSet("partnership_fit", LIKELY)]
    text = "\n".join(texts(dispatcher))
    assert text.startswith("This looks like a likely fit") and "does not fund organisations directly" in text
    assert "grant" not in text.lower()


def test_recognise_prefers_the_longest_alias(knowledge: KnowledgeBase) -> None:
    option = recognise(knowledge.partnership.work_areas, "legal aid to victims and legal reform")
    assert option is not None and option.id == "victim_assistance"


# -- contact details ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "email"),
    [("jane@example.org", "jane@example.org"), ("my email is Jane.Doe@Example.ORG.", "Jane.Doe@example.org")],
)
def test_valid_email_is_kept(dispatcher: CollectingDispatcher, answer: str, email: str) -> None:
    assert ValidateEnquiryForm().validate_contact_email(answer, dispatcher, make_tracker(), {}) == {
        "contact_email": email
    }


def test_invalid_email_is_asked_again_once_then_given_up(dispatcher: CollectingDispatcher) -> None:
    form = ValidateEnquiryForm()
    first = form.validate_contact_email("jane at example", dispatcher, make_tracker(), {})
    assert first == {"contact_email": None, "email_retry": True}
    second = form.validate_contact_email(
        "still@wrong", dispatcher, make_tracker(slots={"email_retry": True}), {}
    )
    assert second == {"contact_email": None, "enquiry_status": ABANDONED}
    assert texts(dispatcher)[0].startswith("That doesn't look like a valid email address")
    assert "have not stored anything" in texts(dispatcher)[-1]
    required = asyncio.run(
        form.required_slots(["organisation_name", "contact_email"], dispatcher,
                            make_tracker(slots={"enquiry_status": ABANDONED}), {})
    )  # fmt: skip
    assert required == []


@pytest.mark.parametrize("name", ["", " ", "x", "123", "a" * 201, "bad\x00name"])
def test_unusable_organisation_name_is_asked_again(dispatcher: CollectingDispatcher, name: str) -> None:
    assert ValidateEnquiryForm().validate_organisation_name(name, dispatcher, make_tracker(), {}) == {
        "organisation_name": None
    }
    assert texts(dispatcher) == ["Please type your organisation's name (up to 200 characters)."]


@pytest.mark.parametrize(
    ("slot", "text"),
    [
        ("organisation_name", "wait, what will you do with my email?"),
        ("organisation_name", "who will read it"),
        ("contact_email", "pourquoi avez-vous besoin de mon adresse ?"),
        ("contact_email", "¿para qué lo necesitan?"),
    ],
)
def test_a_question_instead_of_a_name_or_an_address_is_answered_and_not_stored(
    dispatcher: CollectingDispatcher, slot: str, text: str
) -> None:
    """It was stored as the organisation's name; at the e-mail question it counted as a wrong
    address, and a second one ended the enquiry."""
    form = ValidateEnquiryForm()
    validate = form.validate_organisation_name if slot == "organisation_name" else form.validate_contact_email
    assert validate(text, dispatcher, make_tracker(text=text), {}) == {slot: None}
    assert [m["response"] for m in dispatcher.messages] == ["utter_enquiry_details_why"]


@pytest.mark.parametrize(
    "name", ["Can-Do Youth Network", "Que Hacer A.C.", "Where Next Foundation", "Observatoire"]
)
def test_a_name_that_starts_like_a_question_is_still_a_name(
    dispatcher: CollectingDispatcher, name: str
) -> None:
    assert ValidateEnquiryForm().validate_organisation_name(
        name, dispatcher, make_tracker(text=name), {}
    ) == {"organisation_name": name}


def test_organisation_name_is_tidied(dispatcher: CollectingDispatcher) -> None:
    result = ValidateEnquiryForm().validate_organisation_name(
        "  Justice   Watch\n", dispatcher, make_tracker(), {}
    )
    assert result == {"organisation_name": "Justice Watch"}


# -- consent and storage ------------------------------------------------------------------------


def bot(utter: str, ts: float) -> Dict[str, Any]:
    return {"event": "bot", "timestamp": ts, "text": "…", "metadata": {"utter_action": utter}}


def user(intent: str, ts: float) -> Dict[str, Any]:
    return {"event": "user", "timestamp": ts, "text": "…", "parse_data": {"intent": {"name": intent}}}


def tracker_with(events: List[Dict[str, Any]], slots: Dict[str, Any]) -> Tracker:
    return Tracker(
        "visitor-7", slots, {"text": "x", "intent": {}, "entities": []}, events, False, None, {}, ""
    )


def test_consent_is_the_yes_right_after_the_consent_question() -> None:
    assert consent_time(tracker_with([bot("utter_ask_enquiry_consent", 1.0), user("affirm", 2.0)], {})) == 2.0
    assert consent_time(tracker_with([bot("utter_ask_enquiry_consent", 1.0), user("deny", 2.0)], {})) is None
    assert consent_time(tracker_with([user("affirm", 2.0)], {})) is None
    not_next = [bot("utter_ask_enquiry_consent", 1.0), user("ask_opcat", 2.0), user("affirm", 3.0)]
    assert consent_time(tracker_with(not_next, {})) is None


FILLED = {
    "organisation_type": "ngo", "organisation_country": "KEN", "work_area": "training",
    "partnership_fit": "likely", "organisation_name": "Justice Watch", "contact_email": "jane@example.org",
}  # fmt: skip


@pytest.fixture
def store(project_database: str) -> EnquiryStore:
    return EnquiryStore(project_database)


def test_enquiry_is_recorded_with_consent(
    knowledge: KnowledgeBase, places: PlaceResolver, dispatcher: CollectingDispatcher, store: EnquiryStore
) -> None:
    tracker = tracker_with(
        [bot("utter_ask_enquiry_consent", 1_700_000_000.0), user("affirm", 1_700_000_005.0)], FILLED
    )
    events = asyncio.run(ActionRecordEnquiry(knowledge, places).run(dispatcher, tracker, {}))
    assert SlotSet("enquiry_status", "recorded") in events
    [enquiry] = store.all()
    assert (enquiry.conversation_id, enquiry.organisation_type, enquiry.country_iso3, enquiry.country) == (
        "visitor-7", "ngo", "KEN", "Kenya",
    )  # fmt: skip
    assert (enquiry.work_area, enquiry.fit, enquiry.organisation_name, enquiry.email) == (
        "training", "likely", "Justice Watch", "jane@example.org",
    )  # fmt: skip
    assert enquiry.consent is True and enquiry.consent_at == "2023-11-14T22:13:25+00:00"
    assert [m["response"] for m in dispatcher.messages] == [
        "utter_enquiry_recorded",
        "utter_no_funding_promised",
    ]


def test_nothing_is_stored_without_consent(
    knowledge: KnowledgeBase, places: PlaceResolver, dispatcher: CollectingDispatcher, store: EnquiryStore
) -> None:
    tracker = tracker_with([bot("utter_ask_enquiry_consent", 1.0), user("deny", 2.0)], FILLED)
    asyncio.run(ActionRecordEnquiry(knowledge, places).run(dispatcher, tracker, {}))
    assert store.all() == []
    assert texts(dispatcher) == ["Sorry, something was missing, so I have not stored anything."]


def test_nothing_is_stored_after_an_abandoned_email(
    knowledge: KnowledgeBase, places: PlaceResolver, dispatcher: CollectingDispatcher, store: EnquiryStore
) -> None:
    slots = {**FILLED, "contact_email": None, "enquiry_status": ABANDONED}
    tracker = tracker_with([bot("utter_ask_enquiry_consent", 1.0), user("affirm", 2.0)], slots)
    asyncio.run(ActionRecordEnquiry(knowledge, places).run(dispatcher, tracker, {}))
    assert store.all() == []


def test_store_refuses_an_enquiry_without_consent(store: EnquiryStore) -> None:
    enquiry = Enquiry("c", "ngo", "KEN", "Kenya", "training", "likely", "N", "e@example.org", False, "t")
    with pytest.raises(ValueError, match="consent"):
        store.record(enquiry)


def test_csv_export_has_every_field_and_defuses_formulas(store: EnquiryStore) -> None:
    # The store refuses such a name today; a row from before that check is written directly.
    with engine_for(store.url).begin() as connection:
        connection.execute(
            schema.enquiries.insert().values(
                created_at="2026-12-01T10:00:00+00:00", conversation_id="c1", organisation_type="ngo",
                country_iso3="KEN", country="Kenya", work_area="training", fit="likely",
                organisation_name="=HYPERLINK(1)", email="e@example.org", consent=True, consent_at="t",
            )
        )  # fmt: skip
    out = io.StringIO()
    export_csv(store.all(), out)
    [row] = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["organisation_name"] == "'=HYPERLINK(1)"
    assert row["country"] == "Kenya" and row["consent"] == "True" and row["created_at"]


def test_enquiries_command_lists_and_exports(
    store: EnquiryStore, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from storage.enquiries import main

    store.record(
        Enquiry("c1", "nhri", "PER", "Peru", "npm_opcat", "likely", "Org", "o@example.org", True, CONSENT_AT)
    )
    assert main(["list"]) == 0
    assert "o@example.org" in capsys.readouterr().out
    target = tmp_path / "enquiries.csv"
    assert main(["export", str(target)]) == 0
    assert "Peru" in target.read_text()


def test_funding_answers_are_only_taken_from_the_funding_question_or_the_form() -> None:
    """An organisation name such as "Justice Watch" tagged as an organisation type later in
    the conversation must not overwrite the validated answers."""
    import yaml

    slots = yaml.safe_load((ROOT / "domain.yml").read_text())["slots"]
    for name in ("organisation_type", "organisation_country", "work_area"):
        for mapping in slots[name]["mappings"]:
            in_form = any(c.get("active_loop") == "funding_form" for c in mapping.get("conditions", []))
            assert in_form or mapping.get("intent") == "ask_funding", (name, mapping)


# -- a reply to the offer that tells about the organisation starts the check with it ---------------


def offer_reply(
    text: str, entities: List[Dict[str, Any]], before: Optional[str] = "utter_offer_partnership_check"
) -> Tracker:
    events = [bot(before, 1.0)] if before else []
    message = {"text": text, "intent": {"name": "affirm"}, "entities": entities}
    events.append({"event": "user", "timestamp": 2.0, "text": text, "parse_data": message})
    return Tracker("visitor-7", {}, message, events, False, None, {}, "action_listen")


def test_a_reply_to_the_offer_fills_what_it_tells(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher
) -> None:
    text = "we are a small NGO from Benin working on prison visits"
    benin = {"entity": "country", "value": "Benin", "start": 28, "end": 33}
    tracker = offer_reply(text, [benin])
    assert form.extract_organisation_type(dispatcher, tracker, {}) == {"organisation_type": text}
    assert form.extract_work_area(dispatcher, tracker, {}) == {"work_area": text}
    assert form.extract_organisation_country(dispatcher, tracker, {}) == {"organisation_country": "Benin"}
    assert form.validate_organisation_type(text, dispatcher, tracker, {}) == {"organisation_type": "ngo"}
    assert form.validate_organisation_country("Benin", dispatcher, tracker, {}) == {
        "organisation_country": "BEN"
    }
    assert texts(dispatcher) == []


def test_only_a_reply_to_the_offer_is_read_so(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher
) -> None:
    """The same message after another question, or once the form asks something, fills nothing
    here (the form's own questions have their own paths)."""
    text = "we are a small NGO from Benin"
    benin = {"entity": "country", "value": "Benin", "start": 24, "end": 29}
    for tracker in (
        offer_reply(text, [benin], before="utter_greet"),
        offer_reply(text, [benin], before=None),
    ):
        assert form.extract_organisation_type(dispatcher, tracker, {}) == {}
        assert form.extract_organisation_country(dispatcher, tracker, {}) == {}


def test_naming_the_kind_of_organisation_already_given_does_not_change_it(
    form: ValidateFundingForm, dispatcher: CollectingDispatcher
) -> None:
    """ "As an NGO we run a legal aid hotline" when the kind of work is asked, the kind of
    organisation being NGO already: a description of the work, not a change of that answer."""
    text = "as an NGO we run a weekly radio programme"
    message = {"text": text, "intent": {"name": "inform"}, "entities": []}
    events = [{"event": "user", "timestamp": 2.0, "text": text, "parse_data": message}]
    slots = {"requested_slot": "work_area", "organisation_type": "ngo"}
    tracker = Tracker("visitor-9", slots, message, events, False, None, {}, "action_listen")
    assert form.validate_work_area(text, dispatcher, tracker, {}) == {"work_area": "other"}
    slots["organisation_type"] = "academic"  # another kind named: that answer changes
    tracker = Tracker("visitor-9", slots, message, events, False, None, {}, "action_listen")
    assert form.validate_work_area(text, dispatcher, tracker, {}) == {
        "work_area": None,
        "organisation_type": "ngo",
    }


ASSESSED = {"organisation_type": "ngo", "organisation_country": "BEN", "work_area": "training"}


@pytest.mark.parametrize(
    ("text", "changed"),
    [
        ("en fait nous sommes une université", {"organisation_type": "academic"}),
        ("actually our work is mostly legal reform", {"work_area": "legal_reform"}),
        (
            "somos una universidad y hacemos reforma legal",
            {"organisation_type": "academic", "work_area": "legal_reform"},
        ),
    ],
)
def test_a_kind_of_organisation_or_work_typed_after_the_assessment_replaces_it(
    knowledge: KnowledgeBase, places: PlaceResolver, text: str, changed: Dict[str, str]
) -> None:
    tracker = make_tracker(text, "inform", slots=dict(ASSESSED))
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionChangeAnswer(knowledge, places).run(dispatcher, tracker, {}))
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots == changed
    assert (events[-1]["event"], events[-1]["name"]) == ("followup", "action_assess_partnership_fit")
    assert dispatcher.messages == []


def test_an_answer_typed_after_the_assessment_that_changes_nothing_asks_which_to_change(
    knowledge: KnowledgeBase, places: PlaceResolver
) -> None:
    tracker = make_tracker("we are an NGO as I said", "inform", slots=dict(ASSESSED))
    dispatcher = CollectingDispatcher()
    assert asyncio.run(ActionChangeAnswer(knowledge, places).run(dispatcher, tracker, {})) == []
    assert [m["response"] for m in dispatcher.messages] == ["utter_change_answers"]
