"""The stored events of the conversations a process handled last: what an outage reads.

While the database is down (:mod:`storage.outage`), the tracker store reads a conversation
from here plus its events waiting in the spool (:mod:`storage.waiting_turns`). The events are
kept as the database holds them (redacted), on every read and save, so nothing is kept here
that the database does not also hold.

Limit: this is per process, so a conversation last handled by another worker before the
outage is read during the outage without its earlier events (Rasa sees a new conversation;
nothing stored is lost or changed).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, List

RECENT_CONVERSATIONS = 512  # conversations whose stored events a process keeps for an outage


def since_session_start(rows: List[str]) -> List[str]:
    """The stored events (JSON) from the latest session start on, as Rasa's query reads them."""
    for index in range(len(rows) - 1, -1, -1):
        if '"session_started"' in rows[index] and json.loads(rows[index]).get("event") == "session_started":
            return rows[index:]
    return rows


@dataclass
class _Recent:
    rows: List[str]  # the stored events (JSON) since the session start
    length: int  # how many events the tracker has that these rows were read or saved with


class RecentConversations:
    """The stored events of the last ``size`` conversations (least recently used dropped)."""

    def __init__(self, size: int = RECENT_CONVERSATIONS) -> None:
        self._size = size
        self._entries: OrderedDict[str, _Recent] = OrderedDict()
        self._lock = threading.Lock()

    def _keep(self, sender_id: str, entry: _Recent) -> None:
        entry.rows = since_session_start(entry.rows)
        self._entries[sender_id] = entry
        self._entries.move_to_end(sender_id)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)

    def put(self, sender_id: str, rows: List[str]) -> None:
        """The conversation was read from the database: these are its stored events."""
        with self._lock:
            if rows:
                self._keep(sender_id, _Recent(list(rows), len(rows)))
            else:
                self._entries.pop(sender_id, None)

    def rows(self, sender_id: str) -> List[str]:
        with self._lock:
            entry = self._entries.get(sender_id)
            return list(entry.rows) if entry else []

    def saved(self, sender_id: str, stored_before: int, rows: List[str]) -> None:
        """A tracker that had ``stored_before`` events stored was saved with ``rows`` more."""
        with self._lock:
            entry = self._entries.get(sender_id)
            if entry is None and stored_before == 0:
                entry = _Recent([], 0)
            if entry is None or entry.length != stored_before:
                self._entries.pop(sender_id, None)  # read by another process meanwhile
                return
            self._keep(sender_id, _Recent(entry.rows + rows, entry.length + len(rows)))

    def flushed(self, sender_id: str, rows: List[str]) -> None:
        """Spooled events were written to the database."""
        with self._lock:
            entry = self._entries.get(sender_id)
            if entry is not None:
                self._keep(sender_id, _Recent(entry.rows + rows, entry.length + len(rows)))

    def scrub(self, sender_id: str, scrubbed: Callable[[str], str]) -> None:
        """Rewrite the conversation's events as ``scrubbed`` does (the database scrubbed them)."""
        with self._lock:
            entry = self._entries.get(sender_id)
            if entry is not None:
                entry.rows = [scrubbed(row) for row in entry.rows]

    def senders(self) -> List[str]:
        with self._lock:
            return list(self._entries)
