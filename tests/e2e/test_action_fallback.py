"""When the action server is down, hung or failing, the visitor still gets an honest answer
with the APT's postal address, within seconds, and the turn is stored
(server/patches/action_fallback.py)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
import uuid
from typing import Any, Iterator, List

import pytest
import requests
import sqlalchemy as sa
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from apt_settings import ROOT
from server.patches import action_fallback
from storage import schema
from storage.database import engine_for
from tests.support.stacks import Stack

DOMAIN = Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture
def fallback_installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(action_fallback, "ACTION_TIMEOUT_SECONDS", 0.5)
    action_fallback.install()
    yield
    action_fallback.uninstall()


def run_action(url: str) -> List[Any]:
    action = RemoteAction("action_answer_country_engagement", EndpointConfig(url))
    tracker = DialogueStateTracker.from_events("visitor", [], slots=DOMAIN.slots)
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    return asyncio.run(action.run(CollectingOutputChannel(), nlg, tracker, DOMAIN))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_action_server_that_is_down_gives_the_fallback_answer(fallback_installed: None) -> None:
    [event] = run_action(f"http://127.0.0.1:{closed_port()}/webhook")
    assert isinstance(event, BotUttered)
    assert "can't look that up" in event.text and action_fallback.postal_address() in event.text
    assert "Route de Ferney 10" in event.text  # from the knowledge base


def test_a_hung_action_server_gives_the_fallback_answer_in_time(fallback_installed: None) -> None:
    with socket.socket() as listener:  # accepts the connection, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        started = time.monotonic()
        [event] = run_action(f"http://127.0.0.1:{listener.getsockname()[1]}/webhook")
    assert time.monotonic() - started < 5
    assert isinstance(event, BotUttered) and "can't look that up" in event.text


def test_without_the_patch_rasa_would_fail_the_action() -> None:
    """What Rasa does by itself (so the tests above test the patch)."""
    from rasa.shared.exceptions import RasaException

    with pytest.raises(RasaException):
        run_action(f"http://127.0.0.1:{closed_port()}/webhook")


@pytest.mark.slow
def test_a_paused_action_server_gets_the_visitor_an_answer_and_health_says_so(stack: Stack) -> None:
    import psutil

    [server] = [
        child
        for child in psutil.Process(stack.launcher.pid).children(recursive=True)
        if any("action_server.py" in part for part in child.cmdline())
    ]
    sender = f"paused-{uuid.uuid4().hex}"
    assert requests.get(f"{stack.url}/health", timeout=10).json() == {
        "status": "ok",
        "parts": {"rasa": "up", "action_server": "up", "database": "up"},
    }
    os.kill(server.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        replies = stack.texts(sender, "Do you work in Kenya?")
        waited = time.monotonic() - started
        health = requests.get(f"{stack.url}/health", timeout=10)
    finally:
        os.kill(server.pid, signal.SIGCONT)
    assert health.status_code == 503 and health.json()["parts"]["action_server"] == "down"
    assert waited <= 10, waited
    assert any("can't look that up" in r and "Route de Ferney 10" in r for r in replies), replies
    assert any("Kenya is among the countries" in r for r in stack.texts(sender, "Do you work in Kenya?"))
    with engine_for(stack.database_url).connect() as connection:
        rows = connection.execute(
            sa.select(schema.events.c.type_name, schema.events.c.data).where(
                schema.events.c.sender_id == sender
            )
        ).all()
    bot_texts = [json.loads(data).get("text") or "" for kind, data in rows if kind == "bot"]
    assert any("can't look that up" in text for text in bot_texts), "the turn was not stored"
