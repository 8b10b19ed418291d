"""Tables of the conversation log.

``events`` is Rasa's own SQL tracker store table (declared here with the same columns so the
staff workspace can read it, and tests can create it, without Rasa). The summary tables are
written by :mod:`storage.tracker_store` on every save, so the staff list of 100,000
conversations is a query on indexed columns, never a scan of every event.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)

summaries = sa.Table(
    "conversation_summaries",
    metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("started_at", sa.Float, nullable=False, index=True),
    sa.Column("last_active_at", sa.Float, nullable=False),
    sa.Column("channel", sa.String(64), nullable=False, default=""),
    sa.Column("user_messages", sa.Integer, nullable=False, default=0),
    sa.Column("bot_messages", sa.Integer, nullable=False, default=0),
    sa.Column("fallback_count", sa.Integer, nullable=False, default=0),
    sa.Column("lowest_confidence", sa.Float, index=True),
    sa.Column("disclosure", sa.Boolean, nullable=False, default=False, index=True),
    sa.Column("funding_enquiry", sa.Boolean, nullable=False, default=False, index=True),
    # Lower-cased, redacted visitor text, for the staff search box.
    sa.Column("search_text", sa.Text, nullable=False, default=""),
    # The list is ordered newest first and paged by (last_active_at, sender_id).
    sa.Index("ix_conversation_summaries_recent", "last_active_at", "sender_id"),
)

# What a conversation touched, one row per (conversation, kind, value): kind "intent" (the
# visitor's predicted intents) or "country" (countries the assistant answered about).
facets = sa.Table(
    "conversation_facets",
    metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("value", sa.String(255), primary_key=True),
    sa.Column("count", sa.Integer, nullable=False, default=0),
    sa.Index("ix_conversation_facets_kind_value", "kind", "value", "sender_id"),
)

SUMMARY_MAX_SEARCH_TEXT = 20_000


def create_tables(engine: sa.engine.Engine) -> None:
    metadata.create_all(engine)
