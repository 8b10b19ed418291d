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
Undo after they leave the page (:func:`undo_decision`).
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List

import sqlalchemy as sa

from review.misses import Message
from storage.schema import corrections, dismissals, events, staff_decisions

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
    connection: Any, action: str, intent: str, messages: List[Message], username: str
) -> Dict[str, Any]:
    """Record the decision on ``messages`` (the caller checked ``intent``); returns its undo
    record."""
    now = time.time()
    ids = [m.event_id for m in messages]
    if action == "dismiss":
        already = set(
            connection.execute(
                sa.select(dismissals.c.event_id).where(dismissals.c.event_id.in_(ids))
            ).scalars()
        )
        new = [m for m in messages if m.event_id not in already]
        if new:
            connection.execute(
                dismissals.insert(),
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
    replaced = connection.execute(sa.select(corrections).where(corrections.c.event_id.in_(ids))).all()
    previous = {str(row.event_id): {k: row._mapping[k] for k in _RESTORED} for row in replaced}
    connection.execute(corrections.delete().where(corrections.c.event_id.in_(ids)))
    connection.execute(
        corrections.insert(),
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


def undo(connection: Any, record: Dict[str, Any]) -> int:
    """Put back what the decision recorded in ``record`` changed; returns how many messages.
    A row another staff member wrote since is left alone."""
    ids = [int(i) for i in record.get("event_ids", [])]
    undone = restored = 0
    if ids:
        if record.get("kind") == "dismissal":
            table, by, at = dismissals, dismissals.c.dismissed_by, dismissals.c.dismissed_at
        else:
            table, by, at = corrections, corrections.c.created_by, corrections.c.created_at
        undone = connection.execute(
            table.delete().where(table.c.event_id.in_(ids), by == record["by"], at == record["at"])
        ).rowcount
    for event_id, row in (record.get("previous") or {}).items():
        taken = connection.execute(
            sa.select(corrections.c.id).where(corrections.c.event_id == int(event_id))
        ).first()
        message = connection.execute(
            sa.select(events.c.sender_id, events.c.data).where(events.c.id == int(event_id))
        ).first()
        if taken is None and message is not None:
            text = str(json.loads(message.data).get("text") or "")
            connection.execute(
                corrections.insert().values(
                    event_id=int(event_id), sender_id=message.sender_id, text=text, **row
                )
            )
            restored += 1
    # A removal wrote nothing: what it undid is what it put back.
    return max(int(undone), 0) if ids else restored


def remove_correction(connection: Any, correction_id: int, username: str) -> Dict[str, Any] | None:
    """Delete a correction; returns the record that puts it back (None if there is none)."""
    row = connection.execute(sa.select(corrections).where(corrections.c.id == correction_id)).first()
    if row is None:
        return None
    connection.execute(corrections.delete().where(corrections.c.id == correction_id))
    previous = {str(row.event_id): {k: row._mapping[k] for k in _RESTORED}}
    return {"kind": "removal", "event_ids": [], "by": username, "at": time.time(), "previous": previous}


def keep(connection: Any, username: str, summary: str, record: Dict[str, Any]) -> int:
    """Store a decision for the staff member's "Recent decisions"; returns its id. Decisions
    older than KEPT_DAYS are dropped on the way."""
    now = time.time()
    connection.execute(staff_decisions.delete().where(staff_decisions.c.made_at < now - KEPT_DAYS * 86400))
    result = connection.execute(
        staff_decisions.insert().values(
            username=username, made_at=now, summary=summary[:255], record=json.dumps(record)
        )
    )
    return int(result.inserted_primary_key[0])


def undo_decision(connection: Any, decision_id: int, username: str) -> str | None:
    """Undo one of ``username``'s decisions not undone yet; returns its summary, or None if
    there is no such decision."""
    row = connection.execute(
        sa.select(staff_decisions).where(
            staff_decisions.c.id == decision_id,
            staff_decisions.c.username == username,
            staff_decisions.c.undone_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    undo(connection, json.loads(row.record))
    connection.execute(
        staff_decisions.update().where(staff_decisions.c.id == decision_id).values(undone_at=time.time())
    )
    return str(row.summary)
