"""The workspace's connection to the project's database.

Its tables (staff accounts, login failures, review marks, notes and tags, saved filters,
corrections, inbox dismissals) are
declared with every other table in :mod:`storage.schema`; at start the app brings the
database to the newest revision (:mod:`storage.migrate`), so it also starts on an empty one.

Every PostgreSQL connection of the project carries a statement timeout
(``APT_DATABASE_TIMEOUT``, :mod:`storage.database`). It protects visitors' turns, which only
the Rasa server's tracker store handles; the workspace's lists, insights and exports read
the whole log and may rightly take longer on a large one, so :func:`connect` and
:func:`begin` lift it for their transaction (:func:`storage.database.connect_unbounded`,
:func:`storage.database.begin_unbounded`). The views pass the connection to the repository
functions of ``storage/``, which hold every query.
"""

from __future__ import annotations

from typing import ContextManager

from flask import Flask, current_app

from storage.database import Connection, Engine, begin_unbounded, connect_unbounded, engine_for
from storage.migrate import upgrade


def engine() -> Engine:
    return engine_for(current_app.config["DATABASE_URL"])


def connect() -> ContextManager[Connection]:
    """A connection for reading, in one transaction without the statement timeout."""
    return connect_unbounded(current_app.config["DATABASE_URL"])


def begin() -> ContextManager[Connection]:
    """A transaction without the statement timeout, committed at the end."""
    return begin_unbounded(current_app.config["DATABASE_URL"])


def init_app(app: Flask) -> None:
    upgrade(engine_for(app.config["DATABASE_URL"]))
