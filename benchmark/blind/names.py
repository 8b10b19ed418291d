"""The things a reply names (countries, regions, activities), in any of the three languages,
brought back to one comparable form.

A French reply names "le Sénégal" or "Afrique de l'Ouest" where the set writes
``country_listed:Senegal`` or ``region:Western Africa``: countries are compared by their ISO
3166 alpha-3 code (the knowledge base's names in each language, then country_converter's and
the CLDR's names, then the project's own place resolver, :mod:`actions.countries`), regions
and sub-regions by their English name (the translated knowledge bases list the same places in
the same order), and activities by their knowledge-base id. Text is never compared with text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cached_property
from typing import Dict, Optional

import country_converter

from actions.countries import resolver_for
from benchmark.blind.blindset import LANGUAGES
from content.knowledge import KnowledgeBase, iso3_codes, load_knowledge_base
from content.knowledge_languages import country_name, knowledge_in


def fold(text: str) -> str:
    """Case, accents, apostrophes and spacing set aside."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("’", "'"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split())


# An article before a name ("le Sénégal", "las Filipinas") is not part of it.
ARTICLE = re.compile(r"^(?:the|le|la|les|l'|el|los|las) *")


class Names:
    """Lookups built once from the knowledge base in each language."""

    @cached_property
    def english(self) -> KnowledgeBase:
        return load_knowledge_base()

    @cached_property
    def _converter(self) -> country_converter.CountryConverter:
        return country_converter.CountryConverter()

    @cached_property
    def _country_codes(self) -> Dict[str, str]:
        """Folded name -> ISO3: every listed country's names as each language shows them."""
        codes: Dict[str, str] = {}
        for language in LANGUAGES:
            for country, _, _ in knowledge_in(language).listed_countries():
                for name in (country.name, country.label, *country.aliases):
                    codes.setdefault(fold(name), country.iso3)
        return codes

    @cached_property
    def _world_codes(self) -> Dict[str, str]:
        """Folded name -> ISO3 for every country: country_converter's English names and the
        CLDR's French and Spanish ones, which the assistant shows for unlisted countries."""
        codes: Dict[str, str] = {}
        for row in self._converter.data[["ISO3", "name_short", "name_official"]].itertuples(index=False):
            for name in (row.name_short, row.name_official):
                if isinstance(name, str) and name:
                    codes.setdefault(fold(name), row.ISO3)
        for language in LANGUAGES[1:]:
            for iso3 in self._converter.data["ISO3"]:
                name = country_name(iso3, language, "")
                if name:
                    codes.setdefault(fold(name), iso3)
        return codes

    @cached_property
    def _places(self) -> Dict[str, str]:
        """Folded region or sub-region name (any language) -> its English name."""
        places: Dict[str, str] = {}
        for language in LANGUAGES:
            for english, same in zip(self.english.places(), knowledge_in(language).places(), strict=True):
                for name in (same.name, same.label):
                    places.setdefault(fold(name), english.name)
        return places

    @cached_property
    def _activities(self) -> Dict[str, str]:
        """Folded activity title (any language) -> the activity's id."""
        return {
            fold(activity.title): activity.id
            for language in LANGUAGES
            for activity in knowledge_in(language).activities
        }

    def country_code(self, name: str) -> Optional[str]:
        """The ISO3 code of a country named in any of the three languages, or None."""
        folded = ARTICLE.sub("", fold(name))
        found = self._country_codes.get(folded) or self._world_codes.get(folded)
        if found:
            return found
        # country_converter gives back what it cannot match: only a real code counts.
        converted = self._converter.convert(name, to="ISO3", not_found=None)
        if isinstance(converted, str) and converted in iso3_codes():
            return converted
        matches = resolver_for(self.english).countries(name)
        return matches[0].iso3 if matches else None

    def listed(self, iso3: str) -> bool:
        return self.english.locate(iso3) is not None

    def country_label(self, iso3: str) -> str:
        """The set's name for a country: the profile's, else the common English one."""
        listing = self.english.locate(iso3)
        if listing:
            return listing[0].name
        name = self._converter.convert(iso3, src="ISO3", to="name_short", not_found=None)
        return str(name or iso3)

    def place(self, name: str) -> Optional[str]:
        """The English name of a region or sub-region named in any language, or None. A reply
        names places as the knowledge base does; a second-chance button carries the visitor's
        words ("Southeast Asia"), read as the project's place resolver reads them."""
        found = self._places.get(fold(name))
        if found or not name.strip():
            return found
        place = resolver_for(self.english).place(name)
        return place.name if place else None

    def activity(self, title: str) -> Optional[str]:
        return self._activities.get(fold(title))

    @cached_property
    def _places_by_code(self) -> Dict[str, str]:
        """A region's or sub-region's UN code -> its English name."""
        return {place.m49: place.name for place in self.english.places()}

    def place_of_code(self, code: str) -> Optional[str]:
        """The English name of the profile's region or sub-region with this UN code, or None
        (a region the profile does not use as a heading, or a group of the knowledge base)."""
        return self._places_by_code.get(code)
