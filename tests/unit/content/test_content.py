"""The domain file is read in one place (content/domain.py), and read again when it changes."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from apt_settings import ROOT
from content import domain

CODE_FOLDERS = sorted({p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}) + ["scripts"]


def test_the_projects_domain_has_its_responses_and_intents() -> None:
    assert "utter_greet" in domain.responses()
    assert {"greet", "ask_funding", "out_of_scope"} <= set(domain.intents())
    assert domain.intents() == sorted(domain.intents())


def test_a_changed_file_is_read_again_and_a_broken_one_refused(tmp_path: Path) -> None:
    path = tmp_path / "domain.yml"
    path.write_text("intents:\n  - greet\n  - affirm: {use_entities: []}\nresponses: {}\n")
    assert domain.intents(path) == ["affirm", "greet"]
    path.write_text("intents: [greet, deny]\nresponses:\n  utter_x:\n  - text: x\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert domain.intents(path) == ["deny", "greet"] and list(domain.responses(path)) == ["utter_x"]
    path.write_text("- not\n- a mapping\n")
    with pytest.raises(domain.DomainError, match="not a mapping"):
        domain.read(path)


def test_no_other_module_parses_the_domain_file() -> None:
    parsing = re.compile(r"safe_load\([^)]*domain|DOMAIN_FILE\s*=\s*ROOT")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in CODE_FOLDERS
        for path in (ROOT / folder).rglob("*.py")
        if path != ROOT / "content" / "domain.py" and parsing.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
