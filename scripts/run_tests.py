"""``make test``: the whole suite, with the run's one training started first, beside the checks
that need no model: ``scripts/run_tests.py [the unit part's pytest options]``.

A training uses about one of the machine's two cores (TensorFlow's steps are small), for
about five minutes; lint, the unit part and the slow tests that need no model (PostgreSQL,
the staff pages in the browser, Rasa's own commands) need none of its result. So the
training starts in the background, its output in ``build/test-output/training.log``, while
they run; the tests that need the model (marked ``model`` by their fixtures, tests/conftest.py)
start when both are done, and their ``trained_model`` fixture finds the model made from the
same inputs and keeps it (training/inputs.py). One training per run, as before, minutes sooner.
A test run beside the training that reaches for the model without naming it fails and says so
(``TEST_WITHOUT_MODEL``), rather than starting a second training.

Steps, each stopping the run when it fails: lint (``make lint``), the unit part, the slow part
without the model, the training's end (its log's last lines printed if it failed), the part
with the model. Each part prints its 15 slowest tests. The training is ended by its process
group if the run stops first.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from typing import List, Sequence

from apt_settings import ROOT

LOG = ROOT / "build" / "test-output" / "training.log"
TRAINING = ["scripts/train.py", "--fixed-model-name", "apt", "--out", "models"]
WITHOUT_MODEL = ["env", "TEST_WITHOUT_MODEL=1"]
SLOW_WITHOUT_MODEL = ["-m", "(slow or postgres) and not model"]
WITH_MODEL = ["-m", "model"]
DURATIONS = "--durations=15"
LOG_TAIL_LINES = 80
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # Rasa colours its last line


def say(message: str) -> None:
    print(f"[test] {message}", flush=True)


def step(command: Sequence[str]) -> int:
    say(" ".join(command))
    return subprocess.run(list(command), cwd=ROOT).returncode


def start_training(command: Sequence[str]) -> subprocess.Popen:
    LOG.parent.mkdir(parents=True, exist_ok=True)
    say(f"training in the background (output: {LOG.relative_to(ROOT)})")
    with open(LOG, "w") as log:
        return subprocess.Popen(
            list(command),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, ended as one
        )


def end(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for(process: subprocess.Popen, started: float) -> int:
    if process.poll() is None:
        say("waiting for the training")
    code = process.wait()
    lines = LOG.read_text(errors="replace").splitlines()
    if code != 0:
        say(f"the training failed (exit {code}); the end of its output:")
        print("\n".join(lines[-LOG_TAIL_LINES:]), flush=True)
    else:
        last = ANSI_COLOUR.sub("", next((line for line in reversed(lines) if line.strip()), "")).strip()
        say(f"training done in {time.monotonic() - started:.0f} s since the run began: {last[:200]}")
    return code


def run(training_command: Sequence[str], beside: Sequence[Sequence[str]], after: Sequence[str]) -> int:
    """``training_command`` in the background while the ``beside`` commands run one by one,
    then, both done and successful, ``after``: the first failure's exit code, else 0."""
    started = time.monotonic()
    training = start_training(training_command)
    try:
        for command in beside:
            code = step(command)
            if code != 0:
                return code
        code = wait_for(training, started)
        return code if code != 0 else step(after)
    finally:
        end(training)


def main(unit_options: List[str]) -> int:
    return run(
        [sys.executable, *TRAINING],
        [
            ["make", "--no-print-directory", "lint"],
            [sys.executable, "-m", "pytest", *unit_options, DURATIONS],
            [*WITHOUT_MODEL, sys.executable, "-m", "pytest", *SLOW_WITHOUT_MODEL, DURATIONS],
        ],
        [sys.executable, "-m", "pytest", *WITH_MODEL, DURATIONS],
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
