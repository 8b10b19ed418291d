"""The assistant's custom actions.

rasa-sdk's action server imports this package when it starts, before it runs any action: so
this is where the action server's log records start being sanitised (visitors' text cut and
redacted, :mod:`runtime.log_redaction`). The Rasa server installs the same with the rest of
:mod:`runtime`; this imports nothing of Rasa's.
"""

from runtime import log_redaction

log_redaction.install()
