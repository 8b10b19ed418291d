"""A new model goes live on a running stack without losing a message: 8 conversations talk to
the real stack over HTTP in a loop while ``python -m supervision swap --changed`` (what
``make train`` runs) replaces its two Rasa processes one at a time (supervision/swap.py).
Every message is answered, none stalls, and every turn is stored exactly once.

How fast the replies stay during a swap (the aim: none over 2 s) is printed, not asserted: on a
2-core machine that runs the rest of the test suite, a reply's time says more about the machine
than about the swap (replies of up to 3.7 s in a 118 s swap under the suite's load, 2026-12-07).
What the test asserts is what no load excuses: no error, no lost or doubled turn, and no reply
stalled behind a process that stopped accepting (``STALLED_S``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
import requests

from apt_settings import ROOT
from tests.support.databases import stored_events
from tests.support.stacks import Stack, running_stack

CONVERSATIONS = 8
STALLED_S = 10.0  # replies stuck behind a stopping process took up to 14.6 s (docs/deployment.md)
SCRIPT = [
    "hello",
    "what is the OPCAT?",
    "do you work in Kenya?",
    "how do you choose your partners?",
    "thanks",
]


@pytest.fixture(scope="module")
def swap_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[Stack, Path]]:
    """A stack of its own on a copy of the model, so that the swap touches no other stack."""
    base = tmp_path_factory.mktemp("swap")
    model = base / "models" / "apt.tar.gz"
    model.parent.mkdir()
    shutil.copy2(trained_model, model)
    with running_stack(model, f"sqlite:///{base / 'apt.db'}", base / "stack.log") as stack:
        yield stack, model


class Conversations:
    """``CONVERSATIONS`` visitors, each sending the script in a loop until stopped, each turn
    on a fresh connection (as the REST channel closes them)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sent: Dict[str, List[str]] = {}
        self.replies: List[Tuple[str, float, float]] = []  # (sender, sent at, seconds)
        self.errors: List[str] = []
        self.running = True
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._talk, args=(i,)) for i in range(CONVERSATIONS)]
        for thread in self.threads:
            thread.start()

    def _talk(self, number: int) -> None:
        sender = f"swap-visitor-{number}-{os.getpid()}"
        self.sent[sender] = []
        turn = 0
        while self.running:
            text = SCRIPT[turn % len(SCRIPT)]
            turn += 1
            started = time.monotonic()
            try:
                response = requests.post(
                    f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=30
                )
                seconds = time.monotonic() - started
                with self.lock:
                    self.sent[sender].append(text)
                    if response.status_code != 200 or not response.json():
                        self.errors.append(f"{sender} {text!r}: {response.status_code} {response.text[:200]}")
                    self.replies.append((sender, started, seconds))
            except requests.RequestException as error:
                with self.lock:
                    self.sent[sender].append(text)  # it may have reached Rasa
                    self.errors.append(f"{sender} {text!r}: {error}")

    def stop(self) -> None:
        self.running = False
        for thread in self.threads:
            thread.join()


def test_a_new_model_goes_live_without_an_error_a_slow_reply_or_a_lost_turn(
    swap_stack: Tuple[Stack, Path],
) -> None:
    stack, model = swap_stack
    before = sorted(stack.rasa_pids())
    assert len(before) == 2
    talk = Conversations(stack.url)
    try:
        time.sleep(3)
        os.utime(model)  # a new model, as `make train` writes it
        swap_started = time.monotonic()
        swapped = subprocess.run(
            [sys.executable, "-m", "supervision", "swap", "--changed"],
            cwd=ROOT,
            env={**os.environ, "APT_RASA_PORT": stack.url.rsplit(":", 1)[1], "APT_MODEL": str(model)},
            capture_output=True,
            text=True,
            timeout=600,
        )
        swap_ended = time.monotonic()
        time.sleep(3)
    finally:
        talk.stop()
    assert swapped.returncode == 0, swapped.stdout + swapped.stderr
    assert "2 Rasa processes now load apt.tar.gz" in swapped.stdout, swapped.stdout
    after = sorted(stack.rasa_pids())
    assert len(after) == 2 and not set(after) & set(before), (before, after)
    # loaded at a low priority, serving at the stack's (server/patches/loading_priority.py)
    assert {os.getpriority(os.PRIO_PROCESS, pid) for pid in after} == {os.getpriority(os.PRIO_PROCESS, 0)}

    assert not talk.errors, talk.errors[:10]
    assert sum(len(texts) for texts in talk.sent.values()) >= 8 * len(
        SCRIPT
    ), "the talk went on through the swap"
    slowest = max(seconds for _, _, seconds in talk.replies)
    turns = sum(len(texts) for texts in talk.sent.values())
    slow = [f"{at - swap_started:+.1f} s: {seconds:.2f} s" for _, at, seconds in talk.replies if seconds > 1]
    ordered = sorted(seconds for _, _, seconds in talk.replies)
    print(
        f"\nswap: {turns} turns, median reply {ordered[len(ordered) // 2]:.2f} s,"
        f" p95 {ordered[int(len(ordered) * 0.95)]:.2f} s, slowest reply {slowest:.2f} s, the swap took"
        f" {swap_ended - swap_started:.1f} s; replies over 1 s (sent at, from the swap's start): {slow}"
        f"\n{swapped.stdout.strip()}"
    )
    for sender, texts in talk.sent.items():
        stored = [e["text"] for e in stored_events(stack.database_url, sender) if e["event"] == "user"]
        assert stored == texts, f"{sender}: stored {len(stored)} user turns for {len(texts)} sent"
    assert slowest < STALLED_S, f"a reply took {slowest:.2f} s: stalled"
