"""The blind set's runner (benchmark/blind/): how a turn is judged, from made-up stored events
(labels, alternatives, the reply's language, the grammar checks, the figures), and, slow, a
few of the set's conversations played against the running stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from apt_settings import ROOT
from benchmark.blind import latest_set
from benchmark.blind.blindset import Turn, alternatives, load_set, parse_conversation, select
from benchmark.blind.figures import figures
from benchmark.blind.judge import judge
from benchmark.blind.labels import ACTIVITIES, NAMED, RESPONSES, key
from benchmark.blind.names import Names
from benchmark.blind.replies import PLACEHOLDER, Reply, Transcript, Wording
from language.wording import WORDING, english_responses, load_translation
from tests.support.stacks import Stack


@pytest.fixture(scope="module")
def names() -> Names:
    return Names()


@pytest.fixture(scope="module")
def wording() -> Wording:
    return Wording()


def rendered(response: str, language: str, **values: str) -> str:
    """A response's first variation in ``language`` with its variables filled, as the NLG
    renders it."""
    responses = english_responses() if language == "en" else load_translation(WORDING / f"{language}.yml")
    text = str(responses[response][0]["text"])
    return PLACEHOLDER.sub(lambda match: str(values.get(match[1], "")), text)


def bot(
    response: str,
    language: str,
    buttons: Optional[List[Dict[str, str]]] = None,
    text: str = "",
    **values: str,
) -> Dict[str, Any]:
    """A stored bot event as Rasa writes it: the response and its variables in the metadata;
    the text rendered from them unless given."""
    return {
        "event": "bot",
        "text": text or rendered(response, language, **values),
        "data": {"buttons": buttons},
        "metadata": {"utter_action": response, **values},
    }


def slot(name: str, value: Any) -> Dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


def turn(expect: List[Any], language: str = "en", kind: str = "single", **extra: Any) -> Turn:
    raw = {"id": "t-001", "turns": [{"say": "...", "kind": kind, "expect": expect, **extra}]}
    return parse_conversation(raw, language).turns[0]


def replies_of(events: List[Dict[str, Any]], names: Names, wording: Wording) -> List[Reply]:
    return Transcript(names, wording).read([{"event": "session_started"}, *events])


def verdict_for(
    expect: List[Any],
    events: List[Dict[str, Any]],
    names: Names,
    wording: Wording,
    language: str = "en",
    **extra: Any,
):  # noqa: ANN201 - a Verdict
    replies = replies_of(events, names, wording)
    return judge(turn(expect, language, **extra), replies, [reply.text for reply in replies], names)


# -- labels from stored events ------------------------------------------------------------------


def test_a_plain_response_shows_its_label(names: Names, wording: Wording) -> None:
    verdict = verdict_for(["faq_victims"], [bot("utter_faq_victims", "en")], names, wording)
    assert verdict.right and verdict.found == ["faq_victims"] and verdict.answered
    wrong = verdict_for(["faq_victims"], [bot("utter_faq_funding", "en")], names, wording)
    assert not wrong.right and wrong.missing == ["faq_victims"]
    assert wrong.miss == "other answer: faq_funding"


def test_countries_are_compared_by_code_in_any_language(names: Names, wording: Wording) -> None:
    french = [
        slot("language", "fr"),
        bot(
            "utter_country_listed",
            "fr",
            country_the="le Tchad",
            subregion_name="Afrique centrale",
            region_name="Afrique",
            country_code="TCD",
        ),
    ]
    assert verdict_for(["country_listed:Chad"], french, names, wording, "fr").right
    spanish = [
        slot("language", "es"),
        bot("utter_country_not_listed", "es", country_the="Estados Unidos", country_code="USA"),
    ]
    verdict = verdict_for(["country_not_listed:United States"], spanish, names, wording, "es")
    assert verdict.right and verdict.found == ["country_not_listed:United States"]
    # Listed is not "not listed", nor another country.
    unlisted = [bot("utter_country_not_listed", "en", country_the="Chad", country_code="TCD")]
    assert not verdict_for(["country_listed:Chad"], unlisted, names, wording).right
    other = [
        bot(
            "utter_country_listed",
            "en",
            country_the="Kenya",
            subregion_name="Eastern Africa",
            region_name="Africa",
            country_code="KEN",
        )
    ]
    assert not verdict_for(["country_listed:Uganda"], other, names, wording).right


def test_regions_activities_and_people_are_recognised_by_their_names(names: Names, wording: Wording) -> None:
    events = [
        slot("language", "fr"),
        bot(
            "utter_countries_in_subregion",
            "fr",
            subregion_in="en Asie du Sud-Est",
            region_name="Asie",
            countries_counted="9 pays",
            country_names="...",
            place_code="035",
        ),
        bot("utter_activity", "fr", activity_title="Renforcer les capacités", activity_text="..."),
        bot(
            "utter_person",
            "fr",
            person_name="Mark Thomson",
            person_role="secrétaire général",
            apt_short_name="APT",
        ),
    ]
    replies = replies_of(events, names, wording)
    assert [label for reply in replies for label in reply.labels] == [
        "region:South East Asia",
        "activity_capacity",
        "person:Mark Thomson",
    ]
    verdict = verdict_for(
        ["region:South East Asia", "activity_capacity", "person:Mark Thomson"], events, names, wording, "fr"
    )
    assert verdict.right
    assert not verdict_for(["region:Central Asia"], events, names, wording, "fr").right
    assert not verdict_for(["person:Vincent Ploton"], events, names, wording, "fr").right


def test_a_region_that_is_no_heading_shows_the_sub_regions_it_lists(names: Names, wording: Wording) -> None:
    latin_america = [
        bot("utter_countries_in_region", "en", region_in="in Latin America", countries_counted="13 countries",
            subregion_list="...", place_code="419", subregion_codes="013,005"),
    ]  # fmt: skip
    assert verdict_for([["region:Central America", "region:Americas"]], latin_america, names, wording).right
    assert not verdict_for(["region:Americas"], latin_america, names, wording).right


def test_a_region_without_a_listed_country_is_said_so(names: Names, wording: Wording) -> None:
    """ "Do you work in Oceania?": "the profile lists no country in Oceania" is the answer a
    region without the APT's countries calls for, as is "I don't know that region"."""
    none_listed = [
        bot("utter_no_country_in_region", "en", region_in="in Oceania", region_names="Africa, ...")
    ]
    unknown = [bot("utter_unknown_region", "en", region_names="Africa, ...")]
    assert verdict_for(["region_not_covered:Oceania"], none_listed, names, wording).right
    assert verdict_for(["region_not_covered:Oceania"], unknown, names, wording).right
    assert not verdict_for(["region:Oceania"], none_listed, names, wording).right


def test_a_list_item_is_right_with_any_one_of_its_labels(names: Names, wording: Wording) -> None:
    address = [bot("utter_address", "en", apt_name="APT", apt_short_name="APT", address_lines="Geneva")]
    assert verdict_for([["contacts", "address"]], address, names, wording).right
    verdict = verdict_for([["contacts", "operations"]], address, names, wording)
    assert not verdict.right and verdict.missing == ["contacts | operations"]


def test_every_expected_item_must_be_found(names: Names, wording: Wording) -> None:
    only_faq = [bot("utter_faq_funding", "en")]
    verdict = verdict_for(["faq_funding", "offer_check"], only_faq, names, wording)
    assert not verdict.right and verdict.missing == ["offer_check"]
    both = [*only_faq, bot("utter_offer_partnership_check", "en")]
    assert verdict_for(["faq_funding", "offer_check"], both, names, wording).right


def test_a_funding_question_skipped_for_a_known_answer_counts_as_asked(
    names: Names, wording: Wording
) -> None:
    """Told "we are an NGO in Kenya" at the start, the form asks the kind of work next."""
    work = [bot("utter_ask_work_area", "en")]
    assert verdict_for(["ask_organisation_country"], work, names, wording).right
    assert verdict_for(["ask_work_area"], work, names, wording).right
    assert not verdict_for(["assessment"], work, names, wording).right  # never an earlier one
    assert not verdict_for(["ask_consent"], [bot("utter_fit_likely", "en")], names, wording).right


def test_a_buttons_place_is_read_as_the_place_resolver_reads_it(names: Names, wording: Wording) -> None:
    """A second-chance button carries the visitor's words; it leads to the place they name."""
    buttons = [
        {"title": "Countries", "payload": '/list_countries_in_region{"region": "Southeast Asia"}'},
        {"title": "Work", "payload": '/ask_country_engagement{"country": "Sénégalais"}'},
        {"title": "Work", "payload": '/ask_country_engagement{"country": "Nowhereland"}'},
    ]
    offer = [bot("utter_offer_choices", "en", buttons=buttons)]
    assert replies_of(offer, names, wording)[0].labels == [
        "choices:region:South East Asia",
        "choices:country_listed:Senegal",
        "choices:ask_which_place",  # no country: the question asks which one
    ]
    assert names.country_code("Nowhereland") is None


OFFER_BUTTONS = [
    {"title": "Funding", "payload": "/ask_funding"},
    {"title": "Countries", "payload": '/list_countries_in_region{"region": "Asie occidentale"}'},
    {"title": "None of these", "payload": "/none_of_these"},
]


def test_the_second_chance_shows_the_answers_its_buttons_lead_to(names: Names, wording: Wording) -> None:
    offer = [bot("utter_offer_choices", "en", buttons=OFFER_BUTTONS)]
    replies = replies_of(offer, names, wording)
    assert replies[0].labels == ["choices:faq_funding", "choices:region:Western Asia"]
    assert verdict_for([["faq_funding", "choices:faq_funding"]], offer, names, wording).right
    assert verdict_for([["region:Western Asia", "choices:region:Western Asia"]], offer, names, wording).right
    # A clear question answered with the offer is a miss, with its right answer among the buttons.
    clear = verdict_for(["faq_funding"], offer, names, wording)
    assert not clear.right and clear.second_chance and not clear.answered
    assert clear.miss == "second chance, right answer offered"
    assert verdict_for(["opcat"], offer, names, wording).miss == "second chance, right answer not offered"


def test_a_right_turn_with_an_error_reply_as_well_is_flagged(names: Names, wording: Wording) -> None:
    events = [bot("utter_unrecognised_organisation_type", "en"), bot("utter_ask_organisation_type", "en")]
    verdict = verdict_for(["ask_organisation_type"], events, names, wording, kind="funding_typed")
    assert verdict.right and verdict.flagged == ["utter_unrecognised_organisation_type"]
    offer = [bot("utter_offer_choices", "en", buttons=OFFER_BUTTONS)]
    accepted = verdict_for([["faq_funding", "choices:faq_funding"]], offer, names, wording)
    assert accepted.right and accepted.flagged == []  # the set accepts the second chance there


def test_not_understood_is_neither_answered_nor_right(names: Names, wording: Wording) -> None:
    verdict = verdict_for(["opcat"], [bot("utter_default", "en")], names, wording)
    assert not verdict.right and not verdict.answered and verdict.miss == "not understood"
    assert verdict.found == ["utter_default"]  # a response of no label is reported by its name
    assert verdict_for(["opcat"], [], names, wording).miss == "no reply"


# -- the reply's language -----------------------------------------------------------------------


def test_the_replys_words_tell_its_language_before_the_slots(names: Names, wording: Wording) -> None:
    # The slots say French, but the words are English (a translation missing, say): wrong.
    events = [slot("language", "fr"), bot("utter_you_are_welcome", "en")]
    replies = replies_of(events, names, wording)
    assert (replies[0].language, replies[0].language_by) == ("en", "wording")
    verdict = verdict_for(["thanks"], events, names, wording, "fr")
    assert (
        not verdict.right
        and verdict.missing == []
        and verdict.wrong_language == ["utter_you_are_welcome in en"]
    )
    assert verdict.miss == "wrong language: en for fr"
    french = [bot("utter_you_are_welcome", "fr")]
    assert verdict_for(["thanks"], french, names, wording, "fr").right


def test_a_response_that_is_only_a_variable_takes_the_conversations_language(
    names: Names, wording: Wording
) -> None:
    """utter_opcat is "{opcat_text}" in every language: the slots tell which was used."""
    for slots, language in (
        ([], "en"),
        ([slot("page_language", "es")], "es"),
        ([slot("page_language", "es"), slot("language", "fr")], "fr"),
    ):
        replies = replies_of([*slots, bot("utter_opcat", "en", opcat_text="OPCAT ...")], names, wording)
        assert (replies[0].language, replies[0].language_by) == (language, "slots")
    assert not verdict_for(
        ["opcat"], [bot("utter_opcat", "en", opcat_text="...")], names, wording, "fr"
    ).right
    reset = [slot("language", "fr"), {"event": "session_started"}, bot("utter_opcat", "en", opcat_text="...")]
    assert verdict_for(["opcat"], reset, names, wording, "en").right


def test_the_expected_language_is_the_turns_or_the_files() -> None:
    raw = {
        "id": "en-9",
        "page": "fr",
        "turns": [
            {"say": "hi", "kind": "short", "expect": ["greet"]},
            {
                "say": "en français",
                "kind": "language_switch",
                "expect": ["language_chosen"],
                "reply_language": "fr",
            },
        ],
    }
    conversation = parse_conversation(raw, "en")
    assert conversation.page == "fr"
    assert [t.reply_language for t in conversation.turns] == ["en", "fr"]
    assert parse_conversation({"id": "es-1", "turns": raw["turns"][:1]}, "es").page == "es"


# -- grammar turns ------------------------------------------------------------------------------

SENEGAL = {"reply_has_any": ["le Sénégal", "au Sénégal"], "reply_has_none": ["en Sénégal", "à Sénégal"]}


def senegal_reply(written: str) -> List[Dict[str, Any]]:
    """The answer about Senegal, with the name ``written`` so in the text."""
    values = {"country_the": "le Sénégal", "subregion_name": "Afrique de l'Ouest", "region_name": "Afrique",
              "country_code": "SEN"}  # fmt: skip
    text = rendered("utter_country_listed", "fr", **{**values, "country_the": written})
    return [bot("utter_country_listed", "fr", text=text, **values)]


@pytest.mark.parametrize(
    ("written", "right", "problem"),
    [
        ("le Sénégal", True, None),
        ("Le  Sénégal", True, None),  # case and spacing aside
        ("Sénégal", False, "none of ['le Sénégal', 'au Sénégal']"),
        ("le Sénégal, en Sénégal", False, "has 'en Sénégal'"),
        ("le Sénégalais", False, "none of ['le Sénégal', 'au Sénégal']"),  # whole words only
    ],
)
def test_grammar_turns_check_what_the_reply_must_and_must_not_say(
    names: Names, wording: Wording, written: str, right: bool, problem: Optional[str]
) -> None:
    verdict = verdict_for(
        ["country_listed:Senegal"], senegal_reply(written), names, wording, "fr", kind="grammar", **SENEGAL
    )
    assert verdict.right is right
    assert verdict.grammar == ([problem] if problem else [])
    if not right:
        assert verdict.miss == "grammar" and verdict.missing == []


# -- the set, the mapping and the figures -------------------------------------------------------


def test_every_label_of_the_newest_set_is_one_the_mapping_recognises(names: Names) -> None:
    known_prefixes = set(NAMED) | {"region_not_covered"}
    known = set(RESPONSES) | set(ACTIVITIES.values())
    unknown = set()
    for conversation in load_set(latest_set()):
        for item in (item for t in conversation.turns for item in t.expect):
            for label in alternatives(item):
                label = label.removeprefix("choices:")
                prefix, _, value = label.partition(":")
                if not (label in known or (value and prefix in known_prefixes)):
                    unknown.add(label)
                if prefix in ("country_listed", "country_not_listed"):
                    assert not key(label, names).split(":")[1].startswith("?"), f"{label}: no ISO3 code"
    assert not unknown, f"labels the runner cannot recognise: {sorted(unknown)}"


def test_a_kind_filter_plays_whole_conversations() -> None:
    conversations = load_set(latest_set(), ["en"])
    chosen = select(conversations, kinds=["follow_up"])
    assert chosen and all(any(t.kind == "follow_up" for t in c.turns) for c in chosen)
    assert any(t.kind != "follow_up" for c in chosen for t in c.turns)  # the turns before are played too
    assert [c.id for c in select(conversations, ids=["en-001"])] == ["en-001"]


def result(
    kind: str, language: str, right: bool, clear: bool = True, offered: bool = False
) -> Dict[str, Any]:
    return {
        "conversation": f"{language}-{kind}",
        "kind": kind,
        "language": language,
        "right": right,
        "clear": clear,
        "second_chance": offered,
        "answered": right,
        "miss": None if right else ("second chance" if offered else "not understood"),
    }


def test_figures_per_language_and_kind_second_chance_on_clear_questions_only() -> None:
    results = [
        result("single", "en", True),
        result("single", "en", False, offered=True),
        result("short", "fr", False, clear=False, offered=True),  # a "choices:" turn: not clear
        result("short", "fr", True),
    ]
    summary = figures(results)
    assert summary["overall"] == {"turns": 4, "right": 2, "share": 0.5}
    assert summary["languages"]["en"]["share"] == 0.5 and summary["languages"]["fr"]["share"] == 0.5
    assert summary["kinds"]["single"]["languages"]["en"]["right"] == 1
    assert summary["second_chance"] == {"clear": 3, "offered": 1, "rate": round(1 / 3, 4)}
    assert summary["kinds"]["short"]["second_chance"] == {"clear": 1, "offered": 0, "rate": 0.0}
    assert summary["kinds"]["single"]["answer_rate"]["rate"] == 0.5
    assert summary["kinds"]["single"]["misses"] == [{"miss": "second chance", "count": 1}]


def test_the_benchmark_report_shows_the_blind_figures_beside_the_held_out_ones() -> None:
    from benchmark import report

    summary = figures([result("single", "en", True), result("places", "fr", False)])
    held_out = {"test_file": "tests/test_nlu.yml", "overall": {"accuracy": 0.97}, "per_intent": {}}
    text = report.render_markdown(
        {"quality": {"test_set": held_out, "blind": {"set": "tests/blind/x", "figures": summary}}}
    )
    assert "`rasa test nlu` with the trained model on `tests/test_nlu.yml`" in text
    assert "### Blind set" in text and "`tests/blind/x`" in text
    assert "| all | 50.0 % (1/2) | 100.0 % (1/1) | 0.0 % (0/1) |" in text
    assert "- places: not understood (1)" in text


# -- end to end (slow) ---------------------------------------------------------------------------

# A handful of conversations of an earlier set (a newer set is only played to measure): a
# greeting with a question in each language, a grammar turn, a language switch and a typed
# funding conversation.
SAMPLE_SET = ROOT / "tests" / "blind" / "2026-12-06-b"
SAMPLE = ["en-002", "fr-002", "es-002", "fr-007", "en-220", "en-012"]


def test_the_runner_plays_and_judges_conversations_against_the_stack(stack: Stack, tmp_path: Path) -> None:
    from benchmark.blind.__main__ import measure
    from benchmark.blind.player import Stack as Target

    measured = measure(Target(stack.url, stack.database_url), SAMPLE_SET, ids=SAMPLE, concurrency=1)
    conversations = select(load_set(SAMPLE_SET), ids=SAMPLE)
    assert [t["id"] for t in measured["turns"]] == [t.id for c in conversations for t in c.turns]
    for played in measured["turns"]:
        assert played["miss"] != "error", played
        assert played["replies"], f"{played['id']}: no stored bot event read"
        assert all(reply["response"] for reply in played["replies"])  # each names its response
        assert len(played["replies"]) == played["rest_replies"]  # one stored event per reply read
        assert isinstance(played["right"], bool) and (played["right"] or played["reasons"])
        assert all(reply["language"] in ("en", "fr", "es") for reply in played["replies"])
    assert measured["figures"]["overall"]["turns"] == len(measured["turns"])
