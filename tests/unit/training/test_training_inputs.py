"""A training whose inputs have not changed is not run again (training/inputs.py,
scripts/train.py): what counts as an input, and what does not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from apt_settings import ROOT
from training import inputs

CONFIG = """\
recipe: default.v1
language: en
pipeline:
  - name: parts.masker.Masker
  - name: SpacyNLP
    model: spacy-pipeline
  - name: WhitespaceTokenizer
policies:
  - name: RulePolicy
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project: a custom component whose module imports another project module
    (relatively) and a third-party one, data in a folder, a spaCy pipeline folder."""
    (tmp_path / "config.yml").write_text(CONFIG)
    (tmp_path / "domain.yml").write_text("version: '3.1'\nintents: [greet]\n")
    (tmp_path / "data" / "nlu").mkdir(parents=True)
    (tmp_path / "data" / "nlu" / "chitchat.yml").write_text(
        "nlu:\n- intent: greet\n  examples: |\n    - hi\n"
    )
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "__init__.py").write_text("")
    (tmp_path / "parts" / "masker.py").write_text("import yaml\nfrom .rules import PATTERNS\n")
    (tmp_path / "parts" / "rules.py").write_text("from helpers import clean\nPATTERNS = []\n")
    (tmp_path / "parts" / "unused.py").write_text("X = 1\n")
    (tmp_path / "helpers.py").write_text("def clean(text): return text\n")
    (tmp_path / "spacy-pipeline").mkdir()
    (tmp_path / "spacy-pipeline" / "meta.json").write_text('{"version": "1"}')
    (tmp_path / "README.md").write_text("not read by training\n")
    return tmp_path


def training(project: Path, *options: str) -> inputs.Training:
    return inputs.Training(project, "config.yml", "domain.yml", ["data"], list(options))


def test_the_custom_components_sources_are_followed_through_project_imports(project: Path) -> None:
    modules = inputs.custom_component_modules(project / "config.yml")
    assert modules == {"parts.masker"}
    found = {p.relative_to(project).as_posix() for p in inputs.project_sources(project, modules)}
    assert found == {"parts/__init__.py", "parts/masker.py", "parts/rules.py", "helpers.py"}


@pytest.mark.parametrize(
    "changed",
    [
        "data/nlu/chitchat.yml",
        "domain.yml",
        "config.yml",
        "parts/masker.py",
        "parts/rules.py",
        "helpers.py",
        "spacy-pipeline/meta.json",
    ],
)
def test_every_input_changes_the_digest(project: Path, changed: str) -> None:
    before = inputs.digest(training(project))
    path = project / changed
    path.write_text(path.read_text() + "\n# edited\n")
    assert inputs.digest(training(project)) != before


def test_a_new_data_file_and_other_options_change_the_digest(project: Path) -> None:
    before = inputs.digest(training(project))
    assert inputs.digest(training(project, "--augmentation", "0")) != before
    (project / "data" / "nlu" / "new.yml").write_text("nlu: []\n")
    assert inputs.digest(training(project)) != before


def test_what_training_does_not_read_leaves_the_digest(project: Path) -> None:
    before = inputs.digest(training(project))
    (project / "README.md").write_text("edited\n")
    (project / "parts" / "unused.py").write_text("X = 2\n")
    (project / "actions.py").write_text("print('hello')\n")
    assert inputs.digest(training(project)) == before


def test_a_model_counts_as_trained_only_untouched_and_from_the_same_inputs(project: Path) -> None:
    model = project / "models" / "apt.tar.gz"
    model.parent.mkdir()
    digest = inputs.digest(training(project))
    assert not inputs.unchanged(digest, model)  # no model
    model.write_bytes(b"model")
    assert not inputs.unchanged(digest, model)  # no record
    inputs.remember(digest, model)
    assert inputs.record_of(model).name == "apt.tar.gz.inputs.json"
    assert inputs.unchanged(digest, model)
    assert not inputs.unchanged("another digest", model)
    model.write_bytes(b"a model put live by a retraining round")
    assert not inputs.unchanged(digest, model)
    inputs.remember(digest, model)
    inputs.record_of(model).write_text("{not json")
    assert not inputs.unchanged(digest, model)
    inputs.forget(model)
    assert not inputs.record_of(model).exists()


@pytest.mark.slow
def test_training_again_with_nothing_changed_keeps_the_model_at_once(trained_model: Path) -> None:
    """After the session's training (tests/conftest.py), the same command says so and leaves
    the model as it is, without importing Rasa."""
    stat = trained_model.stat()
    command = ["scripts/train.py", "--fixed-model-name", "apt", "--out", "models"]
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *command],
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Nothing changed since models/apt.tar.gz was trained" in result.stdout
    after = trained_model.stat()
    assert (after.st_mtime_ns, after.st_size) == (stat.st_mtime_ns, stat.st_size)
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert "tensorflow" not in imported and "rasa" not in imported
