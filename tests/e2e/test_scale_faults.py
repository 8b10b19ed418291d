"""The scale profile at its default rate limit, with Redis behind a TCP proxy the test controls
(the machine's Redis itself is never stopped):

- 20 visitors from 20 addresses are all answered: each replica counts each visitor apart, from
  the address nginx passes on (an nginx ``location`` that set headers of its own once dropped
  ``X-Real-IP``, and every visitor counted as nginx);
- Redis refused, then hanging: every visitor, REST and widget, is still answered and every
  turn stored; ``/health`` names Redis as down; when Redis answers again, the replicas say so
  and lock in Redis again.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple
from urllib.parse import urlsplit

import pytest
import redis
import socketio
import sqlalchemy as sa

from apt_settings import Settings, settings
from language import LANGUAGES
from server.channels.edge import edge_reply
from storage import schema
from storage.database import engine_for
from tests.e2e.tcp_proxy import TcpProxy
from tests.support.stacks import Stack, missing_service, running_scale_stack

REPLICAS = 2
VISITORS = 20
TURNS = ["hello", "What is OPCAT?", "Do you work in Kenya?", "and Chad?", "what is CINAT?", "thanks"] * 2


@pytest.fixture(scope="module")
def redis_proxy() -> Iterator[TcpProxy]:
    target = urlsplit(settings().redis_url)
    try:
        redis.Redis.from_url(settings().redis_url, socket_timeout=2).ping()
    except redis.RedisError as error:
        missing_service(f"no Redis server at {target.hostname}:{target.port} ({error})")
    with TcpProxy((target.hostname or "127.0.0.1", target.port or 6379)) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def limited_stack(
    trained_model: Path, redis_proxy: TcpProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The scale profile on PostgreSQL, Redis through the proxy, the default rate limit."""
    extra = {
        "APT_REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}/0",
        "APT_RATE_LIMIT": str(Settings.__fields__["rate_limit"].default),  # what a deployment gets
    }
    log = tmp_path_factory.getbasetemp() / "scale-faults-stack.log"
    with running_scale_stack(trained_model, log, REPLICAS, extra) as stack:
        yield stack


def post_from(address: str, stack: Stack, sender: str, message: str) -> Tuple[int, List[Dict[str, Any]]]:
    """A REST message sent from ``address`` (any 127.x.y.z is this machine's loopback)."""
    target = urlsplit(stack.url)
    connection = http.client.HTTPConnection(
        target.hostname, target.port, timeout=60, source_address=(address, 0)
    )
    try:
        body = json.dumps({"sender": sender, "message": message})
        connection.request("POST", "/webhooks/rest/webhook", body, {"content-type": "application/json"})
        answer = connection.getresponse()
        payload = answer.read()
        return answer.status, (json.loads(payload) if answer.status == 200 else [{"error": payload.decode()}])
    finally:
        connection.close()


def converse(stack: Stack, number: int, turns: List[str], tag: str) -> Tuple[str, List[str]]:
    """One visitor from its own address: the problems seen (refusals, errors, no answer)."""
    address, sender = f"127.0.1.{number + 1}", f"{tag}-{number}-{uuid.uuid4().hex[:8]}"
    refused = {edge_reply("utter_too_many_messages", language) for language in LANGUAGES}
    problems = []
    for message in turns:
        status, replies = post_from(address, stack, sender, message)
        texts = [reply.get("text") or "" for reply in replies]
        if status != 200:
            problems.append(f"{sender} {message!r}: HTTP {status} {replies}")
        elif not any(texts):
            problems.append(f"{sender} {message!r}: no answer")
        elif refused & set(texts):
            problems.append(f"{sender} {message!r}: told to wait")
    return sender, problems


def user_turns_stored(stack: Stack, sender: str) -> int:
    with engine_for(stack.database_url).connect() as connection:
        return int(
            connection.execute(
                sa.select(sa.func.count())
                .select_from(schema.events)
                .where(schema.events.c.sender_id == sender, schema.events.c.type_name == "user")
            ).scalar()
        )


def test_twenty_visitors_from_twenty_addresses_are_all_answered_at_the_default_limit(
    limited_stack: Stack,
) -> None:
    with ThreadPoolExecutor(max_workers=VISITORS) as pool:
        results = list(pool.map(lambda n: converse(limited_stack, n, TURNS, "addresses"), range(VISITORS)))
    problems = [problem for _, found in results for problem in found]
    assert problems == [], f"{len(problems)} of {VISITORS * len(TURNS)} turns: {problems[:5]}"
    # ...and one visitor over the limit is still told to wait, alone.
    sender, flooded = converse(limited_stack, 200, ["What is OPCAT?"] * 40, "flood")
    assert any("told to wait" in problem or "HTTP 429" in problem for problem in flooded), flooded[:3]
    _, others = converse(limited_stack, 201, ["What is OPCAT?"], "after-flood")
    assert others == []


def health(url: str) -> Dict[str, Any]:
    import requests

    return dict(requests.get(f"{url}/health", timeout=15).json())


def socket_visitor_answered(stack: Stack, message: str) -> List[str]:
    """A widget visitor through nginx: the texts of the replies to one message."""

    async def scenario() -> List[str]:
        client = socketio.AsyncClient(reconnection=False)
        replies: List[str] = []
        confirmed = asyncio.Event()
        client.on("session_confirm", lambda *_: confirmed.set())
        client.on("bot_uttered", lambda data: replies.append(str(data.get("text") or "")))
        await client.connect(stack.url, transports=["websocket"], headers={"Origin": stack.origin})
        await client.emit("session_request", {"session_id": None})
        await asyncio.wait_for(confirmed.wait(), 30)
        await client.emit("user_uttered", {"message": message})
        deadline = time.monotonic() + 30
        while not replies and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await client.disconnect()
        return replies

    return asyncio.run(scenario())


@pytest.mark.parametrize("outage", ["refuse", "hang"])
def test_during_a_redis_outage_every_visitor_is_answered_and_every_turn_stored(
    limited_stack: Stack, redis_proxy: TcpProxy, outage: str
) -> None:
    replicas: List[str] = limited_stack.replica_urls  # type: ignore[attr-defined]
    turns = ["Do you work in Kenya?", "What is OPCAT?", "Why don't you denounce states?"]
    redis_proxy.set_mode(outage)
    try:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda n: converse(limited_stack, 40 + n, turns, outage), range(8)))
        during = time.monotonic() - started
        assert [problem for _, found in results for problem in found] == []
        assert socket_visitor_answered(limited_stack, "What is CINAT?"), "the widget got no answer"
        for sender, _ in results:
            assert user_turns_stored(limited_stack, sender) == len(turns), sender
        states = [health(url) for url in replicas]
        assert all(
            state["parts"].get("redis") == "down" and state["status"] == "degraded" for state in states
        )
    finally:
        redis_proxy.set_mode("forward", reset_held=True)
    # 24 turns on 2 replicas: at most the first of each replica waits for Redis's timeout.
    assert during < 60, during
    deadline = time.monotonic() + 20
    while any(health(url)["parts"].get("redis") != "up" for url in replicas):
        assert time.monotonic() < deadline, [health(url) for url in replicas]
        time.sleep(0.5)
    sender, problems = converse(limited_stack, 60, ["What is OPCAT?"], f"after-{outage}")
    assert problems == [] and user_turns_stored(limited_stack, sender) == 1
