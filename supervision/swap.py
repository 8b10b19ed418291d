"""Replace the Rasa processes on the shared socket one at a time, losing no message: how a new
model goes live on a running stack (a retraining round, ``make train``).

A Rasa process reads its model when it starts. For each process that serves, :func:`swap`
starts a successor in a spare slot of the same supervisor group (supervision/programs.py), on
the same listening socket, waits until it has loaded the model and marked itself ready
(server/patches/shared_port.py), and only then stops its predecessor with SIGTERM: Sanic stops
accepting, finishes the requests it has (up to its graceful shutdown time), and exits. The
connections still waiting in the socket's queue are accepted by the processes that remain, so
none is refused or reset; while the successor loads, the others serve as before, and a stack
with a single Rasa process keeps it serving until its successor is ready.

If a successor fails to start (its model does not load, say), the swap stops there and says
so: the processes not yet replaced keep serving with the model they have.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import psutil

from server.patches.shared_port import is_ready
from supervision import control

# A Rasa process may take this long to start on a busy machine (supervision/programs.py).
READY_TIMEOUT = 300.0


class SwapFailed(RuntimeError):
    """A successor did not become ready; the message says which and why."""


def _group(directory: Path, group: str) -> Dict[str, Dict]:
    return {info["name"]: info for info in control.processes(directory) if info["group"] == group}


def serving(directory: Path, group: str) -> List[str]:
    """The group's processes that run (or are starting), by name."""
    return sorted(name for name, info in _group(directory, group).items() if info["statename"] in control.UP)


def started_before(pid: int, moment: float) -> bool:
    try:
        return psutil.Process(pid).create_time() < moment
    except psutil.Error:
        return False


def _wait_ready(directory: Path, group: str, name: str, ready_directory: Path, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = _group(directory, group).get(name) or {}
        state = info.get("statename")
        if state in control.GIVEN_UP or state in ("STOPPED", "EXITED"):
            raise SwapFailed(f"{name} did not start (state {state}; its log is in the stack's output)")
        pid = int(info.get("pid") or 0)
        if pid and is_ready(ready_directory, pid):
            return pid
        time.sleep(0.5)
    raise SwapFailed(f"{name} was not ready within {timeout:.0f} s")


def swap(
    directory: Path,
    group: str,
    ready_directory: Path,
    say: Callable[[str], None],
    older_than: Optional[float] = None,
    timeout: float = READY_TIMEOUT,
) -> List[str]:
    """Replace each serving process of ``group`` (only those started before ``older_than``,
    a time stamp, if given) by a successor; returns what was done."""
    done: List[str] = []
    members = _group(directory, group)
    spares = sorted(name for name, info in members.items() if info["statename"] not in control.UP)
    for old in serving(directory, group):
        if older_than is not None and not started_before(int(members[old]["pid"] or 0), older_than):
            continue
        if not spares:
            raise SwapFailed(f"no spare slot in group {group} to start a successor of {old} in")
        new = spares.pop(0)
        say(f"starting {new} to replace {old}")
        control.start(directory, new)
        try:
            pid = _wait_ready(directory, group, new, ready_directory, timeout)
        except SwapFailed:
            try:
                control.stop(directory, new)
            except Exception:  # noqa: BLE001 - it may have stopped by itself; the first error matters
                pass
            raise
        say(f"{new} (pid {pid}) is ready; stopping {old} once it has answered what it has")
        control.stop(directory, old)
        spares.append(old)
        done.append(f"{old} replaced by {new} (pid {pid})")
    return done
