"""What staff decide about visitor messages the assistant missed, and how a decision is undone.

A decision covers one message (from a transcript) or a group of near duplicates (from the
inbox): *assign* the right intent, mark as *out of scope* (a correction to the intent
``out_of_scope``), or *dismiss* (nothing to learn; the message leaves the inbox). Corrections
keep the message's language: they become training data of that language. Removing a
correction on the Corrections page is a decision too (:func:`remove_correction`).

:func:`apply` returns what :func:`undo` needs to put things back as they were (a small
JSON-able record with no visitor text): the corrections it replaced are restored (their text
read again from the log), and only the rows this decision wrote are removed. :func:`keep`
stores the record in ``staff_decisions``, so that the staff member's "Recent decisions" offer
Undo after they leave the page (:func:`undo_decision`). The rows are written and read by
:mod:`storage.corrections` and :mod:`storage.reviews`, in the caller's transaction.
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List

from review.misses import Message
from storage import conversations, corrections, reviews
from storage.database import Connection

ACTIONS = {
    "assign": "assign the intent",
    "out_of_scope": "mark as out of scope",
    "dismiss": "dismiss",
}
OUT_OF_SCOPE = "out_of_scope"
# At most this many messages in one decision.
MAX_MESSAGES = 50
# Decisions older than this are forgotten (their Undo is long past).
KEPT_DAYS = 30

_RESTORED = ("intent", "predicted_intent", "created_by", "created_at", "language", "trained_at")


def apply(
    connection: Connection, action: str, intent: str, messages: List[Message], username: str
) -> Dict[str, Any]:
    """Record the decision on ``messages`` (the caller checked ``intent``); returns its undo
    record."""
    now = time.time()
    ids = [m.event_id for m in messages]
    if action == "dismiss":
        already = reviews.dismissed(connection, ids)
        new = [m for m in messages if m.event_id not in already]
        if new:
            reviews.add_dismissals(
                connection,
                [
                    {
                        "event_id": m.event_id,
                        "sender_id": m.sender_id,
                        "dismissed_by": username,
                        "dismissed_at": now,
                    }
                    for m in new
                ],
            )
        return {"kind": "dismissal", "event_ids": [m.event_id for m in new], "by": username, "at": now}
    chosen = OUT_OF_SCOPE if action == "out_of_scope" else intent
    replaced = corrections.of_messages(connection, ids)
    previous = {str(row["event_id"]): {k: row[k] for k in _RESTORED} for row in replaced}
    corrections.delete_of_messages(connection, ids)
    corrections.add_many(
        connection,
        [
            {
                "event_id": m.event_id,
                "sender_id": m.sender_id,
                "text": m.text,
                "predicted_intent": m.intent,
                "intent": chosen,
                "language": m.language,
                "created_by": username,
                "created_at": now,
            }
            for m in messages
        ],
    )
    return {"kind": "correction", "event_ids": ids, "by": username, "at": now, "previous": previous}


def undo(connection: Connection, record: Dict[str, Any]) -> int:
    """Put back what the decision recorded in ``record`` changed; returns how many messages.
    A row another staff member wrote since is left alone."""
    ids = [int(i) for i in record.get("event_ids", [])]
    undone = restored = 0
    if ids:
        remove = reviews.delete_dismissals if record.get("kind") == "dismissal" else corrections.delete_made
        undone = remove(connection, ids, record["by"], record["at"])
    for event_id, row in (record.get("previous") or {}).items():
        taken = corrections.is_corrected(connection, int(event_id))
        message = conversations.stored_event(connection, int(event_id))
        if not taken and message is not None:
            sender_id, data = message
            text = str(json.loads(data).get("text") or "")
            corrections.add(
                connection, {"event_id": int(event_id), "sender_id": sender_id, "text": text, **row}
            )
            restored += 1
    # A removal wrote nothing: what it undid is what it put back.
    return max(int(undone), 0) if ids else restored


def remove_correction(connection: Connection, correction_id: int, username: str) -> Dict[str, Any] | None:
    """Delete a correction; returns the record that puts it back (None if there is none)."""
    row = corrections.get(connection, correction_id)
    if row is None:
        return None
    corrections.delete(connection, correction_id)
    previous = {str(row["event_id"]): {k: row[k] for k in _RESTORED}}
    return {"kind": "removal", "event_ids": [], "by": username, "at": time.time(), "previous": previous}


def keep(connection: Connection, username: str, summary: str, record: Dict[str, Any]) -> int:
    """Store a decision for the staff member's "Recent decisions"; returns its id. Decisions
    older than KEPT_DAYS are dropped on the way."""
    now = time.time()
    reviews.forget_decisions(connection, now - KEPT_DAYS * 86400)
    return reviews.add_decision(connection, username, now, summary[:255], json.dumps(record))


def undo_decision(connection: Connection, decision_id: int, username: str) -> str | None:
    """Undo one of ``username``'s decisions not undone yet; returns its summary, or None if
    there is no such decision."""
    row = reviews.open_decision(connection, decision_id, username)
    if row is None:
        return None
    undo(connection, json.loads(row.record))
    reviews.mark_undone(connection, decision_id, time.time())
    return str(row.summary)
