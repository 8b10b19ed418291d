"""Every table of the project, on one ``MetaData``: the only place a table is declared.

Changing a table here needs a migration (``python -m storage.migrate revision -m "..."``,
see :mod:`storage.migrate`); a test checks that the migrations build exactly these tables,
on SQLite and PostgreSQL.

Tables that hold a conversation's data say so with ``info={"conversation_key": column}``:
retention (:mod:`storage.retention`) deletes a conversation from every such table, and
keeps the ones marked ``"kept_on_purge": True`` (enquiries) when it purges old conversations.
"""

from __future__ import annotations

from typing import List

import sqlalchemy as sa

metadata = sa.MetaData()

# -- the conversation log ----------------------------------------------------------------------

# Rasa's own SQL tracker store table (rasa.core.tracker_store.SQLTrackerStore.SQLEvent),
# declared with the same columns so that the staff workspace can read it and the migrations
# create it; Rasa only ever inserts into it.
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
    info={"conversation_key": "sender_id"},
)

# One row per conversation, written by storage.tracker_store on every save, so that the
# staff list of 100,000 conversations is a query on indexed columns, never a scan of events.
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
    # The visitor's first typed message (redacted, shortened): the list's title of the row.
    sa.Column("first_message", sa.Text),
    # The lowest, over the visitor's messages, of the confidence of the model's own best guess
    # (the best intent other than nlu_fallback, which the FallbackClassifier always records at
    # its threshold): what the workspace's confidence filter reads.
    sa.Column("best_guess_confidence", sa.Float, index=True),
    sa.Column("nlu_fallback_count", sa.Integer, nullable=False, default=0, server_default="0"),
    # Second-chance offers the visitor answered with "None of these".
    sa.Column("none_of_these_count", sa.Integer, nullable=False, default=0, server_default="0"),
    # How far the funding conversation went (storage.summary.FUNDING_STEPS; 0: not offered).
    sa.Column("funding_step", sa.Integer, nullable=False, default=0, server_default="0"),
    # Typed visitor messages per language, and how many of them were understood (JSON:
    # {"en": [messages, understood], ...}); for the insights.
    sa.Column("language_counts", sa.Text),
    # The visitor's language at the conversation's last message (the slot ``language``).
    sa.Column("language", sa.String(8)),
    # The list is ordered newest first and paged by (last_active_at, sender_id).
    sa.Index("ix_conversation_summaries_recent", "last_active_at", "sender_id"),
    info={"conversation_key": "sender_id"},
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
    info={"conversation_key": "sender_id"},
)

SUMMARY_MAX_SEARCH_TEXT = 20_000

# -- feedback from the widget (server/channels/socketio_origins.py, storage/feedback.py) ------------------

# "Was this helpful?" on an answer in the widget: one row per (conversation, answer), the
# visitor's latest choice. ``answer_id`` names the answer: the id the response generator gave
# it (language/answers.py), which its stored bot event carries as ``metadata.answer_id``; or,
# for feedback given before answers had ids, ``event-<id>``, the row of ``events`` it was read
# as (migration 0004).
FEEDBACK_VALUES = ("up", "down")
feedback = sa.Table(
    "feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("answer_id", sa.String(64), nullable=False),
    sa.Column("value", sa.String(8), nullable=False, index=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("sender_id", "answer_id", name="uq_feedback_sender_answer"),
    info={"conversation_key": "sender_id"},
)

# -- funding enquiries (storage.enquiries) -----------------------------------------------------

# Only enquiries the visitor consented to pass on; a record of its own, kept when old
# conversations are purged, deleted when the visitor asks to be forgotten.
enquiries = sa.Table(
    "funding_enquiries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.String(32), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("organisation_type", sa.String(64), nullable=False),
    sa.Column("country_iso3", sa.String(3), nullable=False),
    sa.Column("country", sa.String(255), nullable=False),
    sa.Column("work_area", sa.String(64), nullable=False),
    sa.Column("fit", sa.String(16), nullable=False),
    sa.Column("organisation_name", sa.String(200), nullable=False),
    sa.Column("email", sa.String(254), nullable=False),
    sa.Column("consent", sa.Boolean, nullable=False),
    sa.Column("consent_at", sa.String(32), nullable=False),
    info={"conversation_key": "conversation_id", "kept_on_purge": True},
)

# -- the staff workspace (review/) -------------------------------------------------------------

staff_users = sa.Table(
    "staff_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    # STAFF_ROLES: a reviewer reads and corrects; a trainer may also put a retrained model live.
    sa.Column("role", sa.String(16), nullable=False, default="reviewer", server_default="reviewer"),
)
STAFF_ROLES = ("reviewer", "trainer")

login_failures = sa.Table(
    "staff_login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("address", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("ix_staff_login_failures_username", "username", "at"),
    sa.Index("ix_staff_login_failures_address", "address", "at"),
)

reviews = sa.Table(
    "conversation_reviews",
    metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("reviewed", sa.Boolean, nullable=False, default=False),
    sa.Column("reviewed_by", sa.String(64)),
    sa.Column("reviewed_at", sa.Float),
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("note_by", sa.String(64)),
    sa.Column("note_at", sa.Float),
    info={"conversation_key": "sender_id"},
)

corrections = sa.Table(
    "nlu_corrections",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Integer, nullable=False, unique=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("predicted_intent", sa.String(255)),
    sa.Column("intent", sa.String(255), nullable=False),
    sa.Column("created_by", sa.String(64), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    # The visitor's language when they wrote the message (en, fr, es): corrections are
    # training data of that language.
    sa.Column("language", sa.String(8), nullable=False, default="en", server_default="en"),
    # Set by the retrain pipeline once the correction is in the training data of a model put live.
    sa.Column("trained_at", sa.Float),
    info={"conversation_key": "sender_id"},
)

# A missed message (review.inbox) staff decided needs nothing: it leaves the inbox.
dismissals = sa.Table(
    "inbox_dismissals",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.Integer, nullable=False, unique=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("dismissed_by", sa.String(64), nullable=False),
    sa.Column("dismissed_at", sa.Float, nullable=False),
    info={"conversation_key": "sender_id"},
)

# Staff's own labels on conversations ("to discuss", "new country"), one row per tag.
tags = sa.Table(
    "conversation_tags",
    metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("tag", sa.String(64), primary_key=True),
    sa.Column("tagged_by", sa.String(64), nullable=False),
    sa.Column("tagged_at", sa.Float, nullable=False),
    sa.Index("ix_conversation_tags_tag", "tag", "sender_id"),
    info={"conversation_key": "sender_id"},
)

# What a staff member decided (a correction, out of scope, a dismissal, a correction removed),
# with what undoing it needs (review/decisions.py: event ids and the rows it replaced, never a
# visitor's text), so that "Recent decisions" offers Undo after the page is left.
staff_decisions = sa.Table(
    "staff_decisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("made_at", sa.Float, nullable=False),
    sa.Column("summary", sa.String(255), nullable=False),
    sa.Column("record", sa.Text, nullable=False),
    sa.Column("undone_at", sa.Float),
    sa.Index("ix_staff_decisions_username_made_at", "username", "made_at"),
)

# A staff member's named filters of the conversation list (the list's query string).
saved_filters = sa.Table(
    "saved_filters",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.UniqueConstraint("username", "name", name="uq_saved_filters_username_name"),
)


def conversation_columns(include_kept: bool) -> List[sa.Column]:
    """The column naming the conversation in every table that holds a conversation's data
    (with ``include_kept``, also in the tables kept when old conversations are purged)."""
    return [
        table.c[table.info["conversation_key"]]
        for table in metadata.sorted_tables
        if "conversation_key" in table.info and (include_kept or not table.info.get("kept_on_purge"))
    ]
