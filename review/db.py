"""The workspace's own tables, and the database connection of the app.

The conversation log's tables belong to :mod:`storage`; these hold what staff add.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.engine import Engine

from storage import schema
from storage.database import engine_for

metadata = sa.MetaData()

staff_users = sa.Table(
    "staff_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

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
)


def create_tables(engine: Engine) -> None:
    """The log's tables too, so the workspace also starts on an empty database."""
    schema.create_tables(engine)
    metadata.create_all(engine)


def engine() -> Engine:
    return engine_for(current_app.config["DATABASE_URL"])


def connect() -> Any:
    return engine().connect()


def begin() -> Any:
    return engine().begin()


def init_app(app: Flask) -> None:
    create_tables(engine_for(app.config["DATABASE_URL"]))
