"""Two things asked in one message, confirmed by the model's readings (server/patches/compound.py)."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from server.patches.compound import confirmed


def read(name: str, confidence: float) -> Dict[str, Any]:
    return {"intent": {"name": name, "confidence": confidence}}


@pytest.mark.parametrize(
    "readings, split",
    [
        ([read("ask_partners", 0.9), read("ask_budget", 0.8)], True),
        ([read("ask_partners", 0.9), read("ask_budget", 0.8), read("ask_opcat", 0.7)], True),
        ([read("ask_partners", 0.9), read("ask_partners", 0.8)], False),  # one thing asked twice
        ([read("ask_partners", 0.9), read("ask_budget", 0.5)], False),  # one read unsurely
        ([read("ask_partners", 0.9), read("nlu_fallback", 0.9)], False),
        ([read("ask_partners", 0.9), read("greet", 0.99)], False),  # no answer
        ([read("ask_partners", 0.9), read("inform", 0.99)], False),  # a weak one
        ([read("ask_partners", 0.9), read("ask_country_engagement", 0.99)], True),  # a place beside
        ([read("list_countries_in_region", 0.9), read("ask_country_engagement", 0.99)], False),  # places
        ([read("ask_partners", 0.9), read("disclose_abuse", 0.99)], False),
        ([read("ask_partners", 0.9), read("follow_up", 0.99)], False),
    ],
)
def test_split_only_when_each_part_is_a_different_question_read_surely(
    readings: List[Dict[str, Any]], split: bool
) -> None:
    assert confirmed(readings) is split
