"""Faults on the running stack (embedded profile, its own instance): the supervisor brings
back what dies, the visitor gets an honest answer within 10 s meanwhile, and nothing is lost.

- the action server killed: the fallback answer, then the automatic restart and the normal
  answers again;
- the action server paused (SIGSTOP) 30 s: answers within 10 s, other conversations' answer
  times unchanged, restarted by its liveness check;
- one of the two Rasa processes killed: the other keeps answering on the same port, and the
  supervisor starts a new one. (Connections the dying process had already accepted are reset
  with it; the widget reconnects, and in the scale profile nginx retries them.)
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator, List, Tuple

import psutil
import pytest
import requests
import sqlalchemy as sa

from storage import schema
from storage.database import engine_for
from tests.support.stacks import Stack, running_stack

FALLBACK = "can't look that up"
# Questions answered by a response alone (no custom action). "How is the APT funded?" was one of
# them and is not: it may read as the budget, which the action server answers, and then waited
# for the paused server's timeout; the test now checks its premise (same replies during the pause).
FAQ_QUESTIONS = [
    "Why don't you denounce states?",
    "Why does the APT not take up individual cases?",
    "Do you help victims?",
]


@pytest.fixture(scope="module")
def fault_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack of its own: these tests kill and pause its processes."""
    database = tmp_path_factory.mktemp("faults") / "apt.db"
    with running_stack(
        trained_model, f"sqlite:///{database}", tmp_path_factory.getbasetemp() / "fault-stack.log"
    ) as running:
        yield running


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            pytest.fail(f"not within {timeout:.0f} s: {what}")
        time.sleep(0.5)
    return time.monotonic() - started


def action_server_healthy(stack: Stack) -> bool:
    try:
        return requests.get(f"{stack.actions_url}/health", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def action_server_settled(stack: Stack) -> bool:
    """Started (or starting), answering, and not being replaced: the same process twice, a
    second apart."""
    serving = ("STARTING", "RUNNING")
    first = stack.process_info()["action_server"]
    if first["statename"] not in serving or not action_server_healthy(stack):
        return False
    time.sleep(1)
    second = stack.process_info()["action_server"]
    return second["statename"] in serving and second["pid"] == first["pid"] and action_server_healthy(stack)


def timed(stack: Stack, sender: str, message: str) -> Tuple[float, List[str]]:
    started = time.monotonic()
    replies = stack.texts(sender, message)
    return time.monotonic() - started, replies


def stored_user_texts(stack: Stack, sender: str) -> List[str]:
    with engine_for(stack.database_url).connect() as connection:
        rows = connection.execute(
            sa.select(schema.events.c.data)
            .where(schema.events.c.sender_id == sender, schema.events.c.type_name == "user")
            .order_by(schema.events.c.id)
        ).all()
    return [json.loads(data)["text"] for (data,) in rows]


def test_a_killed_action_server_is_restarted_and_the_conversation_goes_on(fault_stack: Stack) -> None:
    sender = f"killed-{uuid.uuid4().hex}"
    assert any("Benin" in reply for reply in fault_stack.texts(sender, "Do you work in Benin?"))
    before = fault_stack.pid_of("action_server")
    os.kill(before, signal.SIGKILL)
    waited, replies = timed(fault_stack, sender, "Do you work in Togo?")
    assert waited <= 10, waited
    assert replies and all(reply.strip() for reply in replies)
    restart = wait_for(
        lambda: fault_stack.pid_of("action_server") not in (0, before) and action_server_settled(fault_stack),
        30,
        "the action server restarted",
    )
    assert any("Senegal" in reply for reply in fault_stack.texts(sender, "Do you work in Senegal?"))
    assert stored_user_texts(fault_stack, sender) == [
        "Do you work in Benin?",
        "Do you work in Togo?",
        "Do you work in Senegal?",
    ]
    print(f"\naction server killed: answered in {waited:.2f} s, back after {restart:.1f} s")


def test_a_paused_action_server_answers_in_time_and_others_are_not_slowed(fault_stack: Stack) -> None:
    visitor, others = f"paused-{uuid.uuid4().hex}", f"others-{uuid.uuid4().hex}"
    normal_turns = [timed(fault_stack, others, question) for question in FAQ_QUESTIONS * 3]
    paused = fault_stack.pid_of("action_server")
    os.kill(paused, signal.SIGSTOP)
    try:
        pause_started = time.monotonic()
        with ThreadPoolExecutor(max_workers=1) as pool:
            country = pool.submit(timed, fault_stack, visitor, "Do you work in Kenya?")
            during_turns = [timed(fault_stack, others, question) for question in FAQ_QUESTIONS * 3]
            waited, replies = country.result(timeout=30)
        time.sleep(max(0.0, 30 - (time.monotonic() - pause_started)))
    finally:
        if psutil.pid_exists(paused):
            os.kill(paused, signal.SIGCONT)
    assert waited <= 10, waited
    assert any(FALLBACK in reply for reply in replies) or any("Kenya" in reply for reply in replies), replies
    # FAQ answers need no action server: the same answers as before the pause (none of them the
    # fallback), in the times of normal operation (the median, with 50 ms of slack for a shared
    # machine's noise).
    assert [replies for _, replies in during_turns] == [replies for _, replies in normal_turns]
    assert not any(FALLBACK in reply for _, replies in normal_turns for reply in replies)
    normal = [seconds for seconds, _ in normal_turns]
    during = [seconds for seconds, _ in during_turns]
    assert statistics.median(during) <= 1.2 * statistics.median(normal) + 0.05, (normal, during)
    wait_for(lambda: action_server_settled(fault_stack), 90, "the action server answers again")
    assert any("Kenya is among" in reply for reply in fault_stack.texts(visitor, "Do you work in Kenya?"))
    assert stored_user_texts(fault_stack, visitor) == ["Do you work in Kenya?", "Do you work in Kenya?"]
    print(f"\npaused 30 s: answered in {waited:.2f} s; FAQ median {statistics.median(normal) * 1000:.0f} ms "
          f"before, {statistics.median(during) * 1000:.0f} ms during")  # fmt: skip


def test_a_killed_rasa_process_is_replaced_while_the_other_answers(fault_stack: Stack) -> None:
    first, second = fault_stack.pid_of("rasa_0"), fault_stack.pid_of("rasa_1")
    started = fault_stack.log_path.read_text().count("Rasa server is up and running")
    os.kill(first, signal.SIGKILL)
    # Connections the killed process had accepted are reset with it (nginx retries them in the
    # scale profile); once it is gone, the kernel gives new ones to the other process only.
    psutil.Process(first).wait(timeout=10)
    question = "How is the APT funded?"
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(
            pool.map(lambda i: fault_stack.texts(f"survivor-{i}-{uuid.uuid4().hex}", question), range(12))
        )
    assert all(replies and replies[0].strip() for replies in answers)
    assert psutil.pid_exists(second)
    wait_for(lambda: fault_stack.pid_of("rasa_0") not in (0, first), 15, "a new Rasa process started")
    wait_for(
        lambda: fault_stack.log_path.read_text().count("Rasa server is up and running") > started,
        240,
        "the new Rasa process loaded its model",
    )
    assert "Rasa server process 0" not in fault_stack.log_path.read_text().split("gave up")[-1]
    assert fault_stack.launcher.poll() is None, "the launcher stopped"
