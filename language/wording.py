"""Every response in each language, loaded and checked once per process.

English is ``domain.yml``'s ``responses``; French and Spanish are ``wording/fr.yml`` and
``wording/es.yml``, with the same response names, the same number of variations in the same
order, the same button payloads and the same ``{placeholders}`` (only the words differ).
``tests/unit/content/test_translations.py`` names every difference, so a file that breaks that
rule does not pass the tests. At run time, a response the translation lacks (during an edit) or
gets wrong, or one the loaded model's domain lacks (a model trained before the response was
added, or an earlier model put back), is answered in English or left out, with a warning
naming it: the other responses stay translated. (Refusing the whole file made Rasa keep the
model with English for every response, around facts in the visitor's language.)
"""

from __future__ import annotations

import logging
import re
from functools import cache
from pathlib import Path
from typing import Any, Dict, List, Set

import yaml

from apt_settings import ROOT
from content import domain
from language import DEFAULT, LANGUAGES

WORDING = ROOT / "wording"

logger = logging.getLogger(__name__)
Responses = Dict[str, List[Dict[str, Any]]]
PLACEHOLDER = re.compile(r"\{(\w+)\}")


class WordingError(ValueError):
    """A translation file does not match the English responses."""


def placeholders(variation: Dict[str, Any]) -> Set[str]:
    return set(PLACEHOLDER.findall(str(variation.get("text") or "")))


def payloads(variation: Dict[str, Any]) -> List[str]:
    return [str(button.get("payload")) for button in variation.get("buttons") or []]


def differences(english: Responses, translated: Responses) -> List[str]:
    """What makes ``translated`` not a translation of ``english``, one line each."""
    problems = [f"{name}: not a response of domain.yml" for name in sorted(set(translated) - set(english))]
    for name, variations in english.items():
        if name not in translated:
            problems.append(f"{name}: missing")
            continue
        theirs = translated[name]
        if len(theirs) != len(variations):
            problems.append(f"{name}: {len(theirs)} variations instead of {len(variations)}")
            continue
        for number, (ours, other) in enumerate(zip(variations, theirs, strict=True), start=1):
            where = f"{name} (variation {number})"
            if placeholders(ours) != placeholders(other):
                problems.append(
                    f"{where}: placeholders {sorted(placeholders(other))}, not {sorted(placeholders(ours))}"
                )
            if payloads(ours) != payloads(other):
                problems.append(f"{where}: button payloads differ")
            if ours.get("condition") != other.get("condition"):
                problems.append(f"{where}: condition differs")
            if bool(ours.get("text")) != bool(str(other.get("text") or "").strip()):
                problems.append(f"{where}: text missing")
    return problems


def load_translation(path: Path) -> Responses:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    responses = data.get("responses")
    if not isinstance(responses, dict):
        raise WordingError(f"{path}: no 'responses' mapping")
    return responses


@cache
def english_responses() -> Responses:
    return domain.responses()


def responses_in(language: str, english: Responses) -> Responses:
    """The responses to answer with in ``language``: the translation of each of ``english``'s,
    English for any the translation lacks or gets wrong (logged), nothing for a translated
    response ``english`` lacks (see the module's docstring)."""
    if language == DEFAULT:
        return english
    if language not in LANGUAGES:
        raise WordingError(f"{language!r} is not one of {', '.join(LANGUAGES)}")
    path = WORDING / f"{language}.yml"
    translated = load_translation(path)
    wrong = [line for line in differences(english, translated) if not line.endswith(": missing")]
    if wrong:
        logger.warning(
            "%s does not match the model's responses (English used): %s", path.name, "; ".join(wrong[:10])
        )
    broken = {line.split(":", 1)[0].split(" (", 1)[0] for line in wrong}
    return {
        name: variations if name in broken else translated.get(name, variations)
        for name, variations in english.items()
    }
