"""Two things asked in one message that only the model can tell apart, answered in turn.

The chat channels cut a message at what is plainly a second question ("... and do you work in
Kenya?", :mod:`language.questions`). Two *topics* in one question ("tell me about your partners
and your budget", "quels sont vos objectifs et vos partenaires ?") or two questions in two
sentences ("Tell me about your budget. Also, who leads the APT.") look, as text, like one
question about one thing ("the prevention of torture and ill-treatment", "monitoring and
training"). So the candidate parts (:func:`language.questions.candidate_parts`) are read by
the model, and the message is handled as those parts, in turn, only when each is read surely
(``SURE``, the fallback threshold) as a different question the assistant answers.

Never split: a message read as a disclosure (whole or in a part), one in an open form (the
funding check's answers: "monitoring and training" is one answer), two place questions (the
country answers take several places at once: "do you work in Peru and Bolivia?"). A place
question beside another ("tell me about the APT and its work in Mauritania") is split.

Replaces ``MessageProcessor.handle_message`` (rasa/core/processor.py, Rasa 3.6.21): each
part is handled as Rasa handles a message, under the conversation's lock the agent already
holds, and stored as its own visitor message. A message that is not a candidate costs
nothing more; a candidate costs one parse per part and one read of the conversation.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa.core.channels.channel import UserMessage
from rasa.core.processor import MessageProcessor

from language.questions import candidate_parts
from server.patches.focus import DISCLOSURE, FALLBACK, FOLLOW_UP, NOT_AN_ANSWER, PLACE_QUESTIONS, WEAK

SURE = 0.6
# Readings that are never one of two things asked: no answer, a weak one, one that depends on
# what came before, a disclosure. A place question is one of them only beside another kind of
# question: two places are one question, which the country answers take at once.
NOT_SPLIT = NOT_AN_ANSWER | WEAK | {FOLLOW_UP, DISCLOSURE, FALLBACK}
_RASA_HANDLE = MessageProcessor.handle_message


def _reading(parsed: Dict[str, Any]) -> tuple[str, float]:
    intent = parsed.get("intent") or {}
    return str(intent.get("name") or FALLBACK), float(intent.get("confidence") or 0.0)


def confirmed(readings: List[Dict[str, Any]]) -> bool:
    """Whether the parts' readings are different questions, each read surely."""
    names = []
    for parsed in readings:
        name, confidence = _reading(parsed)
        if name in NOT_SPLIT or confidence < SURE:
            return False
        names.append(name)
    places = [name for name in names if name in PLACE_QUESTIONS]
    return len(set(names)) == len(names) and len(places) <= 1


async def parts_to_handle(processor: MessageProcessor, message: UserMessage) -> Optional[List[str]]:
    """The parts to handle in turn instead of ``message``, or None."""
    text = message.text or ""
    if text.startswith("/"):
        return None
    parts = candidate_parts(text)
    if len(parts) < 2:
        return None
    tracker = await processor.get_tracker(message.sender_id)
    if tracker.active_loop_name:
        return None

    async def parse(part: str) -> Dict[str, Any]:
        sub = UserMessage(part, sender_id=message.sender_id, metadata=message.metadata)
        return await processor.parse_message(sub, tracker)

    whole = await parse(text)
    if _reading(whole)[0] == DISCLOSURE:
        return None
    readings = [await parse(part) for part in parts]
    return parts if confirmed(readings) else None


async def handle_message(self: MessageProcessor, message: UserMessage) -> Optional[List[Dict[str, Any]]]:
    """Drop-in for ``MessageProcessor.handle_message``."""
    parts = await parts_to_handle(self, message)
    if parts is None:
        return await _RASA_HANDLE(self, message)
    answered = None
    for part in parts:
        answered = await _RASA_HANDLE(
            self,
            UserMessage(
                part,
                message.output_channel,
                message.sender_id,
                input_channel=message.input_channel,
                metadata=message.metadata,
            ),
        )
    return answered


def install() -> None:
    MessageProcessor.handle_message = handle_message


def uninstall() -> None:
    MessageProcessor.handle_message = _RASA_HANDLE
