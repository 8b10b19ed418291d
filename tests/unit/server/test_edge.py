"""The edge checks every chat channel applies before a message reaches Rasa
(server/channels/edge.py), the widget's conversation tokens, and what the stores accept."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa

from server.channels import edge
from server.channels.socketio_origins import conversation_of, issue_token
from storage.enquiries import Enquiry, EnquiryStore, InvalidEnquiry, validated

KEY = b"k" * 32


@pytest.mark.parametrize("sender", ["visitor-1", "a", "x" * 128, "ABC_123.~!"])
def test_printable_ascii_senders_are_accepted(sender: str) -> None:
    assert edge.valid_sender(sender)


@pytest.mark.parametrize(
    "sender",
    ["", "x\u0000", "two words", "x" * 129, "é", None, 42, ["a"], {"a": 1}, "web-0123", "a\nb", "\u200b"],
)
def test_other_senders_are_refused(sender: object) -> None:
    assert not edge.valid_sender(sender)


def test_control_characters_become_spaces_invisible_ones_go_and_the_rest_is_kept() -> None:
    assert edge.clean_text("a\u0000b\u0007c\td\ne ؀ 😀 \u200f") == "a b c\td\ne  😀"
    assert edge.clean_text("lone \ud800 surrogate") == "lone   surrogate"
    assert edge.clean_text("do\u200byou\u2060work in\u00a0Kenya?\ufeff") == "doyouwork in Kenya?"
    assert edge.clean_text("ｏｐｃａｔ？") == "opcat?"  # NFKC: full-width letters


# What a visitor can put before a payload that a reader, or Rasa's strip(), does not see.
HIDDEN_PREFIXES = [
    " ",
    "\u00a0",
    "\t",
    "\n",
    "\r\n",
    "\u200b",
    "\ufeff",
    "\u2060",
    "\u202e",
    "\u3164",
    "\u180e",
    "\u2028",
    "\u3000",
    "\u0085",
    "\u00ad",
    "\u034f",
    "\U000e0020",
    " \u200b\u00a0 ",
]


@pytest.mark.parametrize("prefix", HIDDEN_PREFIXES, ids=lambda p: p.encode("unicode_escape").decode())
@pytest.mark.parametrize(
    ("typed", "read_as"),
    [
        ("/disclose_abuse", "disclose_abuse"),
        ('/inform{"country": "<svg onload=alert(1)>"}', 'inform{"country": "<svg onload=alert(1)>"}'),
        ('／inform{"organisation_name": "x"}', 'inform{"organisation_name": "x"}'),  # full-width solidus
    ],
)
def test_a_hidden_character_before_a_payload_does_not_make_it_one(
    prefix: str, typed: str, read_as: str
) -> None:
    checked = edge.check_message(prefix + typed, "c", edge.RateLimit("1000/minute"))
    assert checked.parts == (read_as,)
    assert not any(part.strip().startswith("/") for part in checked.parts)


def test_an_offered_payload_behind_blanks_is_still_the_button() -> None:
    checked = edge.check_message(" \u200b/ask_funding\n", "c", edge.RateLimit("1000/minute"))
    assert checked.parts == ("/ask_funding",)


@pytest.mark.parametrize(
    "text",
    [
        "also /disclose_abuse@1.0 now please? What is the OPCAT?",
        "Where are you based? /disclose_abuse",
        'do you work in Kenya and /inform{"country": "<svg>"} where are you?',
        "What is the OPCAT? \u200b/ask_funding and who funds you?",
    ],
)
def test_no_question_of_a_message_cut_in_two_is_a_payload(text: str) -> None:
    parts = edge.check_message(text, "c", edge.RateLimit("1000/minute")).parts
    assert parts and not any(part.startswith("/") for part in parts), parts


@pytest.mark.parametrize(
    "payload", ["/greet", "/ask_funding", '/inform{"organisation_type": "ngo"}', "/affirm"]
)
def test_payloads_of_the_domains_buttons_pass(payload: str) -> None:
    assert edge.as_offered(payload) == payload


@pytest.mark.parametrize(
    ("typed", "read_as"),
    [
        ("/disclose_abuse", "disclose_abuse"),
        ("/stop", "stop"),
        ('/inform{"organisation_country": "Chad"}', 'inform{"organisation_country": "Chad"}'),
        ('/inform{"country": "<svg onload=alert(1)>"}', 'inform{"country": "<svg onload=alert(1)>"}'),
        (
            '/ask_funding{"organisation_type": "<img src=x>"}',
            'ask_funding{"organisation_type": "<img src=x>"}',
        ),
        ("//greet", "greet"),
        ("/ ask_funding", "ask_funding"),
    ],
)
def test_payloads_never_offered_are_read_as_plain_text(typed: str, read_as: str) -> None:
    assert edge.as_offered(typed) == read_as


def test_a_message_over_the_limit_is_answered_at_the_edge() -> None:
    rate = edge.RateLimit("1000/minute")
    assert edge.check_message("x" * edge.MAX_MESSAGE_CHARS, "c", rate).parts == (
        "x" * edge.MAX_MESSAGE_CHARS,
    )
    too_long = edge.check_message("x" * (edge.MAX_MESSAGE_CHARS + 1), "c", rate)
    assert too_long.parts == () and "shorten" in (too_long.reply or "")
    assert edge.check_message({"text": "hi"}, "c", rate).reply == edge.edge_reply("utter_message_not_text")
    assert edge.check_message(None, "c", rate).parts == ("",)


def test_the_rate_limit_counts_each_client_apart() -> None:
    rate = edge.RateLimit("3/minute")
    answers = [edge.check_message("hello", "client-a", rate) for _ in range(4)]
    assert [a.reply is None for a in answers] == [True, True, True, False]
    assert answers[-1].reply == edge.edge_reply("utter_too_many_messages")
    assert edge.check_message("hello", "client-b", rate).reply is None


def test_widget_tokens_are_issued_by_the_server_and_checked() -> None:
    token = issue_token(KEY)
    conversation, signature = token.split(".")
    assert conversation.startswith(edge.WIDGET_PREFIX) and len(conversation) == 4 + 32
    assert conversation_of(token, KEY) == conversation
    assert conversation_of(conversation, KEY) is None  # the bare id is not enough
    assert conversation_of(f"{conversation}.{'0' * 64}", KEY) is None
    assert conversation_of(token, b"another key" * 3) is None
    assert conversation_of(f"visitor-1.{signature}", KEY) is None
    for junk in (None, 1, {"a": 1}, "", ".", "a.b.c", "é.é", "x" * 300):
        assert conversation_of(junk, KEY) is None
    assert issue_token(KEY) != token


def enquiry(**changes: object) -> Enquiry:
    values = dict(
        conversation_id="c1", organisation_type="ngo", country_iso3="KEN", country="Kenya",
        work_area="detention_monitoring", fit="likely", organisation_name="Justice Watch",
        email="Jane@Example.org", consent=True, consent_at="2026-12-01T10:00:00+00:00",
    )  # fmt: skip
    values.update(changes)
    return Enquiry(**values)  # type: ignore[arg-type]


def test_a_valid_enquiry_is_kept_with_its_email_normalised() -> None:
    assert validated(enquiry()).email == "Jane@example.org"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("organisation_name", '=HYPERLINK("http://evil")<script>'),
        ("organisation_name", "<b>Watch</b>"),
        ("organisation_name", "x"),
        ("organisation_name", "Watch\u0000"),
        ("email", "not an email"),
        ("country_iso3", "<svg>"),
        ("country", "<svg onload=alert(1)>"),
        ("organisation_type", "<img src=x>"),
        ("work_area", "Robert'); DROP TABLE"),
        ("fit", "certain"),
        ("conversation_id", "x\u0000"),
        ("consent_at", "yesterday"),
    ],
)
def test_a_forged_enquiry_is_refused_naming_the_field(field: str, value: str, project_database: str) -> None:
    with pytest.raises(InvalidEnquiry) as error:
        EnquiryStore(project_database).record(enquiry(**{field: value}))
    assert field.split("_at")[0] in str(error.value)
    assert EnquiryStore(project_database).all() == []


def test_the_sqlite_file_is_private_and_a_forgotten_conversation_leaves_no_trace(tmp_path: Path) -> None:
    from storage import migrate, retention, schema
    from storage.database import engine_for

    path = tmp_path / "apt.db"
    engine = engine_for(f"sqlite:///{path}")
    migrate.upgrade(engine)
    secret_text = "my brother was beaten in cell 4417 at the central station"
    with engine.begin() as connection:
        connection.execute(
            schema.events.insert().values(
                sender_id="gone", type_name="user", data=f'{{"text": "{secret_text}"}}'
            )
        )
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    retention.forget(engine, "gone")
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob("apt.db*"))
    assert secret_text.encode() not in on_disk
    with engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(schema.events)).scalar() == 0


@pytest.mark.parametrize(
    "value",
    ["Kenya", "Côte d'Ivoire", "Congo (Kinshasa)", "Bosnia & Herzegovina", "ngo", "النيجر", "Timor-Leste"],
)
def test_names_pass_the_entity_guard(value: str) -> None:
    from server.components.entity_guard import plausible_value

    assert plausible_value(value)


@pytest.mark.parametrize(
    "value",
    ["<svg onload=alert(1)>", '=HYPERLINK("x")', "a{b}", "", "x" * 101, None, 3, "semi;colon", "\u0000"],
)
def test_markup_and_junk_fail_the_entity_guard(value: object) -> None:
    from rasa.shared.nlu.training_data.message import Message

    from server.components.entity_guard import EntityValueGuard, plausible_value

    assert not plausible_value(value)
    message = Message(data={"text": "x", "entities": [{"entity": "country", "value": value}]})
    EntityValueGuard().process([message])
    assert message.get("entities") == []
