"""Rasa's socket.io channel, with the browser origins it accepts taken from configuration.

Rasa 3.6 builds its Socket.IO server with ``cors_allowed_origins=[]``, which turns the
origin check off: any website could open a socket to the assistant from a visitor's
browser. This channel keeps everything else of Rasa's (events, session persistence, the
``/socket.io`` path the widget expects) and sets the allow-list from the ``cors_allowed_origins``
credential: a list, or a comma-separated string such as the value of
``$APT_ALLOWED_ORIGINS`` that scripts/serve.py writes there. ``"*"`` allows every origin and
is meant for local experiments only.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, List, Optional, Union

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput
from sanic import Blueprint


def parse_origins(value: Union[None, str, List[str]]) -> Union[str, List[str]]:
    """ "https://a.org, https://b.org" or a list -> a clean list; "*" stays "*"."""
    items = value if isinstance(value, list) else (value or "").split(",")
    origins = [item.strip().rstrip("/") for item in items if item and item.strip()]
    return "*" if "*" in origins else origins


class OriginCheckedSocketIOInput(SocketIOInput):
    """socket.io for the web widget, refusing connections from origins not configured."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        channel = super().from_credentials(credentials)
        assert isinstance(channel, OriginCheckedSocketIOInput)
        channel.allowed_origins = parse_origins((credentials or {}).get("cors_allowed_origins"))
        return channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.allowed_origins: Union[str, List[str]] = []

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        blueprint = super().blueprint(on_new_message)
        assert self.sio is not None
        if not self.allowed_origins:
            raise ValueError(
                "the socket.io channel needs cors_allowed_origins (set APT_ALLOWED_ORIGINS): "
                "without it any website could talk to the assistant from a visitor's browser"
            )
        # Engine.IO reads this on every handshake; a list rejects any other Origin header.
        self.sio.eio.cors_allowed_origins = self.allowed_origins
        return blueprint
