"""Answers to the funding check typed in a visitor's own words: which option they name
(language/options.py), and when a message is read as the answer to the question the form asked
rather than as what the model made of it alone (language/form_answers.py)."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest

from content.knowledge import KnowledgeBase
from language.disclosure import reads_as_disclosure
from language.form_answers import ANSWER_TO, INFORM, as_answer
from language.options import recognise


@pytest.mark.parametrize(
    ("text", "work"),
    [
        # en
        ("we monitor police cells", "detention_monitoring"),
        ("Mostly we go and inspect jails up north", "detention_monitoring"),
        ("we teach prison guards about their duties", "training"),
        ("workshops for judges and prosecutors", "training"),
        ("we lobby to amend the criminal code", "legal_reform"),
        ("we give counselling to torture survivors", "victim_assistance"),
        ("monitoring the implementation of the optional protocol", "npm_opcat"),
        # fr
        ("nous visitons les commissariats et les maisons d'arrêt", "detention_monitoring"),
        ("on forme les gardiens de prison", "training"),
        ("plaidoyer pour modifier la loi sur la garde à vue", "legal_reform"),
        ("accompagnement psychologique des victimes", "victim_assistance"),
        # es
        ("vigilamos las condiciones en las cárceles", "detention_monitoring"),
        ("capacitamos a policías y custodios", "training"),
        ("hacemos incidencia para reformar la ley penal", "legal_reform"),
        ("apoyo a sobrevivientes de tortura", "victim_assistance"),
    ],
)
def test_a_kind_of_work_is_named_in_own_words(knowledge: KnowledgeBase, text: str, work: str) -> None:
    option = recognise(knowledge.partnership.work_areas, text)
    assert option is not None and option.id == work


@pytest.mark.parametrize(
    ("text", "organisation"),
    [
        ("ONG", "ngo"),
        ("une association", "ngo"),
        ("las ONGs", "ngo"),
        ("a small community group", "ngo"),
        ("somos una organización comunitaria", "ngo"),
        ("un collectif d'avocats", "ngo"),
        ("una institución académica", "academic"),
        ("je suis chercheuse à l'université", "academic"),
        ("law clinic", "academic"),
        ("el Ministerio de Justicia", "state_body"),
        ("la defensoría del pueblo", "nhri"),
        ("I'm an independent consultant", "other"),
    ],
)
def test_a_kind_of_organisation_is_named_in_own_words(
    knowledge: KnowledgeBase, text: str, organisation: str
) -> None:
    option = recognise(knowledge.partnership.organisation_types, text)
    assert option is not None and option.id == organisation


@pytest.mark.parametrize("text", ["ongoing", "nothing really", "what?", "we are ongoing talks"])
def test_words_that_only_start_like_a_short_keyword_name_nothing(knowledge: KnowledgeBase, text: str) -> None:
    assert recognise(knowledge.partnership.organisation_types, text) is None


@pytest.mark.parametrize(
    ("text", "work"),
    [
        ("no, we don't do monitoring, we run a shelter for families of prisoners", None),
        ("we don't visit prisons but we write reports on the justice system", None),
        ("nous ne faisons pas de monitoring, nous faisons de la sensibilisation", None),
        ("no vigilamos cárceles, hacemos programas de radio", None),
        ("we don't do training, we visit police cells", "detention_monitoring"),
        ("pas de formation, plutôt des visites de prisons", "detention_monitoring"),
    ],
)
def test_what_an_answer_denies_names_no_kind_of_work(knowledge: KnowledgeBase, text: str, work: str) -> None:
    """A denied kind of work was taken as the answer: "we don't do monitoring" became
    detention monitoring."""
    option = recognise(knowledge.partnership.work_areas, text)
    assert (option.id if option else None) == work


@pytest.mark.parametrize(
    ("text", "organisation"),
    [
        ("not for profit", "ngo"),
        ("organización no gubernamental", "ngo"),
        ("association sans but lucratif", "ngo"),
        ("organisation non gouvernementale", "ngo"),
        ("on n'est pas une ONG, plutôt un collectif", "ngo"),
        ("we are not an NGO", None),
        ("Nous sommes une ONG qui ne reçoit pas encore de fonds", "ngo"),  # denies what follows only
        ("a university that has never worked with you", "academic"),
    ],
)
def test_a_no_inside_an_options_own_name_is_no_denial(
    knowledge: KnowledgeBase, text: str, organisation: str
) -> None:
    option = recognise(knowledge.partnership.organisation_types, text)
    assert (option.id if option else None) == organisation


def test_one_group_of_keywords_alone_is_not_enough(knowledge: KnowledgeBase) -> None:
    """ "monitor" without a place of detention, "prison" without a verb of visiting."""
    assert recognise(knowledge.partnership.work_areas, "we monitor the elections") is None
    assert recognise(knowledge.partnership.work_areas, "prisons") is None


def parsed(intent: str, entities: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    return {
        "text": "",
        "intent": {"name": intent, "confidence": 0.55},
        "intent_ranking": [{"name": intent, "confidence": 0.55}],
        "entities": [{"entity": "language", "value": "es", "start": 0, "end": 0}, *(entities or [])],
    }


def entity(answer: Dict[str, Any], name: str) -> Any:
    return next((e["value"] for e in answer["entities"] if e["entity"] == name), None)


@pytest.mark.parametrize(
    ("text", "model_read", "asked", "value"),
    [
        ("una ONG", "nlu_fallback", "organisation_type", "ngo"),
        ("no somos ONG, somos una fundación", "deny", "organisation_type", "ngo"),
        ("Une fac de droit", "out_of_scope", "organisation_type", "academic"),
        ("we monitor police cells", "ask_activities", "work_area", "detention_monitoring"),
        ("formamos policías", "ask_activities", "work_area", "training"),
    ],
)
def test_a_typed_option_is_read_as_the_answer_to_the_question_asked(
    text: str, model_read: str, asked: str, value: str
) -> None:
    answer = as_answer(text, parsed(model_read), asked)
    assert answer is not None
    assert answer["intent"]["name"] == INFORM and answer["intent_ranking"][0]["name"] == INFORM
    assert entity(answer, asked) == value
    assert entity(answer, "language") == "es", "the language entities stay"
    assert answer[ANSWER_TO] == asked


def test_the_option_replaces_a_part_the_model_took_for_the_answer() -> None:
    part = {"entity": "work_area", "value": "comisarías", "start": 10, "end": 20}
    answer = as_answer("vigilamos las comisarías y las cárceles", parsed("inform", [part]), "work_area")
    assert answer is not None and entity(answer, "work_area") == "detention_monitoring"
    assert [e["entity"] for e in answer["entities"]].count("work_area") == 1


def test_an_answer_the_model_is_unsure_of_goes_to_the_form_which_asks_again() -> None:
    """Not the second chance's unrelated questions: the form says it did not recognise the
    answer and shows the options."""
    answer = as_answer(
        "mostly retired schoolteachers, to be honest", parsed("nlu_fallback"), "organisation_type"
    )
    assert answer is not None and answer["intent"]["name"] == INFORM
    assert entity(answer, "organisation_type") is None
    assert (
        as_answer("mostly retired schoolteachers, to be honest", parsed("ask_partners"), "organisation_type")
        is None
    )


def test_a_country_answer_is_read_as_one_even_when_the_model_heard_a_question() -> None:
    country = {"entity": "country", "value": "Perú", "start": 3, "end": 7}
    answer = as_answer("en Perú", parsed("ask_country_engagement", [country]), "organisation_country")
    assert answer is not None and answer["intent"]["name"] == INFORM
    assert entity(answer, "country") == "Perú"
    # A short answer the model found no country in goes to the action server, which reads it
    # (close spellings, other names) or asks again.
    assert as_answer("Burkina", parsed("nlu_fallback"), "organisation_country") is not None


@pytest.mark.parametrize(
    ("text", "model_read", "asked"),
    [
        ("what is the OPCAT?", "ask_opcat", "organisation_type"),  # a question: answered, asked again
        ("¿trabajan en Perú?", "ask_country_engagement", "organisation_country"),
        ("stop", "stop", "organisation_type"),
        ("non merci", "deny", "work_area"),
        ("gracias", "thank", "organisation_country"),
        ("la police a frappé mon frère en garde à vue", "disclose_abuse", "work_area"),
        (
            "I'd rather tell you about the weather in my town this week",
            "out_of_scope",
            "organisation_country",
        ),
        ("una ONG", "nlu_fallback", None),  # no form asks anything
        ("una ONG", "nlu_fallback", "organisation_name"),  # any text answers the name
        ("no, I'd rather not say", "deny", "organisation_name"),
        ("stop", "stop", "organisation_name"),
        ("Mi Hermano Fue Golpeado En La Comisaría", "disclose_abuse", "organisation_name"),
        ('/inform{"organisation_type": "ngo"}', "inform", "organisation_type"),
        ("give me your postal address", "ask_address", "work_area"),  # a request, not about them
        ("radio", "ask_activities", "work_area"),  # too short to be a description
    ],
)
def test_everything_else_keeps_the_models_reading(text: str, model_read: str, asked: Optional[str]) -> None:
    assert as_answer(text, parsed(model_read), asked) is None


def test_a_country_named_in_a_question_answers_the_country_question() -> None:
    country = {"entity": "country", "value": "Perú", "start": 1, "end": 5}
    answer = as_answer("¿Perú cuenta?", parsed("ask_country_engagement", [country]), "organisation_country")
    assert answer is not None and answer["intent"]["name"] == INFORM
    # A question about something else is answered, and the country asked again.
    assert as_answer("¿qué es el OPCAT?", parsed("ask_opcat"), "organisation_country") is None


@pytest.mark.parametrize("text", ["and do you work in Peru?", "y en Perú, ¿trabajan?", "et au Pérou ?"])
def test_a_follow_up_question_about_a_country_is_asked_not_answered(text: str) -> None:
    """It is answered (the model's reading), and the form asks the country again."""
    peru = {"entity": "country", "value": "Peru", "start": 0, "end": 4}
    assert as_answer(text, parsed("ask_country_engagement", [peru]), "organisation_country") is None


def test_a_country_named_after_the_assessment_changes_the_country() -> None:
    """The consent question invites "tell me (for example 'we are based in Togo')"."""
    togo = {"entity": "country", "value": "Togo", "start": 19, "end": 23}
    asked = "utter_ask_enquiry_consent"
    answer = as_answer("actually we work in Togo", parsed("ask_country_engagement", [togo]), asked)
    assert answer is not None and answer["intent"]["name"] == INFORM and entity(answer, "country") == "Togo"
    assert as_answer("yes", parsed("affirm"), asked) is None
    assert as_answer("what is your budget?", parsed("ask_budget"), asked) is None


@pytest.mark.parametrize("name", ["No Más Tortura", "Stop Torture Now", "Non à la Torture Sénégal"])
def test_an_organisation_name_the_model_reads_as_a_no_is_still_a_name(name: str) -> None:
    answer = as_answer(name, parsed("deny"), "organisation_name")
    assert answer is not None and answer["intent"]["name"] == INFORM


def test_an_email_address_is_never_read_as_a_no() -> None:
    answer = as_answer("no-reply@example.org", parsed("deny"), "contact_email")
    assert answer is not None and answer["intent"]["name"] == INFORM
    assert as_answer("no", parsed("deny"), "contact_email") is None


# -- a reply to the offer of the check that tells about the organisation ---------------------------

OFFER = "utter_offer_partnership_check"


def country(value: str) -> Dict[str, Any]:
    return {"entity": "country", "value": value, "start": 0, "end": len(value)}


@pytest.mark.parametrize(
    ("text", "model_read", "entities"),
    [
        ("we are a small NGO from Benin working on prison visits", "nlu_fallback", [country("Benin")]),
        ("somos una ONG de Perú", "ask_country_engagement", [country("Perú")]),
        ("nous sommes une association au Togo", "inform", [country("Togo")]),
        ("we're based in Nepal", "inform", [country("Nepal")]),  # a country, told as information
        ("we train judges", "ask_capacity_building", []),  # a kind of work
    ],
)
def test_a_reply_to_the_offer_that_tells_about_the_organisation_is_a_yes(
    text: str, model_read: str, entities: List[Dict[str, Any]]
) -> None:
    answer = as_answer(text, parsed(model_read, entities), OFFER)
    assert answer is not None and answer["intent"]["name"] == "affirm"
    assert answer["intent_ranking"][0]["name"] == "affirm"
    assert [e for e in answer["entities"] if e["entity"] == "country"] == entities  # kept for the form


@pytest.mark.parametrize(
    ("text", "model_read", "entities"),
    [
        ("do you work in Peru?", "ask_country_engagement", [country("Peru")]),  # a question
        ("what is the OPCAT?", "ask_opcat", []),
        ("yes please", "affirm", []),  # already a yes
        ("no thanks, we are an NGO", "deny", []),  # a no stays a no
        ("Peru is a beautiful country", "out_of_scope", [country("Peru")]),  # not information about them
        ("the police beat my brother, we are an NGO", "disclose_abuse", []),
    ],
)
def test_other_replies_to_the_offer_keep_the_models_reading(
    text: str, model_read: str, entities: List[Dict[str, Any]]
) -> None:
    assert as_answer(text, parsed(model_read, entities), OFFER) is None


@pytest.mark.parametrize(
    ("text", "model_read"),
    [
        ("we run radio programmes on human rights for rural listeners", "ask_activities"),
        ("nous produisons des émissions sur les droits humains", "faq_victims"),
        ("hacemos programas de radio sobre los derechos de los presos", "ask_partners"),
        ("producimos informes anuales sobre el sistema penal", "ask_operations"),
        ("radio programmes on prisoners' rights", "out_of_scope"),  # not first person, but no question read
        ("nothing we do fits those", "inform"),
    ],
)
def test_a_description_of_the_visitors_work_answers_the_work_question(text: str, model_read: str) -> None:
    """Read as the answer, with no option named: the form takes it as other work
    (tests/unit/actions/test_funding.py)."""
    answer = as_answer(text, parsed(model_read), "work_area")
    assert answer is not None and answer["intent"]["name"] == INFORM
    assert entity(answer, "work_area") is None


def test_a_description_that_reads_as_a_disclosure_keeps_the_models_reading() -> None:
    """Safety over precision: "we" and detention are a disclosure's cues; the model's reading
    decides (and an "inform" reaches the form all the same)."""
    assert as_answer("they beat us in custody last year", parsed("ask_activities"), "work_area") is None


CONSENT = "utter_ask_enquiry_consent"


@pytest.mark.parametrize("asked", [OFFER, CONSENT])
@pytest.mark.parametrize(
    ("text", "model_read"),
    [
        ("no thanks", "thank"),
        ("No thank you, not for now", "thank"),
        ("not now, maybe later", "nlu_fallback"),
        ("stop", "stop"),
        ("non merci, pas pour le moment", "thank"),
        ("pas maintenant", "out_of_scope"),
        ("mejor no, gracias", "thank"),
        ("ahora no, quizás más tarde", "nlu_fallback"),
    ],
)
def test_a_refusal_of_a_yes_or_no_question_is_a_no(text: str, model_read: str, asked: str) -> None:
    """A "no thanks" read as thanks got "you're welcome", and the visitor was never told that
    nothing was sent."""
    answer = as_answer(text, parsed(model_read), asked)
    assert answer is not None and answer["intent"]["name"] == "deny"
    assert answer["intent_ranking"][0]["name"] == "deny"


@pytest.mark.parametrize("asked", [OFFER, CONSENT])
@pytest.mark.parametrize(
    ("text", "model_read"),
    [
        ("No problem, go ahead", "affirm"),
        ("no worries, thanks", "thank"),  # not a refusal
        ("no", "deny"),  # already a no
        ("yes, not a problem", "affirm"),
        ("not sure what that means?", "nlu_fallback"),  # a question
    ],
)
def test_what_is_not_a_refusal_keeps_the_models_reading(text: str, model_read: str, asked: str) -> None:
    answer = as_answer(text, parsed(model_read), asked)
    assert answer is None or answer["intent"]["name"] != "deny"


@pytest.mark.parametrize("asked", [OFFER, CONSENT])
@pytest.mark.parametrize(
    ("text", "model_read"),
    [
        ("Sure, you can pass it on to the fundraising team", "ask_contacts"),
        ("That would be great, thank you", "thank"),
        ("yes, our name is Justice Watch", "nlu_fallback"),
        ("Volontiers, merci", "thank"),
        ("avec plaisir", "nlu_fallback"),
        ("Me parece bien, gracias", "thank"),
        ("Sí, pueden enviarla al equipo", "ask_partners"),
    ],
)
def test_an_acceptance_of_a_yes_or_no_question_is_a_yes(text: str, model_read: str, asked: str) -> None:
    """Read as thanks ("You're welcome") or as a question about the contacts, the enquiry was
    lost."""
    answer = as_answer(text, parsed(model_read), asked)
    assert answer is not None and answer["intent"]["name"] == "affirm"


@pytest.mark.parametrize("asked", [OFFER, CONSENT])
@pytest.mark.parametrize(
    "text",
    [
        "yes but not now",  # denied after
        "ok, but what will you do with my data?",  # a question
        "no, I meant the APT's own budget",  # a correction: read for what was meant
        "non, je parlais de votre budget",
        "no, mi pregunta era sobre el presupuesto",
    ],
)
def test_what_is_neither_a_yes_nor_a_no_keeps_the_models_reading(text: str, asked: str) -> None:
    assert as_answer(text, parsed("nlu_fallback"), asked) is None


@pytest.mark.parametrize("asked", [OFFER, CONSENT])
def test_a_no_the_model_reads_as_another_question_is_that_question(asked: str) -> None:
    text = "No, I was not asking for money, I wanted to know how the APT itself is financed"
    assert as_answer(text, parsed("ask_budget"), asked) is None


@pytest.mark.parametrize(
    ("text", "asked", "model_read"),
    [
        ("no, we are a university, not an NGO", "work_area", "deny"),
        ("non, nous sommes une association", "organisation_country", "deny"),
        ("no, trabajamos en capacitación de policías", "organisation_type", "stop"),
    ],
)
def test_a_no_that_corrects_an_answer_does_not_end_the_check(text: str, asked: str, model_read: str) -> None:
    answer = as_answer(text, parsed(model_read), asked)
    assert answer is not None and answer["intent"]["name"] == INFORM


@pytest.mark.parametrize("text", ["no", "stop", "no, forget it", "non merci"])
def test_a_no_that_names_nothing_still_ends_the_check(text: str) -> None:
    for asked in ("work_area", "organisation_type", "organisation_country"):
        answer = as_answer(text, parsed("deny"), asked)
        assert answer is None or answer["intent"]["name"] != INFORM


@pytest.mark.parametrize(
    "text",
    [
        "we visit detained people in police cells",
        "nous rendons visite aux détenus dans les commissariats",
        "en mi organización visitamos a las personas detenidas en las comisarías",
    ],
)
def test_work_with_detainees_answers_the_work_question_despite_a_disclosures_cues(text: str) -> None:
    assert reads_as_disclosure(text)
    answer = as_answer(text, parsed("nlu_fallback"), "work_area")
    assert answer is not None and entity(answer, "work_area") == "detention_monitoring"
    # unless the model read a disclosure
    assert as_answer(text, parsed("disclose_abuse"), "work_area") is None


def test_a_country_named_at_the_consent_question_changes_it_even_after_a_no() -> None:
    togo = {"entity": "country", "value": "Togo", "start": 14, "end": 18}
    answer = as_answer("no, we are in Togo", parsed("inform", [togo]), CONSENT)
    assert answer is not None and answer["intent"]["name"] == INFORM


@pytest.mark.parametrize(
    ("text", "model_read", "work"),
    [
        ("Plaidoyer pour la ratification du protocole", "ask_opcat", "npm_opcat"),
        ("sobre todo talleres para jueces", "ask_capacity_building", "training"),
        ("lobbying parliament on the penal code", "ask_legal_instruments", "legal_reform"),
    ],
)
def test_a_kind_of_work_the_model_read_as_a_topic_answers_the_work_question(
    text: str, model_read: str, work: str
) -> None:
    sure = {**parsed(model_read), "intent": {"name": model_read, "confidence": 0.8}}
    answer = as_answer(text, sure, "work_area")
    assert answer is not None and entity(answer, "work_area") == work


def test_a_topic_read_unsurely_names_no_kind_of_work() -> None:
    answer = as_answer("Plaidoyer pour la ratification du protocole", parsed("ask_opcat"), "work_area")
    assert answer is None or entity(answer, "work_area") is None


def test_a_question_on_a_topic_at_the_work_question_stays_a_question() -> None:
    assert (
        as_answer("Is training of police part of your work?", parsed("ask_capacity_building"), "work_area")
        is None
    )


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("en fait nous sommes une université", "nlu_fallback"),
        ("mejor dicho somos una universidad", "deny"),
        ("actually our work is mostly legal reform", "inform"),
    ],
)
def test_a_kind_of_organisation_or_work_named_at_the_consent_question_changes_it(
    text: str, reading: str
) -> None:
    answer = as_answer(text, parsed(reading), "utter_ask_enquiry_consent")
    assert answer is not None and answer["intent"]["name"] == INFORM


def test_at_the_consent_question_a_no_naming_the_organisation_is_still_a_no() -> None:
    answer = as_answer("no thanks, we are just a small NGO", parsed("deny"), "utter_ask_enquiry_consent")
    assert answer is None or answer["intent"]["name"] == "deny"
    question = as_answer(
        "does a university count as a partner?", parsed("ask_partners"), "utter_ask_enquiry_consent"
    )
    assert question is None
