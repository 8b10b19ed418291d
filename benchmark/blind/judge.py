"""One turn, right or wrong, and why.

A turn is right when (1) every expected item is among the labels its replies show (an item
that is a list: any one of its labels), (2) every reply is in the expected language (the
turn's ``reply_language``, else the file's; :mod:`benchmark.blind.replies` says how a reply's
language is told), and (3) for grammar turns, the replies' text contains at least one of
``reply_has_any`` and none of ``reply_has_none`` (as whole words, ignoring case and spacing).
A question of the funding check counts as asked when the assistant asked a later one of its
questions instead (``FORM_ORDER``): it skips a question whose answer the visitor already gave
("we are an NGO in Kenya, can you fund us?"), which the set's writer could not know.

Replies beyond the expected ones do not make a turn wrong; a right turn that also got an
error reply (``ERROR_REPLIES``: "I didn't recognise that kind of organisation", the
fallback, the second chance) is flagged, so that a reader can count them apart.

A wrong turn keeps every reason, and one short ``miss`` that sorts it for a reader: the
second chance offered (with or without the right answer among its buttons), not understood,
no reply, another answer, the right answer in the wrong language, or the grammar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from benchmark.blind.blindset import Item, Turn, alternatives
from benchmark.blind.labels import OFFER, key
from benchmark.blind.names import Names
from benchmark.blind.replies import Reply

NOT_UNDERSTOOD = ("utter_default", "utter_none_of_these")
UNSURE = (OFFER, *NOT_UNDERSTOOD)  # the assistant did not commit to an answer
ERROR_REPLIES = (
    *UNSURE,
    "utter_unrecognised_organisation_type",
    "utter_unrecognised_country",
    "utter_unrecognised_work_area",
    "utter_partnership_answers_lost",
)


# The funding check's questions in the order the form asks them, then its assessment.
FORM_ORDER = ("ask_organisation_type", "ask_organisation_country", "ask_work_area", "assessment")


def _or_later_question(label: str) -> List[str]:
    """``label`` and, for a question of the funding check, the steps that come after it."""
    if label not in FORM_ORDER:
        return [label]
    return list(FORM_ORDER[FORM_ORDER.index(label) :])


@dataclass
class Verdict:
    right: bool
    found: List[str]
    missing: List[str] = field(default_factory=list)
    wrong_language: List[str] = field(default_factory=list)
    grammar: List[str] = field(default_factory=list)
    miss: Optional[str] = None
    second_chance: bool = False
    answered: bool = False
    flagged: List[str] = field(default_factory=list)  # error replies of a right turn

    @property
    def reasons(self) -> List[str]:
        return (
            [f"missing {item}" for item in self.missing]
            + [f"wrong language: {reply}" for reply in self.wrong_language]
            + [f"grammar: {problem}" for problem in self.grammar]
        )

    def to_dict(self) -> Dict[str, Any]:
        return {
            "right": self.right,
            "found": self.found,
            "reasons": self.reasons,
            "miss": self.miss,
            "second_chance": self.second_chance,
            "answered": self.answered,
            "flagged": self.flagged,
        }


def describe(item: Item) -> str:
    return item if isinstance(item, str) else " | ".join(item)


def _has(text: str, phrase: str) -> bool:
    words = r"\s+".join(re.escape(word) for word in phrase.split())
    return re.search(rf"(?<!\w){words}(?!\w)", text, re.IGNORECASE) is not None


def grammar_problems(turn: Turn, text: str) -> List[str]:
    problems = []
    if turn.has_any and not any(_has(text, phrase) for phrase in turn.has_any):
        problems.append(f"none of {list(turn.has_any)}")
    problems += [f"has {phrase!r}" for phrase in turn.has_none if _has(text, phrase)]
    return problems


def _miss(turn: Turn, replies: Sequence[Reply], verdict: Verdict, keys: Sequence[str], names: Names) -> str:
    responses = [reply.response for reply in replies]
    if verdict.missing:
        if not replies:
            return "no reply"
        if OFFER in responses:
            wanted = {
                key(f"choices:{label}", names)
                for item in turn.expect
                for label in alternatives(item)
                if not label.startswith("choices:")
            }
            return (
                "second chance, right answer offered"
                if wanted & set(keys)
                else "second chance, right answer not offered"
            )
        if any(response in NOT_UNDERSTOOD for response in responses):
            return "not understood"
        shown = [label.split(":")[0] for reply in replies for label in reply.labels]
        return "other answer: " + ", ".join(dict.fromkeys(shown))
    if verdict.wrong_language:
        got = sorted({reply.language for reply in replies if reply.language != turn.reply_language})
        return f"wrong language: {'/'.join(got)} for {turn.reply_language}"
    return "grammar"


def judge(turn: Turn, replies: Sequence[Reply], texts: Sequence[str], names: Names) -> Verdict:
    """``replies``: what the stored events say the assistant did this turn; ``texts``: what
    the visitor read (the REST replies), for the grammar checks."""
    found = [label for reply in replies for label in reply.labels]
    keys = [key(label, names) for label in found]
    missing = [
        describe(item)
        for item in turn.expect
        if not any(
            key(step, names) in keys for label in alternatives(item) for step in _or_later_question(label)
        )
    ]
    wrong_language = [
        f"{reply.response} in {reply.language}" for reply in replies if reply.language != turn.reply_language
    ]
    grammar = grammar_problems(turn, "\n".join(texts)) if (turn.has_any or turn.has_none) else []
    responses = [reply.response for reply in replies]
    verdict = Verdict(
        right=not (missing or wrong_language or grammar),
        found=found,
        missing=missing,
        wrong_language=wrong_language,
        grammar=grammar,
        second_chance=OFFER in responses,
        answered=bool(replies) and not any(response in UNSURE for response in responses),
    )
    if verdict.right:
        # The second chance is no error where the set accepts it (a "choices:" label).
        verdict.flagged = [r for r in responses if r in ERROR_REPLIES and not (r == OFFER and not turn.clear)]
    else:
        verdict.miss = _miss(turn, replies, verdict, keys, names)
    return verdict
