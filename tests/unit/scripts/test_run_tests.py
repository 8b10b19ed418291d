"""``make test``'s order (scripts/run_tests.py): the training beside lint and the first part,
the second part only after both, and nothing left running when the run stops."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import List

import pytest

from apt_settings import ROOT


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_tests", ROOT / "scripts" / "run_tests.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def run_tests(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = load_script()
    monkeypatch.setattr(module, "LOG", tmp_path / "training.log")
    monkeypatch.setattr(module, "ROOT", tmp_path)
    return module


def python(code: str) -> List[str]:
    return [sys.executable, "-c", code]


def test_the_second_part_starts_after_the_training_and_the_first_part(
    run_tests: ModuleType, tmp_path: Path
) -> None:
    order = tmp_path / "order"
    note = "import sys, time; time.sleep({}); open(sys.argv[1], 'a').write('{}\\n')"
    training = [*python(note.format(1.0, "training")), str(order)]
    beside = [[*python(note.format(0, "lint")), str(order)], [*python(note.format(0, "unit")), str(order)]]
    after = [*python(note.format(0, "slow")), str(order)]
    assert run_tests.run(training, beside, after) == 0
    assert order.read_text().split() == ["lint", "unit", "training", "slow"]


def test_the_trainings_last_line_is_shown_without_its_colours(
    run_tests: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    training = python("print('\\x1b[92mYour Rasa model is trained.\\x1b[0m')")
    assert run_tests.run(training, [], python("pass")) == 0
    assert "since the run began: Your Rasa model is trained." in capsys.readouterr().out


def test_a_failing_first_part_stops_the_run_and_ends_the_training(
    run_tests: ModuleType, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    training = python(
        f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    )
    slow = tmp_path / "slow ran"
    code = run_tests.run(
        training,
        [python("import time, sys; time.sleep(1); sys.exit(3)")],
        python(f"open({str(slow)!r}, 'w')"),
    )
    assert code == 3 and not slow.exists()
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the training was ended, not left behind


def test_a_failed_training_stops_the_run_with_the_end_of_its_output(
    run_tests: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = tmp_path / "slow ran"
    training = python("import sys; print('Epochs: 3/20'); print('MemoryError: out of memory'); sys.exit(1)")
    code = run_tests.run(training, [python("pass")], python(f"open({str(slow)!r}, 'w')"))
    assert code == 1 and not slow.exists()
    assert "MemoryError: out of memory" in capsys.readouterr().out


def collected(marker_expression: str, *paths: str) -> List[str]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            marker_expression,
        ]
        + list(paths),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode in (0, 5), result.stdout[-3000:] + result.stderr[-3000:]
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_the_tests_that_need_the_model_wait_for_the_training_and_no_others() -> None:
    """What runs after the training is what is marked ``model`` (the rest of the slow part runs
    beside it): the widget in the browser and the hostile-input tests, which take the SQLite or
    the PostgreSQL stack by name at run time; not the staff pages or the database tests."""
    script = load_script()
    assert script.WITH_MODEL == ["-m", "model"]
    assert script.SLOW_WITHOUT_MODEL == ["-m", "(slow or postgres) and not model"]
    after = collected("model", "tests/e2e/test_hostile_input.py", "tests/browser", "tests/unit/storage")
    modules = {name.split("::")[0] for name in after}
    assert {"tests/e2e/test_hostile_input.py", "tests/browser/test_browser.py"} <= modules
    assert "tests/browser/test_browser_review.py" not in modules
    assert not any(name.startswith("tests/unit/storage/") and "[postgresql]" in name for name in after)


def test_a_test_that_reaches_the_model_beside_the_training_fails_and_says_why() -> None:
    test = (
        "tests/unit/training/test_training_inputs.py::"
        "test_training_again_with_nothing_changed_keeps_the_model_at_once"
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
        cwd=ROOT,
        env={**os.environ, "TEST_WITHOUT_MODEL": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "reached the trained model without naming it" in result.stdout
    assert "training" not in result.stderr.lower()  # nothing was trained
