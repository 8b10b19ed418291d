"""Every custom action, run with a Tracker and a CollectingDispatcher."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
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
)
from actions.knowledge import KnowledgeBase, parse_knowledge_base
from tests.conftest import entity, make_tracker
from tests.test_wording import response_texts, texts

ROOT = Path(__file__).resolve().parent.parent


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
        "Yes. Kenya is among the countries where the APT works: "
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
        "Norway is not among the countries listed in the APT's profile.",
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
    assert answers[0].startswith("Yes. Viet Nam")
    assert answers[1].startswith("France is not among")
    assert answers[2].startswith("Yes. Democratic Republic of the Congo")
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
        "In Central Asia (Asia), the APT's profile lists 3 countries: Kazakhstan, Kyrgyzstan and Tajikistan."
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
    assert text.startswith("In the Americas, the APT's profile lists 13 countries:")
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
        text="countries in Oceania",
        entities=[entity("region", "Oceania")],
    )
    answers = texts(dispatcher)
    assert answers[0].startswith("I don't know that region.") and "Oceania" not in answers[0]
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
        "In Southern Africa (Africa), the APT's profile lists 1 country: South Africa.",
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
    assert texts(dispatcher)[0].startswith("Yes. Uganda is among the countries")


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
    assert texts(dispatcher)[0].startswith("In Central Asia (Asia), the APT's profile lists 3 countries")


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
    assert texts(dispatcher)[0].startswith("In Asia, the APT's profile lists 24 countries")


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
