"""Talking to the running supervisord over its private socket (XML-RPC, supervisor's own)."""

from __future__ import annotations

import xmlrpc.client
from pathlib import Path
from typing import Any, Dict, List

from supervisor.xmlrpc import SupervisorTransport

from apt_settings import ROOT, Settings

# States in which a program will not come back by itself (supervisor's names).
GIVEN_UP = {"FATAL"}
# States of a process that runs or is about to (the others: STOPPED, EXITED, FATAL, ...).
UP = {"STARTING", "RUNNING", "BACKOFF"}


def run_directory(conf: Settings) -> Path:
    """Where the launcher keeps the files of the stack serving on ``APT_RASA_PORT``: one
    folder per port, so that two stacks on one machine (the tests) stay apart."""
    return ROOT / "var" / "run" / str(conf.rasa_port)


def _proxy(directory: Path) -> Any:
    transport = SupervisorTransport(None, None, f"unix://{directory / 'supervisor.sock'}")
    return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


def processes(directory: Path) -> List[Dict[str, Any]]:
    """Supervisor's record of each process: ``name``, ``statename``, ``pid``, ``description``."""
    return list(_proxy(directory).supervisor.getAllProcessInfo())


def states(directory: Path) -> Dict[str, str]:
    return {info["name"]: info["statename"] for info in processes(directory)}


def _full_name(proxy: Any, name: str) -> str:
    """Supervisor's ``group:name`` for a process of a group (the Rasa processes on the shared
    socket), the name itself for a program of its own."""
    for info in proxy.supervisor.getAllProcessInfo():
        if info["name"] == name:
            return f"{info['group']}:{name}"
    return name  # supervisor's own error names it


def start(directory: Path, name: str) -> None:
    """Start a stopped process, without waiting for it to be up."""
    proxy = _proxy(directory)
    proxy.supervisor.startProcess(_full_name(proxy, name), False)


def stop(directory: Path, name: str) -> None:
    """SIGTERM, and wait until the process has ended (SIGKILL after its stopwaitsecs)."""
    proxy = _proxy(directory)
    proxy.supervisor.stopProcess(_full_name(proxy, name), True)


def restart(directory: Path, name: str) -> None:
    proxy = _proxy(directory)
    full = _full_name(proxy, name)
    proxy.supervisor.stopProcess(full, True)
    proxy.supervisor.startProcess(full, False)
