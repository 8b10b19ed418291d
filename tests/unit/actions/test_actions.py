"""Every custom action, run with a Tracker and a CollectingDispatcher."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest
import yaml
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa_sdk import Action
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers
from actions.about import ANSWER_BY_INTENT, ActionAnswerAboutApt
from actions.country_questions import (
    ActionAnswerCountryEngagement,
    ActionAnswerFollowUp,
    ActionCountCountries,
    ActionListCountries,
    ActionPlaceOrAcknowledge,
    ActionPlaceOrDefault,
    ActionPlaceOrOutOfScope,
)
from actions.second_chance import ActionOfferChoices
from apt_settings import ROOT
from content.knowledge import KnowledgeBase, parse_knowledge_base
from language.focus import FOCUSED_ON
from language.wording import english_responses, responses_in
from tests.support.trackers import entity, make_tracker
from tests.unit.actions.test_wording import response_texts, texts


def run(action: Action, dispatcher: CollectingDispatcher, **tracker: Any) -> List[Dict[str, Any]]:
    return asyncio.run(action.run(dispatcher, make_tracker(**tracker), {}))


def responses(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("response") for m in dispatcher.messages]


# -- about the APT ------------------------------------------------------------------------------


def test_every_about_intent_routed_to_the_action_has_an_answer() -> None:
    rules = yaml.safe_load((ROOT / "data" / "rules.yml").read_text())["rules"]
    routed = {
        step["intent"]
        for rule in rules
        for step in rule["steps"]
        if "intent" in step and {"action": "action_answer_about_apt"} in rule["steps"]
    }
    assert routed == set(ANSWER_BY_INTENT)


@pytest.mark.parametrize(
    ("intent", "expected"),
    [
        ("ask_about_apt", "international non-governmental organisation"),
        ("ask_vision", "a world in which no one is subjected to torture"),
        ("ask_objectives", "Transparency in institutions"),
        ("ask_legal_instruments", "Robben Island Guidelines"),
        ("ask_advocacy", "campaign to ratify and implement the OPCAT"),
        ("ask_capacity_building", "trains the police and judiciary"),
        ("ask_practical_tools", "a guide on monitoring places of detention"),
        ("ask_opcat", "first global system of detention monitoring"),
        ("ask_operations", "offices in Geneva"),
        ("ask_budget", "between 1 million and 50 million CHF per annum"),
        ("ask_address", "Route de Ferney 10"),
        ("ask_contacts", "Mark Thomson, Secretary General"),
        ("ask_partners", "University of Bristol"),
        ("ask_cinat", "six international NGOs"),
    ],
)
def test_about_answer_comes_from_the_knowledge_base(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher, intent: str, expected: str
) -> None:
    events = run(ActionAnswerAboutApt(knowledge), dispatcher, text="?", intent=intent)
    assert events == []
    [text] = texts(dispatcher)
    assert expected in text


def test_about_answers_list_all_four_activities(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    run(ActionAnswerAboutApt(knowledge), dispatcher, text="what do you do", intent="ask_about_apt")
    [text] = texts(dispatcher)
    for activity in knowledge.activities:
        assert activity.title in text
    assert f"Its work covers {len(knowledge.activities)} activities:" in text


def test_vision_and_objectives_count_the_objectives(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    run(ActionAnswerAboutApt(knowledge), dispatcher, text="vision", intent="ask_vision")
    run(ActionAnswerAboutApt(knowledge), dispatcher, text="objectives", intent="ask_objectives")
    vision, objectives = texts(dispatcher)
    assert vision.endswith(
        "To prevent torture, it focuses on 3 integrated objectives: transparency in institutions, "
        "effective legal frameworks and capacity strengthening."
    )
    assert objectives.startswith(
        "The APT focuses on 3 integrated objectives:\n- Transparency in institutions: "
    )


def test_contacts_answer_invents_no_email_or_phone(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    run(ActionAnswerAboutApt(knowledge), dispatcher, text="contact", intent="ask_contacts")
    assert "@" not in texts(dispatcher)[0] and "+41" not in texts(dispatcher)[0]


# -- one country --------------------------------------------------------------------------------


def test_listed_country_is_confirmed_with_its_region(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    events = run(
        ActionAnswerCountryEngagement(knowledge),
        dispatcher,
        text="do you work in Keyna?",
        intent="ask_country_engagement",
        entities=[entity("country", "Keyna")],
    )
    assert texts(dispatcher) == [
        "Yes, Kenya is among the countries where the APT works: "
        "its profile lists it under Eastern Africa (Africa)."
    ]
    assert SlotSet("country", "Kenya") in events and SlotSet("place_question", "engagement") in events


def test_unlisted_country_is_not_claimed_and_criteria_follow(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    run(
        ActionAnswerCountryEngagement(knowledge),
        dispatcher,
        text="do you work in Norway?",
        intent="ask_country_engagement",
        entities=[entity("country", "Norway")],
    )
    assert texts(dispatcher) == [
        "No, Norway is not among the countries listed in the APT's profile.",
        *response_texts("utter_faq_country_selection"),
    ]
    assert responses(dispatcher) == ["utter_country_not_listed", "utter_faq_country_selection"]


def test_several_countries_get_one_answer_each(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    run(
        ActionAnswerCountryEngagement(knowledge),
        dispatcher,
        text="do you work in Viet Nam, France and the DRC?",
    )
    answers = texts(dispatcher)
    assert answers[0].startswith("Yes, Viet Nam")
    assert answers[1].startswith("No, France is not among")
    assert answers[2].startswith("Yes, the Democratic Republic of the Congo")
    assert responses(dispatcher)[3] == "utter_faq_country_selection"


def test_unrecognised_country_asks_which_one_without_echoing(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    text = "do you work in <img src=x onerror=alert(1)>?"
    events = run(
        ActionAnswerCountryEngagement(knowledge),
        dispatcher,
        text=text,
        entities=[entity("country", "<img src=x onerror=alert(1)>")],
    )
    assert texts(dispatcher) == [
        'Which country do you mean? You can ask, for example, "Do you work in Kenya?" or '
        '"Which countries do you work in in South East Asia?".'
    ]
    assert events == []


def test_region_asked_as_a_country_lists_the_region(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    run(ActionAnswerCountryEngagement(knowledge), dispatcher, text="do you work in Central Asia?")
    assert texts(dispatcher) == [
        "The APT's profile lists 3 countries in Central Asia (Asia): Kazakhstan, Kyrgyzstan and Tajikistan."
    ]


# -- regions and counts -------------------------------------------------------------------------


def test_region_lists_its_subregions(knowledge: KnowledgeBase, dispatcher: CollectingDispatcher) -> None:
    events = run(
        ActionListCountries(knowledge),
        dispatcher,
        text="which countries in the Americas",
        entities=[entity("region", "Americas")],
    )
    [text] = texts(dispatcher)
    assert text.startswith("The APT's profile lists 13 countries in the Americas:")
    assert "- Central America: Costa Rica, Honduras, Panama, Guatemala and Nicaragua" in text
    assert SlotSet("region", "Americas") in events and SlotSet("place_question", "list") in events


def test_no_region_gives_the_summary(knowledge: KnowledgeBase, dispatcher: CollectingDispatcher) -> None:
    run(ActionListCountries(knowledge), dispatcher, text="where do you work?")
    [text] = texts(dispatcher)
    assert text.startswith("The APT's profile lists 79 countries where it works, in 4 regions:")
    assert "- Asia: 24 countries (Central Asia, South Asia, South East Asia and Western Asia)" in text


def test_unknown_region_says_so_then_summarises(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    run(
        ActionListCountries(knowledge),
        dispatcher,
        text="countries in Narnia",
        entities=[entity("region", "Narnia")],
    )
    answers = texts(dispatcher)
    assert answers[0].startswith("I don't know that region.") and "Narnia" not in answers[0]
    assert answers[1].startswith("The APT's profile lists 79 countries")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "how many countries do you work in?",
            "The APT's profile lists 79 countries: 30 in Africa, 12 in Europe, "
            "24 in Asia and 13 in the Americas.",
        ),
        ("how many countries in Africa?", "The APT's profile lists 30 countries in Africa."),
        ("how many in Central Asia?", "The APT's profile lists 3 countries in Central Asia."),
    ],
)
def test_count(knowledge: KnowledgeBase, dispatcher: CollectingDispatcher, text: str, expected: str) -> None:
    events = run(ActionCountCountries(knowledge), dispatcher, text=text)
    assert texts(dispatcher) == [expected]
    assert SlotSet("place_question", "count") in events


def slot_set(name: str, value: str) -> Dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


@pytest.mark.parametrize(
    ("action", "before", "text", "expected"),
    [
        # the last country's sub-region
        (
            ActionListCountries,
            [slot_set("country", "Chad")],
            "which other countries in that region?",
            "Central Africa",
        ),
        (
            ActionCountCountries,
            [slot_set("country", "Peru")],
            "how many countries in the region?",
            "South America",
        ),
        # the last region named, or the last country, whichever came last
        (
            ActionCountCountries,
            [slot_set("country", "Chad"), slot_set("region", "Asia")],
            "how many there?",
            "Asia",
        ),
        (
            ActionListCountries,
            [slot_set("region", "Asia"), slot_set("country", "Benin")],
            "et les pays voisins ?",
            "Western Africa",
        ),
        (
            ActionListCountries,
            [slot_set("country", "Chile")],
            "¿en qué otros países de la región?",
            "South America",
        ),
        # a country the profile does not list: its UN sub-region
        (
            ActionAnswerFollowUp,
            [slot_set("country", "Bolivia")],
            "¿y en los países vecinos?",
            "South America",
        ),
        (
            ActionAnswerFollowUp,
            [slot_set("country", "Switzerland")],
            "and the neighbouring countries?",
            "Western Europe",
        ),
    ],
)
def test_a_question_pointing_back_at_the_place_before_is_about_its_region(
    knowledge: KnowledgeBase,
    dispatcher: CollectingDispatcher,
    action: Any,
    before: List[Dict[str, Any]],
    text: str,
    expected: str,
) -> None:
    run(action(knowledge), dispatcher, text=text, events=before)
    [answer] = texts(dispatcher)
    assert expected in answer and "79 countries" not in answer, answer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oops, a typo: it was Nigeria, not Niger", "Nigeria is not among"),
        ("we are a small network based in Peru", "Peru is among"),
    ],
)
def test_information_that_names_a_place_gets_the_places_answer(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher, text: str, expected: str
) -> None:
    run(ActionPlaceOrDefault(knowledge), dispatcher, text=text, intent="inform")
    assert expected in texts(dispatcher)[0]


@pytest.mark.parametrize(
    "text",
    [
        "perdón, no Honduras sino Guatemala",
        "sorry, I meant Guatemala, not Honduras",
        "not Honduras but Guatemala",
    ],
)
def test_a_corrected_place_is_answered_alone(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher, text: str
) -> None:
    run(ActionAnswerCountryEngagement(knowledge), dispatcher, text=text, intent="ask_country_engagement")
    answers = texts(dispatcher)
    assert any("Guatemala" in answer for answer in answers) and not any("Honduras" in a for a in answers)


def test_information_that_names_no_place_is_not_understood(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    run(
        ActionPlaceOrDefault(knowledge), dispatcher, text="we are a small network of lawyers", intent="inform"
    )
    assert responses(dispatcher) == ["utter_default"]


def test_a_question_about_places_that_points_nowhere_gets_the_summary(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    run(
        ActionListCountries(knowledge),
        dispatcher,
        text="which countries?",
        events=[slot_set("country", "Chad")],
    )
    [answer] = texts(dispatcher)
    assert "79 countries" in answer


def test_one_country_is_counted_in_the_singular(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    raw = knowledge.dict()
    southern = raw["regions"][0]["subregions"][3]
    assert southern["name"] == "Southern Africa"
    southern["countries"] = southern["countries"][:1]
    smaller = parse_knowledge_base(raw, "test")
    place = smaller.regions[0].subregions[3]
    answers.countries_in_place(dispatcher, smaller, place)
    answers.country_count(dispatcher, smaller, place)
    assert texts(dispatcher) == [
        "The APT's profile lists 1 country in Southern Africa (Africa): South Africa.",
        "The APT's profile lists 1 country in Southern Africa.",
    ]


# -- follow-ups ---------------------------------------------------------------------------------


def test_follow_up_country_after_a_country_question(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    run(
        ActionAnswerFollowUp(knowledge),
        dispatcher,
        text="and Uganda?",
        entities=[entity("country", "Uganda")],
        slots={"place_question": "engagement"},
    )
    assert texts(dispatcher)[0].startswith("Yes, Uganda is among the countries")


def test_follow_up_region_after_a_count_counts(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    run(
        ActionAnswerFollowUp(knowledge),
        dispatcher,
        text="what about in Asia?",
        entities=[entity("region", "Asia")],
        slots={"place_question": "count"},
    )
    assert texts(dispatcher) == ["The APT's profile lists 24 countries in Asia."]


def test_follow_up_region_after_a_country_question_lists(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    run(
        ActionAnswerFollowUp(knowledge),
        dispatcher,
        text="what about Central Asia?",
        slots={"place_question": "engagement"},
    )
    assert texts(dispatcher)[0].startswith("The APT's profile lists 3 countries in Central Asia (Asia)")


def test_follow_up_region_tagged_as_country_is_still_a_region(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher
) -> None:
    run(
        ActionAnswerFollowUp(knowledge),
        dispatcher,
        text="and Asia?",
        entities=[entity("country", "Asia")],
        slots={"place_question": "list"},
    )
    assert texts(dispatcher)[0].startswith("The APT's profile lists 24 countries in Asia")


def test_follow_up_without_a_place_asks(knowledge: KnowledgeBase, dispatcher: CollectingDispatcher) -> None:
    events = run(
        ActionAnswerFollowUp(knowledge), dispatcher, text="and there?", slots={"place_question": "list"}
    )
    assert texts(dispatcher) == [
        'Which country or region do you mean? For example "and Uganda?" or "what about in Asia?".'
    ]
    assert events == []


# -- robustness ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["", "   ", "😀😀😀", "x" * 10_000, "<script>alert(1)</script>", "Вы работаете в России?"]
)
@pytest.mark.parametrize(
    "action_class",
    [ActionAnswerCountryEngagement, ActionListCountries, ActionCountCountries, ActionAnswerFollowUp],
)
def test_country_actions_survive_odd_input_and_never_echo_it(
    knowledge: KnowledgeBase, dispatcher: CollectingDispatcher, action_class: type, text: str
) -> None:
    run(action_class(knowledge), dispatcher, text=text, entities=[entity("country", text)])
    assert dispatcher.messages
    for message in texts(dispatcher):
        assert "<" not in message and (len(text) < 5 or text not in message)


def test_actions_build_with_no_arguments() -> None:
    """rasa-sdk instantiates every action with no arguments at start-up."""
    for action_class in (
        ActionAnswerAboutApt,
        ActionAnswerCountryEngagement,
        ActionListCountries,
        ActionCountCountries,
        ActionAnswerFollowUp,
    ):
        assert action_class().name().startswith("action_")


# -- places and their names in English, French and Spanish --------------------------------------


def texts_in(language: str, dispatcher: CollectingDispatcher) -> List[str]:
    """What the visitor reads in ``language``: the response in that language, filled in as
    the Rasa server's response generator (server/nlg.py) does."""
    generator = TemplatedNaturalLanguageGenerator(responses_in(language, english_responses()))
    read = []
    for message in dispatcher.messages:
        variables = {key: value for key, value in message.items() if key != "response"}
        read.append(generator.generate_from_slots(message["response"], {}, "rest", **variables)["text"])
    return read


def ask(action: Action, language: str, text: str, **tracker: Any) -> List[str]:
    dispatcher = CollectingDispatcher()
    slots = {"language": language, **tracker.pop("slots", {})}
    run(action, dispatcher, text=text, slots=slots, **tracker)
    return texts_in(language, dispatcher)


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Do you work in the Philippines?",
         "Yes, the Philippines is among the countries where the APT works: its profile lists it under "
         "South East Asia (Asia)."),
        ("fr", "Travaillez-vous aux Philippines ?",
         "Oui, le profil de l'APT cite les Philippines parmi les pays où elle travaille, dans la rubrique "
         "«\u00a0Asie du Sud-Est\u00a0» (Asie)."),
        ("es", "¿Trabajan en el Reino Unido?",
         "Sí, el perfil de la APT incluye el Reino Unido entre los países donde trabaja, en Europa del Norte "
         "(Europa)."),
        ("fr", "Et le Sénégal ?",
         "Oui, le profil de l'APT cite le Sénégal parmi les pays où elle travaille, dans la rubrique "
         "«\u00a0Afrique de l'Ouest\u00a0» (Afrique)."),
        ("fr", "Vous êtes en Ouganda ?",
         "Oui, le profil de l'APT cite l'Ouganda parmi les pays où elle travaille, dans la rubrique "
         "«\u00a0Afrique de l'Est\u00a0» (Afrique)."),
        ("es", "¿Y en el Líbano?",
         "Sí, el perfil de la APT incluye el Líbano entre los países donde trabaja, en Asia Occidental "
         "(Asia)."),
        ("en", "and the Netherlands?",
         "No, the Netherlands is not among the countries listed in the APT's profile."),
        ("fr", "Et les Pays-Bas ?",
         "Non, le profil de l'APT ne cite pas les Pays-Bas parmi les pays où elle travaille."),
        ("es", "¿Trabajan en la India?",
         "No, el perfil de la APT no incluye la India entre los países donde trabaja."),
    ],
)  # fmt: skip
def test_a_country_is_named_with_its_article_in_each_language(
    language: str, text: str, expected: str
) -> None:
    assert ask(ActionAnswerCountryEngagement(), language, text)[0] == expected


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Do you work in Lagos?",
         "No, Nigeria is not among the countries listed in the APT's profile."),
        ("fr", "Travaillez-vous à Katmandou ?",
         "Oui, le profil de l'APT cite le Népal parmi les pays où elle travaille, dans la rubrique "
         "«\u00a0Asie du Sud\u00a0» (Asie)."),
        ("es", "¿Y en Rangún?",
         "No, el perfil de la APT no incluye Myanmar (Birmania) entre los países donde trabaja."),
    ],
)  # fmt: skip
def test_a_city_is_answered_for_its_country(language: str, text: str, expected: str) -> None:
    assert ask(ActionAnswerCountryEngagement(), language, text)[0] == expected


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "Which countries in the Caribbean?",
         "The APT's profile lists no country in the Caribbean. It groups its countries under Africa, Europe, "
         "Asia and the Americas."),
        ("fr", "Quels pays aux Caraïbes ?",
         "Le profil de l'APT ne recense aucun pays aux Caraïbes. Il regroupe ses pays dans les régions "
         "suivantes\u00a0: Afrique, Europe, Asie et Amériques."),
        ("es", "¿Qué países en Oceanía?",
         "El perfil de la APT no enumera ningún país en Oceanía. Agrupa sus países en África, Europa, Asia y "
         "las Américas."),
    ],
)  # fmt: skip
def test_a_region_without_listed_countries_is_answered_honestly(
    language: str, text: str, expected: str
) -> None:
    assert ask(ActionListCountries(), language, text) == [expected]


@pytest.mark.parametrize(
    ("language", "text", "first_line", "subregions"),
    [
        ("en", "Which countries in Latin America?", "The APT's profile lists 13 countries in Latin America:",
         ["Central America", "South America"]),
        ("fr", "Quels pays en Afrique subsaharienne ?",
         "Le profil de l'APT recense 25 pays en Afrique subsaharienne\u00a0:",
         ["Afrique centrale", "Afrique de l'Est", "Afrique australe", "Afrique de l'Ouest"]),
        ("es", "¿Dónde trabajan en la región MENA?",
         "El perfil de la APT enumera 15 países en la región MENA (Oriente Medio y Norte de África):",
         ["África del Norte", "Asia Occidental"]),
        ("en", "Which countries in the Sahel?", "The APT's profile lists 5 countries in the Sahel:",
         ["Central Africa", "Western Africa"]),
        ("fr", "Quels pays dans les Balkans ?", "Le profil de l'APT recense 6 pays dans les Balkans\u00a0:",
         ["Europe du Sud"]),
        ("es", "¿En qué países del Cono Sur trabajan?",
         "El perfil de la APT enumera 4 países en el Cono Sur:",
         ["América del Sur"]),
    ],
)  # fmt: skip
def test_a_composite_region_lists_its_countries_by_the_profiles_subregions(
    language: str, text: str, first_line: str, subregions: List[str]
) -> None:
    [answer] = ask(ActionListCountries(), language, text)
    lines = answer.split("\n")
    assert lines[0] == first_line
    assert [line[2:].split(":")[0].rstrip("\u00a0") for line in lines[1:]] == subregions


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "how many countries in Sub-Saharan Africa?",
         "The APT's profile lists 25 countries in Sub-Saharan Africa."),
        ("fr", "Combien de pays aux Amériques ?", "Le profil de l'APT recense 13 pays aux Amériques."),
        ("fr", "Combien de pays au Maghreb ?", "Le profil de l'APT recense 3 pays au Maghreb."),
        ("en", "how many countries in the Gulf states?",
         "The APT's profile lists 1 country in the Gulf states."),
        ("es", "¿Cuántos países en el Caribe?",
         "El perfil de la APT no enumera ningún país en el Caribe. Agrupa sus países en África, Europa, Asia "
         "y las Américas."),
        ("fr", "Combien de pays ?",
         "Le profil de l'APT recense 79 pays\u00a0: 30 en Afrique, 12 en Europe, 24 en Asie et 13 aux "
         "Amériques."),
    ],
)  # fmt: skip
def test_counts_name_the_place_after_in(language: str, text: str, expected: str) -> None:
    assert ask(ActionCountCountries(), language, text) == [expected]


def test_a_region_follow_up_after_a_count_counts_an_area(knowledge: KnowledgeBase) -> None:
    answers = ask(
        ActionAnswerFollowUp(knowledge), "en", "and Latin America?", slots={"place_question": "count"}
    )
    assert answers == ["The APT's profile lists 13 countries in Latin America."]


# -- a message that is only a place -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "response"),
    [
        ("Lagos", "utter_country_not_listed"),  # a city: its country
        ("Kampala?", "utter_country_listed"),
        ("¿y Bolivia?", "utter_country_not_listed"),
        ("Afrique", "utter_countries_in_region"),
        ("what about South Asia", "utter_countries_in_subregion"),
    ],
)
def test_a_yes_or_an_out_of_scope_reading_that_is_only_a_place_gets_the_places_answer(
    dispatcher: CollectingDispatcher, text: str, response: str
) -> None:
    for action in (
        ActionPlaceOrAcknowledge(),
        ActionPlaceOrOutOfScope(),
        ActionPlaceOrDefault(),
        ActionOfferChoices(),
    ):
        dispatcher.messages.clear()
        run(action, dispatcher, text=text, intent="affirm")
        assert responses(dispatcher)[0] == response, (action.name(), text)


def test_a_correction_naming_only_a_place_gets_the_places_answer(dispatcher: CollectingDispatcher) -> None:
    """ "...what I meant was Kampala": the part read (server/patches/focus.py) is only a place."""
    said = "oh sorry, my mistake, what I meant was Kampala"
    tracker = make_tracker(text=said, intent="nlu_fallback")
    tracker.latest_message[FOCUSED_ON] = "Kampala"
    for action in (ActionPlaceOrAcknowledge(), ActionOfferChoices()):
        dispatcher.messages.clear()
        asyncio.run(action.run(dispatcher, tracker, {}))
        assert responses(dispatcher)[0] == "utter_country_listed", action.name()
    dispatcher.messages.clear()
    run(ActionPlaceOrAcknowledge(), dispatcher, text=said, intent="deny")
    assert responses(dispatcher) == ["utter_acknowledge"]  # the whole message is more than a place


@pytest.mark.parametrize(
    "text",
    [
        "yes", "ok sure", "sí, claro", "what about the weather in general today",
        # short, and about a place, but not about the APT's work there
        "What is the capital of Australia?", "la météo à Genève ?", "visa para Perú", "best hotels in Kenya",
    ],
)  # fmt: skip
def test_a_yes_is_acknowledged_and_out_of_scope_declined(dispatcher: CollectingDispatcher, text: str) -> None:
    run(ActionPlaceOrAcknowledge(), dispatcher, text=text, intent="affirm")
    assert responses(dispatcher) == ["utter_acknowledge"]
    dispatcher.messages.clear()
    run(ActionPlaceOrOutOfScope(), dispatcher, text=text, intent="out_of_scope")
    assert responses(dispatcher) == ["utter_out_of_scope"]
    dispatcher.messages.clear()
    run(ActionPlaceOrDefault(), dispatcher, text=text, intent="inform")
    assert responses(dispatcher) == ["utter_default"]


# -- a country named only to be corrected -------------------------------------------------------


def country_at(text: str, value: str) -> Dict[str, Any]:
    """The model's country entity for ``value``, where it is in ``text``."""
    start = text.index(value)
    return {"entity": "country", "value": value, "start": start, "end": start + len(value)}


@pytest.mark.parametrize(
    ("language", "text", "negated", "meant", "expected"),
    [
        ("en", "not Kenya, Uganda", "Kenya", "Uganda", "Yes, Uganda is among"),
        ("fr", "pas le Mali, le Niger", "Mali", "Niger", "Oui, le profil de l'APT cite le Niger"),
        ("es", "no en Bolivia sino en Perú", "Bolivia", "Perú", "Sí, el perfil de la APT incluye Perú"),
    ],
)
def test_a_country_named_only_to_be_negated_is_not_answered(
    language: str, text: str, negated: str, meant: str, expected: str
) -> None:
    entities = [country_at(text, negated), country_at(text, meant)]
    answers = ask(ActionAnswerCountryEngagement(), language, text, entities=entities)
    assert len(answers) == 1 and answers[0].startswith(expected)


def test_a_negated_country_alone_is_still_answered() -> None:
    answers = ask(
        ActionAnswerCountryEngagement(), "en", "not Kenya?", entities=[country_at("not Kenya?", "Kenya")]
    )
    assert answers[0].startswith("Yes, Kenya is among")
