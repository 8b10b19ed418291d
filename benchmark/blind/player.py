"""Plays the set's conversations over HTTP as the widget would, and reads what the assistant
did from the stored conversation.

Each conversation gets a fresh sender id. First the widget's session start, ``/greet`` with
the page's language as metadata (not scored), then each turn, with the page's language in
the metadata as the widget sends it with every message. After each request, the
conversation's new events are read from the stack's database (Rasa's ``events`` table, as
the staff workspace reads it: :func:`storage.conversations.events_after`): they name each
response and its variables, which the REST replies do not. The REST replies are kept as what the visitor read.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import requests

from benchmark.blind.blindset import Conversation, Turn
from benchmark.blind.judge import describe, judge
from benchmark.blind.names import Names
from benchmark.blind.replies import Transcript, Wording
from storage.conversations import events_after

SESSION_START = "/greet"
# The REST channel answers after Rasa saved the turn; a short wait covers a slow disk.
EVENTS_WAIT_S = 3.0


@dataclass
class Stack:
    """Where the assistant answers and where it stores conversations."""

    url: str
    database_url: str


class Player:
    def __init__(self, stack: Stack, names: Names, wording: Wording, timeout: float = 60.0) -> None:
        self.stack = stack
        self.names = names
        self.wording = wording
        self.timeout = timeout
        self.run = uuid.uuid4().hex[:8]
        self._local = threading.local()  # a requests session per thread: they are not shared

    def _session(self) -> requests.Session:
        if not hasattr(self._local, "session"):
            self._local.session = requests.Session()
        return self._local.session

    def send(self, sender: str, text: str, page: str) -> List[Dict[str, Any]]:
        response = self._session().post(
            f"{self.stack.url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text, "metadata": {"language": page}},
            timeout=self.timeout,
        )
        response.raise_for_status()
        return list(response.json())

    def _new_events(self, sender: str, after: int, replies: int) -> List[Tuple[int, Dict[str, Any]]]:
        """The turn's stored events, waiting briefly until there is a bot event per reply."""
        deadline = time.monotonic() + EVENTS_WAIT_S
        while True:
            events = events_after(self.stack.database_url, sender, after)
            bots = sum(1 for _, event in events if event.get("event") == "bot")
            if bots >= replies or time.monotonic() > deadline:
                return events
            time.sleep(0.1)

    def play(self, conversation: Conversation, kinds: Optional[Sequence[str]] = None) -> List[Dict[str, Any]]:
        """Every turn played; the results of the turns of ``kinds`` (all when None)."""
        sender = f"blind-{self.run}-{conversation.id}"
        transcript = Transcript(self.names, self.wording)
        last = 0
        try:
            rest = self.send(sender, SESSION_START, conversation.page)
            events = self._new_events(sender, last, len(rest))
            last = events[-1][0] if events else last
            transcript.read([event for _, event in events])
        except (requests.RequestException, ValueError) as failure:
            return [
                self._failed(conversation, turn, f"session start: {failure}")
                for turn in conversation.turns
                if kinds is None or turn.kind in kinds
            ]
        results = []
        for turn in conversation.turns:
            try:
                rest = self.send(sender, turn.say, conversation.page)
            except (requests.RequestException, ValueError) as failure:
                result = self._failed(conversation, turn, str(failure))
            else:
                events = self._new_events(sender, last, len(rest))
                last = events[-1][0] if events else last
                replies = transcript.read([event for _, event in events])
                texts = [str(message.get("text") or "") for message in rest]
                verdict = judge(turn, replies, texts, self.names)
                result = {
                    **self._head(conversation, turn),
                    **verdict.to_dict(),
                    "replies": [reply.to_dict() for reply in replies],
                    "rest_replies": len(rest),
                }
            if kinds is None or turn.kind in kinds:
                results.append(result)
        return results

    @staticmethod
    def _head(conversation: Conversation, turn: Turn) -> Dict[str, Any]:
        return {
            "id": turn.id,
            "conversation": conversation.id,
            "turn": turn.number,
            "language": conversation.language,
            "page": conversation.page,
            "kind": turn.kind,
            "said": turn.say,
            "expected": [describe(item) for item in turn.expect],
            "reply_language": turn.reply_language,
            "clear": turn.clear,
        }

    def _failed(self, conversation: Conversation, turn: Turn, error: str) -> Dict[str, Any]:
        return {
            **self._head(conversation, turn),
            "right": False,
            "found": [],
            "reasons": [f"error: {error}"],
            "miss": "error",
            "second_chance": False,
            "answered": False,
            "flagged": [],
            "replies": [],
            "rest_replies": 0,
        }
