"""Two questions in one message (language/questions.py)."""

from __future__ import annotations

from typing import List

import pytest

from language.questions import candidate_parts, questions


@pytest.mark.parametrize(
    "text, expected",
    [
        ("where are you based and do you work in Kenya?", ["where are you based", "do you work in Kenya?"]),
        (
            "are you a donor? and who is your fundraising officer?",
            ["are you a donor?", "who is your fundraising officer?"],
        ),
        ("what do you do, and where do you work", ["what do you do", "where do you work"]),
        (
            "où êtes-vous basés et travaillez-vous au Bénin ?",
            ["où êtes-vous basés", "travaillez-vous au Bénin ?"],
        ),
        (
            "quel est votre budget et qui sont vos partenaires",
            ["quel est votre budget", "qui sont vos partenaires"],
        ),
        ("¿dónde está su sede y trabajan en Perú?", ["¿dónde está su sede", "trabajan en Perú?"]),
        # context first: it stays with the first question
        (
            "I train police officers in Accra. We are revising our course. Does the APT train police,"
            " and do you work in Ghana?",
            [
                "I train police officers in Accra. We are revising our course. Does the APT train police",
                "do you work in Ghana?",
            ],
        ),
        (
            "Je suis juriste à Lomé. Quel est votre budget et qui sont vos partenaires ?",
            ["Je suis juriste à Lomé. Quel est votre budget", "qui sont vos partenaires ?"],
        ),
        # asked indirectly, with a closing word after: it stays with the last question
        (
            "Good morning. I am a researcher in Mexico. I would like to know what your budget is,"
            " and also who is the head of the APT. Many thanks.",
            [
                "Good morning. I am a researcher in Mexico. I would like to know what your budget is",
                "who is the head of the APT. Many thanks.",
            ],
        ),
        (
            "Somos una red en Honduras. Quisiera saber qué es la CINAT y quiénes son sus socios. Gracias.",
            ["Somos una red en Honduras. Quisiera saber qué es la CINAT", "quiénes son sus socios. Gracias."],
        ),
        (
            "Pourriez-vous m'expliquer ce qu'est l'OPCAT et si vous formez les policiers ?",
            ["Pourriez-vous m'expliquer ce qu'est l'OPCAT", "vous formez les policiers ?"],
        ),
        (
            "I would like to know if you work in Chad and whether you train police",
            ["I would like to know if you work in Chad", "you train police"],
        ),
    ],
)
def test_two_questions_are_split_in_order(text: str, expected: List[str]) -> None:
    assert questions(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "we are an NGO in Togo and we work on detention",  # the second part is not a question
        "do you work in Chad and Niger?",  # one question about two countries
        "hello? is anyone there?",  # a part too short to be a question of its own
        "What is the OPCAT?",
        '/ask_country_engagement{"country": "Chad? and where"}',  # a button's payload
        "who? what? where? when? why? how?",  # short parts
        "what is it? and where is it? and who are they? and why is that so?",  # more than 3 parts
        "Do you work in Kenya? I am [EMAIL], phone [PHONE]",  # what follows is not a question
        "We are an NGO. We visit prisons and we train police.",  # context, no question
        "Do you work in Peru and if so since when?",  # "if so" asks about the same thing
        "Tell me about your budget. Thanks and see you",  # a closing word is no question
        "We visit prisons. Do you work in Chad and Niger?",  # one question after the context
    ],
)
def test_one_question_stays_one_message(text: str) -> None:
    assert questions(text) == [text]


@pytest.mark.parametrize(
    "text, expected",
    [
        # two topics of one question: the words before the first said again before the second
        (
            "Tell me about your partners and your budget",
            ["Tell me about your partners", "Tell me about your budget"],
        ),
        (
            "Quels sont vos objectifs et vos partenaires ?",
            ["Quels sont vos objectifs?", "Quels sont vos partenaires?"],
        ),
        ("¿Cuál es su presupuesto y su dirección?", ["¿Cuál es su presupuesto?", "¿Cuál es su dirección?"]),
        (
            "Parlez-moi de l'OPCAT et de vos partenaires",
            ["Parlez-moi de l'OPCAT", "Parlez-moi de vos partenaires"],
        ),
        (
            "Háblame de sus objetivos y de su presupuesto",
            ["Háblame de sus objetivos", "Háblame de su presupuesto"],
        ),
        ("What are OPCAT and CINAT?", ["What are OPCAT?", "CINAT?"]),  # no article: the topic alone
        # context stays with the first, a closing word with the last
        (
            "We are an NGO from Benin. What are your objectives and the countries where you work? Thanks",
            [
                "We are an NGO from Benin. What are your objectives?",
                "What are the countries where you work? Thanks",
            ],
        ),
        # two questions in two sentences that the cuts above leave together
        (
            "Tell me about your budget. Also, who leads the APT.",
            ["Tell me about your budget.", "who leads the APT."],
        ),
    ],
)
def test_candidate_parts_for_the_model_to_confirm(text: str, expected: List[str]) -> None:
    assert questions(text) == [text]
    assert candidate_parts(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "We are a small NGO in Togo and we train police",  # no question
        "We monitor prisons and police stations",  # an answer, not a question
        "What is the OPCAT?",  # one topic
        "Who are your partners and we would like to meet them",  # a clause, not a topic
        "What do you think about the prevention of torture and other forms of cruel, inhuman or degrading"
        " treatment or punishment in all places of detention?",  # the second "topic" is too long to be one
    ],
)
def test_no_candidate_parts(text: str) -> None:
    assert candidate_parts(text) == []
