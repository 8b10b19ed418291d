"""The assistant's domain file (``domain.yml``), read in one place for the project's code.

Rasa reads the file itself, for its own use; everything else here (the chat edge's button
payloads and replies, the English wording, the workspace's intents and button labels, a
retraining round's intents, the benchmark) asks this module. A file is parsed once and parsed
again only when it changes, so that a long-running process and a retraining round on a copy
of the project both read what is on disk.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Set

import yaml

from apt_settings import ROOT

DOMAIN_FILE = ROOT / "domain.yml"


class DomainError(ValueError):
    """The file is not a domain: not a YAML mapping."""


@lru_cache(maxsize=8)
def _parsed(path: Path, modified_ns: int, size: int) -> Dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise DomainError(f"{path}: not a mapping")
    return data


def read(path: Path = DOMAIN_FILE) -> Dict[str, Any]:
    """The parsed file (shared: not to be changed by the caller)."""
    stat = path.stat()
    return _parsed(path.resolve(), stat.st_mtime_ns, stat.st_size)


def responses(path: Path = DOMAIN_FILE) -> Dict[str, Any]:
    """The responses, by name (English: French and Spanish are in ``wording/``)."""
    return dict(read(path).get("responses") or {})


def intents(path: Path = DOMAIN_FILE) -> List[str]:
    """The intents' names, sorted (an entry may be a name or a mapping of one name)."""
    names: Set[Any] = set()
    for entry in read(path).get("intents") or []:
        names.update(entry if isinstance(entry, dict) else [entry])
    return sorted(str(name) for name in names)
