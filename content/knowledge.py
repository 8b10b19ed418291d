"""The APT knowledge base: schema, loader and the questions actions ask of it.

The facts live in ``content/knowledge/apt.yml``. They are read and validated once per process
(``load_knowledge_base`` is cached) and never at import time, because the action server
imports every module under ``actions/`` before it knows whether it will serve a request.
A malformed file raises :class:`KnowledgeBaseError` whose message names the file, the entry
and the field, so a broken edit fails the action server at start, not mid-conversation.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, FrozenSet, Iterator, List, Mapping, Optional, Tuple, Union

import country_converter
import yaml
from pydantic import BaseModel, Extra, ValidationError, constr, validator

from apt_settings import settings
from content.m49 import M49, m49

if TYPE_CHECKING:
    # constr() builds a str subclass at run time, which mypy cannot use as a type.
    NonEmpty = str
    Iso3 = str
    M49Code = str
else:
    NonEmpty = constr(strip_whitespace=True, min_length=1)
    Iso3 = constr(regex=r"^[A-Z]{3}$")
    M49Code = constr(regex=r"^[0-9]{3}$")


class KnowledgeBaseError(ValueError):
    """The knowledge base file is missing, unreadable or does not match the schema."""


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid
        allow_mutation = False


@functools.cache
def iso3_codes() -> FrozenSet[str]:
    """The ISO 3166-1 alpha-3 codes of country_converter, the library that resolves what
    visitors write (actions/countries.py): a code it does not know could never be matched."""
    return frozenset(country_converter.CountryConverter().data["ISO3"])


@functools.cache
def country_short_names() -> FrozenSet[str]:
    """Every country's short name in country_converter: how the place resolver names a country
    the knowledge base does not list (actions/countries.py)."""
    return frozenset(str(name) for name in country_converter.CountryConverter().data["name_short"])


def _known_iso3(value: str) -> str:
    if value not in iso3_codes():
        raise ValueError(f"{value!r} is not an ISO 3166 alpha-3 code")
    return value


class Country(_Strict):
    name: NonEmpty
    iso3: Iso3
    display: Optional[NonEmpty] = None
    aliases: List[NonEmpty] = []
    # Adjectives of nationality no library knows, masculine singular ("malgache", "marroquí"):
    # their feminine and plural forms are understood too, and only as written, never as a typo.
    adjectives: List[NonEmpty] = []

    _iso3_known = validator("iso3", allow_reuse=True)(_known_iso3)

    @property
    def label(self) -> str:
        """The name shown to visitors: a modern form where the source's is dated."""
        return self.display or self.name


def _known_m49(value: str) -> str:
    if value not in m49().codes:
        raise ValueError(f"{value!r} is not a region of content/knowledge/m49.yml")
    return value


class Subregion(_Strict):
    name: NonEmpty
    m49: M49Code  # the UN's code of this sub-region (content/knowledge/m49.yml): its names come with it
    aliases: List[NonEmpty] = []
    countries: List[Country]

    _m49_known = validator("m49", allow_reuse=True)(_known_m49)

    @property
    def label(self) -> str:
        return self.name

    @validator("countries")
    def _not_empty(cls, value: List[Country]) -> List[Country]:
        if not value:
            raise ValueError("a sub-region lists at least one country")
        return value


class Region(_Strict):
    name: NonEmpty
    m49: M49Code
    display: Optional[NonEmpty] = None
    aliases: List[NonEmpty] = []
    subregions: List[Subregion]

    _m49_known = validator("m49", allow_reuse=True)(_known_m49)

    @validator("subregions")
    def _subregions_inside(cls, subregions: List[Subregion], values: Dict[str, Any]) -> List[Subregion]:
        code = values.get("m49")
        inside = m49().sub_regions(code) if code else frozenset()
        for sub in subregions:
            if code and sub.m49 not in inside:
                raise ValueError(f"sub-region {sub.name!r} ({sub.m49}) is not part of M49 region {code}")
        return subregions

    @property
    def label(self) -> str:
        """The name inside a sentence ("in the Americas")."""
        return self.display or self.name

    @property
    def countries(self) -> List[Country]:
        return [country for sub in self.subregions for country in sub.countries]


class Organisation(_Strict):
    name: NonEmpty
    short_name: NonEmpty
    kind: NonEmpty
    approach: NonEmpty
    vision: NonEmpty
    operations: NonEmpty
    budget: NonEmpty
    address: List[NonEmpty]


class Topic(_Strict):
    """An objective or an activity: a short title and the source's sentence(s)."""

    id: NonEmpty
    title: NonEmpty
    text: NonEmpty


class Text(_Strict):
    name: NonEmpty
    text: NonEmpty


class Contact(_Strict):
    name: NonEmpty
    role: NonEmpty
    # What visitors may call the role, in any language, beyond its name in the three
    # languages' knowledge bases ("fundraising", "recaudación de fondos").
    aliases: List[NonEmpty] = []


class Partner(_Strict):
    id: NonEmpty
    name: NonEmpty
    text: NonEmpty


Place = Union[Region, Subregion]


class OtherNames(_Strict):
    """Names of a country the profile does not list, which no library knows ("Holland")."""

    iso3: Iso3
    names: List[NonEmpty]

    _iso3_known = validator("iso3", allow_reuse=True)(_known_iso3)


class RegionGroup(_Strict):
    """A region no standard names: as the M49 regions it covers ("MENA"), answered with the
    profile's sub-regions inside them, or as the countries that make it up ("the Sahel",
    "the Balkans"), answered with the profile's countries among them. One or the other."""

    id: NonEmpty
    name: NonEmpty
    m49: List[M49Code] = []
    countries: List[Iso3] = []
    aliases: List[NonEmpty] = []

    @validator("m49", each_item=True)
    def _m49_known(cls, value: str) -> str:
        return _known_m49(value)

    _iso3_known = validator("countries", each_item=True, allow_reuse=True)(_known_iso3)

    @validator("countries", always=True)
    def _m49_or_countries(cls, countries: List[str], values: Dict[str, Any]) -> List[str]:
        if bool(countries) == bool(values.get("m49")):
            raise ValueError("give either the M49 regions (m49) or the countries (countries), not both")
        return countries


# An answer typed in a visitor's own words ("we monitor police cells") names an option when it
# has, for every group of ``keywords``, a word that starts with one of the group's stems
# (compared without case or accents): language/options.py.
Keywords = List[List[NonEmpty]]


class OrganisationType(_Strict):
    id: NonEmpty
    label: NonEmpty
    partner: bool
    aliases: List[NonEmpty]
    keywords: Keywords = []


class WorkArea(_Strict):
    id: NonEmpty
    label: NonEmpty
    matches: Optional[NonEmpty] = None
    excluded: bool = False
    aliases: List[NonEmpty]
    keywords: Keywords = []


class Partnership(_Strict):
    organisation_types: List[OrganisationType]
    work_areas: List[WorkArea]

    def organisation_type(self, type_id: str) -> Optional[OrganisationType]:
        return next((t for t in self.organisation_types if t.id == type_id), None)

    def work_area(self, area_id: str) -> Optional[WorkArea]:
        return next((a for a in self.work_areas if a.id == area_id), None)


class KnowledgeBase(_Strict):
    # The language its texts are in: "en" for content/knowledge/apt.yml, "fr" or "es" for a
    # translation (content/knowledge_languages.py).
    language: str = "en"
    organisation: Organisation
    objectives: List[Topic]
    activities: List[Topic]
    opcat: Text
    contacts: List[Contact]
    partners: List[Partner]
    cinat: Text
    regions: List[Region]
    other_country_names: List[OtherNames] = []
    region_groups: List[RegionGroup] = []
    partnership: Partnership

    @validator("other_country_names")
    def _other_names_are_of_unlisted_countries(
        cls, others: List[OtherNames], values: Dict[str, Any]
    ) -> List[OtherNames]:
        listed = {c.iso3 for region in values.get("regions", []) for c in region.countries}
        for other in others:
            if other.iso3 in listed:
                raise ValueError(f"{other.iso3} is listed: its other names belong in its own aliases")
        return others

    @validator("partnership")
    def _work_areas_match_known_topics(cls, partnership: Partnership, values: Dict[str, Any]) -> Partnership:
        topics = {t.id for t in values.get("objectives", []) + values.get("activities", [])}
        for area in partnership.work_areas:
            if area.matches and area.matches not in topics:
                raise ValueError(
                    f"work area {area.id!r} matches unknown objective or activity {area.matches!r}"
                )
        return partnership

    def topic(self, topic_id: str) -> Topic:
        """An objective or an activity by id."""
        return next(t for t in self.objectives + self.activities if t.id == topic_id)

    @validator("regions")
    def _countries_unique(cls, regions: List[Region]) -> List[Region]:
        seen: Dict[str, str] = {}
        for region in regions:
            for country in region.countries:
                if country.iso3 in seen:
                    raise ValueError(
                        f"country {country.iso3} is listed twice "
                        f"({seen[country.iso3]!r} and {country.name!r})"
                    )
                seen[country.iso3] = country.name
        return regions

    def activity(self, activity_id: str) -> Topic:
        return next(a for a in self.activities if a.id == activity_id)

    def listed_countries(self) -> Iterator[Tuple[Country, Subregion, Region]]:
        for region in self.regions:
            for subregion in region.subregions:
                for country in subregion.countries:
                    yield country, subregion, region

    def locate(self, iso3: str) -> Optional[Tuple[Country, Subregion, Region]]:
        """Where a country sits in the profile, or None if the profile does not list it."""
        return next((row for row in self.listed_countries() if row[0].iso3 == iso3), None)

    def places(self) -> Iterator[Place]:
        """Every region and sub-region, regions first."""
        yield from self.regions
        for region in self.regions:
            yield from region.subregions

    def place_names(self) -> FrozenSet[str]:
        """Every name the place resolver reports for a place (actions/countries.py): a listed
        country's label, a region's or sub-region's name, any other country's short name, a
        UN region's English name and a group's ("the Caribbean", "MENA")."""
        listed = {country.label for country, _, _ in self.listed_countries()}
        areas = {M49.name(code, "en") for code in m49().names()} | {
            group.name for group in self.region_groups
        }
        return frozenset(listed | {place.name for place in self.places()} | country_short_names() | areas)

    def countries_in(self, place: Place) -> List[Country]:
        return place.countries

    def same_place(self, place: Place, other: KnowledgeBase) -> Place:
        """This knowledge base's region or sub-region that is ``place`` of ``other`` (the same
        file in another language: the same places in the same order)."""
        for mine, theirs in zip(self.places(), other.places(), strict=True):
            if theirs is place:
                return mine
        raise ValueError(f"{place.name!r} is not a place of the other knowledge base")


def _entry_path(raw: Any, loc: Tuple[Union[int, str], ...]) -> str:
    """Turn pydantic's error location into a readable path that names each entry."""
    parts: List[str] = []
    node = raw
    for key in loc[:-1]:
        if isinstance(key, int):
            label = f"[{key}]"
            try:
                node = node[key]
            except (IndexError, KeyError, TypeError):
                node = None
            name = node.get("name") or node.get("id") if isinstance(node, dict) else None
            parts[-1] += f"{label} ({name})" if name else label
        else:
            parts.append(str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return " > ".join(parts) if parts else "(top level)"


def _describe(raw: Any, error: Mapping[str, Any]) -> str:
    loc = tuple(error["loc"])
    if loc and loc[-1] == "__root__":
        loc = loc[:-1]
    field = str(loc[-1]) if loc and not isinstance(loc[-1], int) else "(the entry)"
    if loc and isinstance(loc[-1], int):
        loc = loc + ("",)
    return f"entry {_entry_path(raw, loc)}, field '{field}': {error['msg']}"


def parse_knowledge_base(raw: Any, source: str) -> KnowledgeBase:
    """Validate already-parsed YAML; ``source`` names the file in error messages."""
    if not isinstance(raw, dict):
        raise KnowledgeBaseError(f"{source}: expected a mapping of sections at top level")
    try:
        return KnowledgeBase.parse_obj(raw)
    except ValidationError as error:
        details = "\n  ".join(_describe(raw, e) for e in error.errors())
        raise KnowledgeBaseError(f"{source}: invalid knowledge base:\n  {details}") from None


def read_knowledge_base(path: Union[str, Path]) -> KnowledgeBase:
    """Read and validate one knowledge base file (uncached; see load_knowledge_base)."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise KnowledgeBaseError(f"{path}: cannot read the knowledge base ({error})") from None
    except yaml.YAMLError as error:
        raise KnowledgeBaseError(f"{path}: not valid YAML ({error})") from None
    return parse_knowledge_base(raw, str(path))


@functools.cache
def load_knowledge_base(path: Optional[str] = None) -> KnowledgeBase:
    """The process-wide knowledge base, read once (by default the file the setting
    ``APT_KNOWLEDGE_BASE`` names)."""
    return read_knowledge_base(path or settings().knowledge_base)


def main() -> None:
    """`python -m content.knowledge`: check the knowledge base, exit 1 with the reason."""
    import sys

    try:
        kb = load_knowledge_base()
    except KnowledgeBaseError as error:
        print(error, file=sys.stderr)
        sys.exit(1)
    count = sum(1 for _ in kb.listed_countries())
    print(f"knowledge base OK: {count} countries in {len(kb.regions)} regions")


if __name__ == "__main__":
    main()
