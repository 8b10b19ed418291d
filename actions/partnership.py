"""Whether a visitor's organisation could fit a joint project with the APT.

The APT is not a donor: it develops projects with local partner organisations and raises
funds jointly. This module reads the visitor's answers (organisation type, country, kind
of work), recognises them against the knowledge base's options, and explains the result.
It never promises money.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Sequence, TypeVar

from rapidfuzz import fuzz, process

from actions.answers import join_names
from actions.countries import CountryMatch
from actions.knowledge import KnowledgeBase, OrganisationType, WorkArea

LIKELY, PARTIAL, NOT_A_FIT = "likely", "partial", "none"
ALIAS_CUTOFF = 85

Option = TypeVar("Option", OrganisationType, WorkArea)


def _fold(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w ]+", " ", text.lower())).strip()


def recognise(options: Sequence[Option], text: str) -> Optional[Option]:
    """The option a free answer names: by id (button payloads), by alias inside the text,
    or by a close spelling of an alias."""
    folded = _fold(text or "")[:300]
    if not folded:
        return None
    for option in options:
        if folded == option.id.replace("_", " ") or folded == option.id:
            return option
    padded = f" {folded} "
    hits = [
        (len(alias), option)
        for option in options
        for alias in option.aliases
        if f" {_fold(alias)} " in padded
    ]
    if hits:
        return max(hits, key=lambda hit: hit[0])[1]
    choices = {_fold(alias): option for option in options for alias in option.aliases}
    best = process.extractOne(folded, list(choices), scorer=fuzz.ratio, score_cutoff=ALIAS_CUTOFF)
    return choices[best[0]] if best else None


@dataclass(frozen=True)
class Assessment:
    level: str
    reasons: List[str]


def _partner_types(kb: KnowledgeBase) -> str:
    return join_names([t.label for t in kb.partnership.organisation_types if t.partner])


def assess(
    kb: KnowledgeBase, organisation: OrganisationType, country: CountryMatch, work: WorkArea
) -> Assessment:
    reasons: List[str] = []
    fits: List[bool] = []

    fits.append(organisation.partner)
    if organisation.partner:
        reasons.append(f"Organisation: the APT works with {organisation.label}, among other partners.")
    else:
        reasons.append(f"Organisation: the APT's partners are {_partner_types(kb)}.")

    fits.append(country.is_listed)
    if country.listing:
        _, subregion, region = country.listing
        reasons.append(
            f"Country: {country.name} is among the countries where the APT works ({subregion.name})."
        )
    else:
        reasons.append(
            f"Country: {country.name} is not among the countries listed in the APT's profile; the APT "
            "engages where the authorities show a political will to fight torture."
        )

    if work.excluded:
        reasons.append(
            f"Work: the APT does not provide {work.label}. Other NGOs offer legal and medical "
            "assistance and rehabilitation to victims of torture, and the APT cooperates with them."
        )
        return Assessment(NOT_A_FIT, reasons)
    if work.matches:
        topic = kb.topic(work.matches)
        reasons.append(f"Work: {work.label} matches the APT's work on {topic.title.lower()}.")
        fits.append(True)
    else:
        reasons.append(
            "Work: I can't tell whether it matches the APT's focus on preventing torture "
            "(monitoring places of detention, legal frameworks, training)."
        )
        fits.append(False)
    return Assessment(LIKELY if all(fits) else PARTIAL, reasons)


def explain(assessment: Assessment) -> str:
    headline = {
        LIKELY: "This looks like a likely fit for a joint project with the APT.",
        PARTIAL: "This could be a partial fit for a joint project with the APT:",
        NOT_A_FIT: "This does not look like a fit for a project with the APT:",
    }[assessment.level]
    lines = "\n".join(f"- {reason}" for reason in assessment.reasons)
    closing = (
        "\nThe APT does not fund organisations directly: a joint project would be developed "
        "together, with funds raised jointly, and nothing is promised at this stage."
        if assessment.level != NOT_A_FIT
        else ""
    )
    return f"{headline}\n{lines}{closing}"
