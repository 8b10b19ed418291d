"""The project is an installed package (pyproject.toml, ``make install``): its modules import
from apt_settings import ROOT
from any working directory, and nothing finds them by editing ``sys.path`` or ``PYTHONPATH``
(docs/architecture.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import tomli  # tomllib from Python 3.11

ROOT = Path(__file__).resolve().parent.parent

SOURCE_FOLDERS = sorted(p.parent.name for p in ROOT.glob("*/__init__.py")) + ["scripts"]


MODULES = ("apt_settings", "storage.schema", "training.inputs")


def python_files() -> list[Path]:
    files = [ROOT / "apt_settings.py", ROOT / "rasa_versions.py"]
    for folder in SOURCE_FOLDERS:
        files += sorted((ROOT / folder).rglob("*.py"))
    return [f for f in files if "node_modules" not in f.parts]


def test_every_package_of_the_project_is_in_the_distribution() -> None:
    settings = tomli.loads((ROOT / "pyproject.toml").read_text())
    included = {p.rstrip("*") for p in settings["tool"]["setuptools"]["packages"]["find"]["include"]}
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages == included, packages ^ included


def test_no_module_edits_the_import_path() -> None:
    editing = re.compile(r"sys\.path\.(insert|append)|PYTHONPATH")
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in python_files()
        if path != Path(__file__).resolve()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if editing.search(line)
    ]
    assert offenders == []


def test_the_installed_project_imports_from_another_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import apt_settings, storage.schema, training.inputs; print(apt_settings.__file__)",
        ],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == ROOT / "apt_settings.py"


def test_the_project_root_is_defined_once() -> None:
    """``apt_settings.ROOT``; packages that offer it re-export that one."""
    defining = re.compile(r"^ROOT\s*(?::\s*Path\s*)?=", re.MULTILINE)
    found = [
        str(path.relative_to(ROOT))
        for path in python_files()
        if "tests" not in path.relative_to(ROOT).parts and defining.search(path.read_text(encoding="utf-8"))
    ]
    assert found == ["apt_settings.py"]
