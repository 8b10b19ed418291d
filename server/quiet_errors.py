"""Short JSON answers for routes and methods a Sanic app does not have.

Sanic's defaults repeat the requested path (and, in debug, much more). The Rasa server
(:mod:`server.patches.quiet_server`) and the action server (``scripts/action_server.py``) both
answer a plain ``{"error": ...}`` instead, naming nothing of the request. No Rasa internals
are touched here, so the action server can use it without the Rasa patches.
"""

from __future__ import annotations

from typing import Any

from sanic import response
from sanic.exceptions import MethodNotSupported, NotFound
from sanic.request import Request
from sanic.response import HTTPResponse


async def not_found(_request: Request, _error: Exception) -> HTTPResponse:
    return response.json({"error": "not found"}, status=404)


async def not_allowed(_request: Request, _error: Exception) -> HTTPResponse:
    return response.json({"error": "method not allowed"}, status=405)


def answer_quietly(app: Any) -> None:
    """Register the short answers on ``app``."""
    app.error_handler.add(NotFound, not_found)
    app.error_handler.add(MethodNotSupported, not_allowed)
