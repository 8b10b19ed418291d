"""The workspace's connection to the project's database.

Its tables (staff accounts, login failures, review marks and notes, corrections) are
declared with every other table in :mod:`storage.schema`; at start the app brings the
database to the newest revision (:mod:`storage.migrate`), so it also starts on an empty one.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from sqlalchemy.engine import Engine

from storage.database import engine_for
from storage.migrate import upgrade


def engine() -> Engine:
    return engine_for(current_app.config["DATABASE_URL"])


def connect() -> Any:
    return engine().connect()


def begin() -> Any:
    return engine().begin()


def init_app(app: Flask) -> None:
    upgrade(engine_for(app.config["DATABASE_URL"]))
