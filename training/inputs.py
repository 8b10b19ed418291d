"""What a training reads, as one digest, kept beside the model it made.

Rasa 3 trains every time it is asked: with nothing changed it rebuilds the model from its
training cache, which still takes about a minute here (spaCy, every featurizer and DIET
restored, the archive written again). ``scripts/train.py`` asks :func:`unchanged` first and
says "nothing changed" instead, when the model it would write is still the one the same
inputs made.

The inputs are the configuration, the domain and the training data as given on the command
line, the other options of the command, the project's modules the configuration's custom
components import (followed through the project's own imports, read from the source), the
spaCy pipeline the configuration names, the pinned dependencies and Rasa's version. A model
replaced since (a retraining round puts its fine-tuned model at the same path) is never
taken for the trained one: the record holds the model's size and modification time too.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set

import yaml

FILE_SUFFIX = ".inputs.json"
YAML_SUFFIXES = (".yml", ".yaml", ".json", ".md")


@dataclass(frozen=True)
class Training:
    """One ``rasa train`` command's inputs, paths relative to ``project``."""

    project: Path
    config: str
    domain: str
    data: Sequence[str]
    options: Sequence[str]  # the rest of the command line, as given (without --force)


def record_of(model: Path) -> Path:
    """Where the inputs of ``model`` are kept: ``models/apt.tar.gz.inputs.json``."""
    return model.with_name(model.name + FILE_SUFFIX)


def _files(path: Path) -> List[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return [path] if path.is_file() else []


def custom_component_modules(config: Path) -> Set[str]:
    """The dotted module names of the configuration's custom components and policies."""
    settings = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    names = [step.get("name", "") for key in ("pipeline", "policies") for step in settings.get(key) or []]
    return {name.rsplit(".", 1)[0] for name in names if isinstance(name, str) and "." in name}


def _module_file(project: Path, module: str) -> Optional[Path]:
    base = project.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def project_sources(project: Path, modules: Iterable[str]) -> List[Path]:
    """The project's source files ``modules`` import, directly or through other project
    modules (their packages' ``__init__`` too); imports of other distributions are left."""
    seen: Set[Path] = set()
    pending = list(modules)
    while pending:
        module = pending.pop()
        parts = module.split(".")
        for depth in range(1, len(parts) + 1):  # a module's packages run their __init__ first
            path = _module_file(project, ".".join(parts[:depth]))
            if path is None or path in seen:
                continue
            seen.add(path)
            package = ".".join(parts[: depth if path.name == "__init__.py" else depth - 1])
            pending.extend(_imports(path, package))
    return sorted(seen)


def _imports(path: Path, package: str) -> List[str]:
    found: List[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, node.module] if node.module else anchor)
            else:
                base = node.module or ""
            found.append(base)
            found += [f"{base}.{alias.name}" for alias in node.names]  # submodules imported by name
    return [name for name in found if name]


def spacy_pipelines(config: Path, project: Path) -> List[Path]:
    """The spaCy pipelines the configuration names by a path in the project."""
    settings = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    models = [step.get("model") for step in settings.get("pipeline") or [] if step.get("name") == "SpacyNLP"]
    return [project / m for m in models if isinstance(m, str) and (project / m).exists()]


def digest(training: Training) -> str:
    """One SHA-256 over everything :class:`Training` reads (see the module's docstring)."""
    project = training.project
    config = project / training.config
    named: Dict[str, List[Path]] = {
        "config": _files(config),
        "domain": _files(project / training.domain),
        "data": [f for d in training.data for f in _files(project / d)],
        "code": project_sources(project, custom_component_modules(config)) if config.is_file() else [],
        "spacy": [
            f
            for pipeline in (spacy_pipelines(config, project) if config.is_file() else [])
            for f in _files(pipeline)
            if f.name in ("meta.json", "config.cfg")
        ],
        "constraints": _files(project / "constraints.txt"),
    }
    hashed = hashlib.sha256()
    hashed.update(json.dumps({"rasa": version("rasa"), "options": list(training.options)}).encode())
    for kind, files in named.items():
        for path in files:
            hashed.update(f"\0{kind}\0{path.relative_to(project).as_posix()}\0".encode())
            hashed.update(path.read_bytes())
    return hashed.hexdigest()


def _model_stamp(model: Path) -> Dict[str, int]:
    stat = model.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def unchanged(inputs: str, model: Path) -> bool:
    """Whether ``model`` is there, untouched since it was trained from ``inputs`` (a
    :func:`digest`)."""
    record = record_of(model)
    if not (model.is_file() and record.is_file()):
        return False
    try:
        kept = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return bool(kept == {"inputs": inputs, "model": _model_stamp(model)})


def remember(inputs: str, model: Path) -> None:
    """Keep the inputs (a :func:`digest` taken before the training) ``model`` was just
    trained from."""
    record_of(model).write_text(
        json.dumps({"inputs": inputs, "model": _model_stamp(model)}), encoding="utf-8"
    )


def forget(model: Path) -> None:
    """Drop the record: the next training trains, whatever the inputs (before one starts)."""
    record_of(model).unlink(missing_ok=True)
