"""Whether a message reads as someone telling what was done to them or to someone close.

The NLU model recognises clear disclosures. A message it is unsure of, or one that tells what
happened and asks for practical help in the same breath ("they burned my cousin in custody,
is there a helpline"), must still get the careful answer: safety over precision. This reads
the cues of ``disclosure_cues.yml`` (harm or detention, and a person close to the writer, in
English, French or Spanish) on the message with its accents removed; both are needed, so a
question about torture ("how is torture prevented in prisons?") does not read as one, nor
does a study of the subject that names neither the writer nor anyone close within it ("my
dissertation on torture prevention in East Africa").
``server/patches/focus.py`` decides what to do with it.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from pathlib import Path
from typing import Dict, List, Pattern

import yaml

CUES = Path(__file__).with_name("disclosure_cues.yml")


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _compiled(patterns: Dict[str, List[str]], whole_word: bool) -> Pattern[str]:
    def alternative(pattern: str) -> str:
        folded = _folded(pattern)
        # "j'" and "m'" end with their apostrophe: the next word follows at once.
        return f"(?:{folded})" + (r"(?![\w'])" if whole_word and not folded.endswith("'") else "")

    alternatives = [alternative(p) for language in sorted(patterns) for p in patterns[language]]
    return re.compile(rf"(?<![\w'])(?:{'|'.join(alternatives)})")


KINDS = ("harm", "self", "close", "study", "topic")


@cache
def _cues() -> Dict[str, Pattern[str]]:
    data = yaml.safe_load(CUES.read_text(encoding="utf-8"))
    for kind in KINDS:
        for language, patterns in data[kind].items():
            for pattern in patterns:
                if not isinstance(pattern, str) or not pattern:
                    raise ValueError(f"{CUES.name}: {kind}.{language}: {pattern!r} is not a pattern")
                re.compile(pattern)  # a broken cue fails here, naming itself
    # Harm cues match from a word's start ("tortur" covers "tortured"); the others whole words.
    compiled = {kind: _compiled(data[kind], whole_word=kind != "harm") for kind in KINDS}
    compiled["personal"] = _compiled(
        {language: [*data["self"][language], *data["close"][language]] for language in data["self"]},
        whole_word=True,
    )
    return compiled


# Where a clause ends: the subject introduced before a harm cue must be in the same clause.
_CLAUSE_END = re.compile(r"[.!?;:,]")


def _studied(folded: str, cues: Dict[str, Pattern[str]]) -> bool:
    """The writer (or someone close: "my daughter is writing an essay on torture") studies the
    subject or works on it for others, and the subject names nobody close: every harm cue comes
    after "on", "sur", "sobre", "work with", "accompagne"... in its clause ("my dissertation on
    torture prevention", "I work with refugees who survived torture", "un exposé sur la torture
    en garde à vue"), and what follows that names no one ("an essay on what they did to my
    brother" is a disclosure)."""
    if not cues["study"].search(folded):
        return False
    for harm in cues["harm"].finditer(folded):
        before = _CLAUSE_END.split(folded[: harm.start()])[-1]
        topics = list(cues["topic"].finditer(before))
        if not topics:
            return False
        # The subject, from "on" to the clause's end, names nobody: "an article about what
        # the police did to me" is a disclosure.
        start = harm.start() - len(before) + topics[-1].end()
        subject = _CLAUSE_END.split(folded[start:])[0]
        if cues["personal"].search(subject):
            return False
    return True


def reads_as_disclosure(text: str) -> bool:
    """Whether ``text`` tells of harm or detention and of a person close to the writer (not
    of a subject the writer studies)."""
    folded = _folded(text)
    cues = _cues()
    if not (cues["harm"].search(folded) and cues["personal"].search(folded)):
        return False
    return not _studied(folded, cues)
