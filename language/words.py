"""The few words Python adds inside a reply, in each language: a list joined ("a, b and c",
by the CLDR's list patterns, from Babel), a number of countries ("3 countries", "3 pays",
"3 países", by the CLDR's plural rules) and a count per place ("30 in Africa", "13 aux
Amériques", with the place's form after "in" from language/grammar.py). They are data
inside a response's sentence, never a sentence of their own; their wording lives with the
language's other wording (``list_words`` in ``wording/<language>.yml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Dict, Sequence

import yaml
from babel import Locale
from babel.lists import format_list

from language import LANGUAGES
from language.grammar import place_forms
from language.wording import WORDING


@dataclass(frozen=True)
class ListWords:
    language: str
    countries_forms: Dict[str, str]  # CLDR plural category ("one", "other") -> "{count} ..."
    count_in_form: str  # "{count} {place_in}": "30 in Africa", "30 en Afrique"

    def join(self, names: Sequence[str]) -> str:
        """ "a, b and c" in this language: the CLDR's pattern, but in English the APT's own
        style, without the serial comma (the CLDR's English has it)."""
        names = list(names)
        if self.language == "en" and len(names) > 1:
            return f"{', '.join(names[:-1])} and {names[-1]}"
        return format_list(names, locale=self.language) if names else ""

    def countries(self, count: int) -> str:
        category = Locale.parse(self.language).plural_form(count)
        form = self.countries_forms.get(category) or self.countries_forms["other"]
        return form.format(count=count)

    def count_in(self, count: int, place: str) -> str:
        return self.count_in_form.format(count=count, place_in=place_forms(place, self.language).in_)


@cache
def list_words(language: str) -> ListWords:
    if language not in LANGUAGES:
        raise ValueError(f"{language!r} is not one of {', '.join(LANGUAGES)}")
    data = yaml.safe_load((WORDING / f"{language}.yml").read_text(encoding="utf-8"))["list_words"]
    return ListWords(language, dict(data["countries"]), str(data["count_in"]))
