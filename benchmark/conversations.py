"""The scripted conversations the load generator plays.

Ours mixes what visitors really send (greetings, the FAQ questions, country questions and a
follow-up that needs the previous turn, an out-of-scope question); the baseline's are what
makes sense to Rasa's default "mood bot". Both have the same number of messages per
conversation, so both servers get the same number of requests per conversation. Every message
was checked to get a non-empty answer (the mood bot's TED policy answers "no" after "are you a
bot?" with nothing, so the scripts avoid it). No script
says "yes" after the funding question: that would start the funding form, a different path.
"""

from __future__ import annotations

from typing import List

Script = List[str]

OURS: List[Script] = [
    [
        "hello",
        "why don't you denounce states?",
        "do you work in Viet Nam?",
        "and Uganda?",
        "which countries do you work in in Central Asia?",
        "what's the weather tomorrow?",
        "can my organisation get funding from you?",
        "thanks, bye",
    ],
    [
        "hi there",
        "can my organisation get funding from you?",
        "which countries do you work in in Central Asia?",
        "do you work in Kenya?",
        "and Uganda?",
        "what is the OPCAT?",
        "what's the weather tomorrow?",
        "thank you, goodbye",
    ],
    [
        "good morning",
        "do you work in Viet Nam?",
        "and Uganda?",
        "why don't you denounce states?",
        "how do you choose the countries you work in?",
        "who won the football match yesterday?",
        "which countries do you work in in Central Asia?",
        "bye",
    ],
]

BASELINE: List[Script] = [
    ["hi", "I am sad", "yes", "great", "are you a bot?", "hello again", "I am great", "bye"],
    ["hello", "I am feeling very good", "are you a bot?", "I am sad", "yes", "hey", "great", "goodbye"],
    ["hey", "I am sad", "yes", "I am great", "hi", "are you a human?", "perfect", "see you"],
]

# The message that proves a stack is up: for ours it needs the action server as well.
OURS_PROBE = "do you work in Viet Nam?"
BASELINE_PROBE = "hi"


def messages_per_conversation(scripts: List[Script]) -> int:
    """The common length of `scripts`; a ValueError if they differ, since the figures would
    then not compare like with like."""
    lengths = {len(script) for script in scripts}
    if len(lengths) != 1:
        raise ValueError(f"scripts of different lengths: {sorted(lengths)}")
    return lengths.pop()
