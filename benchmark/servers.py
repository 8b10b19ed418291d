"""Start and stop the two stacks under test on free ports, and time their start-up.

Ours is started exactly as `make run` starts it (scripts/serve.py: action server, Rasa server
with its worker processes, demo page, staff workspace), with a temporary tracker database and
project database so the benchmark touches nothing of the project's state. The baseline is
Rasa's default assistant served by `rasa run` with its REST channel and its default in-memory
tracker.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, Optional

from benchmark import ROOT
from benchmark.memory import command_line, parents
from benchmark.processes import BIN, environment, spawn, stop, tail

RESERVED_PORTS = {5005, 5055, 8080}  # the defaults of a developer's running assistant
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
    """A started stack: where to reach it, how long it took, and its servers' process ids."""

    name: str
    url: str
    startup_s: float
    log: Path
    pids: Dict[str, int] = field(default_factory=dict)  # role -> pid ("rasa", "actions")


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


ROLES = {  # a word of the command line -> the server it identifies
    "rasa_sdk": "actions",
    "rasa_server.py": "rasa",
    " run ": "rasa",
    "waitress": "review",
}


def _role_pids(leader: int) -> Dict[str, int]:
    """The launcher's children by role: the Rasa server, the action server and, where the
    launcher starts it, the staff review workspace (the static demo page is left out)."""
    roles: Dict[str, int] = {}
    table = parents()
    for child in (pid for pid, parent in table.items() if parent == leader):
        command = command_line(child)
        for word, role in ROLES.items():
            if word in command and role not in roles:
                roles[role] = child
                break
    return roles


@contextmanager
def our_stack(model: Path, workdir: Path, probe: str) -> Iterator[RunningStack]:
    """scripts/serve.py on free ports with a fresh database (conversations, enquiries) in
    `workdir`; yields once `probe` (a message that needs the action server) is answered."""
    workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("conversations.db", "apt.db"):
        (workdir / stale).unlink(missing_ok=True)
    extra = {
        "APT_RASA_PORT": str(free_port()),
        "APT_ACTIONS_PORT": str(free_port()),
        "APT_WEB_PORT": str(free_port()),
        "APT_REVIEW_PORT": str(free_port()),
        "APT_MODEL": str(model),
        "APT_DATABASE_URL": f"sqlite:///{workdir / 'apt.db'}",
        "APT_TRACKER_DB": str(workdir / "conversations.db"),  # read by launchers that keep it apart
        "APT_READY_TIMEOUT": str(int(START_TIMEOUT)),
    }
    rasa_port = extra["APT_RASA_PORT"]
    log = workdir / "serve.log"
    url = f"http://127.0.0.1:{rasa_port}"
    started = time.monotonic()
    process = spawn([str(BIN / "python"), str(ROOT / "scripts" / "serve.py")], ROOT, log, environment(extra))
    try:
        startup = _wait_for_first_answer(process, url, probe, log, started)
        yield RunningStack("ours", url, startup, log, _role_pids(process.pid))
    finally:
        stop(process)


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
        yield RunningStack("baseline", url, startup, log, {"rasa": process.pid})
    finally:
        stop(process)


def latest_model(directory: Path) -> Optional[Path]:
    models = sorted(directory.glob("*.tar.gz"), key=lambda path: path.stat().st_mtime)
    return models[-1] if models else None
