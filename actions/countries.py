"""Recognising countries and regions in what a visitor writes.

Country names come from ``country_converter`` (its names and regular expressions cover
official, short and historical names: Viet Nam, Swaziland, Türkiye, Congo-Kinshasa, ...).
The knowledge base adds only what that library lacks (abbreviations such as "DRC") and the
source's own spellings. Typos ("Keyna") are caught by ``rapidfuzz`` against the same names.
Regions and sub-regions are the knowledge base's own, found with a spaCy PhraseMatcher.
French and Spanish visitors are understood too: every country's French and Spanish names
from the CLDR (Babel), the knowledge base's region names in each language, and the three
languages' stop words (a French "de" is not Germany's ISO code).

Cities name their country ("Lagos", "Rangoon", "Katmandou"): GeoNames' cities, in
``actions/gazetteer.py``, tried only when no country name is found, and never read as a
misspelt country ("Lagos" is not "Laos").

Nothing here echoes the visitor's text: every match is reported by its canonical name.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Set, Tuple, Union

import country_converter
import spacy
from rapidfuzz import fuzz, process
from spacy.lang.es.stop_words import STOP_WORDS as SPANISH_STOP_WORDS
from spacy.lang.fr.stop_words import STOP_WORDS as FRENCH_STOP_WORDS
from spacy.matcher import PhraseMatcher
from spacy.tokens import Span

from actions.gazetteer import Cities, load_cities
from content.knowledge import (
    Country,
    KnowledgeBase,
    Region,
    Subregion,
    iso3_codes,
    load_knowledge_base,
)
from content.knowledge_languages import country_name, iso3_by_iso2, knowledge_in
from content.m49 import M49, m49

OTHER_LANGUAGES = ("fr", "es")
# French and Spanish little words are not country codes either ("de" is not Germany, "es" not
# Spain); "usa" (Spanish for "uses") stays a name: visitors mean the USA.
FOREIGN_STOP_WORDS = (FRENCH_STOP_WORDS | SPANISH_STOP_WORDS) - {"usa"}

# country_converter logs every name it cannot match; a miss is normal here.
logging.getLogger("country_converter").setLevel(logging.ERROR)

# Similarity (0-100) for a typo. An entity the NLU model tagged as a country is almost
# certainly one, so it gets a lower bar than a word picked out of a whole sentence.
ENTITY_TYPO_CUTOFF = 78
TEXT_TYPO_CUTOFF = 80
MIN_TYPO_LENGTH = 4
MAX_COUNTRIES_PER_MESSAGE = 6
# Country names sit near the start of a question; the regular expressions of
# country_converter are slow on long inputs, so very long messages are scanned in part.
MAX_SCANNED_CHARS = 300
MAX_REGEX_INPUT = 80
MAX_CANDIDATE_WORDS = 40
MAX_SHARED_WORD_COUNTRIES = 3


@dataclass(frozen=True)
class Area:
    """A region the profile does not use as a heading: one of the UN's ("the Caribbean",
    "Sub-Saharan Africa", by its M49 code) or a group of the knowledge base ("MENA", "the
    Sahel", by its id). It is answered with the profile's sub-regions inside it, if any, and
    for a group made of countries, with only those countries of each sub-region."""

    key: str
    sub_regions: FrozenSet[str]  # the M49 codes of the sub-regions it covers
    name: str  # in English, for the conversation's slot
    countries: Optional[FrozenSet[str]] = None  # ISO3 codes, for a group made of countries

    def subregions_in(self, knowledge: KnowledgeBase) -> List[Subregion]:
        """The profile's sub-regions inside this area, in the profile's order; for a group
        made of countries, each with only the group's countries, and only where it has one."""
        inside = [
            sub for region in knowledge.regions for sub in region.subregions if sub.m49 in self.sub_regions
        ]
        if self.countries is None:
            return inside
        kept = [
            sub.copy(update={"countries": [c for c in sub.countries if c.iso3 in self.countries]})
            for sub in inside
        ]
        return [sub for sub in kept if sub.countries]


Where = Union[Region, Subregion, Area]


@dataclass(frozen=True)
class CountryMatch:
    iso3: str
    name: str
    listing: Optional[Tuple[Country, Subregion, Region]]

    @property
    def is_listed(self) -> bool:
        return self.listing is not None


def _fold(text: str) -> str:
    """Lower-case, strip accents and punctuation that visitors use inconsistently."""
    if not text.isascii():  # the decomposition changes nothing in plain ASCII (most names)
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.lower().replace("’", "'").replace("-", " ")
    text = re.sub(r"[^\w' ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _strip_article(text: str) -> str:
    return re.sub(r"^(?:(?:the|le|la|les|el|los|las) +|l')", "", text)


@dataclass(frozen=True)
class _Word:
    """A word of a message as the city scan reads it: folded, and how it was written."""

    text: str
    capitalised: bool
    starts_sentence: bool


_WORD_OR_STOP = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[.!?¿¡:;]")
_ELISION = re.compile(r"^(?:[ldjmnstc]|qu)'(?=\w)")


def _words(text: str) -> List[_Word]:
    """The words of a message, each folded (as ``_fold`` does) with its capital letter and
    whether it starts a sentence; French elisions are dropped ("d'Abidjan" is "abidjan")."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace("’", "'").replace("-", " ")
    words: List[_Word] = []
    start = True
    for token in _WORD_OR_STOP.findall(text):
        if not token[0].isalnum():
            start = True
            continue
        token = _ELISION.sub("", token)
        words.append(_Word(token.lower(), token[:1].isupper(), start))
        start = False
    return words


# French and Spanish feminine endings of adjectives of nationality ("tchadien" -> "tchadienne",
# "hondureño" -> "hondureña", "ugandés" -> "ugandesa", "turc" -> "turque"); any other takes -e.
_FEMININE_ENDINGS = (
    ("ien", "ienne"),
    ("een", "eenne"),
    ("on", "onne"),
    ("on", "ona"),
    ("o", "a"),
    ("es", "esa"),
    ("an", "ane"),
    ("in", "ine"),
    ("c", "que"),
)


def _inflections(adjective: str) -> Set[str]:
    """A folded adjective of nationality with its feminine and plural forms in French and
    Spanish. Forms that are no word of either language are harmless: they are only ever
    matched as written."""
    if " " in adjective:
        return {adjective}
    feminines = {
        adjective[: -len(ending)] + feminine
        for ending, feminine in _FEMININE_ENDINGS
        if adjective.endswith(ending)
    }
    feminines.add(adjective if adjective.endswith("e") else adjective + "e")
    forms: Set[str] = set()
    for form in {adjective, *feminines}:
        forms |= {form, form + "es"} if form.endswith(("s", "x")) else {form + "s", form + "es"}
        forms.add(form)
    return forms


class PlaceResolver:
    """Answers "which country / region does this text mention?" against one knowledge base."""

    def __init__(self, knowledge: KnowledgeBase, translations: Sequence[KnowledgeBase] = ()) -> None:
        """``translations``: the same knowledge base in other languages, whose region and
        sub-region names are understood as well (each answers with this one's place)."""
        self._knowledge = knowledge
        self._converter = country_converter.CountryConverter()
        self._adjectives = self._adjective_forms()
        self._names = self._country_names()
        # Adjectives are matched as written, never as a typo: "turno" is not a misspelt "turco".
        self._typo_names = list(self._names)
        for form, codes in self._adjectives.items():
            if len(codes) == 1:  # one shared by several countries ("congolais") names them all
                self._names.setdefault(form, next(iter(codes)))
        # French and Spanish names (the CLDR's) are a second tier, tried when the English
        # names and expressions find nothing: Spanish "Congo" is the Republic of the Congo,
        # which must not take "democratic republic of congo" from the other Congo.
        self._translated = self._translated_names()
        self._nlp = spacy.blank("en")
        self._stop_words = frozenset(self._nlp.Defaults.stop_words | FOREIGN_STOP_WORDS)
        self._country_matcher = self._phrase_matcher(self._names)
        self._translated_matcher = self._phrase_matcher(self._translated)
        self._places = self._place_names(knowledge, translations)
        self._place_matcher = self._phrase_matcher(self._places)
        self._known_codes = iso3_codes()  # the knowledge base's codes were checked against it
        self._codes_by_word = self._listed_codes_by_word()
        self._cities: Cities = load_cities(_fold, iso3_by_iso2(), self._stop_words)

    # -- construction -------------------------------------------------------------------

    def _country_names(self) -> Dict[str, str]:
        """Folded name -> ISO3, from the library first, then the knowledge base."""
        names: Dict[str, str] = {}
        data = self._converter.data
        for row in data[["ISO3", "name_short", "name_official"]].itertuples(index=False):
            for name in (row.name_short, row.name_official):
                if isinstance(name, str) and name:
                    names.setdefault(_fold(name), row.ISO3)

        for country, _, _ in self._knowledge.listed_countries():
            for name in [country.name, country.label, *country.aliases]:
                names[_fold(name)] = country.iso3
                names[_fold(re.sub(r"\(.*?\)", "", name))] = country.iso3
        for other in self._knowledge.other_country_names:
            for name in other.names:
                names.setdefault(_fold(name), other.iso3)
        names.pop("", None)
        return names

    def _adjective_forms(self) -> Dict[str, Set[str]]:
        """Each form of the listed countries' adjectives -> the countries it names."""
        forms: Dict[str, Set[str]] = {}
        for country, _, _ in self._knowledge.listed_countries():
            for adjective in country.adjectives:
                for form in _inflections(_fold(adjective)):
                    forms.setdefault(form, set()).add(country.iso3)
        return forms

    @staticmethod
    def _place_names(knowledge: KnowledgeBase, translations: Sequence[KnowledgeBase]) -> Dict[str, Where]:
        """Folded name -> region, sub-region or area: the knowledge base's names in each
        language and aliases first, then the UN regions' names in the three languages (the
        profile's own place where it has the region's code), then the knowledge base's groups."""
        places: Dict[str, Where] = {}
        for translated in [knowledge, *translations]:
            for place, same in zip(knowledge.places(), translated.places(), strict=True):
                for name in [same.name, same.label, *place.aliases]:
                    places.setdefault(_fold(name), place)
        table = m49()
        by_code: Dict[str, Where] = {place.m49: place for place in knowledge.places()}
        for code, names in table.names().items():
            where = by_code.get(code) or Area(code, table.sub_regions(code), M49.name(code, "en"))
            for name in names:
                places.setdefault(_fold(name), where)
        for number, group in enumerate(knowledge.region_groups):
            if group.countries:  # the profile's sub-regions that hold one of its countries
                covered = frozenset(
                    sub.m49
                    for region in knowledge.regions
                    for sub in region.subregions
                    if any(c.iso3 in group.countries for c in sub.countries)
                )
                area = Area(group.id, covered, group.name, frozenset(group.countries))
            else:
                covered = frozenset(leaf for code in group.m49 for leaf in table.sub_regions(code))
                area = Area(group.id, covered, group.name)
            names = [t.region_groups[number].name for t in [knowledge, *translations]]
            for name in [*names, *group.aliases]:
                places.setdefault(_fold(name), area)
        places.pop("", None)
        return places

    def _translated_names(self) -> Dict[str, str]:
        """Folded French or Spanish name -> ISO3, for names the English ones lack."""
        names: Dict[str, str] = {}
        for language in OTHER_LANGUAGES:
            for iso3 in self._converter.data["ISO3"]:
                written = country_name(iso3, language, "")
                # "Myanmar (Birmanie)": each part is a name too, unless it names another
                # country ("RAE de Hong Kong (China)").
                outside, _, inside = written.partition("(")
                for name in (written, outside, inside.rstrip(")")):
                    translated = _fold(name)
                    if (
                        translated
                        and translated not in self._names
                        and (name is written or translated not in names)
                    ):
                        names.setdefault(translated, iso3)
        return names

    def _listed_codes_by_word(self) -> Dict[str, List[str]]:
        """Each word of a listed country's names -> the listed countries using it."""
        words: Dict[str, set] = {}
        for country, _, _ in self._knowledge.listed_countries():
            for name in [country.name, country.label, *country.aliases]:
                for word in _fold(name).split():
                    words.setdefault(word, set()).add(country.iso3)
        for form, codes in self._adjectives.items():
            if " " not in form:
                words.setdefault(form, set()).update(codes)
        return {word: sorted(codes) for word, codes in words.items()}

    def _phrase_matcher(self, names: Iterable[str]) -> PhraseMatcher:
        matcher = PhraseMatcher(self._nlp.vocab, attr="LOWER")
        matcher.add("NAME", [self._nlp.make_doc(name) for name in names])
        return matcher

    # -- countries ----------------------------------------------------------------------

    def _match(self, iso3: str) -> CountryMatch:
        listing = self._knowledge.locate(iso3)
        if listing:
            name = listing[0].label
        else:
            name = self._converter.convert(iso3, src="ISO3", to="name_short", not_found=None)
        return CountryMatch(iso3=iso3, name=str(name or iso3), listing=listing)

    def by_code(self, iso3: str) -> Optional[CountryMatch]:
        """A country by its ISO 3166 alpha-3 code (as stored in slots), if the code exists."""
        return self._match(iso3) if iso3 in self._known_codes else None

    def _by_regex(self, text: str) -> Optional[str]:
        # The library reads a three-letter word as an ISO code: "and" would be Andorra,
        # "can" Canada, "is" Iceland. Common English words are never a country here.
        if len(text) > MAX_REGEX_INPUT or text.strip() in self._stop_words:
            return None
        result = self._converter.convert(text, to="ISO3", not_found=None)
        return result if isinstance(result, str) and result in self._names.values() else None

    def _by_typo(self, text: str, cutoff: int) -> Optional[str]:
        if len(text) < MIN_TYPO_LENGTH:
            return None
        best = process.extractOne(text, self._typo_names, scorer=fuzz.ratio, score_cutoff=cutoff)
        return self._names[best[0]] if best else None

    def _phrase_spans(self, folded: str, matcher: PhraseMatcher) -> List[Span]:
        """Longest non-overlapping phrase matches, in the order they appear."""
        doc = self._nlp.make_doc(folded)
        spans = sorted(
            (doc[start:end] for _, start, end in matcher(doc)),
            key=lambda span: (span.start, -len(span)),
        )
        found: List[Span] = []
        for span in spans:
            if not found or span.start >= found[-1].end:
                found.append(span)
        return found

    def _phrases(self, folded: str, matcher: PhraseMatcher) -> List[str]:
        return [span.text.lower() for span in self._phrase_spans(folded, matcher)]

    def _shared_word(self, folded: str) -> List[str]:
        """Listed countries whose names all contain this one word ("Congo" names two); a
        word in many names ("republic") names none of them."""
        codes = self._codes_by_word.get(folded, [])
        return codes if 1 < len(codes) <= MAX_SHARED_WORD_COUNTRIES else []

    def _resolve_mention(self, mention: str) -> List[str]:
        """Country codes for a short string the NLU model tagged as a country."""
        folded = _strip_article(_fold(mention[:MAX_SCANNED_CHARS]))
        if not folded:
            return []
        if folded in self._names:
            return [self._names[folded]]
        shared = self._shared_word(folded)
        if shared:
            return shared
        spans = self._name_spans(folded)  # "guinea ecuatorial" is not "guinea"
        if spans:
            return [spans[0][1]]
        code = self._by_regex(folded)
        if code:
            return [code]
        translated = self._translated_spans(folded)
        if translated:
            return translated[:1]
        # A city the NLU model tagged as a place: its being tagged is the evidence a city
        # name that is also a word needs.
        if folded in self._cities.codes:
            return list(self._cities.codes[folded])
        code = self._by_typo(folded, ENTITY_TYPO_CUTOFF)
        return [code] if code else []

    def _translated_spans(self, folded: str) -> List[str]:
        """Countries named by their French or Spanish names only."""
        if folded in self._translated:
            return [self._translated[folded]]
        return [
            self._translated[span.text.lower()]
            for span in self._phrase_spans(folded, self._translated_matcher)
        ]

    def _name_spans(self, folded: str) -> List[Tuple[Span, str]]:
        """Each English country name in ``folded`` with its code, where a longer French or
        Spanish name (the CLDR's) covers it replaced by that name: "Guinea Ecuatorial" is not
        "Guinea". French and Spanish names are otherwise a second tier (``_translated_spans``):
        Spanish "Congo" must not take "democratic republic of congo" from the other Congo."""
        english = self._phrase_spans(folded, self._country_matcher)
        longer = [
            span
            for span in self._phrase_spans(folded, self._translated_matcher)
            if any(span.start <= e.start and e.end <= span.end and len(span) > len(e) for e in english)
        ]
        spans = [(s, self._translated[s.text.lower()]) for s in longer]
        spans += [
            (e, self._names[e.text.lower()])
            for e in english
            if not any(s.start < e.end and e.start < s.end for s in longer)
        ]
        return sorted(spans, key=lambda item: item[0].start)

    def _scan_text(self, text: str) -> List[str]:
        """Countries a whole message names by a known name or a library expression.

        The library's expressions are tried on the words no known name covered, so that
        "Viet Nam" is not also read as "Nam(ibia)", nor "Guinea-Bissau" as "Guinea".
        """
        folded = _fold(text[:MAX_SCANNED_CHARS])
        spans = self._name_spans(folded)
        codes = [code for _, code in spans]
        covered = {token.i for span, _ in spans for token in span}
        rest = " ".join(t.text for t in self._nlp.make_doc(folded) if t.i not in covered)
        whole = self._by_regex(rest)
        if whole:
            return codes + [whole]
        for candidate in self._candidates(rest):
            shared = self._shared_word(candidate)
            code = None if shared else self._by_regex(candidate)
            codes += shared or ([code] if code else [])
        return codes or self._translated_spans(folded)

    def _names_written(self, text: str) -> List[str]:
        """Every country name the text has, English or the CLDR's French and Spanish."""
        folded = _fold(text[:MAX_SCANNED_CHARS])
        matchers = (self._country_matcher, self._translated_matcher)
        return [span.text.lower() for matcher in matchers for span in self._phrase_spans(folded, matcher)]

    @staticmethod
    def _part_of_a_longer_name(mention: str, names: Sequence[str]) -> bool:
        """Whether the model's ``mention`` is only part of one of the longer ``names`` the
        text has: the model tagged "Guinea" in "Guinea Ecuatorial" or "Guinea-Bissau"."""
        folded = _strip_article(_fold(mention))
        return bool(folded) and any(
            name != folded and re.search(rf"(?<!\w){re.escape(folded)}(?!\w)", name) for name in names
        )

    def _candidates(self, folded: str) -> List[str]:
        """Words and word pairs that could be a country name, stop words left out."""
        stop_words = self._stop_words
        words = [w for w in folded.split() if w not in stop_words][:MAX_CANDIDATE_WORDS]
        return [" ".join(pair) for pair in zip(words, words[1:], strict=False)] + words

    def _city_spans(self, words: Sequence[_Word]) -> List[Tuple[int, int]]:
        """(start, end) of each city name in ``words``, longest first, left to right."""
        spans: List[Tuple[int, int]] = []
        start = 0
        while start < len(words):
            for end in range(min(len(words), start + self._cities.longest), start, -1):
                if " ".join(w.text for w in words[start:end]) in self._cities.codes:
                    spans.append((start, end))
                    start = end
                    break
            else:
                start += 1
        return spans

    def _scan_cities(self, text: str) -> List[str]:
        """Countries of the cities a message names. A city name that is also a common word
        counts only when the visitor wrote it with a capital inside a sentence ("we are
        based in Nice"), or wrote nothing else ("Lima?", "and Lagos?")."""
        words = _words(text[:MAX_SCANNED_CHARS])
        content = [w.text for w in words if w.text not in self._stop_words]
        codes: List[str] = []
        for start, end in self._city_spans(words):
            name = " ".join(w.text for w in words[start:end])
            alone = content == [w.text for w in words[start:end] if w.text not in self._stop_words]
            evident = alone or (words[start].capitalised and not words[start].starts_sentence)
            if name not in self._cities.common or evident:
                codes += self._cities.codes[name]
        return codes

    def _scan_typos(self, text: str) -> List[str]:
        """The first misspelt country name in a message (a last resort: it can misfire).
        Words that name a region or a city are not candidates: "south asian" is not "South
        Sudan", "lagos" not "Laos"."""
        folded = _fold(text[:MAX_SCANNED_CHARS])
        covered = {token.i for span in self._phrase_spans(folded, self._place_matcher) for token in span}
        rest = " ".join(t.text for t in self._nlp.make_doc(folded) if t.i not in covered)
        words = [_Word(word, False, False) for word in rest.split()]
        cities = {i for start, end in self._city_spans(words) for i in range(start, end)}
        rest = " ".join(w.text for i, w in enumerate(words) if i not in cities)
        for candidate in self._candidates(rest):
            code = len(candidate) > MIN_TYPO_LENGTH and self._by_typo(candidate, TEXT_TYPO_CUTOFF)
            if code:
                return [code]
        return []

    def countries(self, text: str, mentions: Sequence[str] = ()) -> List[CountryMatch]:
        """Countries named in a message: the NLU's country entities and known names in the
        text; then the countries of the cities it names; a misspelt name in the text only when
        nothing else was found."""
        written = self._names_written(text or "") if mentions else []
        mentions = [
            m
            for m in mentions
            if _strip_article(_fold(m)) not in self._places and not self._part_of_a_longer_name(m, written)
        ]
        codes = [code for mention in mentions for code in self._resolve_mention(mention)]
        codes += self._scan_text(text or "")
        if not codes:
            codes = self._scan_cities(text or "")
        if not codes:
            codes = self._scan_typos(text or "")
        unique = list(dict.fromkeys(codes))[:MAX_COUNTRIES_PER_MESSAGE]
        return [self._match(code) for code in unique]

    # -- regions ------------------------------------------------------------------------

    def subregion_of(self, match: CountryMatch) -> Optional[Where]:
        """The sub-region a country is in: the profile's for a listed country, else its UN M49
        sub-region ("Bolivia": South America), as the knowledge base names it."""
        if match.listing is not None:
            return match.listing[1]
        name = self._converter.convert(match.iso3, src="ISO3", to="UNregion", not_found=None)
        return self.place(name) if isinstance(name, str) and name else None

    def place(self, text: str, mentions: Sequence[str] = ()) -> Optional[Where]:
        """The region, sub-region or other area a message names (the longest name), if any.
        The model's mention first, unless it is only part of a longer name in the text: it
        often tags "Asia" in "Central Asia"."""
        in_text = self._phrases(_strip_article(_fold((text or "")[:MAX_SCANNED_CHARS])), self._place_matcher)
        longest = max(in_text, key=len) if in_text else None
        for candidate in [*mentions, text or ""]:
            folded = _strip_article(_fold(candidate[:MAX_SCANNED_CHARS]))
            names = [folded] if folded in self._places else self._phrases(folded, self._place_matcher)
            if not names:
                continue
            name = max(names, key=len)
            if longest and longest != name and re.search(rf"(?<!\w){re.escape(name)}(?!\w)", longest):
                name = longest
            return self._places[name]
        return None


_resolvers: Dict[int, PlaceResolver] = {}


def resolver_for(knowledge: KnowledgeBase) -> PlaceResolver:
    """One resolver per knowledge base: building it loads the country tables and spaCy.

    Keyed by identity: the resolver holds its knowledge base, so the id stays unique.
    """
    if id(knowledge) not in _resolvers:
        # The project's knowledge base also has its French and Spanish place names.
        translations = (
            [knowledge_in(language) for language in OTHER_LANGUAGES]
            if knowledge is load_knowledge_base()
            else []
        )
        _resolvers[id(knowledge)] = PlaceResolver(knowledge, translations)
    return _resolvers[id(knowledge)]
