"""The scale profile on this machine: two Rasa replicas on their own ports behind nginx, the
conversation log on PostgreSQL, the locks in Redis (storage/redis_lock_store.py).

- one conversation whose messages alternate between the replicas, the funding form in the
  middle: every event stored once, in order;
- 50 conversations x 10 messages in parallel through nginx: no error, the same answers as one
  server, every event stored once (counted in PostgreSQL);
- 20 simultaneous messages of one visitor, half to each replica: each stored once, turns
  never interleaved;
- a replica killed under load: nginx sends its requests to the other one, no visitor sees an
  error, and the supervisor starts a new replica.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import requests
import sqlalchemy as sa

from storage import schema
from storage.database import engine_for
from tests.support.stacks import Stack, missing_service, running_scale_stack

REPLICAS = 2
SCRIPT = [
    "hello",
    "How is the APT funded?",
    "Do you work in Kenya?",
    "Why don't you denounce states?",
    "What is OPCAT?",
    "which countries do you work in in West Africa?",
    "Do you help victims?",
    "How do you choose your partners?",
    "what is CINAT?",
    "thanks, bye",
]
FUNDING = [
    "hello",
    "Can you fund our project?",
    "yes",
    '/inform{"organisation_type": "ngo"}',
    "Kenya",
    '/inform{"work_area": "detention_monitoring"}',
    "no thanks",
    "What is OPCAT?",
]


@pytest.fixture(scope="module")
def scale_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    import redis

    try:
        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=2).ping()
    except redis.RedisError as error:
        missing_service(f"no Redis server at 127.0.0.1:6379 ({error})")
    log = tmp_path_factory.getbasetemp() / "scale-stack.log"
    with running_scale_stack(trained_model, log, REPLICAS) as stack:
        yield stack


def post(url: str, sender: str, message: str, timeout: float = 90) -> List[Dict[str, Any]]:
    response = requests.post(
        f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": message}, timeout=timeout
    )
    assert response.status_code == 200, (response.status_code, response.text)
    return list(response.json())


def texts(replies: List[Dict[str, Any]]) -> List[str]:
    return [reply.get("text") or "" for reply in replies]


def stored(stack: Stack, sender: str) -> List[Tuple[int, str, Dict[str, Any]]]:
    with engine_for(stack.database_url).connect() as connection:
        rows = connection.execute(
            sa.select(schema.events.c.id, schema.events.c.type_name, schema.events.c.data)
            .where(schema.events.c.sender_id == sender)
            .order_by(schema.events.c.id)
        ).all()
    return [(row_id, kind, json.loads(data)) for row_id, kind, data in rows]


def assert_whole_turns(events: List[Tuple[int, str, Dict[str, Any]]]) -> None:
    """Every event once, and each visitor message followed by its whole turn (up to the
    assistant's wait for the next message) before the next one."""
    keys = [(kind, data.get("timestamp"), json.dumps(data, sort_keys=True)) for _, kind, data in events]
    assert len(keys) == len(set(keys)), "an event was stored twice"
    waiting = True
    for _, kind, data in events:
        if kind == "user":
            assert waiting, f"a message arrived in the middle of another turn: {data.get('text')!r}"
            waiting = False
        elif kind == "action" and data.get("name") == "action_listen":
            waiting = True


def user_texts(events: List[Tuple[int, str, Dict[str, Any]]]) -> List[str]:
    return [data.get("text") for _, kind, data in events if kind == "user"]


def test_one_conversation_alternating_between_replicas_is_stored_once_in_order(scale_stack: Stack) -> None:
    replicas: List[str] = scale_stack.replica_urls  # type: ignore[attr-defined]
    sender = f"alternating-{uuid.uuid4().hex}"
    replies = [texts(post(replicas[i % REPLICAS], sender, message)) for i, message in enumerate(FUNDING)]
    assert any("not a donor" in text for text in replies[1])
    assert any("Kenya is among the countries" in text for text in replies[5]), replies[5]
    assert any("OPCAT" in text for text in replies[7])
    events = stored(scale_stack, sender)
    assert user_texts(events) == FUNDING
    assert_whole_turns(events)


def test_fifty_conversations_in_parallel_get_the_answers_of_one_server(scale_stack: Stack) -> None:
    replicas: List[str] = scale_stack.replica_urls  # type: ignore[attr-defined]
    reference_sender = f"reference-{uuid.uuid4().hex}"
    reference = [texts(post(replicas[0], reference_sender, message)) for message in SCRIPT]
    reference_events = len(stored(scale_stack, reference_sender))

    def converse(number: int) -> Tuple[str, List[List[str]]]:
        sender = f"parallel-{number}-{uuid.uuid4().hex}"
        return sender, [texts(post(scale_stack.url, sender, message)) for message in SCRIPT]

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=50) as pool:
        conversations = list(pool.map(converse, range(50)))
    elapsed = time.monotonic() - started
    for _sender, answers in conversations:
        assert answers == reference
    with engine_for(scale_stack.database_url).connect() as connection:
        counts = dict(
            connection.execute(
                sa.select(schema.events.c.sender_id, sa.func.count())
                .where(schema.events.c.sender_id.in_([sender for sender, _ in conversations]))
                .group_by(schema.events.c.sender_id)
            ).all()
        )
    assert counts == {sender: reference_events for sender, _ in conversations}
    for sender, _ in conversations[:5]:
        events = stored(scale_stack, sender)
        assert user_texts(events) == SCRIPT
        assert_whole_turns(events)
    print(
        f"\n500 messages through nginx to {REPLICAS} replicas in {elapsed:.1f} s ({500 / elapsed:.1f} msg/s)"
    )


def test_simultaneous_messages_of_one_visitor_on_two_replicas_never_interleave(scale_stack: Stack) -> None:
    replicas: List[str] = scale_stack.replica_urls  # type: ignore[attr-defined]
    sender = f"simultaneous-{uuid.uuid4().hex}"
    messages = [f"What is OPCAT? ({number})" for number in range(20)]
    with ThreadPoolExecutor(max_workers=20) as pool:
        list(pool.map(lambda i: post(replicas[i % REPLICAS], sender, messages[i]), range(20)))
    events = stored(scale_stack, sender)
    assert sorted(user_texts(events)) == sorted(messages)
    assert_whole_turns(events)


def test_a_replica_killed_under_load_is_routed_around_and_replaced(scale_stack: Stack) -> None:
    victim = scale_stack.pid_of("rasa_1")
    failures: List[str] = []

    def converse(number: int) -> None:
        sender = f"under-load-{number}-{uuid.uuid4().hex}"
        for message in SCRIPT:
            try:
                if not texts(post(scale_stack.url, sender, message)):
                    failures.append(f"{sender}: empty answer to {message!r}")
            except (AssertionError, requests.RequestException) as error:
                failures.append(f"{sender}: {error}")

    with ThreadPoolExecutor(max_workers=10) as pool:
        running = [pool.submit(converse, number) for number in range(10)]
        time.sleep(1.5)
        os.kill(victim, signal.SIGKILL)
        for future in running:
            future.result(timeout=300)
    assert failures == []
    deadline = time.monotonic() + 20
    while scale_stack.pid_of("rasa_1") in (0, victim):
        assert time.monotonic() < deadline, "the killed replica was not replaced"
        time.sleep(0.5)
