"""Putting a model live, taking it back, and having running Rasa servers load it.

**The file.** The live model is one file (``APT_MODEL``, by default ``models/apt.tar.gz``).
:func:`put_live` keeps the current one beside it, as ``models/apt.previous.tar.gz`` (a hard
link, or a copy), copies the new one next to it under a temporary name and renames it over the
live one: ``os.replace`` on one file system, so a Rasa process starting at that moment reads
the old file or the new one, never half of one. :func:`roll_back` swaps the previous model
back the same way.

**The servers.** A Rasa process loads its model when it starts. Rasa's HTTP API could load
another (``PUT /model``), but it is off unless ``APT_RASA_JWT_SECRET`` is set, loads on the
event loop (that process answers nothing meanwhile) and reaches one process of a shared port.
So :func:`reload_servers` replaces the Rasa processes that load this model file, in every
running stack (found in the supervisor's configuration under ``var/run/``): in the embedded
profile by a swap on the shared socket (:mod:`supervision.swap`: each successor starts and
loads the model before its predecessor stops, which finishes what it has; no message is
lost, with one Rasa process too); in the scale profile each replica is restarted through the
supervisor, one after the other, each once the one before listens again (nginx sends the
others' traffic meanwhile). A stack that does not run needs nothing: it loads the file when
it starts.
"""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import time
import xmlrpc.client
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

from apt_settings import ROOT

# A Rasa process may take this long to start on a busy machine (supervision/programs.py).
RESTART_TIMEOUT = 300.0


def previous_path(live: Path) -> Path:
    name = live.name[: -len(".tar.gz")] if live.name.endswith(".tar.gz") else live.stem
    return live.with_name(f"{name}.previous.tar.gz")


def _replace_with_copy(source: Path, destination: Path, link: bool = False) -> None:
    """``destination`` becomes a copy of ``source`` in one rename."""
    partial = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    if partial.exists():
        partial.unlink()
    try:
        if link:
            os.link(source, partial)
        else:
            raise OSError("copy wanted")
    except OSError:
        shutil.copy2(source, partial)
    os.replace(partial, destination)


def put_live(candidate: Path, live: Path) -> Optional[Path]:
    """Make ``candidate`` the live model; returns where the previous one is kept (None if
    there was none)."""
    live.parent.mkdir(parents=True, exist_ok=True)
    previous = None
    if live.is_file():
        previous = previous_path(live)
        _replace_with_copy(live, previous, link=True)
    _replace_with_copy(candidate, live)
    return previous


def roll_back(live: Path) -> Path:
    """Swap the previous model and the live one; returns the previous path (now holding the
    model that was live). FileNotFoundError if there is no previous model."""
    previous = previous_path(live)
    if not previous.is_file():
        raise FileNotFoundError(f"no previous model at {previous}")
    swap = live.with_name(f".{live.name}.{os.getpid()}.swap")
    _replace_with_copy(live, swap, link=True)
    _replace_with_copy(previous, live)
    os.replace(swap, previous)
    return previous


# -- running servers ---------------------------------------------------------------------------


def _loads(words: List[str], model: Path) -> bool:
    return "--model" in words and Path(words[words.index("--model") + 1]).resolve() == model.resolve()


def _sections(run_directory: Path) -> Dict[str, List[str]]:
    """Supervisor section name -> its command's words."""
    conf = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        conf.read(run_directory / "supervisord.conf")
    except configparser.Error:
        return {}
    return {
        section: shlex.split(conf[section].get("command", "").replace("%%", "%"))
        for section in conf.sections()
    }


def rasa_programs(run_directory: Path, model: Path) -> List[Tuple[str, int]]:
    """(program name, port) of the Rasa programs of their own (the scale profile's replicas) of
    the stack in ``run_directory`` whose command loads ``model``."""
    found = []
    for section, words in _sections(run_directory).items():
        if section.startswith("program:rasa_") and "--port" in words and _loads(words, model):
            found.append((section.split(":", 1)[1], int(words[words.index("--port") + 1])))
    return sorted(found)


def shared_socket_groups(run_directory: Path, model: Path) -> List[Tuple[str, Path]]:
    """(group, ready directory) of the Rasa processes on a shared socket (the embedded
    profile) of the stack in ``run_directory`` whose command loads ``model``."""
    found = []
    for section, words in _sections(run_directory).items():
        if section.startswith("fcgi-program:") and "--shared-socket" in words and _loads(words, model):
            found.append((section.split(":", 1)[1], Path(words[words.index("--shared-socket") + 1])))
    return sorted(found)


def _listens(pid: int, port: int) -> bool:
    import psutil

    try:
        sockets = psutil.Process(pid).net_connections("tcp")
    except (psutil.Error, OSError):
        return False
    return any(s.status == psutil.CONN_LISTEN and s.laddr.port == port for s in sockets)


def _restart_and_wait(run_directory: Path, name: str, port: int, timeout: float) -> str:
    from supervision import control

    before = {info["name"]: info["pid"] for info in control.processes(run_directory)}.get(name)
    control.restart(run_directory, name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = {i["name"]: i for i in control.processes(run_directory)}.get(name) or {}
        if info.get("statename") in control.GIVEN_UP:
            raise RuntimeError(f"{name} did not start again (state {info.get('statename')})")
        pid = int(info.get("pid") or 0)
        if pid and pid != before and _listens(pid, port):
            return f"{name} restarted (pid {pid})"
        time.sleep(1)
    raise RuntimeError(f"{name} did not listen again within {timeout:.0f} s")


def reload_servers(
    model: Path,
    say: Callable[[str], None],
    timeout: float = RESTART_TIMEOUT,
    runs: Optional[Path] = None,
    older_than: Optional[float] = None,
) -> List[str]:
    """Replace, one at a time, the Rasa processes of every running stack that loads
    ``model`` (with ``older_than``, a time stamp, only those started before it); returns what
    was done (nothing when no stack runs)."""
    from supervision import control, swap

    done: List[str] = []
    for run_directory in sorted((runs or ROOT / "var" / "run").glob("*")):
        if not (run_directory / "supervisor.sock").exists():
            continue
        groups = shared_socket_groups(run_directory, model)
        programs = rasa_programs(run_directory, model)
        try:
            control.processes(run_directory)
        except OSError:
            continue  # a socket left by a stack that was killed
        except xmlrpc.client.Fault as fault:  # a stack shutting down (SHUTDOWN_STATE): nothing to swap
            say(f"the stack on port {run_directory.name} is stopping ({fault.faultString}): left alone")
            continue
        for group, ready_directory in groups:
            say(f"swapping the Rasa processes of the stack on port {run_directory.name}")
            done += swap.swap(run_directory, group, ready_directory, say, older_than, timeout)
        for name, port in programs:
            pid = {i["name"]: i["pid"] for i in control.processes(run_directory)}.get(name) or 0
            if older_than is not None and not swap.started_before(int(pid), older_than):
                continue
            say(f"restarting {name} of the stack on port {run_directory.name}")
            done.append(_restart_and_wait(run_directory, name, port, timeout))
    return done
