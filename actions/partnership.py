"""Whether a visitor's organisation could fit a joint project with the APT.

The APT is not a donor: it develops projects with local partner organisations and raises
funds jointly. This module compares the visitor's answers (organisation type, country, kind
of work, read by :mod:`language.options`) with the knowledge base and explains the result
with ``domain.yml`` responses. It never promises money.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from rasa_sdk.executor import CollectingDispatcher

from actions.answers import country_the, join_names
from actions.countries import CountryMatch
from content.knowledge import KnowledgeBase, OrganisationType, Topic, WorkArea

LIKELY, PARTIAL, NOT_A_FIT = "likely", "partial", "none"


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
