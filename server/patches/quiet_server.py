"""The Rasa server names no version and echoes nothing of a request it cannot route.

Rasa 3.6 answers ``GET /`` with "Hello from Rasa: 3.6.21" and ``GET /version`` with its
versions, to anyone, and Sanic's default 404 repeats the requested path. On a public
assistant that tells an attacker which published vulnerabilities to try. This wraps Rasa's
``configure_app`` (like :mod:`server.patches.one_request_per_connection`): ``/`` answers
``{"status": "ok"}``, ``/version`` is a 404, and unknown routes and methods answer a short
JSON error. It also adds ``/health``, which says which parts are up (:mod:`server.health`).
"""

from __future__ import annotations

from typing import Any, Optional

import rasa.core.run
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from server.health import add_health_route
from server.quiet_errors import answer_quietly

_RASA_CONFIGURE_APP = rasa.core.run.configure_app
_wrapped: Any = _RASA_CONFIGURE_APP  # what was installed before this (another wrapper, or Rasa's)
HIDDEN_PATHS = {"/version"}


async def quiet_root(request: Request) -> Optional[HTTPResponse]:
    if request.path == "/" and request.method in ("GET", "HEAD"):
        return response.json({"status": "ok"})
    if request.path in HIDDEN_PATHS:
        return response.json({"error": "not found"}, status=404)
    return None


def configure_app(*args: Any, **kwargs: Any) -> Any:
    """Rasa's ``configure_app``, with the quiet root, version and error answers."""
    app = _wrapped(*args, **kwargs)
    app.register_middleware(quiet_root, "request")
    answer_quietly(app)
    add_health_route(app)
    return app


def install() -> None:
    global _wrapped
    if rasa.core.run.configure_app is not configure_app:
        _wrapped = rasa.core.run.configure_app
        rasa.core.run.configure_app = configure_app


def uninstall() -> None:
    rasa.core.run.configure_app = _wrapped
