"""Adjustments to the Rasa server process, each replacing a private Rasa function, so
:func:`install` checks the installed Rasa version first (:mod:`rasa_versions`). Most change
how fast Rasa does something, never what it answers (:mod:`server.patches.fast_model_load`
loads DIET for prediction without Rasa's training step, :mod:`server.patches.fast_batches`
and :mod:`server.patches.fast_features` build its input faster);
:mod:`server.patches.quiet_server` stops the server from naming its version or echoing
requests it cannot route, :mod:`server.patches.action_fallback` answers honestly when the
action server cannot, :mod:`server.patches.focus` reads the part of a message that asks
when the whole gives no clear answer, and :mod:`server.patches.compound` answers two topics
asked in one message in turn.

They are installed by the entry points only, never when a module is imported: the Rasa
server's (``scripts/rasa_server.py``, what ``make run`` starts, for ``run``, ``shell`` and
``test``), and, of them only what changes training's speed (:func:`install_for_training`),
``scripts/train.py`` and the retraining rounds. ``tests/test_architecture.py`` keeps it so.
"""

from __future__ import annotations

import os
from pathlib import Path

from privacy import log_redaction
from rasa_versions import require_supported_versions

_installed = False


def install() -> None:
    """Install every adjustment once per process (after the version check)."""
    global _installed
    if _installed:
        return
    log_redaction.install()  # first, and whatever the version: it uses no Rasa internals
    require_supported_versions()
    from server.patches import (
        action_fallback,
        action_response_validation,
        compound,
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
    compound.install()
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
    a Python loop per example (:mod:`server.patches.fast_batches`), features combined and fingerprinted
    without scipy's generic code (:mod:`server.patches.fast_features`); the model is the same."""
    require_supported_versions()
    from server.patches import fast_batches, fast_features

    fast_batches.install()
    fast_features.install()


def share_socket(ready_directory: Path) -> None:
    """Serve on the listening socket the supervisor passed as standard input, beside other
    Rasa processes, marked ready in ``ready_directory`` (:mod:`server.patches.shared_port`)."""
    from server.patches import one_request_per_connection, shared_port

    install()
    one_request_per_connection.install()
    shared_port.install(shared_port.inherited_socket(), ready_directory)


def installed() -> bool:
    return _installed
