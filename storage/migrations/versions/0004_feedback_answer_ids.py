"""Feedback names the answer it is about by the answer's id, not by its place on the page.

``feedback.message_index`` was the answer's place among the assistant's messages as the widget
counted them, which drifted from the log (replies the edge sends are never stored, and a long
answer is shown as several messages). It becomes ``answer_id``: the id the response generator
now gives each answer and the stored bot event carries (``metadata.answer_id``).

Rows given before answers had ids keep the answer the workspace showed them on: the stored
bot message at that place among the conversation's shown bot messages, named ``event-<id>``
(its row in ``events``); a row whose place is past the conversation's last bot message (the
workspace showed it on none) is kept as ``index-<n>``, still counted in the conversation's
👍/👎. Downgrading turns every id back into a place the same way; a row whose answer is not
in the log any more (a conversation forgotten since) is dropped.

Revision ID: 0004
Revises: 0003
Created: 2026-12-07
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH = 500
EVENT_PREFIX = "event-"
INDEX_PREFIX = "index-"

events = sa.table(
    "events", sa.column("id"), sa.column("sender_id"), sa.column("type_name"), sa.column("data")
)
feedback = sa.table(
    "feedback", sa.column("id"), sa.column("sender_id"), sa.column("message_index"), sa.column("answer_id")
)


def _shown_answers(
    connection: sa.engine.Connection, sender_ids: List[str]
) -> Dict[str, List[Tuple[int, Any]]]:
    """Each conversation's bot messages the workspace counted (with text or buttons), in order:
    (event id, its metadata's answer id)."""
    found: Dict[str, List[Tuple[int, Any]]] = {sender: [] for sender in sender_ids}
    rows = connection.execute(
        sa.select(events.c.sender_id, events.c.id, events.c.data)
        .where(events.c.sender_id.in_(sender_ids), events.c.type_name == "bot")
        .order_by(events.c.sender_id, events.c.id)
    )
    for sender_id, event_id, data in rows:
        event = json.loads(data or "{}")
        if event.get("text") or (event.get("data") or {}).get("buttons"):
            found[sender_id].append((event_id, (event.get("metadata") or {}).get("answer_id")))
    return found


def _rows(connection: sa.engine.Connection) -> List[Any]:
    return list(connection.execute(sa.select(feedback).order_by(feedback.c.sender_id, feedback.c.id)))


def _by_batch(rows: List[Any]) -> List[List[Any]]:
    senders = sorted({row.sender_id for row in rows})
    batches = []
    for start in range(0, len(senders), BATCH):
        chosen = set(senders[start : start + BATCH])
        batches.append([row for row in rows if row.sender_id in chosen])
    return batches


def upgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answer_id", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    for rows in _by_batch(_rows(connection)):
        answers = _shown_answers(connection, sorted({row.sender_id for row in rows}))
        for row in rows:
            shown = answers[row.sender_id]
            index = int(row.message_index)
            named = f"{EVENT_PREFIX}{shown[index][0]}" if index < len(shown) else f"{INDEX_PREFIX}{index}"
            connection.execute(feedback.update().where(feedback.c.id == row.id).values(answer_id=named))
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_constraint("uq_feedback_sender_message", type_="unique")
        batch_op.drop_column("message_index")
        batch_op.alter_column("answer_id", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint("uq_feedback_sender_answer", ["sender_id", "answer_id"])


def _place(answer_id: str, shown: List[Tuple[int, Any]]) -> Optional[int]:
    """The place among the shown bot messages that ``answer_id`` names, if any."""
    if answer_id.startswith(INDEX_PREFIX) and answer_id[len(INDEX_PREFIX) :].isdigit():
        return int(answer_id[len(INDEX_PREFIX) :])
    for place, (event_id, minted) in enumerate(shown):
        if answer_id in (f"{EVENT_PREFIX}{event_id}", minted):
            return place
    return None


def downgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_index", sa.Integer(), nullable=True))
    connection = op.get_bind()
    for rows in _by_batch(_rows(connection)):
        answers = _shown_answers(connection, sorted({row.sender_id for row in rows}))
        for row in rows:
            place = _place(row.answer_id, answers[row.sender_id])
            if place is None:
                connection.execute(feedback.delete().where(feedback.c.id == row.id))
            else:
                connection.execute(
                    feedback.update().where(feedback.c.id == row.id).values(message_index=place)
                )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_constraint("uq_feedback_sender_answer", type_="unique")
        batch_op.drop_column("answer_id")
        batch_op.alter_column("message_index", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint("uq_feedback_sender_message", ["sender_id", "message_index"])
