"""A small copy of the project for the real-Rasa retraining tests.

A round on the whole project costs about four minutes here, most of it work that grows with the
training data (featurising, the epochs, scoring the held-out sets). What the tests check (the
corrections are learnt, a worse model stays out, the data and the live model are put back) does
not need the whole data: the copy keeps the domain, the configuration and every intent and
entity, and one example in ``EVERY`` of each intent (at least ``AT_LEAST``, and one example of
each entity the intent had), in the training data and in the held-out sets. Its live model is
the session's: Rasa fine-tunes a model on data with the same intents and entities, whatever the
examples. The benchmark (``benchmark/retrain.py``) still times a round on the whole project.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Set

import yaml

from benchmark.retrain import copy_project

EVERY = 3
AT_LEAST = 4


class _Literal(str):
    """Written back as a YAML literal block, as Rasa's NLU files write examples."""


def _literal(dumper: yaml.SafeDumper, text: _Literal) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(text), style="|")


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Literal, _literal)


# An entity annotation in an example: [text](name), [text](name:value) or [text]{"entity": "name"...}.
ENTITY = re.compile(r"\]\((\w+)|\]\{\s*\"entity\"\s*:\s*\"(\w+)\"")


def _entities(line: str) -> Set[str]:
    return {a or b for a, b in ENTITY.findall(line)}


def thinned_examples(block: str, every: int = EVERY, at_least: int = AT_LEAST) -> str:
    """One example line in ``every`` of an ``examples: |`` block, at least ``at_least``, and
    the first example of each entity the block annotates that the others leave out."""
    lines = [line for line in block.splitlines() if line.strip()]
    kept = lines[::every]
    if len(kept) < min(at_least, len(lines)):
        kept = lines[: min(at_least, len(lines))]
    present = set().union(*map(_entities, kept)) if kept else set()
    for line in lines:
        missing = _entities(line) - present
        if missing:
            kept.append(line)
            present |= missing
    return "\n".join(kept) + "\n"


def thin_nlu_file(path: Path, every: int = EVERY) -> None:
    """Rewrite one NLU file with fewer examples per intent; lookups, synonyms and regexes stay."""
    document: Dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items: List[Dict[str, Any]] = document.get("nlu") or []
    for item in items:
        if "intent" in item and isinstance(item.get("examples"), str):
            item["examples"] = _Literal(thinned_examples(item["examples"], every))
        elif isinstance(item.get("examples"), str):
            item["examples"] = _Literal(item["examples"])
    path.write_text(
        yaml.dump(document, Dumper=_Dumper, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )


def small_project(destination: Path, model: Path) -> Path:
    """A copy of the project with thinned training data and held-out sets, ``model`` live."""
    project = copy_project(destination, model)
    for path in sorted((project / "data" / "nlu").rglob("*.yml")):
        thin_nlu_file(path)
    for path in sorted((project / "tests").glob("test_nlu*.yml")):
        thin_nlu_file(path)
    return project
