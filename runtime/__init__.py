"""Adjustments to the Rasa server process, each replacing a private Rasa function, so
:func:`install` checks the installed Rasa version first (:mod:`runtime.compat`). All but one
change how fast Rasa does something, never what it answers; :mod:`runtime.quiet_server` stops
the server from naming its version or echoing requests it cannot route, and
:mod:`runtime.action_fallback` answers honestly when the action server cannot.

They are installed however Rasa is started: ``credentials.yml`` names the project's channels
(``channels/``), whose package installs them when Rasa loads it, before Rasa builds its web
app; ``scripts/rasa_server.py`` (what ``make run`` starts) imports the same package.
"""

from __future__ import annotations

import os

from runtime import log_redaction
from runtime.compat import require_supported_versions

_installed = False


def install() -> None:
    """Install every adjustment once per process (after the version check)."""
    global _installed
    if _installed:
        return
    log_redaction.install()  # first, and whatever the version: it uses no Rasa internals
    require_supported_versions()
    from runtime import (
        action_fallback,
        action_response_validation,
        event_types,
        one_request_per_connection,
        quiet_server,
    )

    action_response_validation.install()
    action_fallback.install()
    event_types.install()
    if int(os.environ.get("SANIC_WORKERS", "1")) > 1:
        one_request_per_connection.install()
    quiet_server.install()  # wraps whatever configure_app is by now
    _installed = True


def share_port(host: str, port: int) -> None:
    """Serve on ``host:port`` beside other Rasa processes (:mod:`runtime.shared_port`)."""
    from runtime import one_request_per_connection, shared_port

    install()
    one_request_per_connection.install()
    shared_port.install(host, port)


def installed() -> bool:
    return _installed
