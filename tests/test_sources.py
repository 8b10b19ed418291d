"""What the assistant states traces to the APT's source texts (the organisation profile and
the FAQ page).

The texts are not part of the repository: the setting ``APT_SOURCES_DIR`` names their
folder. Where it is missing these tests are skipped with the reason; in CI (``CI=true``) a
missing folder is a failure, so the checks always run there.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Dict

import pytest
import yaml
from rapidfuzz import fuzz

from apt_settings import ROOT, settings
from content.knowledge import KnowledgeBase
from server.nlg import answer_sources

PROFILE_GLOB, FAQ_GLOB = "000_*.txt", "001_*.txt"
# Each FAQ response against the answer it comes from (rapidfuzz token-set ratio, 0-100). The
# responses say "the APT" where the page says "we", so they are close, not identical; an
# invented sentence lowers the figure.
FAQ_SIMILARITY = 85
# Each FAQ answer and its question on the FAQ page, from the answers' sources
# (content/knowledge/sources.yml, the one place that says where each answer comes from).
FAQ_RESPONSES = {
    name: source.removeprefix("FAQ: ")
    for name, source in answer_sources().items()
    if name.startswith("utter_faq_")
}


def _source(pattern: str) -> str:
    folder = settings().sources_dir
    found = sorted(folder.glob(pattern)) if folder.is_dir() else []
    if not found:
        reason = f"the APT's source texts ({pattern}) are not in {folder} (setting APT_SOURCES_DIR)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found[0].read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def profile() -> str:
    return _source(PROFILE_GLOB)


@pytest.fixture(scope="module")
def faq_answers() -> Dict[str, str]:
    """Question -> answer, from the FAQ page (each question appears in a list, then again
    above its answer)."""
    text = _source(FAQ_GLOB)
    answers: Dict[str, str] = {}
    questions = list(FAQ_RESPONSES.values())
    for index, question in enumerate(questions):
        start = text.rindex(question) + len(question)
        ends = [text.find(q, start) for q in questions[index + 1 :]]
        end = min([e for e in ends if e > 0] or [len(text)])
        answers[question] = text[start:end]
    return answers


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("’", "'")).strip()


def test_every_listed_country_appears_in_the_source_profile(knowledge: KnowledgeBase, profile: str) -> None:
    for country, _, _ in knowledge.listed_countries():
        assert country.name in profile, country.name


def test_contacts_budget_and_address_come_from_the_profile(knowledge: KnowledgeBase, profile: str) -> None:
    flat = _flat(profile)
    for contact in knowledge.contacts:
        assert contact.name in flat and contact.role in flat, contact.name
    # The budget sentence is reworded ("between ... and ..."): its figures are the profile's.
    figures = re.findall(r"\d[\d,.]*\s+(?:million|thousand)(?:\s+CHF)?", knowledge.organisation.budget)
    assert figures and all(figure in flat for figure in figures), figures
    # The profile writes "Geneva 2 CH-1211"; the knowledge base, the Swiss postal order, with
    # the country of the CH postcode written out for letters from abroad.
    words = set(flat.split())
    for line in knowledge.organisation.address:
        assert set(_flat(line).split()) <= words | {"Switzerland"}, line


@pytest.mark.parametrize("response", sorted(FAQ_RESPONSES))
def test_faq_answer_states_what_the_faq_page_says(response: str, faq_answers: Dict[str, str]) -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    english = domain["responses"][response][0]["text"]
    source = faq_answers[FAQ_RESPONSES[response]]
    score = fuzz.token_set_ratio(_flat(english).lower(), _flat(source).lower())
    assert score >= FAQ_SIMILARITY, f"{response} differs from the FAQ page (similarity {score:.0f})"


def test_sources_folder_is_a_setting() -> None:
    assert isinstance(settings().sources_dir, Path)


def test_every_answer_source_names_a_response_of_the_domain() -> None:
    responses = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]
    assert len(FAQ_RESPONSES) == 6
    assert set(answer_sources()) <= set(responses), set(answer_sources()) - set(responses)
    assert all(source.startswith(("FAQ: ", "Profile: ")) for source in answer_sources().values())


def test_every_faq_question_named_as_a_source_is_on_the_faq_page(faq_answers: Dict[str, str]) -> None:
    page = _source(FAQ_GLOB)
    for source in set(answer_sources().values()):
        for part in source.split("; "):
            if part.startswith("FAQ: "):
                assert part.removeprefix("FAQ: ") in page, part
