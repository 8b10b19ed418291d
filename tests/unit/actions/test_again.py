"""The previous answer again after a change of language (actions/again.py), on rasa-sdk's own
tracker and dispatcher, with the project's knowledge base in its three languages."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.again import ActionAnswerAgain
from content.knowledge_languages import knowledge_in


def user(text: str, intent: str, entities: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.97}, "entities": entities or []}
    return {"event": "user", "text": text, "parse_data": parse}


def action(name: str) -> Dict[str, Any]:
    return {"event": "action", "name": name}


def bot(response: str) -> Dict[str, Any]:
    return {"event": "bot", "text": "…", "metadata": {"utter_action": response}}


def slot(name: str, value: Any) -> Dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def asked_for(language: str, *turn: Dict[str, Any], before: str = "en") -> Tracker:
    """A conversation in ``before``: the events of one answered turn, then a request for
    ``language`` (its slot set after it, as Rasa sets it)."""
    request = user("could you say that in another language?", "choose_language")
    events = [
        action("action_session_start"),
        slot("language", before),
        action("action_listen"),
        *turn,
        action("action_listen"),
        request,
        slot("language", language),
        action("utter_language_chosen"),
        bot("utter_language_chosen"),
    ]
    message = request["parse_data"]
    return Tracker(
        "visitor", {"language": language}, message, events, False, None, {}, "utter_language_chosen"
    )


def again(tracker: Tracker) -> List[Dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionAnswerAgain().run(dispatcher, tracker, {}))
    return dispatcher.messages


def test_a_knowledge_base_answer_comes_again_from_the_new_languages_knowledge_base() -> None:
    turn = [user("what is the OPCAT?", "ask_opcat"), action("action_answer_about_apt"), bot("utter_opcat")]
    for language in ("fr", "es"):
        [message] = again(asked_for(language, *turn))
        assert message["response"] == "utter_opcat"
        assert message["opcat_text"] == knowledge_in(language).opcat.text
        assert message["opcat_text"] != knowledge_in("en").opcat.text


def test_a_response_comes_again_by_its_name_for_the_response_generator_to_render() -> None:
    turn = [
        user("do you help victims?", "faq_victims"),
        action("utter_faq_victims"),
        bot("utter_faq_victims"),
    ]
    assert [m["response"] for m in again(asked_for("es", *turn))] == ["utter_faq_victims"]


def test_a_place_answer_is_worked_out_again_from_the_message_as_it_was() -> None:
    benin = {"entity": "country", "value": "Benin", "start": 21, "end": 26}
    turn = [
        user("do you work in Benin?", "ask_country_engagement", [benin]),
        action("action_answer_country_engagement"),
        bot("utter_country_listed"),
    ]
    messages = again(asked_for("fr", *turn))
    assert messages, "the country's answer again"
    said = " ".join(str(value) for message in messages for value in message.values())
    assert "Bénin" in said


def test_a_french_answer_comes_again_in_english() -> None:
    turn = [
        user("qu'est-ce que le CINAT ?", "ask_cinat"),
        action("action_answer_about_apt"),
        bot("utter_cinat"),
    ]
    [message] = again(asked_for("en", *turn, before="fr"))
    assert message["cinat_text"] == knowledge_in("en").cinat.text


@pytest.mark.parametrize(
    "turn",
    [
        # an offer waits for a yes: said again, the yes would no longer follow it
        [
            user("can you fund us?", "ask_funding"),
            action("utter_faq_funding"),
            bot("utter_faq_funding"),
            action("utter_offer_partnership_check"),
            bot("utter_offer_partnership_check"),
        ],
        # the second chance
        [
            user("the thing", "nlu_fallback"),
            action("action_default_ask_affirmation"),
            bot("utter_offer_choices"),
        ],
        # what could not be answered
        [
            user("the weather?", "out_of_scope"),
            action("action_place_or_out_of_scope"),
            bot("utter_out_of_scope"),
        ],
        # the greeting
        [user("hello", "greet"), action("utter_greet"), bot("utter_greet")],
        # a form's question
        [user("yes", "affirm"), action("funding_form"), bot("utter_ask_organisation_type")],
    ],
    ids=["offer", "second chance", "out of scope", "greeting", "form"],
)
def test_a_turn_that_was_not_all_answers_is_not_said_again(turn: List[Dict[str, Any]]) -> None:
    assert again(asked_for("fr", *turn)) == []


def test_nothing_is_said_again_in_the_language_it_was_said_in() -> None:
    turn = [user("what is the OPCAT?", "ask_opcat"), action("action_answer_about_apt"), bot("utter_opcat")]
    assert again(asked_for("en", *turn)) == []


def test_a_first_message_asking_for_a_language_has_nothing_to_repeat() -> None:
    request = user("en français svp", "choose_language")
    events = [action("action_session_start"), action("action_listen"), request, slot("language", "fr")]
    tracker = Tracker(
        "v", {"language": "fr"}, request["parse_data"], events, False, None, {}, "action_listen"
    )
    assert again(tracker) == []


def test_asked_for_a_third_language_the_answer_before_both_requests_comes_again() -> None:
    """ "y en español?" after "say that in French": the OPCAT answer in Spanish, not nothing
    (the turn before it was a change of language, not an answer)."""
    turn = [user("what is the OPCAT?", "ask_opcat"), action("action_answer_about_apt"), bot("utter_opcat")]
    in_french = [
        user("say that in French", "choose_language"),
        slot("language", "fr"),
        action("utter_language_chosen"),
        bot("utter_language_chosen"),
        action("action_answer_again"),
        bot("utter_opcat"),
    ]
    tracker = asked_for("es", *turn, action("action_listen"), *in_french)
    [message] = again(tracker)
    assert message["opcat_text"] == knowledge_in("es").opcat.text
    back = asked_for("en", *turn, action("action_listen"), *in_french)  # English again, from French
    assert again(back)[0]["opcat_text"] == knowledge_in("en").opcat.text
