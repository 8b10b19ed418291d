"""What every chat channel checks before a visitor's message reaches Rasa.

The assistant is public and a plausible target, so every channel (REST, the widget's
socket.io) applies the same rules at the edge, before the NLU or the tracker store sees
anything:

- **Message length**: at most ``MAX_MESSAGE_CHARS`` (2,000) characters, about a page of text,
  far more than any question needs. Rasa's featurisation grows with the square of the length
  (one 100 kB message took a worker to 20 GB), so a longer message never reaches the NLU: the
  visitor gets ``utter_message_too_long`` instead.
- **Text**: control characters (NUL included) become spaces; the text is otherwise kept.
- **Conversation ids**: printable ASCII without spaces, at most ``MAX_SENDER_CHARS`` (128,
  inside the database's 255), so a NUL or an overlong id never reaches the database. Ids that
  start with ``WIDGET_PREFIX`` are issued by the socket channel only (channels/socketio_origins.py):
  a REST client cannot name one, so REST and widget conversations cannot reach each other.
- **Button payloads**: a message starting with "/" bypasses the NLU and sets an intent and
  entities directly (that is how buttons work). Only the payloads of the domain's buttons, the
  second chance's (``language/offers.py``: an offered intent, with at most a place's plain
  name) and the widget's session start ``/greet``, are accepted as such; any other is read as plain text
  (its leading slashes removed), so nobody can set a slot or the disclosure flag by typing
  ``/disclose_abuse`` or ``/inform{"country": "<svg ...>"}``.
- **Rate**: at most ``APT_RATE_LIMIT`` messages per client address (default 30 a minute),
  counted in each Rasa worker process (a moving window; with N workers a client gets at most N
  times that). Beyond it the visitor gets ``utter_too_many_messages``. Behind a proxy every
  client has the proxy's address: limit there instead (docs/security.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterator, Optional

import yaml
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from apt_settings import ROOT, settings
from language import DEFAULT as DEFAULT_LANGUAGE
from language import supported
from language.offers import is_choice_payload
from language.wording import responses_in

MAX_MESSAGE_CHARS = 2000
MAX_SENDER_CHARS = 128
WIDGET_PREFIX = "web-"
SESSION_START_PAYLOAD = "/greet"
SENDER = re.compile(rf"[\x21-\x7e]{{1,{MAX_SENDER_CHARS}}}")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
DOMAIN_FILE = ROOT / "domain.yml"


def valid_sender(sender: Any) -> bool:
    """A conversation id a REST client may use."""
    return (
        isinstance(sender, str)
        and SENDER.fullmatch(sender) is not None
        and not sender.startswith(WIDGET_PREFIX)
    )


def clean_text(text: str) -> str:
    """The text with control characters (and lone surrogates) replaced by spaces."""
    return CONTROL_CHARACTERS.sub(" ", text)


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
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    return frozenset({SESSION_START_PAYLOAD, *_buttons(domain.get("responses") or {})})


def as_offered(text: str) -> str:
    """The text, unless it looks like a payload the assistant never offers: then the same
    words as plain text, for the NLU to read."""
    if text.startswith("/") and text.strip() not in button_payloads() and not is_choice_payload(text):
        return text.lstrip("/ ")
    return text


@cache
def edge_reply(response: str, language: str = DEFAULT_LANGUAGE, domain_file: Path = DOMAIN_FILE) -> str:
    """The text of a domain response the channels send themselves (no NLU, no action), in
    ``language`` (the page's, from the message's metadata: the edge has no conversation)."""
    domain = yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}
    responses = responses_in(supported(language) or DEFAULT_LANGUAGE, domain["responses"])
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
    """A message that passed the edge (``text``), or the reply that replaces it (``reply``)."""

    text: Optional[str] = None
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
    return Checked(text=as_offered(clean_text(text)))
