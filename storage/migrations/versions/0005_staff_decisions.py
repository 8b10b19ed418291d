"""Staff decisions kept for Undo: the workspace's "Recent decisions" outlive the page.

A decision on the inbox or a transcript (a correction, out of scope, a dismissal) and a
correction removed from the Corrections page, each with what undoing it needs: event ids and
the corrections it replaced, never a visitor's text (review/decisions.py).

Revision ID: 0005
Revises: 0004
Created: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("made_at", sa.Float(), nullable=False),
        sa.Column("summary", sa.String(length=255), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("undone_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("staff_decisions", schema=None) as batch_op:
        batch_op.create_index("ix_staff_decisions_username_made_at", ["username", "made_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("staff_decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_staff_decisions_username_made_at")
    op.drop_table("staff_decisions")
