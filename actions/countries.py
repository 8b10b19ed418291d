"""Recognising countries and regions in what a visitor writes.

Country names come from ``country_converter`` (its names and regular expressions cover
official, short and historical names: Viet Nam, Swaziland, Türkiye, Congo-Kinshasa, ...).
The knowledge base adds only what that library lacks (abbreviations such as "DRC") and the
source's own spellings. Typos ("Keyna") are caught by ``rapidfuzz`` against the same names.
Regions and sub-regions are the knowledge base's own, found with a spaCy PhraseMatcher.
French and Spanish visitors are understood too: every country's French and Spanish names
from the CLDR (Babel), the knowledge base's region names in each language, and the three
languages' stop words (a French "de" is not Germany's ISO code).

Nothing here echoes the visitor's text: every match is reported by its canonical name.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import country_converter
import spacy
from rapidfuzz import fuzz, process
from spacy.lang.es.stop_words import STOP_WORDS as SPANISH_STOP_WORDS
from spacy.lang.fr.stop_words import STOP_WORDS as FRENCH_STOP_WORDS
from spacy.matcher import PhraseMatcher
from spacy.tokens import Span

from actions.knowledge import (
    Country,
    KnowledgeBase,
    Place,
    Region,
    Subregion,
    iso3_codes,
    load_knowledge_base,
)
from actions.knowledge_languages import country_name, knowledge_in

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
class CountryMatch:
    iso3: str
    name: str
    listing: Optional[Tuple[Country, Subregion, Region]]

    @property
    def is_listed(self) -> bool:
        return self.listing is not None


def _fold(text: str) -> str:
    """Lower-case, strip accents and punctuation that visitors use inconsistently."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.lower().replace("’", "'").replace("-", " ")
    text = re.sub(r"[^\w' ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def _strip_article(text: str) -> str:
    return re.sub(r"^(?:(?:the|le|la|les|el|los|las) +|l')", "", text)


class PlaceResolver:
    """Answers "which country / region does this text mention?" against one knowledge base."""

    def __init__(self, knowledge: KnowledgeBase, translations: Sequence[KnowledgeBase] = ()) -> None:
        """``translations``: the same knowledge base in other languages, whose region and
        sub-region names are understood as well (each answers with this one's place)."""
        self._knowledge = knowledge
        self._converter = country_converter.CountryConverter()
        self._names = self._country_names()
        # French and Spanish names (the CLDR's) are a second tier, tried when the English
        # names and expressions find nothing: Spanish "Congo" is the Republic of the Congo,
        # which must not take "democratic republic of congo" from the other Congo.
        self._translated = self._translated_names()
        self._nlp = spacy.blank("en")
        self._stop_words = frozenset(self._nlp.Defaults.stop_words | FOREIGN_STOP_WORDS)
        self._country_matcher = self._phrase_matcher(self._names)
        self._translated_matcher = self._phrase_matcher(self._translated)
        self._places: Dict[str, Place] = {}
        for translated in [knowledge, *translations]:
            for place, same in zip(knowledge.places(), translated.places(), strict=True):
                for name in [same.name, same.label, *place.aliases]:
                    self._places.setdefault(_fold(name), place)
        self._place_matcher = self._phrase_matcher(self._places)
        self._known_codes = iso3_codes()  # the knowledge base's codes were checked against it
        self._codes_by_word = self._listed_codes_by_word()

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
        names.pop("", None)
        return names

    def _translated_names(self) -> Dict[str, str]:
        """Folded French or Spanish name -> ISO3, for names the English ones lack."""
        names: Dict[str, str] = {}
        for language in OTHER_LANGUAGES:
            for iso3 in self._converter.data["ISO3"]:
                translated = _fold(country_name(iso3, language, ""))
                if translated and translated not in self._names:
                    names.setdefault(translated, iso3)
        return names

    def _listed_codes_by_word(self) -> Dict[str, List[str]]:
        """Each word of a listed country's names -> the listed countries using it."""
        words: Dict[str, set] = {}
        for country, _, _ in self._knowledge.listed_countries():
            for name in [country.name, country.label, *country.aliases]:
                for word in _fold(name).split():
                    words.setdefault(word, set()).add(country.iso3)
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
        best = process.extractOne(text, self._names.keys(), scorer=fuzz.ratio, score_cutoff=cutoff)
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
        phrases = self._phrases(folded, self._country_matcher)
        if phrases:
            return [self._names[phrases[0]]]
        code = self._by_regex(folded)
        if code:
            return [code]
        translated = self._translated_spans(folded)
        if translated:
            return translated[:1]
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

    def _scan_text(self, text: str) -> List[str]:
        """Countries a whole message names by a known name or a library expression.

        The library's expressions are tried on the words no known name covered, so that
        "Viet Nam" is not also read as "Nam(ibia)", nor "Guinea-Bissau" as "Guinea".
        """
        folded = _fold(text[:MAX_SCANNED_CHARS])
        spans = self._phrase_spans(folded, self._country_matcher)
        codes = [self._names[span.text.lower()] for span in spans]
        covered = {token.i for span in spans for token in span}
        rest = " ".join(t.text for t in self._nlp.make_doc(folded) if t.i not in covered)
        whole = self._by_regex(rest)
        if whole:
            return codes + [whole]
        for candidate in self._candidates(rest):
            shared = self._shared_word(candidate)
            code = None if shared else self._by_regex(candidate)
            codes += shared or ([code] if code else [])
        return codes or self._translated_spans(folded)

    def _candidates(self, folded: str) -> List[str]:
        """Words and word pairs that could be a country name, stop words left out."""
        stop_words = self._stop_words
        words = [w for w in folded.split() if w not in stop_words][:MAX_CANDIDATE_WORDS]
        return [" ".join(pair) for pair in zip(words, words[1:], strict=False)] + words

    def _scan_typos(self, text: str) -> List[str]:
        """The first misspelt country name in a message (a last resort: it can misfire).
        Words that name a region are not candidates: "south asian" is not "South Sudan"."""
        folded = _fold(text[:MAX_SCANNED_CHARS])
        covered = {token.i for span in self._phrase_spans(folded, self._place_matcher) for token in span}
        rest = " ".join(t.text for t in self._nlp.make_doc(folded) if t.i not in covered)
        for candidate in self._candidates(rest):
            code = len(candidate) > MIN_TYPO_LENGTH and self._by_typo(candidate, TEXT_TYPO_CUTOFF)
            if code:
                return [code]
        return []

    def countries(self, text: str, mentions: Sequence[str] = ()) -> List[CountryMatch]:
        """Countries named in a message: the NLU's country entities and known names in the
        text; a misspelt name in the text only when nothing else was found."""
        mentions = [m for m in mentions if _strip_article(_fold(m)) not in self._places]
        codes = [code for mention in mentions for code in self._resolve_mention(mention)]
        codes += self._scan_text(text or "")
        if not codes:
            codes = self._scan_typos(text or "")
        unique = list(dict.fromkeys(codes))[:MAX_COUNTRIES_PER_MESSAGE]
        return [self._match(code) for code in unique]

    # -- regions ------------------------------------------------------------------------

    def place(self, text: str, mentions: Sequence[str] = ()) -> Optional[Place]:
        """The region or sub-region a message names (the most specific one), if any."""
        for candidate in [*mentions, text or ""]:
            folded = _strip_article(_fold(candidate[:MAX_SCANNED_CHARS]))
            if folded in self._places:
                return self._places[folded]
            names = self._phrases(folded, self._place_matcher)
            if names:
                return self._places[max(names, key=len)]
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
