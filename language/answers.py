"""Which of the assistant's messages are answers, and the id each answer carries.

The widget asks "Was this helpful?" under answers only, and its feedback names the answer
by an id stored with it, never by counting messages on the page: the page also shows replies
that are never stored (the edge's, ``server/channels/edge.py``), and the socket channel cuts a long
message into several, so any count drifts from the log.

- **What is an answer.** A response that tells the visitor something they asked about (an
  FAQ answer, a fact of the profile, a country, the fit assessment, the disclosure answer).
  Not one: the greeting and the menu, questions put to the visitor (a form's ``utter_ask_*``,
  the second chance's "Did you mean one of these?", the offer of a funding check), a form's
  requests to answer again, courtesies (goodbye, "you're welcome"), the replies that say the
  assistant could not answer, and the edge's replies (sent by the channels, never stored).
  A new response is an answer unless it is listed here.
- **The id.** The response generator (:mod:`server.nlg`) gives each answer
  ``<nonce>.<mac>``: 16 random hex digits, then the first 16 hex digits of HMAC-SHA256 of
  ``<conversation id>:<nonce>`` under the setting ``APT_SESSION_SECRET`` (the key of the
  widget's resume tokens). Rasa stores it in the bot event's metadata (``answer_id``) and the
  socket channel sends it with the message. Whoever holds the key can tell, with no lookup,
  whether an id was given in a conversation (:func:`belongs_to`): feedback from one
  conversation can never name another's answer, in any Rasa process, even while the
  database is down.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import Any

# The bot event's metadata key (and the response generator's message key) of an answer's id.
ANSWER_ID = "answer_id"
ANSWER_ID_PATTERN = re.compile(r"[0-9a-f]{16}\.[0-9a-f]{16}")

NOT_ANSWERS = frozenset(
    {
        # the greeting, the menu, the language switch
        "utter_greet",
        "utter_help",
        "utter_language_chosen",
        # questions put to the visitor
        "utter_offer_choices",
        "utter_offer_partnership_check",
        "utter_change_answers",
        "utter_partnership_answers_lost",
        # courtesies
        "utter_goodbye",
        "utter_you_are_welcome",
        "utter_acknowledge",
        "utter_form_stopped",
        "utter_enquiry_not_sent",
        # the assistant could not answer
        "utter_default",
        "utter_none_of_these",
        "utter_enquiry_incomplete",
        "utter_out_of_scope",
        "utter_action_unavailable",
        # the edge's replies (server/channels/edge.py)
        "utter_message_too_long",
        "utter_message_not_text",
        "utter_too_many_messages",
    }
)
# A form's questions, and its requests to answer again.
NOT_ANSWER_PREFIXES = ("utter_ask_", "utter_unrecognised_", "utter_invalid_")


def is_answer(response: str) -> bool:
    """Whether the response ``response`` (a domain response's name) is an answer."""
    return response not in NOT_ANSWERS and not response.startswith(NOT_ANSWER_PREFIXES)


def _mac(conversation_id: str, nonce: str, key: bytes) -> str:
    message = f"{conversation_id}:{nonce}".encode("utf-8", "replace")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:16]


def new_answer_id(conversation_id: str, key: bytes) -> str:
    """A new answer id of the conversation ``conversation_id``."""
    nonce = secrets.token_hex(8)
    return f"{nonce}.{_mac(conversation_id, nonce, key)}"


def belongs_to(answer_id: Any, conversation_id: str, key: bytes) -> bool:
    """Whether ``answer_id`` is an answer id given in the conversation ``conversation_id``."""
    if not isinstance(answer_id, str) or not ANSWER_ID_PATTERN.fullmatch(answer_id):
        return False
    nonce, mac = answer_id.split(".")
    return hmac.compare_digest(mac, _mac(conversation_id, nonce, key))
