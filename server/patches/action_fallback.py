"""An honest answer within seconds when the action server is down, hung or failing.

Rasa 3.6 waits up to 300 s for a custom action, and when the call fails it logs "Bot will
continue, but the actions events are lost": the visitor gets nothing at all (an empty reply
over REST), and a call cut off by the server's own timeout was not even stored. This wraps
``RemoteAction.run``: a call that has not answered within ``ACTION_TIMEOUT_SECONDS``, or that
fails, gives the response ``utter_action_unavailable`` instead (it says the assistant cannot
look that up right now and gives the APT's postal address, filled in from the knowledge base,
which the Rasa server reads itself), so the turn is answered and stored like any other.

A form's validation refusing a value (``ActionExecutionRejection``) is not a failure and is
passed on unchanged.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache
from typing import Any, List

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction, create_bot_utterance
from rasa.shared.core.events import Event
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

ACTION_TIMEOUT_SECONDS = 6.0
FALLBACK_RESPONSE = "utter_action_unavailable"
_RASA_RUN = RemoteAction.run


@cache
def postal_address() -> str:
    """The APT's postal address, one line, from the knowledge base."""
    from content.knowledge import load_knowledge_base

    organisation = load_knowledge_base().organisation
    return ", ".join([f"{organisation.name} ({organisation.short_name})", *organisation.address])


async def run(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Event]:
    """Drop-in for ``RemoteAction.run``."""
    try:
        return await asyncio.wait_for(
            _RASA_RUN(self, output_channel, nlg, tracker, domain), timeout=ACTION_TIMEOUT_SECONDS
        )
    except ActionExecutionRejection:
        raise
    except (RasaException, asyncio.TimeoutError) as error:
        reason = "no answer in time" if isinstance(error, asyncio.TimeoutError) else "it failed"
        logger.error(
            "The action %s could not run (%s): the visitor gets the fallback answer.", self.name(), reason
        )
        draft = await nlg.generate(
            FALLBACK_RESPONSE, tracker, output_channel.name(), address=postal_address()
        )
        if not draft:
            return []
        draft["utter_action"] = FALLBACK_RESPONSE
        return [create_bot_utterance(draft)]


def install() -> None:
    RemoteAction.run = run


def uninstall() -> None:
    RemoteAction.run = _RASA_RUN
