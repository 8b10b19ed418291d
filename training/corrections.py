"""Staff corrections written into the training data, one example line per message.

A correction (table ``nlu_corrections``) is a visitor's message, already redacted, with the
intent staff chose for it and the visitor's language. A round of retraining takes the ones no
live model has learnt yet (``trained_at`` unset) and writes each into the topic file that
already holds that intent's examples for that language: ``data/nlu/<topic>.yml`` for English,
``data/nlu/fr/<topic>.yml`` and ``data/nlu/es/<topic>.yml`` for French and Spanish. The line
goes at the end of the intent's ``examples: |`` block, so the files keep their layout.

A text is never written when that would make the data wrong or the scores meaningless:

- it is an example of the held-out test sets (``tests/test_nlu*.yml``): a model trained on it
  would be scored on what it has seen;
- it is already an example of another intent, or two corrections give it different intents:
  a person has to settle which is right;
- it is already an example of the same intent: nothing to write (the correction still counts
  as learnt once a model that holds it is put live);
- its intent is not in ``domain.yml`` or its language is not one of :data:`LANGUAGES`;
- it is longer than :data:`MAX_EXAMPLE_CHARS` once cleaned (a training example is a
  question, not a letter; cutting it would change what it says).

Cleaning (:func:`clean`) makes the text one harmless line: redacted once more with the
project's redaction (its rules may have grown since the message was stored), whitespace and
line breaks collapsed to single spaces, characters YAML cannot hold and invisible direction
controls dropped, and ``](``, ``]{``, ``][`` spaced apart so that no text can read as Rasa's
entity markup. Inside a literal block a single line cannot end the block or start another
example, and the file is parsed again after writing to make sure of it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set, Tuple

import yaml

from content import domain
from privacy.redaction import redact

# The corrections are read and marked learnt in the database by storage.corrections.
from storage.corrections import Correction as Correction
from storage.corrections import mark_trained as mark_trained
from storage.corrections import pending as pending

LANGUAGES = ("en", "fr", "es")
# Longer texts are not written (see the module's docstring): the longest training example of
# data/nlu/ has 179 characters.
MAX_EXAMPLE_CHARS = 200
HELD_OUT = {"en": "tests/test_nlu.yml", "fr": "tests/test_nlu_fr.yml", "es": "tests/test_nlu_es.yml"}

_INTENT_LINE = re.compile(r"^(?P<indent>[ \t]*)- intent:[ \t]*(?P<name>\S+)[ \t]*(?:#.*)?$")
_EXAMPLES_KEY = re.compile(r"^(?P<indent>[ \t]*)examples:[ \t]*\|[-+]?[ \t]*(?:#.*)?$")
_MARKUP = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")
_ANNOTATION_START = re.compile(r"\](?=[(\[{])")
# What YAML may hold (the YAML 1.1 printable set, without the line breaks a single line
# must not have) and Unicode's invisible direction controls (bidirectional overrides).
_NOT_PRINTABLE = re.compile("[^\t\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_DIRECTION_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True)
class Written:
    correction: Correction
    example: str  # the line written, as cleaned
    file: Path


@dataclass
class Plan:
    """What a round writes (file -> intent -> new example lines) and what it leaves out."""

    writes: Dict[Path, Dict[str, List[str]]] = field(default_factory=dict)
    written: List[Written] = field(default_factory=list)
    present: List[Correction] = field(default_factory=list)  # already examples of their intent
    skipped: List[Tuple[Correction, str]] = field(default_factory=list)  # with the reason

    @property
    def learnt_if_live(self) -> List[Correction]:
        """The corrections a model trained on the planned data holds: marked as learnt when
        that model is put live."""
        return [w.correction for w in self.written] + self.present


# -- texts -------------------------------------------------------------------------------------


def clean(text: str) -> str:
    """The correction's text as one safe example line (see the module's docstring); may be
    empty."""
    text = redact(str(text))
    text = " ".join(text.split())  # every kind of whitespace and line break, Unicode's too
    text = _DIRECTION_CONTROLS.sub("", text)
    text = _NOT_PRINTABLE.sub("", text)
    text = "".join(c for c in text if unicodedata.category(c) not in ("Cc", "Cs"))
    text = _ANNOTATION_START.sub("] ", text)
    return " ".join(text.split())


def normalised(example: str) -> str:
    """How examples are compared: entity markup removed, case and spacing ignored (as
    tests/rasa/test_model.py compares training and held-out data)."""
    return " ".join(_MARKUP.sub(r"\1", example).split()).lower()


def example_lines(block: str) -> List[str]:
    """The examples of an ``examples: |`` block, as Rasa reads them."""
    return [line.strip()[1:].strip() for line in block.splitlines() if line.strip().startswith("-")]


def examples_in_text(document: str) -> Dict[str, List[str]]:
    """intent -> its examples in an NLU file's text (none without an ``nlu`` section)."""
    content = yaml.safe_load(document) or {}
    found: Dict[str, List[str]] = {}
    for block in content.get("nlu") or []:
        if isinstance(block, dict) and "intent" in block and isinstance(block.get("examples"), str):
            found.setdefault(str(block["intent"]), []).extend(example_lines(block["examples"]))
    return found


def examples_in(path: Path) -> Dict[str, List[str]]:
    return examples_in_text(path.read_text(encoding="utf-8"))


# -- the project's files -----------------------------------------------------------------------


def language_folder(project: Path, language: str) -> Path:
    nlu = project / "data" / "nlu"
    return nlu if language == "en" else nlu / language


def topic_files(project: Path, language: str) -> List[Path]:
    """The training files of one language (English: the files directly in data/nlu/)."""
    folder = language_folder(project, language)
    return sorted(p for p in folder.glob("*") if p.is_file() and p.suffix in (".yml", ".yaml"))


def domain_intents(project: Path) -> Set[str]:
    return set(domain.intents(project / "domain.yml"))


def held_out_files(project: Path) -> Dict[str, Path]:
    return {language: project / path for language, path in HELD_OUT.items()}


def _topic_file_for(project: Path, language: str, intent: str) -> Optional[Path]:
    """The file of ``language`` holding most of ``intent``'s examples (the first by name on a tie)."""
    counts = [(len(examples_in(path).get(intent, [])), path) for path in topic_files(project, language)]
    best = max(counts, key=lambda item: item[0], default=(0, None))
    return best[1] if best[0] else None


def relative(path: Path, project: Path) -> str:
    try:
        return path.relative_to(project).as_posix()
    except ValueError:
        return str(path)


def plan(corrections: Sequence[Correction], project: Path) -> Plan:
    """Decide, for each correction, the file it goes to or why it does not go anywhere."""
    intents = domain_intents(project)
    training: Dict[str, Tuple[str, Path]] = {}  # normalised text -> (intent, file)
    for language in LANGUAGES:
        for path in topic_files(project, language):
            for intent, lines in examples_in(path).items():
                for line in lines:
                    training.setdefault(normalised(line), (intent, path))
    held_out: Dict[str, str] = {}
    for path in held_out_files(project).values():
        if path.is_file():
            for lines in examples_in(path).values():
                held_out.update({normalised(line): relative(path, project) for line in lines})

    cleaned = {c.id: clean(c.text) for c in corrections}
    wanted: Dict[str, Set[str]] = {}  # normalised text -> the intents corrections give it
    for correction in corrections:
        wanted.setdefault(normalised(cleaned[correction.id]), set()).add(correction.intent)

    result = Plan()
    files: Dict[Tuple[str, str], Optional[Path]] = {}
    for correction in corrections:
        text = cleaned[correction.id]
        key = normalised(text)
        reason = None
        if correction.language not in LANGUAGES:
            reason = f"language {correction.language!r} is not one of {', '.join(LANGUAGES)}"
        elif correction.intent not in intents:
            reason = f"intent {correction.intent!r} is not in domain.yml"
        elif not text:
            reason = "no text left once cleaned"
        elif len(text) > MAX_EXAMPLE_CHARS:
            reason = f"longer than {MAX_EXAMPLE_CHARS} characters"
        elif key in held_out:
            reason = f"an example of the held-out set {held_out[key]}: never trained on"
        elif len(wanted[key]) > 1:
            reason = f"corrections disagree on its intent ({', '.join(sorted(wanted[key]))})"
        elif key in training and training[key][0] != correction.intent:
            other, path = training[key]
            reason = f"already an example of {other} in {relative(path, project)}"
        if reason:
            result.skipped.append((correction, reason))
            continue
        if key in training:
            result.present.append(correction)
            continue
        slot = (correction.language, correction.intent)
        if slot not in files:
            files[slot] = _topic_file_for(project, correction.language, correction.intent)
        target = files[slot]
        if target is None:
            folder = relative(language_folder(project, correction.language), project)
            result.skipped.append((correction, f"no file of {folder}/ holds examples of {correction.intent}"))
            continue
        result.writes.setdefault(target, {}).setdefault(correction.intent, []).append(text)
        result.written.append(Written(correction, text, target))
        training[key] = (correction.intent, target)  # a second correction of it is then "present"
    return result


# -- writing -----------------------------------------------------------------------------------


class LayoutError(ValueError):
    """A file does not have the layout the examples are written into."""


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _is_intent_line(line: str, intent: str) -> bool:
    match = _INTENT_LINE.match(line.rstrip("\r\n"))
    return bool(match and match.group("name") == intent)


def insert_examples(document: str, intent: str, examples: Sequence[str]) -> str:
    """``document`` (an NLU file) with ``examples`` added at the end of ``intent``'s
    ``examples: |`` block, indented like the block's first example."""
    lines = document.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if _is_intent_line(line, intent)]
    if not starts:
        raise LayoutError(f"no '- intent: {intent}' block")
    start = starts[0]
    # The block's keys follow its "- intent:" line, "metadata:" (the language of a French or
    # Spanish file) before "examples: |"; the block ends at a line indented like its dash.
    key_at, key = None, None
    for i in range(start + 1, len(lines)):
        if not lines[i].strip():
            continue
        if _indent(lines[i]) <= _indent(lines[start]):
            break
        key = _EXAMPLES_KEY.match(lines[i].rstrip("\r\n"))
        if key is not None:
            key_at = i
            break
    if key_at is None or key is None:
        raise LayoutError(f"the block of {intent} does not go on with 'examples: |'")
    key_indent = len(key.group("indent"))
    last = key_at
    for i in range(key_at + 1, len(lines)):
        if not lines[i].strip():
            continue
        if _indent(lines[i]) <= key_indent:
            break
        last = i
    first_example = next((lines[i] for i in range(key_at + 1, last + 1) if lines[i].strip()), "")
    indent = first_example[: _indent(first_example)] if first_example else " " * (key_indent + 2)
    if not lines[last].endswith("\n"):
        lines[last] += "\n"
    added = [f"{indent}- {example}\n" for example in examples]
    return "".join(lines[: last + 1] + added + lines[last + 1 :])


def apply(written_plan: Plan) -> Dict[Path, str]:
    """Write the plan into the files; returns each changed file's previous content, for
    :func:`restore`. Checks each file parses with the new examples in their block, and
    restores everything if one does not."""
    backup: Dict[Path, str] = {}
    try:
        for path, by_intent in sorted(written_plan.writes.items()):
            original = path.read_text(encoding="utf-8")
            backup[path] = original
            updated = original
            for intent, examples in by_intent.items():
                updated = insert_examples(updated, intent, examples)
            path.write_text(updated, encoding="utf-8")
            before, after = examples_in_text(original), examples_in(path)
            for intent, examples in by_intent.items():
                if after.get(intent, []) != before.get(intent, []) + list(examples):
                    raise LayoutError(f"{path.name}: the examples of {intent} did not come out as written")
    except Exception:
        restore(backup)
        raise
    return backup


def restore(backup: Dict[Path, str]) -> None:
    """Put the files :func:`apply` changed back as they were."""
    for path, content in backup.items():
        path.write_text(content, encoding="utf-8")
