"""``make test``'s order (scripts/run_tests.py): the training beside lint and the first part,
the second part only after both, and nothing left running when the run stops."""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import List

import pytest

from apt_settings import ROOT
from tests import conftest


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


class Item:
    """What ``pytest_collection_modifyitems`` reads of a collected test: its fixtures' names
    (the whole closure, as pytest gives them), and the markers it adds."""

    def __init__(self, *fixturenames: str) -> None:
        self.fixturenames = list(fixturenames)
        self.markers: List[str] = []

    def add_marker(self, marker: pytest.MarkDecorator) -> None:
        self.markers.append(marker.name)


def test_the_tests_that_need_the_model_wait_for_the_training_and_no_others() -> None:
    """What runs after the training is what is marked ``model`` (the rest of the slow part runs
    beside it): a test whose fixtures include the model, directly or through a stack."""
    script = load_script()
    assert script.WITH_MODEL == ["-m", "model"]
    assert script.SLOW_WITHOUT_MODEL == ["-m", "(slow or postgres) and not model"]
    widget = Item("browser", "stack", "trained_model", "tmp_path_factory")
    staff_pages = Item("browser", "workspace_server", "tmp_path")
    database = Item("database_url", "blank_database_url", "tmp_path")
    conftest.pytest_collection_modifyitems([widget, staff_pages, database])  # type: ignore[list-item]
    assert widget.markers == ["slow", "model"]
    assert staff_pages.markers == ["slow"] and database.markers == []


def test_a_fixture_that_picks_its_stack_at_run_time_names_the_model() -> None:
    """The hostile-input tests take the SQLite or the PostgreSQL stack by name at run time
    (``request.getfixturevalue``), which pytest cannot see: the fixture names
    ``trained_model`` so that they are marked ``model``."""
    from tests.e2e.test_hostile_input import target

    assert "trained_model" in inspect.signature(target.__wrapped__).parameters


def test_a_test_that_reaches_the_model_beside_the_training_fails_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(conftest.WITHOUT_MODEL, "1")
    with pytest.raises(pytest.fail.Exception, match="reached the trained model without naming it"):
        conftest.trained_model.__wrapped__()
