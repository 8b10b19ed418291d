"""Feedback on answers ("Was this helpful?"): which messages are answers and the id each
carries (language/answers.py, server/nlg.py), how the widget's socket sends the id and
checks it comes back from the same conversation (server/channels/socketio_origins.py), and how the
feedback is kept (storage/feedback.py): in the ``feedback`` table, or, while the database
hangs or is locked, in the spool, acknowledged at once and written when it answers again;
the migration that moved feedback from places to answer ids, up and down, on SQLite and
PostgreSQL.

The socket path itself (a real widget, a real stack) is in test_browser.py."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import sqlalchemy as sa
import yaml
from alembic import command
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker

from apt_settings import ROOT, settings
from language.answers import ANSWER_ID, belongs_to, is_answer, new_answer_id
from server.channels import socketio_origins
from server.channels.socketio_origins import AnswerSocketIOOutput, checked_feedback, language_of
from server.nlg import LocalisedNaturalLanguageGenerator
from storage import migrate, retention, schema
from storage.database import engine_for
from storage.feedback import FeedbackLog, click, spool_directory, waiting
from storage.migrate import upgrade
from storage.tracker_store import RedactingSQLTrackerStore
from tests.e2e.tcp_proxy import TcpProxy
from tests.support.databases import (
    POSTGRES_SERVER,
    drop_postgres_database,
    postgres_database_or_skip,
    stored_events,
)
from tests.support.stacks import Stack
from tests.unit.storage.test_tracker_store import DOMAIN, save, user

KEY = b"k" * 32
TIMEOUT = 1.0  # the database timeout of the outage tests
MARGIN = 1.5  # what an acknowledgement may take beyond it (thread hand-over, the spool's fsync)
QUICK = 0.5  # once the database is known down: no wait on it
RECOVERY = 30.0  # the database answers again -> every kept click written


# -- which messages are answers, and their ids ---------------------------------------------------


def domain_responses() -> List[str]:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return sorted(domain["responses"])


def test_answers_are_the_responses_that_answer_and_nothing_else() -> None:
    names = domain_responses()
    answers = {name for name in names if is_answer(name)}
    assert {n for n in names if n.startswith(("utter_faq_", "utter_country", "utter_fit_"))} <= answers
    assert {
        "utter_about_apt",
        "utter_opcat",
        "utter_disclosure_where_to_get_help",
        "utter_enquiry_recorded",
    } <= answers
    not_answers = set(names) - answers
    assert {n for n in names if n.startswith("utter_ask_")} <= not_answers, "a form's questions"
    assert {
        "utter_greet",
        "utter_help",
        "utter_offer_choices",  # the second chance's "Did you mean one of these?"
        "utter_offer_partnership_check",
        "utter_invalid_email",
        "utter_unrecognised_country",
        "utter_message_too_long",  # the edge's replies
        "utter_too_many_messages",
        "utter_message_not_text",
        "utter_default",
    } <= not_answers


def test_an_answer_id_belongs_to_its_own_conversation_only() -> None:
    answer = new_answer_id("web-a", KEY)
    assert belongs_to(answer, "web-a", KEY)
    assert not belongs_to(answer, "web-b", KEY), "another conversation's answer"
    assert not belongs_to(answer, "web-a", b"x" * 32), "another server's key"
    nonce, mac = answer.split(".")
    forged = f"{nonce[:-1]}{'0' if nonce[-1] != '0' else '1'}.{mac}"
    assert not belongs_to(forged, "web-a", KEY)
    for wrong in (None, 3, "", "event-12", answer.upper(), answer + "0", [answer]):
        assert not belongs_to(wrong, "web-a", KEY)
    assert len({new_answer_id("web-a", KEY) for _ in range(100)}) == 100


@pytest.mark.parametrize("response", ["utter_faq_funding", "utter_greet", "utter_ask_work_area"])
def test_the_response_generator_gives_an_id_to_answers_only(response: str) -> None:
    nlg = LocalisedNaturalLanguageGenerator(domain=DOMAIN)
    nlg._answer_key = KEY
    tracker = DialogueStateTracker.from_events("web-visitor", [SlotSet("language", "fr")], DOMAIN.slots)
    message = asyncio.run(nlg.generate(response, tracker, "socketio"))
    assert message is not None
    if is_answer(response):
        assert belongs_to(message[ANSWER_ID], "web-visitor", KEY)
    else:
        assert ANSWER_ID not in message


# -- what the socket sends and accepts -----------------------------------------------------------


@pytest.mark.parametrize(
    "data, expected",
    [
        (
            {"answer": "0123456789abcdef.0123456789abcdef", "value": "up"},
            ("0123456789abcdef.0123456789abcdef", "up"),
        ),
        (
            {"answer": "0123456789abcdef.0123456789abcdef", "value": "down"},
            ("0123456789abcdef.0123456789abcdef", "down"),
        ),
        ({"answer": "0123456789abcdef.0123456789abcdef", "value": "UP"}, None),
        ({"answer": "0123456789abcdef.0123456789abcdef", "value": "meh"}, None),
        ({"answer": "0123456789abcdef.0123456789abcdef", "value": ["up"]}, None),
        ({"answer": "0123456789ABCDEF.0123456789abcdef", "value": "up"}, None),
        ({"answer": "event-12", "value": "up"}, None),
        ({"answer": 3, "value": "up"}, None),
        ({"message": 3, "value": "up"}, None),
        ({"answer": "0123456789abcdef.0123456789abcdef", "value": "up", "session_id": "web-x"}, None),
        ({"answer": "0123456789abcdef.0123456789abcdef"}, None),
        ("up", None),
        (None, None),
        ([3, "up"], None),
    ],
)
def test_only_an_answer_id_and_up_or_down_are_accepted(data: Any, expected: Any) -> None:
    assert checked_feedback(data) == expected


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"metadata": {"language": "fr"}}, "fr"),
        ({"metadata": {"language": "es"}, "message": "hola"}, "es"),
        ({"metadata": {"language": "de"}}, None),
        ({"metadata": {"language": "<b>fr</b>"}}, None),
        ({"metadata": {"language": ["fr"]}}, None),
        ({"metadata": "fr"}, None),
        ({"language": "fr"}, None),
        ("fr", None),
        (None, None),
    ],
)
def test_the_widgets_language_is_one_the_assistant_speaks_or_nothing(data: Any, expected: Any) -> None:
    assert language_of(data) == expected


class FakeServer:
    """Just enough of python-socketio's server for the channel's handlers and its output."""

    def __init__(self) -> None:
        self.handlers: Dict[str, Any] = {}
        self.emitted: List[Any] = []

    def on(self, event: str, handler: Any, namespace: Any = None) -> None:
        self.handlers[event] = handler

    def enter_room(self, sid: str, room: str) -> None:
        pass

    def leave_room(self, sid: str, room: str) -> None:
        pass

    def get_environ(self, sid: str) -> Dict[str, Any]:
        return {}

    async def emit(self, *args: Any, **kwargs: Any) -> None:
        self.emitted.append((args, kwargs))


def test_the_socket_sends_an_answers_id_with_its_last_part_only() -> None:
    server = FakeServer()
    output = AnswerSocketIOOutput(server, "bot_uttered")  # type: ignore[arg-type]
    answer = new_answer_id("web-a", KEY)
    metadata = {
        ANSWER_ID: answer,
        "utter_action": "utter_faq_funding",
        "source": "FAQ: ...",
        "timestamp": 1.0,
    }
    asyncio.run(output.send_response("web-a", {"text": "First part.\n\nSecond part.", **metadata}))
    buttons = [{"title": "Yes, check", "payload": "/affirm"}]
    asyncio.run(output.send_response("web-a", {"text": "One.\n\nTwo.", "buttons": buttons, **metadata}))
    asyncio.run(output.send_response("web-a", {"text": "A question?", "buttons": buttons}))
    sent = [args[1] for args, _ in server.emitted]
    assert sent == [
        {"text": "First part."},
        {"text": "Second part.", "answer": answer},
        {"text": "One.", "quick_replies": []},
        {
            "text": "Two.",
            "quick_replies": [{"content_type": "text", "title": "Yes, check", "payload": "/affirm"}],
            "answer": answer,
        },
        {
            "text": "A question?",
            "quick_replies": [{"content_type": "text", "title": "Yes, check", "payload": "/affirm"}],
        },
    ], "nothing else of the metadata (its source, the response's name) reaches the visitor"
    assert all(kwargs == {"room": "web-a"} for _, kwargs in server.emitted)


def channel_with(server: FakeServer, log: Optional[FeedbackLog] = None, rate: str = "100/minute") -> Any:
    channel = socketio_origins.OriginCheckedSocketIOInput()
    channel.sio = server  # type: ignore[assignment]
    channel.rate = socketio_origins.RateLimit(rate)
    channel.feedback_log = log

    async def on_new_message(message: Any) -> None:
        pass

    channel._replace_session_handlers(on_new_message)
    return channel


def key() -> bytes:
    return settings().secret("session_secret").encode("ascii")


def rows(url: str) -> List[Dict[str, Any]]:
    table = schema.feedback
    with engine_for(url).connect() as connection:
        query = sa.select(table.c.sender_id, table.c.answer_id, table.c.value).order_by(table.c.id)
        return [dict(row._mapping) for row in connection.execute(query)]


def test_the_socket_keeps_feedback_on_its_own_conversations_answers_only(project_database: str) -> None:
    server = FakeServer()
    channel = channel_with(server, rate="4/minute")
    handlers = server.handlers

    async def scenario() -> List[Any]:
        await handlers["session_request"]("sid-a", {"session_id": None, "metadata": {"language": "fr"}})
        await handlers["session_request"]("sid-b", {"session_id": None})
        mine = new_answer_id(channel.conversations["sid-a"], key())
        theirs = new_answer_id(channel.conversations["sid-b"], key())
        answers = [await handlers["feedback"]("sid-c", {"answer": mine, "value": "up"})]  # no session
        answers.append(await handlers["feedback"]("sid-a", {"answer": mine, "value": "up"}))
        answers.append(await handlers["feedback"]("sid-a", {"answer": theirs, "value": "down"}))
        answers.append(await handlers["feedback"]("sid-a", {"answer": mine, "value": "sideways"}))
        answers.append(await handlers["feedback"]("sid-a", {"answer": mine, "value": "down"}))
        # The fifth within the minute from one address: over the limit.
        answers.append(await handlers["feedback"]("sid-a", {"answer": mine, "value": "up"}))
        return answers

    try:
        answers = asyncio.run(scenario())
    finally:
        channel.feedback().close()
    assert answers == [
        {"ok": False},
        {"ok": True},
        {"ok": False, "error": "invalid"},
        {"ok": False, "error": "invalid"},
        {"ok": True},
        {"ok": False, "error": "rate"},
    ]
    [stored] = rows(project_database)
    assert stored["sender_id"] == channel.conversations["sid-a"], "the socket's own conversation"
    assert stored["value"] == "down", "the latest choice"
    assert belongs_to(stored["answer_id"], stored["sender_id"], key())
    assert channel.languages["sid-a"] == "fr"


def test_feedback_is_kept_once_per_answer_and_forgotten_with_its_conversation(
    database_url: str, tmp_path: Path
) -> None:
    log = FeedbackLog(database_url, directory=tmp_path / "spool", timeout=3)

    async def scenario() -> None:
        await log.record("web-a", "answer-1", "up")
        await log.record("web-a", "answer-1", "down")  # changed their mind
        await log.record("web-a", "answer-2", "up")
        await log.record("web-b", "answer-1", "up")

    try:
        asyncio.run(scenario())
    finally:
        log.close()
    assert rows(database_url) == [
        {"sender_id": "web-a", "answer_id": "answer-1", "value": "down"},
        {"sender_id": "web-a", "answer_id": "answer-2", "value": "up"},
        {"sender_id": "web-b", "answer_id": "answer-1", "value": "up"},
    ]
    assert schema.feedback.c.sender_id in schema.conversation_columns(include_kept=False)
    assert retention.forget(engine_for(database_url), "web-a")["feedback"] == 2
    assert [row["sender_id"] for row in rows(database_url)] == ["web-b"]


# -- the migration: from places to answer ids, and back ------------------------------------------


def test_the_migration_keeps_earlier_feedback_on_the_answers_it_was_shown_on(database_url: str) -> None:
    engine = engine_for(database_url)
    store = RedactingSQLTrackerStore(domain=DOMAIN, url=database_url)
    save(
        store,
        "old",
        [
            SessionStarted(),
            ActionExecuted("action_listen"),
            user("/greet", "greet"),
            BotUttered("Hello!", data={"buttons": [{"title": "Funding?", "payload": "/ask_funding"}]}),
            ActionExecuted("action_listen"),
            user("can you fund us", "ask_funding"),
            BotUttered("The APT is not a donor ..."),
            BotUttered("Shall I check?"),
        ],
    )
    store.close()
    with engine.begin() as connection:
        command.downgrade(migrate.alembic_config(connection), "0003")
    old = sa.table("feedback", *(sa.column(c) for c in ("sender_id", "message_index", "value", "created_at")))
    with engine.begin() as connection:
        bots = (
            connection.execute(
                sa.select(schema.events.c.id)
                .where(schema.events.c.sender_id == "old", schema.events.c.type_name == "bot")
                .order_by(schema.events.c.id)
            )
            .scalars()
            .all()
        )
        connection.execute(
            old.insert(),
            [
                {"sender_id": "old", "message_index": 1, "value": "down", "created_at": 1.0},
                {
                    "sender_id": "old",
                    "message_index": 7,
                    "value": "up",
                    "created_at": 2.0,
                },  # on no stored message
                {
                    "sender_id": "gone",
                    "message_index": 0,
                    "value": "up",
                    "created_at": 3.0,
                },  # forgotten since
            ],
        )
    migrate.upgrade(engine)
    assert rows(database_url) == [
        {"sender_id": "old", "answer_id": f"event-{bots[1]}", "value": "down"},
        {"sender_id": "old", "answer_id": "index-7", "value": "up"},
        {"sender_id": "gone", "answer_id": "index-0", "value": "up"},
    ]
    with engine.begin() as connection:
        connection.execute(
            schema.feedback.insert().values(
                sender_id="old", answer_id="no-such-answer", value="up", created_at=4.0
            )
        )
        command.downgrade(migrate.alembic_config(connection), "0003")
    with engine.connect() as connection:
        back = connection.execute(
            sa.select(old.c.sender_id, old.c.message_index, old.c.value).order_by(
                old.c.sender_id, old.c.message_index
            )
        ).all()
    assert [tuple(row) for row in back] == [("gone", 0, "up"), ("old", 1, "down"), ("old", 7, "up")]
    migrate.upgrade(engine)
    with engine.connect() as connection:
        assert migrate.current(engine) == migrate.head()
        assert len(connection.execute(sa.select(schema.feedback.c.id)).all()) == 3


# -- feedback while the database hangs or is locked ----------------------------------------------


@pytest.fixture
def short_database_timeout(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("APT_DATABASE_TIMEOUT", str(TIMEOUT))
    settings.cache_clear()
    yield
    monkeypatch.undo()
    settings.cache_clear()


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    server = sa.engine.make_url(POSTGRES_SERVER)
    with TcpProxy((server.host or "127.0.0.1", server.port or 5432)) as running:
        yield running


@pytest.fixture
def postgres_url() -> Iterator[str]:
    name = f"apt_feedback_{secrets.token_hex(6)}"
    url = postgres_database_or_skip(name)
    try:
        upgrade(engine_for(url))
        yield url
    finally:
        drop_postgres_database(name)


async def clicks_during_an_outage(
    handlers: Dict[str, Any], conversation: str, count: int
) -> Tuple[List[float], List[float], Dict[str, str]]:
    """``count`` clicks at once on as many answers, then one by one a change of mind on each:
    how long each acknowledgement took, and the choices made."""
    answers = [new_answer_id(conversation, key()) for _ in range(count)]

    async def timed(answer: str, value: str) -> float:
        started = time.monotonic()
        assert await handlers["feedback"]("sid", {"answer": answer, "value": value}) == {"ok": True}
        return time.monotonic() - started

    together = list(await asyncio.gather(*(timed(answer, "up") for answer in answers)))
    one_by_one = [await timed(answer, "down") for answer in answers[::2]]
    choices = {answer: "down" if n % 2 == 0 else "up" for n, answer in enumerate(answers)}
    return together, one_by_one, choices


async def written(url: str, expected: Dict[str, str]) -> float:
    started = time.monotonic()
    while {row["answer_id"]: row["value"] for row in rows(url)} != expected:
        if time.monotonic() - started > RECOVERY:
            raise AssertionError(f"not written after {RECOVERY} s: {rows(url)}")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


@pytest.mark.postgres
def test_feedback_during_a_database_hang_is_acknowledged_at_once_and_written_when_it_returns(
    short_database_timeout: None, postgres_url: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    address = sa.engine.make_url(postgres_url).set(host="127.0.0.1", port=proxy.port)
    log = FeedbackLog(
        address.render_as_string(hide_password=False), directory=tmp_path / "spool", timeout=TIMEOUT
    )
    server = FakeServer()
    channel = channel_with(server, log)
    measured: Dict[str, Any] = {}

    async def scenario() -> None:
        await server.handlers["session_request"]("sid", {"session_id": None})
        conversation = channel.conversations["sid"]
        first = new_answer_id(conversation, key())
        assert await server.handlers["feedback"]("sid", {"answer": first, "value": "up"}) == {"ok": True}
        proxy.set_mode("hang")
        together, one_by_one, choices = await clicks_during_an_outage(server.handlers, conversation, 10)
        measured.update(together=together, one_by_one=one_by_one, spooled=log.pending())
        assert not log.database_up
        await asyncio.sleep(2)  # still hanging
        assert {row["answer_id"] for row in rows(postgres_url)} == {first}, "nothing written during the hang"
        proxy.set_mode("forward")
        measured["written_after"] = await written(postgres_url, {first: "up", **choices})

    try:
        asyncio.run(asyncio.wait_for(scenario(), 90))
    finally:
        log.close()
    print(f"\nacknowledged during the hang (s): {[round(t, 2) for t in measured['together']]}, then "
          f"{[round(t, 2) for t in measured['one_by_one']]}; {measured['spooled']} click(s) spooled; "
          f"written {measured['written_after']:.1f} s after the database returned")  # fmt: skip
    assert max(measured["together"]) <= TIMEOUT + MARGIN, measured
    assert max(measured["one_by_one"]) <= QUICK, f"the database is known down: no wait ({measured})"
    assert measured["spooled"] == 15
    assert not list((tmp_path / "spool").glob("spool-*.sqlite")), "spool files removed once written"


def test_feedback_while_sqlite_is_locked_is_acknowledged_at_once_and_written_after(
    short_database_timeout: None, tmp_path: Path
) -> None:
    path = tmp_path / "apt.db"
    url = f"sqlite:///{path}"
    upgrade(engine_for(url))
    log = FeedbackLog(url, directory=tmp_path / "spool", timeout=TIMEOUT)
    server = FakeServer()
    channel = channel_with(server, log)
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    measured: Dict[str, Any] = {}

    async def scenario() -> None:
        await server.handlers["session_request"]("sid", {"session_id": None})
        blocker.execute("BEGIN IMMEDIATE")  # a purge, or the workspace, holds the write lock
        together, one_by_one, choices = await clicks_during_an_outage(
            server.handlers, channel.conversations["sid"], 4
        )
        measured.update(together=together, one_by_one=one_by_one)
        threading.Timer(1.0, lambda: blocker.execute("ROLLBACK")).start()
        await written(url, choices)

    try:
        asyncio.run(asyncio.wait_for(scenario(), 90))
    finally:
        log.close()
        blocker.close()
    assert max(measured["together"]) <= TIMEOUT + MARGIN, measured
    assert max(measured["one_by_one"]) <= QUICK, measured


def test_waiting_feedback_counts_for_health_and_a_dead_process_s_clicks_are_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Clicks spooled by a process that stopped are written by the next one's first click."""
    url = f"sqlite:///{tmp_path / 'apt.db'}"
    upgrade(engine_for(url))
    monkeypatch.setenv("APT_SPOOL_DIRECTORY", str(tmp_path / "spool"))
    settings.cache_clear()
    try:
        first = FeedbackLog(url)
        first.spool.append(click("web-a", "answer-1", "down"))
        first.close()
        assert spool_directory() == tmp_path / "spool" / "feedback"
        assert waiting(url) == 1
        assert rows(url) == []
        second = FeedbackLog(url)

        async def next_click() -> None:
            await second.record("web-b", "answer-2", "up")
            await written(url, {"answer-1": "down", "answer-2": "up"})

        try:
            asyncio.run(asyncio.wait_for(next_click(), 60))
        finally:
            second.close()
        assert waiting(url) == 0
    finally:
        settings.cache_clear()


def test_the_feedback_spool_is_apart_from_the_turns_spool(tmp_path: Path) -> None:
    """The tracker store never reads a click as an event, nor the feedback log an event."""
    url = f"sqlite:///{tmp_path / 'apt.db'}"
    upgrade(engine_for(url))
    log = FeedbackLog(url, directory=spool_directory(tmp_path))
    log.spool.append(click("web-a", "answer-1", "up"))
    store = RedactingSQLTrackerStore(domain=DOMAIN, url=url, spool_directory=str(tmp_path))
    try:
        assert store.spool.counts().pending == 0 and log.spool.counts().pending == 1
    finally:
        store.close()
        log.close()


# -- over a real socket, against the running stack -------------------------------------------------


def test_over_a_real_socket_feedback_names_an_answer_of_its_own_conversation(stack: Stack) -> None:
    """The stored answer's id comes with the answer, and only its own conversation may use it."""
    from tests.e2e.test_hostile_input import Visitor

    async def scenario() -> Dict[str, Any]:
        alice, mallory = Visitor(stack), Visitor(stack)
        await alice.connect()
        await mallory.connect()
        greeting = await alice.say("/greet")
        question = await alice.say("what is the OPCAT?")
        await asyncio.sleep(1)  # every part of the answer
        answers = [reply["answer"] for reply in alice.replies[len(greeting) :] if "answer" in reply]
        results = {
            "greeting": [reply.get("answer") for reply in greeting],
            "answers": answers,
            "question": question,
            "mallory": await mallory.client.call(
                "feedback", {"answer": answers[-1], "value": "down"}, timeout=10
            ),
            "alice": await alice.client.call("feedback", {"answer": answers[-1], "value": "up"}, timeout=10),
            "conversation": alice.conversation,
        }
        await alice.client.disconnect()
        await mallory.client.disconnect()
        return results

    found = asyncio.run(scenario())
    assert found["greeting"] == [None], "the greeting is not an answer"
    assert len(found["answers"]) == 1, "one id per answer, with its last part"
    assert found["mallory"] == {"ok": False, "error": "invalid"}, "another conversation's answer"
    assert found["alice"] == {"ok": True}
    stored = [
        (event.get("metadata") or {}).get("answer_id")
        for event in stored_events(stack.database_url, found["conversation"])
        if event["event"] == "bot"
    ]
    assert found["answers"][0] in stored
    assert rows(stack.database_url)[-1] == {
        "sender_id": found["conversation"],
        "answer_id": found["answers"][0],
        "value": "up",
    }
