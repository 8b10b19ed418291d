"""Close each HTTP connection after its response when Rasa runs as several workers.

The workers share one listening socket and each takes the connections it accepts. With
HTTP keep-alive, a client's connection, and so every request it sends, stays with the worker
that accepted it: with a few busy clients, most of them can end up on one worker while the
other idles (in the benchmark, from 38 to 65 messages per second between runs, by chance).
Closing the connection after each answer lets the next request go to whichever worker is
free to accept it. Sanic 21.12 has no setting for this, so a response middleware marks the
request's connection as not kept alive (``request.stream.keep_alive``, what Sanic itself
does for a client that sends ``Connection: close``). WebSocket upgrades (the chat widget)
are left alone: a visitor's socket stays open with its worker.
"""

from __future__ import annotations

from typing import Any

import rasa.core.run

_wrapped: Any = rasa.core.run.configure_app  # what was installed before this (Rasa's, or a wrapper)


async def close_after_response(request: Any, _response: Any) -> None:
    if request.headers.get("upgrade", "").lower() == "websocket":
        return
    if request.stream is not None:
        request.stream.keep_alive = False


def configure_app(*args: Any, **kwargs: Any) -> Any:
    """Rasa's ``configure_app``, with the middleware registered on the app it builds."""
    app = _wrapped(*args, **kwargs)
    app.register_middleware(close_after_response, "response")
    return app


def install() -> None:
    """Wrap whatever ``configure_app`` is now, so the order of the wrappers does not matter."""
    global _wrapped
    if rasa.core.run.configure_app is not configure_app:
        _wrapped = rasa.core.run.configure_app
        rasa.core.run.configure_app = configure_app


def uninstall() -> None:
    rasa.core.run.configure_app = _wrapped
