"""Running the project's commands and scripts from the tests, as a user would."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import List

from apt_settings import ROOT

BIN = Path(sys.executable).parent
MODEL = ROOT / "models" / "apt.tar.gz"
RESULTS = ROOT / "results"


def run(args: List[str], timeout: int = 1800) -> subprocess.CompletedProcess:
    """Run a Rasa command from the project root; output is kept for failure messages."""
    return subprocess.run(
        args, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=os.environ.copy()
    )


def import_script(name: str) -> ModuleType:
    """A module of scripts/ (not a package), imported from its file."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_module(module: str, *args: str, database_url: str, stdin: str = "") -> subprocess.CompletedProcess:
    """``python -m module args`` on the given project database, as a staff member would run it."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env={"APT_DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"},
        input=stdin,
        capture_output=True,
        text=True,
    )
