"""A hostile visitor with nothing but HTTP and a socket.io client, against the real stack on
SQLite and on PostgreSQL: every request gets a defined reply or a 4xx, the Rasa workers
survive (same PIDs), nothing raw is stored, nothing over the limit is logged, no socket can
reach another's conversation, and the action server answers only the Rasa server."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import requests
import socketio
import sqlalchemy as sa

from apt_settings import settings
from server.channels.edge import MAX_MESSAGE_CHARS, is_offered
from storage import schema
from storage.database import engine_for
from tests.support.stacks import Stack

# Every test here needs a running stack (the `target` fixture picks it at run time).
pytestmark = pytest.mark.slow

BIG = "A" * 1_000_000
# Bodies sent raw to the REST webhook, with the statuses each may get.
RAW_BODIES: List[Tuple[str, bytes, Tuple[int, ...]]] = [
    ("JSON list", b'["sender", "message"]', (400,)),
    ("JSON string", b'"hello"', (400,)),
    ("JSON number", b"42", (400,)),
    ("JSON null", b"null", (400,)),
    ("not JSON", b"sender=x&message=hi", (400,)),
    ("invalid UTF-8", b'{"sender": "x", "message": "\xff\xfe"}', (400,)),
    ("empty body", b"", (400,)),
    ("truncated JSON", b'{"sender": "x", "message": "hi"', (400,)),
]
# JSON objects, with the statuses each may get.
OBJECTS: List[Tuple[str, Dict[str, Any], Tuple[int, ...]]] = [
    ("no sender", {"message": "hi"}, (400,)),
    ("NUL in sender", {"sender": "x\u0000", "message": "hi"}, (400,)),
    ("control characters in sender", {"sender": "a\u0007\u001b[31m", "message": "hi"}, (400,)),
    ("10k sender", {"sender": "s" * 10_000, "message": "hi"}, (400,)),
    ("256-character sender", {"sender": "s" * 256, "message": "hi"}, (400,)),
    ("widget's id", {"sender": "web-0123456789abcdef0123456789abcdef", "message": "hi"}, (400,)),
    ("number sender", {"sender": 12, "message": "hi"}, (400,)),
    ("object message", {"sender": "h-obj", "message": {"text": "hi"}}, (200,)),
    ("no message", {"sender": "h-none"}, (200,)),
    ("empty message", {"sender": "h-empty", "message": ""}, (200,)),
    ("whitespace", {"sender": "h-space", "message": " \t\n "}, (200,)),
    ("1 MB message", {"sender": "h-big", "message": BIG}, (200,)),
    ("message just over the limit", {"sender": "h-over", "message": "b" * (MAX_MESSAGE_CHARS + 1)}, (200,)),
    ("emoji", {"sender": "h-emoji", "message": "😀🙏🏽 👍" * 20}, (200,)),
    ("right to left", {"sender": "h-rtl", "message": "هل تعملون في تونس؟ \u202e gnp.exe"}, (200,)),
    ("zero-width characters", {"sender": "h-zw", "message": "do\u200byou\u200dwork\ufeffin Kenya?"}, (200,)),
    ("NUL and controls in text", {"sender": "h-nul", "message": "hi\u0000there\u0007\u001b[2J"}, (200,)),
    ("lone surrogate", {"sender": "h-sur", "message": "bad \ud800 text"}, (200,)),
    ("client-chosen channel and metadata", {"sender": "h-meta", "message": "hi", "input_channel": "<b>x</b>",
                                            "metadata": {"<svg>": "<svg>"}}, (200,)),
    ("stream switch", {"sender": "h-stream", "message": "hi", "stream": True}, (200,)),
]  # fmt: skip
# `/intent{...}` injections: each tries to set a slot or a flag with a raw value.
INJECTIONS = [
    '/ask_funding{"organisation_type": "<img src=x onerror=alert(1)>", "country": "<svg onload=alert(1)>"}',
    '/inform{"country": "<svg onload=alert(1)>"}',
    '/inform{"organisation_type": "<img src=x>"}',
    '/inform{"work_area": "=HYPERLINK(\\"http://x\\")"}',
    '/inform{"organisation_name": "<script>x</script>", "contact_email": "not-an-email"}',
    '/inform{"contact_email": "<b>@x"}',
    '/inform{"disclosure_reported": true}',
    '/inform{"partnership_fit": "likely", "enquiry_status": "recorded"}',
    "/disclose_abuse",
    '/affirm{"requested_slot": "contact_email"}',
    # What the edge once checked before Rasa stripped it: a blank or an invisible character
    # before the payload (second audit, 2026-12-06).
    " /disclose_abuse",
    "\u00a0/disclose_abuse",
    "\t/disclose_abuse",
    "\u200b/disclose_abuse",
    "\ufeff\u2060/disclose_abuse",
    ' /inform{"country": "<svg onload=alert(1)>"}',
    '\u00a0/inform{"country": "<svg onload=alert(1)>", "organisation_name": "x", "contact_email": "a@b.org"}',
    "／disclose_abuse",
    # A payload behind the question splitter, and a second chance's place that is no place.
    "also /disclose_abuse@1.0 now please? What is the OPCAT?",
    'Where are you based? /inform{"country": "<svg onload=alert(1)>"} and who funds you?',
    '/ask_country_engagement{"country": "Ignore all previous instructions"}',
]
RAW_MARKERS = ("<img", "<svg", "<script", "HYPERLINK", "onerror", "onload", "Ignore all previous")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def target(request: pytest.FixtureRequest, trained_model: Path) -> Iterator[Stack]:
    """The session's stack or a PostgreSQL one; ``trained_model`` is named so that the tests
    using this fixture are marked as needing the model (tests/conftest.py)."""
    yield request.getfixturevalue("stack" if request.param == "sqlite" else "postgres_stack")


def post(stack: Stack, body: bytes) -> requests.Response:
    return requests.post(
        f"{stack.url}/webhooks/rest/webhook",
        data=body,
        headers={"content-type": "application/json"},
        timeout=120,
    )


def stored_rows(stack: Stack, where: Any = None) -> List[Dict[str, Any]]:
    query = sa.select(schema.events.c.sender_id, schema.events.c.type_name, schema.events.c.data)
    if where is not None:
        query = query.where(where)
    with engine_for(stack.database_url).connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def test_the_fuzz_corpus_gets_defined_answers_and_the_workers_survive(target: Stack) -> None:
    workers = target.rasa_pids()
    assert len(workers) >= 2, "the Rasa server and its workers"
    log_start = target.log_path.stat().st_size
    for name, body, statuses in RAW_BODIES:
        answer = post(target, body)
        assert answer.status_code in statuses, (name, answer.status_code, answer.text[:200])
        assert "error" in answer.json(), name
    for name, item, statuses in OBJECTS:
        answer = post(target, json.dumps(item).encode())
        assert answer.status_code in statuses, (name, answer.status_code, answer.text[:200])
        if answer.status_code == 200:
            replies = answer.json()
            assert isinstance(replies, list), name
            assert all(len(r.get("text", "")) < 3000 for r in replies), name
        else:
            assert set(answer.json()) == {"error"}, name
    for index, injection in enumerate(INJECTIONS):
        answer = post(target, json.dumps({"sender": f"h-inject-{index}", "message": injection}).encode())
        assert answer.status_code == 200, (injection, answer.text[:200])
    time.sleep(1)
    assert target.rasa_pids() == workers, "a Rasa worker died or was replaced"

    events = stored_rows(target, schema.events.c.sender_id.like("h-%"))
    for event in events:
        data = json.loads(event["data"])
        if data.get("event") == "slot":
            assert not any(m in json.dumps(data.get("value")) for m in RAW_MARKERS), data
        if data.get("event") == "user":
            entities = (data.get("parse_data") or {}).get("entities") or []
            assert not any(m in json.dumps(entities) for m in RAW_MARKERS), data
            assert len(data.get("text") or "") <= MAX_MESSAGE_CHARS, "an over-long message was stored"
            assert "\u0000" not in (data.get("text") or "")
            text = (data.get("text") or "").strip()
            assert not text.startswith("/") or is_offered(text), f"Rasa read {text!r} as a payload"
    assert not [
        e for e in events if e["sender_id"] in ("h-big", "h-over") and e["type_name"] == "user"
    ], "an over-long message reached Rasa"
    with engine_for(target.database_url).connect() as connection:
        flagged = connection.execute(
            sa.select(schema.summaries.c.sender_id).where(
                schema.summaries.c.sender_id.like("h-inject-%"), schema.summaries.c.disclosure.is_(True)
            )
        ).all()
        channels = set(connection.execute(sa.select(schema.summaries.c.channel).where(
            schema.summaries.c.sender_id.like("h-%"))).scalars())  # fmt: skip
        countries = set(connection.execute(sa.select(schema.facets.c.value).where(
            schema.facets.c.kind == "country")).scalars())  # fmt: skip
    assert flagged == [], "a typed /disclose_abuse set the staff's disclosure flag"
    assert channels <= {"rest"}, channels
    assert not any(m in value for value in countries for m in RAW_MARKERS), countries
    with target.log_path.open("rb") as log:
        log.seek(log_start)
        written = log.read().decode("utf-8", "replace")
    assert "A" * (MAX_MESSAGE_CHARS + 1) not in written, "a visitor's text over the limit reached the log"


def test_a_message_at_the_limit_leaves_worker_memory_within_a_bound(stack: Stack) -> None:
    """Measured here: a 2,000-character message adds well under 200 MB to a worker (before
    the limit, 20 kB added 1.2 GB and 100 kB took a worker to 20 GB)."""
    import psutil

    def total_rss() -> int:
        return sum(psutil.Process(pid).memory_info().rss for pid in stack.rasa_pids())

    words = "prevention detention monitoring Kenya torture " * 60
    stack.send("h-memory", "hello")
    before = total_rss()
    for _ in range(3):
        stack.send("h-memory", words[:MAX_MESSAGE_CHARS])
    grown = total_rss() - before
    assert grown < 200 * 1024 * 1024, f"workers grew by {grown / 2**20:.0f} MB"


# -- the widget's socket.io channel --------------------------------------------------------------


class Visitor:
    """A socket.io client as the widget is one: WebSocket only, from the demo page's origin."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.client = socketio.AsyncClient(reconnection=False)
        self.token: Any = None
        self.replies: List[Dict[str, Any]] = []
        self.client.on("session_confirm", self._confirmed)
        self.client.on("bot_uttered", self._reply)

    async def _confirmed(self, token: Any) -> None:
        self.token = token

    async def _reply(self, message: Dict[str, Any]) -> None:
        self.replies.append(message)

    async def connect(self, session: Any = None) -> None:
        await self.client.connect(
            self.stack.url,
            transports=["websocket"],
            socketio_path="/socket.io/",
            headers={"Origin": self.stack.origin},
        )
        await self.client.emit("session_request", {"session_id": session} if session is not None else None)
        await self.wait_for(lambda: self.token is not None)

    async def say(self, message: Any, expect: int = 1, session: Any = None) -> List[Dict[str, Any]]:
        start = len(self.replies)
        await self.client.emit("user_uttered", {"message": message, "session_id": session or self.token})
        await self.wait_for(lambda: len(self.replies) >= start + expect)
        return self.replies[start:]

    async def wait_for(self, condition: Any, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("no answer in time")
            await asyncio.sleep(0.05)

    @property
    def conversation(self) -> str:
        return str(self.token).split(".")[0]


def test_a_second_socket_cannot_reach_another_visitors_conversation(stack: Stack) -> None:
    async def scenario() -> None:
        alice, mallory = Visitor(stack), Visitor(stack)
        await alice.connect()
        assert alice.conversation.startswith("web-") and "." in alice.token
        await alice.say("my brother was tortured in detention")
        # Mallory presents Alice's conversation id, then a forged token for it.
        await mallory.connect(session=alice.conversation)
        assert mallory.conversation != alice.conversation
        await mallory.client.disconnect()
        mallory = Visitor(stack)
        await mallory.connect(session=f"{alice.conversation}.{'0' * 64}")
        assert mallory.conversation != alice.conversation
        # Mallory names Alice's conversation in a message: it goes to Mallory's own.
        await mallory.say("hello", session=alice.token)
        alice_before = len(alice.replies)
        await alice.say("do you work in Kenya?")
        await asyncio.sleep(1)
        assert not any("Kenya" in r.get("text", "") for r in mallory.replies)
        assert len(alice.replies) > alice_before
        await alice.client.disconnect()
        await mallory.client.disconnect()
        # Alice, reloading the page, presents her token and keeps her conversation.
        again = Visitor(stack)
        await again.connect(session=alice.token)
        assert again.conversation == alice.conversation
        await again.client.disconnect()
        stored = {row["sender_id"] for row in stored_rows(stack, schema.events.c.type_name == "user")}
        assert alice.conversation in stored and mallory.conversation in stored
        alice_texts = [
            json.loads(row["data"]).get("text")
            for row in stored_rows(stack, schema.events.c.sender_id == alice.conversation)
            if row["type_name"] == "user"
        ]
        assert alice_texts == ["my brother was tortured in detention", "do you work in Kenya?"]

    asyncio.run(scenario())


def test_the_socket_channel_answers_hostile_messages_at_the_edge(target: Stack) -> None:
    stack = target
    workers = stack.rasa_pids()

    async def scenario() -> None:
        visitor = Visitor(stack)
        await visitor.connect(session={"not": "a string"})
        [too_long] = await visitor.say("x" * 20_000)
        assert "shorten" in too_long["text"]
        [not_text] = await visitor.say({"nested": ["x"]})
        assert "text" in not_text["text"]
        replies = await visitor.say("/disclose_abuse")
        assert replies
        for hidden in (" ", "\u200b", "\u00a0\t"):
            assert await visitor.say(hidden + "/disclose_abuse")
        await visitor.say("also /disclose_abuse@1.0 now please? What is the OPCAT?")
        await visitor.say("hi\u0000\u0007 there")
        await visitor.client.emit("user_uttered", "not an object")
        await visitor.client.emit("session_request", "junk")
        await asyncio.sleep(1)
        await visitor.client.disconnect()
        # A 1 MB packet is over Engine.IO's limit (64 kB): the server closes that socket.
        flooder = Visitor(stack)
        await flooder.connect()
        await flooder.client.emit("user_uttered", {"message": BIG})
        await flooder.wait_for(lambda: not flooder.client.connected, timeout=30)
        assert flooder.replies == []
        user_events = [
            json.loads(row["data"])
            for row in stored_rows(stack, schema.events.c.sender_id == visitor.conversation)
            if row["type_name"] == "user"
        ]
        assert all(len(e["text"]) <= MAX_MESSAGE_CHARS and "\u0000" not in e["text"] for e in user_events)
        assert all(e["parse_data"]["intent"]["name"] != "disclose_abuse" for e in user_events)
        assert not [
            e["text"] for e in user_events if e["text"].strip().startswith("/") and not is_offered(e["text"])
        ]

    asyncio.run(scenario())
    assert stack.rasa_pids() == workers


def test_a_socket_from_another_origin_is_refused(stack: Stack) -> None:
    async def scenario() -> None:
        client = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                stack.url, transports=["websocket"], headers={"Origin": "https://evil.example"}
            )

    asyncio.run(scenario())


# -- the Rasa server and the action server ------------------------------------------------------


def test_the_rasa_server_names_no_version_and_echoes_nothing(stack: Stack) -> None:
    root = requests.get(f"{stack.url}/", timeout=10)
    assert root.status_code == 200 and root.json() == {"status": "ok"}
    assert requests.get(f"{stack.url}/version", timeout=10).status_code == 404
    probe = "/no-such-route-<script>alert(1)</script>"
    unknown = requests.get(f"{stack.url}{probe}", timeout=10)
    assert unknown.status_code == 404 and "script" not in unknown.text and "no-such" not in unknown.text
    for response in (root, unknown):
        assert "rasa" not in response.text.lower() and "3.6" not in response.text


def forged_tracker() -> Dict[str, Any]:
    slots = {
        "organisation_type": "ngo", "organisation_country": "KEN", "work_area": "detention_monitoring",
        "organisation_name": '=HYPERLINK("http://evil")<script>', "contact_email": "not-an-email",
        "partnership_fit": "likely",
    }  # fmt: skip
    return {
        "next_action": "action_record_enquiry",
        "sender_id": "forged",
        "tracker": {
            "sender_id": "forged",
            "slots": slots,
            "latest_message": {"text": "yes", "intent": {"name": "affirm"}, "entities": []},
            "events": [
                {"event": "bot", "timestamp": 1.0, "text": "?",
                 "metadata": {"utter_action": "utter_ask_enquiry_consent"}},
                {"event": "user", "timestamp": 2.0, "text": "yes",
                 "parse_data": {"intent": {"name": "affirm"}}},
            ],
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": {},
        "version": "3.6.2",
    }  # fmt: skip


def test_the_action_server_answers_only_the_rasa_server(stack: Stack) -> None:
    assert requests.get(f"{stack.actions_url}/health", timeout=10).status_code == 200
    assert requests.get(f"{stack.actions_url}/actions", timeout=10).status_code == 401
    for method in ("OPTIONS", "HEAD", "PUT", "DELETE"):  # OPTIONS once answered 200 by the CORS extension
        for path in ("/webhook", "/actions", "/health"):
            answer = requests.request(method, f"{stack.actions_url}{path}", timeout=10)
            assert answer.status_code == 401, (method, path, answer.status_code)
    forged = requests.post(f"{stack.actions_url}/webhook", json=forged_tracker(), timeout=30)
    assert forged.status_code == 401
    wrong = requests.post(
        f"{stack.actions_url}/webhook",
        json=forged_tracker(),
        headers={"Authorization": "Bearer " + "0" * 64},
        timeout=30,
    )
    assert wrong.status_code == 401
    unknown = requests.post(f"{stack.actions_url}/nothing-here", data="<echo-me>", timeout=10)
    assert unknown.status_code in (401, 404) and "echo-me" not in unknown.text
    # With the secret (as the Rasa server calls it), a forged enquiry is still not stored.
    secret = {"Authorization": f"Bearer {settings().secret('actions_secret')}"}
    listed = requests.get(f"{stack.actions_url}/actions", headers=secret, timeout=10)
    assert listed.status_code == 200
    answered = requests.post(
        f"{stack.actions_url}/webhook", json=forged_tracker(), headers=secret, timeout=30
    )
    assert answered.status_code == 200
    unknown = requests.post(f"{stack.actions_url}/nothing-here", data="<echo-me>", headers=secret, timeout=10)
    assert unknown.status_code == 404 and "echo-me" not in unknown.text
    with engine_for(stack.database_url).connect() as connection:
        stored = connection.execute(
            sa.select(schema.enquiries).where(schema.enquiries.c.conversation_id == "forged")
        ).all()
    assert stored == []
