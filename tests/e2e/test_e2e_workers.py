"""The Rasa server as several processes on one port (APT_RASA_WORKERS, 2 by default): both
answer, and the messages of one conversation never overlap, whichever process gets them."""

from __future__ import annotations

import json
import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List

import psutil
import requests

from tests.support.stacks import Stack


def rasa_processes(stack: Stack) -> List[psutil.Process]:
    port = stack.url.rsplit(":", 1)[1]
    found = []
    for process in psutil.process_iter(["cmdline"]):
        command = process.info["cmdline"] or []
        if any(part.endswith("rasa_server.py") for part in command) and port in command:
            found.append(process)
    return found


def test_two_rasa_workers_serve_the_port(stack: Stack) -> None:
    """Two separate processes, each a program of the supervisor, each listening on the port
    itself (server/patches/shared_port.py), each holding the model."""
    port = int(stack.url.rsplit(":", 1)[1])
    processes = rasa_processes(stack)
    assert len(processes) == 2, processes
    assert sorted(p.pid for p in processes) == sorted(stack.pid_of(name) for name in ("rasa_0", "rasa_1"))
    for process in processes:
        assert not process.children(), "a Rasa process runs no Sanic workers of its own"
        listening = [c for c in process.net_connections("tcp") if c.status == psutil.CONN_LISTEN]
        assert [c.laddr.port for c in listening] == [port], listening
        assert process.memory_info().rss > 500 * 2**20  # it loaded the model


def test_follow_ups_work_whichever_worker_answers(stack: Stack) -> None:
    sender = f"workers-{uuid.uuid4().hex}"
    assert "Kenya" in "\n".join(stack.texts(sender, "do you work in Kenya?"))
    for country in ["Uganda", "Peru", "Nepal", "Kenya", "Uganda", "Peru"]:
        assert country in "\n".join(stack.texts(sender, f"and {country}?"))


def test_simultaneous_messages_of_one_conversation_are_handled_in_turn(stack: Stack) -> None:
    sender = f"workers-{uuid.uuid4().hex}"
    countries = ["Kenya", "Peru", "Nepal", "Chile", "Ghana", "Togo", "Mali", "Chad"]
    messages = [f"do you work in {country}?" for country in countries]
    with ThreadPoolExecutor(max_workers=len(messages)) as pool:
        replies = list(pool.map(lambda text: stack.send(sender, text), messages))
    assert all(replies)
    with sqlite3.connect(stack.database_file) as connection:
        rows = connection.execute(
            "SELECT type_name, data FROM events WHERE sender_id = ? ORDER BY id", (sender,)
        ).fetchall()
    events = [(kind, json.loads(data)) for kind, data in rows]
    users = [i for i, (kind, _) in enumerate(events) if kind == "user"]
    assert len(users) == len(messages)
    for start, end in zip(users, users[1:] + [len(events)], strict=True):
        turn = events[start + 1 : end]
        # Each message's turn is whole: its answer, then listening, before the next message.
        assert [kind for kind, _ in turn].count("user") == 0
        assert any(kind == "bot" for kind, _ in turn), turn
        assert turn[-1][0] == "action" and turn[-1][1]["name"] == "action_listen", turn


def test_each_request_is_free_to_reach_either_worker(stack: Stack) -> None:
    """No keep-alive: a client's connection does not tie it to one worker."""
    message = {"sender": "workers-keepalive", "message": "hello"}
    response = requests.post(f"{stack.url}/webhooks/rest/webhook", json=message, timeout=60)
    assert response.status_code == 200 and response.json()
    assert response.headers.get("connection", "").lower() == "close"


def test_the_action_server_holds_no_tensorflow(stack: Stack) -> None:
    """The actions need spaCy's tokenizer and matcher only (scripts/action_server.py keeps
    TensorFlow out): measured at about 160 MB instead of about 520 MB."""
    [server] = [
        child
        for child in psutil.Process(stack.launcher.pid).children(recursive=True)
        if any("action_server.py" in part for part in child.cmdline())
    ]
    assert stack.texts(f"actions-{uuid.uuid4().hex}", "Do you work in Kenya?")  # an action ran
    libraries = Path(f"/proc/{server.pid}/maps").read_text()
    assert "tensorflow" not in libraries
    assert server.memory_info().rss < 250 * 1024 * 1024, server.memory_info().rss / 2**20
