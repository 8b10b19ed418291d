"""French and Spanish over HTTP, end to end: understood, answered in the visitor's language
(FAQ answers, knowledge-base answers with country names from the CLDR), the page's language
at the start, an explicit switch, and the language stored with the conversation."""

from __future__ import annotations

import json
import uuid
from typing import Any, Dict, List, Optional

import requests
import sqlalchemy as sa

from language.wording import english_responses, responses_in
from storage import schema
from storage.database import engine_for
from tests.support.stacks import Stack

FRENCH = responses_in("fr", english_responses())
SPANISH = responses_in("es", english_responses())


def opening(responses: Dict[str, List[Dict[str, Any]]], name: str, words: int = 6) -> str:
    """The first words of a response, before any {variable}."""
    text = " ".join(str(responses[name][0]["text"]).split())
    return " ".join(text.split("{")[0].split()[:words])


def say(stack: Stack, sender: str, message: str, language: Optional[str] = None) -> str:
    body: Dict[str, Any] = {"sender": sender, "message": message}
    if language:
        body["metadata"] = {"language": language}
    response = requests.post(f"{stack.url}/webhooks/rest/webhook", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return "\n".join(reply.get("text") or "" for reply in response.json())


def new_sender() -> str:
    return f"languages-{uuid.uuid4().hex}"


def test_a_french_faq_question_is_answered_in_french(stack: Stack) -> None:
    reply = say(stack, new_sender(), "comment choisissez-vous les pays ?")
    assert opening(FRENCH, "utter_faq_country_selection") in " ".join(reply.split())


def test_a_spanish_budget_question_is_answered_in_spanish(stack: Stack) -> None:
    reply = say(stack, new_sender(), "¿Cuál es el presupuesto de la APT?")
    assert opening(SPANISH, "utter_budget", 4) in reply and "CHF" in reply


def test_country_questions_use_the_visitors_names_and_never_claim_an_unlisted_country(stack: Stack) -> None:
    french = say(stack, new_sender(), "Travaillez-vous au Bénin ?")
    assert "cite le Bénin parmi les pays où elle travaille" in french
    spanish = say(stack, new_sender(), "¿Trabajan ustedes en Perú?")
    assert "Perú" in spanish and opening(SPANISH, "utter_country_listed", 3) in spanish
    unlisted = say(stack, new_sender(), "Est-ce que l'APT travaille en Suisse ?")
    assert "ne cite pas la Suisse" in unlisted and opening(FRENCH, "utter_country_not_listed", 4) in unlisted


def test_the_page_language_is_used_until_the_visitor_writes_otherwise(stack: Stack) -> None:
    sender = new_sender()
    # The widget's session start, a payload, is greeted in the page's language...
    assert opening(SPANISH, "utter_greet") in " ".join(say(stack, sender, "/greet", language="es").split())
    # ...and so is a message that says nothing of a language.
    assert "Kenia" in say(stack, sender, "Kenya?", language="es")
    french = say(stack, sender, "Quels sont les objectifs de l'APT ?", language="es")
    assert "Transparence des institutions" in french  # from the French knowledge base


def test_an_explicit_switch_holds_for_short_and_mixed_messages(stack: Stack) -> None:
    sender = new_sender()
    assert opening(FRENCH, "utter_language_chosen", 4) in say(stack, sender, "in French please")
    assert "OPCAT" in say(stack, sender, "What is OPCAT?")
    back = say(stack, sender, '/choose_language{"language": "en"}')
    assert back.startswith("I will answer in English")


def test_a_request_for_a_language_with_a_question_answers_the_question_in_that_language(stack: Stack) -> None:
    """Both at once: the language is switched and the question answered, not only the switch."""
    spanish = say(stack, new_sender(), "in Spanish please: what is the OPCAT?")
    assert opening(SPANISH, "utter_opcat", 4) in " ".join(spanish.split())
    sender = new_sender()
    french = say(stack, sender, "Can you switch to French and tell me about your partners?")
    assert opening(FRENCH, "utter_partners", 4) in " ".join(french.split())
    # The switch holds for what says nothing of a language.
    assert opening(FRENCH, "utter_opcat", 4) in " ".join(say(stack, sender, "OPCAT?").split())


def test_asked_to_say_it_in_another_language_the_last_answer_comes_again_in_it(stack: Stack) -> None:
    """ "Can you say that in French?" after an answer: the change, then that answer in French;
    after a question put to the visitor (the funding offer), only the change."""
    sender = new_sender()
    assert "OPCAT" in say(stack, sender, "What is the OPCAT?")
    french = " ".join(say(stack, sender, "could you say that in French please?").split())
    assert opening(FRENCH, "utter_language_chosen", 4) in french
    assert opening(FRENCH, "utter_opcat", 4) in french
    spanish = " ".join(say(stack, sender, "en español por favor").split())
    assert opening(SPANISH, "utter_opcat", 4) in spanish
    sender = new_sender()
    say(stack, sender, "Do you work in Benin?")
    assert "cite le Bénin parmi les pays où elle travaille" in say(stack, sender, "in French please")
    sender = new_sender()
    say(stack, sender, "Can the APT fund our project?")
    only_the_change = " ".join(say(stack, sender, "in Spanish please").split())
    assert opening(SPANISH, "utter_language_chosen", 4) in only_the_change
    assert opening(SPANISH, "utter_faq_funding", 4) not in only_the_change


def test_a_country_whose_name_holds_another_is_not_taken_for_it(stack: Stack) -> None:
    """ "Guinea Ecuatorial" is not Guinea, whatever span the model tags."""
    spanish = say(stack, new_sender(), "¿Trabajan en Guinea Ecuatorial?")
    assert "no incluye Guinea Ecuatorial entre" in spanish and "incluye Guinea entre" not in spanish
    assert "Guinea-Bisáu" in say(stack, new_sender(), "¿Trabajan en Guinea-Bisáu?")


def test_the_conversation_language_is_stored_for_staff(stack: Stack) -> None:
    sender = new_sender()
    say(stack, sender, "¿Trabajan en México?")
    with engine_for(stack.database_url).connect() as connection:
        rows = connection.execute(
            sa.select(schema.events.c.data).where(
                schema.events.c.sender_id == sender, schema.events.c.type_name == "slot"
            )
        ).all()
    slots = [json.loads(data) for (data,) in rows]
    assert {"name": "language", "value": "es"} in [{"name": s["name"], "value": s["value"]} for s in slots]
