"""Replies built from the knowledge base: which ``domain.yml`` response, with which facts.

Every sentence a visitor reads is a response in ``domain.yml``; each function here sends
one, with the knowledge-base facts it names as variables (``{country_name}``), or quotes a
knowledge-base text that is a whole answer by itself. Python builds data only: lists of
knowledge-base items as "- " lines (which read well in the terminal, the REST channel and
the web widget alike) and names joined with the list words below. No fact and no sentence
is typed into this module (tests/test_wording.py checks the sentences).
"""

from __future__ import annotations

from typing import Iterable, Sequence, Union

from rasa_sdk.executor import CollectingDispatcher

from actions.countries import CountryMatch
from actions.knowledge import Country, KnowledgeBase, Place, Region, Subregion
from actions.knowledge_languages import country_name
from language.words import list_words

# -- list words ---------------------------------------------------------------------------------
# The only words Python adds to a reply, in the knowledge base's language (language/words.py):
# what joins the items of a list ("a, b and c"), a number of countries ("3 countries") and a
# count per place ("30 in Africa"). They are data inside a response's sentence.


def join_names(names: Sequence[str], language: str = "en") -> str:
    """ "a, b and c"."""
    return list_words(language).join(list(names))


def countries_counted(count: int, language: str = "en") -> str:
    return list_words(language).countries(count)


def count_in(count: int, place_label: str, language: str = "en") -> str:
    return list_words(language).count_in(count, place_label)


def bullets(lines: Iterable[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


# -- about the APT ------------------------------------------------------------------------------


def about_apt(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    org = kb.organisation
    dispatcher.utter_message(
        response="utter_about_apt",
        apt_name=org.name,
        apt_short_name=org.short_name,
        apt_kind=org.kind,
        apt_approach=org.approach,
        activity_count=len(kb.activities),
        activity_list=bullets(a.title for a in kb.activities),
    )


def vision(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    dispatcher.utter_message(
        response="utter_vision",
        vision=kb.organisation.vision,
        objective_count=len(kb.objectives),
        objective_titles=join_names([o.title.lower() for o in kb.objectives], kb.language),
    )


def objectives(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    dispatcher.utter_message(
        response="utter_objectives",
        objective_count=len(kb.objectives),
        objective_list=bullets(f"{o.title}: {o.text}" for o in kb.objectives),
    )


def activity(dispatcher: CollectingDispatcher, kb: KnowledgeBase, activity_id: str) -> None:
    topic = kb.activity(activity_id)
    dispatcher.utter_message(response="utter_activity", activity_title=topic.title, activity_text=topic.text)


def opcat(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    dispatcher.utter_message(response="utter_opcat", opcat_text=kb.opcat.text)


def operations(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    dispatcher.utter_message(response="utter_operations", operations_text=kb.organisation.operations)


def budget(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    dispatcher.utter_message(response="utter_budget", budget=kb.organisation.budget)


def address(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    org = kb.organisation
    dispatcher.utter_message(
        response="utter_address",
        apt_name=org.name,
        apt_short_name=org.short_name,
        address_lines="\n".join(org.address),
    )


def contacts(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    dispatcher.utter_message(
        response="utter_contacts",
        contact_list=bullets(f"{c.name}, {c.role}" for c in kb.contacts),
        address=", ".join(kb.organisation.address),
    )


def partners(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    dispatcher.utter_message(
        response="utter_partners", partner_list=bullets(f"{p.name}: {p.text}" for p in kb.partners)
    )


def cinat(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    dispatcher.utter_message(response="utter_cinat", cinat_text=kb.cinat.text)


# -- countries ----------------------------------------------------------------------------------


def _region_of(kb: KnowledgeBase, subregion: Subregion) -> Region:
    return next(r for r in kb.regions if subregion in r.subregions)


def _names(places: Iterable[Union[Country, Place]], language: str) -> str:
    return join_names([p.label for p in places], language)


def shown_name(kb: KnowledgeBase, match: CountryMatch) -> str:
    """A country's name in the knowledge base's language."""
    listing = kb.locate(match.iso3)
    return listing[0].label if listing else country_name(match.iso3, kb.language, match.name)


def country(dispatcher: CollectingDispatcher, kb: KnowledgeBase, match: CountryMatch) -> None:
    """Whether the APT's profile lists one country, and where."""
    listing = kb.locate(match.iso3)
    if listing is None:
        dispatcher.utter_message(response="utter_country_not_listed", country_name=shown_name(kb, match))
        return
    listed, subregion, region = listing
    dispatcher.utter_message(
        response="utter_country_listed",
        country_name=listed.label,
        subregion_name=subregion.name,
        region_name=region.label,
    )


def countries_in_place(dispatcher: CollectingDispatcher, kb: KnowledgeBase, place: Place) -> None:
    count = len(place.countries)
    if isinstance(place, Subregion):
        dispatcher.utter_message(
            response="utter_countries_in_subregion",
            subregion_name=place.name,
            region_name=_region_of(kb, place).label,
            countries_counted=countries_counted(count, kb.language),
            country_names=_names(place.countries, kb.language),
        )
        return
    dispatcher.utter_message(
        response="utter_countries_in_region",
        region_name=place.label,
        countries_counted=countries_counted(count, kb.language),
        subregion_list=bullets(
            f"{sub.name}: {_names(sub.countries, kb.language)}" for sub in place.subregions
        ),
    )


def countries_summary(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    lines = (
        f"{r.name}: {countries_counted(len(r.countries), kb.language)} "
        f"({join_names([s.name for s in r.subregions], kb.language)})"
        for r in kb.regions
    )
    dispatcher.utter_message(
        response="utter_countries_summary",
        countries_counted=countries_counted(sum(len(r.countries) for r in kb.regions), kb.language),
        region_count=len(kb.regions),
        region_list=bullets(lines),
    )


def country_count(dispatcher: CollectingDispatcher, kb: KnowledgeBase, place: Place | None) -> None:
    if place is not None:
        dispatcher.utter_message(
            response="utter_country_count_in_place",
            countries_counted=countries_counted(len(place.countries), kb.language),
            place_name=place.label,
        )
        return
    dispatcher.utter_message(
        response="utter_country_count",
        countries_counted=countries_counted(sum(len(r.countries) for r in kb.regions), kb.language),
        counts_by_region=join_names(
            [count_in(len(r.countries), r.label, kb.language) for r in kb.regions], kb.language
        ),
    )


def unknown_region(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    dispatcher.utter_message(response="utter_unknown_region", region_names=_names(kb.regions, kb.language))
