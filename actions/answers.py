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

# -- list words ---------------------------------------------------------------------------------
# The only words Python adds to a reply: what joins the items of a list ("a, b and c"), a
# number of countries ("1 country", "3 countries") and a count per place ("30 in Africa").
# They are data inside a response's sentence, never a sentence of their own.


def join_names(names: Sequence[str]) -> str:
    """ "a, b and c"."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def countries_counted(count: int) -> str:
    return f"{count} country" if count == 1 else f"{count} countries"


def count_in(count: int, place_label: str) -> str:
    return f"{count} in {place_label}"


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
        objective_titles=join_names([o.title.lower() for o in kb.objectives]),
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
    dispatcher.utter_message(text=kb.opcat.text)


def operations(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    dispatcher.utter_message(text=kb.organisation.operations)


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
    dispatcher.utter_message(text=kb.cinat.text)


# -- countries ----------------------------------------------------------------------------------


def _region_of(kb: KnowledgeBase, subregion: Subregion) -> Region:
    return next(r for r in kb.regions if subregion in r.subregions)


def _names(places: Iterable[Union[Country, Place]]) -> str:
    return join_names([p.label for p in places])


def country(dispatcher: CollectingDispatcher, match: CountryMatch) -> None:
    """Whether the APT's profile lists one country, and where."""
    if match.listing is None:
        dispatcher.utter_message(response="utter_country_not_listed", country_name=match.name)
        return
    _, subregion, region = match.listing
    dispatcher.utter_message(
        response="utter_country_listed",
        country_name=match.name,
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
            countries_counted=countries_counted(count),
            country_names=_names(place.countries),
        )
        return
    dispatcher.utter_message(
        response="utter_countries_in_region",
        region_name=place.label,
        countries_counted=countries_counted(count),
        subregion_list=bullets(f"{sub.name}: {_names(sub.countries)}" for sub in place.subregions),
    )


def countries_summary(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    lines = (
        f"{r.name}: {countries_counted(len(r.countries))} ({join_names([s.name for s in r.subregions])})"
        for r in kb.regions
    )
    dispatcher.utter_message(
        response="utter_countries_summary",
        countries_counted=countries_counted(sum(len(r.countries) for r in kb.regions)),
        region_count=len(kb.regions),
        region_list=bullets(lines),
    )


def country_count(dispatcher: CollectingDispatcher, kb: KnowledgeBase, place: Place | None) -> None:
    if place is not None:
        dispatcher.utter_message(
            response="utter_country_count_in_place",
            countries_counted=countries_counted(len(place.countries)),
            place_name=place.label,
        )
        return
    dispatcher.utter_message(
        response="utter_country_count",
        countries_counted=countries_counted(sum(len(r.countries) for r in kb.regions)),
        counts_by_region=join_names([count_in(len(r.countries), r.label) for r in kb.regions]),
    )


def unknown_region(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    dispatcher.utter_message(response="utter_unknown_region", region_names=_names(kb.regions))
