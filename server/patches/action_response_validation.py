"""Validate the action server's responses with one compiled JSON-schema validator.

Rasa 3.6 checks every custom action's response against its response schema with
``jsonschema.validate``, which first re-checks the schema itself against the JSON-schema
meta-schema and builds a new validator, on every call. Under load that was 15 to 30 % of
the Rasa server's time (profiled while benchmarking). The schema is a constant, so this
builds the validator once, with the same schema, the same draft and the same error
(``jsonschema.ValidationError``, the best match, with Rasa's explanation appended).
"""

from __future__ import annotations

from functools import cache
from typing import Any, Dict

from jsonschema import exceptions, validators
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

_RASA_VALIDATE = RemoteAction._validate_action_result
_EXPLANATION = (
    ". Failed to validate Action server response from API, make sure your response from "
    f"the Action endpoint is valid. For more information about the format visit "
    f"{DOCS_BASE_URL}/custom-actions"
)


@cache
def response_validator() -> Any:
    """The validator for Rasa's action response schema, checked against the meta-schema once."""
    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(_action: RemoteAction, result: Dict[str, Any]) -> bool:
    """Drop-in for ``RemoteAction._validate_action_result``: True, or ValidationError."""
    error = exceptions.best_match(response_validator().iter_errors(result))
    if error is not None:
        error.message += _EXPLANATION
        raise error
    return True


def install() -> None:
    """Make every RemoteAction in this process use the compiled validator."""
    RemoteAction._validate_action_result = validate_action_result


def uninstall() -> None:
    """Put Rasa's own validation back (for tests comparing the two)."""
    RemoteAction._validate_action_result = _RASA_VALIDATE
