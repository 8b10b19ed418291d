"""The assistant's custom actions.

rasa-sdk's action server imports this package when it starts, before it runs any action: so
this is where the action server's log records start being sanitised (visitors' text cut and
redacted, :mod:`privacy.log_redaction`). The Rasa server installs the same with the rest of
:mod:`server.patches`; this imports nothing of Rasa's.
"""

from privacy import log_redaction

log_redaction.install()
