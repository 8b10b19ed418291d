"""The real stack over HTTP: action server + Rasa server started by scripts/serve.py (the
launcher behind `make run`), spoken to through the REST channel like any client."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import List

import pytest

from supervision.programs import jemalloc_library
from tests.support.stacks import Stack, missing_service

FALLBACK = "Sorry, I'm not sure I understood."
OUT_OF_SCOPE = "Sorry, I can't help with that"


def conversation() -> str:
    return f"e2e-{uuid.uuid4().hex}"


def joined(replies: List[str]) -> str:
    return "\n".join(replies)


def test_greeting_offers_the_six_faq_buttons(stack: Stack) -> None:
    [reply] = stack.send(conversation(), "hello")
    assert [b["payload"] for b in reply["buttons"]] == [
        "/ask_victims_help", "/ask_why_not_denounce", "/ask_individual_cases",
        "/ask_country_selection", "/ask_partner_selection", "/ask_funding",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("can my organisation get money from you?", "not a donor"),
        ("why don't you name and shame governments?", "blaming and shaming"),
        ("why can't the APT take on my case?", "working on the system as a whole"),
        ("how do you decide in which countries to work?", "political will"),
        ("how do you choose partners", "national human rights institutions"),
        ("what do you do for torture victims?", "rehabilitation of victims"),
    ],
)
def test_faq_questions_get_the_faq_answer(stack: Stack, question: str, expected: str) -> None:
    assert expected in joined(stack.texts(conversation(), question))


def test_country_question_and_follow_ups(stack: Stack) -> None:
    sender = conversation()
    assert "Yes, Viet Nam is among the countries" in joined(stack.texts(sender, "Do you work in Vietnam?"))
    assert "Yes, Uganda is among the countries" in joined(stack.texts(sender, "and Uganda?"))
    listed = joined(stack.texts(sender, "what about in Central Asia?"))
    assert "Kazakhstan, Kyrgyzstan and Tajikistan" in listed


def test_a_follow_up_pointing_back_at_the_place_is_about_its_region(stack: Stack) -> None:
    """Whatever the words evoke ("neighbouring countries" reads close to how countries are
    chosen), after an answer about a place they point back at its region, listed or not."""
    sender = conversation()
    stack.texts(sender, "Is the APT present in Kenya?")
    assert "10 countries in Eastern Africa" in joined(
        stack.texts(sender, "and in the neighbouring countries?")
    )
    sender = conversation()
    stack.texts(sender, "¿Trabajan en Bolivia?")
    assert "América del Sur" in joined(stack.texts(sender, "¿y en los países vecinos?"))


def test_count_follow_up_counts_again(stack: Stack) -> None:
    sender = conversation()
    assert "30 countries in Africa" in joined(
        stack.texts(sender, "how many countries do you work in in Africa?")
    )
    assert "24 countries in Asia" in joined(stack.texts(sender, "what about in Asia?"))


def test_unlisted_country_is_not_claimed(stack: Stack) -> None:
    replies = joined(stack.texts(conversation(), "do you work in Norway?"))
    assert "Norway is not among the countries listed" in replies
    assert "political will" in replies
    assert "Yes." not in replies


def test_about_question_answers_from_the_knowledge_base(stack: Stack) -> None:
    assert "Route de Ferney 10" in joined(stack.texts(conversation(), "what is your postal address?"))


@pytest.mark.parametrize(
    "message",
    [
        "what's the weather like in Geneva tomorrow?",
        "who won the football match?",
        "sdfkjh wqeoiu zxcmnb",
        "🦄",
        "🍕",
    ],
)
def test_out_of_scope_is_declined_not_answered_with_an_faq(stack: Stack, message: str) -> None:
    replies = joined(stack.texts(conversation(), message))
    assert OUT_OF_SCOPE in replies or FALLBACK in replies
    assert "not a donor" not in replies and "political will" not in replies


def test_disclosure_gets_a_careful_answer_and_is_marked(stack: Stack) -> None:
    sender = conversation()
    replies = joined(stack.texts(sender, "my brother is being tortured in prison, help"))
    assert "I'm very sorry" in replies
    assert "does not take up individual cases" in replies
    assert "legal and medical assistance" in replies
    with sqlite3.connect(stack.database_file) as db:
        rows = db.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'slot'", (sender,)
        ).fetchall()
    slots = [json.loads(data) for (data,) in rows]
    assert {"event": "slot", "name": "disclosure_reported", "value": True}.items() <= next(
        s for s in slots if s["name"] == "disclosure_reported"
    ).items()


def test_ordinary_conversation_is_not_marked_as_disclosure(stack: Stack) -> None:
    sender = conversation()
    stack.texts(sender, "what is the OPCAT?")
    with sqlite3.connect(stack.database_file) as db:
        rows = db.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'slot'", (sender,)
        ).fetchall()
    assert not any(json.loads(d)["name"] == "disclosure_reported" and json.loads(d)["value"] for (d,) in rows)


BAD_INPUTS = [
    "",
    "    ",
    "a" * 10_000,
    "do you work in " + "Kenya " * 2_000,
    "😀🙈🎉",
    "👍",
    "Вы работаете в России? 你们在中国工作吗? and in Kenya?",
    "<img src=x onerror=alert(1)>",
    "<script>alert('x')</script> do you work in <b>Peru</b>?",
    '/ask_country_engagement{"country": "<script>alert(1)</script>"}',
    '/follow_up{"region": "<img src=x onerror=alert(1)>"}',
]


@pytest.mark.parametrize("message", BAD_INPUTS, ids=range(len(BAD_INPUTS)))
def test_bad_input_gets_an_answer_and_no_markup_back(stack: Stack, message: str) -> None:
    replies = stack.texts(conversation(), message)
    assert replies and all(replies)
    for reply in replies:
        assert "<" not in reply and ">" not in reply


def test_non_text_message_does_not_break_the_server(stack: Stack) -> None:
    import requests

    response = requests.post(f"{stack.url}/webhooks/rest/webhook", data="not json", timeout=30)
    assert response.status_code == 400 and "error" in response.json()
    assert stack.texts(conversation(), "hi")  # the server still answers afterwards


def test_the_rasa_processes_run_on_jemalloc_where_the_machine_has_it(stack: Stack) -> None:
    """The launcher preloads Debian's jemalloc into the Rasa processes (less memory held after
    a load: supervision/programs.py); the library is really mapped in each of them."""
    library = jemalloc_library()
    if library is None:
        missing_service("Debian's libjemalloc2 is not installed (apt-get install libjemalloc2)")
    for pid in stack.rasa_pids():
        assert str(library) in Path(f"/proc/{pid}/maps").read_text()
