"""Adjustments to the Rasa server process. Each one changes how fast Rasa does something,
never what it answers, and each replaces a private Rasa function: :func:`install` checks the
installed Rasa version first (:mod:`runtime.compat`).

They are installed however Rasa is started: ``credentials.yml`` names the project's channels
(``channels/``), whose package installs them when Rasa loads it, before Rasa builds its web
app; ``scripts/rasa_server.py`` (what ``make run`` starts) imports the same package.
"""

from __future__ import annotations

import os

from runtime.compat import require_supported_versions

_installed = False


def install() -> None:
    """Install every adjustment once per process (after the version check)."""
    global _installed
    if _installed:
        return
    require_supported_versions()
    from runtime import action_response_validation, event_types, one_request_per_connection

    action_response_validation.install()
    event_types.install()
    if int(os.environ.get("SANIC_WORKERS", "1")) > 1:
        one_request_per_connection.install()
    _installed = True


def installed() -> bool:
    return _installed
