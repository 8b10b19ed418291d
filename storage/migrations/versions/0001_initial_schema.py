"""The schema as it was when migrations were introduced.

A database created before then (by the project's earlier ``create_all`` calls) already has
some or all of these tables: each one that exists is adopted as it is, so upgrading such a
database loses nothing.

Revision ID: 0001
Revises:
Created: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _exists(table: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(table)


def upgrade() -> None:
    if not _exists("conversation_facets"):
        op.create_table(
            "conversation_facets",
            sa.Column("sender_id", sa.String(length=255), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("value", sa.String(length=255), nullable=False),
            sa.Column("count", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("sender_id", "kind", "value"),
        )
        with op.batch_alter_table("conversation_facets", schema=None) as batch_op:
            batch_op.create_index(
                "ix_conversation_facets_kind_value", ["kind", "value", "sender_id"], unique=False
            )

    if not _exists("conversation_reviews"):
        op.create_table(
            "conversation_reviews",
            sa.Column("sender_id", sa.String(length=255), nullable=False),
            sa.Column("reviewed", sa.Boolean(), nullable=False),
            sa.Column("reviewed_by", sa.String(length=64), nullable=True),
            sa.Column("reviewed_at", sa.Float(), nullable=True),
            sa.Column("note", sa.Text(), nullable=False),
            sa.Column("note_by", sa.String(length=64), nullable=True),
            sa.Column("note_at", sa.Float(), nullable=True),
            sa.PrimaryKeyConstraint("sender_id"),
        )

    if not _exists("conversation_summaries"):
        op.create_table(
            "conversation_summaries",
            sa.Column("sender_id", sa.String(length=255), nullable=False),
            sa.Column("started_at", sa.Float(), nullable=False),
            sa.Column("last_active_at", sa.Float(), nullable=False),
            sa.Column("channel", sa.String(length=64), nullable=False),
            sa.Column("user_messages", sa.Integer(), nullable=False),
            sa.Column("bot_messages", sa.Integer(), nullable=False),
            sa.Column("fallback_count", sa.Integer(), nullable=False),
            sa.Column("lowest_confidence", sa.Float(), nullable=True),
            sa.Column("disclosure", sa.Boolean(), nullable=False),
            sa.Column("funding_enquiry", sa.Boolean(), nullable=False),
            sa.Column("search_text", sa.Text(), nullable=False),
            sa.PrimaryKeyConstraint("sender_id"),
        )
        with op.batch_alter_table("conversation_summaries", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_conversation_summaries_disclosure"), ["disclosure"], unique=False
            )
            batch_op.create_index(
                batch_op.f("ix_conversation_summaries_funding_enquiry"), ["funding_enquiry"], unique=False
            )
            batch_op.create_index(
                batch_op.f("ix_conversation_summaries_lowest_confidence"), ["lowest_confidence"], unique=False
            )
            batch_op.create_index(
                "ix_conversation_summaries_recent", ["last_active_at", "sender_id"], unique=False
            )
            batch_op.create_index(
                batch_op.f("ix_conversation_summaries_started_at"), ["started_at"], unique=False
            )

    if not _exists("events"):
        op.create_table(
            "events",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("sender_id", sa.String(length=255), nullable=False),
            sa.Column("type_name", sa.String(length=255), nullable=False),
            sa.Column("timestamp", sa.Float(), nullable=True),
            sa.Column("intent_name", sa.String(length=255), nullable=True),
            sa.Column("action_name", sa.String(length=255), nullable=True),
            sa.Column("data", sa.Text(), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("events", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_events_sender_id"), ["sender_id"], unique=False)

    if not _exists("funding_enquiries"):
        op.create_table(
            "funding_enquiries",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("created_at", sa.String(length=32), nullable=False),
            sa.Column("conversation_id", sa.String(length=255), nullable=False),
            sa.Column("organisation_type", sa.String(length=64), nullable=False),
            sa.Column("country_iso3", sa.String(length=3), nullable=False),
            sa.Column("country", sa.String(length=255), nullable=False),
            sa.Column("work_area", sa.String(length=64), nullable=False),
            sa.Column("fit", sa.String(length=16), nullable=False),
            sa.Column("organisation_name", sa.String(length=200), nullable=False),
            sa.Column("email", sa.String(length=254), nullable=False),
            sa.Column("consent", sa.Boolean(), nullable=False),
            sa.Column("consent_at", sa.String(length=32), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("funding_enquiries", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_funding_enquiries_conversation_id"), ["conversation_id"], unique=False
            )
            batch_op.create_index(batch_op.f("ix_funding_enquiries_created_at"), ["created_at"], unique=False)

    if not _exists("nlu_corrections"):
        op.create_table(
            "nlu_corrections",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("event_id", sa.Integer(), nullable=False),
            sa.Column("sender_id", sa.String(length=255), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("predicted_intent", sa.String(length=255), nullable=True),
            sa.Column("intent", sa.String(length=255), nullable=False),
            sa.Column("created_by", sa.String(length=64), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("event_id"),
        )
        with op.batch_alter_table("nlu_corrections", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_nlu_corrections_sender_id"), ["sender_id"], unique=False)

    if not _exists("staff_login_failures"):
        op.create_table(
            "staff_login_failures",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("username", sa.String(length=64), nullable=False),
            sa.Column("address", sa.String(length=64), nullable=False),
            sa.Column("at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("staff_login_failures", schema=None) as batch_op:
            batch_op.create_index("ix_staff_login_failures_address", ["address", "at"], unique=False)
            batch_op.create_index("ix_staff_login_failures_username", ["username", "at"], unique=False)

    if not _exists("staff_users"):
        op.create_table(
            "staff_users",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("username", sa.String(length=64), nullable=False),
            sa.Column("password_hash", sa.String(length=255), nullable=False),
            sa.Column("created_at", sa.Float(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("username"),
        )


def downgrade() -> None:
    op.drop_table("staff_users")
    with op.batch_alter_table("staff_login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_login_failures_username")
        batch_op.drop_index("ix_staff_login_failures_address")

    op.drop_table("staff_login_failures")
    with op.batch_alter_table("nlu_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nlu_corrections_sender_id"))

    op.drop_table("nlu_corrections")
    with op.batch_alter_table("funding_enquiries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_funding_enquiries_created_at"))
        batch_op.drop_index(batch_op.f("ix_funding_enquiries_conversation_id"))

    op.drop_table("funding_enquiries")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_sender_id"))

    op.drop_table("events")
    with op.batch_alter_table("conversation_summaries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversation_summaries_started_at"))
        batch_op.drop_index("ix_conversation_summaries_recent")
        batch_op.drop_index(batch_op.f("ix_conversation_summaries_lowest_confidence"))
        batch_op.drop_index(batch_op.f("ix_conversation_summaries_funding_enquiry"))
        batch_op.drop_index(batch_op.f("ix_conversation_summaries_disclosure"))

    op.drop_table("conversation_summaries")
    op.drop_table("conversation_reviews")
    with op.batch_alter_table("conversation_facets", schema=None) as batch_op:
        batch_op.drop_index("ix_conversation_facets_kind_value")

    op.drop_table("conversation_facets")
