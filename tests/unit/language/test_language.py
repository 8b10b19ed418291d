"""The conversation's language: detection, explicit requests, the page's language, and the
response generator answering in that language (language/, server/components/language_detector.py)."""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import ENTITIES, METADATA, TEXT
from rasa.shared.nlu.training_data.loading import load_data
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from apt_settings import ROOT
from language import conversation_language, supported
from language.detection import Vocabulary, besides_request, detect, requested
from language.wording import WordingError, differences, english_responses, responses_in
from server.components.language_detector import LanguageDetector, example_language
from server.nlg import LocalisedNaturalLanguageGenerator

LANGUAGE_SLOTS = {
    name: {"type": "categorical", "values": ["en", "fr", "es"], "influence_conversation": False,
           "mappings": [{"type": "from_entity", "entity": name}]}
    for name in ("language", "page_language")
}  # fmt: skip
DOMAIN = Domain.load(str(ROOT / "domain.yml")).merge(
    Domain.from_dict({"entities": list(LANGUAGE_SLOTS), "slots": LANGUAGE_SLOTS})
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("comment choisissez-vous les pays ?", "fr"),
        ("Travaillez-vous au Bénin ?", "fr"),
        ("¿Trabajan en Perú?", "es"),
        ("presupuesto", "es"),
        ("How do you choose the countries you work in?", "en"),
        # Short or mixed: not sure, so the conversation keeps its language.
        ("ok", None),
        ("Kenya", None),
        ("merci", None),
        ("we are an NGO in Togo", None),
        ('/inform{"country": "Benin"}', None),
        ("", None),
    ],
)
def test_a_message_switches_the_language_only_when_surely_detected(
    text: str, expected: Optional[str]
) -> None:
    assert detect(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("in French please", "fr"),
        ("en español por favor", "es"),
        ("¿hablas español?", "es"),
        ("Parlez-vous français ?", "fr"),
        ("English", "en"),
        ("Français", "fr"),
        ("Do you work in French-speaking countries?", None),  # a question, not a request
        ("what is the french for OPCAT and do you have a spanish version", None),
        ("in French or Spanish?", None),  # two languages: not a choice
        # A request in one clause of a longer message, with a question besides.
        ("in Spanish please: what is the OPCAT?", "es"),
        ("répondez en français svp, où êtes-vous ?", "fr"),
        ("Can you switch to French and tell me about your partners?", "fr"),
        ("en español, ¿quién financia a la APT?", "es"),
        ("Is the manual about detention monitoring published in English anywhere?", None),
        # Courtesies do not make a request too long to be one.
        ("could you say that in French please?", "fr"),
        ("pourriez-vous répéter ça en espagnol s'il vous plaît ?", "es"),
        ("what is the situation in French speaking Africa please", None),
    ],
)
def test_an_explicit_request_names_one_language(text: str, expected: Optional[str]) -> None:
    assert requested(text) == expected


@pytest.mark.parametrize(
    ("text", "rest"),
    [
        ("in Spanish please: what is the OPCAT?", "what is the OPCAT?"),
        ("answer in French: who funds you?", "who funds you?"),
        ("Can you switch to French and tell me about your partners?", "tell me about your partners?"),
        ("¿Dónde trabajan? En español por favor", "¿Dónde trabajan?"),
        ("in French please", None),  # only the request
        ("en español, gracias", None),  # nothing that asks
        ("do you work in Peru?", None),  # no request at all
    ],
)
def test_a_question_besides_a_request_is_found(text: str, rest: Optional[str]) -> None:
    found = besides_request(text)
    assert (found[1] if found else None) == rest
    if found:
        assert text[found[0] :].startswith(found[1])


def test_codes_and_the_conversation_language() -> None:
    assert supported("fr-CH") == "fr" and supported("es_419") == "es" and supported("de") is None
    assert supported(None) is None
    assert conversation_language({}) == "en"
    assert conversation_language({"page_language": "fr"}) == "fr"
    assert conversation_language({"language": "es", "page_language": "fr"}) == "es"
    assert conversation_language({"language": "xx", "page_language": "de"}) == "en"


def entities_of(text: str, metadata: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
    message = Message(data={TEXT: text, METADATA: metadata or {}})
    [processed] = detector().process([message])
    return [e for e in processed.get(ENTITIES) or [] if e["entity"] in ("language", "page_language")]


@functools.cache
def project_vocabulary() -> Vocabulary:
    """The vocabulary the NLU step learns from the project's training data."""
    examples = load_data(str(ROOT / "data" / "nlu")).intent_examples
    return Vocabulary.learnt_from((example_language(m), m.get(TEXT) or "") for m in examples)


def detector(vocabulary: Optional[Vocabulary] = None) -> LanguageDetector:
    storage = LocalModelStorage(ROOT / "build" / "test-output" / "language-detector")
    return LanguageDetector(storage, Resource("language_detector"), vocabulary)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # One or two words Lingua alone is not sure of (or wrong about: "merci" was Spanish to
        # it), written in one language only in the assistant's training data.
        ("merci", "fr"),
        ("Merci !", "fr"),
        ("salut", "fr"),
        ("oui", "fr"),
        ("d'accord", "fr"),
        ("hola", "es"),
        ("thanks a lot", "en"),
        # What says nothing of a language still says nothing.
        ("ok", None),
        ("Kenya", None),
        ("OPCAT", None),
        ("no", None),
    ],
)
def test_the_training_vocabulary_settles_short_messages(text: str, expected: Optional[str]) -> None:
    assert detect(text, project_vocabulary()) == expected


def test_the_vocabulary_never_contradicts_lingua_on_the_held_out_questions() -> None:
    """Every held-out message of a language is detected as that language or not at all."""
    for language, name in (("en", "test_nlu.yml"), ("fr", "test_nlu_fr.yml"), ("es", "test_nlu_es.yml")):
        examples = [m.get(TEXT) for m in load_data(str(ROOT / "tests" / name)).intent_examples]
        found = [detect(text, project_vocabulary()) for text in examples]
        wrong = [
            (text, code) for text, code in zip(examples, found, strict=False) if code not in (language, None)
        ]
        assert len(wrong) <= 3, wrong  # gibberish ("wxcvbn") may go anywhere
        assert found.count(language) >= 0.97 * len(examples), (language, found.count(None))


def test_a_place_name_says_nothing_of_the_visitors_language() -> None:
    text = "Do you have projects in Bénin or in Perú?"
    spans = [(text.index("Bénin"), text.index("Bénin") + 5), (text.index("Perú"), text.index("Perú") + 4)]
    assert detect(text, project_vocabulary(), spans) == "en"
    place = {"entity": "country", "value": "Peru", "start": 12, "end": 16}
    message = Message({TEXT: "projects in Perú?", ENTITIES: [place]})
    [processed] = detector(project_vocabulary()).process([message])
    assert [(e["entity"], e["value"]) for e in processed.get(ENTITIES) if e["entity"] == "language"] == [
        ("language", "en")
    ]


def test_a_training_example_says_its_language_in_its_intents_metadata() -> None:
    french = Message({TEXT: "salut", METADATA: {"intent": {"language": "fr"}}})
    assert example_language(french) == "fr"
    assert example_language(Message({TEXT: "hello"})) == "en"
    assert example_language(Message({TEXT: "x", METADATA: {"intent": {"language": "de"}}})) == "en"
    languages = Counter(example_language(m) for m in load_data(str(ROOT / "data" / "nlu")).intent_examples)
    assert set(languages) == {"en", "fr", "es"} and min(languages.values()) > 1000, languages


def test_the_nlu_step_keeps_its_vocabulary_with_the_model(tmp_path: Path) -> None:
    storage, resource = LocalModelStorage(tmp_path), Resource("language_detector")
    trained = LanguageDetector(storage, resource)
    training = TrainingData([Message({TEXT: "salut l'équipe", "intent": "greet",
                                      METADATA: {"intent": {"language": "fr"}}}),
                             Message({TEXT: "hello team", "intent": "greet"})])  # fmt: skip
    trained.train(training)
    loaded = LanguageDetector.load({}, storage, resource, ExecutionContext(GraphSchema({}), "x"))
    assert isinstance(loaded, LanguageDetector) and loaded.vocabulary is not None
    assert loaded.vocabulary.counts["fr"] == {"salut": 1, "l": 1, "equipe": 1}
    missing = LanguageDetector.load({}, storage, Resource("nothing"), ExecutionContext(GraphSchema({}), "x"))
    assert isinstance(missing, LanguageDetector) and missing.vocabulary is None  # Lingua alone


def test_the_nlu_step_adds_the_language_and_the_page_language() -> None:
    assert [(e["entity"], e["value"]) for e in entities_of("¿Trabajan en Perú?")] == [("language", "es")]
    assert [(e["entity"], e["value"]) for e in entities_of("ok", {"language": "fr-FR"})] == [
        ("page_language", "fr")
    ]
    assert entities_of("ok", {"language": "<script>"}) == []
    assert [(e["entity"], e["value"]) for e in entities_of("in Spanish please")] == [("language", "es")]


def test_translations_match_the_english_responses() -> None:
    english = english_responses()
    for language in ("fr", "es"):
        translated = responses_in(language, english)
        assert set(translated) == set(english)
        assert translated["utter_greet"] != english["utter_greet"]


def test_a_translation_that_changes_placeholders_or_payloads_is_refused() -> None:
    english = {"utter_x": [{"text": "Hello {name}", "buttons": [{"title": "Yes", "payload": "/affirm"}]}]}
    wrong = {
        "utter_x": [{"text": "Bonjour", "buttons": [{"title": "Oui", "payload": "/deny"}]}],
        "utter_y": [],
    }
    assert differences(english, wrong) == [
        "utter_y: not a response of domain.yml",
        "utter_x (variation 1): placeholders [], not ['name']",
        "utter_x (variation 1): button payloads differ",
    ]
    with pytest.raises(WordingError):
        responses_in("de", english)


def test_a_response_the_models_domain_lacks_leaves_the_other_translations_in_place(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A model trained before a response was added: that response cannot be said, and the
    others stay French (before, the whole file was refused and Rasa answered in English
    around French facts)."""
    english = dict(english_responses())
    english.pop("utter_enquiry_not_sent")
    english["utter_greet"] = [{**english["utter_greet"][0], "text": "Hello {visitor}"}]  # changed since
    french = responses_in("fr", english)
    assert "utter_enquiry_not_sent" not in french
    assert french["utter_greet"] == english["utter_greet"]  # wrong now: English, not a broken French
    assert "rien n'a été enregistré" not in str(french) and "Bonjour" not in str(french["utter_greet"])
    assert french["utter_goodbye"] != english["utter_goodbye"]  # the others stay translated
    assert "utter_enquiry_not_sent: not a response of domain.yml" in caplog.text


def generated(slots: Dict[str, str], response: str = "utter_greet") -> str:
    nlg = LocalisedNaturalLanguageGenerator(domain=DOMAIN)
    tracker = DialogueStateTracker.from_events(
        "visitor", [SlotSet(k, v) for k, v in slots.items()], DOMAIN.slots
    )
    result = asyncio.run(nlg.generate(response, tracker, "rest"))
    assert result is not None
    return str(result["text"])


def test_the_response_generator_answers_in_the_conversation_language() -> None:
    english = generated({})
    assert english == english_responses()["utter_greet"][0]["text"]
    french, spanish = generated({"language": "fr"}), generated({"language": "es"})
    assert len({english, french, spanish}) == 3
    assert generated({"page_language": "es"}) == spanish


def test_the_generator_takes_the_responses_rasa_hands_it_after_loading_the_model() -> None:
    """Rasa builds the generator with an empty domain, then sets the model's responses."""
    nlg = LocalisedNaturalLanguageGenerator(domain=Domain.empty())
    nlg.responses = DOMAIN.responses
    tracker = DialogueStateTracker.from_events("visitor", [SlotSet("language", "es")], DOMAIN.slots)
    result = asyncio.run(nlg.generate("utter_greet", tracker, "rest"))
    assert result is not None and result["text"].startswith("¡Hola!")


@pytest.mark.parametrize("language", ["en", "fr", "es"])
def test_an_answer_says_which_source_it_states_in_every_language(language: str) -> None:
    nlg = LocalisedNaturalLanguageGenerator(domain=DOMAIN)
    tracker = DialogueStateTracker.from_events("visitor", [SlotSet("language", language)], DOMAIN.slots)
    answer = asyncio.run(nlg.generate("utter_faq_funding", tracker, "rest"))
    greeting = asyncio.run(nlg.generate("utter_greet", tracker, "rest"))
    assert answer is not None and answer["source"] == "FAQ: Can my organisation get funding through the APT?"
    assert greeting is not None and "source" not in greeting
