"""A place's name inside a sentence, in each language: with its article ("le Sénégal", "la
Gambie", "l'Ouganda", "les Philippines", "el Reino Unido", "the Philippines") and after "in"
("au Sénégal", "en Gambie", "aux Philippines", "à Madagascar", "en el Reino Unido", "in the
Philippines").

The grammar is data, ``place_grammar`` in ``wording/<language>.yml``, with the language's
other wording:

- ``classes``: each kind of name and its two forms, ``the`` and ``in``, written around
  ``{name}`` ("masculine": ``le {name}`` / ``au {name}``);
- ``rules``: regular expressions tried in order on the name (the part before any
  parenthesis: "Myanmar (Birmanie)" is read as "Myanmar"); the first that matches gives the
  class ("French names whose first word ends in -e are feminine"), the last matches everything;
- ``exceptions``: the names the rules get wrong, by class ("Mexique" is masculine).

Loaded and validated once per process (a wrong class, pattern or placeholder stops the
servers at start with the file and entry). The forms are the response variables
``{country_the}`` / ``{country_in}`` and the like (``actions/answers.py``), so that a sentence
never puts a bare name where its language needs an article or a preposition.
``tests/unit/actions/test_grammar.py`` holds the reviewed forms of every listed country and checks the
rules on every other country's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Dict, List, Pattern, Tuple

import yaml
from pydantic import BaseModel, Extra, ValidationError, validator

from language import LANGUAGES
from language.wording import WORDING


class GrammarError(ValueError):
    """A language's place grammar does not match its schema."""


class _Forms(BaseModel):
    the: str
    in_: str

    class Config:
        extra = Extra.forbid
        fields = {"in_": "in"}

    @validator("the", "in_")
    def _has_the_name(cls, value: str) -> str:
        if value.count("{name}") != 1 or re.sub(r"\{name\}", "", value).count("{"):
            raise ValueError(f"{value!r} must hold {{name}} once and no other variable")
        return value


class _Rule(BaseModel):
    pattern: str
    class_: str

    class Config:
        extra = Extra.forbid
        fields = {"class_": "class"}

    @validator("pattern")
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"{value!r} is not a regular expression ({error})") from None
        return value


class _PlaceGrammar(BaseModel):
    classes: Dict[str, _Forms]
    rules: List[_Rule]
    exceptions: Dict[str, List[str]] = {}

    class Config:
        extra = Extra.forbid

    @validator("rules")
    def _rules_name_classes_and_end_with_a_default(cls, rules: List[_Rule], values: Dict) -> List[_Rule]:
        classes = values.get("classes") or {}
        for rule in rules:
            if rule.class_ not in classes:
                raise ValueError(f"rule {rule.pattern!r}: no class {rule.class_!r}")
        if not rules or rules[-1].pattern != "":
            raise ValueError('the last rule must have pattern "" (the class of every other name)')
        return rules

    @validator("exceptions")
    def _exceptions_name_classes_once(
        cls, exceptions: Dict[str, List[str]], values: Dict
    ) -> Dict[str, List[str]]:
        classes = values.get("classes") or {}
        seen: Dict[str, str] = {}
        for class_, names in exceptions.items():
            if class_ not in classes:
                raise ValueError(f"no class {class_!r}")
            for name in names:
                if name in seen:
                    raise ValueError(f"{name!r} is an exception twice ({seen[name]} and {class_})")
                seen[name] = class_
        return exceptions


@dataclass(frozen=True)
class PlaceForms:
    """A name, with its article (``the``) and after "in" (``in_``)."""

    name: str
    the: str
    in_: str


@dataclass(frozen=True)
class PlaceGrammar:
    language: str
    classes: Dict[str, Tuple[str, str]]
    rules: Tuple[Tuple[Pattern[str], str], ...]
    exceptions: Dict[str, str]

    def class_of(self, name: str) -> str:
        main = name.split(" (")[0].strip()
        if main in self.exceptions:
            return self.exceptions[main]
        return next(class_ for pattern, class_ in self.rules if pattern.search(main))

    def forms(self, name: str) -> PlaceForms:
        the, in_ = self.classes[self.class_of(name)]
        return PlaceForms(name=name, the=the.format(name=name), in_=in_.format(name=name))


def parse_grammar(raw: object, language: str, source: str) -> PlaceGrammar:
    try:
        data = _PlaceGrammar.parse_obj(raw)
    except ValidationError as error:
        details = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise GrammarError(f"{source}: place_grammar: {details}") from None
    return PlaceGrammar(
        language=language,
        classes={name: (forms.the, forms.in_) for name, forms in data.classes.items()},
        rules=tuple((re.compile(rule.pattern), rule.class_) for rule in data.rules),
        exceptions={name: class_ for class_, names in data.exceptions.items() for name in names},
    )


@cache
def place_grammar(language: str) -> PlaceGrammar:
    if language not in LANGUAGES:
        raise ValueError(f"{language!r} is not one of {', '.join(LANGUAGES)}")
    path = WORDING / f"{language}.yml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8")).get("place_grammar")
    return parse_grammar(raw, language, str(path.name))


def place_forms(name: str, language: str) -> PlaceForms:
    """``name`` with its article and after "in", in ``language``."""
    return place_grammar(language).forms(name)
