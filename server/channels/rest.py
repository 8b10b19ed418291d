"""Rasa's REST channel, with the edge checks of :mod:`server.channels.edge`.

``POST /webhooks/rest/webhook`` with ``{"sender": "<conversation id>", "message": "<text>"}``
answers a JSON list of the assistant's replies, as Rasa's own channel does. What differs:

- the body must be a JSON object with a valid ``sender`` (printable ASCII, 1 to 128
  characters, not an id of the widget's) and a ``message`` string: anything else is a 400 with
  a short JSON ``{"error": ...}``, never a 500 (Rasa's own answered 500 to a JSON list, and put
  every request without a sender into one shared conversation, ``default``);
- an over-long message, a non-text message or one over the rate limit is answered at the
  edge with a polite reply (a 200, like any answer), and never reaches the NLU;
- the client cannot choose the channel name or add metadata to the stored conversation (but
  for the page's language, ``{"metadata": {"language": "fr"}}``, kept if it is one of the
  assistant's), and streaming is off;
- nothing of the visitor's text is logged (Rasa's logged the whole text at ERROR on a timeout).
"""

from __future__ import annotations

import json
import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, List

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from language import supported
from server.channels.edge import MAX_SENDER_CHARS, RateLimit, check_message, client_address, valid_sender

logger = logging.getLogger(__name__)


def _bad_request(reason: str) -> HTTPResponse:
    return response.json({"error": reason}, status=400)


class CheckedRestInput(RestInput):
    """``server.channels.rest.CheckedRestInput`` in credentials.yml; it keeps the name ``rest``, so the
    URL stays ``/webhooks/rest/webhook``."""

    def __init__(self) -> None:
        self.rate = RateLimit()

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("checked_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = json.loads(request.body or b"")
            except (ValueError, UnicodeDecodeError):
                return _bad_request("the body must be JSON")
            if not isinstance(body, dict):
                return _bad_request('the body must be a JSON object: {"sender": ..., "message": ...}')
            sender = body.get("sender")
            if not isinstance(sender, str) or not valid_sender(sender):
                return _bad_request(
                    f"sender must be 1 to {MAX_SENDER_CHARS} printable ASCII characters without spaces"
                )
            metadata = body.get("metadata")
            page_language = metadata.get("language") if isinstance(metadata, dict) else None
            checked = check_message(body.get("message"), client_address(request), self.rate, page_language)
            if checked.reply is not None:
                return response.json([{"recipient_id": sender, "text": checked.reply}])
            collector = CollectingOutputChannel()
            try:
                # Of what a client sends as metadata, only a page language it names is kept.
                language = supported(page_language)
                # Two questions in one message are answered in turn (server/channels/edge.py).
                for part in checked.parts:
                    await on_new_message(
                        UserMessage(
                            part,
                            collector,
                            sender,
                            input_channel=self.name(),
                            metadata={"language": language} if language else None,
                        )
                    )
            except CancelledError:
                logger.error("A message was not answered in time (conversation %s).", sender[:16])
            except Exception:  # noqa: BLE001 (the visitor gets a clean error, the log the cause)
                logger.exception("A message could not be handled (conversation %s).", sender[:16])
                return response.json({"error": "the assistant could not answer this message"}, status=503)
            messages: List[Dict[str, Any]] = collector.messages
            return response.json(messages)

        return webhook
