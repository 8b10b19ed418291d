"""What every chat channel checks before a visitor's message reaches Rasa.

The assistant is public and a plausible target, so every channel (REST, the widget's
socket.io) applies the same rules at the edge, before the NLU or the tracker store sees
anything:

- **Message length**: at most ``MAX_MESSAGE_CHARS`` (2,000) characters, about a page of text,
  far more than any question needs. Rasa's featurisation grows with the square of the length
  (one 100 kB message took a worker to 20 GB), so a longer message never reaches the NLU: the
  visitor gets ``utter_message_too_long`` instead.
- **Text, normalised before any check**: Unicode NFKC (a full-width "／" is a "/"), invisible
  characters removed (zero-width spaces, joiners, bidirectional controls, byte-order marks,
  fillers: Unicode's default-ignorable and format characters), control characters (NUL
  included) as spaces, then stripped as Rasa strips it. Every later check sees exactly the
  text Rasa will parse: a blank, a tab or a zero-width space before "/disclose_abuse" once
  hid a payload from the check that Rasa then read as one.
- **Conversation ids**: printable ASCII without spaces, at most ``MAX_SENDER_CHARS`` (128,
  inside the database's 255), so a NUL or an overlong id never reaches the database. Ids that
  start with ``WIDGET_PREFIX`` are issued by the socket channel only (server/channels/socketio_origins.py):
  a REST client cannot name one, so REST and widget conversations cannot reach each other.
- **Button payloads**: a message starting with "/" bypasses the NLU and sets an intent and
  entities directly (that is how buttons work). Only the payloads of the domain's buttons, the
  second chance's (``language/offers.py``: an offered intent, with at most a place the
  knowledge base names) and the widget's session start ``/greet``, are accepted as such; any
  other is read as plain text (its leading slashes removed), so nobody can set a slot or the
  disclosure flag by typing ``/disclose_abuse`` or ``/inform{"country": "<svg ...>"}``. Only a
  whole message can be a payload: each question of a message cut in two
  (:mod:`language.questions`) is text, whatever it starts with.
- **Rate**: at most ``APT_RATE_LIMIT`` messages per client address (default 30 a minute),
  counted in each Rasa worker process (a moving window; with N workers a client gets at most N
  times that). Beyond it the visitor gets ``utter_too_many_messages``. Behind a proxy every
  client has the proxy's address: limit there instead (docs/security.md).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterator, Optional, Tuple

import regex
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from apt_settings import settings
from content import domain
from content.domain import DOMAIN_FILE
from language import DEFAULT as DEFAULT_LANGUAGE
from language import supported
from language.offers import is_choice_payload
from language.questions import questions
from language.wording import responses_in

MAX_MESSAGE_CHARS = 2000
MAX_SENDER_CHARS = 128
WIDGET_PREFIX = "web-"
SESSION_START_PAYLOAD = "/greet"
SENDER = re.compile(rf"[\x21-\x7e]{{1,{MAX_SENDER_CHARS}}}")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# What a reader cannot see: Unicode's default-ignorable code points (zero-width spaces and
# joiners, bidirectional controls, variation selectors, fillers, tags) and format characters.
INVISIBLE_CHARACTERS = regex.compile(r"[\p{Default_Ignorable_Code_Point}\p{Cf}]")


def valid_sender(sender: Any) -> bool:
    """A conversation id a REST client may use."""
    return (
        isinstance(sender, str)
        and SENDER.fullmatch(sender) is not None
        and not sender.startswith(WIDGET_PREFIX)
    )


def clean_text(text: str) -> str:
    """The text normalised (NFKC), invisible characters removed, control characters (and
    lone surrogates) replaced by spaces, and stripped as Rasa strips a message."""
    text = unicodedata.normalize("NFKC", CONTROL_CHARACTERS.sub(" ", text))
    return INVISIBLE_CHARACTERS.sub("", text).strip()


def _buttons(responses: Dict[str, Any]) -> Iterator[str]:
    for variations in responses.values():
        for variation in variations or []:
            for button in variation.get("buttons") or []:
                payload = button.get("payload")
                if isinstance(payload, str):
                    # Braces are doubled in the domain so that Rasa's template filling leaves
                    # them alone; the widget sends them single.
                    yield payload.replace("{{", "{").replace("}}", "}")


@cache
def button_payloads(domain_file: Path = DOMAIN_FILE) -> FrozenSet[str]:
    """Every payload the assistant may offer as a button, and the widget's session start."""
    return frozenset({SESSION_START_PAYLOAD, *_buttons(domain.responses(domain_file))})


def is_offered(text: str) -> bool:
    """Whether a (cleaned) message is a payload the assistant itself offers as a button."""
    return text in button_payloads() or is_choice_payload(text)


def as_text(text: str) -> str:
    """The words of a message that must not be read as a payload: its leading slashes (and
    what :func:`clean_text` removes after them) gone, for the NLU to read."""
    while text.startswith("/"):
        text = clean_text(text.lstrip("/"))
    return text


def as_offered(text: str) -> str:
    """The (cleaned) text, unless it looks like a payload the assistant never offers: then the
    same words as plain text, for the NLU to read."""
    return text if is_offered(text) else as_text(text)


def message_parts(text: str) -> Tuple[str, ...]:
    """What reaches Rasa of a cleaned message: an offered payload whole, else its questions
    (:mod:`language.questions`), none of which can be a payload."""
    if text.startswith("/") and is_offered(text):
        return (text,)
    return tuple(part for part in map(as_text, questions(as_text(text))) if part) or ("",)


@cache
def edge_reply(response: str, language: str = DEFAULT_LANGUAGE, domain_file: Path = DOMAIN_FILE) -> str:
    """The text of a domain response the channels send themselves (no NLU, no action), in
    ``language`` (the page's, from the message's metadata: the edge has no conversation)."""
    responses = responses_in(supported(language) or DEFAULT_LANGUAGE, domain.responses(domain_file))
    return str(responses[response][0]["text"]).strip()


def client_address(request: Any) -> str:
    """The visitor's address, for the rate limit. Behind the scale profile's nginx, every
    request comes from nginx: Sanic then reads the address nginx puts in ``X-Real-IP``
    (``SANIC_PROXIES_COUNT`` and ``SANIC_REAL_IP_HEADER``, set for the replicas only, which
    listen on the loopback interface where only nginx reaches them); otherwise it is the
    peer's own address."""
    return str(getattr(request, "remote_addr", "") or getattr(request, "ip", "") or "")


@dataclass(frozen=True)
class Checked:
    """A message that passed the edge, as the messages Rasa handles in turn (``parts``: one,
    or each question of two in one message), or the reply that replaces it (``reply``)."""

    parts: Tuple[str, ...] = field(default_factory=tuple)
    reply: Optional[str] = None


class RateLimit:
    """``APT_RATE_LIMIT`` messages per client address, in this process."""

    def __init__(self, rate: Optional[str] = None) -> None:
        self._rate = parse(rate or settings().rate_limit)
        self._storage = MemoryStorage()  # the limiter keeps only a weak reference to it
        self._limiter = MovingWindowRateLimiter(self._storage)

    def allows(self, client: str) -> bool:
        return bool(self._limiter.hit(self._rate, client or "unknown"))


def check_message(text: Any, client: str, rate: RateLimit, language: Any = None) -> Checked:
    """What happens to a visitor's message: passed on (cleaned), or answered at the edge
    (in ``language``, the page's language from the message's metadata, if it is one)."""
    language = supported(language) or DEFAULT_LANGUAGE
    if not rate.allows(client):
        return Checked(reply=edge_reply("utter_too_many_messages", language))
    if text is None:
        text = ""
    if not isinstance(text, str):
        return Checked(reply=edge_reply("utter_message_not_text", language))
    if len(text) > MAX_MESSAGE_CHARS:
        return Checked(reply=edge_reply("utter_message_too_long", language))
    return Checked(parts=message_parts(clean_text(text)))
