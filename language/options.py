"""Which option of the funding check a free answer names, in any of the three languages.

The funding check asks the kind of organisation and the kind of work with buttons, but many
visitors type: the button's own label ("ONG", "Institución académica"), a name of the option
(``aliases`` in ``content/knowledge/apt.yml``: "law faculty", "défenseur des droits"), a close
spelling of one, or a sentence of their own ("we monitor police cells", "formamos a guardias
penitenciarios"). The last are read by ``keywords``: groups of word stems, one word of each
group needed ("monitor" or "visit" ..., and "cell" or "prison" ...), so that a kind of answer is
recognised rather than a list of sentences.

Used by the action server to validate the answers (actions/funding.py) and by the Rasa server to
read a message as the answer to the question the form asked (server/patches/form_answers.py).
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from typing import Dict, List, Optional, Sequence, Tuple, TypeVar

from rapidfuzz import fuzz, process

from content.knowledge import OrganisationType, WorkArea
from language import LANGUAGES
from language.wording import english_responses, responses_in

ALIAS_CUTOFF = 85
MAX_READ_CHARS = 300

Option = TypeVar("Option", OrganisationType, WorkArea)

# The questions whose buttons name the options, and the entity their payloads set.
QUESTION_BUTTONS = {"organisation_type": "utter_ask_organisation_type", "work_area": "utter_ask_work_area"}


def fold(text: str) -> str:
    """Lower case, accents and punctuation removed: visitors type "institucion academica"."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", re.sub(r"[^\w ]+", " ", text)).strip()


@cache
def button_titles(entity: str) -> Dict[str, List[str]]:
    """Option id -> the titles of its button in every language: a visitor who types the
    button's label ("ONG", "Institución académica") means that option."""
    titles: Dict[str, List[str]] = {}
    for language in LANGUAGES:
        for variation in responses_in(language, english_responses())[QUESTION_BUTTONS[entity]]:
            for button in variation.get("buttons") or []:
                payload = str(button.get("payload") or "").replace("{{", "{").replace("}}", "}")
                entities = json.loads(payload[payload.index("{") :]) if "{" in payload else {}
                if entity in entities:
                    titles.setdefault(str(entities[entity]), []).append(str(button.get("title")))
    return titles


def aliases_of(option: Option) -> List[str]:
    answer: str = "organisation_type" if isinstance(option, OrganisationType) else "work_area"
    return [*option.aliases, *button_titles(answer).get(option.id, [])]


SHORT_STEM = 3

# A clause of a free answer ends at punctuation or at "but" ("we don't visit prisons but we write
# reports", "nous ne faisons pas de monitoring, nous faisons de la sensibilisation"); read before
# folding, which drops punctuation. "Sans but lucratif" is no "but".
_CLAUSE_END = re.compile(
    r"[,;:.!?()]+|\b(?:but(?!\s+lucratif)|mais|pero|sino|rather|plut[oô]t|instead)\b", re.IGNORECASE
)
# A negation in a clause (folded), which denies what follows it: "we don t monitor prisons",
# "not an NGO", "nous ne faisons pas de monitoring", "on n est pas une ONG", "no somos una ONG".
# Not the "not" and "no" of an option's own name ("not for profit", "organización no
# gubernamental").
_NEGATED_CLAUSE = re.compile(
    r"\b(?:not(?!\s+for\s+profit)|don t|doesn t|didn t|aren t|isn t|wasn t|never|no longer|neither|nor"
    r"|ne|n|pas|jamais|aucun|aucune|ni"
    r"|no(?!\s+(?:gubernamental|gouvernemental|governmental|profit|lucrativ))|nunca|tampoco|ningun|ninguna)\b"
)


def affirmed(text: str) -> str:
    """``text`` folded, without what each clause denies, from its negation on: "we don't visit
    prisons but we write reports" -> "we we write reports"; "nous sommes une ONG qui ne reçoit
    pas de fonds" keeps "nous sommes une ong qui"."""
    kept = []
    for clause in _CLAUSE_END.split(text.replace("’", "'")):
        folded = fold(clause)
        negation = _NEGATED_CLAUSE.search(folded)
        kept.append(folded[: negation.start()].strip() if negation else folded)
    return " ".join(part for part in kept if part)


@cache
def _stem_pattern(stems: Tuple[str, ...]) -> re.Pattern[str]:
    """Words starting with one of ``stems`` (folded); a stem of three letters or fewer ("ong",
    "npm") is a whole word, or its plural, so that "ong" does not read "ongoing"."""
    folded = sorted({fold(stem) for stem in stems if fold(stem)}, key=len, reverse=True)
    alternatives = [re.escape(stem) + (r"s?\b" if len(stem) <= SHORT_STEM else "") for stem in folded]
    return re.compile(r"\b(?:" + "|".join(alternatives) + ")")


def named_by_keywords(option: Option, folded: str) -> bool:
    """Whether ``folded`` has a word of each of the option's keyword groups."""
    groups = option.keywords
    return bool(groups) and all(_stem_pattern(tuple(group)).search(folded) for group in groups)


def recognise(options: Sequence[Option], text: str) -> Optional[Option]:
    """The option a free answer names: by id (button payloads), by alias or button title
    inside the text (the longest), by the option's keywords (the first option, in the
    knowledge base's order, whose every group is met), or by a close spelling of an alias.
    What a clause denies names nothing (:func:`affirmed`)."""
    folded = affirmed((text or "")[:MAX_READ_CHARS])
    if not folded:
        return None
    for option in options:
        if folded == option.id.replace("_", " ") or folded == option.id:
            return option
    padded = f" {folded} "
    hits = [
        (len(fold(alias)), option)
        for option in options
        for alias in aliases_of(option)
        if fold(alias) and f" {fold(alias)} " in padded
    ]
    if hits:
        return max(hits, key=lambda hit: hit[0])[1]
    for option in options:
        if named_by_keywords(option, folded):
            return option
    choices = {fold(alias): option for option in options for alias in aliases_of(option)}
    best = process.extractOne(folded, list(choices), scorer=fuzz.ratio, score_cutoff=ALIAS_CUTOFF)
    return choices[best[0]] if best else None
