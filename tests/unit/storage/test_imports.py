"""Each storage module imports on its own, in a fresh interpreter: a module that reaches a
submodule as an attribute of its package (``sa.orm``) without importing it works only when
something else imported it first, which the order of a server's imports hides."""

from __future__ import annotations

import subprocess
import sys

import pytest

from apt_settings import ROOT

STANDALONE = sorted(
    path.stem
    for path in (ROOT / "storage").glob("*.py")
    if path.stem != "__init__" and "rasa" not in path.read_text()  # Rasa's import alone takes seconds
)


@pytest.mark.parametrize("module", STANDALONE)
def test_the_module_imports_alone(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import storage.{module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_modules_that_once_did_not_are_among_them() -> None:
    assert {"waiting_turns", "resilient_log"} <= set(STANDALONE)
