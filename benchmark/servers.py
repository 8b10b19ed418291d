"""Start and stop the two stacks under test on free ports, and time their start-up.

Ours is started exactly as `make run` starts it (scripts/serve.py: action server, Rasa server
with its worker processes, demo page, staff workspace), with a temporary tracker database and
project database so the benchmark touches nothing of the project's state. The baseline is
Rasa's default assistant served by `rasa run` with its REST channel and its default in-memory
tracker.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import psutil

from benchmark import ROOT
from benchmark.memory import command_line, descendants, parents
from benchmark.processes import BIN, environment, spawn, stop, tail

RESERVED_PORTS = {5005, 5055, 8080, 8081}  # the defaults of a developer's running assistant
START_TIMEOUT = 600.0


def free_port() -> int:
    """A free TCP port on the loopback interface, never one of the project's defaults."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


def answered(webhook: str, sender: str, text: str, timeout: float = 30.0) -> bool:
    """True when `text` gets a 200 with at least one reply."""
    request = urllib.request.Request(
        webhook,
        data=json.dumps({"sender": sender, "message": text}).encode(),
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status == 200 and bool(json.loads(response.read()))
    except (OSError, ValueError, urllib.error.HTTPError):
        return False


@dataclass
class RunningStack:
    """A started stack: where to reach it, how long it took, and the process that leads it
    (the launcher, whose descendants are the servers)."""

    name: str
    url: str
    startup_s: float
    log: Path
    leader: int
    extra: Dict[str, Any] = field(default_factory=dict)

    def processes(self) -> Dict[str, List[int]]:
        """Role ("rasa", "actions", "review", ...) -> its processes, looked up now."""
        return role_processes(self.leader)


def _wait_for_first_answer(
    process: subprocess.Popen, url: str, probe: str, log: Path, started: float
) -> float:
    """Seconds from `started` until `probe` is answered; polls four times a second."""
    webhook = f"{url}/webhooks/rest/webhook"
    attempt = 0
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited during start-up; end of {log}:\n{tail(log)}")
        if time.monotonic() - started > START_TIMEOUT:
            raise RuntimeError(f"no answer after {START_TIMEOUT:.0f} s; end of {log}:\n{tail(log)}")
        attempt += 1
        if answered(webhook, f"bench-startup-probe-{attempt}", probe, timeout=30):
            return time.monotonic() - started
        time.sleep(0.25)


# A word of a command line -> the server it identifies, tried in this order. Our stack runs
# under supervisord (scripts/serve.py -> supervisord -> each server), so roles are looked for
# among all the launcher's descendants, not only its children.
ROLES: List[Tuple[str, str]] = [
    ("scripts/rasa_server.py", "rasa"),
    ("scripts/action_server.py", "actions"),
    ("rasa_sdk", "actions"),
    ("review:create_app", "review"),
    ("web:create_app", "web"),
    ("nginx", "nginx"),
    ("supervisord", "supervision"),
    ("httpok", "supervision"),
    ("scripts/serve.py", "supervision"),
    (" run ", "rasa"),  # `rasa run`, the baseline
]


def role_of(command: str) -> Optional[str]:
    for word, role in ROLES:
        if word in command:
            return role
    return None


def classify(leader: int, table: Dict[int, int], commands: Dict[int, str]) -> Dict[str, List[int]]:
    """Role -> the processes of that server: the leader and its descendants, each by its
    own command line, or by its parent's role when its own names none (a server's worker
    processes, nginx's worker). Pure: `table` is pid -> parent pid, `commands` pid -> command
    line; processes of no role are left out."""
    role_by_pid: Dict[int, Optional[str]] = {leader: role_of(commands.get(leader, ""))}
    frontier = [leader]
    while frontier:
        current = frontier.pop(0)
        for child in sorted(pid for pid, parent in table.items() if parent == current):
            if child in role_by_pid:
                continue
            role_by_pid[child] = role_of(commands.get(child, "")) or role_by_pid[current]
            frontier.append(child)
    roles: Dict[str, List[int]] = {}
    for pid, role in role_by_pid.items():
        if role:
            roles.setdefault(role, []).append(pid)
    return roles


def main_processes(roles: Dict[str, List[int]], table: Dict[int, int]) -> Dict[str, List[int]]:
    """Per role, its processes whose parent is of another role: one per Rasa replica or
    worker process, say, without the processes they started themselves."""
    found: Dict[str, List[int]] = {}
    for role, pids in roles.items():
        members = set(pids)
        found[role] = [pid for pid in pids if table.get(pid) not in members]
    return found


def role_processes(leader: int) -> Dict[str, List[int]]:
    """The stack's processes by role, as they are now (the supervisor may have replaced one)."""
    table = parents()
    commands = {pid: command_line(pid) for pid in [leader, *descendants(leader, table)]}
    return classify(leader, table, commands)


# Every visitor of the load generator comes from 127.0.0.1: the stack's rate limit per client
# address (APT_RATE_LIMIT, 30 a minute) would answer most messages with its "too many
# messages" reply, at once, and the figures would measure that.
UNLIMITED = "1000000/minute"


def _wait_for_ready_line(process: subprocess.Popen, log: Path, started: float) -> None:
    """Until the launcher says every server answers (scripts/serve.py prints "assistant ready"
    once the supervisor's programs all answer: each Rasa replica, the action server, ...)."""
    while "assistant ready" not in log.read_text(errors="replace"):
        if process.poll() is not None:
            raise RuntimeError(f"the launcher exited during start-up; end of {log}:\n{tail(log)}")
        if time.monotonic() - started > START_TIMEOUT:
            raise RuntimeError(f"not ready after {START_TIMEOUT:.0f} s; end of {log}:\n{tail(log)}")
        time.sleep(0.25)


def stop_stack(process: subprocess.Popen) -> None:
    """Stop the launcher (which stops the supervisor, which stops its programs), then end, by
    pid, any process of the stack still running: supervisord gives each program a process
    group of its own, so a signal to the launcher's group does not reach them."""
    snapshot = []
    for pid in descendants(process.pid):
        try:
            snapshot.append(psutil.Process(pid))
        except psutil.NoSuchProcess:
            continue
    stop(process, grace=60.0)
    alive = [child for child in snapshot if child.is_running()]
    for child in alive:
        with suppress(psutil.NoSuchProcess):
            child.terminate()
    _, alive = psutil.wait_procs(alive, timeout=15)
    for child in alive:
        with suppress(psutil.NoSuchProcess):
            child.kill()
    psutil.wait_procs(alive, timeout=5)


@contextmanager
def our_stack(
    model: Path,
    workdir: Path,
    probe: str,
    settings: Optional[Dict[str, str]] = None,
    wait_for_every_server: bool = False,
) -> Iterator[RunningStack]:
    """scripts/serve.py on free ports with a fresh database (conversations, enquiries) in
    `workdir` unless `settings` (APT_* variables, over the defaults here) name another;
    yields once `probe` (a message that needs the action server) is answered and, with
    `wait_for_every_server`, once the launcher reports every server up."""
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("conversations.db", "apt.db"):
        (workdir / stale).unlink(missing_ok=True)
    extra = {
        "APT_PROFILE": "embedded",
        "APT_RASA_PORT": str(free_port()),
        "APT_ACTIONS_PORT": str(free_port()),
        "APT_WEB_PORT": str(free_port()),
        "APT_REVIEW_PORT": str(free_port()),
        "APT_MODEL": str(model),
        "APT_DATABASE_URL": f"sqlite:///{workdir / 'apt.db'}",
        "APT_TRACKER_DB": str(workdir / "conversations.db"),  # read by launchers that keep it apart
        "APT_LOCK_DIRECTORY": str(workdir / "locks"),
        "APT_SPOOL_DIRECTORY": str(workdir / "spool"),
        "APT_READY_TIMEOUT": str(int(START_TIMEOUT)),
        "APT_RATE_LIMIT": UNLIMITED,
        **(settings or {}),
    }
    rasa_port = extra["APT_RASA_PORT"]
    log = workdir / "serve.log"
    url = f"http://127.0.0.1:{rasa_port}"
    run_directory = ROOT / "var" / "run" / rasa_port  # the launcher's files (supervision/control.py)
    existed = run_directory.exists()
    started = time.monotonic()
    process = spawn([str(BIN / "python"), str(ROOT / "scripts" / "serve.py")], ROOT, log, environment(extra))
    try:
        if wait_for_every_server:
            _wait_for_ready_line(process, log, started)
        startup = _wait_for_first_answer(process, url, probe, log, started)
        yield RunningStack("ours", url, startup, log, process.pid)
    finally:
        stop_stack(process)
        if not existed:
            shutil.rmtree(run_directory, ignore_errors=True)


@contextmanager
def baseline_stack(project: Path, model: Path, probe: str) -> Iterator[RunningStack]:
    """`rasa run` of the default assistant in `project` (REST channel from its
    credentials.yml, in-memory tracker, no action server)."""
    port = free_port()
    log = project / "run.log"
    url = f"http://127.0.0.1:{port}"
    args = [str(BIN / "rasa"), "run", "--model", str(model), "--interface", "127.0.0.1", "--port", str(port)]
    started = time.monotonic()
    process = spawn(args, project, log)
    try:
        startup = _wait_for_first_answer(process, url, probe, log, started)
        yield RunningStack("baseline", url, startup, log, process.pid)
    finally:
        stop(process)


def latest_model(directory: Path) -> Optional[Path]:
    models = sorted(directory.glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    return models[-1] if models else None
