"""Rasa's socket.io channel, with an origin allow-list, server-issued conversations and the
edge checks of :mod:`server.channels.edge`.

Rasa 3.6 builds its Socket.IO server with ``cors_allowed_origins=[]``, which turns the
origin check off: any website could open a socket to the assistant from a visitor's
browser. This channel keeps everything else of Rasa's (events, session persistence, the
``/socket.io`` path the widget expects) and sets the allow-list from the ``cors_allowed_origins``
credential: a list, or a comma-separated string such as the value of
the setting ``APT_ALLOWED_ORIGINS``, which credentials.yml expands. ``"*"`` allows every origin
and is meant for local experiments only.

**Conversations are issued by the server.** With Rasa's channel, the session id a socket
presents *is* the conversation id, chosen by the client: a second socket presenting a
visitor's id received every reply of theirs and could write into their conversation, and a
socket could write into any REST conversation by naming it. Here:

- a new socket gets a new conversation id, ``web-`` followed by 128 random bits, and a
  *resume token*: that id with an HMAC-SHA256 of it under the setting ``APT_SESSION_SECRET``.
  The widget keeps the token in the tab's ``sessionStorage`` and presents it after a reload,
  which is how a visitor keeps the conversation;
- a socket presenting anything else (a bare conversation id, a forged or altered token, a
  REST sender) gets a new conversation of its own; nothing of another's;
- each socket's messages go to the conversation issued to *that socket* (kept per socket in
  this process): the ``session_id`` a client puts in a message is ignored;
- replies go to the socket.io room of the conversation, which only sockets holding its token
  have entered.

The token never reaches the log or the tracker store; only the conversation id does.

**The page's language.** The widget sends ``{"language": "fr"}`` (``en``, ``fr`` or ``es``) as
the metadata of its ``session_request`` and of each message; each message reaches Rasa with
the socket's language as its metadata (``UserMessage.metadata``). Anything else is dropped.

**Answers and feedback.** Each answer the assistant sends carries its id
(:mod:`language.answers`): the channel sends it as ``"answer"`` with the answer's last part
(:class:`AnswerSocketIOOutput`), and only answers have one. The widget's "Was this helpful?"
sends ``feedback`` events, ``{"answer": <that id>, "value": "up"|"down"}``; the channel
accepts an id given in the socket's own conversation only (checked with the session secret,
no lookup), counts the event against the same rate limit as messages, and keeps it
(:mod:`storage.feedback`: in the ``feedback`` table within the database timeout, else in the
local spool until the database answers). The acknowledgement, ``{"ok": true}``, says it is
kept; it never waits longer than the database timeout.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple, Union

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

from apt_settings import settings
from language.answers import ANSWER_ID, ANSWER_ID_PATTERN, belongs_to
from server.channels.edge import WIDGET_PREFIX, RateLimit, check_message, client_address
from storage.feedback import FEEDBACK_VALUES, FeedbackLog

logger = logging.getLogger(__name__)
MAX_PACKET_BYTES = 64 * 1024
LANGUAGES = frozenset({"en", "fr", "es"})


def language_of(data: Any, metadata_key: str = "metadata") -> Optional[str]:
    """The widget's language from an event's metadata, if it is one the assistant speaks."""
    metadata = data.get(metadata_key) if isinstance(data, dict) else None
    language = metadata.get("language") if isinstance(metadata, dict) else None
    return language if isinstance(language, str) and language in LANGUAGES else None


def checked_feedback(data: Any) -> Optional[Tuple[str, str]]:
    """``(answer id, value)`` of a well-formed feedback event, else None."""
    if not isinstance(data, dict) or set(data) != {"answer", "value"}:
        return None
    answer, value = data["answer"], data["value"]
    if not isinstance(answer, str) or not ANSWER_ID_PATTERN.fullmatch(answer):
        return None
    if not isinstance(value, str) or value not in FEEDBACK_VALUES:
        return None
    return answer, value


class AnswerSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output, which sends an answer's id (``"answer"``) with its last part:
    Rasa's cuts a message at blank lines and sends the parts one by one, and the widget asks
    "Was this helpful?" under the last. Nothing else of the bot event's metadata is sent."""

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        parts = text.strip().split("\n\n")
        for number, part in enumerate(parts, start=1):
            message: Dict[str, Any] = {"text": part}
            await self._send_message(recipient_id, self._with_answer(message, kwargs, number == len(parts)))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        parts = text.strip().split("\n\n") or [text]
        for number, part in enumerate(parts, start=1):
            message: Dict[str, Any] = {"text": part, "quick_replies": []}
            if number == len(parts):
                message["quick_replies"] = [
                    {"content_type": "text", "title": button["title"], "payload": button["payload"]}
                    for button in buttons
                ]
            await self._send_message(recipient_id, self._with_answer(message, kwargs, number == len(parts)))

    @staticmethod
    def _with_answer(message: Dict[str, Any], metadata: Dict[str, Any], last: bool) -> Dict[str, Any]:
        answer = metadata.get(ANSWER_ID)
        if last and isinstance(answer, str) and ANSWER_ID_PATTERN.fullmatch(answer):
            message["answer"] = answer
        return message


def _signature(conversation_id: str, key: bytes) -> str:
    return hmac.new(key, conversation_id.encode("ascii"), hashlib.sha256).hexdigest()


def issue_token(key: bytes) -> str:
    """A new conversation id with its resume token: ``web-<32 hex>.<64 hex>``."""
    conversation_id = WIDGET_PREFIX + secrets.token_hex(16)
    return f"{conversation_id}.{_signature(conversation_id, key)}"


def conversation_of(token: Any, key: bytes) -> Optional[str]:
    """The conversation a resume token was issued for, or None for anything else."""
    if not isinstance(token, str) or len(token) > 200 or token.count(".") != 1:
        return None
    conversation_id, signature = token.split(".")
    if not conversation_id.startswith(WIDGET_PREFIX):
        return None
    if not hmac.compare_digest(
        signature.encode("ascii", "replace"), _signature(conversation_id, key).encode()
    ):
        return None
    return conversation_id


def _client_address(environ: Dict[str, Any], sid: str) -> str:
    """The socket's client address, for the rate limit. Engine.IO's Sanic driver writes
    127.0.0.1 as every client's REMOTE_ADDR; the Sanic request it keeps has the real one."""
    request = environ.get("sanic.request")
    return (client_address(request) if request is not None else "") or sid


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
        self.rate = RateLimit()
        # Socket id -> the conversation issued to that socket (sockets stay with one worker).
        self.conversations: Dict[str, str] = {}
        # Socket id -> the widget's language (LANGUAGES), sent with each message as metadata.
        self.languages: Dict[str, str] = {}
        self.feedback_log: Optional[FeedbackLog] = None  # created on first use

    def feedback(self) -> FeedbackLog:
        """Where this process keeps the widget's feedback (storage/feedback.py)."""
        if self.feedback_log is None:
            self.feedback_log = FeedbackLog()
        return self.feedback_log

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
        # A packet over this size closes the socket before it is decoded (Engine.IO's default
        # is 1 MB); anything from 2,000 characters up to it gets the "please shorten" reply.
        self.sio.eio.max_http_buffer_size = MAX_PACKET_BYTES
        self._replace_session_handlers(on_new_message)
        return blueprint

    def _replace_session_handlers(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """Rasa's ``session_request``, ``user_uttered`` and ``disconnect`` handlers, replaced by
        ones that issue the conversation (see the module's docstring), and ``feedback``."""
        sio = self.sio
        assert sio is not None
        key = settings().secret("session_secret").encode("ascii")

        async def session_request(sid: str, data: Any = None) -> None:
            presented = data.get("session_id") if isinstance(data, dict) else None
            resumed = conversation_of(presented, key)
            token = str(presented) if resumed else issue_token(key)
            conversation_id = resumed or token.split(".")[0]
            previous = self.conversations.get(sid)
            if previous and previous != conversation_id:
                sio.leave_room(sid, previous)
            self.conversations[sid] = conversation_id
            language = language_of(data, self.metadata_key)
            if language:
                self.languages[sid] = language
            sio.enter_room(sid, conversation_id)
            await sio.emit("session_confirm", token, room=sid)
            # Feedback a process kept while the database was down (maybe one that stopped since)
            # is written once it answers, even if nobody clicks again.
            self.feedback().recover_if_waiting()

        async def handle_message(sid: str, data: Any = None) -> None:
            conversation_id = self.conversations.get(sid)
            if conversation_id is None:
                return  # no session_request yet: the widget always sends one first
            text = data.get("message") if isinstance(data, dict) else None
            client = _client_address(sio.get_environ(sid) or {}, sid)
            checked = check_message(text, client, self.rate)
            if checked.reply is not None:
                await sio.emit(self.bot_message_evt, {"text": checked.reply}, room=sid)
                return
            language = language_of(data, self.metadata_key)
            if language:
                self.languages[sid] = language
            metadata = {"language": self.languages[sid]} if sid in self.languages else None
            output = AnswerSocketIOOutput(sio, self.bot_message_evt)
            # Two questions in one message are answered in turn (server/channels/edge.py).
            for part in checked.parts:
                await on_new_message(
                    UserMessage(part, output, conversation_id, input_channel=self.name(), metadata=metadata)
                )

        async def feedback(sid: str, data: Any = None) -> Dict[str, Any]:
            conversation_id = self.conversations.get(sid)
            if conversation_id is None:
                return {"ok": False}
            if not self.rate.allows(_client_address(sio.get_environ(sid) or {}, sid)):
                return {"ok": False, "error": "rate"}
            checked = checked_feedback(data)
            if checked is None or not belongs_to(checked[0], conversation_id, key):
                return {"ok": False, "error": "invalid"}
            await self.feedback().record(conversation_id, *checked)
            return {"ok": True}

        async def disconnect(sid: str) -> None:
            self.conversations.pop(sid, None)
            self.languages.pop(sid, None)

        sio.on("session_request", session_request, namespace=self.namespace)
        sio.on(self.user_message_evt, handle_message, namespace=self.namespace)
        sio.on("feedback", feedback, namespace=self.namespace)
        sio.on("disconnect", disconnect, namespace=self.namespace)
