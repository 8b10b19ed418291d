"""Adjustments to the Rasa server process, each replacing a private Rasa function, so
:func:`install` checks the installed Rasa version first (:mod:`runtime.compat`). All but one
change how fast Rasa does something, never what it answers (:mod:`runtime.fast_model_load`
loads DIET for prediction without Rasa's training step, :mod:`runtime.fast_batches` and
:mod:`runtime.fast_features` build its input faster); :mod:`runtime.quiet_server` stops
the server from naming its version or echoing requests it cannot route,
:mod:`runtime.action_fallback` answers honestly when the action server cannot, and
:mod:`runtime.focus` reads the part of a message that asks when the whole gives no clear
answer.

They are installed however Rasa is started: ``credentials.yml`` names the project's channels
(``channels/``), whose package installs them when Rasa loads it, before Rasa builds its web
app; ``scripts/rasa_server.py`` (what ``make run`` starts) imports the same package.
Training installs only what changes its speed (:func:`install_for_training`, from
``scripts/train.py`` and the retraining rounds).
"""

from __future__ import annotations

import os
from pathlib import Path

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
        fast_batches,
        fast_features,
        fast_model_load,
        focus,
        one_request_per_connection,
        quiet_server,
    )

    action_response_validation.install()
    focus.install()
    action_fallback.install()
    event_types.install()
    fast_model_load.install()
    fast_batches.install()
    fast_features.install()
    if int(os.environ.get("SANIC_WORKERS", "1")) > 1:
        one_request_per_connection.install()
    quiet_server.install()  # wraps whatever configure_app is by now
    _installed = True


def install_for_training() -> None:
    """What a training process needs (after the version check): DIET's batches built without
    a Python loop per example (:mod:`runtime.fast_batches`), features combined and fingerprinted
    without scipy's generic code (:mod:`runtime.fast_features`); the model is the same."""
    require_supported_versions()
    from runtime import fast_batches, fast_features

    fast_batches.install()
    fast_features.install()


def share_socket(ready_directory: Path) -> None:
    """Serve on the listening socket the supervisor passed as standard input, beside other
    Rasa processes, marked ready in ``ready_directory`` (:mod:`runtime.shared_port`)."""
    from runtime import one_request_per_connection, shared_port

    install()
    one_request_per_connection.install()
    shared_port.install(shared_port.inherited_socket(), ready_directory)


def installed() -> bool:
    return _installed
