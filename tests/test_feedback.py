"""Feedback on answers ("Was this helpful?"), received over the widget's socket
(channels/socketio_origins.py) and kept in the ``feedback`` table with its conversation.

The socket path itself (a real widget, a real stack) is in test_browser.py; here, the checks
of what a socket sends and the table, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest
import sqlalchemy as sa

from channels import socketio_origins
from channels.socketio_origins import (
    MAX_FEEDBACK_INDEX,
    checked_feedback,
    language_of,
    record_feedback,
)
from storage import retention, schema
from storage.database import engine_for


@pytest.mark.parametrize(
    "data, expected",
    [
        ({"message": 3, "value": "up"}, (3, "up")),
        ({"message": 0, "value": "down"}, (0, "down")),
        ({"message": MAX_FEEDBACK_INDEX, "value": "up"}, (MAX_FEEDBACK_INDEX, "up")),
        ({"message": MAX_FEEDBACK_INDEX + 1, "value": "up"}, None),
        ({"message": -1, "value": "up"}, None),
        ({"message": True, "value": "up"}, None),
        ({"message": "3", "value": "up"}, None),
        ({"message": 3.0, "value": "up"}, None),
        ({"message": 3, "value": "UP"}, None),
        ({"message": 3, "value": "meh"}, None),
        ({"message": 3, "value": ["up"]}, None),
        ({"message": 3, "value": "up", "session_id": "web-other"}, None),
        ({"message": 3}, None),
        ("up", None),
        (None, None),
        ([3, "up"], None),
    ],
)
def test_only_an_index_and_up_or_down_are_accepted(data: Any, expected: Any) -> None:
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


def rows(url: str) -> List[Dict[str, Any]]:
    table = schema.feedback
    with engine_for(url).connect() as connection:
        query = sa.select(table.c.sender_id, table.c.message_index, table.c.value).order_by(table.c.id)
        return [dict(row._mapping) for row in connection.execute(query)]


def test_feedback_is_stored_once_per_answer_with_the_latest_choice(database_url: str) -> None:
    engine = engine_for(database_url)
    record_feedback("web-a", 2, "up", engine)
    record_feedback("web-a", 2, "down", engine)  # changed their mind
    record_feedback("web-a", 4, "up", engine)
    record_feedback("web-b", 2, "up", engine)
    assert rows(database_url) == [
        {"sender_id": "web-a", "message_index": 2, "value": "down"},
        {"sender_id": "web-a", "message_index": 4, "value": "up"},
        {"sender_id": "web-b", "message_index": 2, "value": "up"},
    ]


def test_forgetting_a_conversation_deletes_its_feedback(database_url: str) -> None:
    engine = engine_for(database_url)
    record_feedback("web-a", 1, "up", engine)
    record_feedback("web-b", 1, "down", engine)
    assert schema.feedback.c.sender_id in schema.conversation_columns(include_kept=False)
    counts = retention.forget(engine, "web-a")
    assert counts["feedback"] == 1
    assert [row["sender_id"] for row in rows(database_url)] == ["web-b"]


class FakeServer:
    """Just enough of python-socketio's server for the channel's handlers."""

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
        self.emitted.append(args)


def test_the_socket_stores_feedback_for_its_own_conversation_only(
    project_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = socketio_origins.OriginCheckedSocketIOInput()
    server = FakeServer()
    channel.sio = server  # type: ignore[assignment]
    channel.rate = socketio_origins.RateLimit("2/minute")

    async def on_new_message(message: Any) -> None:
        pass

    channel._replace_session_handlers(on_new_message)
    handlers = server.handlers

    async def scenario() -> List[Any]:
        answers = [await handlers["feedback"]("sid-1", {"message": 1, "value": "up"})]  # no session yet
        await handlers["session_request"]("sid-1", {"session_id": None, "metadata": {"language": "fr"}})
        answers.append(await handlers["feedback"]("sid-1", {"message": 1, "value": "up"}))
        answers.append(await handlers["feedback"]("sid-1", {"message": 1, "value": "sideways"}))
        # The third within the minute: over the limit.
        answers.append(await handlers["feedback"]("sid-1", {"message": 2, "value": "down"}))
        return answers

    answers = asyncio.run(scenario())
    assert answers == [
        {"ok": False},
        {"ok": True},
        {"ok": False, "error": "invalid"},
        {"ok": False, "error": "rate"},
    ]
    [stored] = rows(project_database)
    assert stored["sender_id"] == channel.conversations["sid-1"] and stored["sender_id"].startswith("web-")
    assert (stored["message_index"], stored["value"]) == (1, "up")
    assert channel.languages["sid-1"] == "fr"
