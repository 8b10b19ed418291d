"""Reply texts built from the knowledge base.

Every sentence here either quotes a knowledge-base field or joins fields with plain
connecting words; no fact is typed into this module. Static texts that need no data (the
FAQ answers, greetings, the disclosure answer) live in ``domain.yml`` responses instead.
Replies are plain text with "- " bullet lines, which read well in the terminal, the REST
channel and the web widget alike (the widget renders Markdown, so a sentence after a list
is separated from it by a blank line).
"""

from __future__ import annotations

from typing import Iterable, Sequence

from actions.countries import CountryMatch
from actions.knowledge import KnowledgeBase, Place, Region, Subregion


def join_names(names: Sequence[str]) -> str:
    """ "a, b and c"."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _bullets(lines: Iterable[str]) -> str:
    return "\n".join(f"- {line}" for line in lines)


def _countries_word(count: int) -> str:
    return "country" if count == 1 else "countries"


# -- about the APT --------------------------------------------------------------------------


def about_apt(kb: KnowledgeBase) -> str:
    org = kb.organisation
    return (
        f"The {org.name} ({org.short_name}) is {org.kind}. {org.approach}\n"
        f"Its work covers four activities:\n{_bullets(a.title for a in kb.activities)}\n\n"
        "Ask me about any of them, or about its objectives, partners or the countries it works in."
    )


def vision(kb: KnowledgeBase) -> str:
    titles = join_names([o.title.lower() for o in kb.objectives])
    return (
        f"{kb.organisation.vision} To prevent torture, it focuses on "
        f"{len(kb.objectives)} integrated objectives: {titles}."
    )


def objectives(kb: KnowledgeBase) -> str:
    lines = (f"{o.title}: {o.text}" for o in kb.objectives)
    return f"The APT focuses on {len(kb.objectives)} integrated objectives:\n{_bullets(lines)}"


def activity(kb: KnowledgeBase, activity_id: str) -> str:
    topic = kb.activity(activity_id)
    return f"{topic.title}. {topic.text}"


def opcat(kb: KnowledgeBase) -> str:
    return kb.opcat.text


def operations(kb: KnowledgeBase) -> str:
    return kb.organisation.operations


def budget(kb: KnowledgeBase) -> str:
    return f"According to its profile, the APT's budget is {kb.organisation.budget}."


def address(kb: KnowledgeBase) -> str:
    org = kb.organisation
    lines = "\n".join(org.address)
    return f"The APT's postal address is:\n{org.name} ({org.short_name})\n{lines}"


def contacts(kb: KnowledgeBase) -> str:
    people = _bullets(f"{c.name}, {c.role}" for c in kb.contacts)
    return (
        f"The contacts named in the APT's profile are:\n{people}\n\n"
        f"You can write to them at the APT's address: {', '.join(kb.organisation.address)}."
    )


def partners(kb: KnowledgeBase) -> str:
    lines = (f"{p.name}: {p.text}" for p in kb.partners)
    return f"The APT works with these partners:\n{_bullets(lines)}"


def cinat(kb: KnowledgeBase) -> str:
    return kb.cinat.text


# -- countries --------------------------------------------------------------------------------

# Questions back to the visitor. Kept here rather than in domain.yml because only these
# actions send them (Rasa's validator reports responses that no story or rule uses).
ASK_WHICH_COUNTRY = (
    'Which country do you mean? You can ask, for example, "Do you work in Kenya?" or '
    '"Which countries do you work in in South East Asia?".'
)
ASK_WHICH_PLACE = 'Which country or region do you mean? For example "and Uganda?" or "what about in Asia?".'


def _region_of(kb: KnowledgeBase, subregion: Subregion) -> Region:
    return next(r for r in kb.regions if subregion in r.subregions)


def country_listed(match: CountryMatch) -> str:
    assert match.listing is not None
    _, subregion, region = match.listing
    return (
        f"Yes. {match.name} is among the countries where the APT works: its profile lists it "
        f"under {subregion.name} ({region.label})."
    )


def country_not_listed(match: CountryMatch) -> str:
    return f"{match.name} is not among the countries listed in the APT's profile."


def countries_in_place(kb: KnowledgeBase, place: Place) -> str:
    countries = place.countries
    if isinstance(place, Subregion):
        region = _region_of(kb, place)
        return (
            f"In {place.name} ({region.label}), the APT's profile lists {len(countries)} "
            f"{_countries_word(len(countries))}: {join_names([c.label for c in countries])}."
        )
    lines = (f"{sub.name}: {join_names([c.label for c in sub.countries])}" for sub in place.subregions)
    return (
        f"In {place.label}, the APT's profile lists {len(countries)} "
        f"{_countries_word(len(countries))}:\n{_bullets(lines)}"
    )


def countries_summary(kb: KnowledgeBase) -> str:
    total = sum(len(r.countries) for r in kb.regions)
    lines = (
        f"{r.name}: {len(r.countries)} {_countries_word(len(r.countries))} "
        f"({join_names([s.name for s in r.subregions])})"
        for r in kb.regions
    )
    return (
        f"The APT's profile lists {total} countries where it works, in "
        f"{len(kb.regions)} regions:\n{_bullets(lines)}\n\n"
        'Ask me about a region or sub-region, for example "Which countries in Central Asia?", '
        "or about one country."
    )


def country_count(kb: KnowledgeBase, place: Place | None) -> str:
    if place is not None:
        count = len(place.countries)
        return f"The APT's profile lists {count} {_countries_word(count)} in {place.label}."
    total = sum(len(r.countries) for r in kb.regions)
    parts = join_names([f"{len(r.countries)} in {r.label}" for r in kb.regions])
    return f"The APT's profile lists {total} countries: {parts}."


def unknown_region(kb: KnowledgeBase) -> str:
    regions = join_names([r.label for r in kb.regions])
    return f"I don't know that region. The APT's profile groups its countries under {regions}."
