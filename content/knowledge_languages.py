"""The knowledge base in French and Spanish: the English file with an overlay of its
translated texts (``content/knowledge/apt.fr.yml``, ``content/knowledge/apt.es.yml``), and country names
from the CLDR (Babel), so that no country name is typed twice.

``KB_TEXTS`` says which fields of ``content/knowledge/apt.yml`` a visitor reads, and how an overlay's
list items find their English item: by a key that is not translated (``id``, a contact's
``name``), or by position where the name itself is the text (regions and sub-regions).
Everything else (ISO codes, aliases, flags, the postal address) comes from the English file.
Each language's knowledge base is merged and validated once per process;
``tests/unit/content/test_translations.py`` checks that an overlay translates every text and nothing else.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Union

import country_converter
import yaml
from babel import Locale

from apt_settings import settings
from content.knowledge import KnowledgeBase, load_knowledge_base, parse_knowledge_base


class Text:
    """A text a visitor reads."""


TEXT = Text()


@dataclass(frozen=True)
class ByKey:
    """A list whose items the overlay names by a key of the English item (not translated)."""

    key: str
    item: Dict[str, Any]


@dataclass(frozen=True)
class ByPosition:
    """A list whose items have no key that stays the same in translation (the region names):
    the overlay lists every item, in the English order."""

    item: Dict[str, Any]


Spec = Union[Text, ByKey, ByPosition, Dict[str, Any]]

# The visitor-facing texts of content/knowledge/apt.yml (see content/knowledge.py and actions/answers.py).
# Deliberately absent: country names (from CLDR via Babel), ISO codes, aliases (what visitors
# may type, not what they read), partner/excluded/matches flags, and the postal address, which is
# not translated. A field missing from the English item (a region without `display`) is not asked.
KB_TEXTS: Dict[str, Spec] = {
    "organisation": {
        "name": TEXT,
        "short_name": TEXT,
        "kind": TEXT,
        "approach": TEXT,
        "vision": TEXT,
        "operations": TEXT,
        "budget": TEXT,
    },
    "objectives": ByKey("id", {"title": TEXT, "text": TEXT}),
    "activities": ByKey("id", {"title": TEXT, "text": TEXT}),
    "opcat": {"name": TEXT, "text": TEXT},
    "contacts": ByKey("name", {"role": TEXT}),
    "partners": ByKey("id", {"name": TEXT, "text": TEXT}),
    "cinat": {"name": TEXT, "text": TEXT},
    "regions": ByPosition({"name": TEXT, "display": TEXT, "subregions": ByPosition({"name": TEXT})}),
    "region_groups": ByKey("id", {"name": TEXT}),
    "partnership": {
        "organisation_types": ByKey("id", {"label": TEXT}),
        "work_areas": ByKey("id", {"label": TEXT}),
    },
}


def merged(english: Any, overlay: Any, spec: Spec = KB_TEXTS, key: str = "") -> Any:
    """The English with the overlay's texts in place, matching list items as ``KB_TEXTS`` says
    (what the loader is to do; here to check the result against the schema)."""
    if isinstance(spec, Text):
        return overlay
    if isinstance(spec, dict):
        result = copy.deepcopy(english)
        for field, field_spec in spec.items():
            if field in overlay and field in english:
                result[field] = merged(english[field], overlay[field], field_spec)
        return result
    if isinstance(spec, ByPosition):
        return [merged(en, tr, spec.item) for en, tr in zip(english, overlay, strict=True)]
    given = {item[spec.key]: item for item in overlay}
    return [merged(item, given.get(item[spec.key], {}), spec.item) for item in english]


def overlay_path(knowledge_path: Path, language: str) -> Path:
    return knowledge_path.with_name(f"{knowledge_path.stem}.{language}{knowledge_path.suffix}")


@functools.cache
def _iso2_by_iso3() -> Dict[str, str]:
    data = country_converter.CountryConverter().data
    # A few ISO2 cells are patterns ("^GB$|^UK$"): the code is the first alternative.
    return {
        row.ISO3: str(row.ISO2).split("|")[0].strip("^$")
        for row in data[["ISO3", "ISO2"]].itertuples(index=False)
    }


@functools.cache
def iso3_by_iso2() -> Dict[str, str]:
    """ISO 3166-1 alpha-2 -> alpha-3, for data keyed by the two-letter codes (GeoNames)."""
    return {iso2: iso3 for iso3, iso2 in _iso2_by_iso3().items()}


def country_name(iso3: str, language: str, english: str) -> str:
    """A country's name in ``language`` from the CLDR; ``english`` where it has none."""
    if language == "en":
        return english
    territories = Locale.parse(language).territories
    return str(territories.get(_iso2_by_iso3().get(iso3, ""), english))


def _with_country_names(raw: Dict[str, Any], language: str) -> Dict[str, Any]:
    for region in raw.get("regions") or []:
        for subregion in region.get("subregions") or []:
            for country in subregion.get("countries") or []:
                country["display"] = country_name(
                    country["iso3"], language, country.get("display") or country["name"]
                )
    return raw


@functools.cache
def knowledge_in(language: str) -> KnowledgeBase:
    """The knowledge base as visitors read it in ``language`` (``en``, ``fr``, ``es``)."""
    if language == "en":
        return load_knowledge_base()
    path = Path(settings().knowledge_base)
    english = yaml.safe_load(path.read_text(encoding="utf-8"))
    overlay = yaml.safe_load(overlay_path(path, language).read_text(encoding="utf-8"))
    raw = {**_with_country_names(merged(english, overlay), language), "language": language}
    return parse_knowledge_base(raw, str(overlay_path(path, language)))
