"""The inbox of missed messages, staff roles, languages of corrections, tags, saved filters.

Adds to ``conversation_summaries`` what the workspace's list, inbox and insights read (the
first message, the model's own best-guess confidence, fallbacks and "None of these" answers,
the funding step reached, messages per language), filled for the conversations already
stored by summarising their events again; to ``nlu_corrections`` the visitor's language
(found the same way) and when the correction reached a live model; to ``staff_users`` a role
(existing accounts are reviewers). New tables: inbox dismissals, conversation tags, saved
filters.

Revision ID: 0003
Revises: 0002
Created: 2026-12-09
"""

from __future__ import annotations

import json
from typing import Dict, List

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

BATCH = 500
SUMMARY_COLUMNS = (
    "first_message", "best_guess_confidence", "nlu_fallback_count", "none_of_these_count",
    "funding_step", "language_counts", "language",
)  # fmt: skip


def upgrade() -> None:
    with op.batch_alter_table("conversation_summaries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_message", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("best_guess_confidence", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("nlu_fallback_count", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("none_of_these_count", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("funding_step", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("language_counts", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_conversation_summaries_best_guess_confidence"),
            ["best_guess_confidence"],
            unique=False,
        )
    with op.batch_alter_table("nlu_corrections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), server_default="en", nullable=False))
        batch_op.add_column(sa.Column("trained_at", sa.Float(), nullable=True))
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role", sa.String(length=16), server_default="reviewer", nullable=False)
        )

    op.create_table(
        "inbox_dismissals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("dismissed_by", sa.String(length=64), nullable=False),
        sa.Column("dismissed_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    with op.batch_alter_table("inbox_dismissals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbox_dismissals_sender_id"), ["sender_id"], unique=False)
    op.create_table(
        "conversation_tags",
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("tag", sa.String(length=64), nullable=False),
        sa.Column("tagged_by", sa.String(length=64), nullable=False),
        sa.Column("tagged_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("sender_id", "tag"),
    )
    with op.batch_alter_table("conversation_tags", schema=None) as batch_op:
        batch_op.create_index("ix_conversation_tags_tag", ["tag", "sender_id"], unique=False)
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username", "name", name="uq_saved_filters_username_name"),
    )
    _summarise_stored_conversations(op.get_bind())


def _summarise_stored_conversations(connection: sa.engine.Connection) -> None:
    """Fill the new summary columns, and the languages of corrections, from the stored events,
    ``BATCH`` conversations at a time."""
    from storage.summary import message_languages, summarise

    events = sa.table("events", sa.column("id"), sa.column("sender_id"), sa.column("data"))
    summaries = sa.table(
        "conversation_summaries", sa.column("sender_id"), *(sa.column(c) for c in SUMMARY_COLUMNS)
    )
    corrections = sa.table("nlu_corrections", sa.column("event_id"), sa.column("language"))
    corrected = set(connection.execute(sa.select(corrections.c.event_id)).scalars())
    sender_ids = list(connection.execute(sa.select(summaries.c.sender_id)).scalars())
    for start in range(0, len(sender_ids), BATCH):
        by_sender: Dict[str, List[tuple]] = {}
        rows = connection.execute(
            sa.select(events.c.sender_id, events.c.id, events.c.data)
            .where(events.c.sender_id.in_(sender_ids[start : start + BATCH]))
            .order_by(events.c.sender_id, events.c.id)
        )
        for sender_id, event_id, data in rows:
            by_sender.setdefault(sender_id, []).append((event_id, json.loads(data or "{}")))
        for sender_id, stored in by_sender.items():
            decoded = [data for _, data in stored]
            row = summarise(sender_id, decoded).row()
            connection.execute(
                summaries.update()
                .where(summaries.c.sender_id == sender_id)
                .values(**{column: row[column] for column in SUMMARY_COLUMNS})
            )
            for position, language in message_languages(decoded).items():
                if stored[position][0] in corrected:
                    connection.execute(
                        corrections.update()
                        .where(corrections.c.event_id == stored[position][0])
                        .values(language=language)
                    )


def downgrade() -> None:
    op.drop_table("saved_filters")
    with op.batch_alter_table("conversation_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_tags_tag")
    op.drop_table("conversation_tags")
    with op.batch_alter_table("inbox_dismissals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbox_dismissals_sender_id"))
    op.drop_table("inbox_dismissals")
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("role")
    with op.batch_alter_table("nlu_corrections", schema=None) as batch_op:
        batch_op.drop_column("trained_at")
        batch_op.drop_column("language")
    with op.batch_alter_table("conversation_summaries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_summaries_best_guess_confidence"))
        for column in reversed(SUMMARY_COLUMNS):
            batch_op.drop_column(column)
