"""Replies built from the knowledge base: which ``domain.yml`` response, with which facts.

Every sentence a visitor reads is a response in ``domain.yml``; each function here sends
one, with the knowledge-base facts it names as variables (``{country_the}``), or quotes a
knowledge-base text that is a whole answer by itself. Python builds data only: lists of
knowledge-base items as "- " lines (which read well in the terminal, the REST channel and
the web widget alike) and names joined with the list words below. No fact and no sentence
is typed into this module (tests/unit/actions/test_wording.py checks the sentences).
"""

from __future__ import annotations

from typing import Iterable, Sequence, Union

from rasa_sdk.executor import CollectingDispatcher

from actions.countries import Area, CountryMatch
from content.knowledge import Country, KnowledgeBase, Place, Region, Subregion
from content.knowledge_languages import country_name
from content.m49 import M49
from language.grammar import place_forms
from language.words import list_words

# Sent with place answers as metadata of the bot event, shown by no response: which country (ISO
# code) or region (UN code; the sub-regions listed) was answered, in any language, for staff and
# tools (the blind set's judge).
CARRIED_CODES = ("country_code", "place_code", "subregion_codes")

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
# A name inside a sentence takes the form its language needs (language/grammar.py): with its
# article ({country_the}: "the Philippines", "le Sénégal", "el Reino Unido") or after "in"
# ({region_in}: "in the Americas", "aux Amériques", "en el Caribe").


def _region_of(kb: KnowledgeBase, subregion: Subregion) -> Region:
    return next(r for r in kb.regions if subregion in r.subregions)


def _names(places: Iterable[Union[Country, Place]], language: str) -> str:
    return join_names([p.label for p in places], language)


def _in(name: str, kb: KnowledgeBase) -> str:
    return place_forms(name, kb.language).in_


def _the(name: str, kb: KnowledgeBase) -> str:
    return place_forms(name, kb.language).the


def shown_name(kb: KnowledgeBase, match: CountryMatch) -> str:
    """A country's name in the knowledge base's language."""
    listing = kb.locate(match.iso3)
    return listing[0].label if listing else country_name(match.iso3, kb.language, match.name)


def country_the(kb: KnowledgeBase, match: CountryMatch) -> str:
    """A country's name with its article, in the knowledge base's language."""
    return _the(shown_name(kb, match), kb)


def country(dispatcher: CollectingDispatcher, kb: KnowledgeBase, match: CountryMatch) -> None:
    """Whether the APT's profile lists one country, and where. The answer also carries the
    country's ISO code (``country_code``; no response shows it): the bot event's metadata then
    says which country was answered, in any language, for staff and tools."""
    listing = kb.locate(match.iso3)
    if listing is None:
        dispatcher.utter_message(
            response="utter_country_not_listed", country_the=country_the(kb, match), country_code=match.iso3
        )
        return
    _, subregion, region = listing
    dispatcher.utter_message(
        response="utter_country_listed",
        country_the=country_the(kb, match),
        subregion_name=subregion.name,
        region_name=region.label,
        country_code=match.iso3,
    )


def countries_in_place(dispatcher: CollectingDispatcher, kb: KnowledgeBase, place: Place) -> None:
    count = len(place.countries)
    if isinstance(place, Subregion):
        dispatcher.utter_message(
            response="utter_countries_in_subregion",
            subregion_in=_in(place.name, kb),
            region_name=_region_of(kb, place).label,
            countries_counted=countries_counted(count, kb.language),
            country_names=_names(place.countries, kb.language),
            place_code=place.m49,
        )
        return
    _countries_by_subregion(dispatcher, kb, place.label, place.subregions, place.m49)


def _countries_by_subregion(
    dispatcher: CollectingDispatcher,
    kb: KnowledgeBase,
    label: str,
    subregions: Sequence[Subregion],
    code: str,
) -> None:
    """``code`` (``place_code``, shown by no response): the UN code of the region answered, or
    the knowledge base's group id, so that the bot event says which place, in any language;
    ``subregion_codes`` the profile's sub-regions listed."""
    dispatcher.utter_message(
        response="utter_countries_in_region",
        region_in=_in(label, kb),
        countries_counted=countries_counted(sum(len(sub.countries) for sub in subregions), kb.language),
        subregion_list=bullets(f"{sub.name}: {_names(sub.countries, kb.language)}" for sub in subregions),
        place_code=code,
        subregion_codes=",".join(sub.m49 for sub in subregions),
    )


def area_label(kb: KnowledgeBase, area: Area) -> str:
    """An area's name in the knowledge base's language: a group's from the knowledge base, a
    UN region's from the CLDR."""
    group = next((g for g in kb.region_groups if g.id == area.key), None)
    return group.name if group else M49.name(area.key, kb.language)


def countries_in_area(dispatcher: CollectingDispatcher, kb: KnowledgeBase, area: Area) -> None:
    """The profile's countries in a region it does not use as a heading, by its sub-regions;
    or, if it lists none there, that it lists none there."""
    subregions = area.subregions_in(kb)
    if not subregions:
        no_country_in(dispatcher, kb, area)
        return
    _countries_by_subregion(dispatcher, kb, area_label(kb, area), subregions, area.key)


def no_country_in(dispatcher: CollectingDispatcher, kb: KnowledgeBase, area: Area) -> None:
    dispatcher.utter_message(
        response="utter_no_country_in_region",
        region_in=_in(area_label(kb, area), kb),
        region_names=_names(kb.regions, kb.language),
        place_code=area.key,
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


def country_count(
    dispatcher: CollectingDispatcher, kb: KnowledgeBase, place: Union[Place, Area, None]
) -> None:
    if isinstance(place, Area):
        subregions = place.subregions_in(kb)
        if not subregions:
            no_country_in(dispatcher, kb, place)
            return
        count, label = sum(len(sub.countries) for sub in subregions), area_label(kb, place)
    elif place is not None:
        count, label = len(place.countries), place.label
    else:
        dispatcher.utter_message(
            response="utter_country_count",
            countries_counted=countries_counted(sum(len(r.countries) for r in kb.regions), kb.language),
            counts_by_region=join_names(
                [count_in(len(r.countries), r.label, kb.language) for r in kb.regions], kb.language
            ),
        )
        return
    dispatcher.utter_message(
        response="utter_country_count_in_place",
        countries_counted=countries_counted(count, kb.language),
        place_in=_in(label, kb),
    )


def unknown_region(dispatcher: CollectingDispatcher, kb: KnowledgeBase) -> None:
    dispatcher.utter_message(response="utter_unknown_region", region_names=_names(kb.regions, kb.language))
