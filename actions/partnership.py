"""Whether a visitor's organisation could fit a joint project with the APT.

The APT is not a donor: it develops projects with local partner organisations and raises
funds jointly. This module reads the visitor's answers (organisation type, country, kind
of work), recognises them against the knowledge base's options, and explains the result
with ``domain.yml`` responses. It never promises money.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Dict, List, Optional, Sequence, TypeVar

from rapidfuzz import fuzz, process
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import country_the, join_names
from actions.countries import CountryMatch
from content.knowledge import KnowledgeBase, OrganisationType, Topic, WorkArea
from language import LANGUAGES
from language.wording import english_responses, responses_in

LIKELY, PARTIAL, NOT_A_FIT = "likely", "partial", "none"
ALIAS_CUTOFF = 85

Option = TypeVar("Option", OrganisationType, WorkArea)


def _fold(text: str) -> str:
    """Lower case, accents and punctuation removed: visitors type "institucion academica"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", re.sub(r"[^\w ]+", " ", text)).strip()


# The questions whose buttons name the options, and the entity their payloads set.
QUESTION_BUTTONS = {"organisation_type": "utter_ask_organisation_type", "work_area": "utter_ask_work_area"}


@cache
def button_titles(entity: str) -> Dict[str, List[str]]:
    """Option id -> the titles of its button in every language: a visitor who types the
    button's label ("ONG", "Institución académica") means that option."""
    titles: Dict[str, List[str]] = {}
    for language in LANGUAGES:
        for variation in responses_in(language, english_responses())[QUESTION_BUTTONS[entity]]:
            for button in variation.get("buttons") or []:
                payload = str(button.get("payload") or "").replace("{{", "{").replace("}}", "}")
                entities = json.loads(payload[payload.index("{") :]) if "{" in payload else {}
                if entity in entities:
                    titles.setdefault(str(entities[entity]), []).append(str(button.get("title")))
    return titles


def _aliases(option: Option) -> List[str]:
    answer: str = "organisation_type" if isinstance(option, OrganisationType) else "work_area"
    return [*option.aliases, *button_titles(answer).get(option.id, [])]


def recognise(options: Sequence[Option], text: str) -> Optional[Option]:
    """The option a free answer names, in any of the three languages: by id (button
    payloads), by alias or button title inside the text (the longest), or by a close
    spelling of one."""
    folded = _fold(text or "")[:300]
    if not folded:
        return None
    for option in options:
        if folded == option.id.replace("_", " ") or folded == option.id:
            return option
    padded = f" {folded} "
    hits = [
        (len(_fold(alias)), option)
        for option in options
        for alias in _aliases(option)
        if _fold(alias) and f" {_fold(alias)} " in padded
    ]
    if hits:
        return max(hits, key=lambda hit: hit[0])[1]
    choices = {_fold(alias): option for option in options for alias in _aliases(option)}
    best = process.extractOne(folded, list(choices), scorer=fuzz.ratio, score_cutoff=ALIAS_CUTOFF)
    return choices[best[0]] if best else None


@dataclass(frozen=True)
class Assessment:
    """How the three answers compare with what the APT does, and the overall level."""

    level: str
    organisation: OrganisationType
    country: CountryMatch
    work: WorkArea
    topic: Optional[Topic]  # the objective or activity the work matches, if any


def assess(
    kb: KnowledgeBase, organisation: OrganisationType, country: CountryMatch, work: WorkArea
) -> Assessment:
    topic = kb.topic(work.matches) if work.matches and not work.excluded else None
    if work.excluded:
        level = NOT_A_FIT
    elif organisation.partner and country.is_listed and topic is not None:
        level = LIKELY
    else:
        level = PARTIAL
    return Assessment(level, organisation, country, work, topic)


def explain(dispatcher: CollectingDispatcher, kb: KnowledgeBase, assessment: Assessment) -> None:
    """The level, then one message for each answer (organisation, country, work), then,
    unless nothing fits, the reminder that the APT funds no one directly. ``kb`` is the
    knowledge base in the visitor's language: the answers are named from it by their ids."""
    if assessment.level == LIKELY:
        dispatcher.utter_message(response="utter_fit_likely")
    elif assessment.level == PARTIAL:
        dispatcher.utter_message(response="utter_fit_partial")
    else:
        dispatcher.utter_message(response="utter_fit_none")

    organisation = kb.partnership.organisation_type(assessment.organisation.id) or assessment.organisation
    if organisation.partner:
        dispatcher.utter_message(
            response="utter_fit_organisation_partner", organisation_kind=organisation.label
        )
    else:
        partner_kinds = join_names(
            [t.label for t in kb.partnership.organisation_types if t.partner], kb.language
        )
        dispatcher.utter_message(response="utter_fit_organisation_not_partner", partner_kinds=partner_kinds)

    listing = kb.locate(assessment.country.iso3)
    country = country_the(kb, assessment.country)
    if listing is not None:
        dispatcher.utter_message(
            response="utter_fit_country_listed", country_the=country, subregion_name=listing[1].name
        )
    else:
        dispatcher.utter_message(response="utter_fit_country_not_listed", country_the=country)

    work = kb.partnership.work_area(assessment.work.id) or assessment.work
    if work.excluded:
        dispatcher.utter_message(response="utter_fit_work_excluded", work_kind=work.label)
    elif assessment.topic is not None:
        dispatcher.utter_message(
            response="utter_fit_work_matches",
            work_kind=work.label,
            topic_title=kb.topic(assessment.topic.id).title.lower(),
        )
    else:
        dispatcher.utter_message(response="utter_fit_work_unknown")

    if assessment.level != NOT_A_FIT:
        dispatcher.utter_message(response="utter_no_funding_promised")
