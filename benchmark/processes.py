"""Child processes that are always cleaned up.

Every server and every Rasa command the benchmark starts runs in its own process group and
is registered here, so that an error, Ctrl-C or SIGTERM in the benchmark ends the whole
group (the Rasa server, the action server, rasa's own workers) and leaves nothing behind.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

BIN = Path(sys.executable).parent
_RUNNING: Dict[int, subprocess.Popen] = {}


def environment(extra: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """The environment of every child: no telemetry (no network here) and quiet TensorFlow."""
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.update(extra or {})
    return env


def spawn(args: List[str], cwd: Path, log: Path, env: Optional[Dict[str, str]] = None) -> subprocess.Popen:
    """Start `args` in a new process group with its output in `log`."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env or environment(),
            stdout=handle,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    _RUNNING[process.pid] = process
    return process


def stop(process: subprocess.Popen, grace: float = 30.0) -> None:
    """SIGTERM to the whole process group; SIGKILL to what is left after `grace` seconds."""
    _RUNNING.pop(process.pid, None)
    _signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and (process.poll() is None or _group_alive(process.pid)):
        time.sleep(0.2)
    if process.poll() is None or _group_alive(process.pid):
        _signal_group(process.pid, signal.SIGKILL)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_all() -> None:
    for process in list(_RUNNING.values()):
        stop(process, grace=15.0)


def tail(log: Path, characters: int = 3000) -> str:
    try:
        return log.read_text(errors="replace")[-characters:]
    except OSError:
        return ""


class CommandFailed(RuntimeError):
    pass


def run_timed(
    args: List[str],
    cwd: Path,
    log: Path,
    timeout: float = 3600.0,
    env: Optional[Dict[str, str]] = None,
    succeeded: Tuple[int, ...] = (0,),
) -> float:
    """Run a command to completion; returns its wall-clock seconds. Raises CommandFailed
    with the end of its log when it overruns or exits with a status not in ``succeeded``."""
    started = time.monotonic()
    process = spawn(args, cwd, log, env)
    try:
        returncode = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired as overrun:
        raise CommandFailed(f"{' '.join(args)} did not finish in {timeout:.0f} s") from overrun
    finally:
        stop(process)
    seconds = time.monotonic() - started
    if returncode not in succeeded:
        raise CommandFailed(f"{' '.join(args)} exited with {returncode}; end of {log}:\n{tail(log)}")
    return seconds


def on_termination() -> None:
    """Turn SIGTERM/SIGHUP into KeyboardInterrupt (so `finally` blocks run) and stop every
    registered child at exit."""

    def interrupt(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)
    atexit.register(stop_all)
