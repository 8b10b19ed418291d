"""Personal data in visitors' text is replaced before it is stored."""

from __future__ import annotations

import pytest

from privacy.redaction import redact
from storage.tracker_store import redact_event, requested_slot_before


@pytest.mark.parametrize(
    "text, expected",
    [
        ("write to jane.doe@example.org please", "write to [EMAIL] please"),
        ("JANE+apt@mail.example.co.uk", "[EMAIL]"),
        ("two: a.b@example.com, c_d@example.net", "two: [EMAIL], [EMAIL]"),
        ("call +41 22 919 21 70", "call [PHONE]"),
        ("call 0041 22 919 21 70", "call [PHONE]"),
        ("my mobile 079 123 45 67", "my mobile [PHONE]"),
        ("+1-202-555-0143 is my number", "[PHONE] is my number"),
        ("(202) 555-0143", "[PHONE]"),
        ("uk 07911 123456", "uk [PHONE]"),
        ("+254 712 345678 in Nairobi", "[PHONE] in Nairobi"),
        ("+33 6 12 34 56 78", "[PHONE]"),
        ("card 4111 1111 1111 1111", "card [CARD]"),
        ("IBAN CH93 0076 2011 6238 5295 7", "IBAN [IBAN]"),
        ("from 192.168.1.20", "from [IP]"),
        ("mail me at x@example.org or phone +41 22 919 21 70", "mail me at [EMAIL] or phone [PHONE]"),
    ],
)
def test_personal_data_is_replaced_by_a_placeholder(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Do you work in Viet Nam?",
        "my son was arrested on 12.03.2024 and beaten in detention",
        "We are an NGO of 45 people, founded in 1998",
        "what was your budget in 2023? CHF 6,400,000?",
        "the meeting is at 10:30:15",
        "article 17 of the OPCAT",
        "email: a@b is not an address",
        "",
        "😀🙈🎉",
        "<script>alert(1)</script>",
    ],
)
def test_text_without_personal_data_is_unchanged(text: str) -> None:
    assert redact(text) == text


def user_event(text: str, entities: list | None = None) -> dict:
    return {
        "event": "user",
        "timestamp": 1.0,
        "text": text,
        "parse_data": {
            "text": text,
            "intent": {"name": "inform", "confidence": 0.9},
            "entities": entities or [],
        },
        "input_channel": "rest",
    }


def test_user_event_is_redacted_in_text_parse_data_and_entities() -> None:
    event = user_event(
        "I am jane@example.org", [{"entity": "email", "value": "jane@example.org", "start": 5, "end": 21}]
    )
    stored, _ = redact_event(event, None)
    assert stored["text"] == "I am [EMAIL]"
    assert stored["parse_data"]["text"] == "I am [EMAIL]"
    assert stored["parse_data"]["entities"][0]["value"] == "[EMAIL]"
    assert event["text"] == "I am jane@example.org", "the original event is left alone"


def test_answers_to_the_enquiry_form_personal_questions_are_replaced_whole() -> None:
    requested = None
    stored = []
    for event in [
        {"event": "slot", "name": "requested_slot", "value": "organisation_name"},
        user_event("Friends of Maria Dupont"),
        {"event": "slot", "name": "organisation_name", "value": "Friends of Maria Dupont"},
        {"event": "slot", "name": "requested_slot", "value": "contact_email"},
        user_event("it is maria.dupont@example.org"),
        {"event": "slot", "name": "contact_email", "value": "maria.dupont@example.org"},
        {"event": "active_loop", "name": None},
        user_event("thanks, and do you work in Kenya?"),
    ]:
        redacted, requested = redact_event(event, requested)
        stored.append(redacted)
    assert stored[1]["text"] == "[ENQUIRY ORGANISATION]"
    assert stored[2]["value"] == "[ENQUIRY ORGANISATION]"
    assert stored[4]["text"] == "[ENQUIRY EMAIL]"
    assert stored[5]["value"] == "[ENQUIRY EMAIL]"
    assert stored[7]["text"] == "thanks, and do you work in Kenya?", "after the form, text is kept"


def test_ordinary_slots_keep_their_values_and_bot_messages_are_kept() -> None:
    assert redact_event({"event": "slot", "name": "country", "value": "Kenya"}, None)[0]["value"] == "Kenya"
    bot = {"event": "bot", "text": "Call us on +41 22 919 21 70", "timestamp": 1.0}
    assert redact_event(bot, None)[0] == bot


def test_pending_form_question_is_found_in_earlier_events() -> None:
    from rasa.shared.core.events import ActiveLoop, SlotSet

    assert requested_slot_before([SlotSet("requested_slot", "contact_email")]) == "contact_email"
    assert requested_slot_before([SlotSet("requested_slot", "contact_email"), ActiveLoop(None)]) is None


def test_nlu_sees_placeholders_but_buttons_and_plain_text_are_untouched() -> None:
    from rasa.shared.nlu.constants import TEXT
    from rasa.shared.nlu.training_data.message import Message

    from server.components.personal_data import PersonalDataMasker

    messages = [
        Message({TEXT: "my son was tortured, call me on +41 79 123 45 67"}),
        Message({TEXT: '/inform{"contact_email": "jane@example.org"}'}),
        Message({TEXT: "do you work in Kenya?"}),
    ]
    PersonalDataMasker().process(messages)
    assert [m.get(TEXT) for m in messages] == [
        "my son was tortured, call me on [PHONE]",
        '/inform{"contact_email": "jane@example.org"}',
        "do you work in Kenya?",
    ]
