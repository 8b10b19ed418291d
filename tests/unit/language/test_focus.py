"""Where the question is in a message (language/focus.py), whether a message reads as a
disclosure (language/disclosure.py), and which reading of a message the Rasa server keeps
(server/patches/focus.py), given the readings the model gives its parts."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional, Tuple

import pytest

from language.disclosure import reads_as_disclosure
from language.focus import after_connective, after_correction, after_greeting, is_question_like, sentences
from server.patches.focus import FOCUSED_ON, refocused


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("Hello, do you work in Chad?", "do you work in Chad?"),
        ("hi there! what is the OPCAT", "what is the OPCAT"),
        ("Good morning. Where are you based?", "Where are you based?"),
        ("Dear APT team, I would like to know your budget", "I would like to know your budget"),
        ("Bonjour, vous êtes où ?", "vous êtes où ?"),
        ("Bonjour à tous, quel est votre budget ?", "quel est votre budget ?"),
        ("Buenos días, ¿trabajan en Perú?", "trabajan en Perú?"),
        ("hola que tal, quienes son ustedes", "que tal, quienes son ustedes"),
    ],
)
def test_the_text_after_a_greeting_is_found(text: str, rest: str) -> None:
    found = after_greeting(text)
    assert found is not None and found[1] == rest and text[found[0] :] == rest


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("no, I meant Togo", "Togo"),
        ("sorry, I meant your partners", "your partners"),
        ("No sorry i meant nigeria", "nigeria"),
        ("actually I meant to ask about your budget", "your budget"),
        ("my mistake, Peru", "Peru"),
        ("non, je voulais dire le Togo", "le Togo"),
        # what the visitor asked, said again
        ("no, I asked about your partners", "your partners"),
        ("I'm asking about the OPCAT", "the OPCAT"),
        ("non, ma question portait sur vos partenaires", "vos partenaires"),
        ("non, je vous demandais votre adresse", "votre adresse"),
        ("no, mi pregunta era sobre la dirección", "la dirección"),
        ("no, pregunté por los socios", "los socios"),
        # by contrast, and without what was not meant
        ("not Benin but Togo", "Togo"),
        ("pas le Niger mais le Nigeria", "le Nigeria"),
        ("perdón, no Honduras sino Guatemala", "Guatemala"),
        ("sorry, I meant Peru, not Paraguay", "Peru"),
        ("non, je voulais dire le Pérou et pas le Paraguay", "le Pérou"),
        ("pardon, je parlais des partenaires", "des partenaires"),
        ("en fait je voulais parler du budget", "du budget"),
        ("no, quise decir Perú", "Perú"),
        ("perdón, me refería a los socios", "los socios"),
    ],
)
def test_what_a_correction_meant_is_found(text: str, rest: str) -> None:
    found = after_correction(text)
    assert found is not None and found[1] == rest and text[found[0] :].startswith(rest)


@pytest.mark.parametrize(
    "text", ["no", "sorry", "no thanks", "non merci", "no gracias", "I meant", "nope, wrong", "Nigeria"]
)
def test_a_no_or_a_sorry_alone_is_no_correction(text: str) -> None:
    assert after_correction(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "hello",
        "Hello there!",
        "bonjour",
        "Buenos días",
        "Hi APT",
        "history of torture prevention",
        "je cherche des informations",
        "salutations to you",
    ],  # fmt: skip
)
def test_a_greeting_alone_or_a_word_that_starts_like_one_is_not_cut(text: str) -> None:
    assert after_greeting(text) is None


def test_the_sentences_of_a_long_message_come_questions_first_with_their_place() -> None:
    text = (
        "We are a small NGO in Lomé working with prisons. We read about your work on the OPCAT. "
        "Could you support a joint project? Thank you in advance."
    )
    found = sentences(text)
    assert [part for _, part in found][:1] == ["Could you support a joint project?"]
    assert all(text[offset : offset + len(part)] == part for offset, part in found)
    assert sentences("Where are you based?") == [] and sentences("Hello. Hi.") == []


def test_clauses_cut_a_sentence_at_commas_and_conjunctions() -> None:
    text = "they burned my cousin in custody, is there a helpline"
    assert [part for _, part in sentences(text, clauses=True)] == [
        "is there a helpline",
        "they burned my cousin in custody,",
    ]
    assert is_question_like("is there a helpline") and not is_question_like("we are an NGO")


@pytest.mark.parametrize(
    "text",
    [
        "they burned my cousin in custody, is there a helpline",
        "I need a doctor after what the police did",
        "my son disappeared after his arrest",
        "mon frère a été battu en garde à vue",
        "j'ai été torturé au commissariat",
        "ils ont frappé mon père, que faire ?",
        "mi hermano está detenido y lo golpean",
        "la policía me golpeó, necesito un abogado",
    ],
)
def test_a_disclosure_reads_as_one_in_three_languages(text: str) -> None:
    assert reads_as_disclosure(text)


@pytest.mark.parametrize(
    "text",
    [
        "how do you prevent torture in prisons?",
        "what is torture according to the UN?",
        "do you train police officers on detention?",
        "comment prévenir la torture dans les prisons ?",
        "qu'est-ce que la torture selon l'ONU ?",
        "¿qué es la tortura?",
        "¿cómo previenen la tortura en las cárceles?",
        "Who is your secretary general?",
    ],
)
def test_a_question_about_torture_does_not(text: str) -> None:
    assert not reads_as_disclosure(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm writing my dissertation on torture prevention in East Africa. Which countries do you work in?",
        "Je prépare un mémoire sur la prévention de la torture en Afrique de l'Ouest.",
        "Je fais un exposé sur la torture en garde à vue. Est-ce que l'APT forme les policiers ?",
        "Estoy haciendo un trabajo sobre la tortura bajo custodia policial.",
    ],
)
def test_a_study_of_torture_as_a_subject_does_not(text: str) -> None:
    assert not reads_as_disclosure(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm writing a report about the torture my brother suffered in prison",  # someone close
        "I'm writing an article about what the police did to me",  # the subject is the writer
        "I was tortured in prison and I am writing a thesis now",  # harm outside the subject
        "I'm doing research on torture, and I was beaten by police last year",
        "mi tesis es sobre la tortura que sufrí en la cárcel",  # "I" in the verb
        "mon mémoire porte sur la torture subie par mon père",
    ],
)
def test_a_study_that_tells_of_the_writer_or_someone_close_still_does(text: str) -> None:
    assert reads_as_disclosure(text)


@pytest.mark.parametrize(
    "text",
    [
        "My daughter is writing a school essay on torture, what does your organisation do?",
        "I work with refugees who survived torture; do you have practical tools for monitors?",
        "I'm a researcher on police violence; who is your secretary general?",
        "Je travaille avec des survivants de la torture, quels outils proposez-vous ?",
        "Notre association accompagne les familles de détenus, comment devenir partenaire ?",
        "Trabajo con sobrevivientes de tortura, ¿tienen guías prácticas?",
        "Nuestra ONG acompaña a familias de personas detenidas, ¿cómo ser socios?",
    ],
)
def test_work_for_others_or_a_study_by_someone_close_does_not(text: str) -> None:
    """Someone close who studies the subject, or work with those it happened to, names no
    one close as the one harmed."""
    assert not reads_as_disclosure(text)


@pytest.mark.parametrize(
    "text",
    [
        "I work with my lawyer because the police beat my son",
        "We support our son who was tortured in detention, who can help us?",
        "My daughter is doing research on torture because I was tortured myself",
        "Je travaille avec un avocat parce que la police a torturé mon fils",
        "Trabajo con un abogado porque torturaron a mi padre",
        "Acompañamos a nuestra hija que sufrió malos tratos en la cárcel",
    ],
)
def test_work_or_a_study_that_tells_of_harm_to_someone_close_still_does(text: str) -> None:
    assert reads_as_disclosure(text)


# -- which reading the Rasa server keeps ---------------------------------------------------------


def reading(
    intent: str, confidence: float = 0.9, entities: Optional[List[Dict[str, Any]]] = None
) -> Dict[str, Any]:
    return {
        "text": "",
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": intent, "confidence": confidence}],
        "entities": entities or [],
    }


def keep(
    text: str, whole: Dict[str, Any], parts: Dict[str, Dict[str, Any]]
) -> Tuple[Dict[str, Any], List[str]]:
    """The reading kept for ``text``, and the parts that were parsed (``parts``: the model's
    reading of each; a part not listed reads as unsure)."""
    parsed: List[str] = []

    async def parse(part: str) -> Dict[str, Any]:
        parsed.append(part)
        return parts.get(part, reading("nlu_fallback", 0.6))

    return asyncio.run(refocused(text, whole, parse)), parsed


def test_a_greeting_and_a_question_keep_the_questions_reading_and_its_entities() -> None:
    chad = {"entity": "country", "value": "Chad", "start": 15, "end": 19}
    page = {"entity": "page_language", "value": "en", "start": 0, "end": 0}
    whole = reading("greet", 0.8, [page])
    kept, parsed = keep(
        "Hello, do you work in Chad?",
        whole,
        {"do you work in Chad?": reading("ask_country_engagement", 0.95, [chad])},
    )
    assert parsed == ["do you work in Chad?"]
    assert kept["intent"]["name"] == "ask_country_engagement" and kept[FOCUSED_ON] == "do you work in Chad?"
    assert page in kept["entities"]
    [country] = [e for e in kept["entities"] if e["entity"] == "country"]
    assert "Hello, do you work in Chad?"[country["start"] : country["end"]] == "Chad"


def test_a_correction_is_read_as_what_it_meant_whatever_the_whole_read_as() -> None:
    togo = {"entity": "country", "value": "Togo", "start": 0, "end": 4}
    kept, parsed = keep("no, I meant Togo", reading("deny", 0.97), {"Togo": reading("inform", 0.8, [togo])})
    assert parsed == ["Togo"] and kept["intent"]["name"] == "inform" and kept[FOCUSED_ON] == "Togo"
    [country] = [e for e in kept["entities"] if e["entity"] == "country"]
    assert "no, I meant Togo"[country["start"] : country["end"]] == "Togo"
    # Unclear alone too: the unclear reading of what was meant, so that the place is looked
    # for in it (actions/country_questions.py), not the "no".
    kept, _ = keep("sorry, I meant Lagos", reading("deny", 0.9), {})
    assert kept["intent"]["name"] == "nlu_fallback" and kept[FOCUSED_ON] == "Lagos"


def test_a_greeting_with_an_unclear_rest_stays_a_greeting() -> None:
    kept, _ = keep("Hello, blah blah", reading("greet"), {})
    assert kept["intent"]["name"] == "greet" and FOCUSED_ON not in kept


def test_a_clear_whole_reading_is_never_second_guessed() -> None:
    kept, parsed = keep("Hello, what is the OPCAT?", reading("ask_opcat"), {})
    assert parsed == [] and kept["intent"]["name"] == "ask_opcat"


def test_an_unclear_long_message_is_read_by_its_question_sentence() -> None:
    text = "We are a small NGO in Togo. We work with prisons. How does the APT choose its partners?"
    kept, _ = keep(
        text,
        reading("nlu_fallback", 0.6),
        {
            "We are a small NGO in Togo.": reading("inform", 0.9),
            "How does the APT choose its partners?": reading("ask_partner_selection", 0.97),
        },
    )
    assert kept["intent"]["name"] == "ask_partner_selection"


def test_a_long_message_with_only_weak_or_unclear_sentences_stays_unclear() -> None:
    text = "We are a small NGO in Togo. Blah blah blah."
    kept, _ = keep(text, reading("nlu_fallback", 0.6), {"We are a small NGO in Togo.": reading("thank")})
    assert kept["intent"]["name"] == "nlu_fallback"


def test_a_disclosure_in_a_clause_wins_over_a_confident_other_reading() -> None:
    text = "they burned my cousin in custody, is there a helpline"
    kept, _ = keep(
        text,
        reading("ask_contacts", 0.8),
        {
            "they burned my cousin in custody,": reading("disclose_abuse", 0.9),
            "is there a helpline": reading("ask_contacts"),
        },
    )
    assert kept["intent"]["name"] == "disclose_abuse"


def test_an_unclear_message_that_reads_as_a_disclosure_gets_the_careful_answer() -> None:
    kept, _ = keep("I need a doctor after what the police did", reading("nlu_fallback", 0.6), {})
    assert kept["intent"]["name"] == "disclose_abuse"


def test_a_disclosure_read_as_out_of_scope_gets_the_careful_answer_too() -> None:
    kept, _ = keep(
        "is it legal that the guards burned my brother in custody", reading("out_of_scope", 0.9), {}
    )
    assert kept["intent"]["name"] == "disclose_abuse"
    kept, _ = keep("is sleep deprivation torture under the law?", reading("out_of_scope", 0.9), {})
    assert kept["intent"]["name"] == "out_of_scope"  # about torture, nobody's story


def test_an_unclear_question_about_torture_stays_unclear() -> None:
    kept, _ = keep("what is torture according to the UN?", reading("nlu_fallback", 0.6), {})
    assert kept["intent"]["name"] == "nlu_fallback"


@pytest.mark.parametrize("text", ["do you speak Spanish?", "en français svp", "English please"])
def test_a_request_for_a_language_is_read_as_one_whatever_the_model_read(text: str) -> None:
    kept, parsed = keep(text, reading("ask_about_apt", 0.7), {})
    assert kept["intent"]["name"] == "choose_language" and parsed == []
    assert (
        keep("Do you work in French-speaking countries?", reading("ask_country_engagement"), {})[0]["intent"][
            "name"
        ]
        == "ask_country_engagement"
    )


def test_the_question_asked_is_the_forms_slot_else_the_last_unanswered_bot_question() -> None:
    from rasa.shared.core.events import ActiveLoop, BotUttered, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from server.patches.focus import _question_asked

    consent = BotUttered(
        "Would you like me to pass this enquiry on?", metadata={"utter_action": "utter_ask_enquiry_consent"}
    )
    tracker = DialogueStateTracker.from_events("s", [UserUttered("yes"), consent])
    assert _question_asked(tracker) == "utter_ask_enquiry_consent"
    tracker.update(UserUttered("no"))
    assert _question_asked(tracker) is None, "answered already"
    tracker.update_with_events([ActiveLoop("funding_form"), SlotSet("requested_slot", "work_area")], None)
    assert _question_asked(tracker) == "work_area"
    assert _question_asked(None) is None


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("and your budget?", "your budget?"),
        ("What about in Asia?", "in Asia?"),
        ("et au Bénin ?", "au Bénin ?"),
        ("Et qu'en est-il des partenaires ?", "partenaires ?"),
        ("¿y en Bolivia?", "en Bolivia?"),
        ("y qué hay de los socios", "los socios"),
    ],
)
def test_the_text_after_a_follow_ups_opening_is_found(text: str, rest: str) -> None:
    found = after_connective(text)
    assert found is not None and found[1] == rest and text[found[0] :] == rest


@pytest.mark.parametrize("text", ["and", "Andorra?", "yes", "ethics", "¿y?", "et"])
def test_a_word_that_only_starts_like_an_opening_is_none(text: str) -> None:
    assert after_connective(text) is None


def test_an_unclear_follow_up_is_read_as_what_follows_its_opening() -> None:
    kept, parsed = keep(
        "and your budget?", reading("nlu_fallback", 0.6), {"your budget?": reading("ask_budget", 0.9)}
    )
    assert parsed == ["your budget?"] and kept["intent"]["name"] == "ask_budget"
    # A place question after the opening is a follow-up: answered like the place question before.
    peru = {"entity": "country", "value": "Perú", "start": 3, "end": 7}
    kept, _ = keep(
        "¿y en Perú?",
        reading("nlu_fallback", 0.6),
        {"en Perú?": reading("ask_country_engagement", 0.8, [peru])},
    )
    assert kept["intent"]["name"] == "follow_up"
    [country] = [e for e in kept["entities"] if e["entity"] == "country"]
    assert "¿y en Perú?"[country["start"] : country["end"]] == "Perú"
    # A clear whole reading is left alone.
    kept, parsed = keep("and thanks!", reading("thank", 0.95), {})
    assert parsed == [] and kept["intent"]["name"] == "thank"


def unsure(*ranking: Tuple[str, float]) -> Dict[str, Any]:
    """An unsure whole reading (the fallback classifier's) over the model's ``ranking``."""
    return {
        "text": "",
        "intent": {"name": "nlu_fallback", "confidence": 0.6},
        "intent_ranking": [
            {"name": "nlu_fallback", "confidence": 0.6},
            *({"name": name, "confidence": confidence} for name, confidence in ranking),
        ],
        "entities": [],
    }


def test_an_unsure_reading_with_one_question_clearly_ahead_is_answered() -> None:
    kept, _ = keep("who bankrolls your outfit?", unsure(("ask_budget", 0.52), ("ask_partners", 0.18)), {})
    assert kept["intent"] == {"name": "ask_budget", "confidence": 0.52}


@pytest.mark.parametrize(
    "ranking",
    [
        [("ask_budget", 0.45), ("ask_funding", 0.30)],  # two readings compete: the second chance
        [("ask_budget", 0.30), ("ask_funding", 0.05)],  # too weak to answer on
        [("stop", 0.55), ("deny", 0.1)],  # never end a form on a guess
        [("follow_up", 0.55), ("ask_budget", 0.1)],  # depends on what came before
        [("disclose_abuse", 0.55), ("greet", 0.1)],  # not on a guess: the cues decide
    ],
)
def test_a_reading_without_a_clear_lead_to_a_question_stays_unsure(ranking: List[Tuple[str, float]]) -> None:
    kept, _ = keep("what is this about?", unsure(*ranking), {})
    assert kept["intent"]["name"] == "nlu_fallback"


def test_an_unsure_question_that_names_a_place_is_about_that_place() -> None:
    viet_nam = {"entity": "country", "value": "Viet Nam", "start": 3, "end": 11}
    whole = unsure(("ask_partners", 0.3), ("ask_operations", 0.25))
    whole["entities"] = [viet_nam]
    kept, _ = keep("is Viet Nam one of yours?", whole, {})
    assert kept["intent"]["name"] == "ask_country_engagement"
    # not a message that asks nothing, nor a disclosure
    kept, _ = keep("Viet Nam, my friend", {**whole, "entities": [viet_nam]}, {})
    assert kept["intent"]["name"] == "nlu_fallback"
    kept, _ = keep("my brother was beaten in custody in Viet Nam, can you help?", whole, {})
    assert kept["intent"]["name"] == "disclose_abuse"


def test_a_disclosure_asking_for_help_with_the_case_gets_the_careful_answer() -> None:
    asked = "ask_individual_cases"
    kept, _ = keep("my son was tortured in custody, can you take up his case?", reading(asked, 0.95), {})
    assert kept["intent"]["name"] == "disclose_abuse"
    # a question about cases with no one close in it is answered
    kept, _ = keep("why doesn't the APT take up individual cases of torture?", reading(asked, 0.95), {})
    assert kept["intent"]["name"] == asked
    # and a question about victims in general keeps its answer (often asked by those who help)
    text = "my sister counsels torture victims, what does the APT do for victims?"
    kept, _ = keep(text, reading("ask_victims_help", 0.95), {})
    assert kept["intent"]["name"] == "ask_victims_help"


def test_after_an_answer_about_places_an_unsure_message_naming_one_follows_it_up() -> None:
    nigeria = {"entity": "country", "value": "Nigeria", "start": 12, "end": 19}
    whole = unsure(("ask_partners", 0.3), ("deny", 0.25))
    whole["entities"] = [nigeria]
    kept = asyncio.run(
        refocused("the other one, Nigeria", whole, lambda _: _unsure_part(), about_places=True)
    )
    assert kept["intent"]["name"] == "follow_up"
    # with no answer about places before, it stays unsure
    kept = asyncio.run(refocused("the other one, Nigeria", whole, lambda _: _unsure_part()))
    assert kept["intent"]["name"] == "nlu_fallback"


@pytest.mark.parametrize(
    ("text", "read_as"),
    [
        ("and in the neighbouring countries?", "faq_country_selection"),
        ("what about there?", "ask_about_apt"),
        ("et dans les pays voisins ?", "ask_partners"),
        ("¿y en esa región?", "nlu_fallback"),
        ("et les autres pays de la région ?", "faq_country_selection"),  # 7 words and a "?"
    ],
)
def test_after_an_answer_about_places_a_short_message_pointing_back_at_it_follows_it_up(
    text: str, read_as: str
) -> None:
    whole = reading(read_as, 0.8)
    kept = asyncio.run(refocused(text, whole, lambda _: _unsure_part(), about_places=True))
    assert kept["intent"]["name"] == "follow_up"
    # with no answer about places before, the reading stays
    assert asyncio.run(refocused(text, whole, lambda _: _unsure_part()))["intent"]["name"] != "follow_up"


@pytest.mark.parametrize(
    "text",
    [
        "is there a helpline for victims?",  # "there" that says something exists
        "how many countries are there?",
        # a question of its own
        "how do you choose which countries to work in within that region of the world?",
    ],
)
def test_after_an_answer_about_places_other_messages_keep_their_reading(text: str) -> None:
    kept = asyncio.run(
        refocused(text, reading("ask_victims_help", 0.9), lambda _: _unsure_part(), about_places=True)
    )
    assert kept["intent"]["name"] == "ask_victims_help"


async def _unsure_part() -> Dict[str, Any]:
    return reading("nlu_fallback", 0.6)


def test_a_message_that_asks_nothing_is_not_answered_on_a_lead() -> None:
    vague = unsure(("ask_partner_selection", 0.45), ("ask_partners", 0.18))
    kept, _ = keep("the thing with the stuff from before", vague, {})
    assert kept["intent"]["name"] == "nlu_fallback"


def test_a_clear_lead_to_out_of_scope_says_so() -> None:
    kept, _ = keep("will it rain on Sunday?", unsure(("out_of_scope", 0.5), ("ask_contacts", 0.2)), {})
    assert kept["intent"]["name"] == "out_of_scope"


def test_a_lead_never_overrides_a_disclosure() -> None:
    kept, _ = keep(
        "the police beat my son, who funds you", unsure(("ask_budget", 0.5), ("ask_funding", 0.1)), {}
    )
    assert kept["intent"]["name"] == "disclose_abuse"


def test_a_request_for_a_language_with_a_question_answers_the_question() -> None:
    text = "in Spanish please: what is the OPCAT?"
    kept, parsed = keep(text, reading("choose_language", 0.7), {"what is the OPCAT?": reading("ask_opcat")})
    assert parsed == ["what is the OPCAT?"] and kept["intent"]["name"] == "ask_opcat"
    assert kept[FOCUSED_ON] == "what is the OPCAT?"
    # What is besides the request is no question: the request is answered.
    kept, _ = keep("en español, gracias amigo", reading("thank", 0.7), {"gracias amigo": reading("thank")})
    assert kept["intent"]["name"] == "choose_language"


CONTEXT = "We are a small NGO in Benin and we need support for our work. Do you work in Benin?"


def test_context_that_pulls_a_long_message_elsewhere_yields_to_its_question() -> None:
    kept, parsed = keep(
        CONTEXT,
        reading("ask_funding", 0.7),
        {"Do you work in Benin?": reading("ask_country_engagement", 0.98)},
    )
    assert parsed == ["Do you work in Benin?"]
    assert kept["intent"]["name"] == "ask_country_engagement" and kept[FOCUSED_ON] == "Do you work in Benin?"


@pytest.mark.parametrize(
    "question",
    [
        reading("ask_country_engagement", 0.65),  # less sure than the whole
        reading("help", 0.99),  # a weak reading
        reading("ask_funding", 0.99),  # the same reading
    ],
)
def test_a_long_messages_whole_reading_stays_unless_its_question_reads_surer(
    question: Dict[str, Any],
) -> None:
    kept, _ = keep(CONTEXT, reading("ask_funding", 0.7), {"Do you work in Benin?": question})
    assert kept["intent"]["name"] == "ask_funding" and FOCUSED_ON not in kept


def test_a_message_of_questions_only_or_of_one_sentence_is_not_cut() -> None:
    _, parsed = keep("Do you work in Benin? Do you work in Togo?", reading("ask_country_engagement"), {})
    assert parsed == []
    _, parsed = keep("We are an NGO in Benin, do you work there?", reading("ask_country_engagement"), {})
    assert parsed == []


def test_a_long_message_with_a_request_for_a_language_is_answered_by_its_question() -> None:
    text = (
        "We are an NGO in Togo. We work on prisons. How do you choose your partners? Please answer in French."
    )
    kept, _ = keep(
        text,
        reading("nlu_fallback", 0.6),
        {"How do you choose your partners?": reading("ask_partner_selection", 0.97)},
    )
    assert kept["intent"]["name"] == "ask_partner_selection"
    # Nothing else clear in it: the request is answered.
    kept, _ = keep(
        "We are an NGO in Togo. We work on prisons. Please answer in French.", reading("nlu_fallback"), {}
    )
    assert kept["intent"]["name"] == "choose_language"


def unsure_between(*guesses: Tuple[str, float]) -> Dict[str, Any]:
    ranking = [{"name": "nlu_fallback", "confidence": 0.6}] + [
        {"name": n, "confidence": c} for n, c in guesses
    ]
    return {"text": "", "intent": ranking[0], "intent_ranking": ranking, "entities": []}


LAWYER = (
    "Bonjour. Je suis avocat au Burkina Faso et je travaille en droit pénal. "
    "Notre barreau a un petit budget. Est-ce que l'APT aide les victimes individuellement ? Merci."
)
QUESTION = "Est-ce que l'APT aide les victimes individuellement ?"


def test_context_read_clearly_does_not_answer_in_place_of_a_question_the_model_hesitated_on() -> None:
    """The budget was answered: "Notre barreau a un petit budget" read clearly, the question
    hesitated between individual cases and victims. The question's own reading is kept, for
    the second chance (or a clear lead) to work on what was asked."""
    kept, _ = keep(
        LAWYER,
        reading("nlu_fallback", 0.6),
        {
            "Notre barreau a un petit budget.": reading("ask_budget", 0.7),
            QUESTION: unsure_between(("ask_individual_cases", 0.57), ("ask_victims_help", 0.39)),
        },
    )
    assert kept["intent"]["name"] == "nlu_fallback"
    assert [r["name"] for r in kept["intent_ranking"][1:3]] == ["ask_individual_cases", "ask_victims_help"]
    assert kept[FOCUSED_ON] == QUESTION
    # With a clear lead, the question is answered.
    kept, _ = keep(
        LAWYER,
        reading("nlu_fallback", 0.6),
        {
            "Notre barreau a un petit budget.": reading("ask_budget", 0.7),
            QUESTION: unsure_between(("ask_individual_cases", 0.57), ("ask_victims_help", 0.2)),
        },
    )
    assert kept["intent"]["name"] == "ask_individual_cases"


def test_a_question_read_as_nothing_leaves_the_answer_to_the_context() -> None:
    """ "Can you help?" reads as the help menu: the context says what is asked (funding)."""
    text = "We are an NGO in Benin. We need money for our prison project. Can you help us?"
    kept, _ = keep(
        text,
        reading("nlu_fallback", 0.6),
        {
            "We need money for our prison project.": reading("ask_funding", 0.9),
            "Can you help us?": reading("help"),
        },
    )
    assert kept["intent"]["name"] == "ask_funding"


def test_a_greeting_then_context_then_a_question_is_read_by_its_question() -> None:
    """The text after "Hello," was read as information (the context); its question was never
    looked at: "What is the OPCAT?" got "Sorry, I'm not sure I understood"."""
    text = "Hello, I work for a human rights NGO in Senegal and we train gendarmes. What is the OPCAT?"
    rest = "I work for a human rights NGO in Senegal and we train gendarmes. What is the OPCAT?"
    kept, _ = keep(
        text,
        reading("greet", 0.7),
        {rest: reading("inform", 0.74), "What is the OPCAT?": reading("ask_opcat", 0.99)},
    )
    assert kept["intent"]["name"] == "ask_opcat" and kept[FOCUSED_ON] == "What is the OPCAT?"
